//! `seibi report`: the documents the city reads — 作業手順書 from a saved plan, 作業報告書 from
//! runs' journals (or every run of a plan), 進捗報告書 from a plan and its runs, 月次報告書 from a
//! month of journals — as Markdown or `.xlsx`.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::journal::{find_journal, load_roster, under};
use super::status::{progress_of, read_saved_plan};
use super::{Printer, ProjectArgs};
use crate::approval;
use crate::documents::{self, Document, Language, Month};
use crate::plan::Plan;
use crate::project::Project;
use crate::roster::{ROSTER_FILE, Roster};

/// `seibi report <document>`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// 作業手順書 (work procedure) of a saved plan, with its approvals.
    Procedure {
        /// The saved plan (`seibi plan --format json -o FILE`).
        #[arg(value_name = "PLAN.json")]
        plan: PathBuf,
        /// Format, file, language, roster.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// 作業報告書 (result report) of one run, several, or every run of a saved plan.
    Result {
        /// Run ids (`logs/<RUN>.jsonl`), journal files, or a saved plan (`PLAN.json`: all its
        /// runs in the logs).
        #[arg(required = true, value_name = "RUN|JOURNAL|PLAN.json")]
        runs: Vec<String>,
        /// Where journals are [default: PROJECT/logs].
        #[arg(long, value_name = "DIR")]
        logs: Option<PathBuf>,
        /// Format, file, language, roster.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// 進捗報告書 (progress report): how far a saved plan has got across its runs.
    Progress {
        /// The saved plan (`seibi plan --format json -o FILE`).
        #[arg(value_name = "PLAN.json")]
        plan: PathBuf,
        /// Where journals are [default: PROJECT/logs].
        #[arg(long, value_name = "DIR")]
        logs: Option<PathBuf>,
        /// Format, file, language, roster.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// 月次報告書 (monthly report) of every run started in a month (Japan time).
    Monthly {
        /// The month, `YYYY-MM`.
        month: Month,
        /// Where journals are [default: PROJECT/logs].
        #[arg(long, value_name = "DIR")]
        logs: Option<PathBuf>,
        /// Where fetched logs and inspection facts are [default: PROJECT/collected].
        #[arg(long, value_name = "DIR")]
        collect_dir: Option<PathBuf>,
        /// Format, file, language, roster.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// セキュリティ保全状況報告書 (security status report) of a month: roster, rotations and
    /// reveals, unapproved and out-of-hours work, media scans, host-key changes, verification.
    Security {
        /// The month, `YYYY-MM`.
        month: Month,
        /// Where journals are [default: PROJECT/logs].
        #[arg(long, value_name = "DIR")]
        logs: Option<PathBuf>,
        /// Format, file, language, roster.
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// Document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown.
    Md,
    /// An Excel workbook: one sheet per section.
    Xlsx,
}

/// Document language.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    /// Japanese.
    Ja,
    /// English.
    En,
}

/// Where and how a document is written.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Format [default: xlsx when -o ends in .xlsx, else md].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language.
    #[arg(long, value_enum, default_value = "ja")]
    pub lang: Lang,
    /// The roster [default: PROJECT/roster.yml].
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
}

impl OutputArgs {
    fn language(&self) -> Language {
        match self.lang {
            Lang::Ja => Language::Ja,
            Lang::En => Language::En,
        }
    }

    fn format(&self) -> Format {
        self.format.unwrap_or_else(|| {
            match self
                .output
                .as_ref()
                .and_then(|p| p.extension())
                .and_then(|e| e.to_str())
            {
                Some(e) if e.eq_ignore_ascii_case("xlsx") => Format::Xlsx,
                _ => Format::Md,
            }
        })
    }

    fn write(&self, doc: &Document) -> anyhow::Result<()> {
        let bytes = match self.format() {
            Format::Md => documents::to_markdown(doc).into_bytes(),
            Format::Xlsx => documents::to_xlsx(doc)?,
        };
        let printer = Printer::get();
        match &self.output {
            Some(path) => {
                std::fs::write(path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                printer.status(format_args!("{} written to {}", doc.title, path.display()));
            }
            None => {
                if self.format() == Format::Xlsx && std::io::stdout().is_terminal() {
                    bail!("an .xlsx document is binary: pass -o FILE.xlsx");
                }
                printer.out_bytes(&bytes);
            }
        }
        for flag in &doc.flags {
            printer.error(format_args!("warning: {flag}"));
        }
        Ok(())
    }
}

/// Job titles from the project, when it loads (reports then show titles next to job ids).
fn job_titles(project: &ProjectArgs) -> BTreeMap<String, String> {
    match Project::load(project.paths()) {
        (Some(p), _) => p
            .jobs
            .iter()
            .map(|j| (j.id.clone(), j.title.clone()))
            .collect(),
        (None, _) => BTreeMap::new(),
    }
}

/// The journals named by `runs`: run ids, journal files, or saved plans (each standing for the
/// journals of its runs in `logs`), in the order given, each once.
fn journal_paths(runs: &[String], logs: &Path, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for run in runs {
        let given = Path::new(run);
        let found = if given.extension().is_some_and(|e| e == "json") && given.is_file() {
            let plan = read_saved_plan(given)?;
            let journals = documents::plan_journals(&plan.digest, logs)?;
            if journals.is_empty() {
                bail!(
                    "no journal in {} applies the plan {run} ({}): it has not been applied yet",
                    logs.display(),
                    plan.digest
                );
            }
            journals
        } else {
            vec![find_journal(run, root)?]
        };
        for path in found {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    Ok(paths)
}

fn logs_dir(given: Option<PathBuf>, project: &Path) -> PathBuf {
    given.unwrap_or_else(|| under(project, "logs"))
}

/// Runs `seibi report <document>`.
pub fn run(command: ReportCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let root = &project.project;
    let now = jiff::Timestamp::now();
    let printer = Printer::get();
    match command {
        ReportCommand::Procedure { plan, output } => {
            let text = std::fs::read_to_string(&plan)
                .with_context(|| format!("cannot read the plan {}", plan.display()))?;
            let saved = match Plan::from_json(&text) {
                Ok(p) => p,
                Err(e) => {
                    printer.error(format_args!("error: {}: {e}", plan.display()));
                    return Ok(ExitCode::from(1));
                }
            };
            let roster_path = output
                .roster
                .clone()
                .unwrap_or_else(|| under(root, ROSTER_FILE));
            let roster = match Roster::load(&roster_path) {
                Ok(r) => Some(r),
                Err(e) => {
                    printer.error(format_args!(
                        "warning: operators and approvals are left out: cannot load the roster:\n{e}"
                    ));
                    None
                }
            };
            let approvals = match &roster {
                Some(r) => approval::review(&plan, &saved, r, now)?,
                None => Vec::new(),
            };
            let required = roster.as_ref().map_or(1, Roster::approvals_required);
            let doc = documents::procedure(
                &saved,
                roster.as_ref(),
                &approvals,
                required,
                output.language(),
                now,
            );
            output.write(&doc)?;
        }
        ReportCommand::Result { runs, logs, output } => {
            let Some(roster) = load_roster(output.roster.clone(), root) else {
                return Ok(ExitCode::from(1));
            };
            let logs = logs_dir(logs, root);
            let paths = journal_paths(&runs, &logs, root)?;
            let doc = documents::result_of_runs(
                &paths,
                &logs,
                &roster,
                &job_titles(project),
                output.language(),
            )?;
            output.write(&doc)?;
        }
        ReportCommand::Progress { plan, logs, output } => {
            let Some(roster) = load_roster(output.roster.clone(), root) else {
                return Ok(ExitCode::from(1));
            };
            let progress = progress_of(&plan, logs, root)?;
            let doc = progress.report(&roster, &job_titles(project), output.language());
            output.write(&doc)?;
        }
        ReportCommand::Monthly {
            month,
            logs,
            collect_dir,
            output,
        } => {
            let Some(roster) = load_roster(output.roster.clone(), root) else {
                return Ok(ExitCode::from(1));
            };
            let collected = collect_dir.unwrap_or_else(|| under(root, "collected"));
            let doc = documents::monthly(
                &logs_dir(logs, root),
                month,
                &roster,
                &job_titles(project),
                collected.is_dir().then_some(collected.as_path()),
                output.language(),
                now,
            )?;
            output.write(&doc)?;
        }
        ReportCommand::Security {
            month,
            logs,
            output,
        } => {
            let Some(roster) = load_roster(output.roster.clone(), root) else {
                return Ok(ExitCode::from(1));
            };
            let doc = documents::security(
                &logs_dir(logs, root),
                month,
                &roster,
                output.language(),
                now,
            )?;
            output.write(&doc)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
