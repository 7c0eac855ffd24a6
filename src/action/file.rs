//! The `file` action: a path on the terminal is a regular file with given content, mode, owner
//! and group (`state: present`), a directory (`state: directory`), or nothing
//! (`state: absent`). The `template` action is `state: present` with content rendered by the
//! planner, and shares all of this through [`DesiredPath`], [`query_path`] and [`apply_path`].
//!
//! The query reads the path's current state in one remote call (a short `sh` script printing
//! its type, `stat` mode, owner, group and size, and the SHA-256 of its content) and compares:
//! content by SHA-256 of the revealed desired text, mode numerically (`0644` and `644` are the
//! same), owner and group by name (or by id when given as a number). Its summary names each
//! difference (`content, mode 0600 -> 0644`). When content differs and both sides are text under
//! [`MAX_DIFF_BYTES`], the current file is downloaded and the query
//! carries a unified diff, secrets redacted on both sides.
//!
//! Applying looks at the path again (the query's answer is only a summary) and then:
//! - new content: with `backup: true` an existing file is first copied to
//!   `<path>.seibi-<run id>.bak` (`cp -p`; a backup this run already made is kept, so it holds
//!   the state before the run); the content is uploaded atomically (temporary file renamed over
//!   the path), then owner, group and mode are set: the desired ones, else the old file's, else
//!   `0644` and the login user for a new file. Mode is set last so that `chown` cannot clear
//!   set-id bits.
//! - `state: absent`: the path is moved to the backup name (`backup: true`) or removed;
//!   directories recursively, as Ansible does.
//! - `state: directory`: `mkdir -p` (parents included), then mode, owner and group.
//!
//! Choices: the parent of a `present` file is never created silently (a typo in a path should
//! not grow a directory tree); apply fails with an error saying so, while the query only notes it,
//! so that a dry run of a job that creates the directory in an earlier task still reads right.
//! Symbolic links are neither followed nor replaced for `present` and `directory`: the action
//! fails and asks for the link's target instead; `absent` removes the link itself. A path of
//! another type (a directory where a file should be, a device) is an error, never replaced.

use sha2::{Digest, Sha256};

use crate::playbook::{FileArgs, FileState};
use crate::secrets::Secret;
use crate::transport::shell_quote;

use super::diff::{MAX_DIFF_BYTES, is_diffable, mask_stale_secrets, unified};
use super::{ActionContext, ActionError, Applied, Query};

/// The mode a new file gets when none is asked for (what `umask 022` gives).
const DEFAULT_FILE_MODE: u32 = 0o644;

/// What a path on the terminal should be: what `file` and `template` ask for.
#[derive(Debug, Clone, Copy)]
pub struct DesiredPath<'a> {
    /// Absolute path on the terminal.
    pub path: &'a str,
    /// File, directory or nothing.
    pub state: FileState,
    /// Content for `state: present`, as planned (secrets as placeholders).
    pub content: Option<&'a str>,
    /// Octal mode such as `0644`.
    pub mode: Option<&'a str>,
    /// Owner user (name or numeric id).
    pub owner: Option<&'a str>,
    /// Owner group (name or numeric id).
    pub group: Option<&'a str>,
    /// Keep a copy of what is replaced or removed.
    pub backup: bool,
}

impl<'a> DesiredPath<'a> {
    fn from_args(args: &'a FileArgs) -> Self {
        DesiredPath {
            path: &args.path,
            state: args.state,
            content: args.content.as_deref(),
            mode: args.mode.as_deref(),
            owner: args.owner.as_deref(),
            group: args.group.as_deref(),
            backup: args.backup,
        }
    }
}

/// What would change.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args: FileArgs = ctx.args()?;
    query_path(ctx, &DesiredPath::from_args(&args)).await
}

/// Makes the change.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let args: FileArgs = ctx.args()?;
    apply_path(ctx, &DesiredPath::from_args(&args)).await
}

/// Query and apply in one request ([`converge_path`]); `None` for states it does not cover.
pub async fn converge(
    ctx: &ActionContext<'_>,
) -> Result<Option<(Query, Option<Applied>)>, ActionError> {
    let args: FileArgs = ctx.args()?;
    converge_path(ctx, &DesiredPath::from_args(&args)).await
}

/// What would change at `desired.path`, with a diff of the content when there is one.
pub async fn query_path(
    ctx: &ActionContext<'_>,
    desired: &DesiredPath<'_>,
) -> Result<Query, ActionError> {
    let wanted = Wanted::check(ctx, desired)?;
    let current = probe(ctx, &wanted).await?;
    let changes = changes(&wanted, &current)?;
    if changes.is_empty() {
        return Ok(Query::unchanged(unchanged_summary(wanted.state)));
    }
    let mut query = Query::change(changes.summary(&wanted, &current));
    if changes.content {
        query.diff = content_diff(ctx, &wanted, &current).await?;
    }
    Ok(query)
}

