//! Batching: grouping a site's pending jobs into visits, as few as the jobs' windows allow.
//!
//! # The window of a job at a site
//! A job may be done from its *earliest* day: the first business day (of the site's calendar)
//! on or after the latest of today, its `earliest_start` (or, without one, the day it was
//! notified). It must be *started* by its *latest* day: the last business day on or before its
//! deadline, moved back `finish_within_business_days - 1` business days so that a visit
//! starting that day still has the whole finishing period (three business days by default)
//! before the deadline. When that period does not fit any more, the latest day is the earliest
//! one (the reason says the window is tight). A job with no deadline has no latest day. A job
//! whose deadline falls before its earliest day is *late*: it is done as soon as possible and
//! listed in [`Batching::late`].
//!
//! # The algorithm
//! 1. A job that is not batchable gets a visit of its own on its earliest day.
//! 2. Urgent jobs (and late ones) are never held back: each is an *anchor* on its earliest day;
//!    the anchors of one day share a visit.
//! 3. Every other job whose window contains an anchor's day joins the earliest such visit.
//! 4. The rest are grouped by interval stabbing: sort by latest day (no deadline last); take
//!    the first job's latest day `p` and put every remaining job whose window contains `p` in
//!    one group; repeat. Jobs without a deadline that remain at the end are stabbed at the
//!    latest of their earliest days. The group's visit is dated on the *earliest* day inside all
//!    of its members' windows (the latest of their earliest days, which is `<= p`): the same
//!    group, done as soon as it can be, leaving the most slack before the deadlines.
//!
//! Low and normal urgency are treated alike: both may wait for a shared visit.
//!
//! # Why the count is minimal
//! The own visits and the anchors' days are forced: any plan has them. A job not covered by an
//! anchor needs a visit on a day that is no anchor day, so any plan has at least |anchors| +
//! (the fewest days that stab the remaining windows) visits. Stabbing greedily at the earliest
//! latest day is optimal by the usual exchange argument: some day must lie in the window `[a,
//! p]` that ends first; moving that day to `p` still stabs every window it stabbed (they all end
//! at or after `p` and start at or before that day), and stabs at least those, so an optimal
//! plan can start with `p`; the rest follows by induction on the windows not containing `p`.
//! Re-dating a group inside the common part of its windows changes no count, and the groups'
//! dates stay distinct and increasing (a later group's windows all start after the previous
//! `p`).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Calendars, ScheduleError, join_names};
use crate::calendar::Calendar;
use crate::language::Language;
use crate::playbook::{Job, JobKind, Urgency};

/// What batching needs to know about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchJob {
    /// Job id.
    pub id: String,
    /// Kind: orders the jobs inside a visit.
    pub kind: JobKind,
    /// Urgent jobs are never held back.
    pub urgency: Urgency,
    /// Not before this day.
    pub earliest_start: Option<Date>,
    /// Done by this day.
    pub deadline: Option<Date>,
    /// Whether it may share a visit with other jobs.
    pub batchable: bool,
    /// When it was notified (the earliest start when none is given).
    pub notified: Option<Date>,
}

impl From<&Job> for BatchJob {
    fn from(job: &Job) -> Self {
        BatchJob {
            id: job.id.clone(),
            kind: job.kind,
            urgency: job.urgency,
            earliest_start: job.earliest_start,
            deadline: job.deadline,
            batchable: job.batchable,
            notified: job.provenance.date,
        }
    }
}

/// When batching happens and how much time a visit needs before a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BatchOptions {
    /// No visit before this day.
    pub today: Date,
    /// Business days a visit may take to finish at a site (day 1 = the visit's day); a job's
    /// visit starts early enough to finish by its deadline. 3 by default; 0 counts as 1.
    pub finish_within_business_days: u32,
}

impl BatchOptions {
    /// Batching as of `today`, with three business days to finish.
    pub fn new(today: Date) -> Self {
        BatchOptions {
            today,
            finish_within_business_days: 3,
        }
    }
}

/// Why a visit exists.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// Urgent (or late) jobs on their earliest day, possibly joined by others.
    Urgent,
    /// Jobs grouped to share one visit.
    Batched,
    /// One job that may not be batched.
    Own,
}

