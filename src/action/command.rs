//! The `command` action: runs a shell command on the terminal, unless a guard says it has
//! already done its work.
//!
//! Without guards a command always runs and always reports a change, as in Ansible: seibi
//! cannot know what an arbitrary command does. Two guards make it idempotent:
//! - `creates: <path>`: skip when the path exists;
//! - `unless: <command>`: skip when that command exits 0.
//!
//! The query runs the guards, and only the guards, so they also run in check mode: an `unless`
//! command must be free of side effects (a test, a grep, a version query), exactly as Ansible
//! expects of the commands it runs in check mode.
//!
//! `cmd` and `unless` run under `/bin/sh -c` whatever the login shell is, after `cd` into
//! `chdir` (when given; a relative `creates` is taken from there too) and with the `env`
//! variables exported. Secrets may appear only in `stdin`, whose text is revealed and sent on
//! the command's standard input; a placeholder anywhere on the command line (`cmd`, `unless`,
//! `creates`, `chdir`, `env`) is refused, because any user of the terminal can read command
//! lines in the process list.

use crate::playbook::CommandArgs;
use crate::transport::{ExecOutput, shell_quote};

use super::{ActionContext, ActionError, Applied, Query};

/// How much of a failed command's stderr goes into the error message.
const STDERR_TAIL_LINES: usize = 20;
/// See [`STDERR_TAIL_LINES`].
const STDERR_TAIL_BYTES: usize = 2000;

/// What would change: nothing when a guard holds, otherwise "run `cmd`".
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args: CommandArgs = ctx.args()?;
    let prelude = prelude(&args)?;
    if let Some(path) = &args.creates {
        let probe = format!("{prelude}test -e {}", shell_quote(path));
        if ctx.exec(&probe, None).await?.success() {
            return Ok(Query::unchanged(format!("`{path}` exists")));
        }
    }
    if let Some(unless) = &args.unless {
        let probe = format!("{prelude}exec sh -c {}", shell_quote(unless));
        if ctx.exec(&probe, None).await?.success() {
            return Ok(Query::unchanged(format!(
                "`{}` succeeded",
                abbreviate(unless)
            )));
        }
    }
    Ok(Query::change(format!("run `{}`", abbreviate(&args.cmd))))
}

/// Runs the command; a non-zero exit fails with its status and the end of its stderr.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let args: CommandArgs = ctx.args()?;
    let command = format!("{}exec sh -c {}", prelude(&args)?, shell_quote(&args.cmd));
    let stdin = args
        .stdin
        .as_deref()
        .map(|text| ctx.reveal(text))
        .transpose()?;
    let output = ctx
        .exec(&command, stdin.as_ref().map(|s| s.expose().as_bytes()))
        .await?;
    drop(stdin);
    if !output.success() {
        return Err(ActionError::Failed {
            message: ctx.redact(&failure_message(&args.cmd, &output)),
            output: Some(output),
        });
    }
    Ok(Applied {
        changed: true,
        summary: format!("ran `{}`", abbreviate(&args.cmd)),
        output: Some(output),
        facts: None,
        reconnect: None,
    })
}

/// The shell text put before the command: `cd` into `chdir`, then the exported variables, each
/// step joined with `&&` so that a failed `cd` stops everything. Refuses secrets and names that
/// are not shell variable names.
fn prelude(args: &CommandArgs) -> Result<String, ActionError> {
    refuse_secret("cmd", &args.cmd)?;
    if args.cmd.trim().is_empty() {
        return Err(ActionError::Args(
            "`cmd` is empty: give the command to run".to_string(),
        ));
    }
    for (name, value) in [
        ("unless", &args.unless),
        ("creates", &args.creates),
        ("chdir", &args.chdir),
    ] {
        if let Some(value) = value {
            refuse_secret(name, value)?;
        }
    }
    let mut out = String::new();
    if let Some(dir) = &args.chdir {
        out.push_str(&format!("cd -- {} && ", shell_quote(dir)));
    }
    for (name, value) in &args.env {
        if !is_variable_name(name) {
            return Err(ActionError::Args(format!(
                "`{name}` in `env` is not a shell variable name: use letters, digits and `_`, not starting with a digit"
            )));
        }
        refuse_secret(&format!("env.{name}"), value)?;
        out.push_str(&format!("export {name}={} && ", shell_quote(value)));
    }
    Ok(out)
}

