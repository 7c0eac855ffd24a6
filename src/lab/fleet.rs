//! `Fleet`: a set of running lab hosts, started in parallel, recorded in the state directory,
//! and stopped on `stop`, on drop (also when a test panics) or from another process with
//! [`Fleet::stop_from_state`].

use std::fs;
use std::io::{self, BufRead as _};
use std::net::{SocketAddr, SocketAddrV4};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use super::host::{self, HostPlan, RunningHost};
use super::preflight::{self, Tools};
use super::process::{self, Namespaces};
use super::relay::{Relay, Route};
use super::spec::{OVERLAID_DIRS, check_state_dir};
use super::state::{self, FleetState, HostState, RelayState};
use super::{FleetSpec, LabError, LabHost, inventory};

const CLIENT_KEY: &str = "client_key";
const KNOWN_HOSTS: &str = "known_hosts";
const HOSTS_DIR: &str = "hosts";
/// The relay's routes, for the relay process of a detached fleet (`seibi lab relay`).
const RELAY_ROUTES: &str = "relay.json";
/// The relay process's stderr.
const RELAY_LOG: &str = "relay.log";

/// A running fleet of lab hosts. Dropping it stops every host.
#[derive(Debug)]
pub struct Fleet {
    state_dir: PathBuf,
    spec: FleetSpec,
    tools: Tools,
    hosts: Vec<LabHost>,
    client_key: PathBuf,
    known_hosts: PathBuf,
    slots: Vec<Slot>,
    /// The WAN relay in front of the hosts, in this process (see [`FleetSpec::links`]).
    relay: Option<Relay>,
    /// The relay moved to a process of its own by [`Fleet::detach`].
    relay_process: Option<RelayState>,
    /// Set once the hosts are stopped or handed over, so that drop leaves them alone.
    released: bool,
}

/// One host's plan and, while it runs, its process.
#[derive(Debug)]
struct Slot {
    plan: HostPlan,
    running: Option<RunningHost>,
}

