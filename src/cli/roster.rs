//! `seibi roster`: check the roster (従事者名簿) and export it for `ssh-keygen -Y verify`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::Printer;
use super::ProjectArgs;
use super::journal::load_roster;

/// `seibi roster <command>`.
#[derive(clap::Subcommand, Debug)]
pub enum RosterCommand {
    /// Write the operators' keys as an OpenSSH allowed_signers file (namespace and validity
    /// dates included), for `ssh-keygen -Y verify`.
    ExportAllowedSigners {
        /// The roster (default: `roster.yml` at the project root).
        #[arg(long)]
        roster: Option<PathBuf>,
        /// Export the approvers instead, with the plan-approval namespace (`seibi-plan@seibi`),
        /// to check approvals of plans (docs/approval.md).
        #[arg(long)]
        approvers: bool,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Validate the roster and list who is on it, and who is valid today.
    Check {
        /// The roster (default: `roster.yml` at the project root).
        #[arg(long)]
        roster: Option<PathBuf>,
    },
}

/// Runs `seibi roster <command>`. Exit status 1 when the roster has problems.
pub fn run(command: RosterCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let given = match &command {
        RosterCommand::ExportAllowedSigners { roster, .. } | RosterCommand::Check { roster } => {
            roster.clone()
        }
    };
    let Some(roster) = load_roster(given, &project.project) else {
        return Ok(ExitCode::FAILURE);
    };
    match command {
        RosterCommand::ExportAllowedSigners {
            output, approvers, ..
        } => {
            let text = if approvers {
                roster
                    .allowed_signers_for(crate::approval::PLAN_NAMESPACE, |p| p.role.is_approver())
            } else {
                roster.allowed_signers()
            };
            match output {
                Some(file) => std::fs::write(&file, text)
                    .with_context(|| format!("cannot write {}", file.display()))?,
                None => Printer::get().stdout().write_all(text.as_bytes())?,
            }
        }
        RosterCommand::Check { .. } => {
            let now = jiff::Timestamp::now();
            let mut out = Printer::get().stdout();
            writeln!(
                out,
                "{}: {} entries",
                roster.path().display(),
                roster.people().len()
            )?;
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
