//! `seibi audit rotations`: the auditors' view of password rotations, from the password store's
//! metadata (no identity needed, no value ever read) and the `password_rotation` jobs.

use std::process::ExitCode;

use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::civil::Date;

use super::Printer;
use super::{ProjectArgs, print_diagnostics};
use crate::audit::AsOf;
use crate::audit::rotations::{self, Filter};
use crate::plan::{self, PlanRequest};
use crate::playbook::JobKind;
use crate::project::Project;
use crate::secrets::PasswordStore;

/// Exit status when some selected account is overdue.
pub const EXIT_OVERDUE: u8 = 3;

/// `seibi audit <command>`.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Last password rotation per terminal and account, and which are overdue.
    ///
    /// An account is overdue when it was never rotated, when its last rotation is older than
    /// its job's `max_age_days`, when it was not rotated in the current fiscal year (April 1 to
    /// March 31), or when a rotation is pending (begun, never reconciled). Reads only the
    /// password store's metadata: no identity is needed and no password is shown.
    #[command(
        after_help = "Exit status: 0 nothing overdue, 3 some account overdue, \
                            1 the project or the password store cannot be read, 2 usage error."
    )]
    Rotations(RotationsArgs),
}

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An aligned table with per-site summaries.
    Text,
    /// The `seibi.audit.rotations/v1` document (see `seibi::audit::rotations`).
    Json,
}

/// `seibi audit rotations`.
#[derive(clap::Args, Debug)]
pub struct RotationsArgs {
    /// Audit as of the end of this day, Japan time (YYYY-MM-DD) [default: now]; it also decides
    /// the current fiscal year.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<Date>,
    /// Only this site (repeatable).
    #[arg(long = "site", value_name = "ID")]
    pub sites: Vec<String>,
    /// List only overdue accounts (the summaries still count all of them).
    #[arg(long)]
    pub overdue_only: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `seibi audit <command>`.
pub fn run(command: AuditCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Rotations(args) => rotations(args, project),
    }
}

fn rotations(args: RotationsArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let (loaded, diags) = Project::load(project.paths());
    let Some(loaded) = loaded else {
        print_diagnostics(&diags);
        Printer::get().error(format_args!("hint: run `seibi check` for the same report"));
        return Ok(ExitCode::from(1));
    };
    let mut unknown = Vec::new();
    for site in &args.sites {
        if !loaded.inventory.sites.contains_key(site) {
            let mut message = format!("no site `{site}` in the inventory");
            if let Some(best) =
                crate::source::closest(site, loaded.inventory.sites.keys().map(String::as_str))
            {
                message.push_str(&format!("\n  = hint: did you mean `{best}`?"));
            }
            unknown.push(message);
        }
    }
    if !unknown.is_empty() {
        bail!(unknown.join("\n"));
    }

    let request = PlanRequest {
        jobs: loaded
            .jobs
            .iter()
            .filter(|j| j.kind == JobKind::PasswordRotation)
            .map(|j| j.id.clone())
            .collect(),
        ..PlanRequest::default()
    };
    let scope = if request.jobs.is_empty() {
        Vec::new()
    } else {
        match plan::build(&loaded, &request) {
            Ok(plan) => rotations::scope(&plan)?,
            Err(diags) => {
                print_diagnostics(&diags);
                return Ok(ExitCode::from(1));
            }
        }
    };
    if scope.is_empty() {
        Printer::get().error(format_args!(
            "warning: no password_rotation job rotates any terminal; every store record is listed as outside the scope"
        ));
    }

    let secrets = &loaded.paths.secrets;
    let store = PasswordStore::open(secrets).with_context(|| {
        format!(
            "cannot open the password store in {}; is this the project directory (-C)? `seibi secrets init` creates a store",
            secrets.display()
        )
    })?;
    let states = rotations::recorded_states(&store)
        .with_context(|| format!("cannot read the password metadata in {}", secrets.display()))?;

    let as_of = match args.as_of {
        Some(date) => AsOf::end_of(date),
        None => AsOf::at(Timestamp::now()),
    };
    let report = rotations::audit(
        &loaded.inventory,
        &scope,
        &states,
        as_of,
        Filter {
            sites: args.sites,
            overdue_only: args.overdue_only,
        },
    );
    match args.format {
        Format::Text => Printer::get().out_str(format_args!("{}", rotations::render_text(&report))),
        Format::Json => {
            Printer::get().out(format_args!("{}", serde_json::to_string_pretty(&report)?))
        }
    }
    Ok(if report.has_overdue() {
        ExitCode::from(EXIT_OVERDUE)
    } else {
        ExitCode::SUCCESS
    })
}
