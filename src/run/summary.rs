//! What a run did: counts per site, outcomes per terminal and unit, why it stopped, and the
//! exit status derived from all of it.

use super::reason::{RunExit, StopReason};
use super::window::WindowPause;
use crate::action::{Status, TaskOutcome};

/// Counts for one site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteRecap {
    /// Site id.
    pub site: String,
    /// Terminals with work.
    pub terminals: usize,
    /// Units that needed no change.
    pub ok: usize,
    /// Units that changed something.
    pub changed: usize,
    /// Units that failed.
    pub failed: usize,
    /// Units lost to unreachable terminals (the unit that found it).
    pub unreachable: usize,
    /// Units not run.
    pub skipped: usize,
    /// Units whose connection dropped while they ran.
    pub interrupted: usize,
    /// Units not run because another run held the terminal.
    pub busy: usize,
}

impl SiteRecap {
    /// Counts one unit.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => self.changed += 1,
            Status::Failed => self.failed += 1,
            Status::Unreachable => self.unreachable += 1,
            Status::Skipped => self.skipped += 1,
            Status::Interrupted => self.interrupted += 1,
            Status::Busy => self.busy += 1,
        }
    }
}

/// One unit's result.
#[derive(Debug, Clone)]
pub struct UnitResult {
    /// `job/task`.
    pub key: String,
    /// The outcome.
    pub outcome: TaskOutcome,
}

/// One terminal's results, in the order the units ended.
#[derive(Debug, Clone)]
pub struct TerminalResult {
    /// Site id.
    pub site: String,
    /// Terminal id.
    pub terminal: String,
    /// Units.
    pub units: Vec<UnitResult>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Whether it was a check (dry) run.
    pub check: bool,
    /// Per site, in plan order.
    pub sites: Vec<SiteRecap>,
    /// Per terminal, in plan order.
    pub terminals: Vec<TerminalResult>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<StopReason>,
    /// Work that office hours held back or cut short, and how to resume it.
    pub paused: Option<WindowPause>,
}

impl RunSummary {
    /// Sums over all sites.
    pub fn totals(&self) -> SiteRecap {
        let mut t = SiteRecap {
            site: "total".into(),
            ..Default::default()
        };
        for s in &self.sites {
            t.terminals += s.terminals;
            t.ok += s.ok;
            t.changed += s.changed;
            t.failed += s.failed;
            t.unreachable += s.unreachable;
            t.skipped += s.skipped;
            t.interrupted += s.interrupted;
            t.busy += s.busy;
        }
        t
    }

    /// How the run exits: the most serious of what happened.
    pub fn exit(&self) -> RunExit {
        let t = self.totals();
        if matches!(self.stopped, Some(StopReason::Journal(_))) {
            RunExit::JournalFailed
        } else if t.failed > 0 {
            RunExit::Failed
        } else if t.unreachable > 0 || t.interrupted > 0 {
            RunExit::Unreachable
        } else if t.busy > 0 {
            RunExit::Busy
        } else if self.paused.is_some() {
            RunExit::Paused
        } else {
            RunExit::Success
        }
    }

    /// Process exit status (see [`RunExit::code`]): 0 success, 1 journal failure, 4 some task
    /// failed, 5 some terminal unreachable or interrupted, 6 paused for office hours, 7 some
    /// terminal busy with another run.
    pub fn exit_code(&self) -> u8 {
        self.exit().code()
    }

    /// The outcome of one unit.
    pub fn outcome(&self, terminal: &str, key: &str) -> Option<&TaskOutcome> {
        self.terminals
            .iter()
            .find(|t| t.terminal == terminal)?
            .units
            .iter()
            .find(|u| u.key == key)
            .map(|u| &u.outcome)
    }
}
