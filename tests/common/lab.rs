//! Helpers for the integration tests that run `seibi` against a lab fleet (`seibi::lab`): the
//! root check, the binary with stdin, the OpenSSH client on a host as a given account, and real
//! `.deb` packages built with dpkg-deb.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use seibi::lab::{Fleet, LabHost};

use super::Output;

/// Whether this process runs as root (the lab needs it; CI runs as root).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether a lab test can run here, and should. A lab test that cannot run (not root, no
/// `sshd` or `unshare`) fails, saying what is missing, so that a green run proves the SSH paths
/// were exercised; `SEIBI_SKIP_LAB=1` asks to skip lab tests instead (the test then returns).
/// `scripts/test` installs what the lab needs.
pub fn lab_available() -> bool {
    if std::env::var_os("SEIBI_SKIP_LAB").is_some_and(|v| v == "1") {
        eprintln!("lab test not run: SEIBI_SKIP_LAB=1");
        return false;
    }
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (the lab uses mount namespaces and overlayfs)".to_string());
    }
    for (tool, paths) in [
        (
            "sshd (apt-get install openssh-server)",
            &["/usr/sbin/sshd"][..],
        ),
        (
            "unshare (apt-get install util-linux)",
            &["/usr/bin/unshare", "/bin/unshare"][..],
        ),
    ] {
        if !paths.iter().any(|p| Path::new(p).exists()) {
            missing.push(tool.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "this lab test cannot run: it needs {}; run `scripts/test` as root, or set SEIBI_SKIP_LAB=1 to skip lab tests",
        missing.join(", ")
    );
    true
}

/// Runs `seibi ARGS` in `project` with `stdin` (if any) and without an ssh-agent, so that only
/// the keys the test names are used.
pub fn seibi(project: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seibi"));
    cmd.args(args)
        .current_dir(project)
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run seibi");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait").into()
}

/// The OpenSSH client, as an operator would run it, set up to run `command` on `host` as `user`
/// with the fleet's key only, checking host keys strictly against `known_hosts` alone.
pub fn ssh_command(
    fleet: &Fleet,
    known_hosts: &Path,
    host: &LabHost,
    user: &str,
    command: &str,
) -> Command {
    ssh_to(
        fleet.client_key(),
        known_hosts,
        &format!("{user}@{}", host.address()),
        host.port(),
        command,
    )
}

/// The OpenSSH client running `command` on `destination` (`user@address`) at `port`, with the
/// key `key` only (no agent, no config file), checking host keys strictly against `known_hosts`
/// alone.
pub fn ssh_to(
    key: &Path,
    known_hosts: &Path,
    destination: &str,
    port: u16,
    command: &str,
) -> Command {
    let mut ssh = Command::new("ssh");
    ssh.args(["-F", "/dev/null", "-i"])
        .arg(key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=10",
            "-p",
        ])
        .arg(port.to_string())
        .arg(destination)
        .arg(command);
    ssh
}

/// Runs `command` on fleet host `index` as `user`, with nothing on its stdin.
pub fn ssh_as(fleet: &Fleet, index: usize, user: &str, command: &str) -> Output {
    ssh_command(
        fleet,
        fleet.known_hosts(),
        &fleet.hosts()[index],
        user,
        command,
    )
    .stdin(Stdio::null())
    .output()
    .expect("ssh")
    .into()
}

/// `seibi apply` of `root`'s jobs on the fleet as a rehearsal, with the fleet's key and the
/// secrets identity at `identity`, plain progress, and `extra` arguments.
pub fn apply_rehearsal(root: &Path, fleet: &Fleet, identity: &Path, extra: &[&str]) -> Output {
    let key = fleet.client_key().to_str().expect("utf-8");
    let identity = identity.to_str().expect("utf-8");
    let mut args = vec![
        "apply",
        "--key",
        key,
        "--identity",
        identity,
        "--progress",
        "plain",
        // The lab fleet has no office hours; the tests must not depend on the time of day. A
        // rehearsal has no approved plan either: it says so, as emergency work would.
        "--outside-window",
        "--unapproved",
        "--reason",
        "lab rehearsal",
    ];
    args.extend_from_slice(extra);
    seibi(root, &args, None)
}

/// Runs `command` on fleet host `index` as root; its stdout.
pub fn on_host(fleet: &Fleet, index: usize, command: &str) -> String {
    ssh_as(fleet, index, "root", command).stdout
}

/// Makes `root` a project the fleet can be worked on from: a roster whose operator holds the
/// fleet's client key, the fleet's `known_hosts`, and a secrets store readable with a new
/// identity at `identity` that holds the secret `name` (in its file `lab`).
pub fn operator_and_secret(fleet: &Fleet, root: &Path, identity: &Path, name: &str, value: &str) {
    let public =
        std::fs::read_to_string(fleet.client_key().with_extension("pub")).expect("pub key");
    std::fs::write(
        root.join("roster.yml"),
        format!("people:\n  - id: lab-operator\n    name: 試験 操作員\n    organisation: 保守委託先\n    role: operator\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n", public.trim()),
    )
    .expect("roster");
    std::fs::copy(fleet.known_hosts(), root.join("known_hosts")).expect("known_hosts");
    let identity = identity.to_str().expect("utf-8");
    let init = seibi(
        root,
        &[
            "secrets",
            "init",
            "--name",
            "lab",
            "--new-identity",
            identity,
        ],
        None,
    );
    assert_eq!(init.code, 0, "{}", init.stderr);
    let set = seibi(
        root,
        &["secrets", "-i", identity, "set", name, "--file", "lab"],
        Some(value),
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
}

/// A job file for the terminals tagged `lab`: `id`, `kind` and the YAML of its `tasks:` (and
/// `artifacts:`, when it has some) in `body`.
pub fn lab_job(id: &str, kind: &str, body: &str) -> String {
    format!(
        "id: {id}\ntitle: {id}\nkind: {kind}\nprovenance: {{ source: contract, reference: T-1 }}\nminutes_per_terminal: 2\ntargets: {{ tags: [lab] }}\n{body}"
    )
}

/// Builds `<name>_<version>_all.deb` in `dir`, shipping `/opt/<name>/VERSION`; its path and
/// SHA-256.
pub fn build_deb(dir: &Path, name: &str, version: &str) -> (PathBuf, String) {
    let root = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).expect("mkdir");
    std::fs::create_dir_all(root.join("opt").join(name)).expect("mkdir");
    std::fs::write(
        root.join("DEBIAN/control"),
        format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n"),
    )
    .expect("control");
    std::fs::write(
        root.join("opt").join(name).join("VERSION"),
        format!("{version}\n"),
    )
    .expect("version");
    let deb = dir.join(format!("{name}_{version}_all.deb"));
    dpkg_deb(&root, &deb);
    let sha = sha256_file(&deb);
    (deb, sha)
}

/// Builds the package whose tree (with `DEBIAN/control`) is `root` into the file `deb`, its
/// files owned by root.
pub fn dpkg_deb(root: &Path, deb: &Path) {
    let status = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(root)
        .arg(deb)
        .stdout(Stdio::null())
        .status()
        .expect("dpkg-deb runs");
    assert!(
        status.success(),
        "dpkg-deb --build {} failed",
        root.display()
    );
}

/// The SHA-256 of a file, as hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}
