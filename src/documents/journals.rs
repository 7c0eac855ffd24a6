//! Journals as the reports read them: every run of a `logs/` directory with its lines, and
//! where a failure was later put right.
//!
//! Reading is lenient, like [`crate::journal::read_run`]: a report says what the journal holds
//! and, separately, whether it verifies ([`crate::journal::verify()`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::words::verification_status;
use super::{Language, tr};
use crate::journal::{
    Approval, Line, Record, Rotation, Run, Status, Step, VerifyReport, read_run, verify,
};
use crate::roster::Roster;

/// One journal, read.
pub(crate) struct Journal {
    /// The file.
    pub path: PathBuf,
    /// Steps per terminal, start and end.
    pub run: Run,
    /// Every line that could be read, in file order.
    pub lines: Vec<Line>,
}

impl Journal {
    /// The run id (from `run_start`, else the file name).
    pub fn run_id(&self) -> String {
        self.run.run_id().map(str::to_string).unwrap_or_else(|| {
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    /// When the run started.
    pub fn start(&self) -> Option<Timestamp> {
        self.run.start.as_ref().and_then(|(t, _)| t.parse().ok())
    }

    /// The reason given for applying without approval, if the run was unapproved.
    pub fn unapproved_reason(&self) -> Option<&str> {
        self.run
            .start
            .as_ref()
            .and_then(|(_, s)| s.unapproved_reason.as_deref())
    }

    /// Approval records, with their line.
    pub fn approvals(&self) -> impl Iterator<Item = (&Line, &Approval)> {
        self.lines.iter().filter_map(|l| match &l.record {
            Record::Approval(a) => Some((l, a)),
            _ => None,
        })
    }

    /// Rotation records, with their line.
    pub fn rotations(&self) -> impl Iterator<Item = (&Line, &Rotation)> {
        self.lines.iter().filter_map(|l| match &l.record {
            Record::Rotation(r) => Some((l, r)),
            _ => None,
        })
    }

    /// Every step with its terminal, in time order.
    pub fn steps(&self) -> Vec<(&str, &Step)> {
        let mut all: Vec<(&str, &Step)> = self
            .run
            .terminals
            .iter()
            .flat_map(|(t, steps)| steps.iter().map(move |s| (t.as_str(), s)))
            .collect();
        all.sort_by_key(|(_, s)| s.seq);
        all
    }
}

/// Whether a step went wrong: failed, unreachable, or no result (the run was interrupted).
pub(crate) fn is_failure(step: &Step) -> bool {
    match &step.result {
        Some(r) => matches!(
            r.status,
            Status::Failed | Status::Unreachable | Status::Interrupted
        ),
        None => true,
    }
}

/// Reads one journal.
pub(crate) fn read(path: &Path) -> std::io::Result<Journal> {
    let run = read_run(path)?;
    let bytes = std::fs::read(path)?;
    let lines = bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Line>(l).ok())
        .collect();
    Ok(Journal {
        path: path.to_path_buf(),
        run,
        lines,
    })
}

/// Every journal (`*.jsonl`) in `dir`, oldest run first; a missing directory has none.
pub(crate) fn read_dir(dir: &Path) -> std::io::Result<Vec<Journal>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(crate::journal::EXTENSION)
            && path.is_file()
        {
            out.push(read(&path)?);
        }
    }
    out.sort_by(|a, b| (a.start(), &a.path).cmp(&(b.start(), &b.path)));
    Ok(out)
}

/// Where a failed step was put right: a later ok or changed result for the same terminal, job
/// and task.
pub(crate) struct Recovery {
    /// Time of that result (journal form).
    pub time: String,
    /// The run it is in.
    pub run: String,
    /// Whether it is the same run (resumed), rather than a new one.
    pub same_run: bool,
}

/// The first result after `after` that succeeded for (`terminal`, `job`, `task`), in any of
/// `journals`. `run` is the failed step's run.
pub(crate) fn recovery(
    journals: &[Journal],
    run: &str,
    terminal: &str,
    step: &Step,
) -> Option<Recovery> {
    let after: Timestamp = step
        .result
        .as_ref()
        .map_or(step.time.as_str(), |r| r.time.as_str())
        .parse()
        .ok()?;
    let mut best: Option<(Timestamp, Recovery)> = None;
    for journal in journals {
        for s in journal.run.terminals.get(terminal).into_iter().flatten() {
            if s.job != step.job || s.task != step.task {
                continue;
            }
            let Some(r) = &s.result else { continue };
            if !matches!(r.status, Status::Ok | Status::Changed) {
                continue;
            }
            let Ok(at) = r.time.parse::<Timestamp>() else {
                continue;
            };
            if at <= after || best.as_ref().is_some_and(|(b, _)| *b <= at) {
                continue;
            }
            let id = journal.run_id();
            best = Some((
                at,
                Recovery {
                    time: r.time.clone(),
                    same_run: id == run,
                    run: id,
                },
            ));
        }
    }
    best.map(|(_, r)| r)
}

/// Journals verified against the roster ([`crate::journal::verify()`] reads each file again),
/// once, by a document's builder: its sections then read nothing.
pub(crate) struct Verifications(BTreeMap<PathBuf, VerifyReport>);

impl Verifications {
    /// Verifies every journal of `journals`.
    pub fn of<'a>(journals: impl IntoIterator<Item = &'a Journal>, roster: &Roster) -> Self {
        Self(
            journals
                .into_iter()
                .map(|j| (j.path.clone(), verify(&j.path, roster)))
                .collect(),
        )
    }

    /// The verification of `journal` (`None`: it was not among those verified).
    pub fn report(&self, journal: &Journal) -> Option<&VerifyReport> {
        self.0.get(&journal.path)
    }

    /// The verification of `journal` in one word (or the number of problems).
    pub fn status(&self, journal: &Journal, lang: Language) -> String {
        self.report(journal).map_or_else(
            || tr(lang, "未検証", "not verified"),
            |r| verification_status(r, lang),
        )
    }

    /// How many of `journals` do not verify.
    pub fn failing<'a>(&self, journals: impl IntoIterator<Item = &'a Journal>) -> usize {
        journals
            .into_iter()
            .filter(|j| self.report(j).is_none_or(|r| !r.is_ok()))
            .count()
    }
}
