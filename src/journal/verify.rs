//! Checking a journal: the hash chain, the checkpoint signatures, and the roster.
//!
//! [`verify`] reads a journal and returns a [`VerifyReport`] naming every problem precisely,
//! for people ([`std::fmt::Display`]) and machines ([`VerifyReport::to_json`]).
//!
//! # How problems are told apart
//! Lines are parsed in file order; each complete line's SHA-256 is taken over its bytes.
//! * A `seq` lower than one already seen: **reordered**. Records are then linked in `seq`
//!   order, so two swapped lines are reported once, as a reordering, not as broken links.
//! * A `seq` seen twice: the copy whose hash the chain continues from is kept, the other is an
//!   **inserted** record.
//! * A `seq` missing between two present ones: **deleted** (unless an unreadable line sits
//!   there, which is reported as **malformed**).
//! * A record whose hash is not the next record's `prev`: **modified**.
//! * A last line without a newline: **torn tail**.
//! * Each checkpoint must name its own run, cover the line just before it, carry a valid SSHSIG
//!   signature in the journal namespace over the message rebuilt from its fields, by a key on
//!   the roster, of an operator, valid on the checkpoint's day; otherwise it is a **bad
//!   signature**, a **checkpoint mismatch**, or a signature **not on the roster**, **expired**,
//!   **not yet valid**, **not an operator**.
//! * A valid checkpoint vouches for the records before it as far back as the chain links hold.
//!   Records no valid checkpoint vouches for are **unsigned** (after the last valid checkpoint:
//!   an **unsigned tail**). A record chain rebuilt by a forger (recomputed `prev` hashes) shows
//!   up here: it links, but no trusted signature covers it.
//! * No `run_end`: **unfinished** (still running, crashed, or its end was cut off).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::record::{Line, Record, checkpoint_message};
use super::{GENESIS, line_hash};
use crate::roster::{JOURNAL_NAMESPACE, Role, Roster, RosterError, Signature};

