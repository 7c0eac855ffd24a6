//! Actions carried out on a terminal: every action is first *queried* ("what would change?"),
//! then applied only if something would.
//!
//! The dry run (`apply --check`) and `--diff` come from the query for free, and applying twice
//! changes nothing the second time. One file per action; this module holds what they share: the
//! [`ActionContext`] a task runs in, the [`Query`] and [`Applied`] results, [`ActionError`], and
//! [`run_task`], which the executor calls for each (terminal, task) unit.
//!
//! Arguments come from the plan (rendered for the terminal, secrets as placeholders
//! `[[secret:name]]`). [`ActionContext::reveal`] swaps placeholders for values just before bytes
//! are sent on stdin or as file content; [`ActionContext::redact`] swaps values back in anything
//! shown to people (diffs, errors). A placeholder in a command line is refused: secrets travel on
//! stdin only.
//!
//! Two kinds of work do not fit "change the terminal or not". Actions that only bring
//! something back (`inspect`, `fetch`) answer [`Query::collect`]: the outcome stays `Ok`, the
//! query's facts are reported also in check mode, and outside check mode `apply` runs to store
//! what it collects. `reboot` sets [`Applied::reconnect`] (copied to
//! [`TaskOutcome::reconnect`]): the executor must connect again and wait for the terminal to
//! come back before its next task (see [`reboot`]).

pub mod command;
pub mod diff;
pub mod fetch;
pub mod file;
pub mod inspect;
pub mod package;
pub mod password;
pub mod reboot;
pub mod template;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::plan::{PlannedTask, PlannedTerminal};
use crate::secrets::Secret;
use crate::template::secret_placeholder;
use crate::transport::{ExecOutput, Transport, TransportError};

/// Everything outside the terminal that an action may need.
#[derive(Debug, Default)]
pub struct ApplyEnv {
    /// The project directory.
    pub project_root: PathBuf,
    /// Where `fetch` and `inspect` store what they collect: `<collect_root>/<terminal>/<run>/`.
    pub collect_root: PathBuf,
    /// Verified artifacts by (job id, artifact name): local file and expected SHA-256.
    pub artifacts: BTreeMap<(String, String), LocalArtifact>,
    /// Secret values by name, for the secrets the plan uses.
    pub secrets: BTreeMap<String, Arc<Secret<String>>>,
    /// The secrets directory (password store), when the project has one.
    pub secrets_dir: Option<PathBuf>,
    /// Virus scanner to run on media that ask for a scan (`clamscan` unless overridden).
    pub scanner: Option<String>,
    /// Who is applying (roster name), for records such as password rotations.
    pub operator: String,
    /// Run id.
    pub run_id: String,
}

/// An artifact on this machine.
#[derive(Debug, Clone)]
pub struct LocalArtifact {
    /// Its file.
    pub path: PathBuf,
    /// The SHA-256 the plan pinned.
    pub sha256: String,
}

/// One (terminal, task) unit in progress.
pub struct ActionContext<'a> {
    /// The connection to the terminal.
    pub transport: &'a dyn Transport,
    /// The terminal as planned.
    pub terminal: &'a PlannedTerminal,
    /// The task as planned (arguments rendered for this terminal).
    pub task: &'a PlannedTask,
    /// The world outside the terminal.
    pub env: &'a ApplyEnv,
}

impl ActionContext<'_> {
    /// Deserializes the planned arguments into an action's argument type.
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, ActionError> {
        serde_json::from_value(self.task.args.clone()).map_err(|e| {
            ActionError::Args(format!(
                "the plan's arguments for `{}` do not fit the `{}` action: {e}; make the plan again",
                self.task.key, self.task.action
            ))
        })
    }

    /// Runs a command that must not carry secrets; a non-zero exit is not an error here.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ActionError> {
        if command.contains("[[secret:") {
            return Err(ActionError::Args(
                "a secret reference appears in a command line, where any user of the terminal could read it in the process list; send it on `stdin:` instead".to_string(),
            ));
        }
        Ok(self.transport.exec(command, stdin).await?)
    }

    /// Runs a command and fails with its stderr when it exits non-zero.
    pub async fn exec_ok(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ActionError> {
        let out = self.exec(command, stdin).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(ActionError::Failed {
                message: format!(
                    "`{}` exited with status {}: {}",
                    first_line(command),
                    out.exit_status,
                    self.redact(out.stderr_text().trim())
                ),
                output: Some(out),
            })
        }
    }

    /// The text with every `[[secret:name]]` replaced by the value, for sending to the terminal.
    pub fn reveal(&self, text: &str) -> Result<Secret<String>, ActionError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("[[secret:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "[[secret:".len()..];
            let Some(end) = after.find("]]") else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let value = self.env.secrets.get(name).ok_or_else(|| {
                ActionError::Local(format!(
                    "secret `{name}` is not available: run with an identity that can read the secrets store (`--identity` or SEIBI_IDENTITY)"
                ))
            })?;
            out.push_str(value.expose());
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(Secret::new(out))
    }

    /// The text with every known secret value replaced by its placeholder, for showing.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.env.secrets)
    }
}

