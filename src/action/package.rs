//! The `package` and `patch` actions: install a `.deb` from a job's verified media.
//!
//! The plan gives the artifact's name, the package and version it installs, its SHA-256 and
//! whether it is virus-scanned; the file itself is [`ApplyEnv::artifacts`]`[(job, artifact)]`.
//!
//! **Query** asks `dpkg-query` for the package's status and version. Installed at exactly the
//! planned version: nothing to do. Installed at a *newer* version (`dpkg --compare-versions`):
//! nothing to do either, and the summary says so; seibi never downgrades a package. Otherwise
//! ("not installed", an older version, a half-installed one) the change is to install, and the
//! local media are verified already here, so that a dry run of tampered media fails too.
//!
//! **Apply** reads the media once into memory and works on those bytes only, so what was
//! verified is what is scanned and what is sent: (1) their SHA-256 must equal both the plan's
//! and the one [`ApplyEnv::artifacts`] pinned, else nothing is uploaded (for a `patch`: the media
//! failed verification and must not be applied); (2) with `scan: true` they are written to a
//! private temporary file and scanned on this machine with `<scanner> --no-summary <file>`
//! ([`ApplyEnv::scanner`], `clamscan` by default): exit 0 is clean, 1 is infected, anything else
//! (including a missing scanner) fails; (3) they are uploaded to `<sha256>.deb` in a private `mktemp -d` directory under `/var/tmp`
//! (mode 0600), checked there with `sha256sum` and installed with
//! `DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold` (local changes to
//! configuration files are kept); the uploaded file is removed whatever happens. Finally the
//! package is queried again and the task fails unless it is installed at the planned version.
//! `dpkg -i` does not fetch dependencies: media must be installable on their own.
//!
//! [`ApplyEnv::artifacts`]: super::ApplyEnv::artifacts
//! [`ApplyEnv::scanner`]: super::ApplyEnv::scanner

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{ActionContext, ActionError, Applied, Query};
use crate::transport::shell_quote;

/// The scanner used when the environment names none.
pub const DEFAULT_SCANNER: &str = "clamscan";

/// The planned arguments of `package` and `patch`: the playbook's `artifact` plus what the
/// planner adds from the job's `artifacts:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Planned {
    artifact: String,
    package: String,
    version: String,
    sha256: String,
    #[serde(default)]
    scan: bool,
}

impl Planned {
    fn from(ctx: &ActionContext<'_>) -> Result<Self, ActionError> {
        let planned: Planned = ctx.args()?;
        let name_ok = planned.package.len() >= 2
            && planned
                .package
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
            && planned
                .package
                .starts_with(|c: char| c.is_ascii_alphanumeric());
        if !name_ok {
            return Err(ActionError::Args(format!(
                "`{}` is not a Debian package name (lowercase letters, digits, `+`, `-`, `.`); fix `package:` of artifact `{}` in job `{}`",
                planned.package, planned.artifact, ctx.task.job
            )));
        }
        let version_ok = !planned.version.is_empty()
            && planned.version.starts_with(|c: char| c.is_ascii_digit())
            && planned
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c));
        if !version_ok {
            return Err(ActionError::Args(format!(
                "`{}` is not a Debian version; fix `version:` of artifact `{}` in job `{}`",
                planned.version, planned.artifact, ctx.task.job
            )));
        }
        if !is_sha256(&planned.sha256) {
            return Err(ActionError::Args(format!(
                "`{}` is not a SHA-256 in hex; fix `sha256:` of artifact `{}` in job `{}`",
                planned.sha256, planned.artifact, ctx.task.job
            )));
        }
        Ok(planned)
    }

    fn is_patch(ctx: &ActionContext<'_>) -> bool {
        ctx.task.action == "patch"
    }
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// What dpkg knows about a package on the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PackageState {
    /// The version, when the package is fully installed.
    pub(super) installed: Option<String>,
    /// dpkg's status word (`installed`, `not-installed`, `config-files`, `half-configured`, ...),
    /// `None` when dpkg does not know the package at all.
    status: Option<String>,
    /// The version dpkg records even when not fully installed.
    version: String,
}

