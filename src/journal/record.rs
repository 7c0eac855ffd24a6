//! The journal's record types: one JSON object per line.
//!
//! Every line is a [`Line`]: the envelope (`seq`, `prev`, `time`, `operator`) followed by a
//! [`Record`] whose `kind` says what happened. Field order on disk is the order of the Rust
//! fields (serde_json with `preserve_order`), but nothing depends on it: hashes are taken over
//! the bytes as written. No record type has a field for a secret *value*: reveals and rotations
//! name the secret, outputs are kept as SHA-256 digests and sizes only.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A record's sequence number: line `n` of a journal holds `seq` `n`, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// SHA-256 (hex) of the previous line's bytes without its newline; 64 zeros for seq 1.
    pub prev: String,
    /// When the line was written, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// Roster id of the operator whose key signs the journal's checkpoints.
    pub operator: String,
    /// What happened.
    #[serde(flatten)]
    pub record: Record,
}

/// What a line records. Serialized with a `kind` tag (`run_start`, `intent`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The first line of every journal.
    RunStart(RunStart),
    /// Written before a change is attempted on a terminal.
    Intent(Intent),
    /// Written after a change was attempted (or skipped).
    Result(TaskResult),
    /// A signature over the chain so far.
    Checkpoint(Checkpoint),
    /// The last line before the final checkpoint.
    RunEnd(RunEnd),
    /// A secret was shown to a person.
    Reveal(Reveal),
    /// A plan was approved.
    Approval(Approval),
    /// A credential was rotated.
    Rotation(Rotation),
    /// The run was resumed after an interruption.
    Resume(Resume),
    /// The operator chose to work outside the sites' office hours, and said why.
    OutsideWindow(OutsideWindow),
    /// The run took over the project lock from a process that died holding it.
    LockTakeOver(LockTakeOver),
    /// An operator signed the unsigned tail of a journal whose run died (`seibi journal seal`).
    Seal(Seal),
    /// Work that was not done on a machine (an inquiry, an investigation, a meeting).
    WorkLog(WorkLog),
    /// Media were virus-scanned before upload: which scanner, its database, the result.
    MediaScan(MediaScan),
}

impl Record {
    /// The `kind` tag as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::RunStart(_) => "run_start",
            Record::Intent(_) => "intent",
            Record::Result(_) => "result",
            Record::Checkpoint(_) => "checkpoint",
            Record::RunEnd(_) => "run_end",
            Record::Reveal(_) => "reveal",
            Record::Approval(_) => "approval",
            Record::Rotation(_) => "rotation",
            Record::Resume(_) => "resume",
            Record::OutsideWindow(_) => "outside_window",
            Record::LockTakeOver(_) => "lock_take_over",
            Record::Seal(_) => "seal",
            Record::WorkLog(_) => "work_log",
            Record::MediaScan(_) => "media_scan",
        }
    }
}

/// The start of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// Run id; the journal is `logs/<run>.jsonl`.
    pub run: String,
    /// Digest of the approved plan being applied.
    pub plan_digest: String,
    /// Version of seibi that wrote the journal.
    pub seibi_version: String,
    /// Host name of the machine running seibi.
    pub host: String,
    /// Set when the plan was applied without prior approval (`seibi apply --unapproved
    /// --reason ...`): the reason given. Every report flags such runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unapproved_reason: Option<String>,
    /// Set when the run applies only part of its plan (`apply --plan P --job J --site S ...`):
    /// the selectors given. The approval of the whole plan covers the part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
}

/// The part of a plan a run applies (see [`crate::plan::subset`]).
pub use crate::plan::subset::Part as Selection;

/// The `plan_digest` of a run that applies no plan: one that only records a password reveal.
pub const NO_PLAN: &str = "none";

impl RunStart {
    /// A start record for `run` applying the plan with `plan_digest`, on this machine, by this
    /// version of seibi.
    pub fn new(run: impl Into<String>, plan_digest: impl Into<String>) -> Self {
        Self {
            run: run.into(),
            plan_digest: plan_digest.into(),
            seibi_version: env!("CARGO_PKG_VERSION").to_string(),
            host: local_host_name(),
            unapproved_reason: None,
            selection: None,
        }
    }
}