/// `text` with every value in `secrets` replaced by its placeholder, longest values first, so
/// that a secret that contains another (`password1` and `pass`) is hidden whole.
pub fn redact(text: &str, secrets: &BTreeMap<String, Arc<Secret<String>>>) -> String {
    let mut by_length: Vec<(&String, &Arc<Secret<String>>)> = secrets
        .iter()
        .filter(|(_, v)| !v.expose().is_empty())
        .collect();
    by_length.sort_by(|a, b| {
        b.1.expose()
            .len()
            .cmp(&a.1.expose().len())
            .then(a.0.cmp(b.0))
    });
    let mut out = text.to_string();
    for (name, value) in by_length {
        out = out.replace(value.expose().as_str(), &secret_placeholder(name));
    }
    out
}

fn first_line(command: &str) -> &str {
    command.lines().next().unwrap_or("")
}

/// What the query found: whether the action needs to do anything, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Whether applying would change the terminal.
    pub needed: bool,
    /// One line for people: "mode 0600 -> 0644", "install 2.4.1 (has 2.4.0)".
    pub summary: String,
    /// A unified diff of file content, secrets redacted, when there is one.
    pub diff: Option<String>,
    /// Read-only work left for [`apply`] that does not change the terminal: bringing facts or
    /// files onto this machine (`inspect`, `fetch`). Outside check mode `apply` runs for it even
    /// when nothing is `needed`, and the outcome stays [`Status::Ok`] unless
    /// [`Applied::changed`] says otherwise; in check mode nothing is collected.
    pub collect: bool,
    /// Facts the query found (`inspect`), reported in the outcome also in check mode.
    pub facts: Option<serde_json::Value>,
}

impl Query {
    /// Nothing to do.
    pub fn unchanged(summary: impl Into<String>) -> Self {
        Query {
            needed: false,
            summary: summary.into(),
            diff: None,
            collect: false,
            facts: None,
        }
    }

    /// Something to do.
    pub fn change(summary: impl Into<String>) -> Self {
        Query {
            needed: true,
            summary: summary.into(),
            diff: None,
            collect: false,
            facts: None,
        }
    }

    /// Nothing on the terminal changes, but `apply` has something to bring back (facts, files).
    pub fn collect(summary: impl Into<String>, facts: Option<serde_json::Value>) -> Self {
        Query {
            needed: false,
            summary: summary.into(),
            diff: None,
            collect: true,
            facts,
        }
    }
}

/// What applying did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Whether the terminal changed.
    pub changed: bool,
    /// One line for people.
    pub summary: String,
    /// Output of the main command, if there was one.
    pub output: Option<ExecOutput>,
    /// Facts gathered (inspect) or files collected (fetch), as JSON.
    pub facts: Option<serde_json::Value>,
    /// Set by `reboot`: the terminal is going down, and the executor must drop this connection,
    /// connect again (retrying) within this long, and confirm the terminal came back (see
    /// [`reboot`]) before running the terminal's next task.
    pub reconnect: Option<Duration>,
}

/// Why an action could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The connection failed: the terminal is unreachable.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The terminal refused or a command failed.
    #[error("{message}")]
    Failed {
        /// What failed, secrets redacted.
        message: String,
        /// The command's output, when there was one.
        output: Option<ExecOutput>,
    },
    /// The arguments cannot be used.
    #[error("{0}")]
    Args(String),
    /// Something on this machine failed (artifact, scanner, secrets store).
    #[error("{0}")]
    Local(String),
}