impl Fleet {
    /// Starts `spec.hosts` hosts in parallel and returns once each answers the SSH banner.
    ///
    /// Refuses if a live fleet is recorded in the state directory. A recorded fleet whose hosts
    /// and owner are all gone (its process was killed) is cleaned up and replaced. If any host
    /// fails to start, the others are stopped again and the first failure is returned, with the
    /// end of that host's log.
    pub fn start(spec: FleetSpec) -> Result<Fleet, LabError> {
        spec.validate()?;
        let tools = preflight::check_machine()?;
        if !spec.sudo_accounts.is_empty() {
            preflight::check_sudo()?;
        }
        if spec.state_dir.is_absolute() {
            // Before creating it: a directory under /etc must not even be made.
            check_state_dir(&spec.state_dir)?;
        }
        fs::create_dir_all(&spec.state_dir)
            .map_err(LabError::io("cannot create", &spec.state_dir))?;
        let state_dir = fs::canonicalize(&spec.state_dir)
            .map_err(LabError::io("cannot resolve", &spec.state_dir))?;
        check_state_dir(&state_dir)?;
        claim(&state_dir)?;
        // From here on, dropping `fleet` on an early return stops whatever started and removes
        // the claim.
        let mut fleet = Fleet {
            slots: (0..spec.hosts)
                .map(|index| Slot {
                    plan: HostPlan {
                        name: spec.host_name(index),
                        address: spec.host_address(index),
                        port: spec.listen_port(),
                        client_port: spec.port,
                        log_level: spec.sshd_log_level,
                        password_login: spec.password_login,
                        accounts: spec.all_accounts(),
                        sudo_accounts: spec.sudo_accounts.clone(),
                        dir: state_dir.join(HOSTS_DIR).join(spec.host_name(index)),
                    },
                    running: None,
                })
                .collect(),
            client_key: state_dir.join(CLIENT_KEY),
            known_hosts: state_dir.join(KNOWN_HOSTS),
            state_dir,
            spec,
            tools,
            hosts: Vec::new(),
            relay: None,
            relay_process: None,
            released: false,
        };
        preflight::check_overlay(&fleet.state_dir.join("overlay-probe"))?;
        prepare_machine()?;
        host::generate_key(&fleet.client_key, "seibi-lab-client")?;
        let client_public = fleet.client_key.with_extension("pub");
        let client_public = fs::read_to_string(&client_public)
            .map_err(LabError::io("cannot read", &client_public))?;

        let mut described: Vec<Option<LabHost>> = vec![None; fleet.slots.len()];
        let mut first_error: Option<(usize, LabError)> = None;
        let running = thread::scope(|scope| {
            let (sender, receiver) = mpsc::channel();
            for (index, slot) in fleet.slots.iter().enumerate() {
                let sender = sender.clone();
                let (plan, tools, client_public) = (&slot.plan, &fleet.tools, &client_public);
                let timeout = fleet.spec.start_timeout;
                scope.spawn(move || {
                    let started = plan.prepare(client_public).and_then(|()| {
                        let running = plan.launch(tools, timeout)?;
                        match plan.describe() {
                            Ok(host) => Ok((host, running)),
                            Err(e) => {
                                // The describe error says more than a failed stop would.
                                let _ = stop_running(running);
                                Err(e)
                            }
                        }
                    });
                    // The receiver outlives every sender; a failed send cannot happen.
                    let _ = sender.send((index, started));
                });
            }
            drop(sender);
            // This thread alone records hosts, in the order they come up, so that a crash
            // mid-start still leaves every running host in the state file.
            let mut running = Vec::new();
            for (index, started) in receiver {
                match started {
                    Ok((host, process)) => {
                        described[index] = Some(host);
                        running.push((index, process));
                        if let Err(e) = save_state(&fleet.slots, &running, None, &fleet.state_dir) {
                            first_error.get_or_insert((index, e));
                        }
                    }
                    Err(e) => {
                        if first_error.as_ref().is_none_or(|(first, _)| index < *first) {
                            first_error = Some((index, e));
                        }
                    }
                }
            }
            running
        });
        for (index, process) in running {
            fleet.slots[index].running = Some(process);
        }
        if let Some((_, error)) = first_error {
            return Err(error);
        }
        fleet.hosts = described.into_iter().flatten().collect();
        if fleet.spec.relayed() {
            let routes = fleet.routes();
            fleet.relay = Some(Relay::start(routes)?);
        }
        fleet.save()?;
        fleet.write_known_hosts(&fleet.known_hosts)?;
        Ok(fleet)
    }

    /// Stops a fleet recorded in `state_dir`, typically started by `seibi lab up` in another
    /// process, and removes its files. Returns how many hosts were still running.
    pub fn stop_from_state(state_dir: &Path) -> Result<usize, LabError> {
        let not_recorded = || LabError::NotRecorded {
            state_dir: state_dir.to_path_buf(),
        };
        let state_dir = fs::canonicalize(state_dir).map_err(|_| not_recorded())?;
        let state = state::read(&state_dir)?.ok_or_else(not_recorded)?;
        let running = state.running_hosts();
        process::terminate(&state.namespaces())?;
        remove_files(&state_dir)?;
        Ok(running)
    }

    /// The hosts, in order, with the host keys they were started with (see
    /// [`Fleet::replace_host_key`] for the one exception).
    pub fn hosts(&self) -> &[LabHost] {
        &self.hosts
    }

    /// The fleet's state directory (canonical).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The WAN relay in front of the hosts, while this process runs it (see
    /// [`FleetSpec::links`]).
    pub fn relay(&self) -> Option<&Relay> {
        self.relay.as_ref()
    }

