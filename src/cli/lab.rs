//! `seibi lab up N`, `seibi lab mirror` and `seibi lab down`: disposable local terminals (real
//! OpenSSH servers in their own mount and UTS namespaces) to rehearse a job on before it touches
//! the city's.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::Printer;
use super::{ProjectArgs, print_diagnostics};
use crate::inventory::Selector;
use crate::lab::{Fleet, FleetSpec, Mirror, SshdLogLevel, Wan, parse_bandwidth, parse_rtt};
use crate::project::Project;

/// Where a fleet lives; shared by every lab subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// Where the fleet keeps its state (keys, overlay layers, logs).
    #[arg(long, env = "SEIBI_LAB_DIR", default_value = "/tmp/seibi-lab")]
    state_dir: PathBuf,
}

/// Where the hosts listen.
#[derive(Debug, Clone, clap::Args)]
pub struct AddressArgs {
    /// The first host's address; the others follow it (127.0.1.1, 127.0.1.2, ...). Give
    /// each fleet on one machine its own range.
    #[arg(long, env = "SEIBI_LAB_BASE_ADDRESS", default_value_t = Ipv4Addr::new(127, 0, 1, 1))]
    base_address: Ipv4Addr,
    /// Local accounts to create on every host (repeatable), e.g. the account a password
    /// rotation job changes.
    #[arg(long = "account", value_name = "NAME")]
    accounts: Vec<String>,
    /// Local accounts to create on every host that may also run anything as root through
    /// NOPASSWD sudo (repeatable), to rehearse terminals where root cannot log in (`become:
    /// sudo`). Every account logs in with the fleet's client key.
    #[arg(long = "sudo-account", value_name = "NAME")]
    sudo_accounts: Vec<String>,
    /// How much each host's sshd logs to its `host.log` in the state directory: `channels`
    /// also logs every session channel and request (not command lines).
    #[arg(long, value_enum, default_value_t = LogLevelArg::Info)]
    sshd_log_level: LogLevelArg,
}

/// sshd's `LogLevel` on the hosts.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogLevelArg {
    /// Connections and logins.
    Info,
    /// Also every session started.
    Verbose,
    /// Also every channel and request.
    Channels,
}

/// The WAN to rehearse: a relay in front of the hosts that adds latency and limits bandwidth.
#[derive(Debug, Clone, clap::Args)]
pub struct WanArgs {
    /// Reach the hosts through a relay that adds this round-trip time (e.g. `20ms`; `0` relays
    /// without delay), as a ward office over a WAN would.
    #[arg(long, value_name = "RTT", value_parser = parse_rtt)]
    rtt: Option<Duration>,
    /// Through the relay, limit each host's link to this bandwidth in each direction (e.g.
    /// `10mbit`).
    #[arg(long, value_name = "BANDWIDTH", value_parser = parse_bandwidth)]
    bandwidth: Option<u64>,
    /// The round-trip time to one site's hosts, over `--rtt` (repeatable), e.g. `kita=80ms`.
    #[arg(long = "site-rtt", value_name = "SITE=RTT", value_parser = site_rtt)]
    site_rtt: Vec<(String, Duration)>,
    /// The bandwidth to one site's hosts, over `--bandwidth` (repeatable), e.g. `kita=2mbit`.
    #[arg(long = "site-bandwidth", value_name = "SITE=BANDWIDTH", value_parser = site_bandwidth)]
    site_bandwidth: Vec<(String, u64)>,
}

fn site_rtt(text: &str) -> Result<(String, Duration), String> {
    let (site, rtt) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not SITE=RTT (e.g. kita=80ms)"))?;
    Ok((site.to_owned(), parse_rtt(rtt)?))
}

fn site_bandwidth(text: &str) -> Result<(String, u64), String> {
    let (site, bandwidth) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not SITE=BANDWIDTH (e.g. kita=2mbit)"))?;
    Ok((site.to_owned(), parse_bandwidth(bandwidth)?))
}

