//! The lab's WAN relay against real OpenSSH: a round trip over it costs the link's RTT and not
//! much more, a command pays it once per round trip, bytes pass exactly, a bandwidth limit
//! paces a bulk upload, closing either side closes the other, and `seibi lab up --rtt` puts
//! the relay where the inventory and `known_hosts` point and `seibi lab down` stops it. The
//! hosts listen on 127.0.150.x, relays of their own on 127.0.151.x. They need root; see
//! `common::lab::lab_available`.

mod common;

use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::lab::lab_available;
use seibi::lab::{Fleet, FleetSpec, Link, Relay, Route};

macro_rules! require_root {
    () => {
        if !lab_available() {
            return;
        }
    };
}

const RTT: Duration = Duration::from_millis(40);

fn state_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("seibi-lab-relay-")
        .tempdir()
        .expect("a temporary state directory")
}

/// One lab host on 127.0.150.`last`, reached directly.
fn one_host(dir: &Path, last: u8) -> Fleet {
    let mut spec = FleetSpec::new(1, dir);
    spec.base_address = Ipv4Addr::new(127, 0, 150, last);
    Fleet::start(spec).expect("the lab host starts")
}

/// A relay on 127.0.151.`last`:22 to the fleet's only host, and a `known_hosts` for it.
fn relay_to(fleet: &Fleet, last: u8, link: Link) -> (Relay, SocketAddr, PathBuf) {
    let host = &fleet.hosts()[0];
    let listen = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 151, last), 22));
    let relay = Relay::start(vec![Route {
        listen,
        target: host.socket_addr(),
        link,
    }])
    .expect("the relay starts");
    let known_hosts = fleet.state_dir().join(format!("known_hosts.relay{last}"));
    fs::write(
        &known_hosts,
        format!("127.0.151.{last} {}\n", host.public_key()),
    )
    .expect("known_hosts written");
    (relay, listen, known_hosts)
}

/// The OpenSSH client for `root@addr`, with the fleet's key and strict host-key checking.
fn ssh(key: &Path, known_hosts: &Path, addr: SocketAddr, command: &str) -> Command {
    common::lab::ssh_to(
        key,
        known_hosts,
        &format!("root@{}", addr.ip()),
        addr.port(),
        command,
    )
}

/// How long `ssh root@addr true` takes, the best of three (the machine is shared).
fn command_time(key: &Path, known_hosts: &Path, addr: SocketAddr) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let output = ssh(key, known_hosts, addr, "true")
                .stdin(Stdio::null())
                .output()
                .expect("ssh runs");
            assert!(
                output.status.success(),
                "ssh {addr} true: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            started.elapsed()
        })
        .min()
        .expect("three runs")
}

