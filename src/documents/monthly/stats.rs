//! The numbers the monthly report compares month to month, and the password rotations of a run
//! (its rotation records, and changed `password` steps that have none).

use std::collections::BTreeSet;
use std::path::Path;

use crate::documents::journals::{self, Journal, is_failure};
use crate::journal::Status;

/// The numbers compared month to month.
#[derive(Default)]
pub(super) struct Stats {
    pub runs: usize,
    pub jobs: BTreeSet<String>,
    pub terminals: BTreeSet<String>,
    pub changed: u64,
    pub failures: usize,
    pub recovered: usize,
    pub rotations: usize,
    pub unapproved: usize,
}

/// One password rotation of a run.
pub(super) struct Rotation {
    /// Journal time.
    pub time: String,
    pub terminal: String,
    pub account: String,
    /// Where the new password is kept (empty when only a step records it).
    pub secret: String,
    pub reason: Option<String>,
}

/// Rotations of a run: its rotation records, and changed `password` steps that have none.
pub(super) fn rotations(j: &Journal) -> Vec<Rotation> {
    let mut out: Vec<Rotation> = j
        .rotations()
        .map(|(line, r)| Rotation {
            time: line.time.clone(),
            terminal: r.terminal.clone(),
            account: r.account.clone(),
            secret: r.secret.clone(),
            reason: r.reason.clone(),
        })
        .collect();
    for (terminal, s) in j.steps() {
        let changed = s
            .result
            .as_ref()
            .is_some_and(|r| r.status == Status::Changed);
        if s.action.as_deref() == Some("password")
            && changed
            && !out.iter().any(|r| r.terminal == terminal)
        {
            out.push(Rotation {
                time: s.result.as_ref().map_or(s.time.clone(), |r| r.time.clone()),
                terminal: terminal.to_string(),
                account: s.change.clone().unwrap_or_default(),
                secret: String::new(),
                reason: Some(format!("{}/{}", s.job, s.task)),
            });
        }
    }
    out
}

/// The numbers of the runs `month`; recoveries are searched for in `all`.
pub(super) fn stats(month: &[&Journal], all: &[Journal]) -> Stats {
    let mut st = Stats {
        runs: month.len(),
        ..Stats::default()
    };
    for j in month {
        let id = j.run_id();
        if j.unapproved_reason().is_some() {
            st.unapproved += 1;
        }
        st.rotations += rotations(j).len();
        for (terminal, s) in j.steps() {
            st.jobs.insert(s.job.clone());
            // Worked on: something ran there (unreachable and skipped terminals were not).
            if s.result
                .as_ref()
                .is_some_and(|r| matches!(r.status, Status::Ok | Status::Changed | Status::Failed))
            {
                st.terminals.insert(terminal.to_string());
            }
            if s.result
                .as_ref()
                .is_some_and(|r| r.status == Status::Changed)
            {
                st.changed += 1;
            }
            if is_failure(s) {
                st.failures += 1;
                if journals::recovery(all, &id, terminal, s).is_some() {
                    st.recovered += 1;
                }
            }
        }
    }
    st
}

/// Files under `dir`, recursively.
pub(super) fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { count_files(&p) } else { 1 }
        })
        .sum()
}
