//! The `seibi` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use seibi::cli::{self, Printer, ProjectArgs};

/// seibi (整備): declarative upkeep of a city's ward-office terminals.
#[derive(Debug, Parser)]
#[command(name = "seibi", version, about, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    project: ProjectArgs,
    /// Hide status messages (errors, warnings and the command's output still show).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate inventory, playbooks and templates; report every problem.
    Check(cli::check::CheckArgs),
    /// Show what would be done (the dry run), as text, JSON or a procedure document.
    Plan(cli::plan::PlanArgs),
    /// Carry out the plan on the terminals over SSH (or `--check` what would change).
    Apply(Box<cli::apply::ApplyArgs>),
    /// Approve a saved plan: sign its digest with an approver's key from the roster.
    Approve(cli::approve::ApproveArgs),
    /// Documents for the city: 作業手順書, 作業報告書, 月次報告書 (Markdown or .xlsx).
    #[command(subcommand)]
    Report(cli::report::ReportCommand),
    /// Collect terminals' host keys for review, and pin reviewed ones.
    #[command(subcommand)]
    Hosts(cli::hosts::HostsCommand),
    /// Show business days and office hours of a month.
    Calendar(cli::calendar::CalendarArgs),
    /// The age-encrypted secrets store: init, edit, show, set, recipients, rekey, lint, reveal.
    Secrets(cli::secrets::SecretsArgs),
    /// Verify and show signed execution journals.
    #[command(subcommand)]
    Journal(cli::journal::JournalCommand),
    /// The roster of operators and approvers (従事者名簿).
    #[command(subcommand)]
    Roster(cli::roster::RosterCommand),
    /// Read-only reports for auditors: password rotations, overdue terminals.
    #[command(subcommand)]
    Audit(cli::audit::AuditCommand),
    /// How far a saved plan has got across its runs; exit status 3 while it is not complete.
    Status(cli::status::StatusArgs),
    /// Show terminals as seibi reads them, with where each variable comes from.
    #[command(subcommand)]
    Inventory(cli::inventory::InventoryCommand),
    /// Recurring duties per occurrence and terminal: done, due, overdue or missed.
    Duties(cli::duties::DutiesArgs),
    /// Record work that was not done on a machine (inquiries, investigations, meetings).
    #[command(subcommand)]
    Log(cli::log::LogCommand),
    /// Disposable local SSH terminals to rehearse jobs on.
    #[command(subcommand)]
    Lab(cli::lab::LabCommand),
}

fn main() -> ExitCode {
    // clap's own `exit` would panic writing help to a closed pipe: print, ignore, exit.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    let printer = Printer::install(cli.quiet);
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args, &cli.project),
        Command::Plan(args) => cli::plan::run(args, &cli.project),
        Command::Apply(args) => cli::apply::run(*args, &cli.project),
        Command::Approve(args) => cli::approve::run(args, &cli.project),
        Command::Report(command) => cli::report::run(command, &cli.project),
        Command::Hosts(command) => cli::hosts::run(command, &cli.project),
        Command::Calendar(args) => cli::calendar::run(args, &cli.project),
        Command::Secrets(args) => cli::secrets::run(args, &cli.project.project),
        Command::Journal(command) => cli::journal::run(command, &cli.project),
        Command::Roster(command) => cli::roster::run(command, &cli.project),
        Command::Audit(command) => cli::audit::run(command, &cli.project),
        Command::Status(args) => cli::status::run(args, &cli.project),
        Command::Lab(command) => cli::lab::run(command, &cli.project),
        Command::Inventory(command) => cli::inventory::run(command, &cli.project),
        Command::Duties(args) => cli::duties::run(args, &cli.project),
        Command::Log(command) => cli::log::run(command, &cli.project),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            printer.error(format_args!("error: {err:#}"));
            ExitCode::from(1)
        }
    }
}
