//! How the executor gets a connected [`Transport`] for a terminal: over SSH for real runs (through
//! [`Sudo`] when the terminal's plan says `become: sudo`, and holding the terminal's lease, see
//! [`super::lease`]), from a script for the executor's own unit tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::lease::{self, LeaseRefused, LeaseRequest, Leased};
use crate::inventory::Become;
use crate::plan::{PlannedSite, PlannedTerminal};
use crate::transport::{
    CommandShell, ConnectSpec, Credentials, KnownHosts, Passphrase, RequestCounts, ShellStart,
    SshTransport, Sudo, Transport, TransportError, TransportFuture, sudo,
};

/// A future that yields a connected transport.
pub type ConnectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Transport>, ConnectError>> + Send + 'a>>;

/// Why a terminal could not be worked on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The connection (or login, or host key, or sudo) failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Connected, but the terminal's lease was not had: another run holds it, or commands of
    /// an interrupted run still run there, or the lease could not be taken.
    #[error(transparent)]
    Lease(#[from] LeaseRefused),
}

/// Opens connections to terminals.
pub trait Connector: Send + Sync {
    /// Connects to `terminal` at `site` (through the site's jump host, if it has one).
    fn connect<'a>(
        &'a self,
        site: &'a PlannedSite,
        terminal: &'a PlannedTerminal,
    ) -> ConnectFuture<'a>;

    /// The fingerprint of the terminal's pinned host key, for the journal.
    fn host_key(&self, _site: &PlannedSite, _terminal: &PlannedTerminal) -> String {
        String::new()
    }
}

/// Connection settings for real SSH.
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// Keys and agent.
    pub credentials: Credentials,
    /// Pinned host keys.
    pub known_hosts: Arc<KnownHosts>,
    /// Limit for one connection attempt.
    pub connect_timeout: Duration,
    /// Retries for connection failures (never for host-key or authentication failures).
    pub retries: u32,
    /// The known_hosts file, for messages.
    pub known_hosts_path: PathBuf,
    /// The terminal lease to take after connecting (`None`: none, as for `--check`).
    pub lease: Option<LeaseRequest>,
    /// Where a terminal's own relative key file is (the project directory).
    pub key_dir: PathBuf,
    /// Passphrases of the terminals' own key files, by resolved path.
    pub key_passphrases: BTreeMap<PathBuf, Passphrase>,
}

impl SshSettings {
    /// A terminal's own key file ([`PlannedTerminal::key_file`]) as a path: `~/` is the home
    /// directory, a relative path is relative to [`SshSettings::key_dir`].
    pub fn terminal_key(&self, key_file: &str) -> PathBuf {
        terminal_key_path(&self.key_dir, key_file)
    }

    /// The credentials for `terminal`: its own key file first, then the run's keys and agent.
    pub fn credentials_for(&self, terminal: &PlannedTerminal) -> Credentials {
        let Some(own) = &terminal.key_file else {
            return self.credentials.clone();
        };
        let path = self.terminal_key(own);
        let passphrase = self.key_passphrases.get(&path).cloned();
        let mut credentials = Credentials::default().with_key_file(path, passphrase);
        credentials
            .key_files
            .extend(self.credentials.key_files.iter().cloned());
        credentials.agent_socket = self.credentials.agent_socket.clone();
        credentials
    }
}

/// `key_file` as a path: `~/` is `$HOME`, a relative path is relative to `dir`.
pub fn terminal_key_path(dir: &std::path::Path, key_file: &str) -> PathBuf {
    if let Some(rest) = key_file.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    dir.join(key_file)
}

/// Connects over SSH with strict host-key checking.
pub struct SshConnector {
    settings: SshSettings,
}

impl SshConnector {
    /// A connector with these settings.
    pub fn new(settings: SshSettings) -> Self {
        Self { settings }
    }

    /// The connection spec for a terminal, with its site's jump host.
    pub fn spec(&self, site: &PlannedSite, terminal: &PlannedTerminal) -> ConnectSpec {
        let mut spec = ConnectSpec::new(&terminal.id, &terminal.address, &terminal.user)
            .with_port(terminal.port)
            .with_connect_timeout(self.settings.connect_timeout)
            .with_retries(self.settings.retries, Duration::from_millis(500));
        if let Some(jump) = &site.jump
            && let Some(jump_spec) = parse_jump(jump, &site.id)
        {
            spec = spec.with_jump(
                jump_spec
                    .with_connect_timeout(self.settings.connect_timeout)
                    .with_retries(self.settings.retries, Duration::from_millis(500)),
            );
        }
        spec
    }
}

/// Parses the plan's `user@host:port` form of a jump host.
fn parse_jump(text: &str, site: &str) -> Option<ConnectSpec> {
    let (user, rest) = text.split_once('@')?;
    let (host, port) = rest.rsplit_once(':')?;
    Some(ConnectSpec::new(format!("{site} jump host"), host, user).with_port(port.parse().ok()?))
}

