//! Reading a journal back as a run: per terminal, what ran, when, by whom, with what result.
//!
//! [`read_run`] is lenient (it skips lines it cannot read and notes them) because it answers
//! "what happened?", not "can this be trusted?"; that is [`super::verify()`]'s job, and
//! `seibi journal show` prints both. [`render_run`] lays a [`Run`] out for people, times in
//! Japan time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use super::record::{Line, OutputDigest, Record, RunEnd, RunStart, Status};
use crate::roster::japan_time_zone;

/// A run as read from its journal.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The journal file.
    pub path: PathBuf,
    /// The `run_start` record and its time.
    pub start: Option<(String, RunStart)>,
    /// The `run_end` record and its time.
    pub end: Option<(String, RunEnd)>,
    /// Operators named on the lines, in order of appearance.
    pub operators: Vec<String>,
    /// Steps per terminal, in journal order.
    pub terminals: BTreeMap<String, Vec<Step>>,
    /// Reveals, approvals, rotations and resumes.
    pub events: Vec<Event>,
    /// Number of checkpoint lines (not checked here).
    pub checkpoints: usize,
    /// Lines that could not be read.
    pub unreadable_lines: Vec<usize>,
    /// Whether the last line is torn.
    pub torn: bool,
}

impl Run {
    /// The run id, from `run_start`.
    pub fn run_id(&self) -> Option<&str> {
        self.start.as_ref().map(|(_, s)| s.run.as_str())
    }
}

/// One task on one terminal: its intent and its result.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Seq of the first line about it.
    pub seq: u64,
    /// Time of that line.
    pub time: String,
    /// Who ran it.
    pub operator: String,
    /// Job id.
    pub job: String,
    /// Task id.
    pub task: String,
    /// Action name, from the intent.
    pub action: Option<String>,
    /// What would change, from the intent.
    pub change: Option<String>,
    /// Host key fingerprint, from the intent.
    pub host_key: Option<String>,
    /// The result, if one was written.
    pub result: Option<StepResult>,
}

/// The result half of a [`Step`].
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Its seq.
    pub seq: u64,
    /// Its time.
    pub time: String,
    /// Outcome.
    pub status: Status,
    /// Whether something changed.
    pub changed: bool,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Error message.
    pub error: Option<String>,
    /// Output digests.
    pub stdout: OutputDigest,
    /// Error output digests.
    pub stderr: OutputDigest,
}

/// Something besides tasks: a reveal, approval, rotation or resume.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Its seq.
    pub seq: u64,
    /// Its time.
    pub time: String,
    /// Who.
    pub operator: String,
    /// Terminal, when it concerns one.
    pub terminal: Option<String>,
    /// What happened, in words.
    pub what: String,
}

