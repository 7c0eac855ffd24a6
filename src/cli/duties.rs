//! `seibi duties`: the recurring duties, per occurrence and terminal: done (by which run, on
//! which day), upcoming, due, overdue or missed, from the journals that verify.

use std::path::PathBuf;
use std::process::ExitCode;

use jiff::Timestamp;
use jiff::civil::Date;

use super::journal::{load_roster, under};
use super::{Printer, ProjectArgs, print_diagnostics};
use crate::audit::duties::{self, DutiesReport, Evidence, SCHEMA};
use crate::audit::{AsOf, FiscalYear};
use crate::playbook::DateRange;
use crate::project::Project;

/// Exit status when some duty is overdue or missed.
pub const EXIT_OVERDUE: u8 = 3;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Per occurrence, its window and counts, then the terminals not done.
    Text,
    /// The `seibi.duties/v1` document: every occurrence and terminal.
    Json,
}

/// `seibi duties`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 nothing overdue or missed, 3 some duty overdue or missed, \
                  1 the project or the roster cannot be read, 2 usage error."
)]
pub struct DutiesArgs {
    /// As of the end of this day, Japan time (YYYY-MM-DD) [default: today].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<Date>,
    /// The occurrences whose period meets these days (2026-10, or 2026-04-01..2026-10-31)
    /// [default: from the start of the fiscal year to the end of the as-of month].
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<DateRange>,
    /// The roster the journals are verified against [default: PROJECT/roster.yml].
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// Only terminals of these sites (repeatable).
    #[arg(long = "site", value_name = "ID")]
    pub sites: Vec<String>,
    /// List the terminals that are done too.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `seibi duties`.
pub fn run(args: DutiesArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let (loaded, diags) = Project::load(project.paths());
    let Some(loaded) = loaded else {
        print_diagnostics(&diags);
        Printer::get().error("hint: run `seibi check` for the same report");
        return Ok(ExitCode::from(1));
    };
    let Some(roster) = load_roster(args.roster, &project.project) else {
        return Ok(ExitCode::from(1));
    };
    let as_of = match args.as_of {
        Some(day) => AsOf::end_of(day),
        None => AsOf::at(Timestamp::now()),
    };
    let period = args.period.unwrap_or_else(|| {
        DateRange::new(
            FiscalYear::of(as_of.date()).start(),
            as_of.date().last_of_month(),
        )
    });
    for site in &args.sites {
        if !loaded.inventory.sites.contains_key(site) {
            let mut message = format!("no site `{site}` in the inventory");
            if let Some(best) =
                crate::source::closest(site, loaded.inventory.sites.keys().map(String::as_str))
            {
                message.push_str(&format!("\n  = hint: did you mean `{best}`?"));
            }
            anyhow::bail!(message);
        }
    }
    let (evidence, not_counted) =
        Evidence::from_journals(&under(&project.project, "logs"), &roster);
    let report = DutiesReport {
        schema: SCHEMA,
        as_of: as_of.date(),
        period,
        rows: duties::duties(&loaded.jobs, &loaded.inventory, &evidence, as_of, period)
            .into_iter()
            .filter(|r| args.sites.is_empty() || args.sites.contains(&r.site))
            .collect(),
        not_counted,
    };
    match args.format {
        Format::Text => Printer::get().out_str(duties::render_text(&report, args.all)),
        Format::Json => Printer::get().out(serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.has_late() {
        ExitCode::from(EXIT_OVERDUE)
    } else {
        ExitCode::SUCCESS
    })
}