impl fmt::Display for PackageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.installed, self.status.as_deref()) {
            (Some(v), _) => write!(f, "has {v}"),
            (None, None | Some("not-installed")) => f.write_str("not installed"),
            (None, Some("config-files")) => f.write_str("not installed, configuration files left"),
            (None, Some(status)) if self.version.is_empty() => write!(f, "{status}"),
            (None, Some(status)) => write!(f, "has {} {status}", self.version),
        }
    }
}

/// Parses `dpkg-query -W -f='${Status}\t${Version}'` output (`install ok installed\t1.2-1`).
pub(super) fn parse_state(stdout: &str) -> PackageState {
    let line = stdout.lines().next().unwrap_or("");
    let (status, version) = line.split_once('\t').unwrap_or((line, ""));
    let word = status.split_whitespace().nth(2).map(str::to_string);
    PackageState {
        installed: (word.as_deref() == Some("installed")).then(|| version.to_string()),
        status: word,
        version: version.to_string(),
    }
}

async fn package_state(
    ctx: &ActionContext<'_>,
    package: &str,
) -> Result<PackageState, ActionError> {
    let command = format!(
        "dpkg-query -W -f='${{Status}}\\t${{Version}}' {}",
        shell_quote(package)
    );
    let out = ctx.exec(&command, None).await?;
    match out.exit_status {
        0 => Ok(parse_state(&out.stdout_text())),
        // dpkg-query: "no packages found matching ..."
        1 => Ok(PackageState {
            installed: None,
            status: None,
            version: String::new(),
        }),
        status => Err(ActionError::Failed {
            message: format!(
                "cannot ask dpkg about `{package}` (dpkg-query exited with status {status}): {}; is this a Debian terminal?",
                ctx.redact(out.stderr_text().trim())
            ),
            output: Some(out),
        }),
    }
}

/// Whether Debian version `a` is newer than `b`, by `dpkg --compare-versions` on the terminal.
async fn newer(ctx: &ActionContext<'_>, a: &str, b: &str) -> Result<bool, ActionError> {
    let command = format!(
        "dpkg --compare-versions {} gt {}",
        shell_quote(a),
        shell_quote(b)
    );
    let out = ctx.exec(&command, None).await?;
    match out.exit_status {
        0 => Ok(true),
        1 => Ok(false),
        status => Err(ActionError::Failed {
            message: format!(
                "cannot compare versions {a} and {b} (dpkg exited with status {status}): {}",
                out.stderr_text().trim()
            ),
            output: Some(out),
        }),
    }
}

/// What would change.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let planned = Planned::from(ctx)?;
    let state = package_state(ctx, &planned.package).await?;
    if let Some(version) = &state.installed {
        if *version == planned.version {
            return Ok(Query::unchanged(format!(
                "{} {version} installed",
                planned.package
            )));
        }
        if newer(ctx, version, &planned.version).await? {
            return Ok(Query::unchanged(format!(
                "{} {version} installed, newer than the planned {}; not downgraded",
                planned.package, planned.version
            )));
        }
    }
    // Tampered or missing media fail the dry run too, not only the real one.
    read_verified(ctx, &planned).await?;
    Ok(Query::change(format!(
        "install {} {} ({state})",
        planned.package, planned.version
    )))
}