/// Makes `desired.path` what it should be; reports no change when it already is.
pub async fn apply_path(
    ctx: &ActionContext<'_>,
    desired: &DesiredPath<'_>,
) -> Result<Applied, ActionError> {
    let wanted = Wanted::check(ctx, desired)?;
    let current = probe(ctx, &wanted).await?;
    let changes = changes(&wanted, &current)?;
    if changes.is_empty() {
        return Ok(Applied {
            changed: false,
            summary: unchanged_summary(wanted.state).to_string(),
            ..Applied::default()
        });
    }
    let mut summary = changes.summary(&wanted, &current);
    let path = shell_quote(wanted.path);
    match wanted.state {
        FileState::Absent => {
            let command = if wanted.backup {
                let backup = backup_path(ctx, wanted.path)?;
                summary.push_str(&format!(" (kept as {backup})"));
                // A backup this run already made holds the older state: keep it.
                let backup = shell_quote(&backup);
                format!(
                    "if [ -e {backup} ] || [ -L {backup} ]; then rm -rf -- {path}; else mv -- {path} {backup}; fi"
                )
            } else {
                format!("rm -rf -- {path}")
            };
            ctx.exec_ok(&command, None).await?;
        }
        FileState::Directory => {
            if current.kind == Kind::Absent {
                ctx.exec_ok(&format!("mkdir -p -- {path}"), None).await?;
            }
            set_attributes(ctx, &wanted, attributes_to_set(&wanted, &current, &changes)).await?;
        }
        FileState::Present => {
            if changes.content {
                if !current.parent_exists {
                    return Err(ActionError::Failed {
                        message: format!(
                            "cannot create {}: its directory {} does not exist on the terminal; create it first with a `file` task with `state: directory`",
                            wanted.path,
                            parent_of(wanted.path)
                        ),
                        output: None,
                    });
                }
                if current.kind == Kind::File && wanted.backup {
                    let backup = backup_path(ctx, wanted.path)?;
                    let quoted = shell_quote(&backup);
                    ctx.exec_ok(
                        &format!("[ -e {quoted} ] || cp -p -- {path} {quoted}"),
                        None,
                    )
                    .await?;
                    summary.push_str(&format!(" (old file kept as {backup})"));
                }
                let content = wanted
                    .content
                    .as_ref()
                    .ok_or_else(|| missing_content(wanted.path))?;
                let mode = wanted
                    .mode
                    .or((current.kind == Kind::File).then_some(current.mode))
                    .unwrap_or(DEFAULT_FILE_MODE);
                ctx.transport
                    .upload(content.expose().as_bytes(), wanted.path, mode)
                    .await?;
            }
            set_attributes(ctx, &wanted, attributes_to_set(&wanted, &current, &changes)).await?;
        }
    }
    Ok(Applied {
        changed: true,
        summary,
        ..Applied::default()
    })
}

/// Query and apply in one request, for `state: present` outside check mode: the terminal
/// compares the content's SHA-256 itself and, only when it differs (or the file is missing),
/// writes the new content to a temporary file beside the path, gives it its owner, group and
/// mode, and renames it over the path; it reports what it found (the probe's lines, and the old
/// text when a diff can be shown) and whether it wrote. The query and the summary are then
/// made from what it found exactly as [`query_path`] makes them, so `--diff` and the journal
/// see the same. What the terminal does not decide (a change of mode, owner or group only, a
/// missing directory, an error) goes through [`apply_path`] as before. `None` for the other
/// states, which keep the query-then-apply path.
pub async fn converge_path(
    ctx: &ActionContext<'_>,
    desired: &DesiredPath<'_>,
) -> Result<Option<(Query, Option<Applied>)>, ActionError> {
    if desired.state != FileState::Present {
        return Ok(None);
    }
    let wanted = Wanted::check(ctx, desired)?;
    let content = wanted
        .content
        .as_ref()
        .ok_or_else(|| missing_content(wanted.path))?;
    let backup = match wanted.backup.then(|| backup_path(ctx, wanted.path)) {
        // No usable backup name: the query-then-apply path says so if a backup is needed.
        Some(Err(_)) => return Ok(None),
        Some(Ok(path)) => Some(path),
        None => None,
    };
    let script = converge_script(&wanted, backup.as_deref());
    let output = ctx.exec(&script, Some(content.expose().as_bytes())).await?;
    let Some(report) = Converged::parse(&output.stdout) else {
        return Err(ActionError::Failed {
            message: ctx.redact(&format!(
                "cannot bring {} up to date on the terminal (exit status {}): {}",
                wanted.path,
                output.exit_status,
                output.stderr_text().trim()
            )),
            output: Some(output),
        });
    };
    let current = parse_probe(&report.probe).map_err(|what| ActionError::Failed {
        message: format!(
            "the terminal's answer about {} makes no sense ({what}); is it a Linux terminal with coreutils?",
            wanted.path
        ),
        output: Some(output.clone()),
    })?;
    if report.wrote && !output.success() {
        return Err(ActionError::Failed {
            message: ctx.redact(&format!(
                "writing {} failed (exit status {}): {}",
                wanted.path,
                output.exit_status,
                output.stderr_text().trim()
            )),
            output: Some(output),
        });
    }
    let changes = changes(&wanted, &current)?;
    if changes.is_empty() {
        return Ok(Some((
            Query::unchanged(unchanged_summary(wanted.state)),
            None,
        )));
    }
    let mut summary = changes.summary(&wanted, &current);
    let mut query = Query::change(summary.clone());
    if changes.content {
        let old = match current.kind {
            Kind::Absent => Some(Vec::new()),
            _ => report.old,
        };
        if let Some(old) = old {
            query.diff = render_diff(ctx, &wanted, &old);
        }
    }
    if !(report.wrote && changes.content) {
        let applied = apply_path(ctx, desired).await?;
        return Ok(Some((query, Some(applied))));
    }
    if let Some(backup) = backup.filter(|_| current.kind == Kind::File) {
        summary.push_str(&format!(" (old file kept as {backup})"));
    }
    let applied = Applied {
        changed: true,
        summary,
        ..Applied::default()
    };
    Ok(Some((query, Some(applied))))
}

