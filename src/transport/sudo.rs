//! [`Sudo`]: a [`Transport`] that runs every command of another one as root through `sudo`, for
//! terminals whose inventory says `become: sudo` (root cannot log in over SSH; an administrator
//! account logs in and has NOPASSWD sudo).
//!
//! Every `exec` becomes `sudo -n -H -- sh -c 'cd 2>/dev/null; <command>'` ([`sudo_command`]):
//! `-n` never waits at a password prompt that nobody would answer (an account without a
//! NOPASSWD rule fails at once), `-H` and the `cd` give the command root's home as `HOME` and as
//! its working directory, as a root login would. Stdin goes through unchanged, so secrets keep
//! travelling on stdin only; that matters doubly here, since sudo records every command line in
//! the terminal's logs. Variables a command needs are set inside its text (`SEIBI_UNIT=...;
//! export SEIBI_UNIT`), where sudo's environment reset does not reach them. Uploads and
//! downloads are commands too (the trait's default methods call `exec`), so they run as root
//! and the files they write belong to root; the inner transport's own upload and download are
//! deliberately not used.
//!
//! [`Sudo::checked`] runs `sudo -n true` once, when connecting: an account that may not use
//! sudo fails there, with the terminal, the account and what to do, and not at its first task.

use super::{ConnectSpec, ExecOutput, Transport, TransportError, TransportFuture, shell_quote};

/// The command that proves the login user may run anything as root without a password.
pub const SUDO_CHECK: &str = "sudo -n true";

/// Exit status of a shell for a command it cannot find.
const NOT_FOUND: u32 = 127;

/// `command` as root: `sudo -n -H -- sh -c '<cd to root's home; command>'`.
pub fn sudo_command(command: &str) -> String {
    format!(
        "sudo -n -H -- sh -c {}",
        shell_quote(&format!("cd 2>/dev/null; {command}"))
    )
}

/// A transport whose commands run as root through `sudo -n` on the terminal.
#[derive(Debug)]
pub struct Sudo<T> {
    inner: T,
}

impl<T: Transport> Sudo<T> {
    /// Wraps `inner` without checking that sudo works (see [`Sudo::checked`]).
    pub fn new(inner: T) -> Self {
        Sudo { inner }
    }

    /// Wraps `inner` once `sudo -n true` succeeds on it. Otherwise closes it and fails with
    /// [`TransportError::Become`], which is a refusal like a failed authentication, not a
    /// connection failure: retrying cannot help.
    pub async fn checked(inner: T, spec: &ConnectSpec) -> Result<Self, TransportError> {
        let output = inner.exec(SUDO_CHECK, None).await?;
        if output.success() {
            return Ok(Sudo { inner });
        }
        let _ = inner.close().await;
        Err(refused(spec, SUDO_CHECK, &output))
    }
}

/// The error for a login user that may not become root: `command`, run under `sudo -n`, ended
/// with `output` (the connect check, or the command shell started under sudo).
pub fn refused(spec: &ConnectSpec, command: &str, output: &ExecOutput) -> TransportError {
    TransportError::Become {
        target: spec.to_string(),
        user: spec.user.clone(),
        reason: refusal(command, output),
    }
}

/// What sudo said when it refused `command`, for the error.
fn refusal(command: &str, output: &ExecOutput) -> String {
    // One line: the error is shown by its first line.
    let stderr = output.stderr_text();
    let said = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    match (output.exit_status, said.as_str()) {
        (NOT_FOUND, _) => format!("sudo is not installed there ({said})"),
        (status, "") => format!("`{command}` exited with status {status}"),
        (_, said) => format!("`{command}` said: {said}"),
    }
}

impl<T: Transport> Transport for Sudo<T> {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput> {
        Box::pin(async move { self.inner.exec(&sudo_command(command), stdin).await })
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        self.inner.close()
    }

    fn counts(&self) -> super::RequestCounts {
        self.inner.counts()
    }

    fn how(&self) -> String {
        self.inner.how()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Call, FakeTransport};

