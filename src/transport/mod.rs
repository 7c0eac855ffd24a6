//! Reaching terminals: the [`Transport`] trait the executor drives, what it takes to connect
//! ([`ConnectSpec`], [`Credentials`]) and the errors a user sees when that fails.
//!
//! One connected transport serves one terminal for a whole visit and is reused for all of its
//! tasks. A command gets its stdout, stderr and exit status back separately; secrets travel on
//! stdin, never in argv. Files are uploaded through a temporary file renamed into place, so a
//! reader never sees half a file.
//!
//! [`ssh`] is the real implementation (and the only file naming russh), [`known_hosts`] owns the
//! host-key trust decision, [`sudo`] runs another transport's commands as root (`become: sudo`),
//! and [`fake`] is a scripted in-memory transport for unit tests of the layers above.
//!
//! The trait returns boxed futures rather than using `async fn` so that it stays object-safe:
//! the executor can hold `Box<dyn Transport>` for SSH, a local transport and the fake alike. One
//! allocation per remote call is nothing next to a network round trip.

pub mod fake;
pub mod known_hosts;
pub mod shell;
pub mod ssh;
pub mod sudo;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

pub use known_hosts::{HostKey, HostKeyError, KnownHosts, KnownHostsError};
pub use shell::{CommandShell, ShellStart};
pub use ssh::{SshTransport, scan};
pub use sudo::{SUDO_CHECK, Sudo, sudo_command};

/// The future every [`Transport`] method returns.
pub type TransportFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, TransportError>> + Send + 'a>>;

/// What a remote command produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Everything the command wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the command wrote to stderr.
    pub stderr: Vec<u8>,
    /// The exit status; for a command killed by a signal, 128 + the signal number, as shells
    /// report it.
    pub exit_status: u32,
    /// The signal that killed the command (`TERM`, `KILL`, ...), if one did.
    pub exit_signal: Option<String>,
}

impl ExecOutput {
    /// An output with exit status 0 and the given stdout, for scripting fakes.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        ExecOutput {
            stdout: stdout.into(),
            ..ExecOutput::default()
        }
    }

    /// An output with the given exit status and stderr, for scripting fakes.
    pub fn failed(exit_status: u32, stderr: impl Into<Vec<u8>>) -> Self {
        ExecOutput {
            stderr: stderr.into(),
            exit_status,
            ..ExecOutput::default()
        }
    }

    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == 0 && self.exit_signal.is_none()
    }

    /// stdout as text, invalid UTF-8 replaced.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text, invalid UTF-8 replaced.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// What a transport has asked of its terminal so far: for the bench and for `SEIBI_DEBUG`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// SSH connections (a jump host counts as one more).
    pub connections: u64,
    /// Session channels opened (each one makes the terminal's `sshd` fork and start a shell).
    pub channels: u64,
    /// Commands sent (on their own channels, or to the command shell).
    pub commands: u64,
}

impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connection(s), {} session channel(s), {} command(s)",
            self.connections, self.channels, self.commands
        )
    }
}

/// A connected session to one terminal.
///
/// `upload`, `upload_file` and `download` have default implementations in terms of `exec`
/// running POSIX `sh` commands, which is what Linux terminals need; a transport for other
/// platforms (or the fake) overrides them.
pub trait Transport: Send + Sync {
    /// Runs `command` (through the remote user's shell). If `stdin` is given, it is written to the
    /// command's stdin; either way stdin is then closed. Waits for the command to finish.
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput>;

    /// Writes `data` to `remote_path` with permission bits `mode` (e.g. `0o644`), atomically: the
    /// bytes go to a temporary file in the same directory, which is then renamed over the target.
    fn upload<'a>(
        &'a self,
        data: &'a [u8],
        remote_path: &'a str,
        mode: u32,
    ) -> TransportFuture<'a, ()> {
        Box::pin(async move {
            let command = upload_command(remote_path, mode)?;
            let output = self.exec(&command, Some(data)).await?;
            check_file_operation("upload", remote_path, output).map(|_| ())
        })
    }

    /// Like [`upload`](Self::upload), reading the bytes from a local file.
    fn upload_file<'a>(
        &'a self,
        local_path: &'a Path,
        remote_path: &'a str,
        mode: u32,
    ) -> TransportFuture<'a, ()> {
        Box::pin(async move {
            let data =
                tokio::fs::read(local_path)
                    .await
                    .map_err(|source| TransportError::LocalFile {
                        path: local_path.to_path_buf(),
                        source,
                    })?;
            self.upload(&data, remote_path, mode).await
        })
    }

    /// Reads the whole of `remote_path`.
    fn download<'a>(&'a self, remote_path: &'a str) -> TransportFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let command = format!("cat -- {}", shell_quote(remote_path));
            let output = self.exec(&command, None).await?;
            check_file_operation("download", remote_path, output)
        })
    }

    /// Ends the session. Later calls fail with [`TransportError::Closed`] or
    /// [`TransportError::Disconnected`].
    fn close(&self) -> TransportFuture<'_, ()>;

    /// Connections, channels and commands used so far (zero for transports that do not count).
    fn counts(&self) -> RequestCounts {
        RequestCounts::default()
    }

    /// How commands reach the terminal, for `SEIBI_DEBUG=transport`.
    fn how(&self) -> String {
        "a session channel per command".to_string()
    }
}