/// How a unit ended: the journal's statuses, so that a run's outcome and its record are one
/// type (see [`crate::journal::record::Status`]).
pub use crate::journal::record::Status;

/// The outcome of one (terminal, task) unit, as the coordinator records it.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    /// How it ended.
    pub status: Status,
    /// What the query said.
    pub query: Option<Query>,
    /// One line for people (secrets redacted).
    pub summary: String,
    /// SHA-256 and size of the main command's stdout and stderr.
    pub stdout: Option<(String, usize)>,
    /// See `stdout`.
    pub stderr: Option<(String, usize)>,
    /// The error, secrets redacted.
    pub error: Option<String>,
    /// Facts or collected files.
    pub facts: Option<serde_json::Value>,
    /// Copied from [`Applied::reconnect`]: reconnect within this long before the next task.
    pub reconnect: Option<Duration>,
    /// How long it took.
    pub duration: Duration,
}

fn digest(bytes: &[u8]) -> (String, usize) {
    (hex::encode(Sha256::digest(bytes)), bytes.len())
}

/// Queries the task's action and, unless `check` is set, applies it when needed.
pub async fn run_task(ctx: &ActionContext<'_>, check: bool) -> TaskOutcome {
    let started = Instant::now();
    let result = async {
        if !check && let Some(done) = converge(ctx).await? {
            return Ok(done);
        }
        let query = query(ctx).await?;
        if check || !(query.needed || query.collect) {
            return Ok((query, None));
        }
        let applied = apply(ctx, &query).await?;
        Ok::<_, ActionError>((query, Some(applied)))
    }
    .await;
    let duration = started.elapsed();
    match result {
        Ok((query, None)) => TaskOutcome {
            status: if query.needed {
                Status::Changed
            } else {
                Status::Ok
            },
            summary: ctx.redact(&query.summary),
            facts: query.facts.clone(),
            query: Some(query),
            stdout: None,
            stderr: None,
            error: None,
            reconnect: None,
            duration,
        },
        Ok((query, Some(applied))) => TaskOutcome {
            status: if applied.changed {
                Status::Changed
            } else {
                Status::Ok
            },
            summary: ctx.redact(&applied.summary),
            stdout: applied.output.as_ref().map(|o| digest(&o.stdout)),
            stderr: applied.output.as_ref().map(|o| digest(&o.stderr)),
            facts: applied.facts.or_else(|| query.facts.clone()),
            query: Some(query),
            error: None,
            reconnect: applied.reconnect,
            duration,
        },
        Err(err) => {
            // The unit's intent is in the journal and its command may have reached the
            // terminal: a lost connection leaves it interrupted, not unreachable. A later run
            // waits for its commands to end (the terminal's lease) and queries it again.
            let status = match &err {
                ActionError::Transport(t) if t.is_connection_failure() => Status::Interrupted,
                _ => Status::Failed,
            };
            let output = match &err {
                ActionError::Failed { output, .. } => output.clone(),
                _ => None,
            };
            TaskOutcome {
                status,
                query: None,
                summary: String::new(),
                stdout: output.as_ref().map(|o| digest(&o.stdout)),
                stderr: output.as_ref().map(|o| digest(&o.stderr)),
                error: Some(ctx.redact(&with_root_hint(ctx.terminal, err.to_string()))),
                facts: None,
                reconnect: None,
                duration,
            }
        }
    }
}

/// What system tools say when they lack root's rights.
const NOT_ROOT_SIGNS: &[&str] = &[
    "Permission denied",
    "Operation not permitted",
    "requires superuser privilege",
    "are you root?",
    "must be run as root",
    "must be root",
    "Only root",
];

/// `message` with a hint on its first line (the line progress output shows) when the failure
/// looks like missing root rights on a terminal that logs in as another user and has no
/// `become`: that is what to change, and the bare "Permission denied" does not say so.
fn with_root_hint(terminal: &PlannedTerminal, message: String) -> String {
    let needs_root = terminal.user != "root"
        && terminal.become_method.is_none()
        && !message.contains("become:")
        && NOT_ROOT_SIGNS.iter().any(|sign| message.contains(sign));
    if !needs_root {
        return message;
    }
    let hint = format!(
        "hint: `{}` is not root and terminal `{}` has no `become`: set `become: sudo` for it in the inventory (with NOPASSWD sudo for `{}`), or log in as root",
        terminal.user, terminal.id, terminal.user
    );
    match message.split_once('\n') {
        Some((first, rest)) => format!("{first}; {hint}\n{rest}"),
        None => format!("{message}; {hint}"),
    }
}

