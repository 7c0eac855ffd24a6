//! `Relay`: a TCP relay between clients and the lab hosts' sshd that makes the path look like a
//! WAN link to a ward office: a one-way delay in each direction (so a round trip costs
//! [`Link::rtt`]) and optionally a bandwidth limit. The kernel here has no `netem`, so the
//! delay is added in user space.
//!
//! Each direction of a relayed connection is a delay queue, not a sleep per chunk: a chunk is
//! stamped with the time it was read (plus, with a bandwidth limit, the time it waits for and
//! takes on the link) and written out at that time plus the one-way delay, while the next
//! chunks are already being read. Throughput is therefore limited by the bandwidth (or the
//! queue's size per round trip), not by one delay per chunk; bytes keep their order. The
//! server sees a new connection one one-way delay after the client opened it (the SYN crossing
//! the link), so a connection's first answer costs a full round trip as on a real network. An
//! end of stream crosses the link like data; an error on either side (a reset, a killed
//! process) closes both sides at once.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::LabError;

/// How much one read takes from a socket at most.
const CHUNK: usize = 16 * 1024;

/// How many chunks one direction of a connection holds in flight before it stops reading
/// (TCP's window then holds the sender back). 1024 chunks per round trip lets even small SSH
/// packets flow at tens of thousands per second over a 40 ms round trip.
const QUEUE_CHUNKS: usize = 1024;

/// The longest round trip a link may have; longer ones are mistakes (`20s` for `20ms`).
const MAX_RTT: Duration = Duration::from_secs(10);

/// What the path to one host looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The round-trip time the relay adds: half of it in each direction.
    #[serde(with = "micros")]
    pub rtt: Duration,
    /// The link's capacity in each direction, in bytes per second; `None`: unlimited.
    pub bytes_per_second: Option<u64>,
}

impl Link {
    /// A link that adds `rtt` and no bandwidth limit.
    pub fn with_rtt(rtt: Duration) -> Link {
        Link {
            rtt,
            bytes_per_second: None,
        }
    }

    /// The delay each direction adds.
    pub fn one_way(&self) -> Duration {
        self.rtt / 2
    }

    /// Checks that the link can be emulated.
    pub(crate) fn validate(&self) -> Result<(), LabError> {
        if self.rtt > MAX_RTT {
            return Err(LabError::InvalidSpec(format!(
                "a round-trip time of {:?} is longer than the {MAX_RTT:?} a lab link may add",
                self.rtt
            )));
        }
        if self.bytes_per_second == Some(0) {
            return Err(LabError::InvalidSpec(
                "a bandwidth of 0 would carry nothing".into(),
            ));
        }
        Ok(())
    }

    /// How long `bytes` occupy the link.
    fn transmission(&self, bytes: usize) -> Duration {
        match self.bytes_per_second {
            Some(rate) => Duration::from_secs_f64(bytes as f64 / rate as f64),
            None => Duration::ZERO,
        }
    }
}

/// The WAN a fleet rehearses, as `seibi lab up` and `lab mirror` take it: a link for every
/// host, with overrides per site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wan {
    /// The round-trip time to every host (default 0 once anything is set).
    pub rtt: Option<Duration>,
    /// Every host's bandwidth, bytes per second (default unlimited).
    pub bandwidth: Option<u64>,
    /// The round-trip time to the hosts of a site, over `rtt`.
    pub site_rtt: BTreeMap<String, Duration>,
    /// The bandwidth to the hosts of a site, over `bandwidth`.
    pub site_bandwidth: BTreeMap<String, u64>,
}

impl Wan {
    /// Whether nothing is set: the hosts are reached directly, without a relay.
    pub fn is_empty(&self) -> bool {
        self.rtt.is_none()
            && self.bandwidth.is_none()
            && self.site_rtt.is_empty()
            && self.site_bandwidth.is_empty()
    }

    /// The link to each host, given the site of each; empty when [`Wan::is_empty`]. A site
    /// named here that no host is in is refused (with the closest name as a hint).
    pub fn links(&self, host_sites: &[&str]) -> Result<Vec<Link>, LabError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        for site in self.site_rtt.keys().chain(self.site_bandwidth.keys()) {
            if !host_sites.contains(&site.as_str()) {
                let mut known: Vec<&str> = host_sites.to_vec();
                known.sort_unstable();
                known.dedup();
                let hint = match crate::source::closest(site, known.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("the hosts' sites are {}", known.join(", ")),
                };
                return Err(LabError::InvalidSpec(format!(
                    "no lab host is in site `{site}`\nhint: {hint}"
                )));
            }
        }
        let links: Vec<Link> = host_sites
            .iter()
            .map(|site| Link {
                rtt: self
                    .site_rtt
                    .get(*site)
                    .copied()
                    .or(self.rtt)
                    .unwrap_or_default(),
                bytes_per_second: self.site_bandwidth.get(*site).copied().or(self.bandwidth),
            })
            .collect();
        for link in &links {
            link.validate()?;
        }
        Ok(links)
    }
}

