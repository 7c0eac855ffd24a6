//! `seibi roster`: check the roster (従事者名簿) and export it for `ssh-keygen -Y verify`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::roster::{ROSTER_FILE, Roster};

/// `seibi roster`.
#[derive(clap::Args, Debug)]
pub struct RosterArgs {
    /// The roster (default: `roster.yml` at the project root).
    #[arg(long, global = true)]
    pub roster: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: RosterCommand,
}

/// `seibi roster <command>`.
#[derive(clap::Subcommand, Debug)]
pub enum RosterCommand {
    /// Write the operators' keys as an OpenSSH allowed_signers file (namespace and validity
    /// dates included), for `ssh-keygen -Y verify`.
    ExportAllowedSigners {
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Validate the roster and list who is on it, and who is valid today.
    Check,
}

/// Runs `seibi roster`.
pub fn run(args: RosterArgs, project: &Path) -> anyhow::Result<ExitCode> {
    let path = args.roster.unwrap_or_else(|| project.join(ROSTER_FILE));
    let roster = Roster::load(&path).map_err(|err| anyhow::anyhow!("{err}"))?;
    match args.command {
        RosterCommand::ExportAllowedSigners { output } => {
            let text = roster.allowed_signers();
            match output {
                Some(file) => std::fs::write(&file, text)
                    .with_context(|| format!("cannot write {}", file.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
        }
        RosterCommand::Check => {
            let now = jiff::Timestamp::now();
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}: {} entries", path.display(), roster.people().len())?;
            for p in roster.people() {
                let state = if p.is_valid_at(now) {
                    "valid"
                } else {
                    "not valid today"
                };
                writeln!(
                    out,
                    "  {}  {} ({})  {}  {} to {}  {}  {state}",
                    p.id, p.name, p.organisation, p.role, p.valid_from, p.valid_until, p.key
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
