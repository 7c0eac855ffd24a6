//! `LabHost` and how one lab host is made: its files in the state directory (sshd config, host
//! key, authorized key, overlay layers, log), the small `sh` script that builds its view of the
//! machine inside fresh mount and UTS namespaces and then becomes its sshd, and the wait until
//! that sshd answers the SSH banner.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::LabError;
use super::preflight::Tools;
use super::process::Namespaces;
use super::spec::{OVERLAID_DIRS, PRIVATE_HOMES, SshdLogLevel};
use crate::action::reboot::BOOT_ID_FILE as BOOT_ID;

/// The commands a lab host replaces with a stand-in that simulates a reboot and refuses the
/// rest (see `HostPlan::power_script`).
pub const POWER_COMMANDS: &[&str] = &[
    "/usr/bin/systemctl",
    "/usr/sbin/reboot",
    "/usr/sbin/shutdown",
    "/usr/sbin/halt",
    "/usr/sbin/poweroff",
];

/// Exit status of the start script when it cannot build the host (a mount refused, ...).
const SETUP_FAILED: i32 = 97;

/// How large each host's private `/root` and `/home` may grow (tmpfs only uses what is
/// written).
const HOME_SIZE: &str = "256m";

/// The host's sudoers drop-in for [`super::FleetSpec::sudo_accounts`].
const SUDOERS: &str = "/etc/sudoers.d/seibi-lab";

/// Where sudo logs every command it runs on a host (in the host's own `/var/log` overlay).
pub const SUDO_LOG: &str = "/var/log/sudo.log";

/// One running lab host as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHost {
    name: String,
    address: Ipv4Addr,
    port: u16,
    public_key: String,
    fingerprint: String,
}

impl LabHost {
    /// Its host name, as `hostname` prints on it (`seibi-lab-01`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its loopback address.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The port its sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Address and port together, for connecting.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.address, self.port))
    }

    /// Its ed25519 host public key in OpenSSH format, without comment (`ssh-ed25519 AAAA...`).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The SHA-256 fingerprint of its host key as OpenSSH prints it (`SHA256:...`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Its line for an OpenSSH `known_hosts` file: `127.0.1.3 ssh-ed25519 AAAA...`, or
    /// `[127.0.1.3]:2222 ssh-ed25519 AAAA...` when the port is not 22.
    pub fn known_hosts_line(&self) -> String {
        if self.port == 22 {
            format!("{} {}", self.address, self.public_key)
        } else {
            format!("[{}]:{} {}", self.address, self.port, self.public_key)
        }
    }
}

#[cfg(test)]
impl LabHost {
    /// A host description without a running host behind it.
    pub(crate) fn for_tests(name: &str, address: Ipv4Addr, port: u16) -> LabHost {
        LabHost {
            name: name.to_owned(),
            address,
            port,
            public_key: "ssh-ed25519 AAAA".to_owned(),
            fingerprint: "SHA256:x".to_owned(),
        }
    }
}

/// Everything needed to start (and restart) one host; its files live under `dir`.
#[derive(Debug, Clone)]
pub(crate) struct HostPlan {
    pub name: String,
    pub address: Ipv4Addr,
    /// Where sshd listens.
    pub port: u16,
    /// Where clients connect: `port`, or the relay's port in front of it.
    pub client_port: u16,
    pub log_level: SshdLogLevel,
    pub password_login: bool,
    /// Accounts to create on the host (see [`super::FleetSpec::all_accounts`]).
    pub accounts: Vec<String>,
    /// Those that may sudo without a password (see [`super::FleetSpec::sudo_accounts`]).
    pub sudo_accounts: Vec<String>,
    pub dir: PathBuf,
}

/// A host whose sshd answers: the child is the sshd listener itself (`unshare` and `sh` exec
/// into it), the namespaces identify every process of the host.
#[derive(Debug)]
pub(crate) struct RunningHost {
    pub child: Child,
    pub namespaces: Namespaces,
}

impl HostPlan {
    pub fn config(&self) -> PathBuf {
        self.dir.join("sshd_config")
    }

    pub fn host_key(&self) -> PathBuf {
        self.dir.join("ssh_host_ed25519_key")
    }

    fn host_public_key(&self) -> PathBuf {
        self.dir.join("ssh_host_ed25519_key.pub")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("sshd.pid")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("host.log")
    }

    fn authorized_keys(&self) -> PathBuf {
        self.dir.join("authorized_keys")
    }