/// One relayed path: connections to `listen` go to `target` over `link`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Where the relay connects for them (a host's sshd).
    pub target: SocketAddr,
    /// What lies between.
    pub link: Link,
}

/// A running relay; dropping it (or [`Relay::stop`]) closes its listeners and every connection
/// it relays.
#[derive(Debug)]
pub struct Relay {
    routes: Vec<Route>,
    open: Arc<AtomicUsize>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Relay {
    /// Listens on every route's address (all bound before this returns, so a taken address is
    /// an error here) and relays in a thread of its own until stopped.
    pub fn start(routes: Vec<Route>) -> Result<Relay, LabError> {
        let listeners = bind(&routes)?;
        let open = Arc::new(AtomicUsize::new(0));
        let (shutdown, stopped) = watch::channel(false);
        let runtime = runtime()?;
        let counter = Arc::clone(&open);
        let served = routes.clone();
        let thread = thread::Builder::new()
            .name("seibi-lab-relay".into())
            .spawn(move || runtime.block_on(serve(listeners, served, counter, stopped)))
            .map_err(|e| LabError::Relay(format!("cannot start the relay thread: {e}")))?;
        Ok(Relay {
            routes,
            open,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Listens on every route's address, calls `ready` once all are bound, then relays until
    /// the process ends (`seibi lab relay`, which keeps a detached fleet's links up).
    pub fn serve_forever(routes: Vec<Route>, ready: impl FnOnce()) -> Result<(), LabError> {
        let listeners = bind(&routes)?;
        let runtime = runtime()?;
        ready();
        let (_keep, stopped) = watch::channel(false);
        runtime.block_on(serve(
            listeners,
            routes,
            Arc::new(AtomicUsize::new(0)),
            stopped,
        ));
        Ok(())
    }

    /// The routes it relays.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// How many connections it relays right now (a connection counts until both of its sides
    /// are closed).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Closes the listeners and every relayed connection.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            // A panic in the relay thread has printed itself; there is nothing to add.
            let _ = thread.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Binds every route's listening address, blocking-mode sockets for now (tokio takes them over
/// inside its runtime).
fn bind(routes: &[Route]) -> Result<Vec<StdListener>, LabError> {
    routes
        .iter()
        .map(|route| {
            route.link.validate()?;
            let listener = StdListener::bind(route.listen)
                .map_err(|e| LabError::Relay(format!("cannot listen on {}: {e}", route.listen)))?;
            listener
                .set_nonblocking(true)
                .map_err(|e| LabError::Relay(format!("{}: {e}", route.listen)))?;
            Ok(listener)
        })
        .collect()
}

fn runtime() -> Result<tokio::runtime::Runtime, LabError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("seibi-lab-relay")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| LabError::Relay(format!("cannot start the relay's runtime: {e}")))
}

/// Accepts on every listener until `stopped` turns true (or its sender is gone); then every
/// connection task is dropped with the runtime's tasks, which closes their sockets.
async fn serve(
    listeners: Vec<StdListener>,
    routes: Vec<Route>,
    open: Arc<AtomicUsize>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, route) in listeners.into_iter().zip(routes) {
        let open = Arc::clone(&open);
        tasks.spawn(async move {
            let listener = match TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => {
                    eprintln!("seibi lab relay: {}: {e}", route.listen);
                    return;
                }
            };
            accept(listener, route, open).await;
        });
    }
    // Wait for the stop signal; a dropped sender (the process keeps `_keep`) also ends here.
    while !*stopped.borrow() {
        if stopped.changed().await.is_err() {
            break;
        }
    }
    tasks.shutdown().await;
}

async fn accept(listener: TcpListener, route: Route, open: Arc<AtomicUsize>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let open = Arc::clone(&open);
                    open.fetch_add(1, Ordering::SeqCst);
                    connections.spawn(async move {
                        let _counted = Counted(open);
                        relay_connection(client, route.target, route.link).await;
                    });
                }
                // Out of file descriptors and the like: try again shortly rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            // Reap finished connections so that the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Decrements the open-connection count when a connection's task ends or is dropped.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Relays one client connection to `target` until both directions have ended, or until either
/// fails, which drops (closes) both sockets.
async fn relay_connection(client: TcpStream, target: SocketAddr, link: Link) {
    // Both ends flush every write at once: Nagle's algorithm against the peer's delayed
    // acknowledgements would add up to 40 ms per round trip of its own.
    let _ = client.set_nodelay(true);
    // The connection reaches the server after crossing the link once.
    tokio::time::sleep(link.one_way()).await;
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let _ = tokio::try_join!(
        direction(client_read, server_write, link),
        direction(server_read, client_write, link),
    );
}

/// What crosses the link in one direction, with the time it arrives at the far end.
enum Arrival {
    Data(Instant, Vec<u8>),
    End(Instant),
}

/// One direction: a reader that stamps each chunk with its arrival time and a writer that
/// delivers it then. Returns when the end of stream has been delivered (the far side's write
/// half shut down); an error on either side returns at once.
async fn direction(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    link: Link,
) -> std::io::Result<()> {
    let (queue, mut arrivals) = mpsc::channel::<Arrival>(QUEUE_CHUNKS);
    let read = async move {
        let mut buffer = vec![0u8; CHUNK];
        // When the link is next free to send (bandwidth limit only).
        let mut link_free = Instant::now();
        loop {
            let read = from.read(&mut buffer).await?;
            let now = Instant::now();
            let sent = if read == 0 {
                now.max(link_free)
            } else {
                link_free = now.max(link_free) + link.transmission(read);
                link_free
            };
            let arrival = sent + link.one_way();
            let item = if read == 0 {
                Arrival::End(arrival)
            } else {
                Arrival::Data(arrival, buffer[..read].to_vec())
            };
            let end = read == 0;
            if queue.send(item).await.is_err() || end {
                return Ok::<(), std::io::Error>(());
            }
        }
    };
    let write = async move {
        while let Some(item) = arrivals.recv().await {
            match item {
                Arrival::Data(at, bytes) => {
                    tokio::time::sleep_until(at).await;
                    to.write_all(&bytes).await?;
                }
                Arrival::End(at) => {
                    tokio::time::sleep_until(at).await;
                    to.shutdown().await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    };
    tokio::try_join!(read, write).map(drop)
}

/// Reads a round-trip time as people write it: `20ms`, `0.5s`, `250us`, or `0`.
pub fn parse_rtt(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?} needs a unit: e.g. 20ms, 0.5s, 250us"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: e.g. 20ms, 0.5s, 250us"))?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: s, ms or us (e.g. 20ms)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| *d <= MAX_RTT)
        .ok_or_else(|| format!("{text:?} is not a round-trip time of at most {MAX_RTT:?}"))
}