/// Makes the change.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let planned = Planned::from(ctx)?;
    let before = package_state(ctx, &planned.package).await?;
    let media = read_verified(ctx, &planned).await?;
    let scan_report = if planned.scan {
        Some(scan(ctx, &planned, &media).await?)
    } else {
        None
    };

    // A private directory per upload (mktemp -d, mode 0700): two runs, or two terminals that
    // share /var/tmp, never touch each other's media.
    let dir = ctx
        .exec_ok("mktemp -d /var/tmp/seibi-media.XXXXXXXX", None)
        .await?
        .stdout_text()
        .trim()
        .to_string();
    if !dir.starts_with("/var/tmp/seibi-media.") {
        return Err(ActionError::Failed {
            message: format!(
                "could not make a private directory for the media on the terminal (got `{dir}`)"
            ),
            output: None,
        });
    }
    let remote = format!("{dir}/{}.deb", planned.sha256);
    let result = install(ctx, &planned, &media.bytes, &remote).await;
    // The directory goes whatever happened; nothing more to do if that fails too.
    let _ = ctx
        .exec(&format!("rm -rf -- {}", shell_quote(&dir)), None)
        .await;
    let output = result?;

    let after = package_state(ctx, &planned.package).await?;
    if after.installed.as_deref() != Some(planned.version.as_str()) {
        return Err(ActionError::Failed {
            message: format!(
                "after `dpkg -i`, {} is {after} rather than installed at the planned {}; dpkg said: {}",
                planned.package,
                planned.version,
                ctx.redact(last_lines(&output.stdout_text(), 5).trim())
            ),
            output: Some(output),
        });
    }
    let previous = before.installed.clone();
    Ok(Applied {
        changed: true,
        summary: format!(
            "installed {} {} (was {})",
            planned.package,
            planned.version,
            match &before.installed {
                Some(version) => version.clone(),
                None => before.to_string(),
            }
        ),
        facts: Some(serde_json::json!({
            "package": planned.package,
            "version": planned.version,
            "previous": previous,
            "artifact": planned.artifact,
            "sha256": planned.sha256,
            "scanned": planned.scan,
            "scan": scan_report,
        })),
        output: Some(output),
        reconnect: None,
    })
}