/// Content up to this size, text without NUL, is copied from stdin by the shell's own `read`
/// and `printf` rather than a `cat` process (for a few KiB, reading byte by byte is cheaper
/// than starting a process).
const BUILTIN_COPY_BYTES: usize = 4096;

/// The shell text that copies stdin to its stdout exactly.
fn write_stdin(wanted: &Wanted<'_>) -> &'static str {
    let small_text = wanted.content.as_ref().is_some_and(|c| {
        let bytes = c.expose().as_bytes();
        bytes.len() <= BUILTIN_COPY_BYTES && !bytes.contains(&0)
    });
    if small_text {
        // The last line may lack its newline: `read` then fails but has set `l`.
        r#"{ while IFS= read -r l; do printf '%s\n' "$l"; done; printf '%s' "$l"; }"#
    } else {
        "cat"
    }
}

/// What the converging script reported.
#[derive(Debug, Default, PartialEq, Eq)]
struct Converged {
    /// The probe's `key=value` lines (the state before).
    probe: String,
    /// Whether it wrote the new content.
    wrote: bool,
    /// The old content, when it sent it (a file under [`MAX_DIFF_BYTES`] whose content differs).
    old: Option<Vec<u8>>,
}

impl Converged {
    /// `None` when the script did not get as far as saying whether it wrote.
    fn parse(stdout: &[u8]) -> Option<Self> {
        let (lines, old) = match find_line(stdout, b"old\n") {
            Some(at) => (&stdout[..at], Some(stdout[at + 4..].to_vec())),
            None => (stdout, None),
        };
        let text = String::from_utf8_lossy(lines);
        let mut probe = String::new();
        let mut wrote = None;
        for line in text.lines() {
            match line {
                "wrote=yes" => wrote = Some(true),
                "wrote=no" => wrote = Some(false),
                other => {
                    probe.push_str(other);
                    probe.push('\n');
                }
            }
        }
        Some(Converged {
            probe,
            wrote: wrote?,
            old,
        })
    }
}

/// Where a line that is exactly `line` (newline included) starts in `data`.
fn find_line(data: &[u8], line: &[u8]) -> Option<usize> {
    if data.starts_with(line) {
        return Some(0);
    }
    data.windows(line.len() + 1)
        .position(|w| w[0] == b'\n' && &w[1..] == line)
        .map(|at| at + 1)
}

/// The one-request script behind [`converge_path`]: the probe, then, when the content differs
/// and nothing stands in the way (the directory exists, a named owner and group exist, the path
/// is a regular file or nothing), the backup, the old text for the diff, and the new content
/// (from stdin) written beside the path with its attributes and renamed over it.
fn converge_script(wanted: &Wanted<'_>, backup: Option<&str>) -> String {
    let mut script =
        probe_script(wanted).replace("echo \"sha256=${h%% *}\"", "h=${h%% *}; echo \"sha256=$h\"");
    let sha = wanted.sha256.as_deref().unwrap_or_default();
    let token = format!("{:016x}", rand::random::<u64>());
    // The mode, owner and group the new file gets: the desired ones, else the old file's, else
    // 0644 and the login user's (as `apply_path` gives them).
    let (umask, chmod) = match wanted.mode {
        // Created with exactly these bits: no `chmod` process.
        Some(mode) if mode & 0o7111 == 0 => (format!("umask {:03o}; ", !mode & 0o777), false),
        _ => (String::new(), true),
    };
    let mode = wanted.mode.map(|m| format!("{m:05o}")).unwrap_or_default();
    let owner = wanted
        .owner
        .map(shell_quote)
        .unwrap_or_else(|| "''".to_string());
    let group = wanted
        .group
        .map(shell_quote)
        .unwrap_or_else(|| "''".to_string());
    let mut checks = vec![
        r#"{ [ "$k" = absent ] || { [ "$k" = file ] && [ "$h" != "$w" ]; }; }"#.to_string(),
        r#"[ -d "${d:-/}" ]"#.to_string(),
    ];
    for (name, database) in [(wanted.owner, "passwd"), (wanted.group, "group")] {
        if let Some(name) = name.filter(|n| !is_numeric_id(n)) {
            checks.push(format!(
                "getent {database} {} >/dev/null",
                shell_quote(name)
            ));
        }
    }
    let backup = match backup {
        Some(b) => format!(
            "[ \"$k\" = file ] && {{ [ -e {b} ] || cp -p -- \"$p\" {b} || exit 1; }}\n",
            b = shell_quote(b)
        ),
        None => String::new(),
    };
    script.push_str(&format!(
        r#"k=absent; [ -L "$p" ] && k=symlink || {{ [ -d "$p" ] && k=directory; }} || {{ [ -f "$p" ] && k=file; }} || {{ [ -e "$p" ] && k=other; }}
w={sha}; m={mode}; o={owner}; g={group}; h=${{h:-}}
if {checks}; then :; else echo wrote=no; exit 0; fi
{backup}if [ "$k" = file ]; then
  set -- $s; [ -n "$m" ] || m=$1; [ -n "$o" ] || o=$2; [ -n "$g" ] || g=$4
fi
[ -n "$m" ] || m=644
t="${{d:-}}/.seibi-upload.{token}"
{umask}set -C; {write} > "$t" || {{ rm -f -- "$t"; exit 1; }}
echo wrote=yes
{{ {{ [ -z "$o$g" ] || chown -- "$o${{g:+:$g}}" "$t"; }} && {chmod_step}; }} || {{ rm -f -- "$t"; exit 1; }}
if [ "$k" = file ] && [ "$6" -le {max} ] 2>/dev/null; then printf 'old\n'; cat -- "$p"; fi
mv -f -- "$t" "$p" || {{ rm -f -- "$t"; exit 1; }}
"#,
        sha = shell_quote(sha),
        mode = if mode.is_empty() { "''".to_string() } else { mode },
        checks = checks.join(" && "),
        chmod_step = if chmod { r#"chmod -- "$m" "$t""# } else { ":" },
        write = write_stdin(wanted),
        max = MAX_DIFF_BYTES,
    ));
    script
}

/// The desired state, checked and with its content revealed.
struct Wanted<'a> {
    path: &'a str,
    state: FileState,
    /// Revealed content, for the terminal.
    content: Option<Secret<String>>,
    /// Content as planned (placeholders), for showing.
    planned: Option<&'a str>,
    /// SHA-256 of the revealed content.
    sha256: Option<String>,
    mode: Option<u32>,
    owner: Option<&'a str>,
    group: Option<&'a str>,
    backup: bool,
}

impl<'a> Wanted<'a> {
    fn check(ctx: &ActionContext<'_>, desired: &DesiredPath<'a>) -> Result<Self, ActionError> {
        let path = desired.path;
        if !path.starts_with('/') {
            return Err(ActionError::Args(format!(
                "`{path}` is not an absolute path: paths on terminals start with `/`"
            )));
        }
        if path.trim_end_matches('/').is_empty() {
            return Err(ActionError::Args(
                "the path `/` cannot be managed as a file".to_string(),
            ));
        }
        if path.contains('\0') || path.contains('\n') {
            return Err(ActionError::Args(format!(
                "the path {path:?} contains a NUL or newline character"
            )));
        }
        let path = if desired.state == FileState::Present {
            if path.ends_with('/') {
                return Err(ActionError::Args(format!(
                    "`{path}` ends with `/`, so it names a directory, not a file: drop the `/` or use `state: directory`"
                )));
            }
            path
        } else {
            path.trim_end_matches('/')
        };
        for (argument, value) in [
            ("path", Some(path)),
            ("owner", desired.owner),
            ("group", desired.group),
            ("mode", desired.mode),
        ] {
            if value.is_some_and(|v| v.contains("[[secret:")) {
                return Err(ActionError::Args(format!(
                    "a secret appears in `{argument}`; secrets belong in file content only"
                )));
            }
        }
        let mode = desired.mode.map(parse_mode).transpose()?;
        for (argument, name) in [("owner", desired.owner), ("group", desired.group)] {
            if let Some(name) = name
                && (name.is_empty()
                    || name.starts_with('-')
                    || name
                        .chars()
                        .any(|c| c == ':' || c.is_whitespace() || c.is_control()))
            {
                return Err(ActionError::Args(format!(
                    "`{name}` is not a usable {argument} name: give a name such as `daemon` or a numeric id"
                )));
            }
        }
        let (content, sha256) = match (desired.state, desired.content) {
            (FileState::Present, Some(text)) => {
                let revealed = ctx.reveal(text)?;
                let sha256 = hex::encode(Sha256::digest(revealed.expose().as_bytes()));
                (Some(revealed), Some(sha256))
            }
            (FileState::Present, None) => return Err(missing_content(path)),
            (_, Some(_)) => {
                return Err(ActionError::Args(format!(
                    "`content` only goes with `state: present` (for {path})"
                )));
            }
            (_, None) => (None, None),
        };
        Ok(Wanted {
            path,
            state: desired.state,
            content,
            planned: desired.content,
            sha256,
            mode,
            owner: desired.owner,
            group: desired.group,
            backup: desired.backup,
        })
    }
}

fn missing_content(path: &str) -> ActionError {
    ActionError::Args(format!(
        "a file with `state: present` needs `content` (for {path}); use `template:` to render a file from a template"
    ))
}

/// Parses an octal mode: `0644`, `644`, `4755`, `02775`; up to `07777`.
fn parse_mode(text: &str) -> Result<u32, ActionError> {
    let digits = text.trim();
    let ok = (3..=5).contains(&digits.len()) && digits.chars().all(|c| ('0'..='7').contains(&c));
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if ok && mode <= 0o7777 => Ok(mode),
        _ => Err(ActionError::Args(format!(
            "mode `{text}` is not an octal mode like `0644`"
        ))),
    }
}