    /// The host's boot id, seen on the host as `/proc/sys/kernel/random/boot_id`: new at every start of the host and
    /// at every simulated reboot.
    pub fn boot_id(&self) -> PathBuf {
        self.dir.join("boot_id")
    }

    /// The stand-in for the power commands (see [`POWER_COMMANDS`]).
    fn power_stand_in(&self) -> PathBuf {
        self.dir.join("power-stand-in")
    }

    /// The upper and work directories of the overlay over `lower`.
    fn layer(&self, lower: &str) -> (PathBuf, PathBuf) {
        let slug = lower.trim_start_matches('/').replace('/', "-");
        let base = self.dir.join("layers").join(slug);
        (base.join("upper"), base.join("work"))
    }

    fn socket_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.address, self.port))
    }

    /// Writes the host's files and, unless it has one, generates its host key.
    pub fn prepare(&self, client_public_key: &str) -> Result<(), LabError> {
        for lower in OVERLAID_DIRS {
            let (upper, work) = self.layer(lower);
            for dir in [upper, work] {
                fs::create_dir_all(&dir).map_err(LabError::io("cannot create", dir))?;
            }
        }
        write(&self.config(), &self.sshd_config())?;
        write(&self.authorized_keys(), client_public_key)?;
        write(&self.power_stand_in(), &self.power_script())?;
        if !self.host_key().exists() {
            self.generate_host_key()?;
        }
        Ok(())
    }

    /// Replaces the host key with a new one.
    pub fn generate_host_key(&self) -> Result<(), LabError> {
        for file in [self.host_key(), self.host_public_key()] {
            match fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LabError::io("cannot remove", file)(e));
                }
                _ => {}
            }
        }
        generate_key(&self.host_key(), &self.name)
    }

    /// The host as a client sees it, from its key files.
    pub fn describe(&self) -> Result<LabHost, LabError> {
        let path = self.host_public_key();
        let text = fs::read_to_string(&path).map_err(LabError::io("cannot read", &path))?;
        let public_key = text
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let listing = run(Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(&path))?;
        let fingerprint = listing
            .split_whitespace()
            .nth(1)
            .filter(|field| field.starts_with("SHA256:"))
            .ok_or_else(|| LabError::CommandFailed {
                command: format!("ssh-keygen -l -E sha256 -f {}", path.display()),
                status: "no SHA256 fingerprint in its output".into(),
                stderr: listing.clone(),
            })?
            .to_owned();
        Ok(LabHost {
            name: self.name.clone(),
            address: self.address,
            port: self.client_port,
            public_key,
            fingerprint,
        })
    }

    fn sshd_config(&self) -> String {
        let (password, root_login) = if self.password_login {
            ("yes", "yes")
        } else {
            ("no", "prohibit-password")
        };
        format!(
            "# Written by seibi lab for host {name}. sshd runs inside the host's own mount and UTS
# namespaces, where /root and /home are private tmpfs holding the homes with .ssh/authorized_keys.
ListenAddress {address}:{port}
AddressFamily inet
HostKey {host_key}
PidFile {pid_file}
UsePAM no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication {password}
KbdInteractiveAuthentication no
PermitRootLogin {root_login}
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
# Tests and benchmarks open many connections at once.
MaxStartups 200:30:400
MaxSessions 64
{log_level}
",
            name = self.name,
            address = self.address,
            port = self.port,
            host_key = self.host_key().display(),
            pid_file = self.pid_file().display(),
            log_level = self.log_level.as_sshd(),
        )
    }

    /// The script that stands in for [`POWER_COMMANDS`] on this host. A lab host shares the
    /// machine's kernel and init, so the real commands would reboot or stop the machine itself.
    /// A reboot is simulated: the host gets a new boot id (which is how seibi's `reboot` action
    /// tells that a terminal came back) and keeps running. Power-off, halt and every other
    /// `systemctl` verb are refused, since they would reach the machine's own init.
    fn power_script(&self) -> String {
        format!(
            r#"#!/bin/sh
# Written by seibi lab for host {name}: stands in for systemctl, reboot, shutdown, halt and
# poweroff, which on a lab host would act on the real machine.
command=$(basename "$0")
verb="$command"
case "$command" in
  systemctl) verb="${{1:-}}" ;;
  shutdown) verb=poweroff; for a in "$@"; do case "$a" in -r|--reboot) verb=reboot ;; -c) verb=cancel ;; esac; done ;;
