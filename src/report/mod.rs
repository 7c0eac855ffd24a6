//! Telling people how a run goes: the [`Reporter`] trait the coordinator talks to, a plain
//! line-per-event reporter for logs and pipes, live progress bars for terminals
//! ([`progress`], the only file naming indicatif), and the final recap table.

pub mod progress;

use std::fmt::Write as _;

use crate::action::{Status, TaskOutcome};
use crate::plan::{Plan, PlannedTask};
use crate::run::RunSummary;

/// Receives the coordinator's events, in order, from one thread.
pub trait Reporter: Send {
    /// The run begins.
    fn start(&mut self, plan: &Plan, check: bool);
    /// A unit ended (or was skipped).
    fn task_finished(
        &mut self,
        site: &str,
        terminal: &str,
        task: &PlannedTask,
        outcome: &TaskOutcome,
    );
    /// A terminal has no more work.
    fn terminal_finished(&mut self, site: &str, terminal: &str);
    /// A message for the operator.
    fn message(&mut self, text: &str);
    /// The run ended.
    fn finish(&mut self, summary: &RunSummary);
}

/// How a status is written in reports.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Failed => "FAILED",
        Status::Unreachable => "UNREACHABLE",
        Status::Skipped => "skipped",
        Status::Interrupted => "INTERRUPTED",
        Status::Busy => "busy",
    }
}

/// One line for a finished unit.
pub fn outcome_line(terminal: &str, task: &PlannedTask, outcome: &TaskOutcome) -> String {
    let mut line = format!(
        "{terminal:<14} {:<11} {}",
        status_word(outcome.status),
        task.key
    );
    if let Some(error) = &outcome.error {
        let _ = write!(line, ": {}", error.lines().next().unwrap_or(""));
    } else if !outcome.summary.is_empty() {
        let _ = write!(line, ": {}", outcome.summary);
    }
    line
}

/// The recap table, per site.
pub fn recap(summary: &RunSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:>9} {:>6} {:>8} {:>7} {:>12} {:>8}",
        "site", "terminals", "ok", "changed", "failed", "unreachable", "skipped"
    );
    for s in &summary.sites {
        let _ = writeln!(
            out,
            "{:<12} {:>9} {:>6} {:>8} {:>7} {:>12} {:>8}",
            s.site, s.terminals, s.ok, s.changed, s.failed, s.unreachable, s.skipped
        );
    }
    let t = summary.totals();
    let _ = writeln!(
        out,
        "{:<12} {:>9} {:>6} {:>8} {:>7} {:>12} {:>8}",
        "total", t.terminals, t.ok, t.changed, t.failed, t.unreachable, t.skipped
    );
    out
}

/// A reporter that writes one line per event: for logs, CI and pipes.
pub struct PlainReporter<W: std::io::Write + Send> {
    out: W,
    diff: bool,
}

impl<W: std::io::Write + Send> PlainReporter<W> {
    /// Writes to `out`; with `diff`, file diffs follow their lines.
    pub fn new(out: W, diff: bool) -> Self {
        Self { out, diff }
    }
}

impl<W: std::io::Write + Send> Reporter for PlainReporter<W> {
    fn start(&mut self, plan: &Plan, check: bool) {
        let _ = writeln!(
            self.out,
            "{} plan {}: {} terminals at {} sites, {} tasks",
            if check { "checking" } else { "applying" },
            plan.digest,
            plan.totals.terminals,
            plan.totals.sites,
            plan.totals.tasks
        );
    }

    fn task_finished(
        &mut self,
        _site: &str,
        terminal: &str,
        task: &PlannedTask,
        outcome: &TaskOutcome,
    ) {
        let _ = writeln!(self.out, "{}", outcome_line(terminal, task, outcome));
        if self.diff
            && let Some(diff) = outcome.query.as_ref().and_then(|q| q.diff.as_ref())
        {
            let _ = write!(self.out, "{diff}");
        }
    }

    fn terminal_finished(&mut self, _site: &str, _terminal: &str) {}

    fn message(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn finish(&mut self, summary: &RunSummary) {
        let _ = write!(self.out, "\n{}", recap(summary));
        if let Some(why) = &summary.stopped {
            let _ = writeln!(self.out, "stopped: {why}");
        }
        let _ = self.out.flush();
    }
}
