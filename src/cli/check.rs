//! `seibi check`: validate inventory, playbooks and templates, reporting every problem.

use std::process::ExitCode;

use super::Printer;
use super::{ProjectArgs, print_diagnostics};
use crate::project::Project;

/// Arguments of `seibi check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

/// Runs the check; exit status 0 when clean, 1 when there are errors.
pub fn run(_args: CheckArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let (loaded, diags) = Project::load(project.paths());
    print_diagnostics(&diags);
    match loaded {
        Some(p) => {
            let tasks: usize = p
                .jobs
                .iter()
                .map(|j| j.tasks.len() + j.handlers.len())
                .sum();
            Printer::get().out(format_args!(
                "ok: {} sites, {} terminals, {} groups, {} jobs, {} tasks",
                p.inventory.sites.len(),
                p.inventory.terminals.len(),
                p.inventory.groups.len(),
                p.jobs.len(),
                tasks
            ));
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::from(1)),
    }
}
