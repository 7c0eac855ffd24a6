//! The schedule section of a plan: which visit each job is in and why, how long each job takes
//! on a terminal (declared, or the median of past runs from the journals), and the timetable
//! (site, business day, start, end) with the deadline check.
//!
//! [`ScheduleRequest`] is part of the [`super::PlanRequest`], so a saved plan is made again
//! exactly as it was (that is how `apply --plan` checks it is not stale): the start day, the
//! business-day limit, the canary, the global limit, and the *finished* runs whose journals
//! (`logs/<run>.jsonl`, never changed once finished) refine the estimates. [`PlanSchedule`] is
//! the result: [`crate::schedule`]'s own serde/JSON Schema types gathered in one document; it is
//! part of the plan's digest like everything else.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Plan;
use crate::inventory::ApprovedWindow;
use crate::journal::record::{CHECK_ONLY_CHANGE, Status};
use crate::journal::{EXTENSION, read_run};
use crate::playbook::Job;
use crate::project::Project;
use crate::schedule::crew::{
    self, Crew, CrewInput, CrewMember, CrewPlan, CrewRequest, TravelTable,
};
use crate::schedule::{
    BatchOptions, Calendars, Canary, EstimateSummary, Estimates, History, JobDeadlineMiss, LateJob,
    PlaceInput, PlaceOptions, ScheduleSettings, ScheduleView, SiteMiss, SiteSchedule, Targets,
    Visit, artifact_bytes, batch_jobs, place,
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
    pub canary: Option<Canary>,
    /// At most this many terminals at once, all sites together.
    pub global_limit: Option<u32>,
    /// Finished runs (`logs/<run>.jsonl`) whose task durations refine the estimates.
    pub history: Vec<String>,
    /// The crews who do the work (absent: as many as are needed, which the plan says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crews: Option<CrewRequest>,
}

/// The schedule of a plan: the estimates, visits and timetable with its deadline check, each in
/// the scheduler's own types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSchedule {
    /// The time zone of every time (Asia/Tokyo).
    pub time_zone: String,
    /// Time per terminal of each job, and where the figure comes from.
    pub estimates: Vec<EstimateSummary>,
    /// The visits: jobs batched per site and day, each job with the reason for its day.
    pub visits: Vec<Visit>,
    /// Jobs whose deadline comes before the first business day they can be done.
    pub late: Vec<LateJob>,
    /// The timetable: per site and visit day, its business days, start, end and finish.
    pub sites: Vec<SiteSchedule>,
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
    /// Who goes where and when, and whether every site of a round finishes in time with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crews: Option<CrewPlan>,
    /// Out-of-hours windows the city approved for the plan's sites (from the inventory), on or
    /// after the start day: the plan's approval covers work in them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_windows: Vec<PlannedWindow>,
}

/// An approved out-of-hours window of one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedWindow {
    /// The site.
    pub site: String,
    /// The window.
    pub window: ApprovedWindow,
}

impl PlannedWindow {
    /// `chuo 2026-10-03 09:00-12:00 (approval)` for people.
    pub fn describe(&self, lang: crate::language::Language) -> String {
        let w = &self.window;
        let mut out = format!(
            "{} {} {}-{}",
            self.site,
            w.date,
            w.start.strftime("%H:%M"),
            w.end.strftime("%H:%M")
        );
        if let Some(approval) = &w.approval {
            out.push_str(&format!(" ({}: {approval})", lang.pick("承認", "approved")));
        }
        out
    }
}

impl Plan {
    /// The out-of-hours windows the plan's approval covers (none without a schedule).
    pub fn approved_windows(&self) -> &[PlannedWindow] {
        self.schedule
            .as_ref()
            .map_or(&[], |s| s.approved_windows.as_slice())
    }
}

impl PlanSchedule {
    /// The section as [`crate::schedule::render_text`] and [`crate::schedule::render_markdown`]
    /// print it, with the settings of `request` (the plan's).
    pub fn view<'a>(&'a self, request: Option<&'a ScheduleRequest>) -> ScheduleView<'a> {
        ScheduleView {
            time_zone: &self.time_zone,
            settings: request.map(|r| ScheduleSettings {
                start: Some(r.start),
                deadline_business_days: r.deadline_business_days,
                global_limit: r.global_limit,
                canary: r.canary.as_ref(),
            }),
            estimates: Some(&self.estimates),
            visits: Some(&self.visits),
            late: Some(&self.late),
            sites: &self.sites,
            feasible: self.feasible,
            misses: &self.misses,
            job_deadline_misses: &self.job_deadline_misses,
            suggestions: &self.suggestions,
            notes: &self.notes,
        }
    }

    /// The seconds one terminal of `job` takes, when the schedule has an estimate for it.
    pub fn seconds_per_terminal(&self, job: &str) -> Option<u64> {
        self.estimates
            .iter()
            .find(|e| e.job == job)
            .map(|e| e.seconds_per_terminal)
    }

    /// Whether the placement and the crews both meet every deadline.
    pub fn is_feasible(&self) -> bool {
        self.feasible && self.crews.as_ref().is_none_or(|c| c.feasible)
    }

