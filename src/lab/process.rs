//! Finding and stopping a lab host's processes. A host is not one process: sshd forks a session
//! per connection (which calls `setsid` and renames itself) and users start more. What they all
//! share is the host's mount and UTS namespaces, so a host is stopped by signalling every process
//! in that pair of namespaces; when the last one exits the kernel drops the namespace and its
//! overlay and tmpfs mounts with it. Signals go through `kill(1)` because this crate forbids
//! `unsafe` and does not link libc.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::LabError;

/// The namespace pair that identifies one lab host's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Namespaces {
    /// Inode of the mount namespace (`/proc/PID/ns/mnt`).
    pub mnt: u64,
    /// Inode of the UTS namespace (`/proc/PID/ns/uts`).
    pub uts: u64,
}

impl Namespaces {
    /// The namespaces of a live process; `None` once it has exited (zombies have none).
    pub fn of(pid: u32) -> Option<Namespaces> {
        Namespaces::at(&Path::new("/proc").join(pid.to_string()))
    }

    fn at(proc_dir: &Path) -> Option<Namespaces> {
        Some(Namespaces {
            mnt: ns_inode(&proc_dir.join("ns/mnt"))?,
            uts: ns_inode(&proc_dir.join("ns/uts"))?,
        })
    }

    /// Whether these are namespaces no lab host owns: ours, or those of PID 1. Stopping such a
    /// "host" would signal the whole machine, so they are never targeted, whatever a state file
    /// says.
    pub(crate) fn is_machine_wide(&self) -> bool {
        let own = Namespaces::at(Path::new("/proc/self"));
        let init = Namespaces::of(1);
        [own, init]
            .into_iter()
            .flatten()
            .any(|other| other.mnt == self.mnt || other.uts == self.uts)
    }
}

/// Reads the inode from a namespace link such as `mnt:[4026532177]`.
fn ns_inode(link: &Path) -> Option<u64> {
    let target = fs::read_link(link).ok()?;
    let text = target.to_str()?;
    let inside = text.split_once('[')?.1.strip_suffix(']')?;
    inside.parse().ok()
}

/// Every live process in one of the given namespace pairs.
pub(crate) fn processes_in(hosts: &[Namespaces]) -> Vec<u32> {
    let hosts: Vec<Namespaces> = hosts
        .iter()
        .copied()
        .filter(|ns| !ns.is_machine_wide())
        .collect();
    if hosts.is_empty() {
        return Vec::new();
    }
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| Namespaces::of(pid).is_some_and(|ns| hosts.contains(&ns)))
        .collect();
    pids.sort_unstable();
    pids
}

/// Stops every process of the given hosts: SIGTERM, up to 3 s of grace, then SIGKILL.
pub(crate) fn terminate(hosts: &[Namespaces]) -> Result<(), LabError> {
    for (signal, grace) in [
        ("TERM", Duration::from_secs(3)),
        ("KILL", Duration::from_secs(3)),
    ] {
        let pids = processes_in(hosts);
        if pids.is_empty() {
            return Ok(());
        }
        send(signal, &pids);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if processes_in(hosts).is_empty() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    let pids = processes_in(hosts);
    if pids.is_empty() {
        Ok(())
    } else {
        Err(LabError::StillRunning { pids })
    }
}

/// The live processes whose parent is `parent`.
pub(crate) fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
                    let after = stat.rsplit_once(") ")?.1;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// Sends SIGKILL to one process; whether it was sent.
pub(crate) fn kill(pid: u32) -> bool {
    Command::new("kill")
        .args(["-s", "KILL", "--", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends a signal; a process that exits in the meantime is not an error.
fn send(signal: &str, pids: &[u32]) {
    let mut command = Command::new("kill");
    command.args(["-s", signal, "--"]);
    command.args(pids.iter().map(u32::to_string));
    // Its exit status is non-zero when some pid has exited already, which is what we want.
    let _ = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespaces_are_never_a_target() {
        let own = Namespaces::at(Path::new("/proc/self")).expect("procfs is mounted");
        assert!(own.is_machine_wide());
        assert!(processes_in(&[own]).is_empty());
    }

    #[test]
    fn parses_namespace_links() {
        let own = Namespaces::of(std::process::id()).expect("procfs is mounted");
        assert!(own.mnt > 0 && own.uts > 0);
    }
}
