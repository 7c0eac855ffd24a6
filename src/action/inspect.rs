//! The `inspect` action: gather facts about a terminal and compare them with expectations.
//! Inspection never changes a terminal; its outcome is `Ok` whatever it finds, and what it
//! finds is reported, not failed.
//!
//! One `sh` script collects: the OS (`PRETTY_NAME` and `VERSION_ID` of `/etc/os-release`), the
//! kernel (`uname -r`), the host name (`uname -n`), disk usage per mount (`df -P -k`: file
//! system, mount, size, used, available, percent used), the installed version of each named
//! package (`dpkg-query`; `not installed` when it is not) and the SHA-256 of each named file
//! (`missing` when there is none).
//!
//! **Expectations** come from the task's `expect:` argument (see
//! [`InspectExpect`](crate::playbook::InspectExpect)): `packages: {name: version}` and
//! `files: {path: sha256}`, where the value `absent` expects no package or no file. The values
//! are templates, so they can come from inventory variables:
//!
//! ```yaml
//! inspect:
//!   packages: [openssh-server]
//!   expect:
//!     packages: { seibi-demo-openssl-fix: "{{ openssl_fix_version }}" }
//!     files: { /etc/seibi/screen-lock.conf: "{{ screen_lock_sha256 }}" }
//!   disk_threshold_percent: 80
//! ```
//!
//! Every difference from an expectation is a *drift* finding; every mount fuller than
//! `disk_threshold_percent` (used percentage strictly above it) is a *disk* finding.
//!
//! Facts are gathered by the query, which answers [`Query::collect`] with them as its facts: in
//! check mode they are reported and nothing is written; otherwise `apply` writes them to
//! `<collect_root>/<terminal>/<run_id>/facts.json` and the outcome carries them to the
//! coordinator. The facts document:
//!
//! ```json
//! { "terminal": "chuo-t01", "run_id": "…", "collected_at": "2026-10-05T01:02:03Z",
//!   "os": { "pretty_name": "Debian GNU/Linux 12 (bookworm)", "version_id": "12" },
//!   "kernel": "6.1.0-26-amd64", "hostname": "chuo-t01",
//!   "disks": [ { "filesystem": "/dev/sda1", "mount": "/", "size_kib": 1, "used_kib": 1,
//!                "available_kib": 0, "percent": 36 } ],
//!   "packages": { "openssh-server": "1:9.2p1-2", "juminhyo-viewer": "not installed" },
//!   "files": { "/etc/seibi/screen-lock.conf": "<sha256>", "/etc/none": "missing" },
//!   "findings": [ { "kind": "package", "name": "…", "expected": "…", "found": "…" },
//!                 { "kind": "file", "path": "…", "expected": "…", "found": "…" },
//!                 { "kind": "disk", "mount": "/", "percent": 91, "threshold": 80 } ] }
//! ```

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::json;

use super::fetch::{collect_dir, write_atomically};
use super::package::parse_state;
use super::{ActionContext, ActionError, Applied, Query};
use crate::playbook::InspectArgs;
use crate::transport::shell_quote;

/// What `packages` says for a package that is not installed.
pub const NOT_INSTALLED: &str = "not installed";
/// What `files` says for a file that does not exist.
pub const MISSING: &str = "missing";
/// The expectation meaning "no such package" or "no such file".
pub const ABSENT: &str = "absent";

/// One mount's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Disk {
    filesystem: String,
    mount: String,
    size_kib: u64,
    used_kib: u64,
    available_kib: u64,
    percent: Option<u8>,
}

/// What the script found.
#[derive(Debug, Default)]
struct Facts {
    pretty_name: String,
    version_id: String,
    kernel: String,
    hostname: String,
    disks: Vec<Disk>,
    packages: IndexMap<String, String>,
    files: IndexMap<String, String>,
}

/// What to look at: the listed packages and files plus those with expectations.
struct Wanted {
    packages: Vec<String>,
    files: Vec<String>,
    disk: bool,
}

