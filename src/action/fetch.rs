//! The `fetch` action: collect files (logs) from a terminal into
//! `<collect_root>/<terminal>/<run_id>/`, each under its remote path with the leading `/`
//! stripped, with a `SHA256SUMS` file beside them (the format of `sha256sum`, so
//! `sha256sum -c SHA256SUMS` checks them there).
//!
//! **Query** expands each pattern with the terminal's `sh` (`*`, `?`, `[...]`; no word
//! splitting, so spaces in paths are fine) and lists the regular files it matches with their
//! sizes. A pattern that matches nothing is reported, not an error; matches that are not
//! regular files (directories, devices) are skipped and reported. A file larger than
//! `max_bytes` ([`DEFAULT_MAX_BYTES`], 100 MiB, when unset: the whole file passes through
//! memory) fails the task before anything is collected, as does a file the login user cannot
//! read. Nothing on the terminal changes, so the query answers [`Query::collect`]: in check
//! mode nothing is collected, otherwise `apply` runs and the outcome is `Ok`.
//!
//! **Apply** lists again and downloads each file with one command that streams it through
//! `tee` into `sha256sum` on the terminal, so the remote digest is of exactly the bytes sent
//! even while a log grows; the digest of what arrived must match it, which catches a truncated
//! transfer. Files and `SHA256SUMS` are written atomically. The outcome's facts list every
//! file with its local path, size and SHA-256, the patterns that matched nothing and what was
//! skipped.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ActionContext, ActionError, Applied, Query};
use crate::playbook::FetchArgs;
use crate::transport::shell_quote;

/// The size limit per file when `max_bytes` is not given.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Where `fetch` and `inspect` store what they collect from this terminal in this run:
/// `<collect_root>/<terminal>/<run_id>`.
pub(crate) fn collect_dir(ctx: &ActionContext<'_>) -> Result<PathBuf, ActionError> {
    for (what, value) in [
        ("terminal id", &ctx.terminal.id),
        ("run id", &ctx.env.run_id),
    ] {
        let mut parts = Path::new(value.as_str()).components();
        let plain = matches!(
            (parts.next(), parts.next()),
            (Some(Component::Normal(_)), None)
        );
        if !plain {
            return Err(ActionError::Local(format!(
                "the {what} `{value}` cannot name a directory under {}; it must be one plain path component",
                ctx.env.collect_root.display()
            )));
        }
    }
    Ok(ctx
        .env
        .collect_root
        .join(&ctx.terminal.id)
        .join(&ctx.env.run_id))
}

/// Writes `bytes` to `path` through a temporary file in the same directory, creating the
/// directories on the way.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ActionError> {
    let fail = |e: &dyn std::fmt::Display| {
        ActionError::Local(format!("cannot write {}: {e}", path.display()))
    };
    let dir = path.parent().ok_or_else(|| fail(&"it has no directory"))?;
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    file.write_all(bytes).map_err(|e| fail(&e))?;
    file.as_file().sync_all().map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// One regular file the patterns matched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Match {
    path: String,
    size: u64,
}

/// What the patterns matched on the terminal.
#[derive(Debug, Default)]
struct Listing {
    files: Vec<Match>,
    /// Patterns that matched nothing.
    missing: Vec<String>,
    /// Matches that are not regular files.
    not_regular: Vec<String>,
    /// Regular files the login user cannot read.
    unreadable: Vec<String>,
}

fn args(ctx: &ActionContext<'_>) -> Result<FetchArgs, ActionError> {
    let args: FetchArgs = ctx.args()?;
    if args.paths.is_empty() {
        return Err(ActionError::Args(
            "`paths` lists no files to collect".to_string(),
        ));
    }
    for p in &args.paths {
        if !p.starts_with('/') || p.contains('\0') {
            return Err(ActionError::Args(format!(
                "`{p}` is not an absolute path on the terminal; paths to collect start with `/`"
            )));
        }
        if p.split('/').any(|c| c == "..") {
            return Err(ActionError::Args(format!(
                "`{p}` contains `..`; write the path without it so that collected files stay inside the collection directory"
            )));
        }
    }
    Ok(args)
}

/// The `sh` script listing what each pattern matches, as NUL-separated records of four
/// fields: kind (`F` file, `N` not a regular file, `U` unreadable, `M` no match), pattern
/// index, size, path.
fn listing_script(patterns: &[String]) -> String {
    let words: Vec<String> = patterns.iter().map(|p| shell_quote(p)).collect();
    format!(
        "IFS=''\nn=0\nfor p in {words}; do\n\
         found=0\n\
         for f in $p; do\n\
           if [ -e \"$f\" ] || [ -L \"$f\" ]; then\n\
             found=1\n\
             if [ ! -f \"$f\" ]; then printf 'N\\0%s\\0\\0%s\\0' \"$n\" \"$f\"\n\
             elif [ ! -r \"$f\" ]; then printf 'U\\0%s\\0\\0%s\\0' \"$n\" \"$f\"\n\
             else printf 'F\\0%s\\0%s\\0%s\\0' \"$n\" \"$(wc -c < \"$f\")\" \"$f\"; fi\n\
           fi\n\
         done\n\
         [ \"$found\" = 1 ] || printf 'M\\0%s\\0\\0\\0' \"$n\"\n\
         n=$((n + 1))\n\
         done\n",
        words = words.join(" ")
    )
}