/// This machine's host name, or `unknown`.
pub fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The `change` of an intent in a check (dry) run: the action is only queried.
pub const CHECK_ONLY_CHANGE: &str = "check only";

/// A change about to be made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Terminal id.
    pub terminal: String,
    /// Fingerprint of the terminal's SSH host key as checked on connect (`SHA256:...`).
    pub host_key: String,
    /// Job id.
    pub job: String,
    /// Task id within the job.
    pub task: String,
    /// Action name (`command`, `package`, ...).
    pub action: String,
    /// What the action's query said would change (a summary; never a secret value).
    pub change: String,
}

/// How a task ended on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran; nothing needed changing.
    Ok,
    /// Ran and changed something.
    Changed,
    /// Ran and failed.
    Failed,
    /// Not run (condition false, earlier failure, ...).
    Skipped,
    /// The terminal could not be reached.
    Unreachable,
    /// The connection was lost after the unit's intent was written: its command may have
    /// run, and may still be running, on the terminal. A later run waits for it to end, then
    /// queries again, so it is applied once.
    Interrupted,
    /// Not run: another run holds the terminal's lease (`busy: leased by run X of OPERATOR
    /// since T`). Not a failure of the task; a later run does it.
    Busy,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Unreachable => "unreachable",
            Status::Interrupted => "interrupted",
            Status::Busy => "busy",
        })
    }
}

/// The digest and size of an output stream; the output itself is not kept (it may hold secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OutputDigest {
    /// SHA-256, hex.
    pub sha256: String,
    /// Length in bytes.
    pub bytes: u64,
}

impl OutputDigest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(data)),
            bytes: data.len() as u64,
        }
    }
}

/// What happened when a task ran on a terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Terminal id.
    pub terminal: String,
    /// Job id.
    pub job: String,
    /// Task id.
    pub task: String,
    /// The `seq` of the intent this result closes, if there was one (skips have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<u64>,
    /// Outcome.
    pub status: Status,
    /// Whether anything changed on the terminal.
    pub changed: bool,
    /// Digest of standard output.
    pub stdout: OutputDigest,
    /// Digest of standard error.
    pub stderr: OutputDigest,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: u64,
    /// The error, for failed and unreachable results (seibi's own message, never output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A signature over the chain up to and including `covers`.
///
/// The signed message is [`checkpoint_message`]`(run, covers, head, time)` where `time` is the
/// line's own `time`; `head` equals the line's `prev` and `covers` its `seq - 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Run id (as in `run_start`).
    pub run: String,
    /// The last `seq` covered.
    pub covers: u64,
    /// SHA-256 (hex) of the line at `covers`.
    pub head: String,
    /// Fingerprint of the signing key (for people; the signature names the key itself).
    pub key: String,
    /// Armored SSHSIG signature (`-----BEGIN SSH SIGNATURE-----`...).
    pub signature: String,
}

/// The exact message a checkpoint signs, newline included.
pub fn checkpoint_message(run: &str, covers: u64, head: &str, time: &str) -> String {
    format!("seibi-journal v1 {run} seq={covers} head={head} time={time}\n")
}

/// Counts of task results in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Tally {
    /// Results with status ok.
    pub ok: u64,
    /// Results with status changed.
    pub changed: u64,
    /// Results with status failed.
    pub failed: u64,
    /// Results with status skipped.
    pub skipped: u64,
    /// Results with status unreachable.
    pub unreachable: u64,
    /// Results with status interrupted (connection lost mid-unit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted: u64,
    /// Results with status busy (terminal leased by another run).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub busy: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Tally {
    /// Adds one result.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => self.changed += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
            Status::Unreachable => self.unreachable += 1,
            Status::Interrupted => self.interrupted += 1,
            Status::Busy => self.busy += 1,
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ok, {} changed, {} failed, {} skipped, {} unreachable",
            self.ok, self.changed, self.failed, self.skipped, self.unreachable
        )?;
        if self.interrupted > 0 {
            write!(f, ", {} interrupted", self.interrupted)?;
        }
        if self.busy > 0 {
            write!(f, ", {} busy", self.busy)?;
        }
        Ok(())
    }
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunEnd {
    /// Results by status.
    pub tally: Tally,
    /// Why the run stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// A secret shown to a person (the value is never written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reveal {
    /// The terminal the secret belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    /// The secret's name in the store.
    pub secret: String,
    /// Why it was revealed.
    pub reason: String,
}