/// The rule that put a job on its visit's day (the steps of the batching algorithm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Not batchable: a visit of its own on its earliest business day.
    Own,
    /// Urgent and not batchable: a visit of its own on its earliest business day.
    OwnUrgent,
    /// Urgent: on its earliest business day, never held back.
    Urgent,
    /// Late (no business day left before its deadline): on its earliest business day.
    Late,
    /// Joined an urgent visit inside its window.
    JoinedUrgent,
    /// Grouped with other jobs on a day inside all of their windows.
    Batched,
}

/// Why a job is done on its visit's day: the rule, and what about its window is worth saying;
/// `Visit::reason` says it as a sentence in either language.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// The rule that put it on the visit's day.
    pub rule: Rule,
    /// The day it was asked for: its earliest start (without one, its notice), or today when
    /// that has passed.
    #[schemars(with = "String")]
    pub requested: Date,
    /// Why the day asked for is not a business day at the site (`週末`, a holiday's name,
    /// `年末年始`, `拠点休業日`), when it is not: the job waits for the next business day.
    pub closed: Option<String>,
    /// Fewer business days than the finishing period remain before its deadline.
    pub tight: bool,
}

/// One job in a visit, with the window it had and why it is on the visit's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitJob {
    /// Job id.
    pub job: String,
    /// The first business day it could be done.
    #[schemars(with = "String")]
    pub earliest: Date,
    /// The last day a visit could start and still finish by the deadline (none without one).
    #[schemars(with = "Option<String>")]
    pub latest: Option<Date>,
    /// Its deadline.
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Date>,
    /// Why it is done on the visit's day.
    pub reason: Reason,
}

/// The work done at one site in one go: jobs in the order they are carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// `site:date:n`, n counting the site's visits that day from 1.
    pub id: String,
    /// The site.
    pub site: String,
    /// The business day it starts.
    #[schemars(with = "String")]
    pub date: Date,
    /// Why it exists.
    pub kind: VisitKind,
    /// Its jobs, by kind, then earliest day, then id.
    pub jobs: Vec<VisitJob>,
}

impl Visit {
    /// The ids of its jobs, in order.
    pub fn job_ids(&self) -> Vec<&str> {
        self.jobs.iter().map(|j| j.job.as_str()).collect()
    }

    /// The earliest deadline among its jobs.
    pub fn deadline(&self) -> Option<Date> {
        self.jobs.iter().filter_map(|j| j.deadline).min()
    }

    /// Why `job` (one of this visit's) is done on the visit's day, as a sentence in `lang`. It
    /// does not name the visit's other jobs, which are listed beside it, except the urgent ones
    /// that a deferred job joins.
    pub fn reason(&self, job: &VisitJob, lang: Language) -> String {
        let (e, date, r) = (job.earliest, self.date, &job.reason);
        let deadline = job.deadline.map(|d| d.to_string()).unwrap_or_default();
        let deferred = matches!(r.rule, Rule::JoinedUrgent | Rule::Batched) && date > e;
        let mut text = match (r.rule, lang) {
            (Rule::Own | Rule::OwnUrgent, _) => {
                let urgent = r.rule == Rule::OwnUrgent;
                lang.pick(
                    format!(
                        "{}同時実施不可のため、最早の開庁日 {e} に単独で実施",
                        if urgent { "緊急かつ" } else { "" }
                    ),
                    format!(
                        "{}not batchable: own visit on the earliest business day {e}",
                        if urgent { "urgent, " } else { "" }
                    ),
                )
            }
            (Rule::Urgent, _) => lang.pick(
                format!("緊急のため、後回しにせず最早の開庁日 {e} に実施"),
                format!("urgent: on the earliest business day {e}, not held back"),
            ),
            (Rule::Late, _) => lang.pick(
                format!(
                    "期限切れのため（{} 以降、期限 {deadline} までに開庁日がない）、最早の開庁日 {e} に実施（期限の延長を市に依頼すること）",
                    r.requested
                ),
                format!(
                    "late: the deadline {deadline} leaves no business day from {} on, so on the \
                     earliest business day {e} (ask the city to extend the deadline)",
                    r.requested
                ),
            ),
            (Rule::JoinedUrgent, _) if deferred => {
                let urgent: Vec<&str> = self
                    .jobs
                    .iter()
                    .filter(|j| matches!(j.reason.rule, Rule::Urgent | Rule::Late))
                    .map(|j| j.job.as_str())
                    .collect();
                let urgent = join_names(&urgent, lang);
                lang.pick(
                    format!(
                        "{urgent} の緊急の訪問に合わせるため {e} から {date} に延期（まとめて実施には市の承認が必要）"
                    ),
                    format!(
                        "deferred from {e} to {date} to join the urgent visit for {urgent} (city \
                         approval required for batching)"
                    ),
                )
            }
            (Rule::Batched, _) if deferred => lang.pick(
                format!(
                    "他の作業とまとめて実施するため {e} から {date} に延期（まとめて実施には市の承認が必要）"
                ),
                format!(
                    "deferred from {e} to {date} to share one visit with the other jobs (city \
                     approval required for batching)"
                ),
            ),
            (Rule::JoinedUrgent | Rule::Batched, _) => lang.pick(
                format!("最早の開庁日 {e} に実施"),
                format!("on the earliest business day {e}"),
            ),
        };
        if let Some(why) = &r.closed {
            text.push_str(&lang.pick(
                format!("（{} は休業日：{why}）", r.requested),
                format!(" ({} is closed: {why})", r.requested),
            ));
        }
        if r.tight && job.deadline.is_some() {
            text.push_str(&lang.pick(
                format!("（期限 {deadline} までの開庁日が完了までの日数より少ない）"),
                format!(
                    " (tight: fewer business days than the finishing period remain before the \
                     deadline {deadline})"
                ),
            ));
        }
        text
    }