/// Splits a remote script's NUL-separated output into its fields, checking that they make whole
/// records of `width` fields (a short count means the output was cut off).
pub(crate) fn nul_fields(stdout: &[u8], width: usize) -> Option<Vec<String>> {
    let mut fields: Vec<String> = stdout
        .split(|b| *b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    // A trailing NUL leaves one empty field at the end.
    if fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    fields.len().is_multiple_of(width).then_some(fields)
}

fn parse_listing(stdout: &[u8], patterns: &[String]) -> Result<Listing, String> {
    let fields = nul_fields(stdout, 4)
        .ok_or_else(|| "the listing of matching files was cut short".to_string())?;
    let mut listing = Listing::default();
    let mut seen = BTreeSet::new();
    for record in fields.chunks(4) {
        let [kind, index, size, path] = record else {
            continue;
        };
        match kind.as_str() {
            "F" => {
                let size = size
                    .trim()
                    .parse()
                    .map_err(|_| format!("`wc -c` gave `{size}` for {path}"))?;
                if seen.insert(path.clone()) {
                    listing.files.push(Match {
                        path: path.clone(),
                        size,
                    });
                }
            }
            "N" => listing.not_regular.push(path.clone()),
            "U" => listing.unreadable.push(path.clone()),
            "M" => {
                let pattern = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| patterns.get(i))
                    .ok_or_else(|| format!("unexpected pattern number `{index}`"))?;
                listing.missing.push(pattern.clone());
            }
            other => return Err(format!("unexpected record `{other}`")),
        }
    }
    Ok(listing)
}

async fn list(ctx: &ActionContext<'_>, args: &FetchArgs) -> Result<Listing, ActionError> {
    let out = ctx.exec_ok(&listing_script(&args.paths), None).await?;
    let listing = parse_listing(&out.stdout, &args.paths).map_err(|e| ActionError::Failed {
        message: format!("cannot list the files to collect: {e}"),
        output: Some(out.clone()),
    })?;
    if !listing.unreadable.is_empty() {
        return Err(ActionError::Failed {
            message: format!(
                "cannot read {} as `{}` on the terminal; log in as a user that can, or leave the file out of `paths:`",
                listing.unreadable.join(", "),
                ctx.terminal.user
            ),
            output: None,
        });
    }
    let max = args.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    let big: Vec<String> = listing
        .files
        .iter()
        .filter(|f| f.size > max)
        .map(|f| format!("{} ({})", f.path, human_bytes(f.size)))
        .collect();
    if !big.is_empty() {
        return Err(ActionError::Failed {
            message: format!(
                "refusing to collect {}: larger than the limit of {}; raise `max_bytes:` or narrow the paths",
                big.join(", "),
                limit(max)
            ),
            output: None,
        });
    }
    Ok(listing)
}

/// `max_bytes` for people: `1000 bytes`, `1048576 bytes (1.0 MiB)`.
fn limit(max: u64) -> String {
    if max < 1024 {
        format!("{max} bytes")
    } else {
        format!("{max} bytes ({})", human_bytes(max))
    }
}

/// `1.5 KiB`, `12.0 MiB`, `512 bytes`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn summary(verb: &str, listing: &Listing) -> String {
    let total: u64 = listing.files.iter().map(|f| f.size).sum();
    let mut out = format!(
        "{verb} {} file{} ({})",
        listing.files.len(),
        if listing.files.len() == 1 { "" } else { "s" },
        human_bytes(total)
    );
    if !listing.missing.is_empty() {
        let _ = write!(out, "; nothing matches {}", listing.missing.join(", "));
    }
    if !listing.not_regular.is_empty() {
        let _ = write!(
            out,
            "; skipped (not regular files) {}",
            listing.not_regular.join(", ")
        );
    }
    out
}

/// What would be collected.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args = args(ctx)?;
    let listing = list(ctx, &args).await?;
    let facts = json!({
        "files": listing.files.iter().map(|f| json!({"path": f.path, "size": f.size})).collect::<Vec<_>>(),
        "missing": listing.missing,
        "skipped": listing.not_regular,
    });
    Ok(Query::collect(summary("collect", &listing), Some(facts)))
}

/// The file's place under the collection directory: its remote path without the leading `/`.
fn local_path(dir: &Path, remote: &str) -> Result<PathBuf, ActionError> {
    let relative = Path::new(remote.trim_start_matches('/'));
    let plain = relative.components().count() > 0
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(ActionError::Failed {
            message: format!(
                "the collected path `{remote}` has `.` or `..` in it, which could leave the collection directory; narrow the pattern"
            ),
            output: None,
        });
    }
    Ok(dir.join(relative))
}

