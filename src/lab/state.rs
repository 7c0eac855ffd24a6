//! `FleetState`: the `fleet.json` file in a state directory that records which process started a
//! fleet and which namespaces its hosts run in, so that `seibi lab down` in another process can
//! stop them and `seibi lab up` can refuse to start a second fleet over the first. The file is
//! created exclusively before any host starts (it doubles as the directory's lock) and rewritten
//! (write, then rename) as each host comes up.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LabError;
use super::process::{Namespaces, processes_in};

/// The name of the state file inside a state directory.
pub(crate) const STATE_FILE: &str = "fleet.json";

/// Bumped when the file's meaning changes.
const FORMAT: u32 = 1;

/// What `fleet.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FleetState {
    pub format: u32,
    /// The process that started (and may still own) the fleet.
    pub owner_pid: u32,
    /// Hosts that have started, in host order.
    pub hosts: Vec<HostState>,
    /// The relay process that keeps a detached fleet's WAN links (`seibi lab relay`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayState>,
}

/// The relay process in `fleet.json`: like a host, it runs in namespaces of its own, which is
/// how `seibi lab down` finds it whatever became of its pid.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelayState {
    pub pid: u32,
    pub namespaces: Namespaces,
}

/// One started host in `fleet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostState {
    pub name: String,
    pub address: Ipv4Addr,
    pub port: u16,
    /// The sshd listener's pid, for people reading the file.
    pub pid: u32,
    pub namespaces: Namespaces,
}

impl FleetState {
    /// A state for a fleet this process is about to start.
    pub fn new(hosts: Vec<HostState>) -> FleetState {
        FleetState {
            format: FORMAT,
            owner_pid: std::process::id(),
            hosts,
            relay: None,
        }
    }

    /// The namespaces of every recorded host and of the relay.
    pub fn namespaces(&self) -> Vec<Namespaces> {
        self.hosts
            .iter()
            .map(|host| host.namespaces)
            .chain(self.relay.map(|relay| relay.namespaces))
            .collect()
    }

    /// How many recorded hosts still have a process.
    pub fn running_hosts(&self) -> usize {
        self.hosts
            .iter()
            .filter(|host| !processes_in(&[host.namespaces]).is_empty())
            .count()
    }

    /// Whether the fleet is still there: a host runs, or its owner runs (and may be starting
    /// hosts right now).
    pub fn is_live(&self) -> bool {
        self.running_hosts() > 0
            || self
                .relay
                .is_some_and(|relay| !processes_in(&[relay.namespaces]).is_empty())
            || process_runs(self.owner_pid)
    }
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(STATE_FILE)
}

/// Creates the state file; fails with `AlreadyExists` if there is one.
pub(crate) fn create_new(state_dir: &Path, state: &FleetState) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path(state_dir))?;
    file.write_all(&to_json(state))
}

/// Replaces the state file.
pub(crate) fn write(state_dir: &Path, state: &FleetState) -> Result<(), LabError> {
    let target = path(state_dir);
    let temporary = state_dir.join(format!("{STATE_FILE}.new"));
    fs::write(&temporary, to_json(state)).map_err(LabError::io("cannot write", &temporary))?;
    fs::rename(&temporary, &target).map_err(LabError::io("cannot replace", &target))
}

/// Reads the state file; `None` if there is none.
pub(crate) fn read(state_dir: &Path) -> Result<Option<FleetState>, LabError> {
    let file = path(state_dir);
    let text = match fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LabError::io("cannot read", file)(e)),
    };
    let state: FleetState = serde_json::from_str(&text).map_err(|e| LabError::BadState {
        path: file.clone(),
        detail: e.to_string(),
    })?;
    if state.format != FORMAT {
        return Err(LabError::BadState {
            path: file,
            detail: format!(
                "format {} is not the format {FORMAT} this seibi writes",
                state.format
            ),
        });
    }
    Ok(Some(state))
}

fn to_json(state: &FleetState) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(state).unwrap_or_default();
    json.push(b'\n');
    json
}

/// Whether a process exists and is not a zombie.
fn process_runs(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_missing_one_does_not() {
        assert!(process_runs(std::process::id()));
        assert!(!process_runs(u32::MAX));
    }

    #[test]
    fn round_trips_through_json() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let state = FleetState::new(vec![HostState {
            name: "seibi-lab-01".into(),
            address: Ipv4Addr::new(127, 0, 1, 1),
            port: 22,
            pid: 42,
            namespaces: Namespaces { mnt: 1, uts: 2 },
        }]);
        create_new(dir.path(), &state).expect("created");
        assert_eq!(
            create_new(dir.path(), &state).map_err(|e| e.kind()),
            Err(io::ErrorKind::AlreadyExists)
        );
        let back = read(dir.path()).expect("readable").expect("present");
        assert_eq!(back.hosts[0].name, "seibi-lab-01");
        assert!(back.is_live(), "the owner (this test) runs");
    }
}