/// One thing wrong with a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The file could not be read.
    Unreadable {
        /// The I/O error.
        error: String,
    },
    /// The file holds no records.
    Empty,
    /// A line that is not a journal record.
    Malformed {
        /// Line number, from 1.
        line: usize,
        /// What the parser said.
        error: String,
    },
    /// The last line has no newline.
    TornTail {
        /// Line number.
        line: usize,
        /// Byte offset where it starts.
        offset: u64,
        /// Its length.
        bytes: u64,
    },
    /// A record's hash does not match the next record's `prev`.
    Modified {
        /// The record's seq.
        seq: u64,
        /// Its line.
        line: usize,
    },
    /// Records missing from the chain.
    Deleted {
        /// First missing seq.
        from: u64,
        /// Last missing seq.
        to: u64,
    },
    /// A second record with a seq already present.
    Inserted {
        /// The seq.
        seq: u64,
        /// The inserted line.
        line: usize,
        /// The line the chain continues from.
        original_line: usize,
    },
    /// A record after one with a higher seq.
    Reordered {
        /// The record's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// The highest seq on an earlier line.
        after_seq: u64,
    },
    /// Seq 1 does not start the chain (`prev` is not 64 zeros).
    BadStart {
        /// Its line.
        line: usize,
    },
    /// The first record is not `run_start`.
    NoRunStart {
        /// The first line's kind.
        kind: String,
    },
    /// A checkpoint whose fields do not match the chain or the run.
    CheckpointMismatch {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// What does not match.
        detail: String,
    },
    /// A signature that does not verify.
    BadSignature {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// Signed by a key not on the roster.
    SignerNotOnRoster {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// Signed after the signer's roster entry ended.
    SignerExpired {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// Roster id.
        person: String,
        /// Last valid day.
        until: Date,
        /// Day of the signature (Japan time).
        on: Date,
    },
    /// Signed before the signer's roster entry started.
    SignerNotYetValid {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// Roster id.
        person: String,
        /// First valid day.
        from: Date,
        /// Day of the signature (Japan time).
        on: Date,
    },
    /// Signed by a roster person who is not an operator.
    SignerNotOperator {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// Roster id.
        person: String,
        /// Their role.
        role: Role,
    },
    /// Signed by a roster operator other than the one the line names.
    SignerMismatch {
        /// The checkpoint's seq.
        seq: u64,
        /// Its line.
        line: usize,
        /// Roster id of the key's owner.
        signer: String,
        /// The line's `operator`.
        operator: String,
    },
    /// Records no valid checkpoint vouches for, followed by signed ones.
    Unsigned {
        /// First seq.
        from: u64,
        /// Last seq.
        to: u64,
    },
    /// Records after the last valid checkpoint.
    UnsignedTail {
        /// First seq.
        from: u64,
        /// Last seq.
        to: u64,
    },
    /// No `run_end` record.
    Unfinished,
}

fn seqs(from: u64, to: u64) -> String {
    if from == to {
        format!("seq {from}")
    } else {
        format!("seq {from}-{to}")
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable { error } => write!(f, "cannot read the journal: {error}"),
            Problem::Empty => write!(f, "the journal is empty"),
            Problem::Malformed { line, error } => {
                write!(f, "line {line}: not a journal record ({error})")
            }
            Problem::TornTail {
                line,
                offset,
                bytes,
            } => write!(
                f,
                "line {line}: torn tail: the last {bytes} bytes (from byte {offset}) have no newline; the write was cut short by a crash, or the file was truncated"
            ),
            Problem::Modified { seq, line } => write!(
                f,
                "seq {seq} (line {line}): modified record: its SHA-256 does not match `prev` of seq {}",
                seq + 1
            ),
            Problem::Deleted { from, to } => write!(
                f,
                "{}: deleted record{}: missing between seq {} and seq {}",
                seqs(*from, *to),
                if from == to { "" } else { "s" },
                from.saturating_sub(1),
                to + 1
            ),
            Problem::Inserted {
                seq,
                line,
                original_line,
            } => write!(
                f,
                "seq {seq} (line {line}): inserted record: seq {seq} is already on line {original_line}, and the chain continues from that one"
            ),
            Problem::Reordered {
                seq,
                line,
                after_seq,
            } => write!(
                f,
                "seq {seq} (line {line}): reordered records: seq {seq} comes after seq {after_seq}"
            ),
            Problem::BadStart { line } => write!(
                f,
                "seq 1 (line {line}): `prev` is not 64 zeros; records before it were removed, or it is forged"
            ),
            Problem::NoRunStart { kind } => {
                write!(f, "seq 1: the first record is `{kind}`, not `run_start`")
            }
            Problem::CheckpointMismatch { seq, line, detail } => write!(
                f,
                "seq {seq} (line {line}): checkpoint does not match the chain: {detail}"
            ),
            Problem::BadSignature { seq, line, reason } => {
                write!(
                    f,
                    "seq {seq} (line {line}): bad checkpoint signature: {reason}"
                )
            }
            Problem::SignerNotOnRoster {
                seq,
                line,
                fingerprint,
            } => write!(
                f,
                "seq {seq} (line {line}): checkpoint signed by key {fingerprint}, which is not on the roster"
            ),
            Problem::SignerExpired {
                seq,
                line,
                person,
                until,
                on,
            } => write!(
                f,
                "seq {seq} (line {line}): checkpoint signed by {person} on {on}, but their roster entry ended on {until} (expired key)"
            ),
            Problem::SignerNotYetValid {
                seq,
                line,
                person,
                from,
                on,
            } => write!(
                f,
                "seq {seq} (line {line}): checkpoint signed by {person} on {on}, but their roster entry starts on {from} (key not yet valid)"
            ),
            Problem::SignerNotOperator {
                seq,
                line,
                person,
                role,
            } => write!(
                f,
                "seq {seq} (line {line}): checkpoint signed by {person}, who is on the roster as {role}, not as an operator"
            ),
            Problem::SignerMismatch {
                seq,
                line,
                signer,
                operator,
            } => write!(
                f,
                "seq {seq} (line {line}): checkpoint signed by {signer}, but the line names operator `{operator}`"
            ),
            Problem::Unsigned { from, to } => write!(
                f,
                "{}: not covered by any valid checkpoint signature",
                seqs(*from, *to)
            ),
            Problem::UnsignedTail { from, to } => write!(
                f,
                "{}: unsigned tail: written after the last valid checkpoint (the run stopped before its next checkpoint, or the records were added later)",
                seqs(*from, *to)
            ),
            Problem::Unfinished => write!(
                f,
                "no run_end record: the run is still going, stopped without finishing, or the end of the journal was removed"
            ),
        }
    }
}