impl Connector for SshConnector {
    fn host_key(&self, _site: &PlannedSite, terminal: &PlannedTerminal) -> String {
        self.settings
            .known_hosts
            .fingerprints(&terminal.address, terminal.port)
            .join(",")
    }

    fn connect<'a>(
        &'a self,
        site: &'a PlannedSite,
        terminal: &'a PlannedTerminal,
    ) -> ConnectFuture<'a> {
        Box::pin(async move {
            let spec = self.spec(site, terminal);
            let transport = SshTransport::connect(
                &spec,
                &self.settings.credentials_for(terminal),
                self.settings.known_hosts.clone(),
            )
            .await?;
            let become_root = terminal.become_method == Become::Sudo;
            let transport = if command_shell_wanted() {
                let lease = self.settings.lease.as_ref().map(LeaseRequest::shell_script);
                match CommandShell::start_with(transport, become_root, lease.as_deref()).await {
                    Ok((shell, leased)) => return self.lease_in_shell(shell, leased).await,
                    // Under sudo, a shell that exits before its first answer was refused by
                    // sudo (the shell itself is POSIX `sh`): say so as the check would, without
                    // asking sudo a second time.
                    Err(ShellStart {
                        ssh,
                        exited: Some(output),
                        ..
                    }) if become_root && !output.success() && !ssh.is_disconnected() => {
                        let _ = ssh.close().await;
                        return Err(sudo::refused(&spec, "sudo -n", &output).into());
                    }
                    Err(ShellStart { ssh, reason, .. }) => {
                        (ssh, format!("the command shell did not start: {reason}"))
                    }
                }
            } else {
                (transport, "SEIBI_COMMAND_SHELL=off".to_string())
            };
            self.per_command(transport.0, transport.1, become_root, &spec)
                .await
        })
    }
}

impl SshConnector {
    /// The lease the command shell took with its first answer (it holds it for every
    /// command), or the shell alone when no lease is asked for.
    async fn lease_in_shell(
        &self,
        shell: CommandShell,
        leased: Option<Result<crate::transport::ExecOutput, TransportError>>,
    ) -> Result<Box<dyn Transport>, ConnectError> {
        let (Some(request), Some(leased)) = (&self.settings.lease, leased) else {
            return Ok(Box::new(shell));
        };
        match leased.map(|output| lease::parse(request, &output)) {
            Ok(Ok(_dir)) => Ok(Box::new(shell)),
            Ok(Err(refused)) => {
                let _ = shell.close().await;
                Err(refused.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A channel per command: through `sudo` (checked once here, so that an account without
    /// sudo rights fails the terminal before its first task, like a refused login) and wrapped
    /// in the lease's `flock`.
    async fn per_command(
        &self,
        ssh: SshTransport,
        why: String,
        become_root: bool,
        spec: &ConnectSpec,
    ) -> Result<Box<dyn Transport>, ConnectError> {
        let transport: Box<dyn Transport> = if become_root {
            Box::new(PerCommand::boxed(Sudo::checked(ssh, spec).await?, why))
        } else {
            Box::new(PerCommand::boxed(ssh, why))
        };
        let Some(request) = &self.settings.lease else {
            return Ok(transport);
        };
        match lease::acquire(transport.as_ref(), request).await {
            Ok(Ok(dir)) => Ok(Box::new(Leased::new(transport, &dir)) as Box<dyn Transport>),
            Ok(Err(refused)) => {
                let _ = transport.close().await;
                Err(refused.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether to start a command shell on each terminal (the default); `SEIBI_COMMAND_SHELL=off`
/// uses a session channel per command instead, to compare or to work around a terminal whose
/// `sh` misbehaves.
fn command_shell_wanted() -> bool {
    !matches!(
        std::env::var("SEIBI_COMMAND_SHELL").as_deref(),
        Ok("off" | "0" | "no")
    )
}

/// A transport that runs a session channel per command, and why it is not a command shell.
struct PerCommand<T> {
    inner: Box<T>,
    why: String,
}

impl<T: Transport> PerCommand<T> {
    fn boxed(inner: T, why: String) -> Self {
        PerCommand {
            inner: Box::new(inner),
            why,
        }
    }
}

impl<T: Transport> Transport for PerCommand<T> {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, crate::transport::ExecOutput> {
        self.inner.exec(command, stdin)
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        self.inner.close()
    }

    fn counts(&self) -> RequestCounts {
        self.inner.counts()
    }

    fn how(&self) -> String {
        format!("a session channel per command ({})", self.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_host_form_is_parsed() {
        let spec = parse_jump("seibi@bastion.city.example:2222", "jozankei").expect("parses");
        assert_eq!(
            (spec.user.as_str(), spec.address.as_str(), spec.port),
            ("seibi", "bastion.city.example", 2222)
        );
        assert!(parse_jump("bastion", "x").is_none());
    }
}