/// Quotes `text` for POSIX `sh` as one word: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// The `sh` script behind the default [`Transport::upload`]: stdin to a temporary file beside
/// the target, mode set, then renamed over the target; the temporary file is removed on failure.
pub fn upload_command(remote_path: &str, mode: u32) -> Result<String, TransportError> {
    if mode > 0o7777 {
        return Err(TransportError::InvalidMode {
            path: remote_path.to_string(),
            mode,
        });
    }
    if remote_path.is_empty() || remote_path.ends_with('/') {
        return Err(TransportError::InvalidRemotePath {
            path: remote_path.to_string(),
        });
    }
    Ok(format!(
        "set -e; f={path}; t=$(mktemp \"$(dirname -- \"$f\")/.seibi-upload.XXXXXX\"); \
         trap 'rm -f -- \"$t\"' EXIT; cat > \"$t\"; chmod {mode:04o} \"$t\"; mv -f -- \"$t\" \"$f\"",
        path = shell_quote(remote_path),
    ))
}

fn check_file_operation(
    operation: &'static str,
    path: &str,
    output: ExecOutput,
) -> Result<Vec<u8>, TransportError> {
    if output.success() {
        Ok(output.stdout)
    } else {
        Err(TransportError::RemoteFile {
            operation,
            path: path.to_string(),
            exit_status: output.exit_status,
            stderr: output.stderr_text().trim().to_string(),
        })
    }
}

/// Where and how to connect to one SSH hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSpec {
    /// The terminal's name in the inventory, used in messages and suggested commands.
    pub name: String,
    /// Host name or IP address to connect to (as seen from the jump host, if there is one). This
    /// is also the name looked up in `known_hosts`.
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// Remote user.
    pub user: String,
    /// A jump host (OpenSSH `ProxyJump`) to tunnel through; it may have its own jump host.
    pub jump: Option<Box<ConnectSpec>>,
    /// Limit for one attempt at TCP connect plus SSH handshake, and separately for
    /// authentication.
    pub connect_timeout: Duration,
    /// Send a keepalive after this long without traffic; after 3 unanswered ones the connection
    /// is declared lost. `None` disables keepalives (a dead peer may then go unnoticed).
    pub keepalive_interval: Option<Duration>,
    /// How many times to retry a failed connection (refused, unreachable, timed out, dropped
    /// before the handshake ended). Host-key and authentication failures are never retried.
    pub retries: u32,
    /// Wait before the first retry; it doubles for each further one (capped at 30 s).
    pub retry_backoff: Duration,
}

impl ConnectSpec {
    /// A spec for `user@address:22` named `name`, with defaults: 10 s connect timeout, 15 s
    /// keepalive, 2 retries starting at 500 ms.
    pub fn new(
        name: impl Into<String>,
        address: impl Into<String>,
        user: impl Into<String>,
    ) -> Self {
        ConnectSpec {
            name: name.into(),
            address: address.into(),
            port: 22,
            user: user.into(),
            jump: None,
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Some(Duration::from_secs(15)),
            retries: 2,
            retry_backoff: Duration::from_millis(500),
        }
    }

    /// Sets the port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the jump host.
    pub fn with_jump(mut self, jump: ConnectSpec) -> Self {
        self.jump = Some(Box::new(jump));
        self
    }

    /// Sets the retry count and the first backoff.
    pub fn with_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.retry_backoff = backoff;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets (or disables) the keepalive interval.
    pub fn with_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.keepalive_interval = interval;
        self
    }

    /// The wait before retry number `retry` (1-based): the backoff doubled per retry, capped.
    pub fn backoff_before(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.retry_backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(30))
    }
}

impl fmt::Display for ConnectSpec {
    /// `name (address:port)`, or just `address:port` when the name is the address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == self.address || self.name.is_empty() {
            write!(f, "{}:{}", self.address, self.port)
        } else {
            write!(f, "{} ({}:{})", self.name, self.address, self.port)
        }
    }
}