fn wanted(ctx: &ActionContext<'_>, args: &InspectArgs) -> Result<Wanted, ActionError> {
    let mut packages: Vec<String> = Vec::new();
    for p in args.packages.iter().chain(args.expect.packages.keys()) {
        let ok = !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:".contains(c))
            && !p.starts_with('-');
        if !ok {
            return Err(ActionError::Args(format!(
                "`{p}` is not a Debian package name; fix `packages:` of task `{}`",
                ctx.task.key
            )));
        }
        if !packages.contains(p) {
            packages.push(p.clone());
        }
    }
    let mut files: Vec<String> = Vec::new();
    for f in args.files.iter().chain(args.expect.files.keys()) {
        if !f.starts_with('/') || f.contains('\0') {
            return Err(ActionError::Args(format!(
                "`{f}` is not an absolute path on the terminal; fix `files:` of task `{}`",
                ctx.task.key
            )));
        }
        if !files.contains(f) {
            files.push(f.clone());
        }
    }
    Ok(Wanted {
        packages,
        files,
        disk: args.disk || args.disk_threshold_percent.is_some(),
    })
}

/// The script: NUL-separated records of four fields, the first naming the kind.
fn script(wanted: &Wanted) -> String {
    let mut s = String::from(
        "r() { printf '%s\\0%s\\0%s\\0%s\\0' \"$1\" \"$2\" \"$3\" \"$4\"; }\n\
         (\n\
           if [ -r /etc/os-release ]; then . /etc/os-release\n\
           elif [ -r /usr/lib/os-release ]; then . /usr/lib/os-release; fi\n\
           r O \"${PRETTY_NAME:-}\" \"${VERSION_ID:-}\" ''\n\
         )\n\
         r K \"$(uname -r)\" '' ''\n\
         r H \"$(uname -n)\" '' ''\n",
    );
    if wanted.disk {
        s.push_str(
            "df -P -k 2>/dev/null | tail -n +2 | while IFS= read -r line; do r D \"$line\" '' ''; done\n",
        );
    }
    if !wanted.packages.is_empty() {
        let words: Vec<String> = wanted.packages.iter().map(|p| shell_quote(p)).collect();
        let _ = write!(
            s,
            "for p in {}; do\n\
               if o=$(dpkg-query -W -f='${{Status}}\\t${{Version}}' \"$p\" 2>/dev/null); then r P \"$p\" \"$o\" ''\n\
               else r P \"$p\" '' ''; fi\n\
             done\n",
            words.join(" ")
        );
    }
    if !wanted.files.is_empty() {
        let words: Vec<String> = wanted.files.iter().map(|f| shell_quote(f)).collect();
        let _ = write!(
            s,
            "for f in {}; do\n\
               if [ -f \"$f\" ]; then\n\
                 if h=$(sha256sum < \"$f\" 2>/dev/null); then r S \"$f\" \"${{h%% *}}\" ''\n\
                 else r S \"$f\" unreadable ''; fi\n\
               elif [ -e \"$f\" ]; then r S \"$f\" 'not a regular file' ''\n\
               else r S \"$f\" {MISSING} ''; fi\n\
             done\n",
            words.join(" ")
        );
    }
    s
}

/// One `df -P` line: file system, size, used, available, capacity, mount (names may hold
/// spaces: the four numbers in a row are the anchor).
fn parse_df(line: &str) -> Option<Disk> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let number = |t: &str| t.parse::<u64>().ok().or((t == "-").then_some(0));
    let at = (4..tokens.len()).find(|&i| {
        (tokens[i].ends_with('%') || tokens[i] == "-")
            && tokens[i - 3..i].iter().all(|t| number(t).is_some())
    })?;
    Some(Disk {
        filesystem: tokens[..at - 3].join(" "),
        size_kib: number(tokens[at - 3])?,
        used_kib: number(tokens[at - 2])?,
        available_kib: number(tokens[at - 1])?,
        percent: tokens[at].trim_end_matches('%').parse().ok(),
        mount: tokens[at + 1..].join(" "),
    })
}

