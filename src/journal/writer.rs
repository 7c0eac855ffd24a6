//! Appending to a journal: write, fsync, chain, checkpoint; fail closed.
//!
//! [`JournalWriter`] is owned by the run's coordinator (the only writer, so the order of lines
//! is the order of decisions). Each [`JournalWriter::append`] writes one line and `fsync`s it
//! before returning, so a record the coordinator was told about is on disk. If a write fails,
//! or the file at the journal's path is no longer the file being written (deleted, moved,
//! replaced), the writer is *broken*: that append and every later one return
//! [`JournalError`], and the coordinator must stop before its next change.
//!
//! Checkpoints are written right after `run_start` (so a key or agent that cannot sign stops the
//! run before any change), after every [`CheckpointPolicy::every_records`] records or
//! [`CheckpointPolicy::every`] of time (checked on each append and by
//! [`JournalWriter::checkpoint_if_due`]), and at [`JournalWriter::finish`].
//!
//! # Resuming after a crash
//! [`JournalWriter::open_for_resume`] verifies the chain and the signatures' cryptography (the
//! roster is the verifier's business), then continues the same chain. A *torn* last line (bytes
//! with no final newline) can only come from an append that never returned, so the change it
//! announced was never started: resume saves those bytes to `<run>.jsonl.torn` (or
//! `.torn.2`, ...), truncates the journal to the last complete line, and records a `resume`
//! line with the torn bytes' length and SHA-256, followed at once by a checkpoint. Any other
//! problem (a broken chain, a bad signature, a finished run) makes resume refuse.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::record::{
    Checkpoint, Line, Record, Resume, RunEnd, RunStart, Seal, Tally, checkpoint_message,
};
use super::signer::{Signer, SignerError};
use super::verify::{Problem, analyse};
use super::{EXTENSION, GENESIS, Seq, format_time, line_hash, valid_run_id};

/// When to write checkpoints besides the start and the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// After this many records since the last checkpoint.
    pub every_records: u64,
    /// After this much time since the last checkpoint.
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    /// Every 50 records or 5 minutes.
    fn default() -> Self {
        Self {
            every_records: 50,
            every: Duration::from_secs(300),
        }
    }
}

/// Where the writer gets the time from (tests pin it).
pub type Clock = Box<dyn Fn() -> Timestamp + Send>;

/// Writer settings.
#[derive(Default)]
pub struct WriterOptions {
    /// Checkpoint frequency.
    pub policy: CheckpointPolicy,
    /// The clock; the system clock when `None`.
    pub clock: Option<Clock>,
}