/// What kind of thing is at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Absent,
    File,
    Directory,
    Symlink,
    Other,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Absent => "nothing",
            Kind::File => "a regular file",
            Kind::Directory => "a directory",
            Kind::Symlink => "a symbolic link",
            Kind::Other => "a special file (device, FIFO or socket)",
        }
    }
}

/// The path as found on the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Current {
    kind: Kind,
    /// Permission bits (with set-id and sticky bits), for files and directories.
    mode: u32,
    uid: String,
    user: String,
    gid: String,
    group: String,
    size: u64,
    /// SHA-256 of a regular file's content, when content matters.
    sha256: Option<String>,
    /// Whether the parent directory exists.
    parent_exists: bool,
    /// Whether the desired owner / group exists on the terminal (when a name was given).
    owner_exists: Option<bool>,
    group_exists: Option<bool>,
}

/// The one-call `sh` script reading the path's state: `key=value` lines.
fn probe_script(wanted: &Wanted<'_>) -> String {
    let mut script = format!(
        "p={}\n\
         if [ -L \"$p\" ]; then echo kind=symlink\n\
         elif [ -d \"$p\" ]; then echo kind=directory\n\
         elif [ -f \"$p\" ]; then echo kind=file\n\
         elif [ -e \"$p\" ]; then echo kind=other\n\
         else echo kind=absent; fi\n\
         if [ -e \"$p\" ] && [ ! -L \"$p\" ]; then s=$(stat -c '%a %u %U %g %G %s' -- \"$p\") || exit 1; echo \"stat=$s\"; fi\n\
         d=\"${{p%/*}}\"; if [ -d \"${{d:-/}}\" ]; then echo parent=yes; else echo parent=no; fi\n",
        shell_quote(wanted.path)
    );
    if wanted.state == FileState::Present {
        script.push_str(
            "if [ -f \"$p\" ] && [ ! -L \"$p\" ]; then h=$(sha256sum < \"$p\") || exit 1; echo \"sha256=${h%% *}\"; fi\n",
        );
    }
    for (key, database, name) in [
        ("owner", "passwd", wanted.owner),
        ("group", "group", wanted.group),
    ] {
        if let Some(name) = name.filter(|n| !is_numeric_id(n)) {
            script.push_str(&format!(
                "if getent {database} {} >/dev/null; then echo {key}=yes; else echo {key}=no; fi\n",
                shell_quote(name)
            ));
        }
    }
    script
}

