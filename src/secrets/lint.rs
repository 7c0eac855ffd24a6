//! `seibi secrets lint`: files not encrypted to the current recipients, and secrets lying around
//! in plaintext.
//!
//! Without any private key, each `.age` file's header is compared with `recipients.txt`: SSH
//! recipients exactly (their stanzas carry a tag derived from the public key), X25519
//! recipients by count (their stanzas are anonymous by design). With an identity that is on the
//! list, each file is also trial-decrypted, which catches a replaced X25519 key. The plaintext
//! checks look at the whole project tree (not `.git` or build output) for age and OpenSSH
//! private keys, and at `secrets/` for YAML files that are not encrypted. A key whose path
//! contains `demo` or lies under `tests/` is only a warning.

use std::path::{Path, PathBuf};

use super::age_store::{compare_stanzas, header_stanzas, looks_like_age};
use super::markers::{AGE_SECRET, EC_BEGIN, OPENSSH_BEGIN, PKCS8_BEGIN, RSA_BEGIN};
use super::store::{INDEX_FILE, Index, RECIPIENTS_FILE, age_files_below, decrypt_file, sha256_hex};
use super::{Identity, Recipients, SecretsError};
use crate::source::{Diagnostic, Diagnostics};

/// Largest file the plaintext scan reads.
const SCAN_LIMIT: u64 = 4 * 1024 * 1024;
/// Directories the plaintext scan skips (besides hidden ones).
const SKIP_DIRS: &[&str] = &["target", "node_modules"];

/// Checks `secrets_dir` and the project tree around it. Problems are returned as diagnostics
/// (errors and warnings); `Err` only when the tree cannot be read.
pub fn lint(
    project: &Path,
    secrets_dir: &Path,
    identity: Option<&Identity>,
) -> Result<Diagnostics, SecretsError> {
    let mut out = Diagnostics::new();
    let recipients = match Recipients::load(&secrets_dir.join(RECIPIENTS_FILE)) {
        Ok(r) => Some(r),
        Err(SecretsError::Invalid(d)) => {
            out.push(d);
            None
        }
        Err(e) => {
            out.push(Diagnostic::error(e.to_string()));
            None
        }
    };
    let keys = recipients
        .as_ref()
        .map(Recipients::keys)
        .unwrap_or_default();
    let identity_listed =
        identity.is_some_and(|id| id.public_keys().iter().any(|k| keys.contains(k)));

    let mut age_files = age_files_below(secrets_dir)?;
    age_files.sort();
    for path in &age_files {
        let bytes = std::fs::read(path).map_err(|e| SecretsError::io("read", path, e))?;
        if !looks_like_age(&bytes) {
            out.push(
                Diagnostic::error(format!("{} is not an age file", path.display())).hint(
                    "if it holds secrets in plaintext, encrypt them (`seibi secrets edit`) and delete it; also purge it from version control history",
                ),
            );
            continue;
        }
        let stanzas = match header_stanzas(&bytes) {
            Ok(s) => s,
            Err(reason) => {
                out.push(Diagnostic::error(format!(
                    "{} is corrupted ({reason})",
                    path.display()
                )));
                continue;
            }
        };
        if recipients.is_some()
            && let Err(difference) = compare_stanzas(&stanzas, &keys)
        {
            out.push(
                Diagnostic::error(format!(
                    "{} is not encrypted to the current recipients: {difference}",
                    path.display()
                ))
                .hint("run `seibi secrets rekey` with an identity that can read it"),
            );
            continue;
        }
        if let (Some(id), true) = (identity, identity_listed)
            && let Err(e) = decrypt_file(path, id)
        {
            out.push(
                Diagnostic::error(e.to_string())
                    .hint("your identity is on the recipients list, so the file was not re-encrypted after a key change; run `seibi secrets rekey`"),
            );
        }
    }

    lint_index(secrets_dir, &mut out)?;
    lint_plaintext_yaml(secrets_dir, &mut out)?;
    scan_for_private_keys(project, &mut out)?;
    if identity.is_some() && !identity_listed && recipients.is_some() {
        out.push(Diagnostic::warning(
            "the identity given is not on the recipients list, so files were not trial-decrypted",
        ));
    }
    Ok(out)
}