/// Why the journal cannot be written (and so the run must stop).
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A run id that cannot be a file name.
    #[error(
        "invalid run id `{run_id}`: use ASCII letters, digits, `-`, `_` and `.` (at most 128 characters)"
    )]
    InvalidRunId {
        /// The id.
        run_id: String,
    },
    /// A journal for the run exists already.
    #[error(
        "the journal {} already exists; resume that run, or start a run with a new id",
        path.display()
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The journal could not be created or opened.
    #[error("cannot open the journal {}: {source}; check that the directory exists and is writable", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A record could not be written and synced.
    #[error(
        "cannot write record seq {seq} to the journal {}: {source}; the run stops before its next change",
        path.display()
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The record that was not written.
        seq: u64,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file at the journal's path is not the one being written.
    #[error(
        "the journal {} was deleted, moved or replaced while the run was writing it; the run stops before its next change",
        path.display()
    )]
    Replaced {
        /// The file.
        path: PathBuf,
    },
    /// An earlier failure; nothing more is written.
    #[error(
        "the journal {} failed earlier ({cause}); no more records are written and no more changes may be made",
        path.display()
    )]
    Broken {
        /// The file.
        path: PathBuf,
        /// The first failure.
        cause: String,
    },
    /// A checkpoint could not be signed.
    #[error("cannot sign the checkpoint over seq {covers} of the journal {}: {source}; the run stops before its next change", path.display())]
    Sign {
        /// The file.
        path: PathBuf,
        /// The last seq the checkpoint would cover.
        covers: u64,
        /// What the signer said.
        source: SignerError,
    },
    /// A record kind the writer writes itself.
    #[error(
        "`{kind}` records are written by the journal writer itself (use create, finish or checkpoint)"
    )]
    WriterOwned {
        /// The kind.
        kind: &'static str,
    },
    /// Resume found problems other than a torn or unsigned tail.
    #[error("cannot resume the journal {}: {problems}; run `seibi journal verify` on it", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problems: String,
    },
    /// Resume of a finished run.
    #[error("the run in {} has finished (it has a run_end record); start a new run instead", path.display())]
    Finished {
        /// The file.
        path: PathBuf,
    },
    /// Seal of a journal that needs none.
    #[error("the journal {} is complete and signed: there is nothing to seal", path.display())]
    NothingToSeal {
        /// The file.
        path: PathBuf,
    },
    /// Keeping the torn tail failed during resume.
    #[error("cannot save the torn last line of {} to {}: {source}", path.display(), saved.display())]
    SaveTorn {
        /// The journal.
        path: PathBuf,
        /// Where the bytes were to go.
        saved: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// (device, inode) of a file, to notice a journal replaced under the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity(u64, u64);

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    FileIdentity(meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(meta: &std::fs::Metadata) -> FileIdentity {
    // Without inode numbers, a replaced file is noticed only when it is gone or is a directory.
    FileIdentity(u64::from(meta.is_dir()), 0)
}

/// Appends records to one journal. See the module docs.
pub struct JournalWriter {
    path: PathBuf,
    file: File,
    identity: FileIdentity,
    run_id: String,
    signer: Signer,
    next_seq: u64,
    head: String,
    unsigned: u64,
    last_checkpoint: Instant,
    policy: CheckpointPolicy,
    clock: Clock,
    broken: Option<String>,
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("path", &self.path)
            .field("run_id", &self.run_id)
            .field("next_seq", &self.next_seq)
            .field("signer", &self.signer)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl JournalWriter {
    /// Creates `<dir>/<run>.jsonl` (refusing to overwrite), writes `start` as seq 1 and signs
    /// it at once.
    pub fn create(dir: &Path, start: RunStart, signer: Signer) -> Result<Self, JournalError> {
        Self::create_with(dir, start, signer, WriterOptions::default())
    }

    /// [`create`](Self::create) with settings.
    pub fn create_with(
        dir: &Path,
        start: RunStart,
        signer: Signer,
        options: WriterOptions,
    ) -> Result<Self, JournalError> {
        if !valid_run_id(&start.run) {
            return Err(JournalError::InvalidRunId { run_id: start.run });
        }
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let path = dir.join(format!("{}.{EXTENSION}", start.run));
        let open_err = |source| JournalError::Open {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(open_err)?;
        let file = match OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(JournalError::Exists { path });
            }
            Err(err) => return Err(open_err(err)),
        };
        sync_dir(dir).map_err(open_err)?;
        let identity = identity(&file.metadata().map_err(open_err)?);
        let mut writer = Self::new(path, file, identity, start.run.clone(), signer, options);
        writer.next_seq = 1;
        writer.head = GENESIS.to_string();
        let time = writer.now();
        writer.write_line(time, Record::RunStart(start))?;
        writer.checkpoint()?;
        Ok(writer)
    }

    /// Continues the run in the journal at `path` (see the module docs on torn lines).
    pub fn open_for_resume(path: &Path, signer: Signer) -> Result<Self, JournalError> {
        Self::open_for_resume_with(path, signer, WriterOptions::default())
    }

    /// [`open_for_resume`](Self::open_for_resume) with settings.
    pub fn open_for_resume_with(
        path: &Path,
        signer: Signer,
        options: WriterOptions,
    ) -> Result<Self, JournalError> {
        let reopened = Reopened::read(path)?;
        if reopened.finished {
            return Err(JournalError::Finished {
                path: path.to_path_buf(),
            });
        }
        let mut resume = Resume {
            torn_bytes: None,
            torn_sha256: None,
            torn_saved_to: None,
            note: "resumed after an interruption".to_string(),
        };
        if let Some(torn) = reopened.cut_torn_tail(path)? {
            resume.note = format!(
                "resumed after an interruption; the torn last line (line {}, {} bytes, never acknowledged, so its change was not started) was removed and saved",
                torn.line, torn.bytes
            );
            resume.torn_bytes = Some(torn.bytes);
            resume.torn_sha256 = Some(torn.sha256);
            resume.torn_saved_to = Some(torn.saved_to);
        }
        let mut writer = reopened.writer(path, signer, options)?;
        let time = writer.now();
        writer.write_line(time, Record::Resume(resume))?;
        writer.checkpoint()?;
        Ok(writer)
    }

    /// Seals the journal of a run that died before it could sign its last records (or end at
    /// all): the sealing operator's `seal` record, a `run_end` if the run had none (a sealed run
    /// cannot be resumed), and a checkpoint signed by `signer`, so that the journal verifies
    /// again and shows the late seal. Refused for a journal with any other problem (a broken
    /// chain, a bad signature: tampering is never signed over) and for one with nothing to seal.
    pub fn seal(path: &Path, signer: Signer) -> Result<Seq, JournalError> {
        Self::seal_with(path, signer, WriterOptions::default())
    }

    /// [`seal`](Self::seal) with settings.
    pub fn seal_with(
        path: &Path,
        signer: Signer,
        options: WriterOptions,
    ) -> Result<Seq, JournalError> {
        let reopened = Reopened::read(path)?;
        if reopened.unsigned == 0 && reopened.finished && reopened.torn.is_none() {
            return Err(JournalError::NothingToSeal {
                path: path.to_path_buf(),
            });
        }
        let run_ended = reopened.finished;
        let unsigned_records = reopened.unsigned;
        let tally = reopened.tally;
        let torn = reopened.cut_torn_tail(path)?;
        let mut note = format!(
            "sealed after an interruption: {unsigned_records} record(s) no checkpoint had covered{}",
            if run_ended {
                " (the run had ended)"
            } else {
                "; the run had not ended and is closed by this seal"
            }
        );
        if let Some(torn) = &torn {
            note.push_str(&format!(
                "; the torn last line (line {}, {} bytes, never acknowledged) was removed and saved",
                torn.line, torn.bytes
            ));
        }
        let seal = Seal {
            unsigned_records,
            run_ended,
            torn_bytes: torn.as_ref().map(|t| t.bytes),
            torn_saved_to: torn.map(|t| t.saved_to),
            note,
        };
        let mut writer = reopened.writer(path, signer, options)?;
        let time = writer.now();
        writer.write_line(time, Record::Seal(seal))?;
        if !run_ended {
            let time = writer.now();
            writer.write_line(
                time,
                Record::RunEnd(RunEnd {
                    tally,
                    stopped: Some(
                        "the run died before it ended; its journal was sealed afterwards"
                            .to_string(),
                    ),
                }),
            )?;
        }
        match writer.checkpoint()? {
            Some(seq) => Ok(seq),
            None => Ok(writer.last_seq()),
        }
    }

    fn new(
        path: PathBuf,
        file: File,
        identity: FileIdentity,
        run_id: String,
        signer: Signer,
        options: WriterOptions,
    ) -> Self {
        Self {
            path,
            file,
            identity,
            run_id,
            signer,
            next_seq: 1,
            head: GENESIS.to_string(),
            unsigned: 0,
            last_checkpoint: Instant::now(),
            policy: options.policy,
            clock: options.clock.unwrap_or_else(|| Box::new(Timestamp::now)),
            broken: None,
        }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The seq of the last line written.
    pub fn last_seq(&self) -> Seq {
        Seq(self.next_seq - 1)
    }

    /// The SHA-256 of the last line written (the chain head).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Records written since the last checkpoint.
    pub fn unsigned_records(&self) -> u64 {
        self.unsigned
    }

    /// Appends `record`, fsyncs it, and writes a checkpoint if one is due. An error means the
    /// record may not be on disk: the run must stop before its next change.
    #[must_use = "a record that failed to be journaled means the run must stop before its next change"]
    pub fn append(&mut self, record: Record) -> Result<Seq, JournalError> {
        if let Record::RunStart(_) | Record::Checkpoint(_) | Record::Resume(_) | Record::RunEnd(_) =
            record
        {
            return Err(JournalError::WriterOwned {
                kind: record.kind(),
            });
        }
        let time = self.now();
        let seq = self.write_line(time, record)?;
        self.checkpoint_if_due()?;
        Ok(seq)
    }

    /// Writes a checkpoint if the policy says one is due (for a coordinator's timer).
    #[must_use = "a failed checkpoint means the run must stop before its next change"]
    pub fn checkpoint_if_due(&mut self) -> Result<Option<Seq>, JournalError> {
        let due = self.unsigned >= self.policy.every_records
            || (self.unsigned > 0 && self.last_checkpoint.elapsed() >= self.policy.every);
        if due { self.checkpoint() } else { Ok(None) }
    }

    /// Signs the chain head now, unless nothing was written since the last checkpoint.
    #[must_use = "a failed checkpoint means the run must stop before its next change"]
    pub fn checkpoint(&mut self) -> Result<Option<Seq>, JournalError> {
        self.ensure_usable()?;
        if self.unsigned == 0 {
            return Ok(None);
        }
        let time = self.now();
        let covers = self.next_seq - 1;
        let message = checkpoint_message(&self.run_id, covers, &self.head, &time);
        let signature =
            self.signer
                .sign(message.as_bytes())
                .map_err(|source| JournalError::Sign {
                    path: self.path.clone(),
                    covers,
                    source,
                })?;
        let record = Record::Checkpoint(Checkpoint {
            run: self.run_id.clone(),
            covers,
            head: self.head.clone(),
            key: self.signer.public_key().fingerprint(),
            signature: signature.to_armored(),
        });
        let seq = self.write_line(time, record)?;
        self.last_checkpoint = Instant::now();
        Ok(Some(seq))
    }

    /// Writes `end` and a final checkpoint; returns the checkpoint's seq.
    #[must_use = "a run whose end failed to be journaled is not finished"]
    pub fn finish(mut self, end: RunEnd) -> Result<Seq, JournalError> {
        let time = self.now();
        self.write_line(time, Record::RunEnd(end))?;
        match self.checkpoint()? {
            Some(seq) => Ok(seq),
            None => Ok(self.last_seq()),
        }
    }

    fn now(&self) -> String {
        format_time((self.clock)())
    }

    fn ensure_usable(&self) -> Result<(), JournalError> {
        match &self.broken {
            Some(cause) => Err(JournalError::Broken {
                path: self.path.clone(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Whether the path still names the file being written.
    fn same_file(&self) -> bool {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) => identity(&meta) == self.identity,
            Err(_) => false,
        }
    }

    fn write_line(&mut self, time: String, record: Record) -> Result<Seq, JournalError> {
        self.ensure_usable()?;
        let seq = self.next_seq;
        let is_checkpoint = matches!(record, Record::Checkpoint(_));
        let line = Line {
            seq,
            prev: self.head.clone(),
            time,
            operator: self.signer.operator().to_string(),
            record,
        };
        // Serializing plain structs of strings and integers to JSON cannot fail; if it ever did,
        // the run still stops (the error is returned) but the file is untouched.
        let mut text = serde_json::to_string(&line).map_err(|err| JournalError::Write {
            path: self.path.clone(),
            seq,
            source: std::io::Error::other(err),
        })?;
        let hash = line_hash(text.as_bytes());
        text.push('\n');
        if !self.same_file() {
            self.broken = Some("the file was deleted, moved or replaced".to_string());
            return Err(JournalError::Replaced {
                path: self.path.clone(),
            });
        }
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.broken = Some(format!("writing seq {seq} failed: {source}"));
            return Err(JournalError::Write {
                path: self.path.clone(),
                seq,
                source,
            });
        }
        self.head = hash;
        self.next_seq += 1;
        if is_checkpoint {
            self.unsigned = 0;
        } else {
            self.unsigned += 1;
        }
        Ok(Seq(seq))
    }
}

/// `<journal>.torn`, or `.torn.2`, `.torn.3`, ... if taken.
fn torn_file_name(path: &Path) -> PathBuf {
    let base = path.as_os_str().to_os_string();
    let mut n = 1;
    loop {
        let mut name = base.clone();
        if n == 1 {
            name.push(".torn");
        } else {
            name.push(format!(".torn.{n}"));
        }
        let candidate = PathBuf::from(name);
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

fn write_new_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a newly created file's directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A journal read back to be continued (resume) or sealed: its chain checked, nothing changed yet.
struct Reopened {
    bytes: Vec<u8>,
    run_id: String,
    last_seq: u64,
    head: String,
    finished: bool,
    /// Records after the last valid checkpoint.
    unsigned: u64,
    torn: Option<super::verify::Torn>,
    /// Results by status, for the `run_end` of a sealed run that had none.
    tally: Tally,
}

/// A torn last line, cut off and saved.
struct CutTorn {
    line: usize,
    bytes: u64,
    sha256: String,
    saved_to: String,
}

impl Reopened {
    /// Reads and checks `path`: only a torn line, an unsigned tail and a missing end may be
    /// wrong with it.
    fn read(path: &Path) -> Result<Reopened, JournalError> {
        let open_err = |source| JournalError::Open {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(open_err)?;
        let (report, tail) = analyse(path, &bytes, None);
        let mut unsigned = 0;
        let mut blocking = Vec::new();
        for problem in &report.problems {
            match problem {
                Problem::UnsignedTail { from, to } => unsigned = to + 1 - from,
                Problem::TornTail { .. } | Problem::Unfinished => {}
                other => blocking.push(other.to_string()),
            }
        }
        if !blocking.is_empty() {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                problems: blocking.join("; "),
            });
        }
        let (Some(run_id), Some(last_seq)) = (report.run_id.clone(), tail.last_seq) else {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                problems: "no run_start record".to_string(),
            });
        };
        let mut tally = Tally::default();
        for line in bytes.split(|b| *b == b'\n') {
            if let Ok(Line {
                record: Record::Result(r),
                ..
            }) = serde_json::from_slice::<Line>(line)
            {
                tally.add(r.status);
            }
        }
        Ok(Reopened {
            bytes,
            run_id,
            last_seq,
            head: tail.head,
            finished: report.finished,
            unsigned,
            torn: tail.torn,
            tally,
        })
    }

    /// Saves a torn last line beside the journal and cuts it off the journal.
    fn cut_torn_tail(&self, path: &Path) -> Result<Option<CutTorn>, JournalError> {
        let Some(torn) = &self.torn else {
            return Ok(None);
        };
        let open_err = |source| JournalError::Open {
            path: path.to_path_buf(),
            source,
        };
        let start = usize::try_from(torn.offset)
            .unwrap_or(self.bytes.len())
            .min(self.bytes.len());
        let torn_bytes = &self.bytes[start..];
        let saved = torn_file_name(path);
        write_new_synced(&saved, torn_bytes)
            .and_then(|()| sync_dir(parent_dir(&saved)))
            .map_err(|source| JournalError::SaveTorn {
                path: path.to_path_buf(),
                saved: saved.clone(),
                source,
            })?;
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(open_err)?;
        file.set_len(torn.offset).map_err(open_err)?;
        file.sync_all().map_err(open_err)?;
        Ok(Some(CutTorn {
            line: torn.line,
            bytes: torn_bytes.len() as u64,
            sha256: line_hash(torn_bytes),
            saved_to: saved
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }))
    }

    /// A writer that continues the chain.
    fn writer(
        self,
        path: &Path,
        signer: Signer,
        options: WriterOptions,
    ) -> Result<JournalWriter, JournalError> {
        let open_err = |source| JournalError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(open_err)?;
        let identity = identity(&file.metadata().map_err(open_err)?);
        let mut writer = JournalWriter::new(
            path.to_path_buf(),
            file,
            identity,
            self.run_id,
            signer,
            options,
        );
        writer.next_seq = self.last_seq + 1;
        writer.head = self.head;
        // The records after the last checkpoint are covered by the next one.
        writer.unsigned = self.unsigned;
        Ok(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::{Intent, Reveal};

    fn test_signer(dir: &Path) -> Signer {
        let key = dir.join("id_ed25519");
        if !key.exists() {
            let status = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
                .arg(&key)
                .status()
                .expect("ssh-keygen runs");
            assert!(status.success());
        }
        Signer::from_key_file("alice", &key, None).expect("key loads")
    }

    fn intent(n: u32) -> Record {
        Record::Intent(Intent {
            terminal: format!("chuo-t{n:02}"),
            host_key: "SHA256:x".into(),
            job: "job".into(),
            task: "task".into(),
            action: "command".into(),
            change: "run".into(),
        })
    }

    #[test]
    fn chain_links_each_line_to_the_previous() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = test_signer(dir.path());
        let mut w =
            JournalWriter::create(&dir.path().join("logs"), RunStart::new("r1", "d"), signer)
                .expect("create");
        assert_eq!(w.last_seq(), Seq(2), "run_start and the first checkpoint");
        assert_eq!(w.append(intent(1)).expect("append"), Seq(3));
        let path = w.path().to_path_buf();
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let mut prev = GENESIS.to_string();
        for (i, l) in lines.iter().enumerate() {
            let line: Line = serde_json::from_str(l).expect("line parses");
            assert_eq!(line.seq, i as u64 + 1);
            assert_eq!(line.prev, prev);
            prev = line_hash(l.as_bytes());
        }
        assert_eq!(w.head(), prev);
    }

    #[test]
    fn checkpoints_every_n_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = test_signer(dir.path());
        let options = WriterOptions {
            policy: CheckpointPolicy {
                every_records: 2,
                every: Duration::from_secs(3600),
            },
            clock: None,
        };
        let mut w =
            JournalWriter::create_with(dir.path(), RunStart::new("r2", "d"), signer, options)
                .expect("create");
        for n in 0..5 {
            let _ = w.append(intent(n)).expect("append");
        }
        let seq = w.finish(RunEnd::default()).expect("finish");
        let text = std::fs::read_to_string(dir.path().join("r2.jsonl")).expect("read");
        let kinds: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Line>(l)
                    .expect("parses")
                    .record
                    .kind()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "run_start",
                "checkpoint",
                "intent",
                "intent",
                "checkpoint",
                "intent",
                "intent",
                "checkpoint",
                "intent",
                "run_end",
                "checkpoint"
            ]
        );
        assert_eq!(seq, Seq(11));
    }

    #[test]
    fn checkpoints_after_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = WriterOptions {
            policy: CheckpointPolicy {
                every_records: 1000,
                every: Duration::ZERO,
            },
            clock: None,
        };
        let mut w = JournalWriter::create_with(
            dir.path(),
            RunStart::new("r5", "d"),
            test_signer(dir.path()),
            options,
        )
        .expect("create");
        assert_eq!(w.checkpoint_if_due().expect("nothing to sign"), None);
        assert_eq!(w.append(intent(1)).expect("append"), Seq(3));
        assert_eq!(
            w.unsigned_records(),
            0,
            "the interval had passed: signed at once"
        );
        assert_eq!(w.last_seq(), Seq(4));
        assert_eq!(w.checkpoint().expect("nothing new"), None);
    }

    #[test]
    fn refuses_writer_owned_kinds_and_existing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = JournalWriter::create(
            dir.path(),
            RunStart::new("r3", "d"),
            test_signer(dir.path()),
        )
        .expect("create");
        let err = w
            .append(Record::RunEnd(RunEnd::default()))
            .expect_err("writer-owned");
        assert!(
            matches!(err, JournalError::WriterOwned { kind: "run_end" }),
            "{err}"
        );
        let again = JournalWriter::create(
            dir.path(),
            RunStart::new("r3", "d"),
            test_signer(dir.path()),
        );
        assert!(
            matches!(again, Err(JournalError::Exists { .. })),
            "{again:?}"
        );
        let bad = JournalWriter::create(
            dir.path(),
            RunStart::new("../x", "d"),
            test_signer(dir.path()),
        );
        assert!(
            matches!(bad, Err(JournalError::InvalidRunId { .. })),
            "{bad:?}"
        );
    }

    #[test]
    fn a_full_disk_breaks_the_writer_for_good() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = JournalWriter::create(
            dir.path(),
            RunStart::new("r4", "d"),
            test_signer(dir.path()),
        )
        .expect("create");
        // Swap the file for /dev/full: every write fails with ENOSPC, as on a full disk.
        let full = Path::new("/dev/full");
        w.file = OpenOptions::new()
            .append(true)
            .open(full)
            .expect("/dev/full opens");
        w.identity = identity(&std::fs::metadata(full).expect("metadata"));
        w.path = full.to_path_buf();
        let first = w.append(Record::Reveal(Reveal {
            terminal: None,
            secret: "s".into(),
            reason: "r".into(),
        }));
        match first {
            Err(JournalError::Write { seq: 3, source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(28), "ENOSPC: {source}")
            }
            other => panic!("expected a write error, got {other:?}"),
        }
        // Even if the coordinator ignored that error, nothing more is written.
        let second = w.append(intent(1));
        assert!(
            matches!(second, Err(JournalError::Broken { .. })),
            "{second:?}"
        );
        assert!(matches!(w.checkpoint(), Err(JournalError::Broken { .. })));
    }
}
