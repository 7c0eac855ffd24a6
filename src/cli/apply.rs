//! `seibi apply`: carry out a plan on the terminals, over SSH, in parallel.
//!
//! A real run keeps to the sites' office hours (see [`crate::run::window`]): it is refused when
//! every site of the plan is closed, starts a terminal only if its visit can finish before its
//! site closes, and at closing time pauses with the journal left open, saying how to resume
//! (`--resume RUN`, exit status 6). `--outside-window --reason "..."` works regardless, and the
//! reason is recorded in the journal. `--check` changes nothing and is not held to the hours.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::plan::SelectionArgs;
use super::printer::Printer;
use super::{ProjectArgs, operator, print_diagnostics};
use crate::action::{ApplyEnv, LocalArtifact};
use crate::inventory::Selector;
use crate::journal::read_run;
use crate::journal::record::Selection;
use crate::plan::subset;
use crate::plan::{self, Plan};
use crate::project::Project;
use crate::report::{PlainReporter, Reporter, progress::ProgressReporter};
use crate::run::connector::terminal_key_path;
use crate::run::session::{self, RunKind, Session, SessionEnd, SessionError, SessionRequest};
use crate::run::{ApplyOptions, RunExit, SshSettings, StopReason, WindowPolicy};
use crate::schedule::Calendars;
use crate::secrets::{Identity, SecretsStore};
use crate::transport::{Credentials, KnownHosts};

/// How to show progress.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProgressMode {
    /// Bars when standard error is a terminal, lines otherwise.
    Auto,
    /// Progress bars.
    Bars,
    /// One line per finished unit.
    Plain,
}

/// Arguments of `seibi apply`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("emergency").args(["outside_window", "unapproved"]).multiple(true)))]
pub struct ApplyArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    /// Apply a saved plan (`seibi plan --format json -o FILE`); refused if its inputs changed.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Change nothing: query every task and report what would change.
    #[arg(long)]
    check: bool,
    /// Show file differences (secrets redacted).
    #[arg(long)]
    diff: bool,
    /// Stop starting work after the first failure.
    #[arg(long)]
    fail_fast: bool,
    /// At most this many terminals at once, all sites together.
    #[arg(long, default_value_t = 200, value_name = "N")]
    forks: usize,
    /// SSH private key (ed25519 or ECDSA; repeatable) [default: ~/.ssh/id_ed25519, id_ecdsa];
    /// ssh-agent is used too when SSH_AUTH_SOCK is set.
    #[arg(long = "key", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// Pinned host keys [default: PROJECT/known_hosts, else ~/.ssh/known_hosts].
    #[arg(long, value_name = "FILE")]
    known_hosts: Option<PathBuf>,
    /// Identity that can read the secrets store (age identity or SSH key).
    #[arg(long, env = "SEIBI_IDENTITY", value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Where fetched logs and inspection facts go [default: PROJECT/collected].
    #[arg(long, value_name = "DIR")]
    collect_dir: Option<PathBuf>,
    /// Virus scanner for media that ask for a scan [default: clamscan].
    #[arg(long, value_name = "COMMAND")]
    scanner: Option<String>,
    /// Seconds for one connection attempt.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    connect_timeout: u64,
    /// How to show progress.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressMode,
    /// The operator's SSH private key that signs the journal; it must be on the roster
    /// [default: the first --key, else ssh-agent].
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    #[command(flatten)]
    journal: operator::JournalArgs,
    /// Continue an interrupted run from its journal (`logs/RUN.jsonl`): finished units are not
    /// run again; a unit with an intent but no result is queried again before anything changes.
    /// A run that ended but died before signing its last records is sealed instead.
    #[arg(long, value_name = "RUN")]
    resume: Option<String>,
    /// Seconds to wait for a terminal that another run holds before reporting it busy.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    lease_wait: u64,
    /// Seconds to wait on a terminal for commands of an interrupted run to end before
    /// reporting it busy.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    commands_wait: u64,
    /// Work regardless of the sites' office hours (an emergency); needs --reason, which is
    /// recorded in the journal.
    #[arg(long, requires = "reason")]
    outside_window: bool,
    /// Emergency work: apply without an approved plan. Needs --reason; the journal and every
    /// report record it.
    #[arg(long, requires = "reason")]
    unapproved: bool,
    /// Why the work cannot wait (for --outside-window and/or --unapproved); recorded in the
    /// journal.
    #[arg(long, value_name = "TEXT", requires = "emergency")]
    reason: Option<String>,
}