impl WanArgs {
    fn wan(&self) -> Wan {
        Wan {
            rtt: self.rtt,
            bandwidth: self.bandwidth,
            site_rtt: self.site_rtt.iter().cloned().collect(),
            site_bandwidth: self.site_bandwidth.iter().cloned().collect(),
        }
    }
}

/// Lab subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Start N isolated SSH hosts on 127.0.1.x (see --base-address) and write an inventory for them (needs root).
    Up {
        /// Number of hosts.
        #[arg(default_value_t = 8)]
        hosts: usize,
        /// Where the hosts listen and which accounts they have.
        #[command(flatten)]
        address: AddressArgs,
        /// Sites to spread the hosts over.
        #[arg(long = "site", default_values_t = ["lab-a".to_string(), "lab-b".to_string(), "lab-c".to_string()])]
        sites: Vec<String>,
        /// The WAN to rehearse.
        #[command(flatten)]
        wan: WanArgs,
        /// Where the fleet keeps its state.
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Start a lab host for each chosen Linux terminal of the project and write a rehearsal copy
    /// of the project that points at them (needs root).
    Mirror {
        /// Only terminals in these sites (repeatable).
        #[arg(long = "site", value_name = "ID")]
        sites: Vec<String>,
        /// Only terminals in these groups (repeatable).
        #[arg(long = "group", value_name = "ID")]
        groups: Vec<String>,
        /// Only terminals with these tags (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Only these terminals (repeatable).
        #[arg(long = "terminal", value_name = "ID")]
        terminals: Vec<String>,
        /// Leave out these terminals (repeatable).
        #[arg(long = "exclude", value_name = "ID")]
        exclude: Vec<String>,
        /// Where the hosts listen and which accounts they have.
        #[command(flatten)]
        address: AddressArgs,
        /// Where to write the rehearsal project [default: STATE_DIR/project].
        #[arg(long, value_name = "DIR")]
        project_dir: Option<PathBuf>,
        /// The WAN to rehearse (sites are the terminals' sites).
        #[command(flatten)]
        wan: WanArgs,
        /// Where the fleet keeps its state.
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Stop the hosts started by `seibi lab up` or `seibi lab mirror`.
    Down {
        /// Where the fleet keeps its state.
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Keep a detached fleet's WAN relay running (started by `lab up` and `lab mirror` with
    /// `--rtt`; stopped by `lab down`).
    #[command(hide = true)]
    Relay {
        /// Where the fleet keeps its state.
        #[command(flatten)]
        fleet: FleetArgs,
    },
}

/// Runs a lab subcommand.
pub fn run(command: LabCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    match command {
        LabCommand::Up {
            hosts,
            address,
            sites,
            wan,
            fleet,
        } => {
            let mut spec = address.spec(hosts, &fleet);
            let site_refs: Vec<&str> = sites.iter().map(String::as_str).collect();
            spec.links = wan
                .wan()
                .links(&crate::lab::spread_over_sites(hosts, &site_refs))?;
            let fleet = Fleet::start(spec)?;
            let inventory = fleet.state_dir().join("inventory.yml");
            fleet.write_inventory(&inventory, &site_refs)?;
            print_hosts(&fleet);
            print_relay(&fleet);
            Printer::get().out(format_args!("inventory:   {}", inventory.display()));
            Printer::get().out(format_args!(
                "known_hosts: {}",
                fleet.known_hosts().display()
            ));
            Printer::get().out(format_args!(
                "client key:  {}",
                fleet.client_key().display()
            ));
            Printer::get().out(format_args!(
                "stop with:   seibi lab down --state-dir {}",
                fleet.state_dir().display()
            ));
            fleet.detach()?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Mirror {
            sites,
            groups,
            tags,
            terminals,
            exclude,
            address,
            project_dir,
            wan,
            fleet,
        } => {
            let (loaded, diags) = Project::load(project.paths());
            let Some(loaded) = loaded else {
                print_diagnostics(&diags);
                Printer::get().error(format_args!(
                    "no lab host was started: fix the problems above (`seibi check`)"
                ));
                return Ok(ExitCode::from(1));
            };
            let selector = Selector {
                sites,
                groups,
                tags,
                terminals,
                exclude,
            };
            let mirror = Mirror::select(&loaded.inventory, &selector)?;
            let mut spec = address.spec(mirror.terminals().len(), &fleet);
            spec.names = mirror.host_names();
            let host_sites: Vec<&str> =
                mirror.terminals().iter().map(|t| t.site.as_str()).collect();
            spec.links = wan.wan().links(&host_sites)?;
            let dest = project_dir.unwrap_or_else(|| fleet.state_dir.join("project"));
            if std::fs::read_dir(&dest).is_ok_and(|mut d| d.next().is_some()) {
                // Checked before any host starts, and again by write_project.
                anyhow::bail!(
                    "{} already holds a rehearsal project (its journals and reports may still be wanted); remove it or give another --project-dir",
                    dest.display()
                );
            }
            let fleet = Fleet::start(spec)?;
            mirror.write_project(&loaded.paths, &fleet, &dest)?;
            print_hosts(&fleet);
            print_relay(&fleet);
            Printer::get().out(format_args!(
                "rehearsal project: {} (inventory/{}, known_hosts pinning the hosts above, and copies of the playbooks, secrets and roster)",
                dest.display(),
                crate::lab::MIRROR_INVENTORY
            ));
            Printer::get().out(format_args!(
                "log in with:       --key {} (root on every host)",
                fleet.client_key().display()
            ));
            Printer::get().out(format_args!(
                "stop with:         seibi lab down --state-dir {}",
                fleet.state_dir().display()
            ));
            fleet.detach()?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Down { fleet } => {
            let stopped = Fleet::stop_from_state(&fleet.state_dir)?;
            Printer::get().out(format_args!("stopped {stopped} hosts"));
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Relay { fleet } => {
            Fleet::serve_relay(&fleet.state_dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl AddressArgs {
    fn spec(&self, hosts: usize, fleet: &FleetArgs) -> FleetSpec {
        let mut spec = FleetSpec::new(hosts, &fleet.state_dir);
        spec.base_address = self.base_address;
        spec.accounts = self.accounts.clone();
        spec.sudo_accounts = self.sudo_accounts.clone();
        spec.sshd_log_level = match self.sshd_log_level {
            LogLevelArg::Info => SshdLogLevel::Info,
            LogLevelArg::Verbose => SshdLogLevel::Verbose,
            LogLevelArg::Channels => SshdLogLevel::Channels,
        };
        spec
    }
}

fn print_hosts(fleet: &Fleet) {
    Printer::get().out(format_args!("{} hosts up:", fleet.hosts().len()));
    for h in fleet.hosts() {
        Printer::get().out(format_args!(
            "  {} {}:{} {}",
            h.name(),
            h.address(),
            h.port(),
            h.fingerprint()
        ));
    }
}

/// Says what the relay adds, when there is one.
fn print_relay(fleet: &Fleet) {
    let Some(relay) = fleet.relay() else {
        return;
    };
    let mut links: Vec<String> = relay
        .routes()
        .iter()
        .map(|route| {
            let bandwidth = route
                .link
                .bytes_per_second
                .map(|rate| format!(", {} kbit/s", rate * 8 / 1000))
                .unwrap_or_default();
            format!("{:?} RTT{bandwidth}", route.link.rtt)
        })
        .collect();
    links.dedup();
    Printer::get().out(format_args!(
        "relay:       every host is reached through a WAN relay ({}); sshd listens behind it on port {}",
        links.join("; "),
        relay.routes().first().map_or(0, |route| route.target.port())
    ));
}