    /// The reasons of its jobs, each said once: every distinct reason (in `lang`) with the jobs
    /// it applies to, in the order of the jobs.
    pub fn reasons(&self, lang: Language) -> Vec<(Vec<&str>, String)> {
        let mut out: Vec<(Vec<&str>, String)> = Vec::new();
        for job in &self.jobs {
            let text = self.reason(job, lang);
            match out.iter_mut().find(|(_, t)| *t == text) {
                Some((jobs, _)) => jobs.push(&job.job),
                None => out.push((vec![&job.job], text)),
            }
        }
        out
    }
}

/// A job that cannot be done by its deadline at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LateJob {
    /// The site.
    pub site: String,
    /// The job.
    pub job: String,
    /// The first business day it can be done.
    #[schemars(with = "String")]
    pub earliest: Date,
    /// Its deadline, which comes before that.
    #[schemars(with = "String")]
    pub deadline: Date,
}

/// The result of batching: visits for every site, and the jobs that are already late.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Batching {
    /// Visits by site id, then date.
    pub visits: Vec<Visit>,
    /// Jobs whose deadline comes before their earliest business day.
    pub late: Vec<LateJob>,
}

impl Batching {
    /// The visits at one site, in date order.
    pub fn visits_at<'a>(&'a self, site: &'a str) -> impl Iterator<Item = &'a Visit> + 'a {
        self.visits.iter().filter(move |v| v.site == site)
    }
}

/// Batches [`Job`]s: see [`batch`].
pub fn batch_jobs(
    jobs: &[Job],
    jobs_by_site: &BTreeMap<String, BTreeSet<String>>,
    calendars: &Calendars,
    options: &BatchOptions,
) -> Result<Batching, ScheduleError> {
    let jobs: Vec<BatchJob> = jobs.iter().map(BatchJob::from).collect();
    batch(&jobs, jobs_by_site, calendars, options)
}

/// Groups each site's jobs (`jobs_by_site`: site id to the ids of the jobs that reach it, e.g.
/// [`super::Targets::jobs_by_site`]) into visits on the site's business days. See the module
/// documentation for the algorithm and why it uses as few visits as possible.
pub fn batch(
    jobs: &[BatchJob],
    jobs_by_site: &BTreeMap<String, BTreeSet<String>>,
    calendars: &Calendars,
    options: &BatchOptions,
) -> Result<Batching, ScheduleError> {
    let by_id: BTreeMap<&str, &BatchJob> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    let mut out = Batching::default();
    for (site, ids) in jobs_by_site {
        let mut site_jobs = Vec::with_capacity(ids.len());
        for id in ids {
            let job = by_id
                .get(id.as_str())
                .ok_or_else(|| ScheduleError::UnknownJob {
                    site: site.clone(),
                    job: id.clone(),
                })?;
            site_jobs.push(*job);
        }
        batch_site(
            site,
            &site_jobs,
            calendars.for_site(site),
            options,
            &mut out,
        )?;
    }
    Ok(out)
}

