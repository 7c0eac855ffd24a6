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
    ConnectSpec, Credentials, KnownHosts, Passphrase, SshTransport, Sudo, Transport, TransportError,
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
            let transport: Box<dyn Transport> = match terminal.become_method {
                Become::None => Box::new(transport),
                // Checked once here, so that an account without sudo rights fails the terminal
                // before its first task, like a refused login.
                Become::Sudo => Box::new(Sudo::checked(transport, &spec).await?),
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
        })
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