/// A passphrase for an encrypted key file: redacted in `Debug`, wiped from memory on drop.
#[derive(Clone)]
pub struct Passphrase(String);

impl Passphrase {
    /// Wraps a passphrase (read by the CLI, never by this library).
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(text.into())
    }

    /// The passphrase itself, for decrypting the key.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(****)")
    }
}

impl Drop for Passphrase {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A private key file (OpenSSH format, ed25519 or ECDSA) and, if it is encrypted, its passphrase.
#[derive(Debug, Clone)]
pub struct KeyFile {
    /// The private key file.
    pub path: PathBuf,
    /// Its passphrase, if it is encrypted.
    pub passphrase: Option<Passphrase>,
}

/// How to prove who we are: key files tried in order, then the keys of an ssh-agent.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Key files, tried first, in order.
    pub key_files: Vec<KeyFile>,
    /// An ssh-agent socket whose keys are tried after the key files.
    pub agent_socket: Option<PathBuf>,
}

impl Credentials {
    /// One unencrypted key file.
    pub fn key_file(path: impl Into<PathBuf>) -> Self {
        Credentials::default().with_key_file(path, None)
    }

    /// Adds a key file, with its passphrase if it is encrypted.
    pub fn with_key_file(
        mut self,
        path: impl Into<PathBuf>,
        passphrase: Option<Passphrase>,
    ) -> Self {
        self.key_files.push(KeyFile {
            path: path.into(),
            passphrase,
        });
        self
    }

    /// Uses the ssh-agent listening on `socket`.
    pub fn with_agent(mut self, socket: impl Into<PathBuf>) -> Self {
        self.agent_socket = Some(socket.into());
        self
    }

    /// Uses the ssh-agent named by `SSH_AUTH_SOCK`, if that is set.
    pub fn with_agent_from_env(self) -> Self {
        match std::env::var_os("SSH_AUTH_SOCK") {
            Some(socket) if !socket.is_empty() => self.with_agent(socket),
            _ => self,
        }
    }

