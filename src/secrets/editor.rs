//! Editing decrypted text with the user's editor, without leaving plaintext behind.
//!
//! The plaintext copy lives in a fresh directory of mode 0700 (under `$XDG_RUNTIME_DIR`, which
//! is a per-user tmpfs on most desktops, else the system temp directory), in a file of mode
//! 0600. The directory is a [`tempfile::TempDir`], so it is removed when this function returns,
//! whether the editor succeeded, failed, or the text turned out unusable; the file is
//! overwritten with zeros first so the plaintext does not linger in freed disk blocks.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use zeroize::Zeroizing;

use super::SecretsError;

/// Writes `text` to a private file, runs `editor` on it (a shell command such as `vi` or
/// `code --wait`; the path is passed as its last argument) and returns the edited text.
pub(crate) fn edit_in_private_dir(
    text: &str,
    file_label: &str,
    editor: &str,
) -> Result<Zeroizing<String>, SecretsError> {
    let base = private_base();
    let dir = tempfile::Builder::new()
        .prefix("seibi-edit-")
        .tempdir_in(&base)
        .map_err(|e| SecretsError::io("create a private directory in", &base, e))?;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
        .map_err(|e| SecretsError::io("restrict", dir.path(), e))?;
    let stem = file_label.trim_end_matches(".age");
    let path = dir.path().join(format!("{stem}.yml"));
    let _wipe = WipeOnDrop(path.clone());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| SecretsError::io("create", &path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| SecretsError::io("write", &path, e))?;
    drop(file);

    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("seibi-editor")
        .arg(&path)
        .status()
        .map_err(|e| SecretsError::Edit(format!("cannot start the editor `{editor}`: {e}")))?;
    if !status.success() {
        return Err(SecretsError::Edit(format!(
            "the editor `{editor}` exited with {status}; {file_label} was left unchanged"
        )));
    }
    let bytes =
        Zeroizing::new(fs::read(&path).map_err(|e| SecretsError::io("read back", &path, e))?);
    let edited = std::str::from_utf8(&bytes).map_err(|_| {
        SecretsError::Edit(format!(
            "the edited text is not UTF-8; {file_label} was left unchanged"
        ))
    })?;
    Ok(Zeroizing::new(edited.to_string()))
}

/// Where private edit directories are made.
fn private_base() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_dir() => dir,
        _ => std::env::temp_dir(),
    }
}

/// Overwrites the plaintext copy with zeros before the directory is removed.
struct WipeOnDrop(PathBuf);

impl Drop for WipeOnDrop {
    fn drop(&mut self) {
        wipe(&self.0);
    }
}

fn wipe(path: &Path) {
    // The editor may have replaced the file (write to new + rename), so size it afresh.
    if let Ok(meta) = fs::metadata(path)
        && let Ok(mut f) = OpenOptions::new().write(true).open(path)
    {
        let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
        let _ = f.write_all(&zeros).and_then(|()| f.sync_all());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_changes_come_back_and_the_directory_goes() {
        let out = tempfile::tempdir().expect("tempdir");
        let seen = out.path().join("seen");
        // The "editor" records where it ran and the directory's mode, then appends a line.
        let editor = format!(
            "sh -c 'echo \"$0\" > {seen}; stat -c %a \"$(dirname \"$0\")\" >> {seen}; echo \"b: 2\" >> \"$0\"'",
            seen = seen.display()
        );
        let edited = edit_in_private_dir("a: 1\n", "x.age", &editor).expect("edit");
        assert_eq!(edited.as_str(), "a: 1\nb: 2\n");
        let record = fs::read_to_string(&seen).expect("record");
        let mut lines = record.lines();
        let edited_path = PathBuf::from(lines.next().expect("path"));
        assert_eq!(lines.next(), Some("700"));
        assert!(!edited_path.exists());
        assert!(!edited_path.parent().expect("dir").exists());
    }

    #[test]
    fn failing_editor_still_removes_the_copy() {
        let out = tempfile::tempdir().expect("tempdir");
        let seen = out.path().join("seen");
        let editor = format!("sh -c 'echo \"$0\" > {}; exit 3'", seen.display());
        let err = edit_in_private_dir("secret: x\n", "x.age", &editor).expect_err("fails");
        assert!(err.to_string().contains("left unchanged"), "{err}");
        let edited_path = PathBuf::from(fs::read_to_string(&seen).expect("record").trim());
        assert!(!edited_path.parent().expect("dir").exists());
    }
}