/// Reads the journal at `path` as a run.
pub fn read_run(path: &Path) -> std::io::Result<Run> {
    let bytes = std::fs::read(path)?;
    let mut run = Run {
        path: path.to_path_buf(),
        start: None,
        end: None,
        operators: Vec::new(),
        terminals: BTreeMap::new(),
        events: Vec::new(),
        checkpoints: 0,
        unreadable_lines: Vec::new(),
        torn: false,
    };
    // Where each intent's step is, to attach its result.
    let mut intents: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    for (i, chunk) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let Some(content) = chunk.strip_suffix(b"\n") else {
            run.torn = true;
            continue;
        };
        let Ok(line) = serde_json::from_slice::<Line>(content) else {
            run.unreadable_lines.push(i + 1);
            continue;
        };
        if !run.operators.contains(&line.operator) {
            run.operators.push(line.operator.clone());
        }
        let event = |terminal: Option<String>, what: String| Event {
            seq: line.seq,
            time: line.time.clone(),
            operator: line.operator.clone(),
            terminal,
            what,
        };
        match line.record {
            Record::RunStart(s) => run.start = Some((line.time.clone(), s)),
            Record::RunEnd(e) => run.end = Some((line.time.clone(), e)),
            Record::Checkpoint(_) => run.checkpoints += 1,
            Record::Intent(intent) => {
                let steps = run.terminals.entry(intent.terminal.clone()).or_default();
                intents.insert(line.seq, (intent.terminal.clone(), steps.len()));
                steps.push(Step {
                    seq: line.seq,
                    time: line.time.clone(),
                    operator: line.operator.clone(),
                    job: intent.job,
                    task: intent.task,
                    action: Some(intent.action),
                    change: Some(intent.change),
                    host_key: Some(intent.host_key),
                    result: None,
                });
            }
            Record::Result(r) => {
                let result = StepResult {
                    seq: line.seq,
                    time: line.time.clone(),
                    status: r.status,
                    changed: r.changed,
                    duration_ms: r.duration_ms,
                    error: r.error,
                    stdout: r.stdout,
                    stderr: r.stderr,
                };
                let steps = run.terminals.entry(r.terminal.clone()).or_default();
                let by_intent = r
                    .intent
                    .and_then(|n| intents.get(&n))
                    .filter(|(t, _)| *t == r.terminal)
                    .map(|(_, idx)| *idx);
                let open = || {
                    steps
                        .iter()
                        .rposition(|s| s.result.is_none() && s.job == r.job && s.task == r.task)
                };
                match by_intent.or_else(open) {
                    Some(idx) if steps[idx].result.is_none() => steps[idx].result = Some(result),
                    _ => steps.push(Step {
                        seq: line.seq,
                        time: line.time.clone(),
                        operator: line.operator.clone(),
                        job: r.job,
                        task: r.task,
                        action: None,
                        change: None,
                        host_key: None,
                        result: Some(result),
                    }),
                }
            }
            Record::Reveal(r) => run.events.push(event(
                r.terminal.clone(),
                format!("revealed secret `{}`: {}", r.secret, r.reason),
            )),
            Record::Approval(a) => run.events.push(event(
                None,
                format!(
                    "plan {} approved by {}{}",
                    a.plan_digest,
                    a.approver,
                    a.reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
            )),
            Record::Rotation(r) => run.events.push(event(
                Some(r.terminal.clone()),
                format!(
                    "rotated the credential of `{}` (now in secret `{}`){}",
                    r.account,
                    r.secret,
                    r.reason.map(|x| format!(": {x}")).unwrap_or_default()
                ),
            )),
            Record::Resume(r) => run.events.push(event(None, r.note)),
            Record::OutsideWindow(w) => run.events.push(event(
                None,
                format!("working outside office hours: {}", w.reason),
            )),
            Record::LockTakeOver(t) => run.events.push(event(
                None,
                format!(
                    "took over the project lock left by run {} of {} on {} (pid {}, since {}), whose process had died",
                    t.previous.run,
                    t.previous.operator,
                    t.previous.host,
                    t.previous.pid,
                    t.previous.since
                ),
            )),
            Record::Seal(s) => run.events.push(event(
                None,
                format!("sealed by {}: {}", line.operator, s.note),
            )),
            Record::MediaScan(m) => run.events.push(event(
                Some(m.terminal.clone()),
                format!(
                    "media `{}` of {} scanned with {} ({}): {}",
                    m.artifact, m.job, m.scanner, m.version, m.result
                ),
            )),
            Record::WorkLog(w) => run.events.push(event(
                w.terminal.clone(),
                format!(
                    "work not on a machine ({}, {}, {} min): {}",
                    w.work.label(crate::language::Language::En),
                    w.date,
                    w.minutes,
                    w.summary
                ),
            )),
        }
    }
    Ok(run)
}

