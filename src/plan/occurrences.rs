//! Recurring jobs in a plan: each one stands in the plan as its occurrences due in the plan's
//! period (`monthly-inspection@2026-10`), each with the occurrence's window as its earliest
//! start and deadline, so that they are batched and scheduled like one-off jobs.
//!
//! [`expand`] makes the project a plan is built from: one-off jobs as they are, every recurring
//! job replaced by its occurrences whose window meets the period (none: left out), and the
//! resolved `needs:` renamed to match (a task needs the tasks of its own occurrence; a need on a
//! recurring job from another job is a need on each of its occurrences in the plan).

use std::collections::BTreeMap;

use super::{InputFile, TaskKey};
use crate::calendar::Calendar;
use crate::playbook::Job;
pub use crate::playbook::recurrence::base_job_id;
use crate::playbook::recurrence::{DateRange, occurrence_id};
use crate::project::Project;

/// The project with every recurring job replaced by its occurrences due in `period`.
pub fn expand(project: &Project, period: DateRange) -> Project {
    let calendar = Calendar::new();
    let mut jobs = Vec::with_capacity(project.jobs.len());
    let mut ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for job in &project.jobs {
        let Some(recurrence) = &job.recurrence else {
            ids.entry(&job.id).or_default().push(job.id.clone());
            jobs.push(job.clone());
            continue;
        };
        for occurrence in recurrence.due_in(&calendar, period) {
            let mut o: Job = job.clone();
            o.id = occurrence_id(&job.id, &occurrence.key);
            o.earliest_start = Some(occurrence.window.first);
            o.deadline = Some(occurrence.window.last);
            o.occurrence = Some(occurrence);
            ids.entry(&job.id).or_default().push(o.id.clone());
            jobs.push(o);
        }
    }
    let mut needs = BTreeMap::new();
    for job in &jobs {
        let base = base_job_id(&job.id);
        for task in job.tasks.iter().chain(&job.handlers) {
            let Some(needed) = project.needs.get(&TaskKey::new(base, &task.id)) else {
                continue;
            };
            let renamed = needed
                .iter()
                .flat_map(|n| {
                    let targets: Vec<String> = if n.job == base {
                        vec![job.id.clone()]
                    } else {
                        // A job with no occurrence in the period keeps its name: the plan then
                        // warns that it is not in the plan and assumed done.
                        ids.get(n.job.as_str())
                            .filter(|v| !v.is_empty())
                            .cloned()
                            .unwrap_or_else(|| vec![n.job.clone()])
                    };
                    targets
                        .into_iter()
                        .map(|j| TaskKey::new(&j, &n.task))
                        .collect::<Vec<_>>()
                })
                .collect();
            needs.insert(TaskKey::new(&job.id, &task.id), renamed);
        }
    }
    Project {
        paths: project.paths.clone(),
        inventory: project.inventory.clone(),
        jobs,
        needs,
        secrets: project.secrets.clone(),
        known_hosts: project.known_hosts.clone(),
        templates: project.templates.clone(),
    }
}

/// The playbook files of the plan's jobs, in job order, each once (the occurrences of one
/// recurring job share its file).
pub fn each_file_once(files: impl Iterator<Item = InputFile>) -> Vec<InputFile> {
    let mut seen = std::collections::BTreeSet::new();
    files.filter(|f| seen.insert(f.path.clone())).collect()
}

/// The period a plan asks for: the one given, else (with a schedule start) from that day to the
/// end of its month. None when the project has no recurring job, so that such plans stay as
/// they were.
pub fn period_for(
    project: &Project,
    asked: Option<DateRange>,
    start: Option<jiff::civil::Date>,
) -> Option<DateRange> {
    if !project.jobs.iter().any(|j| j.recurrence.is_some()) {
        return None;
    }
    asked.or_else(|| start.map(|s| DateRange::new(s, s.last_of_month())))
}

/// Past durations for the plan's jobs: a recurring job's runs, whatever occurrence they were
/// for (`monthly-inspection@2026-09`), estimate each of its occurrences in the plan.
pub fn history_for_occurrences(
    history: crate::schedule::History,
    jobs: &[Job],
) -> crate::schedule::History {
    let mut by_base: crate::schedule::History = crate::schedule::History::new();
    for ((job, task), durations) in &history {
        by_base
            .entry((base_job_id(job).to_string(), task.clone()))
            .or_default()
            .extend(durations);
    }
    let mut out = history;
    for job in jobs.iter().filter(|j| j.occurrence.is_some()) {
        let base = base_job_id(&job.id);
        for task in &job.tasks {
            if let Some(durations) = by_base.get(&(base.to_string(), task.id.clone())) {
                out.insert((job.id.clone(), task.id.clone()), durations.clone());
            }
        }
    }
    out
}
