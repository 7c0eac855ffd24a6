//! `FleetSpec`: what a lab fleet should look like (how many hosts, where they listen, where
//! their state lives), with the checks that a spec can work before anything is started.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{LabError, Link};

/// The directories each lab host sees through its own overlayfs, so that writes there stay on
/// that host. `/usr` is included because `dpkg -i` also writes there (`/usr/share/doc`, and
/// anything a real package ships); `/var/log` because dpkg and sshd log there (`dpkg.log`,
/// `wtmp`, `lastlog`).
pub const OVERLAID_DIRS: &[&str] = &["/etc", "/opt", "/usr", "/var/lib/dpkg", "/var/log"];

/// Where a lab host gets a fresh tmpfs each, hiding the real machine's directories: root's
/// home, and the homes of the accounts it creates (see [`FleetSpec::accounts`]).
pub const PRIVATE_HOMES: &[&str] = &["/root", "/home"];

/// What a lab fleet should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSpec {
    /// How many hosts (at least 1).
    pub hosts: usize,
    /// Where the fleet keeps its keys, configs, overlay layers, logs and state file. Must not lie
    /// under a directory the hosts overlay (see [`OVERLAID_DIRS`]) nor under `/root`.
    pub state_dir: PathBuf,
    /// The first host's address; host `i` listens on `base_address + i`. Must stay in
    /// 127.0.0.0/8, which Linux routes to the loopback interface without configuration.
    pub base_address: Ipv4Addr,
    /// The port every host listens on (each on its own address).
    pub port: u16,
    /// Host names are this prefix followed by a 1-based, zero-padded number (`seibi-lab-01`).
    pub name_prefix: String,
    /// Whether sshd also accepts root's password (`PasswordAuthentication yes`,
    /// `PermitRootLogin yes`), for password-rotation tests. Off by default: key-only login.
    pub password_login: bool,
    /// How long one host may take to answer the SSH banner.
    pub start_timeout: Duration,
    /// Host names, one per host, instead of the numbered `name_prefix` names: `seibi lab
    /// mirror` names each stand-in after the terminal it stands in for. Empty: numbered names.
    pub names: Vec<String>,
    /// Local accounts to create on every host, for jobs that work on an account other than
    /// root (an admin password rotation) and for logging in as one. Each gets `/bin/sh`, no
    /// password (`*`: not locked, so key login works, but no password logs in) and a home
    /// `/home/NAME` on the host's private `/home` holding the fleet's client key in
    /// `.ssh/authorized_keys`. (An account the machine already has keeps its entry, and logs in
    /// with the key only if its home is under `/home`.)
    pub accounts: Vec<String>,
    /// Accounts, created like [`accounts`](Self::accounts), that may also run any command as
    /// root through sudo without a password: a rule in the host's `/etc/sudoers.d/seibi-lab`,
    /// which also has sudo log every command it runs to the host's `/var/log/sudo.log`. For
    /// rehearsing `become: sudo`. Needs sudo installed on the machine.
    pub sudo_accounts: Vec<String>,
    /// The WAN link to each host, one per host: when given, a [`Relay`](super::Relay) listens
    /// on each host's address and [`port`](Self::port) (where the inventory and `known_hosts`
    /// point) and relays to its sshd on [`sshd_port`](Self::sshd_port), adding the link's
    /// round-trip time and bandwidth limit. Empty (the default): clients reach sshd directly.
    pub links: Vec<Link>,
    /// Where each host's sshd listens when [`links`](Self::links) puts a relay in front of it.
    pub sshd_port: u16,
    /// How much each host's sshd logs to its `host.log`. `Channels` logs every session channel
    /// and every exec, shell or subsystem request (not the command line), which is how the
    /// bench counts what each tool asks of a terminal.
    pub sshd_log_level: SshdLogLevel,
}

/// sshd's `LogLevel` on the lab hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SshdLogLevel {
    /// Connections, logins and disconnections.
    #[default]
    Info,
    /// Also every session started (`Starting session: command ...`).
    Verbose,
    /// Also every channel opened and every request on it: `VERBOSE` with `LogVerbose` for
    /// the two functions that handle them (their debug lines, with the connection's pid).
    /// Not `DEBUG1`, whose session processes would print debug lines on the sessions' stderr,
    /// which the client reads.
    Channels,
}

impl SshdLogLevel {
    /// The `LogLevel` (and `LogVerbose`) lines for `sshd_config`.
    pub fn as_sshd(self) -> &'static str {
        match self {
            SshdLogLevel::Info => "LogLevel INFO",
            SshdLogLevel::Verbose => "LogLevel VERBOSE",
            SshdLogLevel::Channels => {
                "LogLevel VERBOSE\nLogVerbose *:server_input_channel_open():*,*:server_input_channel_req():*"
            }
        }
    }
}

