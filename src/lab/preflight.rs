//! Checks made before a fleet starts, so that a machine that cannot run one says why in one
//! line (not root, a missing program, overlayfs refused) instead of twenty sshd logs.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::LabError;
use super::host::run;

/// Where Debian's openssh-server puts sshd.
const SSHD: &str = "/usr/sbin/sshd";

/// The programs a fleet runs, found on this machine.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    /// `sshd`, run as each host.
    pub sshd: PathBuf,
}

/// Checks that this process may run a fleet and finds the programs it needs.
pub(crate) fn check_machine() -> Result<Tools, LabError> {
    let euid = effective_uid()?;
    if euid != 0 {
        return Err(LabError::NotRoot { euid });
    }
    for (tool, hint) in [
        ("unshare", "apt-get install util-linux"),
        ("mount", "apt-get install mount"),
        ("kill", "apt-get install procps"),
        ("ssh-keygen", "apt-get install openssh-client"),
    ] {
        if find_in_path(tool).is_none() {
            return Err(LabError::MissingTool {
                tool: tool.into(),
                hint: hint.into(),
            });
        }
    }
    let sshd = if Path::new(SSHD).is_file() {
        PathBuf::from(SSHD)
    } else {
        find_in_path("sshd").ok_or_else(|| LabError::MissingTool {
            tool: "sshd".into(),
            hint: "apt-get install openssh-server".into(),
        })?
    };
    Ok(Tools { sshd })
}

/// Checks that sudo is installed, for hosts with [`super::FleetSpec::sudo_accounts`]: the hosts
/// see the machine's `/usr` and `/etc` (through their overlays), so they have sudo if it does.
pub(crate) fn check_sudo() -> Result<(), LabError> {
    if find_in_path("sudo").is_none() || !Path::new("/etc/sudoers.d").is_dir() {
        return Err(LabError::MissingTool {
            tool: "sudo".into(),
            hint: "apt-get install sudo (sudo accounts need it on the hosts)".into(),
        });
    }
    Ok(())
}

/// Mounts a throwaway overlay of `/etc` in a throwaway mount namespace, with its layers under
/// `scratch`, to learn whether the real mounts will be allowed.
pub(crate) fn check_overlay(scratch: &Path) -> Result<(), LabError> {
    let upper = scratch.join("upper");
    let work = scratch.join("work");
    let merged = scratch.join("merged");
    for dir in [&upper, &work, &merged] {
        fs::create_dir_all(dir).map_err(LabError::io("cannot create", dir.clone()))?;
    }
    let options = format!(
        "lowerdir=/etc,upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    let mut probe = Command::new("unshare");
    probe
        .args([
            "--mount",
            "--propagation",
            "private",
            "mount",
            "-t",
            "overlay",
        ])
        .args(["seibi-lab-probe", "-o", &options])
        .arg(&merged);
    let outcome = run(&mut probe);
    let _ = fs::remove_dir_all(scratch);
    match outcome {
        Ok(_) => Ok(()),
        Err(LabError::CommandFailed { stderr, status, .. }) => Err(LabError::OverlayNotPermitted {
            detail: if stderr.trim().is_empty() {
                status
            } else {
                stderr.trim().to_owned()
            },
        }),
        Err(other) => Err(other),
    }
}

/// The effective uid, from `/proc/self/status` (no libc here).
fn effective_uid() -> Result<u32, LabError> {
    let path = "/proc/self/status";
    let status = fs::read_to_string(path).map_err(LabError::io("cannot read", path))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| LabError::BadState {
            path: path.into(),
            detail: "no effective uid on its Uid: line".into(),
        })
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}