fn parse(stdout: &[u8]) -> Result<Facts, String> {
    let fields = super::fetch::nul_fields(stdout, 4)
        .ok_or_else(|| "the report was cut short".to_string())?;
    let mut facts = Facts::default();
    for record in fields.chunks(4) {
        let [kind, a, b, _] = record else { continue };
        match kind.as_str() {
            "O" => {
                facts.pretty_name = a.clone();
                facts.version_id = b.clone();
            }
            "K" => facts.kernel = a.clone(),
            "H" => facts.hostname = a.clone(),
            "D" => facts.disks.extend(parse_df(a)),
            "P" => {
                let version = parse_state(b)
                    .installed
                    .unwrap_or_else(|| NOT_INSTALLED.to_string());
                facts.packages.insert(a.clone(), version);
            }
            "S" => {
                facts.files.insert(a.clone(), b.clone());
            }
            other => return Err(format!("unexpected record `{other}`")),
        }
    }
    Ok(facts)
}

/// A difference from what was expected, or a full disk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finding {
    Package {
        name: String,
        expected: String,
        found: String,
    },
    File {
        path: String,
        expected: String,
        found: String,
    },
    Disk {
        mount: String,
        percent: u8,
        threshold: u8,
    },
}

impl Finding {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Finding::Package {
                name,
                expected,
                found,
            } => json!({"kind": "package", "name": name, "expected": expected, "found": found}),
            Finding::File {
                path,
                expected,
                found,
            } => json!({"kind": "file", "path": path, "expected": expected, "found": found}),
            Finding::Disk {
                mount,
                percent,
                threshold,
            } => {
                json!({"kind": "disk", "mount": mount, "percent": percent, "threshold": threshold})
            }
        }
    }

    fn describe(&self) -> String {
        let short = |s: &str| {
            if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
                format!("{}…", &s[..12])
            } else {
                s.to_string()
            }
        };
        match self {
            Finding::Package {
                name,
                expected,
                found,
            } => format!("package {name} is {found}, expected {expected}"),
            Finding::File {
                path,
                expected,
                found,
            } => format!(
                "file {path} is {}, expected {}",
                short(found),
                short(expected)
            ),
            Finding::Disk {
                mount,
                percent,
                threshold,
            } => format!("{mount} is {percent}% full (over {threshold}%)"),
        }
    }
}

fn findings(args: &InspectArgs, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, expected) in &args.expect.packages {
        let found = facts
            .packages
            .get(name)
            .cloned()
            .unwrap_or_else(|| NOT_INSTALLED.to_string());
        let fine = if expected == ABSENT {
            found == NOT_INSTALLED
        } else {
            found == *expected
        };
        if !fine {
            out.push(Finding::Package {
                name: name.clone(),
                expected: expected.clone(),
                found,
            });
        }
    }
    for (path, expected) in &args.expect.files {
        let found = facts
            .files
            .get(path)
            .cloned()
            .unwrap_or_else(|| MISSING.to_string());
        let fine = if expected == ABSENT {
            found == MISSING
        } else {
            found.eq_ignore_ascii_case(expected)
        };
        if !fine {
            out.push(Finding::File {
                path: path.clone(),
                expected: expected.clone(),
                found,
            });
        }
    }
    if let Some(threshold) = args.disk_threshold_percent {
        for d in &facts.disks {
            if let Some(percent) = d.percent
                && percent > threshold
            {
                out.push(Finding::Disk {
                    mount: d.mount.clone(),
                    percent,
                    threshold,
                });
            }
        }
    }
    out
}

fn summary(facts: &Facts, findings: &[Finding]) -> String {
    let os = if facts.pretty_name.is_empty() {
        "unknown OS"
    } else {
        facts.pretty_name.as_str()
    };
    let mut out = format!(
        "{} ({os}, kernel {}): {} package(s), {} file(s), {} mount(s); ",
        facts.hostname,
        facts.kernel,
        facts.packages.len(),
        facts.files.len(),
        facts.disks.len()
    );
    if findings.is_empty() {
        out.push_str("no findings");
    } else {
        let list: Vec<String> = findings.iter().map(Finding::describe).collect();
        let _ = write!(out, "{} finding(s): {}", findings.len(), list.join("; "));
    }
    out
}