    /// The ed25519 private key (OpenSSH format, no passphrase) that every host accepts for
    /// root. Its public half is next to it with `.pub`.
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// An OpenSSH `known_hosts` file with every host's key as it was at start. It is not
    /// rewritten when a host key is replaced: it is what an operator knew before.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// Writes a `known_hosts` file with the hosts' current keys.
    pub fn write_known_hosts(&self, path: &Path) -> Result<(), LabError> {
        let lines: String = self
            .hosts
            .iter()
            .map(|host| host.known_hosts_line() + "\n")
            .collect();
        host::write(path, &lines)
    }

    /// Writes a seibi inventory (YAML) listing the hosts as terminals of `sites`, spread in
    /// contiguous balanced blocks.
    pub fn write_inventory(&self, path: &Path, sites: &[&str]) -> Result<(), LabError> {
        host::write(path, &inventory::render(&self.hosts, sites)?)
    }

    /// Stops one host (its sshd, its sessions and whatever they started); the others go on.
    /// Its files and overlay layers stay, so [`Fleet::restart_host`] brings it back as it was.
    pub fn kill_host(&mut self, index: usize) -> Result<(), LabError> {
        let slot = self.slot(index)?;
        if let Some(running) = slot.running.take() {
            let outcome = stop_running(running);
            self.save()?;
            outcome?;
        }
        Ok(())
    }