/// Uploads the media, checks them on the terminal and runs `dpkg -i`; the file is removed by
/// the script whatever happens.
async fn install(
    ctx: &ActionContext<'_>,
    planned: &Planned,
    bytes: &[u8],
    remote: &str,
) -> Result<crate::transport::ExecOutput, ActionError> {
    ctx.transport.upload(bytes, remote, 0o600).await?;
    let script = format!(
        "f={file}\n\
         trap 'rm -f -- \"$f\"' EXIT\n\
         if ! printf '%s  %s\\n' {sha} \"$f\" | sha256sum -c --status; then\n\
           echo \"the uploaded $f does not have SHA-256 {sha}: the transfer was damaged; run the job again\" >&2\n\
           exit 90\n\
         fi\n\
         DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold \"$f\"\n",
        file = shell_quote(remote),
        sha = planned.sha256,
    );
    let output = ctx.exec(&script, None).await?;
    if !output.success() {
        let mut said = output.stderr_text();
        if said.trim().is_empty() {
            said = output.stdout_text();
        }
        return Err(ActionError::Failed {
            message: format!(
                "installing {} {} failed (exit status {}): {}",
                planned.package,
                planned.version,
                output.exit_status,
                ctx.redact(last_lines(&said, 8).trim())
            ),
            output: Some(output),
        });
    }
    Ok(output)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The media's bytes, verified against the plan and the environment.
struct Media {
    /// The local file they were read from.
    path: PathBuf,
    bytes: Vec<u8>,
}

/// Reads the artifact and checks its SHA-256 against both pins.
async fn read_verified(ctx: &ActionContext<'_>, planned: &Planned) -> Result<Media, ActionError> {
    let key = (ctx.task.job.clone(), planned.artifact.clone());
    let local = ctx.env.artifacts.get(&key).ok_or_else(|| {
        ActionError::Local(format!(
            "artifact `{}` of job `{}` is not available on this machine; make sure the job's `artifacts:` entry points at the file and `seibi check` verifies it",
            planned.artifact, ctx.task.job
        ))
    })?;
    let bytes = tokio::fs::read(&local.path).await.map_err(|e| {
        ActionError::Local(format!(
            "cannot read artifact `{}` at {}: {e}",
            planned.artifact,
            local.path.display()
        ))
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    let plan_ok = actual.eq_ignore_ascii_case(&planned.sha256);
    let env_ok = actual.eq_ignore_ascii_case(&local.sha256);
    if !(plan_ok && env_ok) {
        let pins = if planned.sha256.eq_ignore_ascii_case(&local.sha256) {
            format!("the plan pinned {}", planned.sha256)
        } else {
            format!(
                "the plan pinned {} and the job's artifacts entry {}",
                planned.sha256, local.sha256
            )
        };
        let message = if Planned::is_patch(ctx) {
            format!(
                "the patch media {} (artifact `{}` of job `{}`) failed verification: its SHA-256 is {actual}, but {pins}. It must not be applied and was not uploaded. Obtain the media again from the vendor's notice, check them with `seibi check`, and make and approve a new plan",
                local.path.display(),
                planned.artifact,
                ctx.task.job
            )
        } else {
            format!(
                "the media {} (artifact `{}` of job `{}`) do not match: their SHA-256 is {actual}, but {pins}; nothing was uploaded. Obtain the file again, check it with `seibi check`, and make and approve a new plan",
                local.path.display(),
                planned.artifact,
                ctx.task.job
            )
        };
        return Err(ActionError::Local(message));
    }
    Ok(Media {
        path: local.path.clone(),
        bytes,
    })
}

/// What a clean virus scan of an artifact says, for the journal and the security report: the
/// task's `facts` carry it under `scan`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanReport {
    /// The scanner run (`clamscan`, or the one named with `--scanner`).
    pub scanner: String,
    /// The first line of `<scanner> --version`: for ClamAV, `ClamAV <engine>/<signature
    /// database version>/<its date>` (only the engine when no database is found).
    pub version: String,
    /// The signature database version, when the version line names one.
    pub database: Option<String>,
    /// Always `clean`: an infected or unscannable artifact fails the task.
    pub result: &'static str,
}

/// The first line of `<scanner> --version`, or `unknown`.
fn scanner_version(scanner: &str) -> String {
    std::process::Command::new(scanner)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Scans the verified bytes (written to a private temporary file) with the virus scanner.
async fn scan(
    ctx: &ActionContext<'_>,
    planned: &Planned,
    media: &Media,
) -> Result<ScanReport, ActionError> {
    let scanner = ctx
        .env
        .scanner
        .clone()
        .unwrap_or_else(|| DEFAULT_SCANNER.to_string());
    let bytes = media.bytes.clone();
    let shown = media.path.clone();
    let artifact = planned.artifact.clone();
    let job = ctx.task.job.clone();
    tokio::task::spawn_blocking(move || {
        run_scanner(&scanner, &bytes, &shown, &artifact, &job)?;
        let version = scanner_version(&scanner);
        let database = version.split('/').nth(1).map(str::to_string);
        Ok(ScanReport {
            scanner,
            version,
            database,
            result: "clean",
        })
    })
    .await
    .map_err(|e| ActionError::Local(format!("the virus scan did not finish: {e}")))?
}

/// Writes `bytes` to a private temporary file and runs `<scanner> --no-summary <file>` on it.
pub(crate) fn run_scanner(
    scanner: &str,
    bytes: &[u8],
    shown: &Path,
    artifact: &str,
    job: &str,
) -> Result<(), ActionError> {
    let local = |e: std::io::Error| {
        ActionError::Local(format!(
            "cannot prepare artifact `{artifact}` for the virus scan: {e}"
        ))
    };
    // tempfile creates the file with mode 0600.
    let mut file = tempfile::Builder::new()
        .prefix("seibi-scan-")
        .suffix(".deb")
        .tempfile()
        .map_err(local)?;
    file.write_all(bytes).map_err(local)?;
    file.flush().map_err(local)?;
    let scanned = file.path().to_path_buf();
    let output = std::process::Command::new(scanner)
        .arg("--no-summary")
        .arg(&scanned)
        .stdin(std::process::Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ActionError::Local(format!(
                "artifact `{artifact}` of job `{job}` must be virus-scanned (`scan: true`), but the scanner `{scanner}` is not installed on this machine. Install ClamAV (`apt-get install clamav`, then `freshclam` to fetch the signature database), or name another scanner; or, with the city's approval, remove `scan: true` from the artifact and make a new plan"
            )));
        }
        Err(e) => {
            return Err(ActionError::Local(format!(
                "cannot run the virus scanner `{scanner}`: {e}"
            )));
        }
    };
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(&scanned.display().to_string(), &shown.display().to_string())
            .trim()
            .to_string()
    };
    match output.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(ActionError::Local(format!(
            "media infected: the virus scanner `{scanner}` reports `{}` for artifact `{artifact}` of job `{job}`; it was not uploaded. Report it to the vendor and the city's security officer",
            non_empty(&text(&output.stdout), "a virus"),
        ))),
        code => {
            let status = code.map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
            Err(ActionError::Local(format!(
                "the virus scanner `{scanner}` could not scan artifact `{artifact}` (exit {status}): {}; for ClamAV, run `freshclam` to fetch the signature database. Nothing was uploaded",
                non_empty(&text(&output.stderr), "no message")
            )))
        }
    }
}