/// The outcome of verifying one journal.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The file.
    pub path: PathBuf,
    /// The run id from `run_start`.
    pub run_id: Option<String>,
    /// Complete lines read.
    pub records: usize,
    /// Checkpoints that verified.
    pub valid_checkpoints: usize,
    /// The highest seq a valid checkpoint vouches for.
    pub signed_through: Option<u64>,
    /// Roster ids of the people whose valid signatures were found.
    pub signers: Vec<String>,
    /// Whether the run has a `run_end` record.
    pub finished: bool,
    /// SHA-256 of the last complete line (the chain head), if any: worth keeping outside the
    /// operator's reach.
    pub head: Option<String>,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
    /// Late seals: an operator signed the tail of a run that died (`seibi journal seal`).
    pub seals: Vec<LateSeal>,
}

/// A late seal found in a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateSeal {
    /// The `seal` record's seq.
    pub seq: u64,
    /// Who sealed (the line's operator).
    pub operator: String,
    /// When.
    pub time: String,
    /// What it says.
    pub note: String,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report as JSON: fields plus `ok`, and each problem with its `problem` kind, its
    /// fields and a `message` for people.
    pub fn to_json(&self) -> serde_json::Value {
        let problems: Vec<serde_json::Value> = self
            .problems
            .iter()
            .map(|p| {
                let mut v = serde_json::to_value(p).unwrap_or(serde_json::Value::Null);
                if let Some(map) = v.as_object_mut() {
                    map.insert("message".into(), p.to_string().into());
                }
                v
            })
            .collect();
        serde_json::json!({
            "path": self.path.display().to_string(),
            "ok": self.is_ok(),
            "run": self.run_id,
            "records": self.records,
            "valid_checkpoints": self.valid_checkpoints,
            "signed_through": self.signed_through,
            "signers": self.signers,
            "finished": self.finished,
            "head": self.head,
            "problems": problems,
            "seals": self.seals,
        })
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = self.run_id.as_deref().unwrap_or("?");
        if self.is_ok() {
            writeln!(
                f,
                "{}: ok: run {run}, {} records, {} checkpoints signed by {}, head {}",
                self.path.display(),
                self.records,
                self.valid_checkpoints,
                self.signers.join(", "),
                self.head.as_deref().unwrap_or("-")
            )?;
            for seal in &self.seals {
                writeln!(
                    f,
                    "  sealed late by {} at {} (seq {}): {}",
                    seal.operator, seal.time, seal.seq, seal.note
                )?;
            }
            Ok(())
        } else {
            writeln!(
                f,
                "{}: {} problem{}: run {run}, {} records, {} valid checkpoints{}",
                self.path.display(),
                self.problems.len(),
                if self.problems.len() == 1 { "" } else { "s" },
                self.records,
                self.valid_checkpoints,
                match self.signed_through {
                    Some(s) => format!(", signed through seq {s}"),
                    None => String::new(),
                }
            )?;
            for p in &self.problems {
                writeln!(f, "  - {p}")?;
            }
            Ok(())
        }
    }
}

/// Verifies the journal at `path` against `roster`.
pub fn verify(path: &Path, roster: &Roster) -> VerifyReport {
    match std::fs::read(path) {
        Ok(bytes) => analyse(path, &bytes, Some(roster)).0,
        Err(err) => VerifyReport {
            path: path.to_path_buf(),
            run_id: None,
            records: 0,
            valid_checkpoints: 0,
            signed_through: None,
            signers: Vec::new(),
            finished: false,
            head: None,
            problems: vec![Problem::Unreadable {
                error: err.to_string(),
            }],
            seals: Vec::new(),
        },
    }
}

