//! Helpers for the integration tests that run `seibi` against a lab fleet (`seibi::lab`): the
//! root check, the binary with stdin, the OpenSSH client on a host as a given account, and real
//! `.deb` packages built with dpkg-deb.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use seibi::lab::Fleet;

use super::Output;

/// Whether this process runs as root (the lab needs it; CI runs as root).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
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
    let out = child.wait_with_output().expect("wait");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `command` on fleet host `index` as `user` with the OpenSSH client and the fleet's key.
pub fn ssh_as(fleet: &Fleet, index: usize, user: &str, command: &str) -> Output {
    let host = &fleet.hosts()[index];
    let out = Command::new("ssh")
        .args(["-F", "/dev/null", "-i"])
        .arg(fleet.client_key())
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            fleet.known_hosts().display()
        ))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-p",
        ])
        .arg(host.port().to_string())
        .arg(format!("{user}@{}", host.address()))
        .arg(command)
        .stdin(Stdio::null())
        .output()
        .expect("ssh");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `command` on fleet host `index` as root; its stdout.
pub fn on_host(fleet: &Fleet, index: usize, command: &str) -> String {
    ssh_as(fleet, index, "root", command).stdout
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
    let status = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb)
        .stdout(Stdio::null())
        .status()
        .expect("dpkg-deb");
    assert!(status.success());
    let sha = sha256_file(&deb);
    (deb, sha)
}

/// The SHA-256 of a file, as hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}
