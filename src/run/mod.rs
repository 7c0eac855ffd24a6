//! The apply session: runs a plan on its terminals.
//!
//! [`Coordinator`] ([`coordinator`]) owns all run state (which unit runs next, what failed,
//! what is skipped and why, who may start) and is the only writer of the journal and the only
//! caller of the reporter, so the order of events is deterministic per terminal. Workers
//! (`worker`), one per connected terminal, hold that terminal's SSH connection and lease, run
//! the (terminal, task) units they are sent and send back outcomes. Each terminal goes through
//! its own task list independently: a slow terminal never holds up the others. Limits: a global
//! number of terminals at once, and each site's capacity.
//!
//! A failed task skips what needs it on that terminal only. An unreachable terminal is an
//! outcome, not an error: the others go on. A job's `max_fail_percentage` stops starting that
//! job on further terminals once exceeded; `fail_fast` stops starting anything after the first
//! failure and lets units in progress finish. Why a unit was skipped, why a run stopped and how
//! it exits are enums ([`reason`]).
//!
//! Runs meet safely: one run per project at a time ([`lock`]), one run per terminal at a time
//! across machines ([`lease`]); a connection that drops mid-unit leaves the unit
//! `interrupted`, and the next run on that terminal waits for its commands before querying
//! again. [`session`] puts it together for `seibi apply`: lock, journal (new, resumed or
//! sealed), coordinator, end.
//!
//! With [`ApplyOptions::window`], the run keeps to the sites' office hours ([`window`]): a
//! terminal's visit starts only if it can finish before its site closes, and at closing time the
//! unit in progress finishes, nothing more starts there, and the summary says how to resume.

pub mod connector;
pub mod coordinator;
pub mod lease;
pub mod lock;
pub mod reason;
pub mod resume;
pub mod rotations;
pub mod session;
pub mod summary;
pub mod window;
mod worker;

use std::sync::Arc;

use crate::action::ApplyEnv;
use crate::journal::JournalWriter;
use crate::plan::Plan;
use crate::report::Reporter;

pub use connector::{ConnectError, Connector, SshConnector, SshSettings};
pub use coordinator::Coordinator;
pub use reason::{Lost, RunExit, SkipReason, StopReason};
pub use resume::{Finished, Resume};
pub use summary::{RunSummary, SiteRecap, TerminalResult, UnitResult};
pub use window::{Clock, ManualClock, SystemClock, WindowPause, WindowPolicy};

/// How to run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Query only: report what would change, change nothing.
    pub check: bool,
    /// Stop starting work after the first failure.
    pub fail_fast: bool,
    /// At most this many terminals at once (all sites together).
    pub max_terminals: usize,
    /// Keep to the sites' office hours; `None` works at any time (`--outside-window`).
    pub window: Option<WindowPolicy>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            check: false,
            fail_fast: false,
            max_terminals: 200,
            window: None,
        }
    }
}

/// Runs `plan` with a [`Coordinator`]: connects to terminals through `connector`, runs each
/// one's tasks in order and reports through `reporter`. Never fails as a whole: failures are
/// outcomes in the summary.
///
/// With a journal, an intent record is written (and synced) before each unit is sent to its
/// terminal and a result record after it ends; if the journal cannot be written the run stops
/// before the next change. Units `resume` says an interrupted run finished are not run again.
pub async fn execute(
    plan: Arc<Plan>,
    env: Arc<ApplyEnv>,
    connector: Arc<dyn Connector>,
    options: &ApplyOptions,
    reporter: &mut dyn Reporter,
    journal: Option<&mut JournalWriter>,
    resume: &Resume,
) -> RunSummary {
    Coordinator::new(plan, env, connector, options, reporter, journal, resume)
        .run()
        .await
}
