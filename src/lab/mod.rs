//! The lab: a fleet of real, isolated OpenSSH servers on loopback addresses, to rehearse a job
//! on before it meets a city's terminals (`seibi lab up N`, `seibi lab down`) and to run the
//! project's integration tests against.
//!
//! Each host is one `sshd` in mount and UTS namespaces of its own (`unshare`), listening on its
//! own address (`127.0.1.1`, `127.0.1.2`, ...) with its own ed25519 host key. Inside, overlayfs
//! layers over [`OVERLAID_DIRS`] (`/etc`, `/opt`, `/usr`, `/var/lib/dpkg`, `/var/log`) keep
//! every write on that host: `chpasswd` changes that host's `/etc/shadow`, `dpkg -i` that host's
//! package database and files. `/root` is a fresh tmpfs (a clean home with only
//! `.ssh/authorized_keys`, so root's real shell start-up files do not run), and so is `/home`,
//! where the accounts a host creates ([`FleetSpec::accounts`]) get their homes. The host name is
//! the host's own. Not isolated: processes and the network (hosts see each other's processes
//! and share loopback), `/tmp`, `/srv`, `/var` outside `dpkg` and `log`, and `/run`.
//!
//! Needs root, `unshare` (util-linux) and `sshd` (openssh-server). Login is key-only with
//! [`Fleet::client_key`], for root and for every account the hosts create;
//! [`FleetSpec::sudo_accounts`] may also run anything as root through NOPASSWD sudo (needs
//! `sudo`), to rehearse terminals where root cannot log in (`become: sudo`), and sudo logs
//! every command line it runs to the host's [`SUDO_LOG`]. [`FleetSpec::password_login`] adds
//! password login for password-rotation tests.
//!
//! [`FleetSpec::links`] puts a [`Relay`] in front of the hosts that adds a round-trip time
//! (and optionally a bandwidth limit) per host, to rehearse ward offices over a WAN: each
//! host's sshd then listens on [`FleetSpec::sshd_port`] and the relay on the host's address and
//! [`FleetSpec::port`], where the inventory and `known_hosts` point.
//!
//! ```no_run
//! # fn main() -> Result<(), seibi::lab::LabError> {
//! use seibi::lab::{Fleet, FleetSpec};
//! let fleet = Fleet::start(FleetSpec::new(3, "/tmp/seibi-lab"))?;
//! for host in fleet.hosts() {
//!     println!("{} {} {}", host.name(), host.socket_addr(), host.fingerprint());
//! }
//! fleet.stop()?;
//! # Ok(())
//! # }
//! ```

mod error;
mod fleet;
mod host;
mod inventory;
mod mirror;
mod preflight;
mod process;
mod relay;
mod spec;
mod state;

pub use error::LabError;
pub use fleet::Fleet;
pub use host::{LabHost, POWER_COMMANDS, SUDO_LOG};
pub use inventory::spread as spread_over_sites;
pub use mirror::{MIRROR_INVENTORY, Mirror};
pub use relay::{Link, Relay, Route, Wan, parse_bandwidth, parse_rtt};
pub use spec::{FleetSpec, OVERLAID_DIRS, PRIVATE_HOMES, SshdLogLevel};