/// A plan approval. `seibi apply --plan` writes one per approval it checked, right after
/// `run_start`, copying the approver's signature so the journal alone shows who approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Digest of the approved plan.
    pub plan_digest: String,
    /// Roster id of the approver.
    pub approver: String,
    /// Remark given with the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the approver signed (RFC 3339, UTC), as in the plan's approvals file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// Fingerprint of the approver's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The approver's armored SSHSIG signature (namespace `seibi-plan@seibi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A credential rotation (the new value is never written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    /// Terminal id.
    pub terminal: String,
    /// The account whose credential changed.
    pub account: String,
    /// The secret's name in the store that now holds the new value.
    pub secret: String,
    /// Why (the job, a schedule, an incident).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run that began the rotation, when another run (a resume, or a later run that found
    /// it pending) settled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub began_in: Option<String>,
}

/// A resumed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// Bytes of a torn last line removed before resuming (a write cut short by a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_bytes: Option<u64>,
    /// SHA-256 of those bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_sha256: Option<String>,
    /// File the torn bytes were saved to, next to the journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_saved_to: Option<String>,
    /// What happened, for people.
    pub note: String,
}

/// Work outside office hours, authorised by the operator (`apply --outside-window --reason`):
/// written before the run's first intent, in a new run and in each resume that asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutsideWindow {
    /// Why the work cannot wait for the sites' office hours.
    pub reason: String,
}

/// Who held the project lock (see [`crate::run::lock`]): as its lock file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The run id (`-` when the holder is not a run).
    pub run: String,
    /// The operator's roster name.
    pub operator: String,
    /// What the holder is doing (`apply`, `apply --resume`, `journal seal`, `secrets reveal`).
    pub doing: String,
    /// The machine.
    pub host: String,
    /// The process id on that machine.
    pub pid: u32,
    /// When the lock was taken (RFC 3339, UTC).
    pub since: String,
}

/// The project lock was taken over from a process that died holding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockTakeOver {
    /// The dead holder.
    pub previous: LockHolder,
}

/// A late seal: an operator on the roster signed a journal whose run died before it could sign
/// its last records (or end at all). Written before the sealing checkpoint, by the sealing
/// operator (the line's `operator`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seal {
    /// Records that no checkpoint covered before the seal.
    pub unsigned_records: u64,
    /// Whether the run had ended (`run_end`) before it died.
    pub run_ended: bool,
    /// Bytes of a torn last line removed (and saved beside the journal) before sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_bytes: Option<u64>,
    /// File the torn bytes were saved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_saved_to: Option<String>,
    /// What happened, for people.
    pub note: String,
}

/// What sort of work a [`WorkLog`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// Answering a question from the city (問い合わせ対応).
    Inquiry,
    /// Looking into a problem (調査).
    Investigation,
    /// A meeting (打合せ).
    Meeting,
    /// Anything else.
    Other,
}

impl WorkKind {
    /// The words for people, in `lang`.
    pub fn label(self, lang: crate::language::Language) -> &'static str {
        match self {
            WorkKind::Inquiry => lang.pick("問い合わせ対応", "inquiry"),
            WorkKind::Investigation => lang.pick("調査", "investigation"),
            WorkKind::Meeting => lang.pick("打合せ", "meeting"),
            WorkKind::Other => lang.pick("その他", "other"),
        }
    }
}

/// Work that was not done on a machine, signed into a journal of its own by the operator
/// (`seibi log work`), for the monthly report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkLog {
    /// What sort of work.
    pub work: WorkKind,
    /// The day it was done (Japan), `YYYY-MM-DD`.
    pub date: String,
    /// How long it took.
    pub minutes: u32,
    /// What was done, for the report (never a secret).
    pub summary: String,
    /// The site it concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The terminal it concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
}