    /// Drops every SSH connection to one host, as a network failure would: its sshd's
    /// per-connection processes are killed (SIGKILL), while its listener and the commands the
    /// sessions started go on running. Returns how many connections were dropped.
    pub fn drop_connections(&mut self, index: usize) -> Result<usize, LabError> {
        let slot = self.slot(index)?;
        let Some(running) = &slot.running else {
            return Ok(0);
        };
        let listener = running.child.id();
        let mut dropped = 0;
        for pid in process::children_of(listener) {
            if process::kill(pid) {
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// Starts a host again (stopping it first if it runs), keeping its files, keys and
    /// changes: like a reboot.
    pub fn restart_host(&mut self, index: usize) -> Result<(), LabError> {
        self.kill_host(index)?;
        let running = self.slots[index]
            .plan
            .launch(&self.tools, self.spec.start_timeout)?;
        self.slots[index].running = Some(running);
        self.save()
    }

    /// Gives one host a new host key and restarts it: clients that knew the old key now see a
    /// changed host key. [`Fleet::hosts`] reports the new key afterwards; [`Fleet::known_hosts`]
    /// keeps the old one.
    pub fn replace_host_key(&mut self, index: usize) -> Result<&LabHost, LabError> {
        self.kill_host(index)?;
        let plan = &self.slots[index].plan;
        plan.generate_host_key()?;
        self.hosts[index] = plan.describe()?;
        self.restart_host(index)?;
        Ok(&self.hosts[index])
    }

    /// Stops every host and removes the fleet's files from the state directory.
    pub fn stop(mut self) -> Result<(), LabError> {
        self.released = true;
        self.stop_all()
    }

    /// Leaves the hosts running after this value is gone (for `seibi lab up`) and returns the
    /// state directory that [`Fleet::stop_from_state`] needs to stop them.
    ///
    /// A fleet with a relay hands it to a process of its own that outlives this one: the
    /// current executable run as `seibi lab relay --state-dir DIR`, so only the `seibi` binary
    /// can detach such a fleet. If that fails, the fleet is stopped and the error returned.
    pub fn detach(mut self) -> Result<PathBuf, LabError> {
        if let Some(relay) = self.relay.take() {
            relay.stop();
            let routes = self.routes();
            self.relay_process = Some(spawn_relay_process(&self.state_dir, &routes)?);
            self.save()?;
        }
        self.released = true;
        Ok(self.state_dir.clone())
    }

    /// The relay's routes: each host's address and client port to its sshd.
    fn routes(&self) -> Vec<Route> {
        self.slots
            .iter()
            .zip(&self.spec.links)
            .map(|(slot, link)| Route {
                listen: SocketAddr::V4(SocketAddrV4::new(slot.plan.address, self.spec.port)),
                target: SocketAddr::V4(SocketAddrV4::new(slot.plan.address, slot.plan.port)),
                link: *link,
            })
            .collect()
    }

    /// Runs the relay of a detached fleet in this process until it is killed (`seibi lab
    /// relay`, started by [`Fleet::detach`]); prints `ready` on stdout once it listens.
    pub fn serve_relay(state_dir: &Path) -> Result<(), LabError> {
        let path = state_dir.join(RELAY_ROUTES);
        let text = fs::read_to_string(&path).map_err(LabError::io("cannot read", &path))?;
        let routes: Vec<Route> = serde_json::from_str(&text).map_err(|e| LabError::BadState {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        Relay::serve_forever(routes, || {
            use std::io::Write as _;
            let mut out = io::stdout();
            let _ = writeln!(out, "ready");
            let _ = out.flush();
        })
    }

    fn slot(&mut self, index: usize) -> Result<&mut Slot, LabError> {
        let hosts = self.slots.len();
        self.slots
            .get_mut(index)
            .ok_or(LabError::NoSuchHost { index, hosts })
    }

    fn stop_all(&mut self) -> Result<(), LabError> {
        if let Some(relay) = self.relay.take() {
            relay.stop();
        }
        let namespaces: Vec<Namespaces> = self
            .slots
            .iter()
            .filter_map(|slot| slot.running.as_ref().map(|r| r.namespaces))
            .chain(self.relay_process.take().map(|relay| relay.namespaces))
            .collect();
        let outcome = process::terminate(&namespaces);
        for slot in &mut self.slots {
            if let Some(mut running) = slot.running.take() {
                // Reap the listener (a zombie by now, or killed here if terminate failed).
                let _ = running.child.kill();
                let _ = running.child.wait();
            }
        }
        outcome?;
        remove_files(&self.state_dir)
    }

    fn save(&self) -> Result<(), LabError> {
        let running: Vec<(usize, &RunningHost)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| Some((index, slot.running.as_ref()?)))
            .collect();
        save_state(&self.slots, &running, self.relay_process, &self.state_dir)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if !self.released {
            self.released = true;
            if let Err(e) = self.stop_all() {
                // Drop has no caller to return to; a leftover host must not go unnoticed.
                eprintln!(
                    "seibi lab: stopping the fleet in {}: {e}",
                    self.state_dir.display()
                );
            }
        }
    }
}

/// Records the running hosts in the state file.
fn save_state<R: std::borrow::Borrow<RunningHost>>(
    slots: &[Slot],
    running: &[(usize, R)],
    relay: Option<RelayState>,
    state_dir: &Path,
) -> Result<(), LabError> {
    let mut hosts: Vec<HostState> = running
        .iter()
        .map(|(index, process)| {
            let plan = &slots[*index].plan;
            let process = process.borrow();
            HostState {
                name: plan.name.clone(),
                address: plan.address,
                port: plan.port,
                pid: process.child.id(),
                namespaces: process.namespaces,
            }
        })
        .collect();
    hosts.sort_by_key(|host| host.address);
    let mut state = FleetState::new(hosts);
    state.relay = relay;
    state::write(state_dir, &state)
}

/// Starts `seibi lab relay` (this executable) for `routes` in mount and UTS namespaces of its
/// own, as hosts run, so that `seibi lab down` finds it by them; returns once it listens.
fn spawn_relay_process(state_dir: &Path, routes: &[Route]) -> Result<RelayState, LabError> {
    let routes_file = state_dir.join(RELAY_ROUTES);
    let json = serde_json::to_string_pretty(routes)
        .map_err(|e| LabError::Relay(format!("cannot write its routes: {e}")))?;
    host::write(&routes_file, &json)?;
    let program = std::env::current_exe()
        .map_err(|e| LabError::Relay(format!("cannot find this program to run it: {e}")))?;
    let log_path = state_dir.join(RELAY_LOG);
    let log = fs::File::create(&log_path).map_err(LabError::io("cannot create", &log_path))?;
    let mut child = Command::new("unshare")
        .args(["--mount", "--uts", "--propagation", "private", "--"])
        .arg(&program)
        .args(["lab", "relay", "--state-dir"])
        .arg(state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        // Its own process group: a Ctrl-C meant for `seibi lab up` must not reach it.
        .process_group(0)
        .spawn()
        .map_err(|e| LabError::Relay(format!("cannot run {}: {e}", program.display())))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        // `ready`, or nothing when it failed (its reason is in the log).
        let _ = io::BufReader::new(stdout).read_line(&mut line);
    }
    let failed = |reason: String| {
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        LabError::Relay(format!("{reason}: {}", log.trim()))
    };
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(failed("the relay process did not start".into()));
    }
    let pid = child.id();
    match process::Namespaces::of(pid).filter(|ns| !ns.is_machine_wide()) {
        Some(namespaces) => Ok(RelayState { pid, namespaces }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(failed(
                "the relay process runs outside namespaces of its own".into(),
            ))
        }
    }
}

/// Stops one host's processes and reaps its listener.
fn stop_running(mut running: RunningHost) -> Result<(), LabError> {
    let outcome = process::terminate(&[running.namespaces]);
    let _ = running.child.kill();
    let _ = running.child.wait();
    outcome
}

/// Takes the state directory for a new fleet: creates the state file, or replaces a stale one.
fn claim(state_dir: &Path) -> Result<(), LabError> {
    let empty = FleetState::new(Vec::new());
    match state::create_new(state_dir, &empty) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            return Err(LabError::io("cannot create", state::path(state_dir))(e));
        }
        Err(_) => {}
    }
    let recorded = state::read(state_dir)?;
    if recorded.as_ref().is_some_and(FleetState::is_live) {
        return Err(LabError::AlreadyRunning {
            state_dir: state_dir.to_path_buf(),
        });
    }
    // Everything recorded is gone (its owner was killed before it could clean up).
    remove_files(state_dir)?;
    state::create_new(state_dir, &empty).map_err(|e| match e.kind() {
        // Another `seibi lab up` claimed it in between.
        io::ErrorKind::AlreadyExists => LabError::AlreadyRunning {
            state_dir: state_dir.to_path_buf(),
        },
        _ => LabError::io("cannot create", state::path(state_dir))(e),
    })
}

/// What every host needs from the real machine: sshd's privilege separation directory (which
/// Debian makes only at boot through systemd) and the directories to overlay.
fn prepare_machine() -> Result<(), LabError> {
    let privsep = Path::new("/run/sshd");
    fs::create_dir_all(privsep).map_err(LabError::io("cannot create", privsep))?;
    for dir in OVERLAID_DIRS {
        fs::create_dir_all(dir).map_err(LabError::io("cannot create", *dir))?;
    }
    Ok(())
}

/// Removes what a fleet wrote to its state directory (not the directory itself, which may be
/// the user's). The state file goes last: while it exists the directory stays claimed.
fn remove_files(state_dir: &Path) -> Result<(), LabError> {
    let hosts = state_dir.join(HOSTS_DIR);
    if let Err(e) = fs::remove_dir_all(&hosts)
        && e.kind() != io::ErrorKind::NotFound
    {
        return Err(LabError::io("cannot remove", hosts)(e));
    }
    let client_key = state_dir.join(CLIENT_KEY);
    for file in [
        client_key.with_extension("pub"),
        client_key,
        state_dir.join(KNOWN_HOSTS),
        state_dir.join(RELAY_ROUTES),
        state_dir.join(RELAY_LOG),
        state::path(state_dir),
    ] {
        if let Err(e) = fs::remove_file(&file)
            && e.kind() != io::ErrorKind::NotFound
        {
            return Err(LabError::io("cannot remove", file)(e));
        }
    }
    Ok(())
}
