//! Live progress for people at a terminal: one bar per site and a total with ETA (indicatif).
//! Failures and changes print above the bars as they happen; the recap follows at the end.

use std::collections::BTreeMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Reporter, outcome_line, recap};
use crate::action::{Status, TaskOutcome};
use crate::plan::{Plan, PlannedTask};
use crate::run::RunSummary;

/// Progress bars on standard error.
pub struct ProgressReporter {
    multi: MultiProgress,
    sites: BTreeMap<String, ProgressBar>,
    total: Option<ProgressBar>,
    diff: bool,
}

impl ProgressReporter {
    /// Bars drawn on standard error; with `diff`, file diffs print above them.
    pub fn new(diff: bool) -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            sites: BTreeMap::new(),
            total: None,
            diff,
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; a typo shows in every run and in tests.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Reporter for ProgressReporter {
    fn start(&mut self, plan: &Plan, check: bool) {
        let _ = self.multi.println(format!(
            "{} plan {}",
            if check { "checking" } else { "applying" },
            plan.digest
        ));
        for site in &plan.sites {
            let units: usize = site.terminals.iter().map(|t| t.tasks.len()).sum();
            let bar = self.multi.add(ProgressBar::new(units as u64));
            bar.set_style(style("{prefix:<12} [{bar:30}] {pos:>4}/{len:<4} {msg}"));
            bar.set_prefix(site.id.clone());
            self.sites.insert(site.id.clone(), bar);
        }
        let total = self.multi.add(ProgressBar::new(plan.totals.tasks as u64));
        total.set_style(style(
            "{prefix:<12} [{bar:30}] {pos:>4}/{len:<4} {elapsed_precise} ETA {eta}",
        ));
        total.set_prefix("total");
        self.total = Some(total);
    }

    fn task_finished(
        &mut self,
        site: &str,
        terminal: &str,
        task: &PlannedTask,
        outcome: &TaskOutcome,
    ) {
        if let Some(bar) = self.sites.get(site) {
            bar.inc(1);
            match outcome.status {
                Status::Failed | Status::Unreachable | Status::Interrupted => {
                    bar.set_message(format!("{terminal} failed"));
                }
                Status::Busy => bar.set_message(format!("{terminal} busy")),
                _ => {}
            }
        }
        if let Some(total) = &self.total {
            total.inc(1);
        }
        if outcome.status != Status::Ok && outcome.status != Status::Skipped {
            let _ = self.multi.println(outcome_line(terminal, task, outcome));
        }
        if self.diff
            && let Some(diff) = outcome.query.as_ref().and_then(|q| q.diff.as_ref())
        {
            let _ = self.multi.println(diff.trim_end());
        }
    }

    fn terminal_finished(&mut self, _site: &str, _terminal: &str) {}

    fn message(&mut self, text: &str) {
        let _ = self.multi.println(text);
    }

    fn finish(&mut self, summary: &RunSummary) {
        for bar in self.sites.values() {
            bar.finish();
        }
        if let Some(total) = &self.total {
            total.finish();
        }
        eprintln!("\n{}", recap(summary));
        if let Some(why) = &summary.stopped {
            eprintln!("stopped: {why}");
        }
    }
}