fn non_empty<'a>(text: &'a str, otherwise: &'a str) -> &'a str {
    if text.is_empty() { otherwise } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dpkg_status() {
        let s = parse_state("install ok installed\t3.0.15-1");
        assert_eq!(s.installed.as_deref(), Some("3.0.15-1"));
        assert_eq!(s.to_string(), "has 3.0.15-1");

        let s = parse_state("deinstall ok config-files\t3.0.14-1");
        assert_eq!(s.installed, None);
        assert_eq!(s.to_string(), "not installed, configuration files left");

        let s = parse_state("install ok half-configured\t3.0.14-1");
        assert_eq!(s.installed, None);
        assert_eq!(s.to_string(), "has 3.0.14-1 half-configured");

        let s = parse_state("unknown ok not-installed\t");
        assert_eq!(s.to_string(), "not installed");
    }

    #[test]
    fn scanner_exit_codes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stub = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write stub");
            let mut perms = std::fs::metadata(&path).expect("meta").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&path, perms).expect("chmod");
            path.display().to_string()
        };
        let shown = Path::new("/media/fix.deb");
        // The stub sees the media's bytes: it greps them, as a scanner reads the file.
        let clean = stub("clean", "grep -q MEDIA \"$2\" && [ \"$1\" = --no-summary ]");
        run_scanner(&clean, b"MEDIA", shown, "fix", "job").expect("clean media pass");
        assert_eq!(scanner_version("/nonexistent/scanner"), "unknown");
        let versioned = stub(
            "versioned",
            "echo 'ClamAV 1.4.6/27450/Mon Oct 12 09:12:01 2026'",
        );
        assert_eq!(
            scanner_version(&versioned),
            "ClamAV 1.4.6/27450/Mon Oct 12 09:12:01 2026"
        );
        assert!(run_scanner(&clean, b"other", shown, "fix", "job").is_err());

        let infected = stub(
            "infected",
            "echo \"$2: Eicar-Test-Signature FOUND\"; exit 1",
        );
        let err = run_scanner(&infected, b"x", shown, "fix", "job")
            .expect_err("infected")
            .to_string();
        assert!(err.starts_with("media infected"), "{err}");
        assert!(
            err.contains("/media/fix.deb: Eicar-Test-Signature FOUND"),
            "the scanned temporary path is shown as the artifact's: {err}"
        );

        let broken = stub("broken", "echo 'no database' >&2; exit 2");
        let err = run_scanner(&broken, b"x", shown, "fix", "job")
            .expect_err("broken")
            .to_string();
        assert!(
            err.contains("exit status 2") && err.contains("no database"),
            "{err}"
        );

        let missing = dir.path().join("no-such-scanner").display().to_string();
        let err = run_scanner(&missing, b"x", shown, "fix", "job")
            .expect_err("missing")
            .to_string();
        assert!(err.contains("apt-get install clamav"), "{err}");
        assert!(err.contains("remove `scan: true`"), "{err}");
    }
}