impl FleetSpec {
    /// A spec with the defaults: hosts on 127.0.1.1, 127.0.1.2, ... port 22, named
    /// `seibi-lab-01`, ..., key-only login, 30 s to start each host.
    pub fn new(hosts: usize, state_dir: impl Into<PathBuf>) -> FleetSpec {
        FleetSpec {
            hosts,
            state_dir: state_dir.into(),
            base_address: Ipv4Addr::new(127, 0, 1, 1),
            port: 22,
            name_prefix: "seibi-lab-".to_owned(),
            password_login: false,
            start_timeout: Duration::from_secs(30),
            names: Vec::new(),
            accounts: Vec::new(),
            sudo_accounts: Vec::new(),
            links: Vec::new(),
            sshd_port: 2022,
            sshd_log_level: SshdLogLevel::Info,
        }
    }

    /// Whether a relay stands between clients and the hosts' sshd.
    pub fn relayed(&self) -> bool {
        !self.links.is_empty()
    }

    /// The port host `index`'s sshd listens on: [`port`](Self::port), or
    /// [`sshd_port`](Self::sshd_port) behind a relay.
    pub fn listen_port(&self) -> u16 {
        if self.relayed() {
            self.sshd_port
        } else {
            self.port
        }
    }

    /// The name of host `index` (0-based).
    pub fn host_name(&self, index: usize) -> String {
        if let Some(name) = self.names.get(index) {
            return name.clone();
        }
        let width = self.hosts.to_string().len().max(2);
        format!("{}{:0width$}", self.name_prefix, index + 1)
    }

    /// The address of host `index` (0-based). Only meaningful for a validated spec.
    pub fn host_address(&self, index: usize) -> Ipv4Addr {
        let offset = u32::try_from(index).unwrap_or(u32::MAX);
        Ipv4Addr::from(u32::from(self.base_address).saturating_add(offset))
    }

    /// Checks what can be checked without touching the machine.
    pub(crate) fn validate(&self) -> Result<(), LabError> {
        if self.hosts == 0 {
            return Err(LabError::InvalidSpec(
                "a fleet needs at least one host".into(),
            ));
        }
        if self.port == 0 {
            return Err(LabError::InvalidSpec(
                "port 0 is not a port sshd can listen on".into(),
            ));
        }
        if self.relayed() {
            if self.links.len() != self.hosts {
                return Err(LabError::InvalidSpec(format!(
                    "{} links for {} hosts",
                    self.links.len(),
                    self.hosts
                )));
            }
            if self.sshd_port == 0 || self.sshd_port == self.port {
                return Err(LabError::InvalidSpec(format!(
                    "behind a relay sshd needs a port of its own, not {} (the relay listens on {})",
                    self.sshd_port, self.port
                )));
            }
            for link in &self.links {
                link.validate()?;
            }
        }
        let first = u32::from(self.base_address);
        let last = u32::try_from(self.hosts - 1)
            .ok()
            .and_then(|n| first.checked_add(n));
        let in_loopback = |a: u32| a >> 24 == 127;
        match last {
            Some(last) if in_loopback(first) && in_loopback(last) => {}
            _ => {
                return Err(LabError::InvalidSpec(format!(
                    "{} hosts from {} leave the loopback range 127.0.0.0/8",
                    self.hosts, self.base_address
                )));
            }
        }
        let name_ok = !self.name_prefix.is_empty()
            && self
                .name_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.name_prefix.starts_with('-');
        if !name_ok {
            return Err(LabError::InvalidSpec(format!(
                "name prefix {:?} must be lowercase letters, digits and '-' (a host name)",
                self.name_prefix
            )));
        }
        if !self.names.is_empty() {
            if self.names.len() != self.hosts {
                return Err(LabError::InvalidSpec(format!(
                    "{} host names for {} hosts",
                    self.names.len(),
                    self.hosts
                )));
            }
            let mut seen = std::collections::BTreeSet::new();
            for name in &self.names {
                if !is_host_name(name) {
                    return Err(LabError::InvalidSpec(format!(
                        "{name:?} is not a host name: at most 63 letters, digits and '-', not starting or ending with '-'"
                    )));
                }
                if !seen.insert(name.to_ascii_lowercase()) {
                    return Err(LabError::InvalidSpec(format!(
                        "two hosts would both be named {name:?}"
                    )));
                }
            }
        }
        for account in self.accounts.iter().chain(&self.sudo_accounts) {
            if !is_account_name(account) {
                return Err(LabError::InvalidSpec(format!(
                    "{account:?} is not an account name useradd accepts: lowercase letters, digits, '_' and '-', starting with a letter or '_', at most 32"
                )));
            }
        }
        Ok(())
    }

    /// Every account to create, [`accounts`](Self::accounts) then
    /// [`sudo_accounts`](Self::sudo_accounts), each once.
    pub fn all_accounts(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for account in self.accounts.iter().chain(&self.sudo_accounts) {
            if !all.contains(account) {
                all.push(account.clone());
            }
        }
        all
    }
}

/// A single DNS label, which is what a UTS host name and `/etc/hosts` need.
fn is_host_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The portable subset of user names (`useradd`'s default `NAME_REGEX`).
fn is_account_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
}

