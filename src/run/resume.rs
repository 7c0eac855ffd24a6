//! What earlier runs did, read from their journals: the units an interrupted run finished (a
//! resume does not run them again) and the units any run of the same plan did (a part of a
//! plan whose task needs one outside the part may rely on it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::action::Status;
use crate::journal::Run;

/// Units that finished in an interrupted run, by (terminal, `job/task`): not run again.
pub type Finished = BTreeMap<(String, String), Status>;

/// What earlier runs say, for the coordinator.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Units the resumed run finished (ok or changed): counted as they ended, not run again.
    /// Failed, skipped, unreachable, interrupted and busy units run again; a unit with an
    /// intent and no result is queried again once the terminal's lease shows that its
    /// commands have ended.
    pub finished: Finished,
    /// Units, by (terminal, `job/task`), that some run of this plan finished ok or changed.
    pub earlier: BTreeSet<(String, String)>,
}

impl Resume {
    /// What an interrupted run finished.
    pub fn from_interrupted(run: &Run) -> Self {
        let mut resume = Resume::default();
        for (terminal, steps) in &run.terminals {
            for step in steps {
                let Some(result) = &step.result else { continue };
                if matches!(result.status, Status::Ok | Status::Changed) {
                    let key = format!("{}/{}", step.job, step.task);
                    resume
                        .finished
                        .insert((terminal.clone(), key), result.status);
                }
            }
        }
        resume
    }

    /// Adds the units every run of the plan with `digest` in `logs` finished ok or changed. A
    /// journal that cannot be read is left out (it counts as not done).
    pub fn with_earlier_runs(mut self, logs: &Path, digest: &str) -> Self {
        for path in crate::journal::files_in(logs) {
            let Ok(run) = crate::journal::read_run(&path) else {
                continue;
            };
            if run
                .start
                .as_ref()
                .is_none_or(|(_, s)| s.plan_digest != digest)
            {
                continue;
            }
            for (terminal, steps) in &run.terminals {
                for step in steps {
                    if step
                        .result
                        .as_ref()
                        .is_some_and(|r| matches!(r.status, Status::Ok | Status::Changed))
                    {
                        self.earlier
                            .insert((terminal.clone(), format!("{}/{}", step.job, step.task)));
                    }
                }
            }
        }
        self
    }
}