/// An instant from a journal line in Japan time (`2026-06-01 10:00:05`), or the text as is.
fn japan(time: &str) -> String {
    match time.parse::<Timestamp>() {
        Ok(t) => t
            .to_zoned(japan_time_zone().clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => time.to_string(),
    }
}

/// The time of day when on `day`, else the full date and time.
fn japan_short(time: &str, day: &str) -> String {
    let full = japan(time);
    match full.split_once(' ') {
        Some((d, t)) if d == day => t.to_string(),
        _ => full,
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

/// Lays out a run for people: header, one block per terminal, events. Times are Japan time.
pub fn render_run(run: &Run) -> String {
    let mut out = String::new();
    let day = run
        .start
        .as_ref()
        .map(|(t, _)| japan(t))
        .and_then(|t| t.split_once(' ').map(|(d, _)| d.to_string()))
        .unwrap_or_default();
    match &run.start {
        Some((time, s)) => {
            let _ = writeln!(
                out,
                "run {}  plan {}  seibi {} on {}",
                s.run, s.plan_digest, s.seibi_version, s.host
            );
            let _ = writeln!(
                out,
                "started {} JST by {}",
                japan(time),
                run.operators.join(", ")
            );
            if let Some(reason) = &s.unapproved_reason {
                let _ = writeln!(out, "UNAPPROVED: applied without prior approval: {reason}");
            }
        }
        None => {
            let _ = writeln!(out, "run ? (no run_start record)  {}", run.path.display());
        }
    }
    match &run.end {
        Some((time, e)) => {
            let _ = write!(out, "ended {} JST: {}", japan_short(time, &day), e.tally);
            if let Some(why) = &e.stopped {
                let _ = write!(out, " (stopped: {why})");
            }
            out.push('\n');
        }
        None => out.push_str("not finished (no run_end record)\n"),
    }
    let _ = writeln!(
        out,
        "{} checkpoints (check them with `seibi journal verify`)",
        run.checkpoints
    );
    for (terminal, steps) in &run.terminals {
        out.push('\n');
        let host_key = steps.iter().find_map(|s| s.host_key.as_deref());
        match host_key {
            Some(k) => {
                let _ = writeln!(out, "{terminal}  (host key {k})");
            }
            None => {
                let _ = writeln!(out, "{terminal}");
            }
        }
        for s in steps {
            let (status, took, err) = match &s.result {
                Some(r) => (
                    r.status.to_string(),
                    seconds(r.duration_ms),
                    r.error.clone().map(|e| format!("  error: {e}")),
                ),
                None => ("no result".to_string(), String::new(), None),
            };
            let _ = write!(
                out,
                "  {}  {}  {}/{}  {}  {}",
                japan_short(&s.time, &day),
                s.operator,
                s.job,
                s.task,
                s.action.as_deref().unwrap_or("-"),
                status
            );
            if !took.is_empty() {
                let _ = write!(out, "  {took}");
            }
            if let Some(change) = &s.change
                && !change.is_empty()
            {
                let _ = write!(out, "  ({change})");
            }
            if let Some(e) = err {
                out.push_str(&e);
            }
            out.push('\n');
        }
    }
    if !run.events.is_empty() {
        out.push_str("\nevents\n");
        for e in &run.events {
            let _ = write!(out, "  {}  {}  ", japan_short(&e.time, &day), e.operator);
            if let Some(t) = &e.terminal {
                let _ = write!(out, "{t}: ");
            }
            let _ = writeln!(out, "{}", e.what);
        }
    }
    if !run.unreadable_lines.is_empty() || run.torn {
        let lines: Vec<String> = run.unreadable_lines.iter().map(|l| l.to_string()).collect();
        let _ = writeln!(
            out,
            "\nwarning: {}{}; run `seibi journal verify`",
            if lines.is_empty() {
                String::new()
            } else {
                format!("unreadable lines {}", lines.join(", "))
            },
            if run.torn {
                if lines.is_empty() {
                    "torn last line"
                } else {
                    ", torn last line"
                }
            } else {
                ""
            }
        );
    }
    out
}