fn lint_index(secrets_dir: &Path, out: &mut Diagnostics) -> Result<(), SecretsError> {
    let index_path = secrets_dir.join(INDEX_FILE);
    let index = match Index::load(&index_path) {
        Ok(i) => i,
        Err(SecretsError::Invalid(d)) => {
            out.push(d);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for (file, entry) in &index.files {
        let path = secrets_dir.join(file);
        match std::fs::read(&path) {
            Ok(bytes) if sha256_hex(&bytes) != entry.sha256 => out.push(
                Diagnostic::warning(format!(
                    "{} changed since {} was written (edited outside seibi?), so its names and versions may be stale",
                    path.display(),
                    index_path.display()
                ))
                .hint("run `seibi secrets rekey` to rebuild the index"),
            ),
            Ok(_) => {}
            Err(_) => out.push(
                Diagnostic::error(format!(
                    "{} lists {file}, which does not exist",
                    index_path.display()
                ))
                .hint("restore the file or run `seibi secrets rekey` to rebuild the index"),
            ),
        }
    }
    let entries =
        std::fs::read_dir(secrets_dir).map_err(|e| SecretsError::io("list", secrets_dir, e))?;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".age") && entry.path().is_file() && !index.files.contains_key(&name) {
            out.push(
                Diagnostic::warning(format!(
                    "{} is not in {}, so its secret names are unknown to `seibi check`",
                    entry.path().display(),
                    index_path.display()
                ))
                .hint("run `seibi secrets rekey` to index it"),
            );
        }
    }
    Ok(())
}

fn lint_plaintext_yaml(secrets_dir: &Path, out: &mut Diagnostics) -> Result<(), SecretsError> {
    let entries =
        std::fs::read_dir(secrets_dir).map_err(|e| SecretsError::io("list", secrets_dir, e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let is_yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
        let is_index = path.file_name().is_some_and(|n| n == INDEX_FILE);
        if is_yaml && !is_index && path.is_file() {
            out.push(
                Diagnostic::error(format!(
                    "{} is plaintext YAML in the secrets directory",
                    path.display()
                ))
                .hint("secrets must be age-encrypted: move the values into a `.age` file with `seibi secrets edit` or `seibi secrets set`, delete this file and purge it from version control history"),
            );
        }
    }
    Ok(())
}

fn scan_for_private_keys(root: &Path, out: &mut Diagnostics) -> Result<(), SecretsError> {
    let mut stack = vec![root.to_path_buf()];
    let mut found: Vec<(PathBuf, &'static str)> = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.file_type() else {
                continue;
            };
            if meta.is_dir() {
                if !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
                continue;
            }
            if !meta.is_file() || name.ends_with(".age") {
                continue;
            }
            if entry
                .metadata()
                .map(|m| m.len() > SCAN_LIMIT)
                .unwrap_or(true)
            {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if let Some(kind) = private_key_kind(&bytes) {
                found.push((path, kind));
            }
        }
    }
    found.sort();
    for (path, kind) in found {
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let demo = relative.to_string_lossy().contains("demo");
        let test = relative.starts_with("tests");
        let message = format!("{} contains {kind}", path.display());
        out.push(if demo || test {
            Diagnostic::warning(message).hint(if demo {
                "a demo key: never encrypt anything real to it"
            } else {
                "a test key: never encrypt anything real to it"
            })
        } else {
            Diagnostic::error(message).hint(
                "private keys must not live in the project: move it to your home directory (mode 0600), remove it here and from version control history, and rotate it if it was ever committed",
            )
        });
    }
    Ok(())
}

/// What private key material `bytes` hold, if any. Only a marker followed by key data counts,
/// so source code that merely names the markers (like this file) is not reported.
fn private_key_kind(bytes: &[u8]) -> Option<&'static str> {
    const AGE: &[u8] = AGE_SECRET.as_bytes();
    const BECH32: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
    let pem: [(&[u8], &'static str); 4] = [
        (OPENSSH_BEGIN.as_bytes(), "an OpenSSH private key"),
        (RSA_BEGIN.as_bytes(), "an RSA private key"),
        (EC_BEGIN.as_bytes(), "an EC private key"),
        (PKCS8_BEGIN.as_bytes(), "a PKCS#8 private key"),
    ];
    for start in find_all(bytes, AGE) {
        let rest = &bytes[start + AGE.len()..];
        if rest.len() >= 58 && rest[..58].iter().all(|b| BECH32.contains(b)) {
            return Some(concat!("an age private key (AGE-SECRET", "-KEY-1...)"));
        }
    }
    for (marker, kind) in pem {
        for start in find_all(bytes, marker) {
            let rest = &bytes[start + marker.len()..];
            let rest = rest.strip_prefix(b"\r").unwrap_or(rest);
            if let Some(body) = rest.strip_prefix(b"\n")
                && body.len() >= 20
                && body[..20]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                return Some(kind);
            }
        }
    }
    None
}

fn find_all<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_markers_need_key_data() {
        let (identity_text, _) = Identity::generate_x25519();
        assert!(private_key_kind(identity_text.expose().as_bytes()).is_some());
        let named = format!("const AGE: &[u8] = b\"{AGE_SECRET}\";");
        assert!(private_key_kind(named.as_bytes()).is_none());
        let key = format!("{OPENSSH_BEGIN}\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n");
        assert!(private_key_kind(key.as_bytes()).is_some());
        let quoted = format!("\"{OPENSSH_BEGIN}\"");
        assert!(private_key_kind(quoted.as_bytes()).is_none());
    }
}