esac
case "$verb" in
  reboot|kexec|soft-reboot)
    cat /proc/sys/kernel/random/uuid > {boot_id} || exit 1
    echo "seibi lab: {name} rebooted (simulated: the host keeps running with a new boot id)"
    echo "seibi lab: simulated reboot by '$command $*'" >> {log}
    exit 0 ;;
  cancel) exit 0 ;;
  *)
    echo "seibi lab: '$command $*' is not available on lab host {name}: it would act on the real machine's init; only reboots are simulated" >&2
    exit 1 ;;
esac
"#,
            name = self.name,
            boot_id = quote(&self.boot_id().to_string_lossy()),
            log = quote(&self.log().to_string_lossy()),
        )
    }

    /// The script `unshare` runs: build this host's view of the machine, then become its sshd.
    fn start_script(&self, sshd: &Path) -> String {
        let mut script =
            format!("set -u\nfail() {{ echo \"seibi-lab: $*\" >&2; exit {SETUP_FAILED}; }}\n");
        for lower in OVERLAID_DIRS {
            let (upper, work) = self.layer(lower);
            let options = format!(
                "lowerdir={lower},upperdir={},workdir={}",
                upper.display(),
                work.display()
            );
            let _ = writeln!(
                script,
                "mount -t overlay seibi-lab -o {} {lower} || fail {}",
                quote(&options),
                quote(&format!("cannot mount overlayfs on {lower}"))
            );
        }
        // A new boot id at every start, bound over the kernel's (procfs allows a bind mount over
        // a file), so that a restarted host looks rebooted and a simulated reboot can change it.
        let boot_id = quote(&self.boot_id().to_string_lossy());
        let _ = writeln!(
            script,
            "cat /proc/sys/kernel/random/uuid > {boot_id} && mount --bind {boot_id} {BOOT_ID} \\
  || fail 'cannot give the host a boot id of its own'"
        );
        let stand_in = quote(&self.power_stand_in().to_string_lossy());
        for command in POWER_COMMANDS {
            // The host's /usr overlay takes the stand-in, also where the path was a symlink to
            // systemctl (merged /usr), so that the symlink's target stays the machine's.
            let _ = writeln!(
                script,
                "rm -f {command} && cp {stand_in} {command} && chmod 0755 {command} \\
  || fail 'cannot replace {command} with the lab stand-in'"
            );
        }
        for command in POWER_COMMANDS {
            // Without merged /usr, /sbin and /bin are directories of their own.
            let legacy = command.trim_start_matches("/usr");
            let dir = legacy.rsplit_once('/').map_or("/", |(dir, _)| dir);
            let _ = writeln!(
                script,
                "if [ ! -L {dir} ] && [ -e {legacy} ]; then mount --bind {stand_in} {legacy} \\
  || fail 'cannot hide {legacy}'; fi"
            );
        }
        // The terminal lease (`crate::run::lease`) lives in a runtime directory that every
        // host must have to itself, as a real terminal does.
        let lease = quote(crate::run::lease::LEASE_DIR);
        let _ = writeln!(
            script,
            "mkdir -p {lease} && mount -t tmpfs -o size=1m,mode=0755 seibi-lab-run {lease} \\
  || fail 'cannot mount a tmpfs on {lease}'"
        );
        let keys = quote(&self.authorized_keys().to_string_lossy());
        let [root_home, homes] = [PRIVATE_HOMES[0], PRIVATE_HOMES[1]];
        let _ = writeln!(
            script,
            "mount -t tmpfs -o size={HOME_SIZE},mode=0755 seibi-lab-homes {homes} \\
  || fail 'cannot mount a tmpfs on {homes}'"
        );
        for account in &self.accounts {
            script.push_str(&account_script(account, homes, &keys));
        }
        if !self.sudo_accounts.is_empty() {
            script.push_str(&self.sudoers_script());
        }
        let name = quote(&self.name);
        let _ = write!(
            script,
            "mount -t tmpfs -o size={HOME_SIZE},mode=0700 seibi-lab-home {root_home} \
               || fail 'cannot mount a tmpfs on {root_home}'
mkdir -m 0700 {root_home}/.ssh && cp {keys} {root_home}/.ssh/authorized_keys \
  && chmod 0600 {root_home}/.ssh/authorized_keys || fail 'cannot write authorized_keys'
printf '%s\\n' {name} > /proc/sys/kernel/hostname || fail 'cannot set the host name'
printf '%s\\n' {name} > /etc/hostname
grep -q {name_entry} /etc/hosts || printf '%s\\t%s\\n' {address} {name} >> /etc/hosts
exec {sshd} -D -e -f {config}
",
            name_entry = quote(&format!("[[:space:]]{}$", self.name)),
            address = self.address,
            sshd = quote(&sshd.to_string_lossy()),
            config = quote(&self.config().to_string_lossy()),
        );
        script
    }

    /// The part of the start script that lets [`Self::sudo_accounts`] run anything as root
    /// without a password, and has sudo log every command line it runs (never stdin) to
    /// [`SUDO_LOG`], unwrapped, so that tests can see what ran as root. The file goes into the
    /// host's own `/etc` and is checked with `visudo` before sudo reads it.
    fn sudoers_script(&self) -> String {
        let mut rules = format!("# Written by seibi lab for host {}.\n", self.name);
        let _ = writeln!(rules, "Defaults logfile={SUDO_LOG}, loglinelen=0");
        for account in &self.sudo_accounts {
            let _ = writeln!(rules, "{account} ALL=(ALL:ALL) NOPASSWD: ALL");
        }
        format!(
            "[ -d /etc/sudoers.d ] || fail 'sudo is not installed (no /etc/sudoers.d): apt-get install sudo'
printf '%s' {rules} > {SUDOERS} && chmod 0440 {SUDOERS} && visudo -c -q -f {SUDOERS} \\
  || fail 'cannot write {SUDOERS}'
",
            rules = quote(&rules),
        )
    }

    /// Starts the host and waits until its sshd answers the SSH banner.
    pub fn launch(&self, tools: &Tools, timeout: Duration) -> Result<RunningHost, LabError> {
        let addr = self.socket_addr();
        if banner(addr).is_ok() {
            return Err(self.did_not_start(format!(
                "another server already answers on {addr}; is an older lab fleet still up? (`seibi lab down`)"
            )));
        }
        let log_path = self.log();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(LabError::io("cannot open", &log_path))?;
        let log_for_stdout = log
            .try_clone()
            .map_err(LabError::io("cannot open", &log_path))?;
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--uts", "--propagation", "private", "sh", "-c"])
            .arg(self.start_script(&tools.sshd))
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            // Its own process group: a Ctrl-C meant for `seibi lab up` must not reach the hosts.
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(LabError::io("cannot run unshare for", &self.dir))?;
        match self.wait_until_ready(&mut child, addr, timeout) {
            Ok(namespaces) => Ok(RunningHost { child, namespaces }),
            Err(reason) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(self.did_not_start(reason))
            }
        }
    }

    fn wait_until_ready(
        &self,
        child: &mut Child,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Namespaces, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Err(match status.code() {
                    Some(SETUP_FAILED) => "its start script failed".to_owned(),
                    _ => format!("sshd exited ({status})"),
                });
            }
            match banner(addr) {
                Ok(line) if line.starts_with("SSH-2.0-") => break,
                Ok(line) => return Err(format!("{addr} answered {line:?}, not an SSH banner")),
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(25)),
                Err(e) => {
                    return Err(format!(
                        "no SSH banner on {addr} within {timeout:?} (last try: {e})"
                    ));
                }
            }
        }
        // The banner came from our sshd only if it still runs in namespaces of its own.
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("sshd exited ({status}) although {addr} answered"));
        }
        Namespaces::of(child.id())
            .filter(|ns| !ns.is_machine_wide())
            .ok_or_else(|| "sshd runs outside a namespace of its own".to_owned())
    }

    fn did_not_start(&self, reason: String) -> LabError {
        let log_path = self.log();
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        LabError::HostDidNotStart {
            host: self.name.clone(),
            address: self.socket_addr().to_string(),
            reason,
            log_path,
            log: tail,
        }
    }
}

