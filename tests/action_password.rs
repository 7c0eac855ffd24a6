//! The `password` action against real OpenSSH lab hosts that accept password logins: a rotation
//! changes exactly one `/etc/shadow` entry, the new password really logs in over SSH and the old
//! one no longer does, the store keeps the new value as current and the old one in history, and
//! a second run changes nothing. Crashes are real: a child process running the rotation is
//! SIGKILLed just before or just after `chpasswd`, and the next run settles what it left so that
//! the terminal's password always ends up known to the store. No value or hash may appear in any
//! outcome, error or plaintext file.
//!
//! Each test starts its own fleet on its own addresses (127.0.40.x to 127.0.42.x). They need root
//! (the lab's namespaces and overlays); without it each prints why and returns.

mod common;

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::lab::lab_available;
use seibi::action::{ActionContext, ApplyEnv, Status, TaskOutcome, password, run_task};
use seibi::inventory::Platform;
use seibi::lab::{Fleet, FleetSpec, LabHost};
use seibi::plan::{PlannedTask, PlannedTerminal};
use seibi::secrets::{Account, Identity, PasswordState, PasswordStore, Secret, SecretsStore};
use seibi::transport::{
    ConnectSpec, Credentials, ExecOutput, KnownHosts, SshTransport, Transport, TransportFuture,
};

/// The local account the tests rotate (管理, "administration").
const USER: &str = "kanri";
const OPERATOR: &str = "山田";

macro_rules! require_root {
    () => {
        if !lab_available() {
            return;
        }
    };
}

/// A fleet with password login, a test account on every host, and a secrets store.
struct Lab {
    // Field order is drop order: the fleet stops before its state directory goes.
    fleet: Fleet,
    _state: tempfile::TempDir,
    work: tempfile::TempDir,
    identity: Identity,
    /// Every outcome text and child log seen, for the leak check.
    seen: std::sync::Mutex<Vec<String>>,
}

impl Lab {
    fn start(third_octet: u8, hosts: usize) -> Lab {
        let state = tempfile::Builder::new()
            .prefix("seibi-pw-lab-")
            .tempdir()
            .expect("a state directory");
        let mut spec = FleetSpec::new(hosts, state.path());
        spec.base_address = Ipv4Addr::new(127, 0, third_octet, 1);
        spec.password_login = true;
        let fleet = Fleet::start(spec).expect("the lab fleet starts");
        let work = tempfile::Builder::new()
            .prefix("seibi-pw-work-")
            .tempdir()
            .expect("a work directory");
        let (identity_text, public) = Identity::generate_x25519();
        let identity_path = work.path().join("identity.txt");
        fs::write(&identity_path, identity_text.expose()).expect("identity written");
        fs::set_permissions(&identity_path, fs::Permissions::from_mode(0o600)).expect("chmod");
        SecretsStore::init(&work.path().join("secrets"), "tester", public).expect("store init");
        let identity = Identity::from_file(&identity_path).expect("identity loads");
        let askpass = work.path().join("askpass.sh");
        fs::write(
            &askpass,
            "#!/bin/sh\nprintf '%s\\n' \"$SEIBI_TEST_PASSWORD\"\n",
        )
        .expect("askpass written");
        fs::set_permissions(&askpass, fs::Permissions::from_mode(0o700)).expect("chmod");
        let lab = Lab {
            fleet,
            _state: state,
            work,
            identity,
            seen: std::sync::Mutex::new(Vec::new()),
        };
        for host in lab.fleet.hosts() {
            lab.on(host, &format!("useradd -M -s /bin/sh {USER}"));
        }
        lab
    }

    fn host(&self, index: usize) -> &LabHost {
        &self.fleet.hosts()[index]
    }

    fn secrets_dir(&self) -> PathBuf {
        self.work.path().join("secrets")
    }

    fn store(&self) -> PasswordStore {
        PasswordStore::open(&self.secrets_dir()).expect("the password store opens")
    }

    fn account(&self, host: &LabHost) -> Account {
        Account::new(host.name(), USER).expect("account")
    }

    fn state(&self, host: &LabHost) -> PasswordState {
        self.store().state(&self.account(host)).expect("state")
    }

    fn state_file(&self, host: &LabHost) -> Option<Vec<u8>> {
        fs::read(
            self.secrets_dir()
                .join("passwords")
                .join(host.name())
                .join(USER)
                .join("state.yml"),
        )
        .ok()
    }

