//! The schedule section of a plan: which visit each job is in and why, how long each job takes
//! on a terminal (declared, or the median of past runs from the journals), and the timetable
//! (site, business day, start, end) with the deadline check.
//!
//! [`ScheduleRequest`] is part of the [`super::PlanRequest`], so a saved plan is made again
//! exactly as it was (that is how `apply --plan` checks it is not stale): the start day, the
//! business-day limit, the canary, the global limit, and the *finished* runs whose journals
//! (`logs/<run>.jsonl`, never changed once finished) refine the estimates. [`PlanSchedule`] is
//! the result, a plain serde/JSON Schema document converted from [`crate::schedule`]'s types;
//! it is part of the plan's digest like everything else.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jiff::Zoned;
use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Plan;
use crate::journal::record::{CHECK_ONLY_CHANGE, Status};
use crate::journal::{EXTENSION, read_run};
use crate::playbook::Job;
use crate::project::Project;
use crate::schedule::{
    BatchOptions, Calendars, Canary, DeadlineStatus, EstimateBasis, Estimates, History, PlaceInput,
    PlaceOptions, Targets, VisitKind, artifact_bytes, batch_jobs, place,
};
use crate::source::Diagnostic;

/// The business-day limit when none is asked for: the city's three days.
pub const DEFAULT_DEADLINE_BUSINESS_DAYS: u32 = 3;

/// What schedule to make, pinned in the request so that the plan can be made again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// No visit before this day.
    #[schemars(with = "String")]
    pub start: Date,
    /// Each site's work must finish within this many business days, its start day being day 1.
    pub deadline_business_days: u32,
    /// Work that goes first, alone, on each visit day.
    pub canary: Option<CanaryRequest>,
    /// At most this many terminals at once, all sites together.
    pub global_limit: Option<u32>,
    /// Finished runs (`logs/<run>.jsonl`) whose task durations refine the estimates.
    pub history: Vec<String>,
}

/// Which work runs first on each visit day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CanaryRequest {
    /// All terminals of this site.
    Site(String),
    /// The first N terminals of the day.
    Terminals(u32),
}

/// The schedule of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSchedule {
    /// The time zone of every time (Asia/Tokyo).
    pub time_zone: String,
    /// Time per terminal of each job, and where the figure comes from.
    pub estimates: Vec<PlannedEstimate>,
    /// The visits: jobs batched per site and day, each job with the reason for its day.
    pub visits: Vec<PlannedVisit>,
    /// Jobs whose deadline comes before the first business day they can be done.
    pub late: Vec<LateJob>,
    /// The timetable: per site and visit day, its business days, start, end and finish.
    pub sites: Vec<SiteTimetable>,
    /// Every site within the business-day limit and every job by its deadline.
    pub feasible: bool,
    /// Sites past the business-day limit, by how much, and what would fit.
    pub misses: Vec<SiteMiss>,
    /// Jobs finished after their own deadline.
    pub job_deadline_misses: Vec<JobDeadlineMiss>,
    /// The smallest global limit that would fit, when the one asked for is too low.
    pub global_limit_needed: Option<u32>,
    /// What to change, for people.
    pub suggestions: Vec<String>,
    /// Remarks (a canary site without a visit some day, an unusable bandwidth).
    pub notes: Vec<String>,
}

/// How long one job takes on one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedEstimate {
    /// Job id.
    pub job: String,
    /// Seconds per terminal used by the schedule.
    pub seconds_per_terminal: u64,
    /// The job's declared `minutes_per_terminal`.
    pub declared_minutes: u32,
    /// Whether past runs refined the figure.
    pub from_history: bool,
    /// Tasks with past durations (handlers not counted).
    pub tasks_with_history: usize,
    /// Tasks of the job (handlers not counted).
    pub tasks: usize,
    /// The most past durations any one of its tasks or handlers has (the sample behind the
    /// medians).
    pub samples: usize,
}

/// Why a visit exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlannedVisitKind {
    /// Urgent (or late) jobs on their earliest day, possibly joined by others.
    Urgent,
    /// Jobs grouped to share one visit.
    Batched,
    /// One job that may not be batched.
    Own,
}

/// The work done at one site in one go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedVisit {
    /// `site:date:n`.
    pub id: String,
    /// Site id.
    pub site: String,
    /// The business day it starts.
    #[schemars(with = "String")]
    pub date: Date,
    /// Why it exists.
    pub kind: PlannedVisitKind,
    /// Its jobs in the order they are carried out.
    pub jobs: Vec<PlannedVisitJob>,
}

