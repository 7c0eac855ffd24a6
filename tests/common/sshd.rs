//! A minimal test-only OpenSSH server: `/usr/sbin/sshd -D -e -f <config>` on 127.0.0.1 with a
//! free port, its own ed25519 host key and authorized_keys, killed (with its session processes)
//! on drop. Client keys are made with `ssh-keygen`. The full isolated fleet lives in `seibi::lab`;
//! this only serves the transport tests.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command, panicking with its stderr if it fails.
pub fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Makes a key pair with `ssh-keygen`; returns the private key path.
pub fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", name, "-f"])
        .arg(&path));
    path
}

/// The `.pub` text of a key made by [`keygen`].
pub fn public_key(private: &Path) -> String {
    let mut path = private.as_os_str().to_owned();
    path.push(".pub");
    fs::read_to_string(PathBuf::from(path))
        .expect("public key file")
        .trim()
        .to_string()
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// The local user name (the tests log in as ourselves).
pub fn user() -> String {
    run(Command::new("id").arg("-un")).trim().to_string()
}

/// The client keys used by the tests, all authorized on every [`Sshd`] made with them except
/// `stranger`.
pub struct ClientKeys {
    pub dir: tempfile::TempDir,
    pub ed25519: PathBuf,
    pub ecdsa: PathBuf,
    /// ed25519, encrypted with [`ClientKeys::PASSPHRASE`].
    pub protected: PathBuf,
    /// Only ever loaded into the ssh-agent.
    pub agent_only: PathBuf,
    /// Not authorized anywhere.
    pub stranger: PathBuf,
}

impl ClientKeys {
    pub const PASSPHRASE: &'static str = "correct horse battery staple";

    pub fn generate() -> ClientKeys {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        ClientKeys {
            ed25519: keygen(d, "id_ed25519", "ed25519", ""),
            ecdsa: keygen(d, "id_ecdsa", "ecdsa", ""),
            protected: keygen(d, "id_protected", "ed25519", Self::PASSPHRASE),
            agent_only: keygen(d, "id_agent", "ed25519", ""),
            stranger: keygen(d, "id_stranger", "ed25519", ""),
            dir,
        }
    }

    fn authorized_keys(&self) -> String {
        [
            &self.ed25519,
            &self.ecdsa,
            &self.protected,
            &self.agent_only,
        ]
        .iter()
        .map(|k| public_key(k) + "\n")
        .collect()
    }
}

/// A running sshd.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The host key's `.pub` text (`ssh-ed25519 AAAA... comment`).
    pub host_key: String,
    pub log: PathBuf,
    child: Child,
}

impl Sshd {
    /// Starts an sshd that authorizes `keys`, and waits until it listens.
    pub fn start(keys: &ClientKeys) -> Sshd {
        Sshd::start_with(keys, "")
    }

    /// Like [`Sshd::start`], with extra `sshd_config` lines (they win: sshd takes the first
    /// value it reads for a keyword).
    pub fn start_with(keys: &ClientKeys, extra_config: &str) -> Sshd {
        // sshd refuses to start without its privilege separation directory.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let host_key_path = keygen(d, "host_ed25519", "ed25519", "");
        let host_key = public_key(&host_key_path);
        fs::write(d.join("authorized_keys"), keys.authorized_keys()).expect("authorized_keys");
        let port = free_port();
        let config = d.join("sshd_config");
        fs::write(
            &config,
            format!(
                "{extra_config}\n\
                 Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {host_key}\n\
                 PidFile {pid}\n\
                 AuthorizedKeysFile {authorized}\n\
                 UsePAM no\n\
                 PermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\n\
                 StrictModes no\n\
                 AllowTcpForwarding yes\n\
                 MaxStartups 100\n\
                 MaxSessions 20\n\
                 PrintMotd no\n\
                 LogLevel VERBOSE\n",
                host_key = host_key_path.display(),
                pid = d.join("sshd.pid").display(),
                authorized = d.join("authorized_keys").display(),
            ),
        )
        .expect("sshd_config");
        let log = d.join("sshd.log");
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("sshd log"))
            .spawn()
            .expect("start /usr/sbin/sshd (is openssh-server installed?)");
        let mut sshd = Sshd {
            dir,
            port,
            host_key,
            log,
            child,
        };
        sshd.wait_listening();
        sshd
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.log_text().contains("Server listening on") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited with {status}:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not start listening:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many TCP connections sshd has accepted.
    pub fn connections(&self) -> usize {
        self.log_text().matches("Connection from ").count()
    }

    /// The `known_hosts` line for this server as reached on 127.0.0.1.
    pub fn known_hosts_line(&self) -> String {
        let mut fields = self.host_key.split_whitespace();
        let kind = fields.next().unwrap_or_default();
        let key = fields.next().unwrap_or_default();
        format!("[127.0.0.1]:{} {kind} {key}", self.port)
    }

    /// The listener and the per-connection processes it forked.
    fn processes(&self) -> Vec<u32> {
        let mut all = vec![self.child.id()];
        let mut index = 0;
        while index < all.len() {
            let parent = all[index];
            all.extend(children_of(parent));
            index += 1;
        }
        all
    }

    fn signal_all(&self, signal: &str) {
        for pid in self.processes() {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// SIGKILLs sshd and its session processes, as a crash or power cut of the host would.
    pub fn kill_all(&mut self) {
        self.signal_all("-KILL");
        let _ = self.child.wait();
    }

    /// SIGSTOPs sshd and its session processes: the TCP connection stays up but nothing answers,
    /// as when a network path dies silently.
    pub fn freeze(&self) {
        self.signal_all("-STOP");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.signal_all("-CONT");
        self.signal_all("-KILL");
        let _ = self.child.wait();
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the parenthesised command name: state, ppid, ...
            let after_name = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// An `ssh-agent -D -a <socket>` holding some keys, killed on drop.
pub struct Agent {
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Agent {
    pub fn start(keys: &[&Path]) -> Agent {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            run(Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .stdin(Stdio::null()));
        }
        Agent {
            socket,
            _dir: dir,
            child,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