    /// Whether there is nothing to authenticate with.
    pub fn is_empty(&self) -> bool {
        self.key_files.is_empty() && self.agent_socket.is_none()
    }
}

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The connection could not be established, even after retrying.
    #[error("could not connect to {target} after {attempts} attempt(s): {reason}")]
    Connect {
        /// The hop.
        target: String,
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong on the last attempt.
        reason: String,
    },
    /// The host key was refused (never retried).
    #[error(transparent)]
    HostKey(#[from] HostKeyError),
    /// No configured credential was accepted (never retried).
    #[error(
        "authentication to {target} as `{user}` failed; tried: {tried}{remaining}\n\
         hint: is the operator's public key in the terminal's authorized_keys?"
    )]
    Auth {
        /// The hop.
        target: String,
        /// The remote user.
        user: String,
        /// What was offered, e.g. `key /home/op/.ssh/id_ed25519 (ssh-ed25519)`.
        tried: String,
        /// What the server would still accept, as `; server accepts: ...`, or empty.
        remaining: String,
    },
    /// The login user may not run commands as root through `sudo -n` (never retried). One line,
    /// what to do included: progress output shows an error's first line only.
    #[error(
        "cannot become root on {target}: `{user}` may not use sudo without a password ({reason}); \
         allow NOPASSWD sudo for `{user}` on this terminal (e.g. `{user} ALL=(ALL:ALL) NOPASSWD: ALL` \
         in /etc/sudoers.d/), or log in as root (`user: root` and `become: none` in the inventory)"
    )]
    Become {
        /// The terminal.
        target: String,
        /// The login user.
        user: String,
        /// What sudo said.
        reason: String,
    },
    /// No credentials were configured at all.
    #[error(
        "no credentials to log in to {target}: configure a key file or an ssh-agent (SSH_AUTH_SOCK)"
    )]
    NoCredentials {
        /// The hop.
        target: String,
    },
    /// A key file could not be read or decrypted.
    #[error("cannot use key file {path}: {reason}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The ssh-agent could not be used.
    #[error("cannot use the ssh-agent at {socket}: {reason}")]
    Agent {
        /// The agent socket.
        socket: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A step after connecting took longer than allowed.
    #[error("{step} with {target} timed out after {after:?}")]
    Timeout {
        /// The hop.
        target: String,
        /// What was being done.
        step: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The jump host could not open a tunnel to the next hop.
    #[error("jump host {jump} could not open a tunnel to {target}: {reason}")]
    Tunnel {
        /// The jump host.
        jump: String,
        /// The hop behind it.
        target: String,
        /// What the jump host said.
        reason: String,
    },
    /// The connection went away while in use.
    #[error("connection to {target} lost while {during}: {reason}")]
    Disconnected {
        /// The hop.
        target: String,
        /// What was being done, e.g. "running `apt-get update`".
        during: String,
        /// Why, as far as known.
        reason: String,
    },
    /// The SSH protocol failed for another reason.
    #[error("SSH error with {target}: {reason}")]
    Protocol {
        /// The hop.
        target: String,
        /// What the SSH library said.
        reason: String,
    },
    /// A remote file operation ran but failed.
    #[error("{operation} of {path} failed (exit status {exit_status}): {stderr}")]
    RemoteFile {
        /// `upload` or `download`.
        operation: &'static str,
        /// The remote path.
        path: String,
        /// The exit status of the remote command.
        exit_status: u32,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A local file to upload could not be read.
    #[error("cannot read local file {path}: {source}")]
    LocalFile {
        /// The local file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file mode with bits beyond `0o7777`.
    #[error("invalid file mode {mode:o} for {path}: permission bits go up to 7777")]
    InvalidMode {
        /// The remote path.
        path: String,
        /// The mode given.
        mode: u32,
    },
    /// A remote path that cannot name a file.
    #[error("invalid remote file path `{path}`")]
    InvalidRemotePath {
        /// The path given.
        path: String,
    },
    /// The transport was closed.
    #[error("the connection to {target} was closed")]
    Closed {
        /// The hop.
        target: String,
    },
}

impl TransportError {
    /// Whether this is a failure to reach the host at all (as opposed to a refusal: host key,
    /// credentials), i.e. the kind of error that connecting again later might fix.
    pub fn is_connection_failure(&self) -> bool {
        matches!(
            self,
            TransportError::Connect { .. }
                | TransportError::Timeout { .. }
                | TransportError::Tunnel { .. }
                | TransportError::Disconnected { .. }
        )
    }
}

/// Drives `send` (writing a command's stdin) while `receive` (reading what it prints) runs, and
/// returns what `receive` gives: stdin is written while output is read, since a command like
/// `cat` echoes as it reads and both sides would otherwise wait on full windows; the end of
/// `send`, failed or not, is not an outcome of its own.
pub(crate) async fn receive_while_sending<S, R>(send: S, receive: R) -> R::Output
where
    S: std::future::Future,
    R: std::future::Future,
{
    tokio::pin!(send, receive);
    let mut sending = true;
    loop {
        tokio::select! {
            _ = &mut send, if sending => sending = false,
            output = &mut receive => return output,
        }
    }
}

/// Runs `script` here with `shell -c`, `input` on its stdin, as a terminal's shell would (for
/// unit tests of the scripts seibi sends).
#[cfg(test)]
pub(crate) fn run_here(
    mut shell: std::process::Command,
    script: &str,
    input: &[u8],
) -> std::process::Output {
    use std::io::Write;
    let mut child = shell
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the shell runs");
    // A script may end without reading all of its stdin (a file that is already right): a
    // closed pipe is its answer, not an error.
    match child.stdin.take().expect("stdin").write_all(input) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write: {e}"),
        _ => {}
    }
    child.wait_with_output().expect("the shell ends")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn upload_command_checks_mode_and_path() {
        let command = upload_command("/etc/seibi/a b.conf", 0o640).expect("valid");
        assert!(command.contains("f='/etc/seibi/a b.conf'"), "{command}");
        assert!(command.contains("chmod 0640"), "{command}");
        assert!(upload_command("/x", 0o17777).is_err());
        assert!(upload_command("/etc/", 0o644).is_err());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let spec =
            ConnectSpec::new("t", "127.0.0.1", "root").with_retries(10, Duration::from_millis(100));
        assert_eq!(spec.backoff_before(1), Duration::from_millis(100));
        assert_eq!(spec.backoff_before(2), Duration::from_millis(200));
        assert_eq!(spec.backoff_before(3), Duration::from_millis(400));
        assert_eq!(spec.backoff_before(20), Duration::from_secs(30));
    }

    #[test]
    fn spec_display() {
        let spec = ConnectSpec::new("chuo-t01", "127.0.1.3", "root");
        assert_eq!(spec.to_string(), "chuo-t01 (127.0.1.3:22)");
        assert_eq!(
            ConnectSpec::new("127.0.0.1", "127.0.0.1", "root")
                .with_port(2200)
                .to_string(),
            "127.0.0.1:2200"
        );
    }

    #[test]
    fn passphrase_is_redacted() {
        let p = Passphrase::new("hunter2");
        assert_eq!(format!("{p:?}"), "Passphrase(****)");
        assert_eq!(p.expose(), "hunter2");
    }
}
