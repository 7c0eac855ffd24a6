//! `seibi log work`: work that was not done on a machine (an inquiry, an investigation, a
//! meeting), signed into a journal of its own by an operator on the roster, for the monthly
//! report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use jiff::civil::Date;

use super::operator::{self, JournalArgs};
use super::{Printer, ProjectArgs, print_diagnostics};
use crate::journal::{Record, WorkKind, WorkLog};
use crate::run::lock::{Holder as LockHolder, ProjectLock};

/// `seibi log <command>`.
#[derive(clap::Subcommand, Debug)]
pub enum LogCommand {
    /// Record work not done on a machine, signed by you, for the monthly report.
    Work(WorkArgs),
}

/// The sort of work, as written on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Answering a question from the city (問い合わせ対応).
    Inquiry,
    /// Looking into a problem (調査).
    Investigation,
    /// A meeting (打合せ).
    Meeting,
    /// Anything else.
    Other,
}

impl From<Kind> for WorkKind {
    fn from(kind: Kind) -> WorkKind {
        match kind {
            Kind::Inquiry => WorkKind::Inquiry,
            Kind::Investigation => WorkKind::Investigation,
            Kind::Meeting => WorkKind::Meeting,
            Kind::Other => WorkKind::Other,
        }
    }
}

/// `seibi log work`.
#[derive(clap::Args, Debug)]
pub struct WorkArgs {
    /// What sort of work.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// The day it was done (YYYY-MM-DD, Japan).
    #[arg(long, value_name = "DATE")]
    pub date: Date,
    /// How long it took, in minutes.
    #[arg(long, value_name = "N")]
    pub minutes: u32,
    /// What was done, for the report (never a password or other secret).
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// The site it concerned.
    #[arg(long, value_name = "ID")]
    pub site: Option<String>,
    /// The terminal it concerned.
    #[arg(long, value_name = "ID")]
    pub terminal: Option<String>,
    /// Your SSH key on the roster, which signs the entry [default: ~/.ssh/id_ed25519, else
    /// ssh-agent].
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// Where the roster and the journals are.
    #[command(flatten)]
    pub journal: JournalArgs,
}

/// Runs `seibi log <command>`.
pub fn run(command: LogCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    match command {
        LogCommand::Work(args) => work(args, project),
    }
}

fn work(args: WorkArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let entry = WorkLog {
        work: args.kind.into(),
        date: args.date.to_string(),
        minutes: args.minutes,
        summary: args.summary.trim().to_string(),
        site: args.site,
        terminal: args.terminal,
    };
    if entry.summary.is_empty() {
        bail!("--summary is empty: say what was done, for the monthly report");
    }
    if entry.minutes == 0 || entry.minutes > 24 * 60 {
        bail!(
            "--minutes {} is not the length of a day's work: give 1 to 1440",
            entry.minutes
        );
    }
    if entry.site.is_some() || entry.terminal.is_some() {
        let paths = project.paths();
        let (inventory, diags) = crate::inventory::load(&paths.inventory);
        if diags.has_errors() {
            print_diagnostics(&diags);
            return Ok(ExitCode::from(1));
        }
        check_known("site", entry.site.as_deref(), inventory.sites.keys())?;
        check_known(
            "terminal",
            entry.terminal.as_deref(),
            inventory.terminals.keys(),
        )?;
    }
    let root = &project.project;
    let roster = args.journal.roster_path(root);
    let passphrases = operator::ask_passphrases(args.sign_key.iter())?;
    let (signer, name) =
        operator::operator_signer(&roster, args.sign_key, &passphrases, "log work")?;
    // The entry writes a journal: one writer per project.
    let run = operator::run_id();
    let _lock = ProjectLock::acquire(root, &LockHolder::this_process(&run, &name, "log work"))?;
    let path = operator::single_record_journal(
        &args.journal.logs_dir(root),
        &run,
        signer,
        Record::WorkLog(entry),
    )
    .context("the work entry could not be journaled")?;
    Printer::get().status(format_args!(
        "work by {name} recorded in {} (signed; check with `seibi journal verify`)",
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Refuses an id the inventory does not have, with the closest one as a hint.
fn check_known<'a>(
    what: &str,
    id: Option<&str>,
    known: impl Iterator<Item = &'a String> + Clone,
) -> anyhow::Result<()> {
    let Some(id) = id else { return Ok(()) };
    if known.clone().any(|k| k == id) {
        return Ok(());
    }
    let mut message = format!("no {what} `{id}` in the inventory");
    if let Some(best) = crate::source::closest(id, known.map(String::as_str)) {
        message.push_str(&format!("\n  = hint: did you mean `{best}`?"));
    }
    bail!(message)
}
