//! The `package`, `patch`, `inspect`, `fetch` and `reboot` actions against a lab fleet of real
//! OpenSSH hosts (127.0.30.x), each case on a host of its own: real `.deb` files built here with
//! `dpkg-deb`, installed into each host's own dpkg database; facts and collected files checked
//! against what the host says over a second command. Needs root; without it, prints why and
//! returns.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use common::lab::lab_available;
use seibi::action::{
    ActionContext, ApplyEnv, LocalArtifact, Status, TaskOutcome, reboot, run_task,
};
use seibi::lab::{Fleet, FleetSpec, LabHost};
use seibi::plan::{PlannedTask, PlannedTerminal};
use seibi::transport::{ConnectSpec, Credentials, KnownHosts, SshTransport, Transport};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One lab host, connected, as a planned terminal.
struct Host {
    transport: SshTransport,
    terminal: PlannedTerminal,
    name: String,
}

impl Host {
    async fn connect(fleet: &Fleet, host: &LabHost) -> Host {
        let known = Arc::new(KnownHosts::load(fleet.known_hosts()).expect("known_hosts"));
        let spec = ConnectSpec::new(host.name(), host.address().to_string(), "root")
            .with_port(host.port())
            .with_connect_timeout(Duration::from_secs(10));
        let transport =
            SshTransport::connect(&spec, &Credentials::key_file(fleet.client_key()), known)
                .await
                .expect("connects to the lab host");
        let terminal: PlannedTerminal = serde_json::from_value(json!({
            "id": host.name(), "address": host.address().to_string(), "port": host.port(),
            "user": "root", "platform": "linux", "jobs": ["job"], "tasks": [],
            "estimated_minutes": 5,
        }))
        .expect("a planned terminal");
        Host {
            transport,
            terminal,
            name: host.name().to_string(),
        }
    }

    /// Runs one task of `action` with `args` (as the planner would render them).
    async fn run(&self, env: &ApplyEnv, action: &str, args: Value, check: bool) -> TaskOutcome {
        let task: PlannedTask = serde_json::from_value(json!({
            "key": format!("job/{action}"), "job": "job", "task": action, "name": action,
            "action": action, "args": args, "needs": [], "notify": [], "handler": false,
            "skip": null,
        }))
        .expect("a planned task");
        let ctx = ActionContext {
            transport: &self.transport,
            terminal: &self.terminal,
            task: &task,
            env,
        };
        run_task(&ctx, check).await
    }

    /// stdout of a command on the host (a second exec, not through the action).
    async fn sh(&self, command: &str) -> String {
        let out = self.transport.exec(command, None).await.expect("exec");
        assert!(out.success(), "`{command}` failed: {}", out.stderr_text());
        out.stdout_text()
    }

    async fn dpkg_version(&self, package: &str) -> Option<String> {
        let out = self
            .transport
            .exec(
                &format!("dpkg-query -W -f='${{Status}} ${{Version}}' {package}"),
                None,
            )
            .await
            .expect("exec");
        let text = out.stdout_text();
        text.strip_prefix("install ok installed ")
            .map(str::to_string)
    }

    /// Whether uploaded media with this SHA-256 are still anywhere in /var/tmp.
    async fn media_left(&self, sha: &str) -> bool {
        let out = self
            .transport
            .exec(
                &format!("ls -d /var/tmp/seibi-media.*/{sha}.deb 2>/dev/null | grep -q ."),
                None,
            )
            .await
            .expect("exec");
        out.success()
    }

    async fn exists(&self, path: &str) -> bool {
        let out = self
            .transport
            .exec(&format!("test -e '{path}'"), None)
            .await
            .expect("exec");
        out.success()
    }
}

fn ok(outcome: &TaskOutcome, status: Status) {
    assert_eq!(
        outcome.status, status,
        "summary: {}; error: {:?}",
        outcome.summary, outcome.error
    );
}

