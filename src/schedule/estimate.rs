//! Estimates: how long a job takes on one terminal, and how much data a job ships to a site.
//!
//! A job declares `minutes_per_terminal`. When past runs are known (a [`History`] of actual
//! durations per job and task, as the journal will provide), the estimate is the sum over the
//! job's tasks of each task's median; a task with no history yet counts for its share of the
//! declared minutes (declared minutes / number of tasks), and a handler with no history counts
//! for nothing (it runs only when notified). Estimates are whole seconds, rounded up.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ScheduleError;
use crate::playbook::Job;

/// Past actual durations by (job id, task id).
pub type History = HashMap<(String, String), Vec<Duration>>;

/// Where an estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "basis")]
pub enum EstimateBasis {
    /// The job's `minutes_per_terminal`.
    Declared {
        /// The declared minutes.
        minutes: u32,
    },
    /// Medians of past runs, per task.
    History {
        /// Tasks and handlers with a history.
        tasks_with_history: usize,
        /// Tasks of the job (handlers not counted).
        tasks: usize,
    },
}

/// How long one job takes on one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobEstimate {
    /// The job.
    pub job: String,
    /// Time per terminal.
    pub per_terminal: Duration,
    /// Where the figure comes from.
    pub basis: EstimateBasis,
}

/// How long one job takes on one terminal, as a plan shows it: the figure the schedule uses and
/// how much history backs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateSummary {
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

/// Time per (job, terminal): one figure per job, with optional per-terminal overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Estimates {
    jobs: BTreeMap<String, JobEstimate>,
    overrides: HashMap<(String, String), Duration>,
}

impl Estimates {
    /// Estimates for `jobs`, refined by `history` where it has entries for a job's tasks.
    pub fn from_jobs(jobs: &[Job], history: Option<&History>) -> Self {
        let mut estimates = Estimates::default();
        for job in jobs {
            let estimate = match history {
                Some(history) => estimate_from_history(job, history),
                None => declared(job),
            };
            estimates.jobs.insert(job.id.clone(), estimate);
        }
        estimates
    }

    /// Estimates from declared minutes only: `(job id, minutes per terminal)`.
    pub fn from_minutes<'a>(minutes: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        let mut estimates = Estimates::default();
        for (job, minutes) in minutes {
            estimates.jobs.insert(
                job.to_string(),
                JobEstimate {
                    job: job.to_string(),
                    per_terminal: Duration::from_secs(u64::from(minutes) * 60),
                    basis: EstimateBasis::Declared { minutes },
                },
            );
        }
        estimates
    }

    /// Sets the time `job` takes on one particular terminal.
    pub fn set_terminal(
        &mut self,
        job: impl Into<String>,
        terminal: impl Into<String>,
        time: Duration,
    ) {
        self.overrides.insert((job.into(), terminal.into()), time);
    }

    /// A job's estimate.
    pub fn job(&self, job: &str) -> Option<&JobEstimate> {
        self.jobs.get(job)
    }

    /// `job`'s estimate with what backs it in `history` (the history it was made from), or
    /// `None` when there is no estimate for the job.
    pub fn summary(&self, job: &Job, history: &History) -> Option<EstimateSummary> {
        let estimate = self.job(&job.id)?;
        let durations = |task: &str| history.get(&(job.id.clone(), task.to_string()));
        Some(EstimateSummary {
            job: job.id.clone(),
            seconds_per_terminal: estimate.per_terminal.as_secs(),
            declared_minutes: job.minutes_per_terminal,
            from_history: matches!(estimate.basis, EstimateBasis::History { .. }),
            tasks_with_history: job
                .tasks
                .iter()
                .filter(|t| durations(&t.id).is_some())
                .count(),
            tasks: job.tasks.len(),
            samples: job
                .tasks
                .iter()
                .chain(&job.handlers)
                .filter_map(|t| durations(&t.id))
                .map(Vec::len)
                .max()
                .unwrap_or(0),
        })
    }

    /// Time `job` takes on `terminal`.
    pub fn for_terminal(&self, job: &str, terminal: &str) -> Option<Duration> {
        if !self.overrides.is_empty()
            && let Some(time) = self.overrides.get(&(job.to_string(), terminal.to_string()))
        {
            return Some(*time);
        }
        self.jobs.get(job).map(|e| e.per_terminal)
    }
}

