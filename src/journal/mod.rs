//! The journal: a signed, hash-chained, append-only record of what a run did.
//!
//! This module owns `logs/<run-id>.jsonl`. Every `apply` (and every secret reveal, approval and
//! rotation) writes one JSON object per line ([`record`]): a sequence number, the SHA-256 of the
//! previous line, the time, the operator, and what happened (an *intent* before each change, a
//! *result* after it). Nothing secret is written: outputs are kept as digests.
//!
//! [`JournalWriter`] appends and fsyncs each line before returning, and fails closed: once a
//! write fails, every later append fails too, so the coordinator cannot make a change that is
//! not on record. At the start, every N records or T seconds, and at the end it writes a
//! *checkpoint*: the operator's SSH key (a key file, or ssh-agent) signs the chain head in
//! OpenSSH's SSHSIG format, namespace [`JOURNAL_NAMESPACE`], over the ASCII message
//! [`checkpoint_message`] (`seibi-journal v1 <run> seq=<n> head=<sha256> time=<time>\n`), so a
//! third party can check it with `ssh-keygen -Y verify` and the roster's `allowed_signers`.
//!
//! [`verify()`] checks a journal against the roster and names each problem precisely (modified,
//! deleted, inserted, reordered records, torn tail, unsigned records, signatures by unknown,
//! expired or non-operator keys). [`read_run`] and [`render_run`] show what a run did, per
//! terminal. The format and the manual verification steps are in `docs/journal.md`.

mod agent;
pub mod record;
mod show;
mod signer;
mod verify;
mod writer;

use sha2::{Digest, Sha256};

pub use crate::roster::JOURNAL_NAMESPACE;
pub use agent::{Agent, AgentError, AgentIdentity};
pub use record::{
    Approval, Checkpoint, Intent, Line, MediaScan, NO_PLAN, OutputDigest, OutsideWindow, Record,
    Resume, Reveal, Rotation, RunEnd, RunStart, Seq, Status, Tally, TaskResult, WorkKind, WorkLog,
    checkpoint_message,
};
pub use show::{Event, Run, Step, StepResult, read_run, render_run};
pub use signer::{Signer, SignerError};
pub use verify::{Problem, VerifyReport, verify};
pub use writer::{CheckpointPolicy, Clock, JournalError, JournalWriter, WriterOptions};

/// The `prev` of the first line: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The file extension of journals.
pub const EXTENSION: &str = "jsonl";

/// The journal files (`*.jsonl`) in `dir`, sorted by name (run ids sort by time); none when the
/// directory cannot be read.
pub fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == EXTENSION) && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The SHA-256 (lower-case hex) of a line's bytes, without its newline: what the next line's
/// `prev` holds and what a checkpoint's `head` names.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// Whether `id` can name a run (and so a file): ASCII letters, digits, `-`, `_`, `.`, starting
/// with a letter or digit, at most 128 characters.
pub fn valid_run_id(id: &str) -> bool {
    id.len() <= 128 && crate::inventory::load_valid_id(id)
}

/// Formats an instant the way journal lines carry it: RFC 3339, UTC, milliseconds.
pub fn format_time(at: jiff::Timestamp) -> String {
    format!("{at:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_hash_is_sha256_hex_of_the_bytes() {
        // `printf '%s' '{"seq":1}' | sha256sum`
        assert_eq!(
            line_hash(br#"{"seq":1}"#),
            "b41e95c43f388d561b146326d84e3a6b9e31c4ef32ab97c04774c31aada3246a"
        );
        assert_eq!(GENESIS.len(), 64);
        assert!(GENESIS.bytes().all(|b| b == b'0'));
    }

    #[test]
    fn times_have_fixed_millisecond_precision() {
        let at: jiff::Timestamp = "2026-06-01T01:02:03Z".parse().expect("timestamp");
        assert_eq!(format_time(at), "2026-06-01T01:02:03.000Z");
    }

    #[test]
    fn run_ids_are_file_safe() {
        assert!(valid_run_id("2026-06-01-chuo.1"));
        assert!(!valid_run_id("../etc/passwd"));
        assert!(!valid_run_id(".hidden"));
        assert!(!valid_run_id(&"a".repeat(129)));
    }
}