/// Checks that a canonical state directory can hold overlay layers and sshd files that the
/// hosts can still see from inside their namespaces.
pub(crate) fn check_state_dir(state_dir: &Path) -> Result<(), LabError> {
    let text = state_dir.to_string_lossy();
    // overlayfs mount options are split on ',' and lowerdir on ':'; sshd_config on whitespace.
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(c, ',' | ':' | '\\' | '"' | '\'') || c.is_whitespace() || c.is_control())
    {
        return Err(LabError::InvalidSpec(format!(
            "state directory {} contains {bad:?}, which overlayfs options or sshd_config cannot hold",
            state_dir.display()
        )));
    }
    for hidden in OVERLAID_DIRS.iter().chain(PRIVATE_HOMES) {
        if state_dir.starts_with(hidden) {
            return Err(LabError::InvalidSpec(format!(
                "state directory {} lies under {hidden}, which each lab host overlays or hides; use e.g. /tmp/seibi-lab",
                state_dir.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_zero_padded_to_the_fleet_size() {
        let spec = FleetSpec::new(3, "/tmp/x");
        assert_eq!(spec.host_name(0), "seibi-lab-01");
        let spec = FleetSpec::new(120, "/tmp/x");
        assert_eq!(spec.host_name(6), "seibi-lab-007");
    }

    #[test]
    fn names_can_be_given_per_host() {
        let mut spec = FleetSpec::new(2, "/tmp/x");
        spec.names = vec!["kita-t02".into(), "kita-t03".into()];
        assert!(spec.validate().is_ok());
        assert_eq!(spec.host_name(1), "kita-t03");
        spec.names = vec!["kita-t02".into()];
        assert!(
            matches!(spec.validate(), Err(LabError::InvalidSpec(m)) if m.contains("1 host names for 2"))
        );
        spec.names = vec!["kita-t02".into(), "KITA-T02".into()];
        assert!(matches!(spec.validate(), Err(LabError::InvalidSpec(m)) if m.contains("both")));
        spec.names = vec!["kita_t02".into(), "x".into()];
        assert!(
            matches!(spec.validate(), Err(LabError::InvalidSpec(m)) if m.contains("not a host name"))
        );
    }

    #[test]
    fn accounts_must_be_plain_user_names() {
        let mut spec = FleetSpec::new(1, "/tmp/x");
        spec.accounts = vec!["admin".into(), "_svc-1".into()];
        assert!(spec.validate().is_ok());
        for bad in ["Admin", "1admin", "ad min", "a;reboot", ""] {
            spec.accounts = vec![bad.into()];
            assert!(spec.validate().is_err(), "{bad:?} was accepted");
        }
        spec.accounts = vec!["admin".into(), "clerk".into()];
        spec.sudo_accounts = vec!["deputy".into(), "admin".into()];
        assert!(spec.validate().is_ok());
        assert_eq!(spec.all_accounts(), ["admin", "clerk", "deputy"]);
        spec.sudo_accounts = vec!["ALL".into()];
        assert!(spec.validate().is_err(), "a sudoers keyword as a name");
    }

    #[test]
    fn a_relayed_fleet_needs_a_link_per_host_and_a_port_for_sshd() {
        let mut spec = FleetSpec::new(2, "/tmp/x");
        assert_eq!(spec.listen_port(), 22);
        spec.links = vec![Link::with_rtt(Duration::from_millis(20))];
        assert!(
            matches!(spec.validate(), Err(LabError::InvalidSpec(m)) if m.contains("1 links for 2"))
        );
        spec.links.push(Link::default());
        assert!(spec.validate().is_ok());
        assert_eq!(spec.listen_port(), 2022);
        spec.sshd_port = 22;
        assert!(
            matches!(spec.validate(), Err(LabError::InvalidSpec(m)) if m.contains("port of its own"))
        );
    }

    #[test]
    fn addresses_must_stay_in_loopback() {
        let mut spec = FleetSpec::new(3, "/tmp/x");
        spec.base_address = Ipv4Addr::new(127, 255, 255, 254);
        assert!(matches!(spec.validate(), Err(LabError::InvalidSpec(_))));
        spec.base_address = Ipv4Addr::new(10, 0, 0, 1);
        assert!(matches!(spec.validate(), Err(LabError::InvalidSpec(_))));
        spec.base_address = Ipv4Addr::new(127, 0, 3, 1);
        assert!(spec.validate().is_ok());
        assert_eq!(spec.host_address(2), Ipv4Addr::new(127, 0, 3, 3));
    }

    #[test]
    fn state_dir_must_stay_visible_to_hosts() {
        assert!(check_state_dir(Path::new("/etc/lab")).is_err());
        assert!(check_state_dir(Path::new("/root/lab")).is_err());
        assert!(check_state_dir(Path::new("/home/op/lab")).is_err());
        assert!(check_state_dir(Path::new("/tmp/a,b")).is_err());
        assert!(check_state_dir(Path::new("/tmp/seibi-lab")).is_ok());
        // A prefix match on the string would wrongly refuse this one.
        assert!(check_state_dir(Path::new("/etcetera/lab")).is_ok());
    }
}