/// A virus scan of an artifact before it was sent to a terminal: written by `apply` after the
/// task's result, from the `scan` object of the `patch`/`package` task's facts
/// ([`crate::action::package::ScanReport`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaScan {
    /// Terminal the media were for.
    pub terminal: String,
    /// Job id.
    pub job: String,
    /// Task id.
    pub task: String,
    /// The artifact's name in the job.
    pub artifact: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The scanner run.
    pub scanner: String,
    /// The first line of `<scanner> --version`.
    pub version: String,
    /// The signature database version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// `clean` (an infected artifact is never sent; its task fails).
    pub result: String,
}

impl MediaScan {
    /// The record for a `patch`/`package` task's outcome `facts`, when they hold a `scan`
    /// object (media scanned before upload): what `apply` appends after the task's result.
    pub fn from_facts(
        terminal: &str,
        job: &str,
        task: &str,
        facts: &serde_json::Value,
    ) -> Option<MediaScan> {
        let scan = facts.get("scan").filter(|s| s.is_object())?;
        let text = |v: &serde_json::Value, key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        Some(MediaScan {
            terminal: terminal.to_string(),
            job: job.to_string(),
            task: task.to_string(),
            artifact: text(facts, "artifact").unwrap_or_default(),
            sha256: text(facts, "sha256").unwrap_or_default(),
            scanner: text(scan, "scanner")?,
            version: text(scan, "version").unwrap_or_else(|| "unknown".to_string()),
            database: text(scan, "database"),
            result: text(scan, "result")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_serializes_envelope_first_then_kind() {
        let line = Line {
            seq: 2,
            prev: "ab".repeat(32),
            time: "2026-06-01T01:00:00.000Z".into(),
            operator: "alice".into(),
            record: Record::Reveal(Reveal {
                terminal: Some("chuo-t01".into()),
                secret: "admin/chuo-t01".into(),
                reason: "窓口端末の復旧".into(),
            }),
        };
        let text = serde_json::to_string(&line).expect("serializes");
        assert_eq!(
            text,
            format!(
                "{{\"seq\":2,\"prev\":\"{}\",\"time\":\"2026-06-01T01:00:00.000Z\",\"operator\":\"alice\",\"kind\":\"reveal\",\"terminal\":\"chuo-t01\",\"secret\":\"admin/chuo-t01\",\"reason\":\"窓口端末の復旧\"}}",
                "ab".repeat(32)
            )
        );
        let back: Line = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, line);
    }

    #[test]
    fn a_scan_in_the_facts_becomes_a_media_scan_record() {
        let facts = serde_json::json!({
            "package": "openssl-fix", "version": "3.0.15-1", "artifact": "openssl-fix",
            "sha256": "59ee", "scanned": true,
            "scan": { "scanner": "clamscan", "version": "ClamAV 1.4.6/27450/Mon Oct 12 2026",
                      "database": "27450", "result": "clean" }
        });
        let record = MediaScan::from_facts("kita-t02", "patch", "install", &facts).expect("scan");
        assert_eq!(record.artifact, "openssl-fix");
        assert_eq!(record.database.as_deref(), Some("27450"));
        assert_eq!(record.result, "clean");
        let unscanned = serde_json::json!({ "package": "x", "scanned": false, "scan": null });
        assert!(MediaScan::from_facts("t", "j", "k", &unscanned).is_none());
    }

    #[test]
    fn output_digest_is_sha256_and_length() {
        let d = OutputDigest::of(b"abc");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.bytes, 3);
    }

    #[test]
    fn tally_counts_by_status() {
        let mut t = Tally::default();
        for s in [
            Status::Ok,
            Status::Changed,
            Status::Changed,
            Status::Unreachable,
        ] {
            t.add(s);
        }
        assert_eq!(
            t.to_string(),
            "1 ok, 2 changed, 0 failed, 0 skipped, 1 unreachable"
        );
    }
}