fn refuse_secret(argument: &str, text: &str) -> Result<(), ActionError> {
    if text.contains("[[secret:") {
        return Err(ActionError::Args(format!(
            "a secret appears in `{argument}`, which goes on the command line where any user of the terminal can read it in the process list; send it on `stdin:` instead (e.g. `cmd: chpasswd` with `stdin: \"user:{{{{ secret('name') }}}}\"`)"
        )));
    }
    Ok(())
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// "`cmd` exited with status 3: <last lines of stderr>" (not yet redacted).
fn failure_message(cmd: &str, output: &ExecOutput) -> String {
    let how = match &output.exit_signal {
        Some(signal) => format!("was killed by signal {signal}"),
        None => format!("exited with status {}", output.exit_status),
    };
    let stderr = output.stderr_text();
    let tail = tail(stderr.trim_end(), STDERR_TAIL_LINES, STDERR_TAIL_BYTES);
    if tail.is_empty() {
        format!("`{}` {how} (nothing on stderr)", abbreviate(cmd))
    } else {
        format!("`{}` {how}: {tail}", abbreviate(cmd))
    }
}

/// The last `lines` lines of `text`, and at most its last `bytes` bytes (cut at a character
/// boundary), with `...` in front when something was cut.
fn tail(text: &str, lines: usize, bytes: usize) -> String {
    let mut start = text
        .rmatch_indices('\n')
        .nth(lines.saturating_sub(1))
        .map_or(0, |(at, _)| at + 1);
    if text.len() - start > bytes {
        start = text.len() - bytes;
        while !text.is_char_boundary(start) {
            start += 1;
        }
    }
    if start == 0 {
        text.to_string()
    } else {
        format!("...{}", &text[start..])
    }
}

/// The first line of a command, with `...` when there is more, for summaries.
fn abbreviate(cmd: &str) -> String {
    let trimmed = cmd.trim();
    let mut lines = trimmed.lines();
    let first = lines.next().unwrap_or("");
    if lines.next().is_some() {
        format!("{first} ...")
    } else {
        first.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn args(cmd: &str) -> CommandArgs {
        CommandArgs {
            cmd: cmd.to_string(),
            creates: None,
            unless: None,
            chdir: None,
            env: IndexMap::new(),
            stdin: None,
        }
    }

    #[test]
    fn prelude_changes_directory_and_exports_quoted_values() {
        let mut a = args("make install");
        a.chdir = Some("/opt/my app".to_string());
        a.env.insert("PREFIX".to_string(), "/usr/local".to_string());
        a.env.insert("MSG".to_string(), "it's here".to_string());
        assert_eq!(
            prelude(&a).expect("valid"),
            "cd -- '/opt/my app' && export PREFIX='/usr/local' && export MSG='it'\\''s here' && "
        );
        assert_eq!(prelude(&args("true")).expect("valid"), "");
    }

    #[test]
    fn prelude_refuses_secrets_on_the_command_line_and_bad_names() {
        let err = prelude(&args("echo [[secret:root]]")).expect_err("refused");
        assert!(err.to_string().contains("`cmd`"), "{err}");
        assert!(err.to_string().contains("stdin"), "{err}");
        let mut a = args("true");
        a.env.insert("PW".to_string(), "[[secret:pw]]".to_string());
        assert!(
            prelude(&a)
                .expect_err("refused")
                .to_string()
                .contains("`env.PW`")
        );
        let mut a = args("true");
        a.env.insert("1X".to_string(), "v".to_string());
        assert!(
            prelude(&a)
                .expect_err("refused")
                .to_string()
                .contains("`1X`")
        );
        let mut a = args("true");
        a.unless = Some("grep [[secret:x]] /etc/y".to_string());
        assert!(
            prelude(&a)
                .expect_err("refused")
                .to_string()
                .contains("`unless`")
        );
        assert!(prelude(&args("  ")).is_err());
    }

    #[test]
    fn failure_messages_have_the_status_and_the_stderr_tail() {
        let output = ExecOutput::failed(3, "line 1\nline 2\n");
        assert_eq!(
            failure_message("false\nmore", &output),
            "`false ...` exited with status 3: line 1\nline 2"
        );
        let long: String = (1..=30).map(|i| format!("e{i}\n")).collect();
        let message = failure_message("x", &ExecOutput::failed(1, long));
        assert!(message.contains(": ...e11\ne12\n"), "{message}");
        assert!(!message.contains("e10\n"), "{message}");
        assert!(message.ends_with("e30"), "{message}");
        let killed = ExecOutput {
            exit_status: 143,
            exit_signal: Some("TERM".to_string()),
            ..ExecOutput::default()
        };
        assert_eq!(
            failure_message("sleep 9", &killed),
            "`sleep 9` was killed by signal TERM (nothing on stderr)"
        );
    }

    #[test]
    fn tail_cuts_at_character_boundaries() {
        assert_eq!(tail("abc", 5, 100), "abc");
        assert_eq!(tail("a\nb\nc", 2, 100), "...b\nc");
        assert_eq!(tail("日本語", 5, 4), "...語");
    }
}