/// The end of the chain, for resuming.
#[derive(Debug, Clone)]
pub(crate) struct ChainTail {
    /// The highest seq present.
    pub last_seq: Option<u64>,
    /// The hash of that line.
    pub head: String,
    /// The torn last line, if any.
    pub torn: Option<Torn>,
}

/// A torn last line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Torn {
    pub line: usize,
    pub offset: u64,
}

/// Seqs above this are malformed (so `seq + 1` never overflows and JSON readers that use
/// doubles read every seq exactly).
const MAX_SEQ: u64 = (1 << 53) - 1;

/// How far a checkpoint's time may lag the record it signs (a system clock stepped back).
const CLOCK_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// The fields every line has, read on their own so that a line with a bad body still takes its
/// place in the chain.
#[derive(Deserialize)]
struct Envelope {
    seq: u64,
    prev: String,
    time: String,
    operator: String,
}

struct Entry {
    line: usize,
    hash: String,
    envelope: Option<Envelope>,
    record: Option<Record>,
    /// Whether the line is exactly what its parsed record serializes to. Only the chain's
    /// hashes cover a line's bytes, and nothing hashes the last line (normally the final
    /// checkpoint): a checkpoint line must therefore hold nothing its signature does not cover.
    canonical: bool,
}

/// Analyses a journal's bytes. Without a roster, signatures are checked cryptographically only
/// (for resume, which must not depend on the roster being at hand).
pub(crate) fn analyse(
    path: &Path,
    bytes: &[u8],
    roster: Option<&Roster>,
) -> (VerifyReport, ChainTail) {
    let mut chain = Chain::parse(bytes);
    chain.choose_lines();
    chain.find_gaps();
    let linked = chain.check_links();
    let run_id = chain.run_id();
    let finished = chain
        .chosen
        .values()
        .any(|&i| matches!(chain.entries[i].record, Some(Record::RunEnd(_))));
    let (valid, signers) = chain.check_checkpoints(run_id.as_deref(), roster);
    let covered = chain.coverage(&linked, &valid);
    if !finished && !chain.entries.is_empty() {
        chain.problems.push(Problem::Unfinished);
    }
    let Chain {
        entries,
        torn,
        chosen,
        problems,
        ..
    } = chain;
    let last = chosen.iter().next_back();
    let tail = ChainTail {
        last_seq: last.map(|(&s, _)| s),
        head: last.map_or_else(|| GENESIS.to_string(), |(_, &i)| entries[i].hash.clone()),
        torn,
    };
    let report = VerifyReport {
        path: path.to_path_buf(),
        run_id,
        records: entries.len(),
        valid_checkpoints: valid.len(),
        signed_through: covered.iter().next_back().copied(),
        signers,
        finished,
        head: last.map(|(_, &i)| entries[i].hash.clone()),
        problems,
        seals: chosen
            .iter()
            .filter_map(
                |(&seq, &i)| match (&entries[i].record, &entries[i].envelope) {
                    (Some(Record::Seal(seal)), Some(env)) => Some(LateSeal {
                        seq,
                        operator: env.operator.clone(),
                        time: env.time.clone(),
                        note: seal.note.clone(),
                    }),
                    _ => None,
                },
            )
            .collect(),
    };
    (report, tail)
}

/// A journal's lines on their way through the checks, one method per check, in order: parse,
/// choose one line per seq, gaps, links, the run, checkpoints, coverage.
struct Chain {
    entries: Vec<Entry>,
    torn: Option<Torn>,
    /// Every line index holding each seq.
    by_seq: BTreeMap<u64, Vec<usize>>,
    /// The line index chosen for each seq.
    chosen: BTreeMap<u64, usize>,
    problems: Vec<Problem>,
}