    /// Runs `sudo_command(command)` with `sh` here (without the `sudo`), as the terminal would
    /// run it after sudo: what the wrapped command prints must be what `command` prints.
    fn run_like_sudo(command: &str) -> String {
        let wrapped = sudo_command(command);
        let inner = wrapped
            .strip_prefix("sudo -n -H -- ")
            .expect("the sudo prefix");
        let output = std::process::Command::new("sh")
            .args(["-c", inner])
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn the_command_is_one_quoted_word_for_sh_under_sudo() {
        assert_eq!(
            sudo_command("id -u"),
            "sudo -n -H -- sh -c 'cd 2>/dev/null; id -u'"
        );
        assert_eq!(
            sudo_command("echo 'a b'; test -e x"),
            r"sudo -n -H -- sh -c 'cd 2>/dev/null; echo '\''a b'\''; test -e x'"
        );
    }

    #[test]
    fn quoting_keeps_every_character_of_the_command() {
        let tricky = [
            r#"printf '%s\n' "it's" '$HOME' "\$x" `echo no` "a;b" 'c&&d'"#,
            "SEIBI_UNIT='run/t1/job/task'; export SEIBI_UNIT; exec sh -c 'printf %s \"$SEIBI_UNIT\"'",
            "printf 'line one\\nline two\\n'\nprintf 'after a newline\\n'",
            "printf '%s' '''''",
        ];
        for command in tricky {
            let direct = std::process::Command::new("sh")
                .args(["-c", command])
                .output()
                .expect("sh runs");
            assert_eq!(
                run_like_sudo(command),
                String::from_utf8_lossy(&direct.stdout),
                "{command}"
            );
        }
        assert_eq!(
            run_like_sudo(
                "SEIBI_UNIT='r/t/j/k'; export SEIBI_UNIT; exec sh -c 'printf %s \"$SEIBI_UNIT\"'"
            ),
            "r/t/j/k",
            "a variable set in the command text reaches the command"
        );
    }

    #[tokio::test]
    async fn commands_uploads_and_downloads_go_through_sudo_with_stdin_unchanged() {
        let secret = b"kanri:$6$salt$hash\n";
        let upload =
            crate::transport::upload_command("/etc/seibi/app.conf", 0o600).expect("a valid upload");
        let fake = FakeTransport::new()
            .on(sudo_command("chpasswd -e"), ExecOutput::ok(""))
            .on(sudo_command(&upload), ExecOutput::ok(""))
            .on(
                sudo_command("cat -- '/etc/shadow'"),
                ExecOutput::ok("root:*:1::::::\n"),
            );
        let sudo = Sudo::new(fake);
        let transport: &dyn Transport = &sudo;
        assert!(
            transport
                .exec("chpasswd -e", Some(secret))
                .await
                .expect("exec")
                .success()
        );
        // The trait's upload and download run as root, not the inner transport's own.
        transport
            .upload(b"key = value\n", "/etc/seibi/app.conf", 0o600)
            .await
            .expect("upload");
        assert_eq!(
            transport.download("/etc/shadow").await.expect("download"),
            b"root:*:1::::::\n"
        );
        transport.close().await.expect("close");
        let calls = sudo.inner.calls();
        assert_eq!(
            calls[0],
            Call::Exec {
                command: "sudo -n -H -- sh -c 'cd 2>/dev/null; chpasswd -e'".to_string(),
                stdin: Some(secret.to_vec()),
            }
        );
        assert_eq!(
            calls[1],
            Call::Exec {
                command: sudo_command(&upload),
                stdin: Some(b"key = value\n".to_vec()),
            }
        );
        assert!(
            matches!(&calls[2], Call::Exec { command, stdin: None } if command.starts_with("sudo -n -H -- "))
        );
        assert_eq!(calls[3], Call::Close);
        for call in &calls {
            if let Call::Exec { command, .. } = call {
                assert!(
                    !command.contains("$6$"),
                    "a hash in a command line: {command}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_refused_check_names_the_terminal_and_the_account_and_says_what_to_do() {
        let spec = ConnectSpec::new("kita-t02", "127.0.70.2", "clerk");
        let fake = FakeTransport::new().on(
            SUDO_CHECK,
            ExecOutput::failed(1, "sudo: a password is required\n"),
        );
        let err = Sudo::checked(fake, &spec).await.expect_err("refused");
        assert!(
            !err.is_connection_failure(),
            "not retried like a lost connection"
        );
        let text = err.to_string();
        assert!(
            !text.contains('\n'),
            "one line, as progress shows it: {text}"
        );
        for part in [
            "kita-t02 (127.0.70.2:22)",
            "`clerk`",
            "sudo: a password is required",
            "allow NOPASSWD sudo for `clerk`",
            "or log in as root",
        ] {
            assert!(text.contains(part), "`{part}` missing from: {text}");
        }

        let missing = FakeTransport::new().on(
            SUDO_CHECK,
            ExecOutput::failed(127, "sh: 1: sudo: not found\n"),
        );
        let err = Sudo::checked(missing, &spec).await.expect_err("refused");
        assert!(
            err.to_string().contains("sudo is not installed there"),
            "{err}"
        );

        let allowed = FakeTransport::new().on(SUDO_CHECK, ExecOutput::ok(""));
        let sudo = Sudo::checked(allowed, &spec).await.expect("allowed");
        assert_eq!(sudo.inner.commands(), [SUDO_CHECK]);
    }
}
