//! The lab fleet against real OpenSSH: hosts answer with their own names, stay isolated from
//! each other and from the machine (files, `/etc/shadow`, dpkg), react to a changed host key
//! and a killed sshd like real terminals, and are always stopped. Each test uses its own
//! address range (127.0.N.x) so that `cargo test` can run them in parallel. They need root;
//! without it each prints why and returns.

mod common;

use std::fs;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::lab::lab_available;
use seibi::lab::{Fleet, FleetSpec, LabError, LabHost};

macro_rules! require_root {
    () => {
        if !lab_available() {
            return;
        }
    };
}

fn state_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("seibi-lab-test-")
        .tempdir()
        .expect("a temporary state directory")
}

fn spec(hosts: usize, state_dir: &Path, third_octet: u8) -> FleetSpec {
    let mut spec = FleetSpec::new(hosts, state_dir);
    spec.base_address = std::net::Ipv4Addr::new(127, 0, third_octet, 1);
    spec
}

/// Runs `command` on `host` with OpenSSH as an operator would, checking host keys strictly.
fn ssh(fleet: &Fleet, known_hosts: &Path, host: &LabHost, command: &str, stdin: &[u8]) -> Output {
    let mut child = common::lab::ssh_command(fleet, known_hosts, host, "root", command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin).expect("ssh reads its stdin");
    drop(input);
    child.wait_with_output().expect("ssh finishes")
}

/// Runs `command` on `host` and returns its stdout, failing the test if it fails.
fn on(fleet: &Fleet, host: &LabHost, command: &str) -> String {
    on_with_input(fleet, host, command, b"")
}