fn error(outcome: &TaskOutcome) -> String {
    assert_eq!(
        outcome.status,
        Status::Failed,
        "summary: {}",
        outcome.summary
    );
    outcome
        .error
        .clone()
        .expect("a failed outcome has an error")
}

/// Builds `<name>_<version>_all.deb` installing `/opt/<name>/version`.
fn build_deb(dir: &Path, name: &str, version: &str) -> PathBuf {
    let root = dir.join(format!("{name}-{version}"));
    fs::create_dir_all(root.join("DEBIAN")).expect("mkdir");
    fs::create_dir_all(root.join("opt").join(name)).expect("mkdir");
    fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: seibi tests <dev@seibi.invalid>\nDescription: seibi test package\n"
        ),
    )
    .expect("control");
    fs::write(root.join("opt").join(name).join("version"), version).expect("payload");
    let deb = dir.join(format!("{name}_{version}_all.deb"));
    let out = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .expect("dpkg-deb runs");
    assert!(
        out.status.success(),
        "dpkg-deb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    deb
}

/// An environment with one artifact (`media`) of job `job`.
fn env_with(
    artifact: &Path,
    pinned: &str,
    collect_root: &Path,
    scanner: Option<String>,
) -> ApplyEnv {
    let mut env = ApplyEnv {
        collect_root: collect_root.to_path_buf(),
        scanner,
        run_id: "run-1".to_string(),
        operator: "tester".to_string(),
        ..ApplyEnv::default()
    };
    env.artifacts.insert(
        ("job".to_string(), "media".to_string()),
        LocalArtifact {
            path: artifact.to_path_buf(),
            sha256: pinned.to_string(),
        },
    );
    env
}

fn package_args(name: &str, version: &str, sha256: &str, scan: bool) -> Value {
    json!({"artifact": "media", "package": name, "version": version, "sha256": sha256, "scan": scan})
}

