//! `seibi journal verify`, `seibi journal show` and `seibi journal seal`: check journals against
//! the roster, show what a run did, and sign the tail of a run that died before it could.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::Printer;
use super::{ProjectArgs, print_diagnostics};
use crate::journal::{self, VerifyReport};
use crate::roster::{ROSTER_FILE, Roster};
use crate::run::lock::{Holder as LockHolder, ProjectLock};

/// `seibi journal <command>`.
#[derive(clap::Subcommand, Debug)]
pub enum JournalCommand {
    /// Check hash chains and checkpoint signatures against the roster; exit 1 on any problem.
    Verify(VerifyArgs),
    /// Show what a run did, per terminal, and whether its journal verifies.
    Show(ShowArgs),
    /// Sign the tail of a run that died before its last checkpoint (even after its run_end),
    /// so that its journal verifies again and shows the late seal; refused for a tampered
    /// journal.
    Seal(SealArgs),
}

/// `seibi journal seal`.
#[derive(clap::Args, Debug)]
pub struct SealArgs {
    /// The run id (`logs/<RUN>.jsonl`) or its journal file.
    pub run: String,
    /// The sealing operator's SSH private key; it must be on the roster [default: ssh-agent].
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// Where the roster and the journals are.
    #[command(flatten)]
    pub journal: super::operator::JournalArgs,
}

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For machines.
    Json,
}

/// `seibi journal verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Journal files (default: every `logs/*.jsonl` of the project).
    pub files: Vec<PathBuf>,
    /// The roster (default: `roster.yml` at the project root).
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `seibi journal show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// A run id (`logs/<RUN>.jsonl`) or a journal file.
    pub run: String,
    /// The roster (default: `roster.yml` at the project root).
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `seibi journal <command>`. Exit status 1 when a journal has problems or the roster
/// cannot be loaded.
pub fn run(command: JournalCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let root = &project.project;
    match command {
        JournalCommand::Verify(a) => verify(a, root),
        JournalCommand::Show(a) => show(a, root),
        JournalCommand::Seal(a) => seal(a, root),
    }
}

/// `name` under the project root, written short when the root is `.`.
pub(crate) fn under(root: &Path, name: &str) -> PathBuf {
    if root == Path::new(".") {
        PathBuf::from(name)
    } else {
        root.join(name)
    }
}

/// Loads the roster, or prints why not.
pub(crate) fn load_roster(given: Option<PathBuf>, root: &Path) -> Option<Roster> {
    let path = given.unwrap_or_else(|| under(root, ROSTER_FILE));
    match Roster::load(&path) {
        Ok(roster) => Some(roster),
        Err(err) => {
            print_diagnostics(&err.diagnostics);
            None
        }
    }
}

/// The journals in the project's `logs/`, sorted by name.
pub fn project_journals(project: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = under(project, "logs");
    std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list journals in {}", dir.display()))?;
    Ok(journal::files_in(&dir))
}

fn verify(args: VerifyArgs, project: &Path) -> anyhow::Result<ExitCode> {
    let Some(roster) = load_roster(args.roster, project) else {
        return Ok(ExitCode::FAILURE);
    };
    let files = if args.files.is_empty() {
        project_journals(project)?
    } else {
        args.files
    };
    if files.is_empty() {
        bail!(
            "no journals to verify in {}; pass journal files explicitly",
            under(project, "logs").display()
        );
    }
    let reports: Vec<VerifyReport> = files.iter().map(|f| journal::verify(f, &roster)).collect();
    let mut out = Printer::get().stdout();
    match args.format {
        Format::Text => {
            for r in &reports {
                write!(out, "{r}")?;
            }
            let bad = reports.iter().filter(|r| !r.is_ok()).count();
            if reports.len() > 1 {
                writeln!(out, "{} journals, {bad} with problems", reports.len())?;
            }
        }
        Format::Json => {
            let all: Vec<serde_json::Value> = reports.iter().map(VerifyReport::to_json).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
        }
    }
    Ok(if reports.iter().all(VerifyReport::is_ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Finds the journal for a run id or a file path.
pub(crate) fn find_journal(run: &str, project: &Path) -> anyhow::Result<PathBuf> {
    let as_path = PathBuf::from(run);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let in_logs = under(project, "logs").join(format!("{run}.{}", journal::EXTENSION));
    if in_logs.is_file() {
        return Ok(in_logs);
    }
    let known: Vec<String> = project_journals(project)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut message = format!(
        "no journal for run `{run}` in {}",
        under(project, "logs").display()
    );
    if let Some(best) = crate::source::closest(run, known.iter().map(String::as_str)) {
        message.push_str(&format!("\n  = hint: did you mean `{best}`?"));
    }
    bail!(message)
}

fn show(args: ShowArgs, project: &Path) -> anyhow::Result<ExitCode> {
    let path = find_journal(&args.run, project)?;
    let run =
        journal::read_run(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let roster_path = args.roster.unwrap_or_else(|| under(project, ROSTER_FILE));
    let report = Roster::load(&roster_path).map(|r| journal::verify(&path, &r));
    let mut out = Printer::get().stdout();
    match args.format {
        Format::Text => {
            write!(out, "{}", journal::render_run(&run))?;
            out.write_all(b"\n")?;
            match &report {
                Ok(r) => write!(out, "{r}")?,
                Err(err) => writeln!(out, "integrity not checked: cannot load the roster:\n{err}")?,
            }
        }
        Format::Json => {
            let value = serde_json::json!({
                "run": run,
                "verification": report.as_ref().ok().map(VerifyReport::to_json),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
    }
    Ok(match report {
        Ok(r) if !r.is_ok() => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

/// Seals a journal whose run died before signing its tail: the sealing operator's key (on the
/// roster) signs it, under the project lock (no run may be writing it).
fn seal(args: SealArgs, project: &Path) -> anyhow::Result<ExitCode> {
    let path = match args.journal.logs.as_ref() {
        Some(logs) if !PathBuf::from(&args.run).is_file() => {
            logs.join(format!("{}.{}", args.run, journal::EXTENSION))
        }
        _ => find_journal(&args.run, project)?,
    };
    let roster = args.journal.roster_path(project);
    let passphrases = super::operator::ask_passphrases(args.sign_key.iter())?;
    let (signer, name) =
        super::operator::operator_signer(&roster, args.sign_key, &passphrases, "seal journals")?;
    let run = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _lock = match ProjectLock::acquire(
        project,
        &LockHolder::this_process(&run, &name, "journal seal"),
    ) {
        Ok(lock) => lock,
        Err(e) => {
            Printer::get().error(format_args!("error: {e}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    match journal::JournalWriter::seal(&path, signer) {
        Ok(seq) => {
            Printer::get().status(format_args!(
                "sealed {} by {name} (checkpoint seq {seq}); `seibi journal verify` shows the late seal",
                path.display()
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            Printer::get().error(format_args!("error: {e}\nnothing was written"));
            Ok(ExitCode::FAILURE)
        }
    }
}