fn on_with_input(fleet: &Fleet, host: &LabHost, command: &str, stdin: &[u8]) -> String {
    let output = ssh(fleet, fleet.known_hosts(), host, command, stdin);
    assert!(
        output.status.success(),
        "`{command}` on {} failed ({}): {}",
        host.name(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Whether `command` succeeds on `host`.
fn succeeds(fleet: &Fleet, host: &LabHost, command: &str) -> bool {
    ssh(fleet, fleet.known_hosts(), host, command, b"")
        .status
        .success()
}

/// The pids of processes whose command line mentions `pattern`.
fn pgrep(pattern: &str) -> Vec<String> {
    let output = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn answers(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

fn root_shadow_line(shadow: &str) -> String {
    shadow
        .lines()
        .find(|line| line.starts_with("root:"))
        .expect("a root entry in /etc/shadow")
        .to_owned()
}

#[test]
fn hosts_answer_with_their_own_names_and_keep_changes_to_themselves() {
    require_root!();
    let dir = state_dir();
    let fleet = Fleet::start(spec(3, dir.path(), 1)).expect("the fleet starts");
    let hosts = fleet.hosts();
    assert_eq!(hosts.len(), 3);

    for (index, host) in hosts.iter().enumerate() {
        assert_eq!(host.name(), format!("seibi-lab-0{}", index + 1));
        assert_eq!(host.address().to_string(), format!("127.0.1.{}", index + 1));
        assert!(host.fingerprint().starts_with("SHA256:"), "{host:?}");
        assert_eq!(on(&fleet, host, "hostname"), host.name());
    }
    let known_hosts = fs::read_to_string(fleet.known_hosts()).expect("known_hosts is written");
    assert!(
        known_hosts.starts_with("127.0.1.1 ssh-ed25519 AAAA"),
        "{known_hosts}"
    );
    assert_eq!(known_hosts.lines().count(), 3);

    // A clean home: nothing but the authorized key, whatever the machine's /root holds.
    assert_eq!(on(&fleet, &hosts[0], "ls -A /root"), ".ssh");
    for dir in ["/etc", "/opt", "/usr", "/var/lib/dpkg", "/var/log"] {
        let fstype = on(&fleet, &hosts[0], &format!("findmnt -n -o FSTYPE {dir}"));
        assert_eq!(fstype, "overlay", "{dir} on host 1");
    }

    // A file under /etc stays on the host that wrote it.
    let probe = format!("/etc/seibi-probe-{}", std::process::id());
    on(&fleet, &hosts[0], &format!("echo lab > {probe}"));
    assert_eq!(on(&fleet, &hosts[0], &format!("cat {probe}")), "lab");
    assert!(!succeeds(&fleet, &hosts[1], &format!("test -e {probe}")));
    assert!(!Path::new(&probe).exists(), "{probe} leaked to the machine");

    // chpasswd changes only host 1's /etc/shadow (the password goes over stdin).
    let machine_before = root_shadow_line(&fs::read_to_string("/etc/shadow").expect("shadow"));
    on_with_input(
        &fleet,
        &hosts[0],
        "chpasswd",
        b"root:lab-rotated-Secret-1\n",
    );
    let on_host_1 = root_shadow_line(&on(&fleet, &hosts[0], "cat /etc/shadow"));
    let on_host_2 = root_shadow_line(&on(&fleet, &hosts[1], "cat /etc/shadow"));
    let machine_after = root_shadow_line(&fs::read_to_string("/etc/shadow").expect("shadow"));
    assert_ne!(
        on_host_1, machine_before,
        "chpasswd changed nothing on host 1"
    );
    assert_eq!(on_host_2, machine_before, "host 2 saw host 1's password");
    assert_eq!(
        machine_after, machine_before,
        "the machine's password changed"
    );

    let inventory = dir.path().join("inventory.yml");
    fleet
        .write_inventory(&inventory, &["lab-a", "lab-b"])
        .expect("inventory written");
    let inventory = fs::read_to_string(inventory).expect("inventory readable");
    assert!(inventory.contains(
        "  seibi-lab-03: { site: lab-b, address: 127.0.1.3, port: 22, user: root, platform: linux, tags: [lab] }\n"
    ), "{inventory}");

    let state_dir = fleet.state_dir().to_path_buf();
    fleet.stop().expect("the fleet stops");
    assert!(pgrep(&state_dir.to_string_lossy()).is_empty());
    assert!(!state_dir.join("fleet.json").exists());
}

/// Builds a tiny package that installs a file under /opt and its docs under /usr.
fn build_probe_package(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join("package");
    let files = [
        (
            "DEBIAN/control".to_owned(),
            format!(
                "Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: seibi <dev@seibi.invalid>\nDescription: seibi lab probe\n"
            ),
        ),
        (
            format!("opt/{name}/hello.txt"),
            "hello from the lab\n".to_owned(),
        ),
        (format!("usr/share/doc/{name}/README"), "probe\n".to_owned()),
    ];
    for (path, contents) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("package dirs");
        fs::write(&path, contents).expect("package file");
    }
    fs::set_permissions(root.join("DEBIAN"), fs::Permissions::from_mode(0o755)).expect("chmod");
    let deb = dir.join(format!("{name}.deb"));
    common::lab::dpkg_deb(&root, &deb);
    deb
}

#[test]
fn dpkg_installs_only_on_the_host_it_ran_on() {
    require_root!();
    let dir = state_dir();
    let package = "seibi-lab-probe";
    let work = tempfile::tempdir().expect("a work directory");
    let deb = fs::read(build_probe_package(work.path(), package)).expect("the .deb");
    let fleet = Fleet::start(spec(2, dir.path(), 2)).expect("the fleet starts");
    let hosts = fleet.hosts();

    on_with_input(
        &fleet,
        &hosts[0],
        "cat > /root/probe.deb && dpkg -i /root/probe.deb",
        &deb,
    );
    let status = on(&fleet, &hosts[0], &format!("dpkg -s {package}"));
    assert!(status.contains("Status: install ok installed"), "{status}");
    assert_eq!(
        on(&fleet, &hosts[0], &format!("cat /opt/{package}/hello.txt")),
        "hello from the lab"
    );
    assert!(!succeeds(&fleet, &hosts[1], &format!("dpkg -s {package}")));
    assert!(!succeeds(
        &fleet,
        &hosts[1],
        &format!("test -e /opt/{package}")
    ));

    let on_machine = Command::new("dpkg")
        .args(["-s", package])
        .output()
        .expect("dpkg runs");
    assert!(
        !on_machine.status.success(),
        "the package leaked to the machine"
    );
    assert!(!Path::new(&format!("/opt/{package}")).exists());
    assert!(!Path::new(&format!("/usr/share/doc/{package}")).exists());
}

#[test]
fn a_changed_host_key_is_refused_and_a_killed_host_is_unreachable() {
    require_root!();
    let dir = state_dir();
    let mut fleet = Fleet::start(spec(3, dir.path(), 3)).expect("the fleet starts");
    let old_known_hosts = dir.path().join("known_hosts.old");
    fs::copy(fleet.known_hosts(), &old_known_hosts).expect("copy known_hosts");
    let old_fingerprint = fleet.hosts()[0].fingerprint().to_owned();
    on(&fleet, &fleet.hosts()[0], "echo kept > /etc/seibi-kept");

    let new_fingerprint = fleet
        .replace_host_key(0)
        .expect("host key replaced")
        .fingerprint()
        .to_owned();
    assert_ne!(new_fingerprint, old_fingerprint);
    let host = fleet.hosts()[0].clone();
    let refused = ssh(&fleet, &old_known_hosts, &host, "hostname", b"");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a changed host key was accepted");
    assert!(
        stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            && stderr.contains("Host key verification failed"),
        "{stderr}"
    );
    // The other hosts still match the old file, and the new key works once known.
    let other = ssh(&fleet, &old_known_hosts, &fleet.hosts()[1], "hostname", b"");
    assert!(other.status.success());
    let new_known_hosts = dir.path().join("known_hosts.new");
    fleet.write_known_hosts(&new_known_hosts).expect("written");
    let accepted = ssh(&fleet, &new_known_hosts, &host, "cat /etc/seibi-kept", b"");
    assert!(accepted.status.success(), "{:?}", accepted);
    assert_eq!(String::from_utf8_lossy(&accepted.stdout).trim(), "kept");

    fleet.kill_host(2).expect("host 3 stops");
    let killed = fleet.hosts()[2].clone();
    assert!(!answers(killed.socket_addr()), "host 3 still listens");
    assert!(!succeeds(&fleet, &killed, "true"));
    assert_eq!(on(&fleet, &fleet.hosts()[1], "hostname"), "seibi-lab-02");
    let first = ssh(&fleet, &new_known_hosts, &fleet.hosts()[0], "true", b"");
    assert!(first.status.success(), "host 1 stopped with host 3");

    fleet.restart_host(2).expect("host 3 starts again");
    assert_eq!(on(&fleet, &killed, "hostname"), "seibi-lab-03");
}

#[test]
fn twenty_hosts_start_in_parallel() {
    require_root!();
    let dir = state_dir();
    let started = Instant::now();
    let fleet = Fleet::start(spec(20, dir.path(), 4)).expect("the fleet starts");
    let start_time = started.elapsed();
    assert_eq!(fleet.hosts().len(), 20);
    assert_eq!(fleet.hosts()[19].address().to_string(), "127.0.4.20");
    for host in [&fleet.hosts()[0], &fleet.hosts()[19]] {
        assert_eq!(on(&fleet, host, "hostname"), host.name());
    }
    let state_dir = fleet.state_dir().to_path_buf();
    assert_eq!(pgrep(&state_dir.to_string_lossy()).len(), 20);
    let stopping = Instant::now();
    fleet.stop().expect("the fleet stops");
    eprintln!(
        "lab fleet: 20 hosts started in {:.2?}, stopped in {:.2?}",
        start_time,
        stopping.elapsed()
    );
    assert!(pgrep(&state_dir.to_string_lossy()).is_empty());
}

#[test]
fn another_process_finds_and_stops_a_detached_fleet() {
    require_root!();
    let dir = state_dir();
    let fleet = Fleet::start(spec(2, dir.path(), 5)).expect("the fleet starts");
    let addresses: Vec<SocketAddr> = fleet.hosts().iter().map(LabHost::socket_addr).collect();
    let state_dir = fleet.detach().expect("detached");
    let pattern = state_dir.to_string_lossy().into_owned();
    assert_eq!(pgrep(&pattern).len(), 2, "detached hosts keep running");

    let refused = Fleet::start(spec(2, dir.path(), 5)).expect_err("a second fleet is refused");
    assert!(
        matches!(refused, LabError::AlreadyRunning { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("seibi lab down"), "{refused}");

    assert_eq!(Fleet::stop_from_state(&state_dir).expect("stopped"), 2);
    assert!(pgrep(&pattern).is_empty());
    assert!(addresses.iter().all(|addr| !answers(*addr)));
    assert!(matches!(
        Fleet::stop_from_state(&state_dir),
        Err(LabError::NotRecorded { .. })
    ));

    // The directory can hold a new fleet again.
    let again = Fleet::start(spec(2, dir.path(), 5)).expect("a new fleet starts");
    again.stop().expect("and stops");
}

#[test]
fn a_panicking_test_still_stops_every_host_and_session() {
    require_root!();
    let dir = state_dir();
    let pattern = dir.path().canonicalize().expect("canonical");
    let pattern = pattern.to_string_lossy().into_owned();
    // A process a session leaves behind must go too: sleep takes fractional seconds, so this
    // number marks it.
    let marker = format!("sleep 7777.{}", std::process::id());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let fleet = Fleet::start(spec(2, dir.path(), 6)).expect("the fleet starts");
        on(
            &fleet,
            &fleet.hosts()[0],
            &format!("nohup {marker} >/dev/null 2>&1 </dev/null &"),
        );
        assert_eq!(pgrep(&pattern).len(), 2);
        assert_eq!(pgrep(&marker).len(), 1, "the session's process runs");
        panic!("deliberate panic with a running fleet");
    }));
    assert!(outcome.is_err());
    assert!(pgrep(&pattern).is_empty(), "an sshd of the fleet survived");
    assert!(pgrep(&marker).is_empty(), "a session's process survived");
    for last in 1..=2 {
        assert!(!answers(SocketAddr::from(([127, 0, 6, last], 22))));
    }
}

#[test]
fn password_rotation_is_real_and_per_host() {
    require_root!();
    let dir = state_dir();
    let mut spec = spec(2, dir.path(), 7);
    spec.password_login = true;
    let fleet = Fleet::start(spec).expect("the fleet starts");
    let password = "lab-Rotated-7";
    on_with_input(
        &fleet,
        &fleet.hosts()[0],
        "chpasswd",
        format!("root:{password}\n").as_bytes(),
    );

    // OpenSSH reads the password from an askpass program; this one prints it from a file.
    let work = tempfile::tempdir().expect("a work directory");
    let secret = work.path().join("password");
    fs::write(&secret, password).expect("password file");
    let askpass = work.path().join("askpass");
    fs::write(&askpass, format!("#!/bin/sh\ncat '{}'\n", secret.display())).expect("askpass");
    fs::set_permissions(&askpass, fs::Permissions::from_mode(0o700)).expect("chmod");
    let login = |host: &LabHost| {
        Command::new("ssh")
            .args(["-F", "/dev/null", "-o"])
            .arg(format!(
                "UserKnownHostsFile={}",
                fleet.known_hosts().display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password",
                "-o",
                "NumberOfPasswordPrompts=1",
                "-o",
                "ConnectTimeout=10",
            ])
            .arg(format!("root@{}", host.address()))
            .arg("hostname")
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs")
    };
    let rotated = login(&fleet.hosts()[0]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&rotated.stdout).trim(),
        "seibi-lab-01"
    );
    assert!(
        !login(&fleet.hosts()[1]).status.success(),
        "host 2 accepted host 1's new password"
    );
}

#[test]
fn a_state_dir_the_hosts_overlay_is_refused_before_it_is_created() {
    require_root!();
    let refused = Fleet::start(FleetSpec::new(1, "/etc/seibi-lab-test")).expect_err("refused");
    assert!(matches!(refused, LabError::InvalidSpec(_)), "{refused}");
    assert!(!Path::new("/etc/seibi-lab-test").exists());
}

#[test]
fn a_host_that_cannot_start_fails_the_fleet_and_the_rest_is_stopped() {
    require_root!();
    let first_dir = state_dir();
    let mut taken = spec(1, first_dir.path(), 8);
    taken.base_address = std::net::Ipv4Addr::new(127, 0, 8, 2);
    let first = Fleet::start(taken).expect("the first fleet starts");

    let second_dir = state_dir();
    let error = Fleet::start(spec(3, second_dir.path(), 8)).expect_err("127.0.8.2 is taken");
    match &error {
        LabError::HostDidNotStart { host, reason, .. } => {
            assert_eq!(host, "seibi-lab-02");
            assert!(
                reason.contains("another server already answers"),
                "{reason}"
            );
        }
        other => panic!("unexpected error: {other}"),
    }
    let pattern = second_dir.path().canonicalize().expect("canonical");
    assert!(
        pgrep(&pattern.to_string_lossy()).is_empty(),
        "hosts 1 and 3 of the failed fleet still run"
    );
    assert!(!second_dir.path().join("fleet.json").exists());
    assert!(!answers(SocketAddr::from(([127, 0, 8, 1], 22))));
    assert_eq!(on(&first, &first.hosts()[0], "hostname"), "seibi-lab-01");
}

#[test]
fn a_fleet_whose_owner_and_hosts_are_gone_is_replaced() {
    require_root!();
    let dir = state_dir();
    // What a `seibi lab up` killed with SIGKILL leaves behind, after its hosts died too.
    let stale = r#"{
  "format": 1,
  "owner_pid": 4294967295,
  "hosts": [
    { "name": "seibi-lab-01", "address": "127.0.9.1", "port": 22, "pid": 4294967295,
      "namespaces": { "mnt": 1, "uts": 2 } }
  ]
}
"#;
    fs::write(dir.path().join("fleet.json"), stale).expect("stale state");
    let fleet = Fleet::start(spec(1, dir.path(), 9)).expect("a stale record does not block");
    assert_eq!(on(&fleet, &fleet.hosts()[0], "hostname"), "seibi-lab-01");
    let recorded = fs::read_to_string(dir.path().join("fleet.json")).expect("state");
    assert!(
        recorded.contains(&format!("\"owner_pid\": {}", std::process::id())),
        "{recorded}"
    );

    fs::write(dir.path().join("fleet.json"), "not json").expect("broken state");
    let broken = Fleet::stop_from_state(dir.path()).expect_err("unreadable state");
    assert!(matches!(broken, LabError::BadState { .. }), "{broken}");
}

#[test]
fn named_hosts_get_accounts_and_simulate_reboots_without_touching_the_machine() {
    require_root!();
    let dir = state_dir();
    let mut spec = spec(2, dir.path(), 10);
    spec.names = vec!["kita-t02".into(), "kita-t03".into()];
    spec.accounts = vec!["admin".into()];
    let mut fleet = Fleet::start(spec).expect("the fleet starts");
    let hosts = fleet.hosts().to_vec();
    let machine_boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    let machine_systemctl = fs::read("/usr/bin/systemctl").ok();

    let mut boot_ids = Vec::new();
    for host in &hosts {
        assert_eq!(on(&fleet, host, "hostname"), host.name());
        // The account exists on the host, locked, and not on the machine (unless it had one).
        let entry = on(&fleet, host, "getent shadow admin | cut -d: -f1,2");
        assert!(entry == "admin:!" || entry == "admin:*", "{entry}");
        let boot_id = on(&fleet, host, "cat /proc/sys/kernel/random/boot_id");
        assert_ne!(
            boot_id,
            machine_boot_id.trim(),
            "{} has its own boot id",
            host.name()
        );
        boot_ids.push(boot_id);
    }
    assert_ne!(boot_ids[0], boot_ids[1]);

    // Every way of asking for a reboot gives the host a new boot id, and only that host.
    let target = &hosts[0];
    let mut seen = vec![boot_ids[0].clone()];
    for command in [
        "systemctl reboot",
        "reboot",
        "/sbin/shutdown -r now",
        "/usr/sbin/reboot -f",
    ] {
        let said = on(&fleet, target, command);
        assert!(
            said.contains("rebooted (simulated"),
            "`{command}` said {said:?}"
        );
        let now = on(&fleet, target, "cat /proc/sys/kernel/random/boot_id");
        assert!(
            !seen.contains(&now),
            "`{command}` left the boot id at {now}"
        );
        seen.push(now);
    }
    assert_eq!(
        on(&fleet, &hosts[1], "cat /proc/sys/kernel/random/boot_id"),
        boot_ids[1],
        "the other host did not reboot"
    );
    // Power-off and other systemctl verbs would reach the machine's init: refused, with why.
    for command in [
        "poweroff",
        "halt",
        "shutdown now",
        "systemctl poweroff",
        "systemctl restart ssh",
    ] {
        let output = ssh(&fleet, fleet.known_hosts(), target, command, b"");
        assert!(!output.status.success(), "`{command}` succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("would act on the real machine"),
            "`{command}`: {stderr}"
        );
    }
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id"),
        machine_boot_id
    );
    assert_eq!(fs::read("/usr/bin/systemctl").ok(), machine_systemctl);
    let passwd = fs::read_to_string("/etc/passwd").expect("passwd");
    let had_admin = passwd.lines().any(|l| l.starts_with("admin:"));
    assert!(!had_admin, "the machine's /etc/passwd got the lab account");

    // A restarted host has booted again.
    fleet.restart_host(1).expect("restart");
    let after = on(&fleet, &hosts[1], "cat /proc/sys/kernel/random/boot_id");
    assert_ne!(after, boot_ids[1]);
    fleet.stop().expect("the fleet stops");
}