fn declared(job: &Job) -> JobEstimate {
    JobEstimate {
        job: job.id.clone(),
        per_terminal: Duration::from_secs(u64::from(job.minutes_per_terminal) * 60),
        basis: EstimateBasis::Declared {
            minutes: job.minutes_per_terminal,
        },
    }
}

fn estimate_from_history(job: &Job, history: &History) -> JobEstimate {
    let median_of = |task: &str| {
        history
            .get(&(job.id.clone(), task.to_string()))
            .and_then(|runs| median(runs))
    };
    let task_medians: Vec<Option<Duration>> = job.tasks.iter().map(|t| median_of(&t.id)).collect();
    let handler_medians: Vec<Duration> = job
        .handlers
        .iter()
        .filter_map(|h| median_of(&h.id))
        .collect();
    let known = task_medians.iter().flatten().count() + handler_medians.len();
    if known == 0 {
        return declared(job);
    }
    let declared_total = Duration::from_secs(u64::from(job.minutes_per_terminal) * 60);
    // Tasks exist (a loaded job has at least one); the guard keeps the division safe anyway.
    let share = declared_total / u32::try_from(job.tasks.len().max(1)).unwrap_or(u32::MAX);
    let total: Duration = task_medians
        .iter()
        .map(|m| m.unwrap_or(share))
        .chain(handler_medians)
        .sum();
    JobEstimate {
        job: job.id.clone(),
        per_terminal: round_up_to_second(total),
        basis: EstimateBasis::History {
            tasks_with_history: known,
            tasks: job.tasks.len(),
        },
    }
}

/// The median of `runs`: the middle one, or the mean of the two middle ones; `None` when empty.
pub fn median(runs: &[Duration]) -> Option<Duration> {
    let mut sorted = runs.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn round_up_to_second(d: Duration) -> Duration {
    if d.subsec_nanos() == 0 {
        d
    } else {
        Duration::from_secs(d.as_secs() + 1)
    }
}

/// Bytes of artifacts each job ships, read from the files' sizes (jobs without artifacts are
/// left out).
pub fn artifact_bytes(jobs: &[Job]) -> Result<BTreeMap<String, u64>, ScheduleError> {
    let mut out = BTreeMap::new();
    for job in jobs {
        let mut total = 0u64;
        for artifact in &job.artifacts {
            let meta = std::fs::metadata(&artifact.resolved).map_err(|source| {
                ScheduleError::ArtifactUnreadable {
                    job: job.id.clone(),
                    artifact: artifact.name.clone(),
                    path: artifact.resolved.clone(),
                    source,
                }
            })?;
            total = total.saturating_add(meta.len());
        }
        if !job.artifacts.is_empty() {
            out.insert(job.id.clone(), total);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[mins(7)]), Some(mins(7)));
        assert_eq!(median(&[mins(9), mins(1), mins(5)]), Some(mins(5)));
        assert_eq!(
            median(&[mins(10), mins(2), mins(4), mins(100)]),
            Some(mins(7))
        );
    }

    #[test]
    fn overrides_win_over_the_job_figure() {
        let mut e = Estimates::from_minutes([("patch", 20)]);
        e.set_terminal("patch", "chuo-t02", mins(45));
        assert_eq!(e.for_terminal("patch", "chuo-t01"), Some(mins(20)));
        assert_eq!(e.for_terminal("patch", "chuo-t02"), Some(mins(45)));
        assert_eq!(e.for_terminal("other", "chuo-t01"), None);
    }

    #[test]
    fn rounding_is_up_to_the_next_second() {
        assert_eq!(
            round_up_to_second(Duration::from_millis(1500)),
            Duration::from_secs(2)
        );
        assert_eq!(
            round_up_to_second(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
    }
}