fn stub_scanner(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("stub");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

async fn package_install_upgrade_and_check_mode(host: &Host, work: &Path) {
    let name = "seibi-test-tool";
    let v1 = build_deb(work, name, "1.0-1");
    let v2 = build_deb(work, name, "2.0-1");
    let (v1_sha, v2_sha) = (
        sha256_hex(&fs::read(&v1).expect("v1")),
        sha256_hex(&fs::read(&v2).expect("v2")),
    );
    let env1 = env_with(&v1, &v1_sha, work, None);
    let env2 = env_with(&v2, &v2_sha, work, None);
    let args1 = package_args(name, "1.0-1", &v1_sha, false);
    let args2 = package_args(name, "2.0-1", &v2_sha, false);

    let checked = host.run(&env1, "package", args1.clone(), true).await;
    ok(&checked, Status::Changed);
    assert_eq!(
        checked.summary,
        "install seibi-test-tool 1.0-1 (not installed)"
    );
    assert_eq!(
        host.dpkg_version(name).await,
        None,
        "check mode installs nothing"
    );
    assert!(!host.exists("/opt/seibi-test-tool").await);

    let installed = host.run(&env1, "package", args1.clone(), false).await;
    ok(&installed, Status::Changed);
    assert_eq!(
        installed.summary,
        "installed seibi-test-tool 1.0-1 (was not installed)"
    );
    assert_eq!(host.dpkg_version(name).await.as_deref(), Some("1.0-1"));
    assert_eq!(host.sh("cat /opt/seibi-test-tool/version").await, "1.0-1");
    assert!(
        !host.media_left(&v1_sha).await,
        "the uploaded media are removed"
    );
    assert!(installed.stdout.is_some(), "dpkg's output is recorded");

    let again = host.run(&env1, "package", args1.clone(), false).await;
    ok(&again, Status::Ok);
    assert_eq!(again.summary, "seibi-test-tool 1.0-1 installed");

    let checked = host.run(&env2, "package", args2.clone(), true).await;
    ok(&checked, Status::Changed);
    assert_eq!(checked.summary, "install seibi-test-tool 2.0-1 (has 1.0-1)");
    assert_eq!(host.dpkg_version(name).await.as_deref(), Some("1.0-1"));

    let upgraded = host.run(&env2, "package", args2.clone(), false).await;
    ok(&upgraded, Status::Changed);
    assert!(
        upgraded
            .summary
            .contains("installed seibi-test-tool 2.0-1 (was 1.0-1)"),
        "{}",
        upgraded.summary
    );
    assert_eq!(host.dpkg_version(name).await.as_deref(), Some("2.0-1"));
    assert_eq!(host.sh("cat /opt/seibi-test-tool/version").await, "2.0-1");
    ok(&host.run(&env2, "package", args2, false).await, Status::Ok);

    // An older plan meets a newer package: never downgraded.
    let older = host.run(&env1, "package", args1, false).await;
    ok(&older, Status::Ok);
    assert!(
        older.summary.contains("not downgraded"),
        "{}",
        older.summary
    );
    assert_eq!(host.dpkg_version(name).await.as_deref(), Some("2.0-1"));
}

async fn patch_verification_and_scan(host: &Host, work: &Path) {
    let name = "seibi-test-fix";
    let deb = build_deb(work, name, "3.0.15-1");
    let bytes = fs::read(&deb).expect("deb");
    let sha = sha256_hex(&bytes);
    let args = package_args(name, "3.0.15-1", &sha, false);

    // Media changed after they were pinned: refused before anything is sent.
    let tampered = work.join("tampered.deb");
    let mut changed = bytes.clone();
    changed.extend_from_slice(b"\0");
    fs::write(&tampered, &changed).expect("tampered");
    let env = env_with(&tampered, &sha, work, None);
    for check in [true, false] {
        let err = error(&host.run(&env, "patch", args.clone(), check).await);
        assert!(err.contains("failed verification"), "{err}");
        assert!(err.contains("must not be applied"), "{err}");
        assert!(
            err.contains(&sha256_hex(&changed)),
            "names the actual digest: {err}"
        );
    }
    // The plan and the project disagree about the pin: refused too.
    let env = env_with(&deb, &"0".repeat(64), work, None);
    let err = error(&host.run(&env, "patch", args.clone(), false).await);
    assert!(
        err.contains(&"0".repeat(64)) && err.contains("must not be applied"),
        "{err}"
    );
    assert!(!host.media_left(&sha).await, "nothing was uploaded");
    assert_eq!(host.dpkg_version(name).await, None, "nothing was installed");

    // Virus scan, with stub scanners (ClamAV needs a signature database from the network).
    let scan_args = package_args(name, "3.0.15-1", &sha, true);
    let infected = stub_scanner(
        work,
        "infected",
        "echo \"$2: Eicar-Test-Signature FOUND\"; exit 1",
    );
    let env = env_with(&deb, &sha, work, Some(infected));
    let err = error(&host.run(&env, "patch", scan_args.clone(), false).await);
    assert!(err.starts_with("media infected"), "{err}");
    assert!(err.contains("Eicar-Test-Signature FOUND"), "{err}");
    assert!(
        err.contains(&deb.display().to_string()),
        "names the media: {err}"
    );

    let env = env_with(
        &deb,
        &sha,
        work,
        Some(work.join("no-such-clamscan").display().to_string()),
    );
    let err = error(&host.run(&env, "patch", scan_args.clone(), false).await);
    assert!(err.contains("is not installed on this machine"), "{err}");
    assert!(err.contains("apt-get install clamav"), "{err}");
    assert!(err.contains("remove `scan: true`"), "{err}");
    assert!(!host.media_left(&sha).await);
    assert_eq!(host.dpkg_version(name).await, None);

    // A clean scan: the scanner sees exactly the pinned bytes, then the patch goes on.
    let seen = work.join("scanner-saw");
    let clean = stub_scanner(
        work,
        "clean",
        &format!(
            "[ \"$1\" = --no-summary ] || exit 2\nsha256sum < \"$2\" > '{}'\nexit 0",
            seen.display()
        ),
    );
    let env = env_with(&deb, &sha, work, Some(clean));
    let applied = host.run(&env, "patch", scan_args.clone(), false).await;
    ok(&applied, Status::Changed);
    let scanned = fs::read_to_string(&seen).expect("the scanner ran");
    assert!(scanned.starts_with(&sha), "scanned {scanned}, pinned {sha}");
    assert_eq!(host.dpkg_version(name).await.as_deref(), Some("3.0.15-1"));
    assert!(!host.media_left(&sha).await);
    ok(&host.run(&env, "patch", scan_args, false).await, Status::Ok);
}

async fn inspect_facts_and_drift(host: &Host, work: &Path) {
    let conf = "/etc/seibi-inspect.conf";
    host.sh(&format!("printf 'lock=5\\n' > {conf}")).await;
    let conf_sha = sha256_hex(b"lock=5\n");
    let dpkg_version = host.dpkg_version("dpkg").await.expect("dpkg is installed");
    let env = env_with(work, "", &work.join("collected"), None);

    // As expected, no full disk: no findings.
    let args = json!({
        "packages": ["dpkg"], "files": [conf, "/etc/seibi-none"], "disk": true,
        "disk_threshold_percent": 100,
        "expect": {
            "packages": {"dpkg": dpkg_version, "seibi-never-installed": "absent"},
            "files": {conf: conf_sha, "/etc/seibi-none": "absent"},
        },
    });
    let clean = host.run(&env, "inspect", args, true).await;
    ok(&clean, Status::Ok);
    assert!(clean.summary.ends_with("no findings"), "{}", clean.summary);
    let facts = clean.facts.as_ref().expect("check mode reports facts");
    assert_eq!(facts["packages"]["dpkg"], json!(dpkg_version));
    assert_eq!(facts["packages"]["seibi-never-installed"], "not installed");
    assert_eq!(facts["files"][conf], json!(conf_sha));
    assert_eq!(facts["files"]["/etc/seibi-none"], "missing");
    let facts_json = work
        .join("collected")
        .join(&host.name)
        .join("run-1")
        .join("facts.json");
    assert!(!facts_json.exists(), "check mode writes nothing");

    // Drift in a package and a file, and every mount over 1 % is a finding.
    let args = json!({
        "packages": ["dpkg"], "files": [conf], "disk_threshold_percent": 1,
        "expect": {
            "packages": {"seibi-never-installed": "9.9-1"},
            "files": {conf: "ab".repeat(32)},
        },
    });
    let drift = host.run(&env, "inspect", args, false).await;
    ok(&drift, Status::Ok);
    let facts = drift.facts.as_ref().expect("facts");
    let host_os = host
        .sh(". /etc/os-release; printf '%s' \"$PRETTY_NAME\"")
        .await;
    assert_eq!(facts["os"]["pretty_name"], json!(host_os));
    assert_eq!(facts["kernel"], json!(host.sh("uname -r").await.trim()));
    assert_eq!(facts["hostname"], json!(host.name));
    let disks = facts["disks"].as_array().expect("disks");
    let root = disks
        .iter()
        .find(|d| d["mount"] == "/")
        .expect("the root mount is listed");
    let df_root = host.sh("df -P -k / | tail -n 1").await;
    let df_percent: u64 = df_root
        .split_whitespace()
        .nth(4)
        .and_then(|p| p.trim_end_matches('%').parse().ok())
        .expect("df percent");
    assert!(
        root["percent"]
            .as_u64()
            .expect("percent")
            .abs_diff(df_percent)
            <= 1,
        "{root} vs {df_root}"
    );
    let findings = facts["findings"].as_array().expect("findings");
    assert!(findings.contains(&json!({
        "kind": "package", "name": "seibi-never-installed", "expected": "9.9-1",
        "found": "not installed",
    })));
    assert!(findings.contains(&json!({
        "kind": "file", "path": conf, "expected": "ab".repeat(32), "found": conf_sha,
    })));
    let full: Vec<&Value> = findings.iter().filter(|f| f["kind"] == "disk").collect();
    assert!(
        full.iter()
            .any(|f| f["mount"] == "/" && f["threshold"] == 1),
        "{findings:?}"
    );
    assert!(
        drift
            .summary
            .contains("package seibi-never-installed is not installed, expected 9.9-1")
    );

    let written: Value =
        serde_json::from_str(&fs::read_to_string(&facts_json).expect("facts.json written"))
            .expect("facts.json is JSON");
    assert_eq!(&written, facts, "facts.json holds the outcome's facts");
}

async fn fetch_collects_and_verifies(host: &Host, work: &Path) {
    host.sh("mkdir -p /etc/seibi-logs/sub /etc/seibi-big && \
         printf 'line 1\\nline 2\\n' > /etc/seibi-logs/app.log && \
         head -c 3000 /dev/urandom > /etc/seibi-logs/app.log.1 && \
         printf 'spaced\\n' > '/etc/seibi-logs/with space.log' && \
         head -c 2000 /dev/zero > /etc/seibi-big/big.bin")
        .await;
    let collect = work.join("fetched");
    let env = env_with(work, "", &collect, None);
    let dir = collect.join(&host.name).join("run-1");
    let args = json!({"paths": ["/etc/seibi-logs/*", "/etc/seibi-logs/nothing-*"]});

    let checked = host.run(&env, "fetch", args.clone(), true).await;
    ok(&checked, Status::Ok);
    assert!(
        checked.summary.starts_with("collect 3 files"),
        "{}",
        checked.summary
    );
    assert!(!dir.exists(), "check mode collects nothing");

    let fetched = host.run(&env, "fetch", args, false).await;
    ok(&fetched, Status::Ok);
    assert!(
        fetched
            .summary
            .contains("nothing matches /etc/seibi-logs/nothing-*"),
        "{}",
        fetched.summary
    );
    let facts = fetched.facts.as_ref().expect("facts");
    assert_eq!(facts["missing"], json!(["/etc/seibi-logs/nothing-*"]));
    assert_eq!(facts["skipped"], json!(["/etc/seibi-logs/sub"]));
    let files = facts["files"].as_array().expect("files");
    assert_eq!(files.len(), 3);
    for name in ["app.log", "app.log.1", "with space.log"] {
        let remote = format!("/etc/seibi-logs/{name}");
        let local = dir.join("etc/seibi-logs").join(name);
        let bytes = fs::read(&local).expect("collected");
        let host_sha = host.sh(&format!("sha256sum < '{remote}'")).await;
        assert!(
            host_sha.starts_with(&sha256_hex(&bytes)),
            "{name}: {host_sha}"
        );
        let entry = files
            .iter()
            .find(|f| f["path"] == json!(remote))
            .expect("listed");
        assert_eq!(entry["sha256"], json!(sha256_hex(&bytes)));
        assert_eq!(entry["size"], json!(bytes.len()));
    }
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
    assert_eq!(sums.lines().count(), 3, "{sums}");
    let verified = Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(&dir)
        .output()
        .expect("sha256sum runs");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    let big = json!({"paths": ["/etc/seibi-big/*"], "max_bytes": 1000});
    let err = error(&host.run(&env, "fetch", big, false).await);
    assert!(
        err.contains("refusing to collect /etc/seibi-big/big.bin"),
        "{err}"
    );
    assert!(err.contains("max_bytes"), "{err}");
    assert!(!dir.join("etc/seibi-big").exists());
}

async fn reboot_issues_command_and_asks_to_reconnect(host: &Host, work: &Path) {
    let env = env_with(work, "", work, None);
    // A command of the job's own that leaves a marker and then takes long, like a reboot: the
    // action must not wait for it.
    let rehearsal = |marker: &str| {
        let command = format!("echo issued > /root/{marker}; sleep 20");
        json!({"timeout_secs": 300, "command": command})
    };
    let checked = host.run(&env, "reboot", rehearsal("checked"), true).await;
    ok(&checked, Status::Changed);
    assert!(
        checked.summary.contains("echo issued"),
        "{}",
        checked.summary
    );
    assert_eq!(checked.reconnect, None);

    let started = Instant::now();
    let issued = host.run(&env, "reboot", rehearsal("issued"), false).await;
    ok(&issued, Status::Changed);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the command runs detached: {:?}",
        started.elapsed()
    );
    assert_eq!(issued.reconnect, Some(Duration::from_secs(300)));
    let facts = issued.facts.clone().expect("facts");
    assert_eq!(facts["require_new_boot"], json!(false));
    let boot_id = host.sh("cat /proc/sys/kernel/random/boot_id").await;
    assert_eq!(facts["boot_id"], json!(boot_id.trim()));

    let deadline = Instant::now() + Duration::from_secs(15);
    while !host.exists("/root/issued").await {
        assert!(Instant::now() < deadline, "the reboot command never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(host.sh("cat /root/issued").await, "issued\n");
    assert!(
        !host.exists("/root/checked").await,
        "check mode issued nothing"
    );

    // The executor's check after reconnecting: a rehearsal counts as back; a real reboot
    // needs a new boot id.
    assert!(
        reboot::came_back(&host.transport, Some(&facts))
            .await
            .expect("exec")
    );
    let real = json!({"boot_id": boot_id.trim(), "require_new_boot": true});
    assert!(
        !reboot::came_back(&host.transport, Some(&real))
            .await
            .expect("exec")
    );

    // The default command, `systemctl reboot`: the lab's stand-in gives the host a new boot id
    // (and leaves the machine running), which is how a real reboot looks to the executor.
    let default = host
        .run(&env, "reboot", json!({"timeout_secs": 300}), false)
        .await;
    ok(&default, Status::Changed);
    let facts = default.facts.clone().expect("facts");
    assert_eq!(facts["require_new_boot"], json!(true));
    assert_eq!(facts["command"], json!(reboot::DEFAULT_COMMAND));
    let deadline = Instant::now() + Duration::from_secs(15);
    while !reboot::came_back(&host.transport, Some(&facts))
        .await
        .expect("exec")
    {
        assert!(
            Instant::now() < deadline,
            "the host never showed a new boot id"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_ne!(
        host.sh("cat /proc/sys/kernel/random/boot_id").await,
        boot_id
    );
}

#[tokio::test]
async fn package_patch_inspect_fetch_reboot_on_lab_hosts() {
    if !lab_available() {
        return;
    }
    let state = tempfile::Builder::new()
        .prefix("seibi-act-pkg-")
        .tempdir()
        .expect("state dir");
    let mut spec = FleetSpec::new(5, state.path().join("lab"));
    spec.base_address = std::net::Ipv4Addr::new(127, 0, 30, 1);
    let fleet = Fleet::start(spec).expect("the lab fleet starts");
    let mut hosts = Vec::new();
    for host in fleet.hosts() {
        hosts.push(Host::connect(&fleet, host).await);
    }
    let work: Vec<PathBuf> = (0..hosts.len())
        .map(|i| {
            let dir = state.path().join(format!("work-{i}"));
            fs::create_dir_all(&dir).expect("work dir");
            dir
        })
        .collect();
    tokio::join!(
        package_install_upgrade_and_check_mode(&hosts[0], &work[0]),
        patch_verification_and_scan(&hosts[1], &work[1]),
        inspect_facts_and_drift(&hosts[2], &work[2]),
        fetch_collects_and_verifies(&hosts[3], &work[3]),
        reboot_issues_command_and_asks_to_reconnect(&hosts[4], &work[4]),
    );
    for host in &hosts {
        let _ = host.transport.close().await;
    }
    fleet.stop().expect("the lab fleet stops");
}