/// The part of the start script that creates `account` (unless the host has it) and lets it
/// log in with the fleet's client key: a home under `homes` (the host's private tmpfs) owned by
/// the account, with `.ssh` (0700) and `authorized_keys` (0600) as sshd's `StrictModes` wants
/// them. Its password is `*` rather than useradd's locking `!`: sshd without PAM refuses every
/// login to a locked account, keys included.
fn account_script(account: &str, homes: &str, keys: &str) -> String {
    let entry = quote(&format!("^{account}:"));
    let home = quote(&format!("{homes}/{account}"));
    let name = quote(account);
    format!(
        "grep -q {entry} /etc/passwd \\
  || useradd --no-create-home --home-dir {home} --shell /bin/sh --password '*' {name} \\
  || fail 'cannot create the account '{name}
home=$(getent passwd {name} | cut -d: -f6)
case \"$home\" in {homes}/?*)
  mkdir -p \"$home/.ssh\" && cp {keys} \"$home/.ssh/authorized_keys\" && chown -R {name}: \"$home\" \\
    && chmod 0700 \"$home\" \"$home/.ssh\" && chmod 0600 \"$home/.ssh/authorized_keys\" \\
    || fail 'cannot give the account '{name}' a home with the client key' ;;
esac
"
    )
}

/// Reads the first line a server sends on `addr`.
fn banner(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(250))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 255 {
        match stream.read(&mut byte)? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => line.push(byte[0]),
        }
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