/// One job in a visit, with its window and the reason for the visit's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedVisitJob {
    /// Job id.
    pub job: String,
    /// The first business day it could be done.
    #[schemars(with = "String")]
    pub earliest: Date,
    /// The last day a visit could start and still finish by the deadline.
    #[schemars(with = "Option<String>")]
    pub latest: Option<Date>,
    /// Its deadline.
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Date>,
    /// Why it is done on the visit's day.
    pub reason: String,
}

/// A job that is late before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LateJob {
    /// Site id.
    pub site: String,
    /// Job id.
    pub job: String,
    /// The first business day it can be done.
    #[schemars(with = "String")]
    pub earliest: Date,
    /// Its deadline, before that.
    #[schemars(with = "String")]
    pub deadline: Date,
}

/// One site's work that starts on one visit day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteTimetable {
    /// Site id.
    pub site: String,
    /// Display name.
    pub name: String,
    /// Terminals at once.
    pub capacity: u32,
    /// The visits' day.
    #[schemars(with = "String")]
    pub date: Date,
    /// The visits placed.
    pub visits: Vec<String>,
    /// Their jobs, in visit order.
    pub jobs: Vec<String>,
    /// Whether this is canary work.
    pub canary: bool,
    /// Day 1 of the deadline count.
    #[schemars(with = "String")]
    pub start_day: Date,
    /// The last business day allowed.
    #[schemars(with = "String")]
    pub deadline_day: Date,
    /// The deadline day's closing time.
    #[schemars(with = "String")]
    pub deadline: Zoned,
    /// Sending artifacts first, when the site has a bandwidth and the jobs ship any.
    pub transfer: Option<PlannedTransfer>,
    /// The business days with work.
    pub days: Vec<TimetableDay>,
    /// Each terminal's work, in start order.
    pub slots: Vec<TimetableSlot>,
    /// When the first work starts.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When the last terminal finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
    /// Whether that is within the business-day limit.
    pub status: PlannedDeadline,
}

/// Sending a site's artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTransfer {
    /// Bytes sent.
    pub bytes: u64,
    /// The site's bandwidth.
    pub bandwidth_mbps: f64,
    /// When sending starts.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When it ends.
    #[schemars(with = "String")]
    pub end: Zoned,
}

/// One business day of a site's work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimetableDay {
    /// The day.
    #[schemars(with = "String")]
    pub date: Date,
    /// Which business day of the site's work it is (1 = the start day).
    pub business_day: u32,
    /// When work starts that day.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When it ends that day.
    #[schemars(with = "String")]
    pub end: Zoned,
    /// Terminals worked on that day.
    pub terminals: usize,
}

/// One terminal's work in one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimetableSlot {
    /// Terminal id.
    pub terminal: String,
    /// The visit.
    pub visit: String,
    /// The jobs done, in order.
    pub jobs: Vec<String>,
    /// When the work starts.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When it ends.
    #[schemars(with = "String")]
    pub end: Zoned,
}

/// Whether a site finishes within the business-day limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "status", deny_unknown_fields)]
pub enum PlannedDeadline {
    /// Finished on this business day (1-based), within the limit.
    Met {
        /// The business day of the finish.
        business_day: u32,
    },
    /// Finished after the last allowed day's close.
    Missed {
        /// Business days after the last allowed day.
        business_days_late: i32,
        /// Office time past the deadline, in minutes.
        office_minutes_late: i64,
    },
}

/// A site that misses the business-day limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteMiss {
    /// Site id.
    pub site: String,
    /// The visits' day.
    #[schemars(with = "String")]
    pub date: Date,
    /// When it finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
    /// Business days late.
    pub business_days_late: i32,
    /// Office time late, in minutes.
    pub office_minutes_late: i64,
    /// Its capacity.
    pub capacity: u32,
    /// The smallest capacity with which it fits on its own (`None`: none is enough).
    pub capacity_that_fits: Option<u32>,
    /// What to change.
    pub suggestion: String,
}

/// A job finished after its own deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobDeadlineMiss {
    /// Site id.
    pub site: String,
    /// Job id.
    pub job: String,
    /// Its deadline.
    #[schemars(with = "String")]
    pub deadline: Date,
    /// When the site's work finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
}

impl PlanSchedule {
    /// The seconds one terminal of `job` takes, when the schedule has an estimate for it.
    pub fn seconds_per_terminal(&self, job: &str) -> Option<u64> {
        self.estimates
            .iter()
            .find(|e| e.job == job)
            .map(|e| e.seconds_per_terminal)
    }