fn document(ctx: &ActionContext<'_>, facts: &Facts, findings: &[Finding]) -> serde_json::Value {
    json!({
        "terminal": ctx.terminal.id,
        "run_id": ctx.env.run_id,
        "collected_at": jiff::Timestamp::now().to_string(),
        "os": { "pretty_name": facts.pretty_name, "version_id": facts.version_id },
        "kernel": facts.kernel,
        "hostname": facts.hostname,
        "disks": facts.disks.iter().map(|d| json!({
            "filesystem": d.filesystem,
            "mount": d.mount,
            "size_kib": d.size_kib,
            "used_kib": d.used_kib,
            "available_kib": d.available_kib,
            "percent": d.percent,
        })).collect::<Vec<_>>(),
        "packages": facts.packages,
        "files": facts.files,
        "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
    })
}

/// Gathers the facts; never changes anything.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args: InspectArgs = ctx.args()?;
    let wanted = wanted(ctx, &args)?;
    let out = ctx.exec_ok(&script(&wanted), None).await?;
    let facts = parse(&out.stdout).map_err(|e| ActionError::Failed {
        message: format!("cannot read the inspection report: {e}"),
        output: Some(out.clone()),
    })?;
    let findings = findings(&args, &facts);
    Ok(Query::collect(
        summary(&facts, &findings),
        Some(document(ctx, &facts, &findings)),
    ))
}

/// Writes the facts the query gathered to `facts.json`.
pub async fn apply(ctx: &ActionContext<'_>, query: &Query) -> Result<Applied, ActionError> {
    let facts = match &query.facts {
        Some(facts) => facts.clone(),
        // `apply` without a query of this action: gather now.
        None => self::query(ctx).await?.facts.unwrap_or_default(),
    };
    let path = collect_dir(ctx)?.join("facts.json");
    let mut text = serde_json::to_string_pretty(&facts)
        .map_err(|e| ActionError::Local(format!("cannot write the facts as JSON: {e}")))?;
    text.push('\n');
    write_atomically(&path, text.as_bytes())?;
    Ok(Applied {
        changed: false,
        summary: format!("{}; facts in {}", query.summary, path.display()),
        output: None,
        facts: Some(facts),
        reconnect: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_df_lines() {
        let d = parse_df("/dev/vda1  263174212 34000000 229174212  13% /").expect("df line");
        assert_eq!(d.filesystem, "/dev/vda1");
        assert_eq!(d.mount, "/");
        assert_eq!(d.percent, Some(13));
        assert_eq!(d.used_kib, 34000000);
        let d = parse_df("my fs 100 50 50 50% /mnt/with space").expect("spaces");
        assert_eq!(d.filesystem, "my fs");
        assert_eq!(d.mount, "/mnt/with space");
        let d = parse_df("none 0 0 0 - /proc/x").expect("no capacity");
        assert_eq!(d.percent, None);
        assert!(parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on").is_none());
    }

    #[test]
    fn findings_compare_with_expectations() {
        let mut facts = Facts::default();
        facts.packages.insert("a".into(), "1.0".into());
        facts.packages.insert("b".into(), NOT_INSTALLED.into());
        facts.files.insert("/x".into(), "AB".repeat(32));
        facts.files.insert("/y".into(), MISSING.into());
        facts.disks.push(Disk {
            filesystem: "f".into(),
            mount: "/".into(),
            size_kib: 10,
            used_kib: 9,
            available_kib: 1,
            percent: Some(90),
        });
        let mut args: InspectArgs =
            serde_json::from_value(json!({"disk_threshold_percent": 90})).expect("args");
        args.expect.packages.insert("a".into(), "1.0".into());
        args.expect.packages.insert("b".into(), ABSENT.into());
        args.expect.files.insert("/x".into(), "ab".repeat(32));
        args.expect.files.insert("/y".into(), ABSENT.into());
        assert!(findings(&args, &facts).is_empty(), "all as expected");

        args.expect.packages.insert("a".into(), "2.0".into());
        args.expect.files.insert("/y".into(), "cd".repeat(32));
        args.disk_threshold_percent = Some(89);
        let found = findings(&args, &facts);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[0].describe(),
            "package a is 1.0, expected 2.0",
            "{found:?}"
        );
        assert_eq!(
            found[1].describe(),
            "file /y is missing, expected cdcdcdcdcdcd…"
        );
        assert_eq!(found[2].describe(), "/ is 90% full (over 89%)");
    }
}