/// Generates an ed25519 key pair without passphrase at `path` (and `path.pub`).
pub(crate) fn generate_key(path: &Path, comment: &str) -> Result<(), LabError> {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path))
    .map(drop)
}

/// Runs a helper to completion; its stdout on success.
pub(crate) fn run(command: &mut Command) -> Result<String, LabError> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::CommandFailed {
            command: shown.clone(),
            status: "could not be started".into(),
            stderr: e.to_string(),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(LabError::CommandFailed {
            command: shown,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

pub(crate) fn write(path: &Path, contents: &str) -> Result<(), LabError> {
    fs::write(path, contents).map_err(LabError::io("cannot write", path))
}

/// Quotes a word for `sh`.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(port: u16) -> HostPlan {
        HostPlan {
            name: "seibi-lab-03".into(),
            address: Ipv4Addr::new(127, 0, 1, 3),
            port,
            client_port: port,
            log_level: SshdLogLevel::Info,
            password_login: false,
            accounts: vec!["admin".into(), "deputy".into()],
            sudo_accounts: vec!["deputy".into()],
            dir: PathBuf::from("/tmp/lab/hosts/seibi-lab-03"),
        }
    }

    #[test]
    fn known_hosts_lines_bracket_other_ports() {
        let mut host = LabHost {
            name: "seibi-lab-03".into(),
            address: Ipv4Addr::new(127, 0, 1, 3),
            port: 22,
            public_key: "ssh-ed25519 AAAA".into(),
            fingerprint: "SHA256:x".into(),
        };
        assert_eq!(host.known_hosts_line(), "127.0.1.3 ssh-ed25519 AAAA");
        host.port = 2222;
        assert_eq!(host.known_hosts_line(), "[127.0.1.3]:2222 ssh-ed25519 AAAA");
    }

    #[test]
    fn config_is_key_only_by_default() {
        let config = plan(22).sshd_config();
        assert!(config.contains("ListenAddress 127.0.1.3:22\n"));
        assert!(config.contains("PasswordAuthentication no\n"));
        assert!(config.contains("PermitRootLogin prohibit-password\n"));
        assert!(config.contains("UsePAM no\n"));
    }

    #[test]
    fn script_overlays_every_dir_then_becomes_sshd() {
        let script = plan(22).start_script(Path::new("/usr/sbin/sshd"));
        for dir in OVERLAID_DIRS {
            assert!(
                script.contains(&format!("lowerdir={dir},")),
                "{dir} in {script}"
            );
        }
        let last = script.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            "exec '/usr/sbin/sshd' -D -e -f '/tmp/lab/hosts/seibi-lab-03/sshd_config'"
        );
    }

    #[test]
    fn accounts_get_private_homes_and_only_sudo_accounts_get_sudo() {
        let script = plan(22).start_script(Path::new("/usr/sbin/sshd"));
        let syntax = Command::new("sh")
            .args(["-n", "-c", &script])
            .output()
            .expect("sh runs");
        assert!(
            syntax.status.success(),
            "{}\n{script}",
            String::from_utf8_lossy(&syntax.stderr)
        );
        let homes = script
            .find("seibi-lab-homes /home")
            .expect("a private /home");
        let created = script.find("useradd").expect("accounts are created");
        assert!(
            homes < created,
            "homes are made on the private /home: {script}"
        );
        for account in ["admin", "deputy"] {
            assert!(
                script.contains(&format!(
                    "--home-dir '/home/{account}' --shell /bin/sh --password '*' '{account}'"
                )),
                "{script}"
            );
        }
        assert!(script.contains("chmod 0600 \"$home/.ssh/authorized_keys\""));
        assert!(
            script.contains("deputy ALL=(ALL:ALL) NOPASSWD: ALL\n"),
            "{script}"
        );
        assert!(!script.contains("admin ALL="), "{script}");
        assert!(
            script.contains("chmod 0440 /etc/sudoers.d/seibi-lab"),
            "{script}"
        );

        let mut without = plan(22);
        without.sudo_accounts.clear();
        let script = without.start_script(Path::new("/usr/sbin/sshd"));
        assert!(!script.contains("sudoers"), "{script}");
    }

    #[test]
    fn quotes_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
