//! Why a unit was not run, why a run stopped, and how it exits: enums decided once by the
//! coordinator, shown to people through `Display`, never matched by their text.

use std::fmt;

/// Why a terminal can run nothing more in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// The connection could not be made (refused, timed out, no route).
    Unreachable,
    /// The terminal refused the login, the host key, or `sudo`.
    LoginRefused,
    /// The connection dropped during the visit.
    ConnectionLost,
    /// The terminal did not come back after a reboot.
    NoReboot,
    /// Another run holds the terminal's lease.
    Busy,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lost::Unreachable => "terminal unreachable",
            Lost::LoginRefused => "could not log in",
            Lost::ConnectionLost => "connection lost",
            Lost::NoReboot => "the terminal did not come back after its reboot",
            Lost::Busy => "terminal busy with another run",
        })
    }
}

/// Why a unit was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The terminal can run nothing more ([`Lost`]).
    Lost(Lost),
    /// The run stopped starting work.
    RunStopped(StopReason),
    /// The site's office hours ended while the visit was under way.
    Closing(String),
    /// Office hours held the terminal back: its visit could not finish before the site closes.
    NotStarted(String),
    /// The plan skips it (`when:` false, and such): the plan's words.
    Planned(String),
    /// A task it needs (`job/task`) did not succeed.
    NeedFailed(String),
    /// A task it needs is outside this run's part of the plan and no earlier run of the plan
    /// did it.
    NeedOutsideSelection(String),
    /// A handler whose watched tasks changed nothing.
    NotNotified,
    /// Its job exceeded `max_fail_percentage`.
    JobStopped(String),
}

impl SkipReason {
    /// Whether the unit counts as not succeeded for the units that need it.
    pub fn blocks_dependents(&self) -> bool {
        !matches!(self, SkipReason::Planned(_) | SkipReason::NotNotified)
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Lost(lost) => write!(f, "{lost}"),
            SkipReason::RunStopped(why) => write!(f, "run stopped ({why})"),
            SkipReason::Closing(why) => write!(f, "run stopped ({why})"),
            SkipReason::NotStarted(why) => write!(f, "not started: {why}"),
            SkipReason::Planned(why) => f.write_str(why),
            SkipReason::NeedFailed(need) => write!(f, "needs {need}, which did not succeed"),
            SkipReason::NeedOutsideSelection(need) => write!(
                f,
                "needs {need}, which is outside this part of the plan and no earlier run of the plan did it: select it too"
            ),
            SkipReason::NotNotified => f.write_str("not notified: nothing it watches changed"),
            SkipReason::JobStopped(job) => write!(
                f,
                "job {job} stopped: more than its max_fail_percentage of terminals failed"
            ),
        }
    }
}

/// Why a run stopped starting work before the end of its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// `--fail-fast` and a unit failed (`task` is `None` when the terminal could not be
    /// reached).
    FailFast {
        /// The terminal.
        terminal: String,
        /// The unit's `job/task`.
        task: Option<String>,
    },
    /// The journal could not be written: nothing more may change. The run is resumable.
    Journal(String),
    /// Office hours ended or held work back (the pause's message).
    OfficeHours(String),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::FailFast {
                terminal,
                task: None,
            } => write!(f, "--fail-fast: {terminal} failed"),
            StopReason::FailFast {
                terminal,
                task: Some(task),
            } => write!(f, "--fail-fast: {task} failed on {terminal}"),
            StopReason::Journal(error) => write!(
                f,
                "the journal cannot be written ({error}); nothing more is changed. Fix the disk or permissions, then resume the run"
            ),
            StopReason::OfficeHours(message) => f.write_str(message),
        }
    }
}

/// How a run exits, most serious first: the process exit status is derived from this once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunExit {
    /// The journal could not be written (exit 1; resume the run).
    JournalFailed,
    /// Some task failed (exit 4).
    Failed,
    /// Some terminal was unreachable or its connection dropped mid-unit (exit 5).
    Unreachable,
    /// Some terminal was busy with another run (exit 7).
    Busy,
    /// Paused for office hours with work left (exit 6).
    Paused,
    /// Everything ran (exit 0).
    Success,
}

impl RunExit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            RunExit::Success => 0,
            RunExit::JournalFailed => 1,
            RunExit::Failed => 4,
            RunExit::Unreachable => 5,
            RunExit::Paused => 6,
            RunExit::Busy => 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plan_skips_and_handlers_let_dependents_run() {
        assert!(!SkipReason::Planned("when: false".into()).blocks_dependents());
        assert!(!SkipReason::NotNotified.blocks_dependents());
        for blocking in [
            SkipReason::Lost(Lost::ConnectionLost),
            SkipReason::NeedFailed("a/b".into()),
            SkipReason::NeedOutsideSelection("a/b".into()),
            SkipReason::JobStopped("a".into()),
            SkipReason::Closing("closed".into()),
            SkipReason::RunStopped(StopReason::Journal("disk full".into())),
        ] {
            assert!(blocking.blocks_dependents(), "{blocking}");
        }
    }

    #[test]
    fn exit_codes_are_ordered_by_seriousness() {
        let mut all = [
            RunExit::Success,
            RunExit::Paused,
            RunExit::Busy,
            RunExit::Unreachable,
            RunExit::Failed,
            RunExit::JournalFailed,
        ];
        all.sort();
        assert_eq!(
            all.iter().map(|e| e.code()).collect::<Vec<_>>(),
            [1, 4, 5, 7, 6, 0]
        );
    }
}