    /// One line per miss, for people: which site or job, by how much, what would fit.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.misses {
            out.push(format!(
                "site {} (visit day {}) finishes {}, {} business day(s) after the limit ({} min \
                 of office time late); {}",
                m.site,
                m.date,
                m.finish.strftime("%Y-%m-%d %H:%M"),
                m.business_days_late,
                m.office_minutes_late,
                m.suggestion
            ));
        }
        for m in &self.job_deadline_misses {
            out.push(format!(
                "job {} at site {} finishes {}, after its deadline {}",
                m.job,
                m.site,
                m.finish.strftime("%Y-%m-%d %H:%M"),
                m.deadline
            ));
        }
        if let Some(limit) = self.global_limit_needed {
            out.push(format!(
                "a global limit of {limit} terminals at a time would fit"
            ));
        }
        out
    }
}

/// The finished runs in `logs` (`<run>.jsonl` with a `run_end`), by run id: the history a new
/// schedule is estimated from. A missing directory is an empty history; unreadable journals are
/// left out.
pub fn finished_runs(logs: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(logs) else {
        return Vec::new();
    };
    let mut runs: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
        .filter_map(|path| {
            let stem = path.file_stem()?.to_str()?.to_string();
            let run = read_run(&path).ok()?;
            // Only a finished journal never changes again, so a saved plan can be re-made.
            (run.end.is_some() && run.run_id() == Some(stem.as_str())).then_some(stem)
        })
        .collect();
    runs.sort();
    runs
}

/// Past durations by (job, task) from the journals of `runs` in `logs`: every task that ran
/// (ok or changed) in a real run; check-only runs, skips and failures say nothing about how
/// long the work takes.
pub fn history_from_journals(logs: &Path, runs: &[String]) -> Result<History, Diagnostic> {
    let mut history = History::new();
    for run in runs {
        let path = logs.join(format!("{run}.{EXTENSION}"));
        let journal = read_run(&path).map_err(|e| {
            Diagnostic::error(format!(
                "the schedule's estimates use run {run}, but its journal {} cannot be read: {e}",
                path.display()
            ))
            .hint("make the plan again (`seibi plan --start ...`) to estimate from the journals there are now")
        })?;
        for steps in journal.terminals.values() {
            for step in steps {
                let Some(result) = &step.result else { continue };
                let ran = matches!(result.status, Status::Ok | Status::Changed);
                let check_only = step.change.as_deref() == Some(CHECK_ONLY_CHANGE);
                if ran && step.action.is_some() && !check_only {
                    history
                        .entry((step.job.clone(), step.task.clone()))
                        .or_default()
                        .push(Duration::from_millis(result.duration_ms));
                }
            }
        }
    }
    Ok(history)
}