async fn probe(ctx: &ActionContext<'_>, wanted: &Wanted<'_>) -> Result<Current, ActionError> {
    let output = ctx.exec(&probe_script(wanted), None).await?;
    if !output.success() {
        return Err(ActionError::Failed {
            message: ctx.redact(&format!(
                "cannot read the state of {} on the terminal (exit status {}): {}",
                wanted.path,
                output.exit_status,
                output.stderr_text().trim()
            )),
            output: Some(output),
        });
    }
    parse_probe(&output.stdout_text()).map_err(|what| ActionError::Failed {
        message: format!(
            "the terminal's answer about {} makes no sense ({what}); is it a Linux terminal with coreutils?",
            wanted.path
        ),
        output: Some(output.clone()),
    })
}

fn parse_probe(text: &str) -> Result<Current, String> {
    let mut current = Current {
        kind: Kind::Absent,
        mode: 0,
        uid: String::new(),
        user: String::new(),
        gid: String::new(),
        group: String::new(),
        size: 0,
        sha256: None,
        parent_exists: false,
        owner_exists: None,
        group_exists: None,
    };
    let mut kind = None;
    let mut stat = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("unexpected line {line:?}"));
        };
        let yes = value == "yes";
        match key {
            "kind" => {
                kind = Some(match value {
                    "absent" => Kind::Absent,
                    "file" => Kind::File,
                    "directory" => Kind::Directory,
                    "symlink" => Kind::Symlink,
                    "other" => Kind::Other,
                    _ => return Err(format!("unknown kind {value:?}")),
                })
            }
            "stat" => {
                let fields: Vec<&str> = value.split_whitespace().collect();
                let [mode, uid, user, gid, group, size] = fields[..] else {
                    return Err(format!("stat gave {value:?}"));
                };
                current.mode =
                    u32::from_str_radix(mode, 8).map_err(|_| format!("mode {mode:?}"))?;
                current.uid = uid.to_string();
                current.user = user.to_string();
                current.gid = gid.to_string();
                current.group = group.to_string();
                current.size = size.parse().map_err(|_| format!("size {size:?}"))?;
                stat = true;
            }
            "sha256" => current.sha256 = Some(value.to_string()),
            "parent" => current.parent_exists = yes,
            "owner" => current.owner_exists = Some(yes),
            "group" => current.group_exists = Some(yes),
            _ => return Err(format!("unknown key {key:?}")),
        }
    }
    current.kind = kind.ok_or("no kind")?;
    if matches!(current.kind, Kind::File | Kind::Directory | Kind::Other) && !stat {
        return Err("no stat line".to_string());
    }
    Ok(current)
}

fn is_numeric_id(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// What differs between the wanted and the current state.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    /// Create the file or directory.
    create: bool,
    /// Write new content (always with `create` for a file).
    content: bool,
    /// Set the mode.
    mode: bool,
    /// Set the owner.
    owner: bool,
    /// Set the group.
    group: bool,
    /// Remove the path.
    remove: bool,
}

impl Changes {
    fn is_empty(&self) -> bool {
        *self == Changes::default()
    }

    fn summary(&self, wanted: &Wanted<'_>, current: &Current) -> String {
        if self.remove {
            let what = match current.kind {
                Kind::Directory => "remove the directory and everything in it",
                Kind::Symlink => "remove the symbolic link",
                _ => "remove the file",
            };
            return what.to_string();
        }
        if self.create {
            let mut details = Vec::new();
            if let Some(content) = &wanted.content {
                details.push(format!("{} bytes", content.expose().len()));
            }
            if let Some(mode) = wanted.mode {
                details.push(format!("mode {mode:04o}"));
            }
            if let Some(owner) = wanted.owner {
                details.push(format!("owner {owner}"));
            }
            if let Some(group) = wanted.group {
                details.push(format!("group {group}"));
            }
            let what = if wanted.state == FileState::Directory {
                "create directory"
            } else {
                "create"
            };
            let mut out = if details.is_empty() {
                what.to_string()
            } else {
                format!("{what} ({})", details.join(", "))
            };
            if wanted.state == FileState::Present && !current.parent_exists {
                out.push_str(&format!(
                    "; its directory {} does not exist yet, so this fails unless an earlier task creates it",
                    parent_of(wanted.path)
                ));
            }
            return out;
        }
        let mut parts = Vec::new();
        if self.content {
            parts.push("content".to_string());
        }
        if self.mode
            && let Some(mode) = wanted.mode
        {
            parts.push(format!("mode {:04o} -> {mode:04o}", current.mode));
        }
        if self.owner
            && let Some(owner) = wanted.owner
        {
            parts.push(format!("owner {} -> {owner}", current.user));
        }
        if self.group
            && let Some(group) = wanted.group
        {
            parts.push(format!("group {} -> {group}", current.group));
        }
        parts.join(", ")
    }
}