/// A job's window at one site.
struct JobWindow<'a> {
    job: &'a BatchJob,
    /// The day asked for (today, the earliest start or the notification), maybe closed.
    requested: Date,
    earliest: Date,
    latest: Option<Date>,
    /// The latest day had to be pulled in to the earliest one to fit the finishing period.
    tight: bool,
    late: bool,
}

struct Group {
    date: Date,
    kind: VisitKind,
    members: Vec<(usize, Rule)>,
}

fn batch_site(
    site: &str,
    jobs: &[&BatchJob],
    calendar: &Calendar,
    options: &BatchOptions,
    out: &mut Batching,
) -> Result<(), ScheduleError> {
    let windows = jobs
        .iter()
        .map(|job| job_window(site, job, calendar, options))
        .collect::<Result<Vec<_>, _>>()?;
    for w in windows.iter().filter(|w| w.late) {
        if let Some(deadline) = w.job.deadline {
            out.late.push(LateJob {
                site: site.to_string(),
                job: w.job.id.clone(),
                earliest: w.earliest,
                deadline,
            });
        }
    }

    let mut groups: Vec<Group> = Vec::new();
    let mut anchors: BTreeMap<Date, Vec<usize>> = BTreeMap::new();
    let mut flexible: Vec<usize> = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        if !w.job.batchable {
            let rule = if w.job.urgency == Urgency::Urgent {
                Rule::OwnUrgent
            } else {
                Rule::Own
            };
            groups.push(Group {
                date: w.earliest,
                kind: VisitKind::Own,
                members: vec![(i, rule)],
            });
        } else if w.job.urgency == Urgency::Urgent || w.late {
            anchors.entry(w.earliest).or_default().push(i);
        } else {
            flexible.push(i);
        }
    }

    // Step 3: join the earliest anchor visit inside the window.
    let mut anchor_groups: BTreeMap<Date, Group> = anchors
        .into_iter()
        .map(|(date, members)| {
            let members = members
                .into_iter()
                .map(|i| {
                    (
                        i,
                        if windows[i].late {
                            Rule::Late
                        } else {
                            Rule::Urgent
                        },
                    )
                })
                .collect();
            (
                date,
                Group {
                    date,
                    kind: VisitKind::Urgent,
                    members,
                },
            )
        })
        .collect();
    let mut rest: Vec<usize> = Vec::new();
    for i in flexible {
        let w = &windows[i];
        let upper = w.latest.unwrap_or(Date::MAX);
        match anchor_groups.range_mut(w.earliest..=upper).next() {
            Some((_, group)) => group.members.push((i, Rule::JoinedUrgent)),
            None => rest.push(i),
        }
    }
    groups.extend(anchor_groups.into_values());

    // Step 4: interval stabbing on the rest.
    rest.sort_by(|&a, &b| {
        let (wa, wb) = (&windows[a], &windows[b]);
        (wa.latest.unwrap_or(Date::MAX), wa.earliest, &wa.job.id).cmp(&(
            wb.latest.unwrap_or(Date::MAX),
            wb.earliest,
            &wb.job.id,
        ))
    });
    let mut placed = vec![false; windows.len()];
    for (k, &first) in rest.iter().enumerate() {
        if placed[first] {
            continue;
        }
        let unplaced = || rest[k..].iter().copied().filter(|&i| !placed[i]);
        // Sorted by latest day with open windows last: once the first has none, none has.
        let point = match windows[first].latest {
            Some(latest) => latest,
            None => unplaced()
                .map(|i| windows[i].earliest)
                .max()
                .unwrap_or(windows[first].earliest),
        };
        let members: Vec<usize> = unplaced()
            .filter(|&i| {
                let w = &windows[i];
                w.earliest <= point && w.latest.is_none_or(|l| point <= l)
            })
            .collect();
        let date = members
            .iter()
            .map(|&i| windows[i].earliest)
            .max()
            .unwrap_or(point);
        for &i in &members {
            placed[i] = true;
        }
        groups.push(Group {
            date,
            kind: VisitKind::Batched,
            members: members.into_iter().map(|i| (i, Rule::Batched)).collect(),
        });
    }

    groups.sort_by_key(|g| (g.date, g.kind));
    let mut number_on_day: BTreeMap<Date, usize> = BTreeMap::new();
    for mut group in groups {
        group.members.sort_by(|&(a, _), &(b, _)| {
            let (wa, wb) = (&windows[a], &windows[b]);
            (wa.job.kind, wa.earliest, &wa.job.id).cmp(&(wb.job.kind, wb.earliest, &wb.job.id))
        });
        let n = number_on_day.entry(group.date).or_insert(0);
        *n += 1;
        let visit_jobs = group
            .members
            .iter()
            .map(|&(i, rule)| {
                let w = &windows[i];
                VisitJob {
                    job: w.job.id.clone(),
                    earliest: w.earliest,
                    latest: w.latest,
                    deadline: w.job.deadline,
                    reason: Reason {
                        rule,
                        requested: w.requested,
                        // The day asked for, when the job had to wait for the next business day.
                        closed: (w.requested != w.earliest)
                            .then(|| calendar.why_closed(w.requested))
                            .flatten()
                            .map(|why| why.to_string()),
                        tight: w.tight,
                    },
                }
            })
            .collect();
        out.visits.push(Visit {
            id: format!("{site}:{}:{n}", group.date),
            site: site.to_string(),
            date: group.date,
            kind: group.kind,
            jobs: visit_jobs,
        });
    }
    Ok(())
}