/// Reads a bandwidth as network people write it, in bits per second: `10mbit`, `512kbit`,
/// `1gbit`; returns bytes per second.
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?} needs a unit: e.g. 10mbit, 512kbit, 1gbit"))?;
    let (number, unit) = lower.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a bandwidth: e.g. 10mbit"))?;
    let bits = match unit {
        "kbit" => value * 1e3,
        "mbit" => value * 1e6,
        "gbit" => value * 1e9,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: kbit, mbit or gbit (bits per second)"
            ));
        }
    };
    let bytes = (bits / 8.0).round();
    if bytes < 1.0 || !bytes.is_finite() {
        return Err(format!("{text:?} is not a usable bandwidth"));
    }
    // In range: finite and at least 1; f64 -> u64 saturates above u64::MAX.
    Ok(bytes as u64)
}

/// A `Duration` in `relay.json` as whole microseconds.
mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_round_trip_times() {
        assert_eq!(parse_rtt("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_rtt("0"), Ok(Duration::ZERO));
        assert_eq!(parse_rtt("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_rtt("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_rtt("250us"), Ok(Duration::from_micros(250)));
        assert!(
            parse_rtt("20")
                .expect_err("refused")
                .contains("needs a unit")
        );
        assert!(
            parse_rtt("20min")
                .expect_err("refused")
                .contains("unknown unit")
        );
        assert!(parse_rtt("ms").is_err());
        assert!(parse_rtt("11s").expect_err("refused").contains("at most"));
    }

    #[test]
    fn reads_bandwidths_in_bits() {
        assert_eq!(parse_bandwidth("8mbit"), Ok(1_000_000));
        assert_eq!(parse_bandwidth("512kbit"), Ok(64_000));
        assert_eq!(parse_bandwidth("1Gbit"), Ok(125_000_000));
        assert!(
            parse_bandwidth("10MB")
                .expect_err("refused")
                .contains("unknown unit")
        );
        assert!(parse_bandwidth("0mbit").is_err());
    }

    #[test]
    fn a_wan_gives_each_host_its_sites_link() {
        let ms = Duration::from_millis;
        assert!(Wan::default().links(&["a", "b"]).expect("empty").is_empty());
        let wan = Wan {
            rtt: Some(ms(20)),
            site_rtt: [("kita".to_owned(), ms(80))].into(),
            site_bandwidth: [("kita".to_owned(), 1_000)].into(),
            ..Wan::default()
        };
        let links = wan.links(&["chuo", "kita", "kita"]).expect("links");
        assert_eq!(links[0], Link::with_rtt(ms(20)));
        assert_eq!(links[2].rtt, ms(80));
        assert_eq!(links[2].bytes_per_second, Some(1_000));
        let error = wan
            .links(&["chuo", "kta"])
            .expect_err("kita is not a site here");
        assert!(error.to_string().contains("did you mean `kta`?"), "{error}");
        let bandwidth_only = Wan {
            bandwidth: Some(5),
            ..Wan::default()
        };
        assert_eq!(
            bandwidth_only.links(&["a"]).expect("links")[0],
            Link {
                rtt: Duration::ZERO,
                bytes_per_second: Some(5)
            }
        );
    }

    #[test]
    fn links_are_checked() {
        assert!(Link::with_rtt(Duration::from_millis(20)).validate().is_ok());
        assert!(Link::with_rtt(Duration::from_secs(60)).validate().is_err());
        let silent = Link {
            rtt: Duration::ZERO,
            bytes_per_second: Some(0),
        };
        assert!(silent.validate().is_err());
    }

    /// The delay queue against a plain echo server on loopback: every round trip takes the
    /// link's RTT, bytes keep their order, and the relay adds one delay, not one per chunk.
    #[test]
    fn round_trips_take_the_rtt_and_bytes_keep_their_order() {
        use std::io::{Read as _, Write as _};
        let echo = StdListener::bind("127.0.0.1:0").expect("a free port");
        let target = echo.local_addr().expect("bound");
        thread::spawn(move || {
            for stream in echo.incoming().flatten() {
                thread::spawn(move || {
                    let mut reader = stream.try_clone().expect("clone");
                    let mut writer = stream;
                    let _ = std::io::copy(&mut reader, &mut writer);
                });
            }
        });
        let listen = StdListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("bound");
        let rtt = Duration::from_millis(40);
        let relay = Relay::start(vec![Route {
            listen,
            target,
            link: Link::with_rtt(rtt),
        }])
        .expect("relay starts");
        let mut stream = std::net::TcpStream::connect(listen).expect("connects");
        stream.set_nodelay(true).expect("nodelay");
        let mut byte = [0u8; 1];
        for i in 0..5u8 {
            let started = std::time::Instant::now();
            stream.write_all(&[i]).expect("written");
            stream.read_exact(&mut byte).expect("echoed");
            assert_eq!(byte[0], i);
            let took = started.elapsed();
            assert!(
                took >= rtt,
                "round trip {i} took {took:?}, less than {rtt:?}"
            );
        }
        // 1 MiB in 64 writes: with a sleep per chunk it would take 64 x 40 ms or more.
        let data: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        let mut writer = stream.try_clone().expect("clone");
        let sent = data.clone();
        let started = std::time::Instant::now();
        let sender = thread::spawn(move || {
            for chunk in sent.chunks(16 * 1024) {
                writer.write_all(chunk).expect("written");
            }
        });
        let mut back = vec![0u8; data.len()];
        stream.read_exact(&mut back).expect("echoed");
        sender.join().expect("sender");
        assert!(back == data, "the bytes came back changed or reordered");
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "1 MiB took {took:?} through a 40 ms link"
        );
        assert_eq!(relay.open_connections(), 1);
        drop(stream);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while relay.open_connections() > 0 && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            relay.open_connections(),
            0,
            "closing the client closes the relayed connection"
        );
        relay.stop();
    }

    #[test]
    fn a_bandwidth_limit_paces_a_bulk_transfer() {
        use std::io::{Read as _, Write as _};
        let sink = StdListener::bind("127.0.0.1:0").expect("a free port");
        let target = sink.local_addr().expect("bound");
        let counter = thread::spawn(move || {
            let (mut stream, _) = sink.accept().expect("a connection");
            let mut all = Vec::new();
            stream.read_to_end(&mut all).expect("read");
            all.len()
        });
        let listen = StdListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("bound");
        let relay = Relay::start(vec![Route {
            listen,
            target,
            link: Link {
                rtt: Duration::ZERO,
                bytes_per_second: Some(1_000_000),
            },
        }])
        .expect("relay starts");
        let started = std::time::Instant::now();
        let mut stream = std::net::TcpStream::connect(listen).expect("connects");
        stream.write_all(&vec![7u8; 500_000]).expect("written");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shut down");
        assert_eq!(counter.join().expect("counter"), 500_000);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(480),
            "500 kB at 1 MB/s took only {took:?}"
        );
        relay.stop();
    }
}
