//! One run per project at a time: an exclusive lock on the project directory.
//!
//! `apply` (new or resumed), `journal seal`, `secrets reveal` and anything else that writes the
//! password store or a journal holds [`ProjectLock`] for as long as it works. The lock is an
//! advisory `flock` on `.seibi.lock` in the project directory, so the kernel releases it when
//! the process ends, however it ends. The file also holds who has it ([`Holder`]: run,
//! operator, host, pid, since), written after the lock is taken and cleared when it is
//! released cleanly. A second run does not wait silently: it is refused at once with the
//! holder's details. A file that still names a holder while nobody has the lock was left by a
//! process that died holding it: the next run takes it over and says so
//! ([`ProjectLock::took_over`]), and the caller records the take-over in its journal.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// The lock file's name in the project directory.
pub const LOCK_FILE: &str = ".seibi.lock";

/// Who holds (or held) the project lock: the journal's record of it.
pub use crate::journal::record::LockHolder as Holder;

impl Holder {
    /// A holder for this process, now.
    pub fn this_process(
        run: impl Into<String>,
        operator: impl Into<String>,
        doing: impl Into<String>,
    ) -> Self {
        Self {
            run: run.into(),
            operator: operator.into(),
            doing: doing.into(),
            host: crate::journal::record::local_host_name(),
            pid: std::process::id(),
            since: crate::journal::format_time(jiff::Timestamp::now()),
        }
    }

    /// Whether this holder was a process on this machine that no longer exists.
    pub fn is_gone(&self) -> bool {
        self.host == crate::journal::record::local_host_name()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of run {} by {} on {} (pid {}) since {}",
            self.doing, self.run, self.operator, self.host, self.pid, self.since
        )
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another seibi process is working on this project: {holder}\nnothing was changed: wait for it to finish (or, if that process is gone, run again: a lock whose process died is taken over)",
        holder = match .holder { Some(h) => h.to_string(), None => "a holder that did not say who it is".to_string() }
    )]
    Held {
        /// Who, if the file says.
        holder: Option<Box<Holder>>,
    },
    /// The lock file could not be used.
    #[error("cannot use the project lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The project's exclusive lock, held until dropped.
#[derive(Debug)]
pub struct ProjectLock {
    file: File,
    path: PathBuf,
    took_over: Option<Holder>,
}

impl ProjectLock {
    /// Takes the lock of the project at `root` for `holder`, or says who has it.
    pub fn acquire(root: &Path, holder: &Holder) -> Result<ProjectLock, LockError> {
        let path = root.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // The holder writes who it is right after taking the lock: until then the file
                // is empty, or still names a dead holder it took the lock over from. Give it a
                // moment.
                let mut holder = read_holder(&mut file);
                for _ in 0..50 {
                    if holder.as_ref().is_some_and(|h| !h.is_gone()) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    holder = read_holder(&mut file);
                }
                return Err(LockError::Held {
                    holder: holder.map(Box::new),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Nobody has the lock; a holder still written in the file died holding it.
        let took_over = read_holder(&mut file);
        let text = serde_json::to_string(holder).unwrap_or_default();
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{text}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(ProjectLock {
            file,
            path,
            took_over,
        })
    }

    /// The holder of a lock left behind by a process that died holding it, if this one took it
    /// over. The caller records it (see [`crate::journal::record::Record::LockTakeOver`]).
    pub fn took_over(&self) -> Option<&Holder> {
        self.took_over.as_ref()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // A clean release leaves the file empty, so the next run knows nobody died holding it.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_ones_details() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Holder::this_process("run-1", "山田", "apply");
        let lock = ProjectLock::acquire(dir.path(), &first).expect("first");
        assert!(lock.took_over().is_none());
        let err = ProjectLock::acquire(dir.path(), &Holder::this_process("run-2", "佐藤", "apply"))
            .expect_err("second is refused");
        let text = err.to_string();
        assert!(text.contains("run run-1 by 山田"), "{text}");
        assert!(matches!(err, LockError::Held { holder: Some(h) } if *h == first));
        drop(lock);
        let again =
            ProjectLock::acquire(dir.path(), &Holder::this_process("run-3", "佐藤", "apply"))
                .expect("free after release");
        assert!(
            again.took_over().is_none(),
            "a clean release is no take-over"
        );
    }

    #[test]
    fn a_holder_left_in_the_file_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dead = Holder::this_process("run-dead", "山田", "apply");
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&dead).expect("json"),
        )
        .expect("write");
        let lock =
            ProjectLock::acquire(dir.path(), &Holder::this_process("run-2", "佐藤", "apply"))
                .expect("taken over");
        assert_eq!(lock.took_over(), Some(&dead));
    }
}
