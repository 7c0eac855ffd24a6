//! `seibi approve PLAN.json`: an approver on the roster signs a saved plan's digest.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Printer;
use super::journal::{load_roster, under};
use super::{ProjectArgs, print_diagnostics};
use crate::approval::{self, approvals_path};
use crate::plan::{self, Plan};
use crate::project::Project;

/// Arguments of `seibi approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The saved plan (`seibi plan --format json -o FILE`).
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// The approver's SSH private key (ed25519 or ECDSA) [default: the first key in ssh-agent
    /// that belongs to an approver on the roster].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The roster [default: PROJECT/roster.yml].
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
}

/// Checks the plan, signs it and adds the approval to `PLAN.json.approvals`. Exit status 1 when
/// the plan is edited or stale, or the key is not an approver's.
pub fn run(args: ApproveArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("cannot read the plan {}", args.plan.display()))?;
    let plan = match Plan::from_json(&text) {
        Ok(plan) => plan,
        Err(e) => {
            Printer::get().error(format_args!(
                "error: {}: {e}\nnothing was signed",
                args.plan.display()
            ));
            return Ok(ExitCode::from(1));
        }
    };
    let Some(roster) = load_roster(args.roster.clone(), &project.project) else {
        return Ok(ExitCode::from(1));
    };
    // With the project at hand, approve only a plan it still produces: approving a stale plan
    // would only be refused at apply time.
    let paths = project.paths();
    if paths.inventory.exists() {
        let (loaded, diags) = Project::load(paths);
        let Some(loaded) = loaded else {
            print_diagnostics(&diags);
            Printer::get().error(format_args!(
                "error: the project has problems, so whether the plan is current cannot be checked; nothing was signed"
            ));
            return Ok(ExitCode::from(1));
        };
        match plan::build(&loaded, &plan.request) {
            Ok(fresh) if fresh.digest == plan.digest => {}
            Ok(fresh) => {
                Printer::get().error(format_args!(
                    "error: the plan {} is stale: its inputs changed since it was made\n{}\nhint: make a new plan (`seibi plan --format json -o {}`) and approve that; nothing was signed",
                    args.plan.display(),
                    plan::changed_inputs(&plan, &fresh)
                        .iter()
                        .map(|c| format!("  - {c}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    args.plan.display()
                ));
                return Ok(ExitCode::from(1));
            }
            Err(diags) => {
                print_diagnostics(&diags);
                Printer::get().error(format_args!(
                    "error: the plan can no longer be made from this project; nothing was signed"
                ));
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        Printer::get().status(format_args!(
            "note: no project at {}: the plan's digest is checked, but not whether the project still produces it",
            under(&project.project, "inventory").display()
        ));
    }
    Printer::get().status(format_args!(
        "plan {}: {} ({} terminals at {} sites)",
        plan.digest,
        plan.jobs
            .iter()
            .map(|j| format!("{} {}", j.id, j.title))
            .collect::<Vec<_>>()
            .join(", "),
        plan.totals.terminals,
        plan.totals.sites
    ));
    let now = jiff::Timestamp::now();
    let result = approval::approver_signer(&roster, args.key.as_deref(), now).and_then(
        |(signer, person)| approval::approve(&args.plan, &plan, &roster, &signer, &person, now),
    );
    let info = match result {
        Ok(info) => info,
        Err(e) => {
            Printer::get().error(format_args!("error: {e}"));
            return Ok(ExitCode::from(1));
        }
    };
    let required = roster.approvals_required();
    let approvers = approval::review(&args.plan, &plan, &roster, now)?
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok().map(|a| a.approver.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Printer::get().out(format_args!(
        "approved plan {} as {} ({}) with key {}; {approvers} of {required} required approval{} in {}",
        plan.digest,
        info.name,
        info.approver,
        info.key,
        if required == 1 { "" } else { "s" },
        approvals_path(&args.plan).display()
    ));
    Ok(ExitCode::SUCCESS)
}