/// The duration of each of `rounds` line echoes over one SSH session.
fn echo_rounds(key: &Path, known_hosts: &Path, addr: SocketAddr, rounds: usize) -> Vec<Duration> {
    let mut child = ssh(
        key,
        known_hosts,
        addr,
        "echo ready; while read -r line; do echo \"$line\"; done",
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("ssh runs");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    output.read_line(&mut line).expect("the session starts");
    assert_eq!(line.trim(), "ready");
    let mut times = Vec::new();
    for round in 0..rounds {
        line.clear();
        let started = Instant::now();
        writeln!(input, "round {round}").expect("written");
        input.flush().expect("flushed");
        output.read_line(&mut line).expect("echoed");
        times.push(started.elapsed());
        assert_eq!(line.trim(), format!("round {round}"));
    }
    drop(input);
    let _ = child.wait();
    times
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

#[test]
fn every_round_trip_pays_the_rtt_and_not_much_more() {
    require_root!();
    let dir = state_dir();
    let fleet = one_host(dir.path(), 1);
    let (_direct, direct, direct_known) = relay_to(&fleet, 1, Link::default());
    let (_wan, wan, wan_known) = relay_to(&fleet, 2, Link::with_rtt(RTT));
    let key = fleet.client_key();

    let at_zero = echo_rounds(key, &direct_known, direct, 10);
    let at_rtt = echo_rounds(key, &wan_known, wan, 10);
    for (round, took) in at_rtt.iter().enumerate() {
        assert!(
            *took >= RTT,
            "round trip {round} took {took:?} over a {RTT:?} link"
        );
    }
    assert!(
        median(&at_zero) < Duration::from_millis(30),
        "a round trip through the relay without delay took {:?}",
        median(&at_zero)
    );
    assert!(
        median(&at_rtt) < RTT + Duration::from_millis(40),
        "a round trip over a {RTT:?} link took {:?} (median)",
        median(&at_rtt)
    );

    // A whole command (connection, key exchange, login, channel, exec) is several round trips
    // (OpenSSH: about nine): at least five, and not more than fifteen.
    let zero = command_time(key, &direct_known, direct);
    let slow = command_time(key, &wan_known, wan);
    let added = slow.saturating_sub(zero);
    assert!(
        slow >= RTT * 5,
        "`ssh true` over {RTT:?} took only {slow:?}"
    );
    assert!(
        added >= RTT * 5 && added <= RTT * 15 + Duration::from_millis(300),
        "`ssh true` took {zero:?} without delay and {slow:?} over {RTT:?}: {added:?} added"
    );
    eprintln!(
        "echo round trip: {:?} direct, {:?} over {RTT:?}; `ssh true`: {zero:?} and {slow:?} ({:.1} RTTs)",
        median(&at_zero),
        median(&at_rtt),
        added.as_secs_f64() / RTT.as_secs_f64()
    );
    fleet.stop().expect("stopped");
}

/// Bytes that are not the same in any two places, without a random number generator.
fn blob(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Runs `command` over ssh with `input` on its stdin (written from a thread, so that a
/// command that answers while it reads cannot deadlock) and returns its stdout.
fn run_with_input(mut command: Command, input: Vec<u8>) -> Vec<u8> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("ssh finishes");
    writer
        .join()
        .expect("writer")
        .expect("ssh read all its input");
    assert!(
        output.status.success(),
        "ssh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn a_large_binary_upload_round_trips_exactly_and_a_bandwidth_limit_paces_it() {
    require_root!();
    let dir = state_dir();
    let fleet = one_host(dir.path(), 3);
    let (_wan, wan, wan_known) = relay_to(&fleet, 3, Link::with_rtt(RTT));
    let key = fleet.client_key();

    let data = blob(8 * 1024 * 1024);
    let echoed = run_with_input(
        ssh(
            key,
            &wan_known,
            wan,
            "cat > /root/blob && sha256sum /root/blob",
        ),
        data.clone(),
    );
    let back = run_with_input(ssh(key, &wan_known, wan, "cat /root/blob"), Vec::new());
    assert_eq!(
        back.len(),
        data.len(),
        "the download has the upload's length"
    );
    assert!(back == data, "the 8 MiB came back changed or reordered");
    assert!(
        String::from_utf8_lossy(&echoed).ends_with(" /root/blob\n"),
        "{}",
        String::from_utf8_lossy(&echoed)
    );

    // 1 MiB at 8 Mbit/s (1 MB/s) takes at least a second; the same without a limit far less.
    let limited = Link {
        rtt: Duration::ZERO,
        bytes_per_second: Some(1_000_000),
    };
    let (_narrow, narrow, narrow_known) = relay_to(&fleet, 4, limited);
    let megabyte = blob(1024 * 1024);
    let started = Instant::now();
    let size = run_with_input(
        ssh(key, &narrow_known, narrow, "wc -c < /dev/stdin"),
        megabyte,
    );
    let took = started.elapsed();
    assert_eq!(String::from_utf8_lossy(&size).trim(), "1048576");
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_secs(8),
        "1 MiB over 8 Mbit/s took {took:?}"
    );
    fleet.stop().expect("stopped");
}

/// Established TCP connections whose local end is `addr` (the server's side), from
/// `/proc/net/tcp`.
fn established_at(addr: SocketAddr) -> usize {
    let table = fs::read_to_string("/proc/net/tcp").expect("procfs");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                return false;
            };
            let Some((ip, port)) = local.split_once(':') else {
                return false;
            };
            // The address is the raw network-order word printed as a native integer.
            let ip = u32::from_str_radix(ip, 16).map(|raw| Ipv4Addr::from(raw.to_ne_bytes()));
            let port = u16::from_str_radix(port, 16);
            *state == "01"
                && ip.is_ok_and(|ip| std::net::IpAddr::V4(ip) == addr.ip())
                && port.is_ok_and(|port| port == addr.port())
        })
        .count()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 5 s"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn session(key: &Path, known_hosts: &Path, addr: SocketAddr) -> Child {
    let mut child = ssh(key, known_hosts, addr, "echo up; sleep 60")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh runs");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("the session starts");
    assert_eq!(line.trim(), "up");
    child
}

