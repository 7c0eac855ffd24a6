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
    /// Why it is done on the visit's day, for people.
    pub reason: String,
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

/// How a job came to be in its visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Own,
    Anchor,
    JoinedAnchor,
    Batched,
}

struct Group {
    date: Date,
    kind: VisitKind,
    members: Vec<(usize, Role)>,
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
            groups.push(Group {
                date: w.earliest,
                kind: VisitKind::Own,
                members: vec![(i, Role::Own)],
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
            let members = members.into_iter().map(|i| (i, Role::Anchor)).collect();
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
            Some((_, group)) => group.members.push((i, Role::JoinedAnchor)),
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
            members: members.into_iter().map(|i| (i, Role::Batched)).collect(),
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
            .map(|&(i, role)| {
                let w = &windows[i];
                VisitJob {
                    job: w.job.id.clone(),
                    earliest: w.earliest,
                    latest: w.latest,
                    deadline: w.job.deadline,
                    reason: reason(i, role, &group, &windows, calendar),
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

fn reason(
    me: usize,
    role: Role,
    group: &Group,
    windows: &[JobWindow<'_>],
    calendar: &Calendar,
) -> String {
    let w = &windows[me];
    let others: Vec<&str> = group
        .members
        .iter()
        .filter(|&&(i, _)| i != me)
        .map(|&(i, _)| windows[i].job.id.as_str())
        .collect();
    let urgent = w.job.urgency == Urgency::Urgent;
    let e = w.earliest;
    let date = group.date;
    let mut text = match role {
        Role::Own if urgent => {
            format!("urgent, not batchable: own visit on the earliest business day {e}")
        }
        Role::Own => format!("not batchable: own visit on its earliest business day {e}"),
        Role::Anchor => {
            let mut t = if w.late {
                let deadline = w.job.deadline.map(|d| d.to_string()).unwrap_or_default();
                format!(
                    "late: no business day from {} to its deadline {deadline}; scheduled at the \
                     earliest business day {e} (ask the city to extend the deadline)",
                    w.requested
                )
            } else {
                format!("urgent: scheduled at the earliest business day {e}")
            };
            if !others.is_empty() {
                t.push_str(&format!("; joined by {}", join_names(&others)));
            }
            t
        }
        Role::JoinedAnchor | Role::Batched => {
            let anchors: Vec<&str> = group
                .members
                .iter()
                .filter(|&&(i, r)| i != me && r == Role::Anchor)
                .map(|&(i, _)| windows[i].job.id.as_str())
                .collect();
            let (what, with) = if role == Role::JoinedAnchor {
                ("the urgent visit for", anchors)
            } else {
                ("the visit with", others.clone())
            };
            if date > e {
                format!(
                    "deferred from {e} to {date} to join {what} {} (city approval required for \
                     batching)",
                    join_names(&with)
                )
            } else if others.is_empty() {
                format!("scheduled at its earliest business day {e}")
            } else {
                format!(
                    "scheduled at its earliest business day {e}, together with {}",
                    join_names(&others)
                )
            }
        }
    };
    if w.requested != e
        && let Some(why) = calendar.why_closed(w.requested)
    {
        text.push_str(&format!("; {} is closed ({why})", w.requested));
    }
    if w.tight
        && let Some(deadline) = w.job.deadline
    {
        text.push_str(&format!(
            "; tight: fewer business days than the finishing period remain before its deadline \
             {deadline}"
        ));
    }
    text
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
        assert!(result.visits[0].jobs[0].reason.contains("tight"));
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
        assert!(result.visits[0].jobs[0].reason.starts_with("late:"));
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
