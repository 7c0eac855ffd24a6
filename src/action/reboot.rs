//! The `reboot` action: restart a terminal, and tell the executor to wait for it to come back.
//!
//! Reboot is normally a handler, run only when a task that notifies it changed something, so
//! its query always answers "needed".
//!
//! **Apply** records the terminal's boot id (`/proc/sys/kernel/random/boot_id`, new at every
//! boot), shows `message:` to logged-in users with `wall` when there is one (best effort), and
//! starts the reboot command detached, a second late, so that the SSH command returns first:
//! `nohup sh -c 'sleep 1; <command>' >/dev/null 2>&1 </dev/null &`. The command is `command:`
//! from the task, or [`DEFAULT_COMMAND`] (`systemctl reboot`). Lab hosts share the real
//! machine's kernel and PID 1; they replace the power commands with a stand-in that simulates a
//! reboot by giving the host a new boot id (see [`crate::lab::POWER_COMMANDS`]). The action does
//! not wait itself, since waiting means connecting again, which only the executor can do: it
//! returns [`Applied::reconnect`] set to `timeout_secs`, and facts
//! `{"boot_id": "…", "command": "…", "require_new_boot": bool}`.
//!
//! **The executor's side.** On an outcome with `reconnect: Some(limit)`, the executor closes
//! this terminal's connection, waits a few seconds (the command starts after one), and then,
//! until `limit` has passed since the reboot was issued, connects again with its usual retries
//! and asks [`came_back`] with the outcome's facts: `true` means the terminal is back and the
//! next task may run; `false` means it still runs the old boot (it has not gone down yet), so
//! the executor closes, waits and tries again. A terminal not back by the limit fails the
//! task ("did not come back within N s") and, as for any failed task, skips the terminal's
//! remaining tasks. With the default command a new boot id is required; with a `command:` of
//! the job's own (a rehearsal stand-in, or a command that does not restart the kernel) the
//! terminal answering at all counts as back.

use std::time::Duration;

use serde_json::json;

use super::{ActionContext, ActionError, Applied, Query};
use crate::playbook::RebootArgs;
use crate::transport::{Transport, TransportError, shell_quote};

/// The command that reboots when the task names none.
pub const DEFAULT_COMMAND: &str = "systemctl reboot";

/// The file holding the id of the running boot.
pub const BOOT_ID_FILE: &str = "/proc/sys/kernel/random/boot_id";

fn command_of(args: &RebootArgs) -> Result<&str, ActionError> {
    match args.command.as_deref() {
        None => Ok(DEFAULT_COMMAND),
        Some(c) if c.trim().is_empty() => Err(ActionError::Args(
            "`command` is empty; leave it out to reboot with `systemctl reboot`".to_string(),
        )),
        Some(c) => Ok(c),
    }
}

/// Always needed: a reboot runs only when something asked for it.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args: RebootArgs = ctx.args()?;
    let command = command_of(&args)?;
    Ok(Query::change(format!(
        "reboot with `{command}` and wait up to {} s for the terminal to come back",
        args.timeout_secs
    )))
}

/// Issues the reboot and asks the executor to reconnect.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let args: RebootArgs = ctx.args()?;
    let command = command_of(&args)?;
    let boot_id = boot_id(ctx.transport).await?;
    if let Some(message) = args.message.as_deref().filter(|m| !m.trim().is_empty()) {
        // The message goes on stdin: it is text for people, not part of a command line.
        let _ = ctx
            .exec(
                "command -v wall >/dev/null 2>&1 && wall 2>/dev/null; true",
                Some(format!("{message}\n").as_bytes()),
            )
            .await?;
    }
    let detached = format!(
        "nohup sh -c {} >/dev/null 2>&1 </dev/null &",
        shell_quote(&format!("sleep 1; {command}"))
    );
    let output = ctx.exec_ok(&detached, None).await?;
    Ok(Applied {
        changed: true,
        summary: format!(
            "reboot issued with `{command}`; waiting up to {} s for the terminal to come back",
            args.timeout_secs
        ),
        output: Some(output),
        facts: Some(json!({
            "boot_id": boot_id,
            "command": command,
            "require_new_boot": args.command.is_none(),
        })),
        reconnect: Some(Duration::from_secs(args.timeout_secs)),
    })
}

/// The id of the terminal's running boot, if the terminal has one.
async fn boot_id(transport: &dyn Transport) -> Result<Option<String>, TransportError> {
    let out = transport.exec(&format!("cat {BOOT_ID_FILE}"), None).await?;
    let id = out.stdout_text().trim().to_string();
    Ok((out.success() && !id.is_empty()).then_some(id))
}

/// Whether a terminal reached again after a reboot is back, given the reboot outcome's facts:
/// when the facts require a new boot, the boot id must differ from the recorded one (a
/// terminal without a boot id counts as back once it answers); otherwise answering suffices.
pub async fn came_back(
    transport: &dyn Transport,
    facts: Option<&serde_json::Value>,
) -> Result<bool, TransportError> {
    let now = boot_id(transport).await?;
    let require_new = facts
        .and_then(|f| f.get("require_new_boot"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    let before = facts
        .and_then(|f| f.get("boot_id"))
        .and_then(serde_json::Value::as_str);
    Ok(match (require_new, before, now) {
        (false, _, _) => true,
        (true, Some(before), Some(now)) => before != now,
        (true, _, _) => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ExecOutput;
    use crate::transport::fake::FakeTransport;

    #[tokio::test]
    async fn came_back_compares_boot_ids() {
        let fake = FakeTransport::new().on(format!("cat {BOOT_ID_FILE}"), ExecOutput::ok("b2\n"));
        let same = json!({"boot_id": "b2", "require_new_boot": true});
        let old = json!({"boot_id": "b1", "require_new_boot": true});
        let rehearsal = json!({"boot_id": "b2", "require_new_boot": false});
        assert!(!came_back(&fake, Some(&same)).await.expect("fake"));
        assert!(came_back(&fake, Some(&old)).await.expect("fake"));
        assert!(came_back(&fake, Some(&rehearsal)).await.expect("fake"));
    }

    #[test]
    fn default_and_empty_commands() {
        let args: RebootArgs = serde_json::from_value(json!({})).expect("args");
        assert_eq!(command_of(&args).expect("default"), DEFAULT_COMMAND);
        let args: RebootArgs = serde_json::from_value(json!({"command": " "})).expect("args");
        assert!(command_of(&args).is_err());
    }
}