#[test]
fn closing_either_side_closes_the_other() {
    require_root!();
    let dir = state_dir();
    let mut fleet = one_host(dir.path(), 5);
    let target = fleet.hosts()[0].socket_addr();
    let (relay, wan, wan_known) = relay_to(&fleet, 5, Link::with_rtt(RTT));
    let key = fleet.client_key().to_path_buf();

    // The client goes away (killed, so it says nothing to the server): the relay closes its
    // connection to sshd, and sshd's side of it ends.
    let mut client = session(&key, &wan_known, wan);
    assert_eq!(relay.open_connections(), 1);
    assert_eq!(established_at(target), 1, "sshd has the relay's connection");
    client.kill().expect("killed");
    let _ = client.wait();
    wait_for("the relay closing both sides", || {
        relay.open_connections() == 0 && established_at(target) == 0
    });

    // The server goes away (its connection processes killed, as a dropped link would): the
    // client sees its connection end, and ssh exits with 255.
    let mut client = session(&key, &wan_known, wan);
    let started = Instant::now();
    assert_eq!(fleet.drop_connections(0).expect("dropped"), 1);
    let status = client.wait().expect("ssh ends");
    assert_eq!(status.code(), Some(255), "ssh lost its connection");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ssh noticed after {:?}",
        started.elapsed()
    );
    wait_for("the relay forgetting the connection", || {
        relay.open_connections() == 0
    });

    // A plain TCP client that closes its side at once: the relay passes the end on and the
    // server's answer (its banner) still arrives, then the connection closes.
    let mut stream = TcpStream::connect(wan).expect("connects");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-closed");
    let mut answer = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .read_to_end(&mut answer)
        .expect("the server closes too");
    assert!(answer.starts_with(b"SSH-2.0-"), "{answer:?}");
    relay.stop();
    fleet.stop().expect("stopped");
}

/// `seibi lab up --rtt` with an override for one site: the inventory and `known_hosts` point
/// at the relay, each site's hosts pay their site's RTT, sshd logs channels (and nothing on the sessions' stderr), and
/// `seibi lab down` stops the relay process with the hosts.
#[test]
fn lab_up_with_rtt_puts_each_site_behind_its_link_and_lab_down_stops_it() {
    require_root!();
    let dir = state_dir();
    let state = dir.path();
    let output = Command::new(env!("CARGO_BIN_EXE_seibi"))
        .args(["lab", "up", "2", "--base-address", "127.0.150.20"])
        .args(["--site", "near", "--site", "far", "--rtt", "40ms"])
        .args(["--site-rtt", "far=120ms", "--sshd-log-level", "channels"])
        .arg("--state-dir")
        .arg(state)
        .output()
        .expect("seibi runs");
    assert!(
        output.status.success(),
        "lab up: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("WAN relay (40ms RTT; 120ms RTT)"),
        "{stdout}"
    );
    let inventory = fs::read_to_string(state.join("inventory.yml")).expect("inventory");
    assert!(
        inventory.contains("address: 127.0.150.21, port: 22,"),
        "{inventory}"
    );
    let known_hosts = state.join("known_hosts");
    assert!(
        fs::read_to_string(&known_hosts)
            .expect("known_hosts")
            .starts_with("127.0.150.20 ssh-ed25519 "),
        "known_hosts pins the address clients use"
    );
    let fleet_json = fs::read_to_string(state.join("fleet.json")).expect("fleet.json");
    let recorded: serde_json::Value = serde_json::from_str(&fleet_json).expect("json");
    let relay_pid = recorded["relay"]["pid"].as_u64().expect("the relay's pid");
    let relay_alive = || Path::new(&format!("/proc/{relay_pid}/ns")).exists();
    assert!(relay_alive());

    let key = state.join("client_key");
    let near: SocketAddr = "127.0.150.20:22".parse().expect("address");
    let far: SocketAddr = "127.0.150.21:22".parse().expect("address");
    let near_time = command_time(&key, &known_hosts, near);
    let far_time = command_time(&key, &known_hosts, far);
    assert!(near_time >= RTT * 5, "near: {near_time:?}");
    assert!(
        far_time >= Duration::from_millis(120) * 5,
        "far: {far_time:?}"
    );
    // sshd itself listens behind the relay, not where clients connect.
    assert!(TcpStream::connect("127.0.150.20:2022").is_ok());

    let log = fs::read_to_string(state.join("hosts/seibi-lab-01/host.log")).expect("host log");
    assert!(
        log.contains("): ctype session rchan") && log.contains("request exec reply 1"),
        "sshd logs channels and exec requests"
    );
    let quiet = ssh(&key, &known_hosts, near, "true")
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs");
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "the client sees nothing of sshd's log: {}",
        String::from_utf8_lossy(&quiet.stderr)
    );

    let down = Command::new(env!("CARGO_BIN_EXE_seibi"))
        .args(["lab", "down", "--state-dir"])
        .arg(state)
        .output()
        .expect("seibi runs");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    wait_for("the relay process ending", || !relay_alive());
    assert!(
        TcpStream::connect(near).is_err(),
        "nothing listens any more"
    );
    assert!(!state.join("relay.json").exists());
}