impl Chain {
    /// Reads the lines: complete ones become entries, a last line without a newline is torn.
    fn parse(bytes: &[u8]) -> Chain {
        let mut problems = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut torn = None;
        let mut offset = 0u64;
        for (i, chunk) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
            let line = i + 1;
            match chunk.strip_suffix(b"\n") {
                Some(content) => {
                    let envelope = serde_json::from_slice::<Envelope>(content)
                        .ok()
                        .filter(|e| (1..=MAX_SEQ).contains(&e.seq));
                    let mut canonical = true;
                    let record = match serde_json::from_slice::<Line>(content) {
                        Ok(l) if envelope.is_none() => {
                            problems.push(Problem::Malformed {
                                line,
                                error: format!("seq {} is out of range (1 to {MAX_SEQ})", l.seq),
                            });
                            None
                        }
                        Ok(l) => {
                            if matches!(l.record, Record::Checkpoint(_)) {
                                canonical = serde_json::to_vec(&l).is_ok_and(|b| b == content);
                            }
                            Some(l.record)
                        }
                        Err(err) => {
                            problems.push(Problem::Malformed {
                                line,
                                error: err.to_string(),
                            });
                            None
                        }
                    };
                    entries.push(Entry {
                        line,
                        hash: line_hash(content),
                        envelope,
                        record,
                        canonical,
                    });
                }
                None => {
                    torn = Some(Torn { line, offset });
                    problems.push(Problem::TornTail {
                        line,
                        offset,
                        bytes: chunk.len() as u64,
                    });
                }
            }
            offset += chunk.len() as u64;
        }
        if entries.is_empty() && torn.is_none() {
            problems.push(Problem::Empty);
        }
        Chain {
            entries,
            torn,
            by_seq: BTreeMap::new(),
            chosen: BTreeMap::new(),
            problems,
        }
    }

    fn prev_of(&self, i: usize) -> Option<&str> {
        self.entries[i].envelope.as_ref().map(|e| e.prev.as_str())
    }

    /// Order in the file and every line holding each seq (reordered lines), then one line per
    /// seq, lowest seq first so each pick can look at the previous one (inserted lines).
    fn choose_lines(&mut self) {
        let entries = &self.entries;
        let problems = &mut self.problems;
        let mut by_seq: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        let mut max_seen: Option<u64> = None;
        for (i, e) in entries.iter().enumerate() {
            let Some(env) = &e.envelope else { continue };
            if let Some(copies) = by_seq.get_mut(&env.seq) {
                copies.push(i);
                continue;
            }
            if let Some(m) = max_seen
                && env.seq < m
            {
                problems.push(Problem::Reordered {
                    seq: env.seq,
                    line: e.line,
                    after_seq: m,
                });
            }
            max_seen = Some(max_seen.map_or(env.seq, |m| m.max(env.seq)));
            by_seq.insert(env.seq, vec![i]);
        }

        self.by_seq = by_seq;
        let by_seq = &self.by_seq;
        let prev_of = |i: usize| entries[i].envelope.as_ref().map(|e| e.prev.as_str());
        let mut chosen: BTreeMap<u64, usize> = BTreeMap::new();
        for (&seq, copies) in by_seq {
            let pick = if copies.len() == 1 {
                copies[0]
            } else {
                let back_hash: Option<&str> = if seq == 1 {
                    Some(GENESIS)
                } else {
                    chosen.get(&(seq - 1)).map(|&j| entries[j].hash.as_str())
                };
                let next: Vec<usize> = by_seq.get(&(seq + 1)).cloned().unwrap_or_default();
                let score = |i: usize| {
                    let fwd = next
                        .iter()
                        .any(|&n| prev_of(n) == Some(entries[i].hash.as_str()));
                    let back = back_hash.is_some() && prev_of(i) == back_hash;
                    u8::from(fwd) * 2 + u8::from(back)
                };
                // The first line with the best score; `max_by_key` would keep the last.
                let best = copies.iter().map(|&i| score(i)).max().unwrap_or(0);
                let pick = copies
                    .iter()
                    .copied()
                    .find(|&i| score(i) == best)
                    .unwrap_or(copies[0]);
                for &i in copies.iter().filter(|&&i| i != pick) {
                    problems.push(Problem::Inserted {
                        seq,
                        line: entries[i].line,
                        original_line: entries[pick].line,
                    });
                }
                pick
            };
            chosen.insert(seq, pick);
        }

        self.chosen = chosen;
    }

    /// Seqs missing between present ones, unless an unreadable line stands there.
    fn find_gaps(&mut self) {
        let (entries, chosen, problems) = (&self.entries, &self.chosen, &mut self.problems);
        let unreadable_lines: Vec<usize> = entries
            .iter()
            .filter(|e| e.envelope.is_none())
            .map(|e| e.line)
            .collect();
        let mut expected = 1u64;
        let mut previous_line = 0usize;
        for (&seq, &i) in chosen {
            if seq > expected {
                let here = entries[i].line;
                let explained = unreadable_lines
                    .iter()
                    .any(|&l| l > previous_line.min(here) && l < previous_line.max(here));
                if !explained {
                    problems.push(Problem::Deleted {
                        from: expected,
                        to: seq - 1,
                    });
                }
            }
            expected = seq + 1;
            previous_line = entries[i].line;
        }
    }

    /// The seqs whose `prev` matches the hash of seq - 1 (or the genesis for seq 1).
    fn check_links(&mut self) -> BTreeSet<u64> {
        let mut linked: BTreeSet<u64> = BTreeSet::new(); // seqs whose `prev` matches seq-1's hash
        for (&seq, &i) in &self.chosen {
            let prev = self.prev_of(i).unwrap_or_default();
            if seq == 1 {
                if prev == GENESIS {
                    linked.insert(seq);
                } else {
                    self.problems.push(Problem::BadStart {
                        line: self.entries[i].line,
                    });
                }
            } else if let Some(&j) = self.chosen.get(&(seq - 1)) {
                if prev == self.entries[j].hash {
                    linked.insert(seq);
                } else {
                    self.problems.push(Problem::Modified {
                        seq: seq - 1,
                        line: self.entries[j].line,
                    });
                }
            }
        }

        linked
    }

    /// The run id from `run_start` on line 1.
    fn run_id(&mut self) -> Option<String> {
        match self
            .chosen
            .get(&1)
            .and_then(|&i| self.entries[i].record.as_ref())
        {
            Some(Record::RunStart(start)) => Some(start.run.clone()),
            Some(other) => {
                self.problems.push(Problem::NoRunStart {
                    kind: other.kind().to_string(),
                });
                None
            }
            None => None,
        }
    }

    /// Every checkpoint: the seqs of the valid ones, and who signed them (roster ids).
    fn check_checkpoints(
        &mut self,
        run_id: Option<&str>,
        roster: Option<&Roster>,
    ) -> (Vec<u64>, Vec<String>) {
        let mut valid: Vec<u64> = Vec::new();
        let mut signers: Vec<String> = Vec::new();
        let seqs: Vec<(u64, usize)> = self.chosen.iter().map(|(&s, &i)| (s, i)).collect();
        for (seq, i) in seqs {
            if let Some(signer) = self.check_checkpoint(seq, i, run_id, roster) {
                valid.push(seq);
                if let Some(id) = signer
                    && !signers.contains(&id)
                {
                    signers.push(id);
                }
            }
        }
        (valid, signers)
    }

    /// One checkpoint (if line `i`, seq `seq`, is one): `Some` when it is valid, with its
    /// signer's roster id when a roster was given.
    fn check_checkpoint(
        &mut self,
        seq: u64,
        i: usize,
        run_id: Option<&str>,
        roster: Option<&Roster>,
    ) -> Option<Option<String>> {
        let entries = &self.entries;
        let (Some(Record::Checkpoint(cp)), Some(env)) = (&entries[i].record, &entries[i].envelope)
        else {
            return None;
        };
        let problems = &mut self.problems;
        let chosen = &self.chosen;
        let line = entries[i].line;
        let mut mismatches = Vec::new();
        if Some(cp.run.as_str()) != run_id {
            mismatches.push(format!(
                "it names run `{}`, the journal is run `{}`",
                cp.run,
                run_id.unwrap_or("?")
            ));
        }
        if cp.covers.checked_add(1) != Some(seq) {
            mismatches.push(format!(
                "it signs seq {}, but it is seq {seq} and must sign seq {}",
                cp.covers,
                seq - 1
            ));
        }
        if cp.head != env.prev {
            mismatches.push(format!(
                "it signs head {}, but its `prev` is {}",
                short(&cp.head),
                short(&env.prev)
            ));
        }
        if !entries[i].canonical {
            mismatches.push(
                "its line holds bytes its signature does not cover (fields added, removed or written in another form)"
                    .to_string(),
            );
        }
        let time = env.time.parse::<Timestamp>();
        match &time {
            Err(_) => mismatches.push(format!(
                "its time `{}` is not an RFC 3339 instant",
                env.time
            )),
            Ok(at) => {
                // SSHSIG carries no trusted time, so the signed `time` is the signer's word. It
                // must at least not precede what it signs (allowing for a clock step): that
                // stops a key outside its validity from signing today's records as of a day
                // it was valid.
                let signed_time = chosen
                    .get(&(seq - 1))
                    .and_then(|&j| entries[j].envelope.as_ref())
                    .and_then(|e| e.time.parse::<Timestamp>().ok());
                if let Some(signed_time) = signed_time
                    && at
                        .saturating_add(CLOCK_SLACK)
                        .is_ok_and(|t| t < signed_time)
                {
                    mismatches.push(format!(
                        "its time {} is before the time {} of the record it signs",
                        env.time, signed_time
                    ));
                }
            }
        }
        if !mismatches.is_empty() {
            problems.push(Problem::CheckpointMismatch {
                seq,
                line,
                detail: mismatches.join("; "),
            });
        }
        let message = checkpoint_message(&cp.run, cp.covers, &cp.head, &env.time);
        let signature = match Signature::from_armored(&cp.signature) {
            Ok(s) => s,
            Err(err) => {
                problems.push(Problem::BadSignature {
                    seq,
                    line,
                    reason: err.to_string(),
                });
                return None;
            }
        };
        if let Err(err) = signature.verify(JOURNAL_NAMESPACE, message.as_bytes()) {
            problems.push(Problem::BadSignature {
                seq,
                line,
                reason: err.to_string(),
            });
            return None;
        }
        let signing_key = signature.public_key().fingerprint();
        if cp.key != signing_key {
            let detail = format!(
                "its key label `{}` is not the fingerprint of the key that signed it ({signing_key})",
                cp.key
            );
            problems.push(Problem::CheckpointMismatch { seq, line, detail });
            return None;
        }
        let mut ok = mismatches.is_empty();
        let mut signer = None;
        if let (Some(roster), Ok(at)) = (roster, time) {
            match roster.authorize_operator(signature.public_key(), at) {
                Ok(person) => {
                    if person.id != env.operator {
                        problems.push(Problem::SignerMismatch {
                            seq,
                            line,
                            signer: person.id.clone(),
                            operator: env.operator.clone(),
                        });
                    }
                    signer = Some(person.id.clone());
                }
                Err(err) => {
                    ok = false;
                    problems.push(roster_problem(err, seq, line));
                }
            }
        }
        ok.then_some(signer)
    }

    /// Coverage: a valid checkpoint vouches for itself and back along intact links; what no
    /// valid checkpoint covers is unsigned (after the last one: an unsigned tail).
    fn coverage(&mut self, linked: &BTreeSet<u64>, valid: &[u64]) -> BTreeSet<u64> {
        let (chosen, problems) = (&self.chosen, &mut self.problems);
        let mut covered: BTreeSet<u64> = BTreeSet::new();
        for &c in valid.iter().rev() {
            covered.insert(c);
            let mut s = c;
            while s > 1 && linked.contains(&s) && covered.insert(s - 1) {
                s -= 1;
            }
        }
        let last_valid = valid.last().copied();
        let mut run: Option<(u64, u64)> = None;
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for &seq in chosen.keys() {
            if covered.contains(&seq) {
                if let Some(r) = run.take() {
                    ranges.push(r);
                }
            } else {
                run = match run {
                    Some((from, _)) => Some((from, seq)),
                    None => Some((seq, seq)),
                };
            }
        }
        if let Some(r) = run {
            ranges.push(r);
        }
        for (from, to) in ranges {
            if last_valid.is_none_or(|v| from > v) {
                problems.push(Problem::UnsignedTail { from, to });
            } else {
                problems.push(Problem::Unsigned { from, to });
            }
        }
        covered
    }
}