/// Batches the plan's jobs into visits and places them into the sites' office hours.
pub fn build_schedule(
    project: &Project,
    plan: &Plan,
    request: &ScheduleRequest,
) -> Result<PlanSchedule, Diagnostic> {
    let failed = |e: crate::schedule::ScheduleError| {
        Diagnostic::error(format!("cannot schedule the plan: {e}"))
    };
    let planned: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
    let jobs: Vec<Job> = project
        .jobs
        .iter()
        .filter(|j| planned.contains(&j.id.as_str()))
        .cloned()
        .collect();
    // The terminals the plan selected (after --site, --tag, ...), not every target.
    let mut targets = Targets::default();
    for site in &plan.sites {
        for terminal in &site.terminals {
            for job in &terminal.jobs {
                targets.insert(job, &site.id, &terminal.id);
            }
        }
    }
    let calendars = Calendars::from_inventory(&project.inventory).map_err(failed)?;
    let batching = batch_jobs(
        &jobs,
        &targets.jobs_by_site(),
        &calendars,
        &BatchOptions {
            today: request.start,
            finish_within_business_days: request.deadline_business_days,
        },
    )
    .map_err(failed)?;
    let logs = project.paths.root.join("logs");
    let history = history_from_journals(&logs, &request.history)?;
    let estimates = Estimates::from_jobs(&jobs, (!history.is_empty()).then_some(&history));
    let bytes = artifact_bytes(&jobs).map_err(failed)?;
    let schedule = place(
        &PlaceInput {
            visits: &batching.visits,
            inventory: &project.inventory,
            targets: &targets,
            estimates: &estimates,
            calendars: &calendars,
            artifact_bytes: &bytes,
        },
        &PlaceOptions {
            not_before: None,
            global_limit: request.global_limit,
            deadline_business_days: request.deadline_business_days,
            canary: request.canary.as_ref().map(|c| match c {
                CanaryRequest::Site(s) => Canary::Site(s.clone()),
                CanaryRequest::Terminals(n) => Canary::Terminals(*n),
            }),
            suggest: true,
        },
    )
    .map_err(failed)?;

    let planned_estimates = jobs_in_plan_order(plan, &jobs)
        .into_iter()
        .filter_map(|job| {
            let estimate = estimates.job(&job.id)?;
            let from_history = matches!(estimate.basis, EstimateBasis::History { .. });
            let has_history =
                |task: &str| history.contains_key(&(job.id.clone(), task.to_string()));
            let tasks_with_history = job.tasks.iter().filter(|t| has_history(&t.id)).count();
            let samples = job
                .tasks
                .iter()
                .chain(&job.handlers)
                .filter_map(|t| history.get(&(job.id.clone(), t.id.clone())))
                .map(Vec::len)
                .max()
                .unwrap_or(0);
            Some(PlannedEstimate {
                job: job.id.clone(),
                seconds_per_terminal: estimate.per_terminal.as_secs(),
                declared_minutes: job.minutes_per_terminal,
                from_history,
                tasks_with_history,
                tasks: job.tasks.len(),
                samples,
            })
        })
        .collect();

    let f = &schedule.feasibility;
    Ok(PlanSchedule {
        time_zone: schedule.time_zone.clone(),
        estimates: planned_estimates,
        visits: batching
            .visits
            .iter()
            .map(|v| PlannedVisit {
                id: v.id.clone(),
                site: v.site.clone(),
                date: v.date,
                kind: match v.kind {
                    VisitKind::Urgent => PlannedVisitKind::Urgent,
                    VisitKind::Batched => PlannedVisitKind::Batched,
                    VisitKind::Own => PlannedVisitKind::Own,
                },
                jobs: v
                    .jobs
                    .iter()
                    .map(|j| PlannedVisitJob {
                        job: j.job.clone(),
                        earliest: j.earliest,
                        latest: j.latest,
                        deadline: j.deadline,
                        reason: j.reason.clone(),
                    })
                    .collect(),
            })
            .collect(),
        late: batching
            .late
            .iter()
            .map(|l| LateJob {
                site: l.site.clone(),
                job: l.job.clone(),
                earliest: l.earliest,
                deadline: l.deadline,
            })
            .collect(),
        sites: schedule.sites.iter().map(site_timetable).collect(),
        feasible: f.feasible,
        misses: f
            .misses
            .iter()
            .map(|m| SiteMiss {
                site: m.site.clone(),
                date: m.date,
                finish: m.finish.clone(),
                business_days_late: m.business_days_late,
                office_minutes_late: m.office_minutes_late,
                capacity: m.capacity,
                capacity_that_fits: m.capacity_that_fits,
                suggestion: m.suggestion.clone(),
            })
            .collect(),
        job_deadline_misses: f
            .job_deadline_misses
            .iter()
            .map(|m| JobDeadlineMiss {
                site: m.site.clone(),
                job: m.job.clone(),
                deadline: m.deadline,
                finish: m.finish.clone(),
            })
            .collect(),
        global_limit_needed: f.global_limit_needed,
        suggestions: f.suggestions.clone(),
        notes: schedule.notes.clone(),
    })
}

fn jobs_in_plan_order<'a>(plan: &Plan, jobs: &'a [Job]) -> Vec<&'a Job> {
    let by_id: BTreeMap<&str, &Job> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    plan.jobs
        .iter()
        .filter_map(|j| by_id.get(j.id.as_str()).copied())
        .collect()
}

fn site_timetable(s: &crate::schedule::SiteSchedule) -> SiteTimetable {
    SiteTimetable {
        site: s.site.clone(),
        name: s.name.clone(),
        capacity: s.capacity,
        date: s.date,
        visits: s.visits.clone(),
        jobs: s.jobs.clone(),
        canary: s.canary,
        start_day: s.start_day,
        deadline_day: s.deadline_day,
        deadline: s.deadline.clone(),
        transfer: s.transfer.as_ref().map(|t| PlannedTransfer {
            bytes: t.bytes,
            bandwidth_mbps: t.bandwidth_mbps,
            start: t.start.clone(),
            end: t.end.clone(),
        }),
        days: s
            .days
            .iter()
            .map(|d| TimetableDay {
                date: d.date,
                business_day: d.business_day,
                start: d.start.clone(),
                end: d.end.clone(),
                terminals: d.terminals,
            })
            .collect(),
        slots: s
            .slots
            .iter()
            .map(|slot| TimetableSlot {
                terminal: slot.terminal.clone(),
                visit: slot.visit.clone(),
                jobs: slot.jobs.clone(),
                start: slot.start.clone(),
                end: slot.end.clone(),
            })
            .collect(),
        start: s.start.clone(),
        finish: s.finish.clone(),
        status: match s.status {
            DeadlineStatus::Met { business_day } => PlannedDeadline::Met { business_day },
            DeadlineStatus::Missed {
                business_days_late,
                office_minutes_late,
            } => PlannedDeadline::Missed {
                business_days_late,
                office_minutes_late,
            },
        },
    }
}