    fn value(&self, host: &LabHost, version: u64) -> Secret<String> {
        self.store()
            .value(&self.account(host), version, &self.identity)
            .expect("the stored value decrypts")
    }

    /// The environment of a new run: each call is another run, with its own id.
    fn env(&self) -> ApplyEnv {
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ApplyEnv {
            secrets_dir: Some(self.secrets_dir()),
            operator: OPERATOR.to_string(),
            run_id: format!("run-pw-test-{n}"),
            ..ApplyEnv::default()
        }
    }

    async fn connect(&self, host: &LabHost) -> SshTransport {
        connect(host, self.fleet.known_hosts(), self.fleet.client_key()).await
    }

    /// Runs `command` as root over OpenSSH with the fleet's key; fails the test if it fails.
    fn on(&self, host: &LabHost, command: &str) -> String {
        self.on_with_input(host, command, None)
    }

    fn on_with_input(&self, host: &LabHost, command: &str, input: Option<&str>) -> String {
        let mut ssh = Command::new("ssh");
        ssh.args(["-F", "/dev/null", "-i"])
            .arg(self.fleet.client_key())
            .args(self.ssh_options(host))
            .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
            .arg(format!("root@{}", host.address()))
            .arg(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = match input {
            None => ssh.stdin(Stdio::null()).output().expect("ssh runs"),
            Some(text) => {
                ssh.stdin(Stdio::piped());
                let mut child = ssh.spawn().expect("ssh runs");
                let mut stdin = child.stdin.take().expect("stdin is piped");
                std::io::Write::write_all(&mut stdin, text.as_bytes()).expect("ssh reads stdin");
                drop(stdin);
                child.wait_with_output().expect("ssh finishes")
            }
        };
        assert!(
            output.status.success(),
            "`{command}` on {} failed ({}): {}",
            host.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn ssh_options(&self, host: &LabHost) -> Vec<String> {
        [
            format!("UserKnownHostsFile={}", self.fleet.known_hosts().display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
            "IdentityAgent=none".to_string(),
            "ConnectTimeout=10".to_string(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .chain(["-p".to_string(), host.port().to_string()])
        .collect()
    }

    /// The whole of the host's `/etc/shadow`.
    fn shadow(&self, host: &LabHost) -> String {
        self.on(host, "cat /etc/shadow")
    }

    /// The second field of the test account's shadow line.
    fn live_hash(&self, host: &LabHost) -> String {
        shadow_field(&self.shadow(host), 1)
    }

    /// Whether a real OpenSSH password login as the test account succeeds with `password`.
    fn password_login(&self, host: &LabHost, password: &str) -> bool {
        let output = Command::new("ssh")
            .args(["-F", "/dev/null"])
            .args(self.ssh_options(host))
            .args([
                "-o",
                "PreferredAuthentications=password",
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "NumberOfPasswordPrompts=1",
            ])
            .arg(format!("{USER}@{}", host.address()))
            .arg("id -un")
            .env("SSH_ASKPASS", self.work.path().join("askpass.sh"))
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("SEIBI_TEST_PASSWORD", password)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs");
        output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == USER
    }

    /// Runs the password task on `host` through `run_task`, recording the outcome's texts.
    async fn run(
        &self,
        host: &LabHost,
        transport: &dyn Transport,
        max_age_days: u32,
        check: bool,
    ) -> TaskOutcome {
        self.run_with(host, transport, max_age_days, check, &self.env(), USER)
            .await
    }

    async fn run_with(
        &self,
        host: &LabHost,
        transport: &dyn Transport,
        max_age_days: u32,
        check: bool,
        env: &ApplyEnv,
        user: &str,
    ) -> TaskOutcome {
        let (terminal, task) = planned(host, user, max_age_days);
        let ctx = ActionContext {
            transport,
            terminal: &terminal,
            task: &task,
            env,
        };
        let outcome = run_task(&ctx, check).await;
        self.saw(&outcome.summary);
        self.saw(outcome.error.as_deref().unwrap_or_default());
        if let Some(query) = &outcome.query {
            self.saw(&query.summary);
        }
        outcome
    }

    fn saw(&self, text: &str) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(text.to_string());
    }

    /// Kills (SIGKILL) a child process running the rotation on `host` when it reaches
    /// `chpasswd`, just before sending it or just after it finished.
    fn crash_rotation(&self, host: &LabHost, pause: Pause, max_age_days: u32) {
        let tag = format!("{}-{:?}-{}", host.name(), pause, self.seen_len());
        let marker = self.work.path().join(format!("paused-{tag}"));
        let log = self.work.path().join(format!("child-{tag}.log"));
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SEIBI_CRASH_MARKER", &marker)
            .env("SEIBI_CRASH_PAUSE", format!("{pause:?}"))
            .env("SEIBI_CRASH_ADDRESS", host.address().to_string())
            .env("SEIBI_CRASH_PORT", host.port().to_string())
            .env("SEIBI_CRASH_NAME", host.name())
            .env("SEIBI_CRASH_KNOWN_HOSTS", self.fleet.known_hosts())
            .env("SEIBI_CRASH_KEY", self.fleet.client_key())
            .env("SEIBI_CRASH_SECRETS", self.secrets_dir())
            .env("SEIBI_CRASH_MAX_AGE", max_age_days.to_string())
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).expect("log"))
            .stderr(fs::File::create(log.with_extension("err")).expect("log"))
            .spawn()
            .expect("the child runs");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !marker.exists() {
            if let Some(status) = child.try_wait().expect("child status") {
                panic!(
                    "the child ended ({status}) before reaching chpasswd: {}{}",
                    fs::read_to_string(&log).unwrap_or_default(),
                    fs::read_to_string(log.with_extension("err")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the child never reached chpasswd"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("the child is reaped");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "killed by SIGKILL"
        );
        for path in [log.clone(), log.with_extension("err")] {
            self.saw(&fs::read_to_string(path).unwrap_or_default());
        }
    }

    fn seen_len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// No secret value or hash in any outcome, child log or plaintext file of the store.
    fn assert_no_leak(&self, secrets: &[String]) {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut texts: Vec<(String, String)> = seen
            .into_iter()
            .map(|t| ("an outcome or child log".to_string(), t))
            .collect();
        for path in files_below(&self.secrets_dir()) {
            if path.extension().is_some_and(|e| e == "age") {
                continue;
            }
            let bytes = fs::read(&path).expect("readable");
            texts.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        assert!(!secrets.is_empty());
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            for (place, text) in &texts {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret value or hash appears in {place}"
                );
            }
        }
        for (place, text) in &texts {
            assert!(!text.contains("$6$"), "a hash appears in {place}");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    /// Killed after `begin`, before `chpasswd` was sent.
    Before,
    /// Killed after `chpasswd` finished, before `commit`.
    After,
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("readable dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn planned(host: &LabHost, user: &str, max_age_days: u32) -> (PlannedTerminal, PlannedTask) {
    planned_for(
        host.name(),
        &host.address().to_string(),
        host.port(),
        user,
        max_age_days,
    )
}

fn planned_for(
    name: &str,
    address: &str,
    port: u16,
    user: &str,
    max_age_days: u32,
) -> (PlannedTerminal, PlannedTask) {
    let task = PlannedTask {
        key: "rotate-admin/password".to_string(),
        job: "rotate-admin".to_string(),
        task: "password".to_string(),
        name: "rotate the local admin password".to_string(),
        action: "password".to_string(),
        args: serde_json::json!({
            "user": user,
            "policy": {"length": 20, "keep": 3, "max_age_days": max_age_days},
        }),
        needs: vec![],
        notify: vec![],
        handler: false,
        skip: None,
    };
    let terminal = PlannedTerminal {
        id: name.to_string(),
        address: address.to_string(),
        port,
        user: "root".to_string(),
        become_method: seibi::inventory::Become::None,
        platform: Platform::Linux,
        key_file: None,
        jobs: vec![task.job.clone()],
        tasks: vec![task.clone()],
        estimated_minutes: 1,
    };
    (terminal, task)
}

async fn connect(host: &LabHost, known_hosts: &Path, key: &Path) -> SshTransport {
    let spec = ConnectSpec::new(host.name(), host.address().to_string(), "root")
        .with_port(host.port())
        .with_connect_timeout(Duration::from_secs(10));
    let known = Arc::new(KnownHosts::load(known_hosts).expect("known_hosts loads"));
    SshTransport::connect(&spec, &Credentials::key_file(key), known)
        .await
        .expect("connects to the lab host")
}

/// Field `index` (0-based) of the test account's line in a shadow file.
fn shadow_field(shadow: &str, index: usize) -> String {
    shadow
        .lines()
        .find(|l| l.starts_with(&format!("{USER}:")))
        .and_then(|l| l.split(':').nth(index))
        .expect("the test account has a shadow line")
        .to_string()
}

/// `openssl passwd -6` of `password` with the salt of `hash`, the password on stdin.
fn openssl_hash(password: &Secret<String>, hash: &str) -> String {
    let salt = hash.split('$').nth(2).expect("a $6$salt$ hash");
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-salt", salt, "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    let mut stdin = child.stdin.take().expect("piped");
    std::io::Write::write_all(&mut stdin, format!("{}\n", password.expose()).as_bytes())
        .expect("openssl reads");
    drop(stdin);
    let output = child.wait_with_output().expect("openssl finishes");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Asserts that the terminal's hash is the store's version `version`, computed independently.
fn assert_terminal_has(lab: &Lab, host: &LabHost, version: u64) -> Secret<String> {
    let live = lab.live_hash(host);
    let value = lab.value(host, version);
    assert!(
        openssl_hash(&value, &live) == live,
        "the terminal's hash is not that of stored version {version}"
    );
    value
}

/// The shadow lines other than the test account's, and the test account's fields other than
/// the hash (1) and the date of the last change (2).
fn untouched_parts(shadow: &str) -> (Vec<String>, Vec<String>) {
    let others = shadow
        .lines()
        .filter(|l| !l.starts_with(&format!("{USER}:")))
        .map(str::to_string)
        .collect();
    let own = shadow
        .lines()
        .find(|l| l.starts_with(&format!("{USER}:")))
        .expect("test account line")
        .split(':')
        .enumerate()
        .filter(|(i, _)| *i != 1 && *i != 2)
        .map(|(_, f)| f.to_string())
        .collect();
    (others, own)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_sets_a_known_password_and_changes_nothing_else() {
    require_root!();
    let lab = Lab::start(40, 2);
    let (one, two) = (lab.host(0), lab.host(1));
    let ssh_one = lab.connect(one).await;
    let ssh_two = lab.connect(two).await;
    let mut secrets = Vec::new();

    // Without a secrets store, and for an account that does not exist: clear errors.
    let no_store = ApplyEnv {
        secrets_dir: None,
        ..lab.env()
    };
    let outcome = lab
        .run_with(one, &ssh_one, 365, false, &no_store, USER)
        .await;
    assert_eq!(outcome.status, Status::Failed);
    let error = outcome.error.expect("an error");
    assert!(error.contains("run `seibi secrets init` first"), "{error}");
    let outcome = lab
        .run_with(one, &ssh_one, 365, false, &lab.env(), "nosuchuser")
        .await;
    assert_eq!(outcome.status, Status::Failed);
    let error = outcome.error.expect("an error");
    assert!(
        error.contains("has no local account `nosuchuser`; create it first"),
        "{error}"
    );

    // Check mode: a rotation is needed, nothing changes anywhere.
    let shadow_one = lab.shadow(one);
    let shadow_two = lab.shadow(two);
    let outcome = lab.run(one, &ssh_one, 365, true).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    assert!(
        outcome
            .summary
            .contains("seibi has not set a password for kanri@"),
        "{}",
        outcome.summary
    );
    assert_eq!(
        lab.shadow(one),
        shadow_one,
        "check mode changed the terminal"
    );
    assert!(lab.store().accounts().expect("accounts").is_empty());

    // Apply: exactly the account's hash (and its last-change date) changes, on this host only.
    let outcome = lab.run(one, &ssh_one, 365, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    assert!(
        outcome.summary.contains("set a new password for kanri@"),
        "{}",
        outcome.summary
    );
    let after = lab.shadow(one);
    assert_eq!(untouched_parts(&after), untouched_parts(&shadow_one));
    assert_ne!(shadow_field(&after, 1), shadow_field(&shadow_one, 1));
    assert_eq!(lab.shadow(two), shadow_two, "the other host changed too");
    let state = lab.state(one);
    assert_eq!(state.current.as_ref().map(|c| c.version), Some(1));
    assert_eq!(
        state.current.as_ref().map(|c| c.operator.as_str()),
        Some(OPERATOR)
    );
    assert!(state.pending.is_none() && state.history.is_empty());
    let v1 = assert_terminal_has(&lab, one, 1);
    assert_eq!(v1.expose().len(), 20);
    secrets.extend([v1.expose().clone(), shadow_field(&after, 1)]);
    assert!(
        lab.password_login(one, v1.expose()),
        "the new password logs in"
    );
    assert!(!lab.password_login(one, "not-the-password-1A!"));

    // Within max_age: nothing to do, and the summary says who set it and when.
    let outcome = lab.run(one, &ssh_one, 365, false).await;
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert!(
        outcome.summary.contains("by 山田, today (version 1)"),
        "{}",
        outcome.summary
    );
    assert_eq!(lab.shadow(one), after);

    // Overdue (max_age 0): rotates; the old password stops working and goes to history.
    let outcome = lab.run(one, &ssh_one, 0, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    assert!(
        outcome.summary.contains("the policy rotates after 0 days"),
        "{}",
        outcome.summary
    );
    let v2 = assert_terminal_has(&lab, one, 2);
    secrets.extend([v2.expose().clone(), lab.live_hash(one)]);
    assert!(lab.password_login(one, v2.expose()));
    assert!(
        !lab.password_login(one, v1.expose()),
        "the old password still works"
    );
    let state = lab.state(one);
    assert_eq!(state.current.as_ref().map(|c| c.version), Some(2));
    assert_eq!(
        state.history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(lab.value(one, 1).expose(), v1.expose(), "old value kept");

    // Within one run a rotation is applied once, whatever `max_age_days` says: the same run
    // (a resume, or a second task for the account) does not rotate it again.
    let same_run = lab.env();
    let first = lab.run_with(one, &ssh_one, 0, false, &same_run, USER).await;
    assert_eq!(first.status, Status::Changed, "{first:?}");
    let again = lab.run_with(one, &ssh_one, 0, false, &same_run, USER).await;
    assert_eq!(again.status, Status::Ok, "{again:?}");
    assert!(
        again
            .summary
            .contains("set by this run (version 3): not rotated again"),
        "{}",
        again.summary
    );
    let v2 = assert_terminal_has(&lab, one, 3);
    secrets.extend([v2.expose().clone(), lab.live_hash(one)]);

    // Changed by hand on the terminal: found, and replaced by a known one.
    let by_hand = "Hand-Set-Passw0rd!";
    lab.on_with_input(one, "chpasswd", Some(&format!("{USER}:{by_hand}\n")));
    assert!(lab.password_login(one, by_hand));
    let outcome = lab.run(one, &ssh_one, 365, true).await;
    assert_eq!(outcome.status, Status::Changed);
    assert!(
        outcome.summary.contains("changed on the terminal"),
        "{}",
        outcome.summary
    );
    let outcome = lab.run(one, &ssh_one, 365, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    let v3 = assert_terminal_has(&lab, one, 4);
    secrets.extend([v3.expose().clone(), lab.live_hash(one)]);
    assert!(lab.password_login(one, v3.expose()));
    assert!(!lab.password_login(one, by_hand));
    assert_eq!(lab.run(one, &ssh_one, 365, false).await.status, Status::Ok);

    // The other terminal gets a password of its own.
    let outcome = lab.run(two, &ssh_two, 365, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    let other = assert_terminal_has(&lab, two, 1);
    assert_ne!(other.expose(), v3.expose());
    assert!(lab.password_login(two, other.expose()));
    assert!(!lab.password_login(two, v3.expose()));
    secrets.extend([other.expose().clone(), lab.live_hash(two)]);

    lab.assert_no_leak(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_chpasswd_is_dropped_and_the_rotation_made_again() {
    require_root!();
    let lab = Lab::start(41, 1);
    let host = lab.host(0);
    let ssh = lab.connect(host).await;
    let account = lab.account(host);
    let mut secrets = Vec::new();
    let untouched = lab.shadow(host);

    // Killed after `begin`, before `chpasswd`, on an account seibi never set.
    lab.crash_rotation(host, Pause::Before, 365);
    let state = lab.state(host);
    let pending = state.pending.clone().expect("a pending rotation");
    assert!(state.current.is_none());
    assert_eq!(lab.shadow(host), untouched, "the terminal was not touched");
    secrets.push(lab.value(host, pending.version).expose().clone());

    // Check mode reports and writes nothing.
    let before = lab.state_file(host);
    let outcome = lab.run(host, &ssh, 365, true).await;
    assert_eq!(outcome.status, Status::Changed);
    assert!(
        outcome
            .summary
            .contains("the live password is unknown to the store"),
        "{}",
        outcome.summary
    );
    assert_eq!(lab.state_file(host), before, "check mode wrote the store");

    // Apply drops the stale pending version and sets a known password.
    let outcome = lab.run(host, &ssh, 365, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    assert!(
        outcome.summary.contains("unknown to the store")
            && outcome.summary.contains("set a new password"),
        "{}",
        outcome.summary
    );
    let state = lab.state(host);
    assert!(state.pending.is_none());
    let current = state.current.expect("a current password").version;
    assert_ne!(current, pending.version);
    assert!(
        lab.store()
            .value(&account, pending.version, &lab.identity)
            .is_err(),
        "the dropped version's file is gone"
    );
    let known = assert_terminal_has(&lab, host, current);
    assert!(lab.password_login(host, known.expose()));
    secrets.extend([known.expose().clone(), lab.live_hash(host)]);

    // Killed before `chpasswd` again, now that a current password exists and is overdue: the
    // next run drops the pending version (the terminal still has the current one) and rotates.
    lab.crash_rotation(host, Pause::Before, 0);
    let pending = lab.state(host).pending.expect("pending again");
    secrets.push(lab.value(host, pending.version).expose().clone());
    assert_terminal_has(&lab, host, current);
    let outcome = lab.run(host, &ssh, 0, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    assert!(
        outcome.summary.contains("never reached the terminal"),
        "{}",
        outcome.summary
    );
    let state = lab.state(host);
    let newest = state.current.expect("current").version;
    assert!(newest > pending.version);
    assert_eq!(
        state.history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![current]
    );
    let value = assert_terminal_has(&lab, host, newest);
    assert!(lab.password_login(host, value.expose()));
    assert!(!lab.password_login(host, known.expose()));
    secrets.extend([value.expose().clone(), lab.live_hash(host)]);

    // Killed before `chpasswd` once more; `reconcile_terminal` settles it without rotating.
    lab.crash_rotation(host, Pause::Before, 0);
    let settled = password::reconcile_terminal(&ssh, &lab.secrets_dir(), host.name(), &|_| 3)
        .await
        .expect("reconciles");
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].outcome, password::SettledOutcome::Abandoned);
    lab.saw(&settled[0].summary);
    assert!(lab.state(host).pending.is_none());
    assert_eq!(lab.state(host).current.map(|c| c.version), Some(newest));
    assert_eq!(lab.run(host, &ssh, 365, false).await.status, Status::Ok);

    lab.assert_no_leak(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_chpasswd_is_committed_without_a_new_rotation() {
    require_root!();
    let lab = Lab::start(42, 1);
    let host = lab.host(0);
    let ssh = lab.connect(host).await;
    let mut secrets = Vec::new();

    let outcome = lab.run(host, &ssh, 365, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    let first = assert_terminal_has(&lab, host, 1);
    secrets.extend([first.expose().clone(), lab.live_hash(host)]);

    // Killed after `chpasswd` finished, before `commit`: the terminal has the pending password.
    lab.crash_rotation(host, Pause::After, 0);
    let state = lab.state(host);
    let pending = state.pending.expect("a pending rotation").version;
    assert_eq!(state.current.map(|c| c.version), Some(1));
    let live = lab.live_hash(host);
    let value = assert_terminal_has(&lab, host, pending);
    secrets.extend([value.expose().clone(), live.clone()]);

    // Check mode says it would record it, and writes nothing.
    let before = lab.state_file(host);
    let outcome = lab.run(host, &ssh, 365, true).await;
    assert_eq!(outcome.status, Status::Changed);
    assert!(
        outcome
            .summary
            .contains("reached the terminal: record it as current"),
        "{}",
        outcome.summary
    );
    assert_eq!(lab.state_file(host), before, "check mode wrote the store");

    // Apply commits it; the terminal is not touched again. The unit completes the rotation
    // the killed run began, so it reports it as changed, with the facts for the journal's
    // `rotation` record naming that run.
    let outcome = lab.run(host, &ssh, 365, false).await;
    assert_eq!(outcome.status, Status::Changed, "{outcome:?}");
    assert!(
        outcome.summary.contains("had reached the terminal"),
        "{}",
        outcome.summary
    );
    let rotation = &outcome.facts.as_ref().expect("rotation facts")["rotation"];
    let began_in = rotation["began_in"].as_str().unwrap_or_default();
    assert!(began_in.starts_with("run-killed-"), "{rotation}");
    assert_eq!(rotation["version"], pending, "{rotation}");
    assert_eq!(lab.live_hash(host), live, "no new rotation");
    let state = lab.state(host);
    assert!(state.pending.is_none());
    assert_eq!(state.current.map(|c| c.version), Some(pending));
    assert_eq!(
        state.history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![1]
    );
    assert!(lab.password_login(host, value.expose()));
    assert!(!lab.password_login(host, first.expose()));
    assert_eq!(lab.run(host, &ssh, 365, false).await.status, Status::Ok);

    // Once more, settled by `reconcile_terminal` as the coordinator would at the start of a run.
    lab.crash_rotation(host, Pause::After, 0);
    let pending = lab.state(host).pending.expect("pending").version;
    let value = assert_terminal_has(&lab, host, pending);
    secrets.extend([value.expose().clone(), lab.live_hash(host)]);
    let settled = password::reconcile_terminal(&ssh, &lab.secrets_dir(), host.name(), &|_| 3)
        .await
        .expect("reconciles");
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].outcome, password::SettledOutcome::Committed);
    assert_eq!(settled[0].version, pending);
    lab.saw(&settled[0].summary);
    let state = lab.state(host);
    assert_eq!(state.current.map(|c| c.version), Some(pending));
    assert!(state.pending.is_none());
    assert!(lab.password_login(host, value.expose()));
    let outcome = lab.run(host, &ssh, 365, false).await;
    assert_eq!(outcome.status, Status::Ok);
    assert!(
        outcome.summary.contains(&format!("(version {pending})")),
        "{}",
        outcome.summary
    );

    lab.assert_no_leak(&secrets);
}

/// A transport that parks forever when the rotation reaches `chpasswd` (before sending it, or
/// after it finished), after touching a marker file, so that the parent can SIGKILL the process
/// at exactly that point.
struct Parking {
    inner: SshTransport,
    after: bool,
    marker: PathBuf,
}

impl Parking {
    fn park(&self) -> ! {
        fs::write(&self.marker, "parked").expect("marker written");
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

impl Transport for Parking {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput> {
        Box::pin(async move {
            if command.starts_with("chpasswd") {
                if !self.after {
                    self.park();
                }
                let _finished = self.inner.exec(command, stdin).await;
                self.park();
            }
            self.inner.exec(command, stdin).await
        })
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        self.inner.close()
    }
}

/// Not a test on its own: the crash tests run it in a child process (`--ignored --exact`) and
/// SIGKILL it at `chpasswd`.
#[tokio::test]
#[ignore = "run by the crash tests in a child process, which they kill"]
async fn crash_child() {
    let var = |name: &str| std::env::var(name).expect("set by the crash tests");
    let marker = PathBuf::from(var("SEIBI_CRASH_MARKER"));
    let spec = ConnectSpec::new(var("SEIBI_CRASH_NAME"), var("SEIBI_CRASH_ADDRESS"), "root")
        .with_port(var("SEIBI_CRASH_PORT").parse().expect("port"));
    let known = Arc::new(KnownHosts::load(var("SEIBI_CRASH_KNOWN_HOSTS")).expect("known_hosts"));
    let inner = SshTransport::connect(&spec, &Credentials::key_file(var("SEIBI_CRASH_KEY")), known)
        .await
        .expect("connects");
    let transport = Parking {
        inner,
        after: var("SEIBI_CRASH_PAUSE") == format!("{:?}", Pause::After),
        marker,
    };
    let max_age: u32 = var("SEIBI_CRASH_MAX_AGE").parse().expect("max age");
    let (terminal, task) = planned_for(
        &var("SEIBI_CRASH_NAME"),
        &var("SEIBI_CRASH_ADDRESS"),
        spec.port,
        USER,
        max_age,
    );
    let env = ApplyEnv {
        secrets_dir: Some(PathBuf::from(var("SEIBI_CRASH_SECRETS"))),
        operator: OPERATOR.to_string(),
        // Every killed child is a run of its own.
        run_id: format!("run-killed-{}", std::process::id()),
        ..ApplyEnv::default()
    };
    let ctx = ActionContext {
        transport: &transport,
        terminal: &terminal,
        task: &task,
        env: &env,
    };
    let outcome = run_task(&ctx, false).await;
    panic!(
        "the rotation was to be killed at chpasswd, but it ended: {:?} {}",
        outcome.status,
        outcome.error.unwrap_or_default()
    );
}