fn unchanged_summary(state: FileState) -> &'static str {
    match state {
        FileState::Absent => "absent",
        FileState::Directory | FileState::Present => "up to date",
    }
}

/// Compares; refuses to replace a path of another kind.
fn changes(wanted: &Wanted<'_>, current: &Current) -> Result<Changes, ActionError> {
    let mut changes = Changes::default();
    let expected = match wanted.state {
        FileState::Absent => {
            changes.remove = current.kind != Kind::Absent;
            return Ok(changes);
        }
        FileState::Present => Kind::File,
        FileState::Directory => Kind::Directory,
    };
    if current.kind == Kind::Absent {
        changes.create = true;
        changes.content = wanted.state == FileState::Present;
        changes.mode = wanted.mode.is_some();
        changes.owner = wanted.owner.is_some();
        changes.group = wanted.group.is_some();
    } else if current.kind != expected {
        let hint = if current.kind == Kind::Symlink {
            "seibi does not follow or replace links: give the link's target as the path"
        } else {
            "seibi will not replace it: remove it first with a task with `state: absent` if that is meant"
        };
        return Err(ActionError::Failed {
            message: format!(
                "{} is {} on the terminal, not {}; {hint}",
                wanted.path,
                current.kind.describe(),
                expected.describe()
            ),
            output: None,
        });
    } else {
        changes.content = wanted.state == FileState::Present
            && (current.sha256.is_none() || current.sha256 != wanted.sha256);
        changes.mode = wanted.mode.is_some_and(|m| m != current.mode & 0o7777);
        changes.owner = wanted
            .owner
            .is_some_and(|o| !same_id(o, &current.user, &current.uid));
        changes.group = wanted
            .group
            .is_some_and(|g| !same_id(g, &current.group, &current.gid));
    }
    for (wanted_name, exists, what) in [
        (
            wanted.owner.filter(|_| changes.owner),
            current.owner_exists,
            "user",
        ),
        (
            wanted.group.filter(|_| changes.group),
            current.group_exists,
            "group",
        ),
    ] {
        if let (Some(name), Some(false)) = (wanted_name, exists) {
            return Err(ActionError::Failed {
                message: format!(
                    "{what} `{name}` does not exist on the terminal, so {} cannot be given to it; create the {what} first or fix the name",
                    wanted.path
                ),
                output: None,
            });
        }
    }
    Ok(changes)
}

fn same_id(wanted: &str, name: &str, id: &str) -> bool {
    if is_numeric_id(wanted) {
        wanted.trim_start_matches('0') == id.trim_start_matches('0')
    } else {
        wanted == name
    }
}

/// Owner, group and mode to set after the main step, as (owner, group, mode).
type Attributes = (Option<String>, Option<String>, Option<u32>);

fn attributes_to_set(wanted: &Wanted<'_>, current: &Current, changes: &Changes) -> Attributes {
    // Replacing a file's content renames a new inode over it, owned by the login user: restore
    // the old owner and group unless others are asked for, and set the mode again after chown.
    let replaced = changes.content && current.kind == Kind::File;
    let owner = match wanted.owner {
        Some(owner) if changes.owner || replaced => Some(owner.to_string()),
        None if replaced => Some(current.uid.clone()),
        _ => None,
    };
    let group = match wanted.group {
        Some(group) if changes.group || replaced => Some(group.to_string()),
        None if replaced => Some(current.gid.clone()),
        _ => None,
    };
    // `chown` clears set-user-ID and set-group-ID bits: put them back after it.
    let set_id = wanted
        .mode
        .or((current.kind != Kind::Absent).then_some(current.mode & 0o7777));
    let mode = if changes.mode {
        wanted.mode
    } else if owner.is_some() || group.is_some() {
        set_id.filter(|mode| mode & 0o6000 != 0)
    } else {
        None
    };
    (owner, group, mode)
}

async fn set_attributes(
    ctx: &ActionContext<'_>,
    wanted: &Wanted<'_>,
    (owner, group, mode): Attributes,
) -> Result<(), ActionError> {
    let path = shell_quote(wanted.path);
    let mut steps = Vec::new();
    if let Some(owner) = owner {
        steps.push(format!("chown -- {} {path}", shell_quote(&owner)));
    }
    if let Some(group) = group {
        steps.push(format!("chgrp -- {} {path}", shell_quote(&group)));
    }
    if let Some(mode) = mode {
        // Five digits: GNU chmod keeps a directory's set-id bits for a shorter numeric mode.
        steps.push(format!("chmod -- {mode:05o} {path}"));
    }
    if !steps.is_empty() {
        ctx.exec_ok(&steps.join(" && "), None).await?;
    }
    Ok(())
}

/// `<path>.seibi-<run id>.bak`.
fn backup_path(ctx: &ActionContext<'_>, path: &str) -> Result<String, ActionError> {
    let run = &ctx.env.run_id;
    if run.is_empty()
        || !run
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ActionError::Local(format!(
            "cannot name a backup of {path}: the run id {run:?} is empty or not file-safe; set `backup: false` or run through `seibi apply`"
        )));
    }
    Ok(format!("{path}.seibi-{run}.bak"))
}