fn job_window<'a>(
    site: &str,
    job: &'a BatchJob,
    calendar: &Calendar,
    options: &BatchOptions,
) -> Result<JobWindow<'a>, ScheduleError> {
    let asked = job.earliest_start.or(job.notified).unwrap_or(options.today);
    let requested = asked.max(options.today);
    let earliest = calendar
        .business_day_on_or_after(requested)
        .ok_or_else(|| ScheduleError::NoBusinessDay {
            site: site.to_string(),
            from: requested,
        })?;
    let mut tight = false;
    let mut late = false;
    let latest = match job.deadline {
        None => None,
        Some(deadline) => match business_day_on_or_before(calendar, deadline) {
            Some(last) if last >= earliest => {
                let room = options.finish_within_business_days.saturating_sub(1);
                match business_days_before(calendar, last, room) {
                    Some(start_by) if start_by >= earliest => Some(start_by),
                    _ => {
                        tight = room > 0;
                        Some(earliest)
                    }
                }
            }
            _ => {
                late = true;
                Some(earliest)
            }
        },
    };
    Ok(JobWindow {
        job,
        requested,
        earliest,
        latest,
        tight,
        late,
    })
}

/// `date` if it is a business day, else the last business day before it.
fn business_day_on_or_before(calendar: &Calendar, date: Date) -> Option<Date> {
    let mut day = date;
    while !calendar.is_business_day(day) {
        day = day.yesterday().ok()?;
    }
    Some(day)
}

