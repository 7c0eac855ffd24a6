//! `seibi calendar 2026-10`: business days and office hours of a month, optionally a site's.

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::Printer;
use super::{ProjectArgs, print_diagnostics};
use crate::calendar::{Calendar, OfficeHours, render_month};

/// Arguments of `seibi calendar`.
#[derive(Debug, clap::Args)]
pub struct CalendarArgs {
    /// The month, as YYYY-MM.
    month: String,
    /// Apply this site's closed days and hours (from the inventory).
    #[arg(long, value_name = "ID")]
    site: Option<String>,
}

/// Prints the month.
pub fn run(args: CalendarArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let (year, month) = args
        .month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i16>().ok()?, m.parse::<i8>().ok()?)))
        .with_context(|| {
            format!(
                "`{}` is not a month; write it as YYYY-MM, e.g. 2026-10",
                args.month
            )
        })?;
    let calendar = match &args.site {
        None => Calendar::new(),
        Some(id) => {
            let (inventory, diags) = crate::inventory::load(&project.paths().inventory);
            if diags.has_errors() {
                print_diagnostics(&diags);
                return Ok(ExitCode::from(1));
            }
            let Some(site) = inventory.sites.get(id) else {
                let hint = crate::source::closest(id, inventory.sites.keys().map(String::as_str))
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                bail!("no site `{id}` in the inventory{hint}");
            };
            let hours = match site.hours {
                Some(h) => Some(OfficeHours::new(h.open, h.close)?),
                None => None,
            };
            Calendar::for_site(site.closed_days.iter().copied(), hours)
        }
    };
    Printer::get().out_str(format_args!("{}", render_month(&calendar, year, month)?));
    Ok(ExitCode::SUCCESS)
}
