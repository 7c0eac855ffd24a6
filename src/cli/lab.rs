//! `seibi lab up N` / `seibi lab down`: disposable local terminals (real OpenSSH servers in
//! their own mount and UTS namespaces) to rehearse a job on before it touches the city's.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::lab::{Fleet, FleetSpec};

/// Lab subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Start N isolated SSH hosts on 127.0.1.x (see --base-address) and write an inventory for them (needs root).
    Up {
        /// Number of hosts.
        #[arg(default_value_t = 8)]
        hosts: usize,
        /// The first host's address; the others follow it (127.0.1.1, 127.0.1.2, ...). Give
        /// each fleet on one machine its own range.
        #[arg(long, default_value_t = Ipv4Addr::new(127, 0, 1, 1))]
        base_address: Ipv4Addr,
        /// Sites to spread the hosts over.
        #[arg(long = "site", default_values_t = ["lab-a".to_string(), "lab-b".to_string(), "lab-c".to_string()])]
        sites: Vec<String>,
        /// Where the fleet keeps its state.
        #[arg(long, default_value = "/tmp/seibi-lab")]
        state_dir: PathBuf,
    },
    /// Stop the hosts started by `seibi lab up`.
    Down {
        /// Where the fleet keeps its state.
        #[arg(long, default_value = "/tmp/seibi-lab")]
        state_dir: PathBuf,
    },
}

/// Runs a lab subcommand.
pub fn run(command: LabCommand) -> anyhow::Result<ExitCode> {
    match command {
        LabCommand::Up {
            hosts,
            base_address,
            sites,
            state_dir,
        } => {
            let mut spec = FleetSpec::new(hosts, &state_dir);
            spec.base_address = base_address;
            let fleet = Fleet::start(spec)?;
            let inventory = state_dir.join("inventory.yml");
            let site_refs: Vec<&str> = sites.iter().map(String::as_str).collect();
            fleet.write_inventory(&inventory, &site_refs)?;
            println!("{} hosts up:", fleet.hosts().len());
            for h in fleet.hosts() {
                println!(
                    "  {} {}:{} {}",
                    h.name(),
                    h.address(),
                    h.port(),
                    h.fingerprint()
                );
            }
            println!("inventory:   {}", inventory.display());
            println!("known_hosts: {}", fleet.known_hosts().display());
            println!("client key:  {}", fleet.client_key().display());
            println!(
                "stop with:   seibi lab down --state-dir {}",
                state_dir.display()
            );
            fleet.detach();
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Down { state_dir } => {
            let stopped = Fleet::stop_from_state(&state_dir)?;
            println!("stopped {stopped} hosts");
            Ok(ExitCode::SUCCESS)
        }
    }
}
