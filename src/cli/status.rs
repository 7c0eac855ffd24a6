//! `seibi status PLAN.json`: how far a saved plan has got across its runs (every journal in
//! `logs/` of that plan), per site and terminal; exit status 0 when every unit is done, 3 when
//! not. The model is [`crate::documents::PlanProgress`]; `seibi report progress` makes the
//! 進捗報告書 from the same model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::journal::under;
use super::{Printer, ProjectArgs};
use crate::documents::PlanProgress;
use crate::plan::Plan;

/// Exit status of `status` when the plan is not complete.
pub const NOT_COMPLETE: u8 = 3;

/// `seibi status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The saved plan (`seibi plan --format json -o FILE`).
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Where journals are [default: PROJECT/logs].
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: StatusFormat,
}

/// Output format of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// For people.
    Text,
    /// For machines: the whole model, every unit.
    Json,
}

/// Reads a saved plan, checking its digest.
pub(crate) fn read_saved_plan(path: &Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan {}", path.display()))?;
    Plan::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The progress of the plan at `plan` from the journals in `logs` (or the project's).
pub(crate) fn progress_of(
    plan: &Path,
    logs: Option<PathBuf>,
    project: &Path,
) -> anyhow::Result<PlanProgress> {
    let saved = read_saved_plan(plan)?;
    let logs = logs.unwrap_or_else(|| under(project, "logs"));
    Ok(PlanProgress::from_logs(&saved, &logs)?)
}

/// Runs `seibi status`.
pub fn run(args: StatusArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let printer = Printer::get();
    let progress = progress_of(&args.plan, args.logs, &project.project)?;
    match args.format {
        StatusFormat::Text => printer.out_str(progress.render_text()),
        StatusFormat::Json => printer.out(serde_json::to_string_pretty(&progress)?),
    }
    Ok(if progress.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_COMPLETE)
    })
}