fn parent_of(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

/// The diff of the terminal's content against the plan's, secrets redacted, when both are text
/// of a readable size.
async fn content_diff(
    ctx: &ActionContext<'_>,
    wanted: &Wanted<'_>,
    current: &Current,
) -> Result<Option<String>, ActionError> {
    if !wanted
        .content
        .as_ref()
        .is_some_and(|c| is_diffable(c.expose().as_bytes()))
    {
        return Ok(None);
    }
    let old = match current.kind {
        Kind::Absent => Vec::new(),
        Kind::File if current.size <= MAX_DIFF_BYTES as u64 => {
            ctx.transport.download(wanted.path).await?
        }
        _ => return Ok(None),
    };
    Ok(render_diff(ctx, wanted, &old))
}

/// The diff of `old` (the terminal's bytes) against the plan's content, secrets redacted, when
/// both are text.
fn render_diff(ctx: &ActionContext<'_>, wanted: &Wanted<'_>, old: &[u8]) -> Option<String> {
    let (Some(content), Some(planned)) = (&wanted.content, wanted.planned) else {
        return None;
    };
    if !is_diffable(content.expose().as_bytes()) || !is_diffable(old) {
        return None;
    }
    let old = String::from_utf8_lossy(old);
    let old = mask_stale_secrets(&ctx.redact(&old), planned);
    let new = ctx.redact(planned);
    let diff = unified(wanted.path, &old, &new);
    (!diff.is_empty()).then_some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(kind: Kind) -> Current {
        Current {
            kind,
            mode: 0o600,
            uid: "0".to_string(),
            user: "root".to_string(),
            gid: "0".to_string(),
            group: "root".to_string(),
            size: 5,
            sha256: Some("old".to_string()),
            parent_exists: true,
            owner_exists: Some(true),
            group_exists: Some(true),
        }
    }

    fn wanted(state: FileState) -> Wanted<'static> {
        Wanted {
            path: "/etc/x.conf",
            state,
            content: (state == FileState::Present).then(|| Secret::new("new\n".to_string())),
            planned: (state == FileState::Present).then_some("new\n"),
            sha256: (state == FileState::Present).then(|| "new".to_string()),
            mode: Some(0o644),
            owner: Some("daemon"),
            group: None,
            backup: true,
        }
    }

    #[test]
    fn modes_parse_with_or_without_the_leading_zero() {
        assert_eq!(parse_mode("0644").expect("mode"), 0o644);
        assert_eq!(parse_mode("644").expect("mode"), 0o644);
        assert_eq!(parse_mode("4755").expect("mode"), 0o4755);
        assert_eq!(parse_mode("02775").expect("mode"), 0o2775);
        for bad in ["", "64", "0648", "rw-r--r--", "17777", "077777"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_probe_answer_parses() {
        let c = parse_probe(
            "kind=file\nstat=4755 0 root 1 daemon 12\nparent=yes\nsha256=abc\nowner=no\n",
        )
        .expect("parses");
        assert_eq!(c.kind, Kind::File);
        assert_eq!(c.mode, 0o4755);
        assert_eq!((c.uid.as_str(), c.user.as_str()), ("0", "root"));
        assert_eq!((c.gid.as_str(), c.group.as_str()), ("1", "daemon"));
        assert_eq!(c.size, 12);
        assert_eq!(c.sha256.as_deref(), Some("abc"));
        assert!(c.parent_exists);
        assert_eq!((c.owner_exists, c.group_exists), (Some(false), None));
        let absent = parse_probe("kind=absent\nparent=no\n").expect("parses");
        assert_eq!(absent.kind, Kind::Absent);
        assert!(!absent.parent_exists);
        assert!(parse_probe("kind=file\nparent=yes\n").is_err());
        assert!(parse_probe("garbage").is_err());
        assert!(parse_probe("kind=file\nstat=644 0 root\n").is_err());
    }

    #[test]
    fn changes_name_each_difference() {
        let w = wanted(FileState::Present);
        let c = current(Kind::File);
        let changes = changes(&w, &c).expect("comparable");
        assert!(changes.content && changes.mode && changes.owner && !changes.group);
        assert_eq!(
            changes.summary(&w, &c),
            "content, mode 0600 -> 0644, owner root -> daemon"
        );
        let mut same = current(Kind::File);
        same.sha256 = Some("new".to_string());
        same.mode = 0o644;
        same.user = "daemon".to_string();
        assert!(super::changes(&w, &same).expect("comparable").is_empty());
    }

    #[test]
    fn numeric_owners_compare_by_id() {
        assert!(same_id("0", "root", "0"));
        assert!(same_id("1", "daemon", "1"));
        assert!(!same_id("1", "root", "0"));
        assert!(same_id("root", "root", "0"));
        assert!(!same_id("daemon", "root", "0"));
    }

    #[test]
    fn creating_mentions_a_missing_parent() {
        let w = wanted(FileState::Present);
        let mut c = current(Kind::Absent);
        c.parent_exists = false;
        let changes = changes(&w, &c).expect("comparable");
        assert!(changes.create && changes.content);
        let summary = changes.summary(&w, &c);
        assert!(
            summary.starts_with("create (4 bytes, mode 0644, owner daemon)"),
            "{summary}"
        );
        assert!(summary.contains("/etc does not exist yet"), "{summary}");
    }

    #[test]
    fn other_kinds_are_not_replaced() {
        let w = wanted(FileState::Present);
        let err = changes(&w, &current(Kind::Directory)).expect_err("refused");
        assert!(
            err.to_string()
                .contains("is a directory on the terminal, not a regular file"),
            "{err}"
        );
        let err = changes(&w, &current(Kind::Symlink)).expect_err("refused");
        assert!(
            err.to_string().contains("does not follow or replace links"),
            "{err}"
        );
        let d = wanted(FileState::Directory);
        assert!(changes(&d, &current(Kind::File)).is_err());
        let a = wanted(FileState::Absent);
        assert!(
            changes(&a, &current(Kind::Symlink))
                .expect("removable")
                .remove
        );
        assert!(
            changes(&a, &current(Kind::Absent))
                .expect("nothing")
                .is_empty()
        );
    }

    #[test]
    fn a_missing_user_is_an_error_before_anything_changes() {
        let w = wanted(FileState::Present);
        let mut c = current(Kind::File);
        c.owner_exists = Some(false);
        let err = changes(&w, &c).expect_err("refused");
        assert!(
            err.to_string().contains("user `daemon` does not exist"),
            "{err}"
        );
    }

    #[test]
    fn replacing_content_restores_owner_group_and_mode() {
        let mut w = wanted(FileState::Present);
        w.owner = None;
        w.mode = None;
        let mut c = current(Kind::File);
        c.uid = "1".to_string();
        c.gid = "2".to_string();
        c.mode = 0o4750;
        let changes = changes(&w, &c).expect("comparable");
        assert_eq!(
            attributes_to_set(&w, &c, &changes),
            (Some("1".to_string()), Some("2".to_string()), Some(0o4750))
        );
        // Set-id bits are restored after an owner change alone.
        let mut w = wanted(FileState::Present);
        w.mode = None;
        let mut c = current(Kind::File);
        c.sha256 = Some("new".to_string());
        c.mode = 0o2755;
        let changes = super::changes(&w, &c).expect("comparable");
        assert!(!changes.content && changes.owner);
        assert_eq!(
            attributes_to_set(&w, &c, &changes),
            (Some("daemon".to_string()), None, Some(0o2755))
        );
        c.mode = 0o755;
        assert_eq!(
            attributes_to_set(&w, &c, &changes),
            (Some("daemon".to_string()), None, None)
        );
        // A new file without attributes asked for gets none set.
        w.owner = None;
        let new = current(Kind::Absent);
        let changes = super::changes(&w, &new).expect("comparable");
        assert_eq!(attributes_to_set(&w, &new, &changes), (None, None, None));
    }

    #[test]
    fn parents() {
        assert_eq!(parent_of("/etc/x.conf"), "/etc");
        assert_eq!(parent_of("/x"), "/");
        assert_eq!(parent_of("/a/b/c/"), "/a/b");
    }

    /// Runs the converging script here with `sh`, the content on stdin, as a terminal would.
    fn converge_here(wanted: &Wanted<'_>, content: &[u8]) -> (Converged, bool) {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .args(["-c", &converge_script(wanted, None)])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(content)
            .expect("write");
        let output = child.wait_with_output().expect("sh ends");
        (
            Converged::parse(&output.stdout).expect("says whether it wrote"),
            output.status.success(),
        )
    }

    #[test]
    fn the_converging_script_writes_only_what_differs_and_reports_the_old_text() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.conf");
        let path_text = path.to_str().expect("utf-8").to_string();
        let content = "new\n";
        let mut w = wanted(FileState::Present);
        w.path = Box::leak(path_text.into_boxed_str());
        w.owner = None;
        w.sha256 = Some(hex::encode(Sha256::digest(content.as_bytes())));

        // Missing: written, with the mode, nothing old.
        let (report, ok) = converge_here(&w, content.as_bytes());
        assert!(ok && report.wrote && report.old.is_none(), "{report:?}");
        assert_eq!(
            parse_probe(&report.probe).expect("probe").kind,
            Kind::Absent
        );
        assert_eq!(std::fs::read(&path).expect("written"), content.as_bytes());
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644);

        // The same: nothing written.
        let (report, ok) = converge_here(&w, content.as_bytes());
        assert!(ok && !report.wrote, "{report:?}");
        let current = parse_probe(&report.probe).expect("probe");
        assert!(changes(&w, &current).expect("changes").is_empty());

        // Different, without a final newline: the old bytes come back exactly.
        std::fs::write(&path, b"old\nno newline").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let (report, ok) = converge_here(&w, content.as_bytes());
        assert!(ok && report.wrote, "{report:?}");
        assert_eq!(report.old.as_deref(), Some(&b"old\nno newline"[..]));
        assert_eq!(std::fs::read(&path).expect("written"), content.as_bytes());
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644);
        // No temporary file left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);

        // Text without a final newline, backslashes and blanks kept exactly.
        let tricky = "a\\b\\n\n  c \t\n\nno newline";
        w.sha256 = Some(hex::encode(Sha256::digest(tricky.as_bytes())));
        let (report, ok) = converge_here(&w, tricky.as_bytes());
        assert!(ok && report.wrote, "{report:?}");
        assert_eq!(std::fs::read(&path).expect("written"), tricky.as_bytes());

        // A directory in the way, or a missing parent: nothing written, the client decides.
        let mut blocked = wanted(FileState::Present);
        blocked.owner = None;
        blocked.path = Box::leak(format!("{}/missing/x", dir.path().display()).into_boxed_str());
        let (report, ok) = converge_here(&blocked, b"x");
        assert!(ok && !report.wrote, "{report:?}");
        assert!(!parse_probe(&report.probe).expect("probe").parent_exists);
    }
}
