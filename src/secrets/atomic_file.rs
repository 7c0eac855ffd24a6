//! Durable file writes: a whole-file replace that is either the old file or the new one after a
//! crash (temp file in the same directory, fsync, rename, fsync of the directory), and a durable
//! append for logs. The password store's two-phase rotation relies on these returning only once
//! the data is on disk.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::SecretsError;

/// Replaces `path` with `bytes` atomically and durably. The parent directory must exist.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SecretsError> {
    let dir = parent_of(path);
    let mut temp = tempfile::Builder::new()
        .prefix(".seibi-tmp-")
        .tempfile_in(dir)
        .map_err(|e| SecretsError::io("create a temporary file in", dir, e))?;
    temp.write_all(bytes)
        .map_err(|e| SecretsError::io("write", temp.path().to_path_buf(), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| SecretsError::io("flush", temp.path().to_path_buf(), e))?;
    temp.persist(path)
        .map_err(|e| SecretsError::io("replace", path, e.error))?;
    sync_dir(dir)
}

/// Creates `dir` (and parents) and makes the new entries durable.
pub(crate) fn create_dir_durable(dir: &Path) -> Result<(), SecretsError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| SecretsError::io("create directory", dir, e))?;
    sync_dir(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })?;
    }
    Ok(())
}

/// Appends one line (a newline is added) and fsyncs before returning.
pub(crate) fn append_line_durable(path: &Path, line: &str) -> Result<(), SecretsError> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SecretsError::io("open for appending", path, e))?;
    let mut record = line.to_string();
    record.push('\n');
    file.write_all(record.as_bytes())
        .map_err(|e| SecretsError::io("append to", path, e))?;
    file.sync_all()
        .map_err(|e| SecretsError::io("flush", path, e))?;
    if !existed {
        sync_dir(parent_of(path))?;
    }
    Ok(())
}

/// Removes a file durably; a file already gone is fine.
pub(crate) fn remove_durable(path: &Path) -> Result<(), SecretsError> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SecretsError::io("remove", path, e)),
    }
}

/// fsyncs a directory so that renames and new entries in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), SecretsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SecretsError::io("flush directory", dir, e))
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
    }

    #[test]
    fn append_adds_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        append_line_durable(&path, "{\"a\":1}").expect("append");
        append_line_durable(&path, "{\"a\":2}").expect("append");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }
}