/// What the task's action would change.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    match ctx.task.action.as_str() {
        "command" => command::query(ctx).await,
        "file" => file::query(ctx).await,
        "template" => template::query(ctx).await,
        "package" | "patch" => package::query(ctx).await,
        "password" => password::query(ctx).await,
        "inspect" => inspect::query(ctx).await,
        "fetch" => fetch::query(ctx).await,
        "reboot" => reboot::query(ctx).await,
        other => Err(ActionError::Args(format!("unknown action `{other}`"))),
    }
}

/// Queries and applies in one request to the terminal, for the actions that can decide on the
/// terminal what to change (`file` and `template` with `state: present`, see
/// [`file::converge_path`]): the query and what was applied, as [`query`] and [`apply`] would
/// give them. `None` for the others, which query first and then apply.
pub async fn converge(
    ctx: &ActionContext<'_>,
) -> Result<Option<(Query, Option<Applied>)>, ActionError> {
    match ctx.task.action.as_str() {
        "file" => file::converge(ctx).await,
        "template" => template::converge(ctx).await,
        _ => Ok(None),
    }
}

/// Makes the change the query found.
pub async fn apply(ctx: &ActionContext<'_>, query: &Query) -> Result<Applied, ActionError> {
    match ctx.task.action.as_str() {
        "command" => command::apply(ctx, query).await,
        "file" => file::apply(ctx, query).await,
        "template" => template::apply(ctx, query).await,
        "package" | "patch" => package::apply(ctx, query).await,
        "password" => password::apply(ctx, query).await,
        "inspect" => inspect::apply(ctx, query).await,
        "fetch" => fetch::apply(ctx, query).await,
        "reboot" => reboot::apply(ctx, query).await,
        other => Err(ActionError::Args(format!("unknown action `{other}`"))),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn redaction_hides_a_secret_that_contains_another_whole() {
        let secrets: BTreeMap<String, Arc<Secret<String>>> =
            [("a", "pass"), ("b", "password1"), ("c", "word")]
                .into_iter()
                .map(|(n, v)| (n.to_string(), Arc::new(Secret::new(v.to_string()))))
                .collect();
        assert_eq!(
            redact("login password1, then pass, a word", &secrets),
            "login [[secret:b]], then [[secret:a]], a [[secret:c]]"
        );
        assert!(!redact("password1password1", &secrets).contains("word"));
    }

    use super::*;
    use crate::inventory::{Become, Platform};

    fn terminal(user: &str, become_method: Become) -> PlannedTerminal {
        PlannedTerminal {
            id: "kita-t02".to_string(),
            address: "10.2.0.12".to_string(),
            port: 22,
            user: user.to_string(),
            become_method,
            platform: Platform::Linux,
            key_file: None,
            jobs: Vec::new(),
            tasks: Vec::new(),
            estimated_minutes: 0,
        }
    }

    #[test]
    fn a_permission_failure_without_become_says_what_to_change_on_its_first_line() {
        let message = "`dpkg -i` exited with status 2: dpkg: error: requested operation requires superuser privilege\nmore".to_string();
        let hinted = with_root_hint(&terminal("clerk", Become::None), message.clone());
        let first = hinted.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("`dpkg -i` exited with status 2"),
            "{hinted}"
        );
        assert!(
            first.contains(
                "hint: `clerk` is not root and terminal `kita-t02` has no `become`: set `become: sudo`"
            ),
            "{hinted}"
        );
        assert!(hinted.ends_with("\nmore"), "{hinted}");
        // Root, a terminal that already becomes root, and other failures keep their message.
        for (user, become_method) in [("root", Become::None), ("clerk", Become::Sudo)] {
            assert_eq!(
                with_root_hint(&terminal(user, become_method), message.clone()),
                message
            );
        }
        let other = "`false` exited with status 1: ".to_string();
        assert_eq!(
            with_root_hint(&terminal("clerk", Become::None), other.clone()),
            other
        );
        let upload =
            "upload of /etc/x failed (exit status 1): mktemp: failed to create file: Permission denied"
                .to_string();
        assert!(with_root_hint(&terminal("clerk", Become::None), upload).contains("; hint: "));
    }
}