/// `seibi apply`: arguments -> request -> [`Session::run`] -> exit code.
pub fn run(args: ApplyArgs, project_args: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let (loaded, diags) = Project::load(project_args.paths());
    let Some(project) = loaded else {
        print_diagnostics(&diags);
        Printer::get().error(format_args!(
            "nothing was changed: fix the problems above (`seibi check`) and try again"
        ));
        return Ok(ExitCode::from(1));
    };
    let logs = args.journal.logs_dir(&project.paths.root);
    let whole = match &args.plan {
        Some(path) => match load_saved_plan(&project, path)? {
            Ok(plan) => plan,
            Err(message) => {
                Printer::get().error(format_args!("error: {message}"));
                return Ok(ExitCode::from(1));
            }
        },
        None => match plan::build(&project, &args.selection.request()) {
            Ok(plan) => plan,
            Err(diags) => {
                print_diagnostics(&diags);
                return Ok(ExitCode::from(1));
            }
        },
    };
    let Some((plan, selection)) = part_of_plan(&project, &whole, &args, &logs)? else {
        return Ok(ExitCode::from(1));
    };
    if plan.totals.terminals == 0 {
        Printer::get().status(format_args!(
            "nothing to do: the selection matches no terminal"
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let window = window_policy(&project, &plan, &args)?;
    // Approval (docs/approval.md): a saved plan needs enough valid approvals (a part of it is
    // covered by the approval of the whole); anything else needs `--unapproved --reason`.
    let authorization = match crate::approval::authorize_apply(
        &whole,
        args.plan.as_deref(),
        &args.journal.roster_path(&project.paths.root),
        args.check,
        args.unapproved
            .then(|| args.reason.as_deref().unwrap_or("")),
    ) {
        Ok(authorization) => authorization,
        Err(e) => {
            Printer::get().error(format_args!("error: {e}\nnothing was changed"));
            return Ok(ExitCode::from(1));
        }
    };
    Printer::get().status(format_args!("{}", authorization.describe()));
    // The terminals' own key files (Ansible's `ansible_ssh_private_key_file`), asked for with
    // the others before anything connects.
    let terminal_keys: BTreeSet<PathBuf> = plan
        .sites
        .iter()
        .flat_map(|s| &s.terminals)
        .filter_map(|t| t.key_file.as_deref())
        .map(|k| terminal_key_path(&project.paths.root, k))
        .collect();
    let passphrases = operator::ask_passphrases(
        args.keys
            .iter()
            .chain(args.sign_key.iter())
            .chain(terminal_keys.iter()),
    )?;
    let roster_path = args.journal.roster_path(&project.paths.root);
    let sign_key = args.sign_key.clone().or_else(|| args.keys.first().cloned());
    let (signer, operator_name) =
        operator::operator_signer(&roster_path, sign_key, &passphrases, "apply")?;
    // Everything that can refuse the run (secrets, keys, known_hosts) is checked before the
    // journal is created, so a refused run leaves no unfinished journal behind.
    let env = apply_env(&project, &plan, &args)?;
    let ssh = ssh_settings(&project, &plan, &args, &passphrases)?;
    let kind = match &args.resume {
        Some(run) => RunKind::Resume(run.clone()),
        None => RunKind::New(operator::run_id()),
    };
    Printer::get().status(format_args!("run {} by {operator_name}", kind.id()));
    let request = SessionRequest {
        project_root: project.paths.root.clone(),
        logs,
        plan,
        selection,
        authorization,
        kind,
        outside_window: args
            .outside_window
            .then(|| args.reason.clone().unwrap_or_default()),
        options: ApplyOptions {
            check: args.check,
            fail_fast: args.fail_fast,
            max_terminals: args.forks.max(1),
            window,
        },
        env,
        ssh,
        lease_wait: Duration::from_secs(args.lease_wait),
        commands_wait: Duration::from_secs(args.commands_wait),
        signer: Some(signer),
        operator: operator_name,
    };
    let bars = match args.progress {
        ProgressMode::Auto => std::io::stderr().is_terminal(),
        ProgressMode::Bars => true,
        ProgressMode::Plain => false,
    };
    let mut reporter: Box<dyn Reporter> = if bars {
        Box::new(ProgressReporter::new(args.diff))
    } else {
        Box::new(PlainReporter::new(Printer::get().stdout(), args.diff))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(Session::run(request, reporter.as_mut())) {
        Ok(end) => Ok(ExitCode::from(report_end(&end))),
        Err(SessionError::Locked(e)) => {
            Printer::get().error(format_args!("error: {e}"));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// Says how the session ended; returns the exit status.
fn report_end(end: &SessionEnd) -> u8 {
    match end {
        SessionEnd::Sealed { run, journal, seq } => {
            Printer::get().status(format_args!(
                "run {run} had ended but died before signing its last records: sealed them (checkpoint seq {seq}); verify with `seibi journal verify {}`",
                journal.display()
            ));
            0
        }
        SessionEnd::Ran {
            summary,
            run,
            journal,
            left_open,
        } => {
            let exit = summary.exit();
            if let Some(StopReason::Journal(_)) = &summary.stopped {
                if let Some(why) = &summary.stopped {
                    Printer::get().error(format_args!(
                        "error: {why}\nresume with: seibi apply --resume {run}"
                    ));
                }
            } else if *left_open {
                Printer::get().status(format_args!(
                    "journal: {} (left open: resume in the next window with `seibi apply --resume {run}`)",
                    journal.display()
                ));
            } else {
                Printer::get().status(format_args!(
                    "journal: {} (verify with `seibi journal verify {}`)",
                    journal.display(),
                    journal.display()
                ));
            }
            if exit == RunExit::Busy {
                Printer::get().error(format_args!(
                    "some terminals are busy with another run (see above); apply the plan again when it has finished: finished units are not repeated"
                ));
            }
            exit.code()
        }
    }
}

/// The part of `whole` this run applies, and the selection to record: `--job/--site/...` with
/// `--plan` select a part of the saved plan; a resumed run applies the part its journal names.
/// `None` when the selection is refused (the reasons are printed).
fn part_of_plan(
    project: &Project,
    whole: &Plan,
    args: &ApplyArgs,
    logs: &Path,
) -> anyhow::Result<Option<(Plan, Option<Selection>)>> {
    let given = selection_of(&args.selection);
    let selection = match &args.resume {
        Some(run) => {
            let path = session::journal_path(logs, run);
            let recorded = read_run(&path)
                .with_context(|| format!("cannot read the journal {}", path.display()))?
                .start
                .and_then(|(_, s)| s.selection);
            if args.plan.is_some() && !given.is_whole() && Some(&given) != recorded.as_ref() {
                Printer::get().error(format_args!(
                    "error: run {run} applied {}; resume it without selectors (or with the same ones)",
                    recorded
                        .as_ref()
                        .map_or("the whole plan".to_string(), |s| format!("the part {s:?}"))
                ));
                return Ok(None);
            }
            recorded
        }
        // Without --plan the selectors made the plan itself.
        None if args.plan.is_none() || given.is_whole() => None,
        None => Some(given),
    };
    let Some(part) = selection else {
        return Ok(Some((whole.clone(), None)));
    };
    match subset::project(whole, &part, &project.inventory) {
        Ok(plan) => Ok(Some((plan, Some(part)))),
        Err(diags) => {
            print_diagnostics(&diags);
            Printer::get().status(format_args!(
                "nothing was changed: select only what the plan holds (`seibi plan` shows it)"
            ));
            Ok(None)
        }
    }
}

/// The selectors given on the command line, as the journal records them.
fn selection_of(args: &SelectionArgs) -> Selection {
    Selection {
        jobs: args.jobs.clone(),
        terminals: Selector {
            sites: args.sites.clone(),
            groups: args.groups.clone(),
            tags: args.tags.clone(),
            terminals: args.terminals.clone(),
            exclude: args.exclude.clone(),
        },
    }
}

/// The office hours a run keeps to (`None` for `--check` and `--outside-window`); refused when
/// every site of the plan is closed now.
fn window_policy(
    project: &Project,
    plan: &Plan,
    args: &ApplyArgs,
) -> anyhow::Result<Option<WindowPolicy>> {
    if args.check || args.outside_window {
        return Ok(None);
    }
    // The plan's approved out-of-hours windows (with the city's prior consent) open the sites
    // as their office hours do.
    let policy = WindowPolicy::new(Calendars::from_inventory(&project.inventory)?)
        .with_approved_windows(plan.approved_windows());
    let closed: Vec<(String, String)> = plan
        .sites
        .iter()
        .filter_map(|s| policy.closed(&s.id).map(|why| (s.id.clone(), why)))
        .collect();
    if closed.len() < plan.sites.len() {
        return Ok(Some(policy));
    }
    let mut message = "every site in this plan is outside its office hours now:".to_string();
    for (site, why) in &closed {
        message.push_str(&format!("\n  {site}: {why}"));
        if let Some(w) = policy.next_window(site) {
            message.push_str(&format!(
                "; next window {} {}-{}",
                w.date().strftime("%Y-%m-%d %a"),
                w.start().strftime("%H:%M"),
                w.end().strftime("%H:%M")
            ));
        }
    }
    bail!(
        "{message}\nnothing was changed: run during office hours, or pass --outside-window \
         --reason \"...\" (the reason is recorded in the journal)"
    )
}

/// Reads a saved plan and checks that the project still produces exactly it.
fn load_saved_plan(project: &Project, path: &Path) -> anyhow::Result<Result<Plan, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan {}", path.display()))?;
    let saved = match Plan::from_json(&text) {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
    };
    let fresh = match plan::build(project, &saved.request) {
        Ok(p) => p,
        Err(diags) => {
            print_diagnostics(&diags);
            return Ok(Err(format!(
                "the plan {} can no longer be made from this project",
                path.display()
            )));
        }
    };
    if fresh.digest == saved.digest {
        return Ok(Ok(saved));
    }
    let changes = plan::changed_inputs(&saved, &fresh);
    Ok(Err(format!(
        "the plan {} is stale: its inputs changed since it was made\n{}\nhint: make a new plan with `seibi plan --format json -o {}` and have it approved again",
        path.display(),
        changes
            .iter()
            .map(|c| format!("  - {c}"))
            .collect::<Vec<_>>()
            .join("\n"),
        path.display()
    )))
}

fn apply_env(project: &Project, plan: &Plan, args: &ApplyArgs) -> anyhow::Result<ApplyEnv> {
    let root = &project.paths.root;
    let mut artifacts = BTreeMap::new();
    for a in &plan.inputs.artifacts {
        artifacts.insert(
            (a.job.clone(), a.name.clone()),
            LocalArtifact {
                path: root.join(&a.path),
                sha256: a.sha256.clone(),
            },
        );
    }
    let mut secrets = BTreeMap::new();
    let needs_store = !plan.inputs.secrets.is_empty();
    if needs_store {
        let Some(identity_path) = &args.identity else {
            bail!(
                "this plan uses secrets ({}): pass --identity FILE (or set SEIBI_IDENTITY) with a key that can read {}",
                plan.inputs
                    .secrets
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                project.paths.secrets.display()
            );
        };
        let identity = Identity::from_file(identity_path)?;
        let store = SecretsStore::open(&project.paths.secrets, Some(identity))?;
        for pin in &plan.inputs.secrets {
            let value = store.get(&pin.name)?;
            secrets.insert(pin.name.clone(), Arc::new(value));
        }
    }
    let has_store = project.paths.secrets.join("recipients.txt").is_file();
    Ok(ApplyEnv {
        project_root: root.clone(),
        collect_root: args
            .collect_dir
            .clone()
            .unwrap_or_else(|| root.join("collected")),
        artifacts,
        secrets,
        secrets_dir: has_store.then(|| project.paths.secrets.clone()),
        scanner: args.scanner.clone(),
        // Both set by the session: the roster's operator and the run's id.
        operator: String::new(),
        run_id: String::new(),
    })
}

fn ssh_settings(
    project: &Project,
    plan: &Plan,
    args: &ApplyArgs,
    passphrases: &operator::Passphrases,
) -> anyhow::Result<SshSettings> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut credentials = Credentials::default();
    let keys: Vec<PathBuf> = if args.keys.is_empty() {
        ["id_ed25519", "id_ecdsa"]
            .iter()
            .map(|k| home.join(".ssh").join(k))
            .filter(|p| p.is_file())
            .collect()
    } else {
        args.keys.clone()
    };
    for k in keys {
        let passphrase = passphrases.get(&k).cloned();
        credentials = credentials.with_key_file(k, passphrase);
    }
    credentials = credentials.with_agent_from_env();
    let every_terminal_has_its_key = plan
        .sites
        .iter()
        .flat_map(|s| &s.terminals)
        .all(|t| t.key_file.is_some());
    if credentials.is_empty() && !every_terminal_has_its_key {
        bail!(
            "no SSH credentials: pass --key FILE (ed25519 or ECDSA) or start ssh-agent (SSH_AUTH_SOCK)"
        );
    }
    let known_hosts_path = match &args.known_hosts {
        Some(p) => p.clone(),
        None => {
            let project_file = project.paths.root.join("known_hosts");
            if project_file.is_file() {
                project_file
            } else {
                home.join(".ssh/known_hosts")
            }
        }
    };
    if !known_hosts_path.is_file() {
        bail!(
            "no known_hosts file at {}: collect the terminals' host keys with `seibi hosts scan`, review them, and `seibi hosts trust` them",
            known_hosts_path.display()
        );
    }
    let known_hosts = KnownHosts::load(&known_hosts_path)?;
    Ok(SshSettings {
        credentials,
        known_hosts: Arc::new(known_hosts),
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        retries: 2,
        known_hosts_path,
        lease: None,
        key_dir: project.paths.root.clone(),
        key_passphrases: passphrases.clone(),
    })
}