    /// One line per miss, for people: which site or job, by how much, what would fit.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(crews) = self.crews.as_ref().filter(|c| !c.feasible) {
            for m in &crews.misses {
                out.push(format!(
                    "with the crews: {}",
                    crew::miss_text(m, crate::language::Language::En)
                ));
            }
            for h in &crews.hints {
                out.push(crew::hint_text(h, crate::language::Language::En));
            }
        }
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
        for terminal in site.terminals.views() {
            for job in terminal.jobs {
                targets.insert(job, &site.id, terminal.id);
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
    let history = super::occurrences::history_for_occurrences(
        history_from_journals(&logs, &request.history)?,
        &jobs,
    );
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
            canary: request.canary.clone(),
            suggest: true,
        },
    )
    .map_err(failed)?;

    let crews = match &request.crews {
        Some(asked) => Some(crews_of(project, asked)?),
        None => None,
    };
    let travel = TravelTable::from_inventory(&project.inventory);
    let job_deadlines: BTreeMap<String, jiff::civil::Date> = jobs
        .iter()
        .filter_map(|j| j.deadline.map(|d| (j.id.clone(), d)))
        .collect();
    let crew_plan = crew::plan_crews(
        &CrewInput {
            waves: &schedule.sites,
            inventory: &project.inventory,
            calendars: &calendars,
            travel: &travel,
            deadline_business_days: request.deadline_business_days,
            job_deadlines: &job_deadlines,
        },
        crews.as_deref(),
    )
    .map_err(|e| Diagnostic::error(format!("cannot plan the crews: {e}")))?;
    let mut crew_plan = crew_plan;
    if request.global_limit.is_some() || request.canary.is_some() {
        crew_plan.notes.push(crew::CrewNote::LimitsNotApplied {
            global_limit: request.global_limit,
            canary: request.canary.is_some(),
        });
    }

    let estimates = jobs_in_plan_order(plan, &jobs)
        .into_iter()
        .filter_map(|job| estimates.summary(job, &history))
        .collect();
    let f = schedule.feasibility;
    Ok(PlanSchedule {
        time_zone: schedule.time_zone,
        estimates,
        visits: batching.visits,
        late: batching.late,
        sites: schedule.sites,
        feasible: f.feasible,
        misses: f.misses,
        job_deadline_misses: f.job_deadline_misses,
        global_limit_needed: f.global_limit_needed,
        suggestions: f.suggestions,
        notes: schedule.notes,
        crews: Some(crew_plan),
        approved_windows: plan
            .sites
            .iter()
            .filter_map(|s| project.inventory.sites.get(&s.id))
            .flat_map(|site| {
                site.approved_windows
                    .iter()
                    .filter(|w| w.date >= request.start)
                    .map(|w| PlannedWindow {
                        site: site.id.clone(),
                        window: w.clone(),
                    })
            })
            .collect(),
    })
}

/// The crews a request names: `N` anonymous crews, or operators from the roster (`a+b` is one
/// crew of two), available on the days the roster says.
fn crews_of(project: &Project, asked: &CrewRequest) -> Result<Vec<Crew>, Diagnostic> {
    let names = match asked {
        CrewRequest::Count(0) => {
            return Err(
                Diagnostic::error("`--crews 0` leaves nobody to do the work")
                    .hint("give 1 or more, or leave --crews out to plan with the number needed"),
            );
        }
        CrewRequest::Count(n) => return Ok(Crew::anonymous(*n)),
        CrewRequest::Named(names) => names,
    };
    let path = project.paths.root.join(crate::roster::ROSTER_FILE);
    let roster = crate::roster::Roster::load(&path).map_err(|e| {
        Diagnostic::error(format!(
            "crews named by roster id need the roster ({}): {e}",
            path.display()
        ))
    })?;
    let operators: Vec<&crate::roster::Person> = roster
        .people()
        .iter()
        .filter(|p| p.role.is_operator())
        .collect();
    let mut crews = Vec::new();
    for name in names {
        let mut members = Vec::new();
        let mut availability = crate::roster::Availability::always();
        for id in name.split('+').map(str::trim) {
            let entries: Vec<&&crate::roster::Person> =
                operators.iter().filter(|p| p.id == id).collect();
            let Some(first) = entries.first() else {
                let mut d = Diagnostic::error(format!(
                    "crew `{name}` names `{id}`, who is not an operator on the roster"
                ));
                if let Some(close) =
                    crate::source::closest(id, operators.iter().map(|p| p.id.as_str()))
                {
                    d = d.hint(format!("did you mean `{close}`?"));
                }
                return Err(d.hint("a crew is roster ids joined by `+` (`--crew tanaka+sato`)"));
            };
            // Several entries of one person (a replaced key): available on any of their days.
            let mut person = first.available();
            if entries.len() > 1 {
                person.from = entries.iter().map(|p| p.valid_from).min();
                person.until = entries.iter().map(|p| p.valid_until).max();
            }
            availability = availability.and(&person);
            members.push(CrewMember {
                id: first.id.clone(),
                name: first.name.clone(),
            });
        }
        crews.push(Crew {
            id: name.clone(),
            members,
            availability,
        });
    }
    Ok(crews)
}

fn jobs_in_plan_order<'a>(plan: &Plan, jobs: &'a [Job]) -> Vec<&'a Job> {
    let by_id: BTreeMap<&str, &Job> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    plan.jobs
        .iter()
        .filter_map(|j| by_id.get(j.id.as_str()).copied())
        .collect()
}