/// The problem a checkpoint's signer has with the roster.
fn roster_problem(err: RosterError, seq: u64, line: usize) -> Problem {
    match err {
        RosterError::NotOnRoster { fingerprint, .. } => Problem::SignerNotOnRoster {
            seq,
            line,
            fingerprint,
        },
        RosterError::Expired { id, until, on, .. } => Problem::SignerExpired {
            seq,
            line,
            person: id,
            until,
            on,
        },
        RosterError::NotYetValid { id, from, on, .. } => Problem::SignerNotYetValid {
            seq,
            line,
            person: id,
            from,
            on,
        },
        RosterError::NotAnOperator { id, role, .. }
        | RosterError::NotAnApprover { id, role, .. } => Problem::SignerNotOperator {
            seq,
            line,
            person: id,
            role,
        },
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect::<String>() + "…"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(bytes: &[u8]) -> Vec<Problem> {
        analyse(Path::new("t.jsonl"), bytes, None).0.problems
    }

    fn line(seq: u64, prev: &str, rest: &str) -> String {
        format!(
            r#"{{"seq":{seq},"prev":"{prev}","time":"2026-06-01T00:00:00.000Z","operator":"a",{rest}}}"#
        )
    }

    const START: &str =
        r#""kind":"run_start","run":"r","plan_digest":"d","seibi_version":"0","host":"h""#;

    #[test]
    fn empty_and_blank_files() {
        assert_eq!(problems(b""), [Problem::Empty]);
        let p = problems(b"\n");
        assert!(matches!(p[0], Problem::Malformed { line: 1, .. }), "{p:?}");
        assert_eq!(p[1..], [Problem::Unfinished]);
    }

    #[test]
    fn hostile_lines_are_malformed_not_panics() {
        let first = line(1, GENESIS, START);
        let h1 = line_hash(first.as_bytes());
        let lines = [
            first,
            line(
                0,
                &h1,
                r#""kind":"run_end","tally":{"ok":0,"changed":0,"failed":0,"skipped":0,"unreachable":0}"#,
            ),
            line(
                u64::MAX,
                &h1,
                r#""kind":"run_end","tally":{"ok":0,"changed":0,"failed":0,"skipped":0,"unreachable":0}"#,
            ),
            line(
                2,
                &h1,
                &format!(
                    r#""kind":"checkpoint","run":"r","covers":{},"head":"{h1}","key":"k","signature":"x""#,
                    u64::MAX
                ),
            ),
            "[1,2]".to_string(),
            String::from_utf8_lossy(b"{\"seq\":\xff}").into_owned(),
        ];
        let mut bytes = lines.join("\n").into_bytes();
        bytes.extend_from_slice(b"\n\xff\xfe\n");
        let p = problems(&bytes);
        for l in [2, 3, 5, 6, 7] {
            assert!(
                p.iter()
                    .any(|x| matches!(x, Problem::Malformed { line, .. } if *line == l)),
                "line {l} not reported as malformed: {p:#?}"
            );
        }
        assert!(p.iter().any(|x| matches!(
            x,
            Problem::CheckpointMismatch { seq: 2, detail, .. } if detail.contains("must sign seq 1")
        )), "{p:#?}");
        assert!(
            p.iter()
                .any(|x| matches!(x, Problem::BadSignature { seq: 2, .. })),
            "{p:#?}"
        );
    }

    #[test]
    fn a_chain_not_starting_at_zeros_or_with_run_start() {
        let first = line(
            1,
            &"1".repeat(64),
            r#""kind":"reveal","secret":"s","reason":"r""#,
        );
        let p = problems(format!("{first}\n").as_bytes());
        assert_eq!(
            p,
            [
                Problem::BadStart { line: 1 },
                Problem::NoRunStart {
                    kind: "reveal".into()
                },
                Problem::UnsignedTail { from: 1, to: 1 },
                Problem::Unfinished
            ]
        );
    }
}