/// One `sha256sum` line, escaped as GNU coreutils does for names with `\` or a newline.
fn sums_line(sha256: &str, name: &str) -> String {
    if name.contains('\\') || name.contains('\n') {
        let escaped = name.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{sha256}  {escaped}\n")
    } else {
        format!("{sha256}  {name}\n")
    }
}

const READ_FAILED: &str = "seibi-fetch-read-failed";

/// Streams one file to stdout and its SHA-256 (of exactly those bytes) to stderr.
fn download_script(path: &str) -> String {
    format!(
        "f={path}\n\
         if [ ! -f \"$f\" ] || [ ! -r \"$f\" ]; then echo \"$f is no longer a readable regular file\" >&2; exit 3; fi\n\
         {{ {{ cat -- \"$f\" || echo {READ_FAILED} >&2; }} | tee /dev/fd/3 | sha256sum >&2; }} 3>&1\n",
        path = shell_quote(path)
    )
}

/// Collects the files.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let args = args(ctx)?;
    let max = args.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    let listing = list(ctx, &args).await?;
    let dir = collect_dir(ctx)?;
    let mut collected = Vec::new();
    let mut sums = Vec::new();
    for file in &listing.files {
        let local = local_path(&dir, &file.path)?;
        let out = ctx.exec(&download_script(&file.path), None).await?;
        let stderr = out.stderr_text();
        if !out.success() || stderr.contains(READ_FAILED) {
            return Err(ActionError::Failed {
                message: format!(
                    "cannot collect {} (exit status {}): {}",
                    file.path,
                    out.exit_status,
                    ctx.redact(stderr.replace(READ_FAILED, "").trim())
                ),
                output: Some(out),
            });
        }
        let remote_sha = stderr
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .rfind(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase);
        let local_sha = hex::encode(Sha256::digest(&out.stdout));
        if remote_sha.as_deref() != Some(local_sha.as_str()) {
            return Err(ActionError::Failed {
                message: format!(
                    "{} arrived damaged: {} bytes with SHA-256 {local_sha}, but the terminal sent {}; run the job again",
                    file.path,
                    out.stdout.len(),
                    remote_sha.as_deref().unwrap_or("no digest")
                ),
                output: None,
            });
        }
        let size = out.stdout.len() as u64;
        if size > max {
            return Err(ActionError::Failed {
                message: format!(
                    "{} grew to {} while being collected, over the limit of {}; raise `max_bytes:` or narrow the paths",
                    file.path,
                    human_bytes(size),
                    limit(max)
                ),
                output: None,
            });
        }
        write_atomically(&local, &out.stdout)?;
        sums.push((
            file.path.trim_start_matches('/').to_string(),
            local_sha.clone(),
        ));
        collected.push(json!({
            "path": file.path,
            "local": local.display().to_string(),
            "size": size,
            "sha256": local_sha,
        }));
    }
    sums.sort();
    let text: String = sums
        .iter()
        .map(|(name, sha)| sums_line(sha, name))
        .collect();
    write_atomically(&dir.join("SHA256SUMS"), text.as_bytes())?;
    let mut summary = summary("collected", &listing);
    let _ = write!(summary, " into {}", dir.display());
    Ok(Applied {
        changed: false,
        summary,
        output: None,
        facts: Some(json!({
            "dir": dir.display().to_string(),
            "files": collected,
            "missing": listing.missing,
            "skipped": listing.not_regular,
        })),
        reconnect: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listing_records() {
        let patterns = vec!["/var/log/a*".to_string(), "/none*".to_string()];
        let out = b"F\x000\x00 12\x00/var/log/a b\x00F\x000\x003\x00/var/log/a b\x00N\x000\x00\x00/var/log/adir\x00M\x001\x00\x00\x00";
        let listing = parse_listing(out, &patterns).expect("parses");
        assert_eq!(
            listing.files,
            vec![Match {
                path: "/var/log/a b".into(),
                size: 12
            }]
        );
        assert_eq!(listing.missing, vec!["/none*".to_string()]);
        assert_eq!(listing.not_regular, vec!["/var/log/adir".to_string()]);
        assert!(parse_listing(b"F\x000\x00", &patterns).is_err());
    }

    #[test]
    fn local_paths_stay_inside() {
        let dir = Path::new("/c/t/r");
        assert_eq!(
            local_path(dir, "/var/log/syslog").expect("plain"),
            PathBuf::from("/c/t/r/var/log/syslog")
        );
        assert!(local_path(dir, "/var/log/../../etc/shadow").is_err());
        assert!(local_path(dir, "/").is_err());
    }

    #[test]
    fn sums_lines_escape_like_coreutils() {
        assert_eq!(sums_line("ab", "var/log/x"), "ab  var/log/x\n");
        assert_eq!(sums_line("ab", "a\\b\nc"), "\\ab  a\\\\b\\nc\n");
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(100 * 1024 * 1024), "100.0 MiB");
    }
}