/// The `n`-th business day before `date` (`date` itself for 0).
fn business_days_before(calendar: &Calendar, date: Date, n: u32) -> Option<Date> {
    let mut day = date;
    for _ in 0..n {
        day = business_day_on_or_before(calendar, day.yesterday().ok()?)?;
    }
    Some(day)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn job(id: &str, kind: JobKind, earliest: Date, deadline: Option<Date>) -> BatchJob {
        BatchJob {
            id: id.to_string(),
            kind,
            urgency: Urgency::Normal,
            earliest_start: Some(earliest),
            deadline,
            batchable: true,
            notified: None,
        }
    }

    fn run(jobs: &[BatchJob], today: Date) -> Result<Batching, ScheduleError> {
        let ids: BTreeSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
        let sites = BTreeMap::from([("chuo".to_string(), ids)]);
        batch(
            jobs,
            &sites,
            &Calendars::city(Calendar::new()),
            &BatchOptions::new(today),
        )
    }

    #[test]
    fn stabbing_uses_as_few_visits_as_windows_allow() -> Result<(), ScheduleError> {
        // Windows (business days of October 2026): a [1,9], b [5,20], c [12,30], d [21,30]:
        // a and b share a day, c and d share a day, and no single day is in a and c: two.
        let jobs = [
            job(
                "a",
                JobKind::OsPatch,
                date(2026, 10, 1),
                Some(date(2026, 10, 13)),
            ),
            job(
                "b",
                JobKind::SoftwareUpdate,
                date(2026, 10, 5),
                Some(date(2026, 10, 22)),
            ),
            job(
                "c",
                JobKind::SettingsChange,
                date(2026, 10, 12),
                Some(date(2026, 11, 4)),
            ),
            job("d", JobKind::Inspection, date(2026, 10, 21), None),
        ];
        let result = run(&jobs, date(2026, 9, 1))?;
        let visits: Vec<(Date, Vec<&str>)> = result
            .visits
            .iter()
            .map(|v| (v.date, v.job_ids()))
            .collect();
        assert_eq!(
            visits,
            vec![
                (date(2026, 10, 5), vec!["a", "b"]),
                (date(2026, 10, 21), vec!["c", "d"]),
            ]
        );
        Ok(())
    }

    #[test]
    fn latest_day_leaves_the_finishing_period_before_the_deadline() -> Result<(), ScheduleError> {
        // Deadline Friday 2026-10-30: three business days to finish means starting by Wed 28.
        let calendar = Calendar::new();
        let j = job(
            "p",
            JobKind::OsPatch,
            date(2026, 10, 1),
            Some(date(2026, 10, 30)),
        );
        let w = job_window("chuo", &j, &calendar, &BatchOptions::new(date(2026, 9, 1)))?;
        assert_eq!(w.latest, Some(date(2026, 10, 28)));
        // A deadline on Sunday counts from the Friday before.
        let j = job(
            "p",
            JobKind::OsPatch,
            date(2026, 10, 1),
            Some(date(2026, 11, 1)),
        );
        let w = job_window("chuo", &j, &calendar, &BatchOptions::new(date(2026, 9, 1)))?;
        assert_eq!(w.latest, Some(date(2026, 10, 28)));
        Ok(())
    }

    #[test]
    fn a_tight_window_is_said_so() -> Result<(), ScheduleError> {
        let jobs = [job(
            "p",
            JobKind::OsPatch,
            date(2026, 10, 29),
            Some(date(2026, 10, 30)),
        )];
        let result = run(&jobs, date(2026, 9, 1))?;
        assert_eq!(result.visits[0].date, date(2026, 10, 29));
        let visit = &result.visits[0];
        assert!(visit.jobs[0].reason.tight);
        assert!(
            visit
                .reason(&visit.jobs[0], Language::En)
                .contains(" (tight: fewer business days than the finishing period remain")
        );
        assert!(result.late.is_empty());
        Ok(())
    }

    #[test]
    fn a_job_past_its_deadline_is_late_and_done_at_once() -> Result<(), ScheduleError> {
        let jobs = [job(
            "p",
            JobKind::OsPatch,
            date(2026, 9, 1),
            Some(date(2026, 9, 30)),
        )];
        let result = run(&jobs, date(2026, 10, 5))?;
        assert_eq!(result.visits[0].date, date(2026, 10, 5));
        assert_eq!(result.visits[0].kind, VisitKind::Urgent);
        assert_eq!(
            result.late,
            vec![LateJob {
                site: "chuo".into(),
                job: "p".into(),
                earliest: date(2026, 10, 5),
                deadline: date(2026, 9, 30),
            }]
        );
        let visit = &result.visits[0];
        assert_eq!(visit.jobs[0].reason.rule, Rule::Late);
        assert_eq!(
            visit.reason(&visit.jobs[0], Language::En),
            "late: the deadline 2026-09-30 leaves no business day from 2026-10-05 on, so on the \
             earliest business day 2026-10-05 (ask the city to extend the deadline)"
        );
        Ok(())
    }

    #[test]
    fn unknown_job_in_the_site_map_is_an_error() {
        let sites = BTreeMap::from([("chuo".to_string(), BTreeSet::from(["ghost".to_string()]))]);
        let err = batch(
            &[],
            &sites,
            &Calendars::default(),
            &BatchOptions::new(date(2026, 10, 1)),
        );
        assert!(matches!(err, Err(ScheduleError::UnknownJob { ref job, .. }) if job == "ghost"));
    }
}
