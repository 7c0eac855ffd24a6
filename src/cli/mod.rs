//! The command line: one file per subcommand, each an `Args` struct and a short `run()` that
//! parses, calls the library and maps the result to an exit status.
//!
//! Exit statuses: 0 success; 1 the input has problems or a plan is refused; 2 usage errors
//! (clap's own); 3 `plan --start` made a plan (printed or saved in full) whose schedule is not
//! feasible; for `apply`, 4 some task failed, 5 some terminal was unreachable, 6 paused at the
//! end of office hours with work left (resume in the next window with `--resume RUN`);
//! for `audit rotations`, 3 some account is overdue; for `status`, 3 the plan is not complete; for
//! `duties`, 3 some duty is overdue or missed.
//!
//! Everything a subcommand prints goes through [`Printer`] ([`printer`]): no panic on a closed
//! pipe, and `--quiet` hides status messages.

pub mod apply;
pub mod approve;
pub mod audit;
pub mod calendar;
pub mod check;
pub mod duties;
pub mod hosts;
pub mod inventory;
pub mod journal;
pub mod lab;
pub mod log;
pub mod operator;
pub mod plan;
pub mod printer;
pub mod report;
pub mod roster;
pub mod secrets;
pub mod status;

use std::path::PathBuf;

pub use printer::Printer;

use crate::project::ProjectPaths;
use crate::source::Diagnostics;

/// Where to find the project's inputs; shared by every subcommand that reads them.
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectArgs {
    /// Project directory (holds inventory/, playbooks/, secrets/).
    #[arg(short = 'C', long = "project", default_value = ".", global = true)]
    pub project: PathBuf,
    /// Inventory directory or file [default: PROJECT/inventory].
    #[arg(long, global = true)]
    pub inventory: Option<PathBuf>,
    /// Playbook directory [default: PROJECT/playbooks].
    #[arg(long, global = true)]
    pub playbooks: Option<PathBuf>,
}

impl ProjectArgs {
    /// The resolved paths.
    pub fn paths(&self) -> ProjectPaths {
        let mut paths = ProjectPaths::new(&self.project);
        if let Some(i) = &self.inventory {
            paths.inventory = i.clone();
        }
        if let Some(p) = &self.playbooks {
            paths.playbooks = p.clone();
        }
        paths
    }
}

/// Prints diagnostics to standard error with a closing count line.
pub fn print_diagnostics(diags: &Diagnostics) {
    let printer = Printer::get();
    for d in diags.iter() {
        printer.error(d);
    }
    let errors = diags.error_count();
    let warnings = diags.iter().count() - errors;
    if errors > 0 {
        printer.error(format_args!(
            "error: {errors} problem{} found{}",
            if errors == 1 { "" } else { "s" },
            if warnings > 0 {
                format!(
                    " ({warnings} warning{})",
                    if warnings == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        ));
    }
}
