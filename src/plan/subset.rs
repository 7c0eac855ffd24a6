//! A part of an approved plan: `seibi apply --plan P --job J --site S ...`.
//!
//! The part is a projection of the saved plan, not a new plan: the same digest (so the approval
//! of the whole covers it), the same tasks with the same arguments, only fewer sites, terminals
//! and units. Selectors follow the plan's rules (entries within one field are alternatives,
//! fields combine with AND, `exclude` removes terminals); every name given must match
//! something in the plan, or nothing runs.

use crate::inventory::{Inventory, Selector};
use crate::source::{Diagnostic, Diagnostics};

use super::Plan;

/// The selectors of a part of a plan, as given on the command line; the journal's `run_start`
/// records them (`selection`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    /// Job ids (any of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<String>,
    /// Terminal selector (sites, groups, tags, terminals, exclude).
    #[serde(default, skip_serializing_if = "Selector::is_everything")]
    pub terminals: Selector,
}

impl Part {
    /// Whether it selects the whole plan.
    pub fn is_whole(&self) -> bool {
        self.jobs.is_empty() && self.terminals.is_everything()
    }
}

/// The part of `plan` that `part` selects, its terminals judged by `inventory` (groups and tags
/// are the inventory's; the plan's inputs pin the inventory, so it is the one the plan was made
/// from). Errors name every selector that matches nothing in the plan, with a "did you mean".
pub fn project(plan: &Plan, part: &Part, inventory: &Inventory) -> Result<Plan, Diagnostics> {
    let mut problems = Vec::new();
    let plan_jobs: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
    for job in &part.jobs {
        if !plan_jobs.iter().any(|id| names(job, id)) {
            problems.push(
                Diagnostic::error(format!("--job `{job}` is not a job of this plan"))
                    .did_you_mean(job, plan_jobs.clone()),
            );
        }
    }
    let planned: Vec<(&str, &str)> = plan
        .sites
        .iter()
        .flat_map(|s| {
            s.terminals
                .iter()
                .map(move |t| (s.id.as_str(), t.id.as_str()))
        })
        .collect();
    let selected = |site: &str, id: &str| {
        inventory
            .terminals
            .get(id)
            .is_some_and(|t| t.site == site && part.terminals.matches(inventory, t))
    };
    let check_names = |what: &str, names: &[String], hit: &dyn Fn(&str, &str, &str) -> bool| {
        let mut out = Vec::new();
        for name in names {
            if !planned.iter().any(|(s, t)| hit(name, s, t)) {
                out.push(Diagnostic::error(format!(
                    "--{what} `{name}` matches no terminal of this plan"
                )));
            }
        }
        out
    };
    let sel = &part.terminals;
    problems.extend(check_names("site", &sel.sites, &|n, s, _| n == s));
    problems.extend(check_names("terminal", &sel.terminals, &|n, _, t| n == t));
    problems.extend(check_names("exclude", &sel.exclude, &|n, _, t| n == t));
    problems.extend(check_names("group", &sel.groups, &|n, _, t| {
        inventory
            .terminals
            .get(t)
            .is_some_and(|term| inventory.groups_of(term).iter().any(|g| g.id == n))
    }));
    problems.extend(check_names("tag", &sel.tags, &|n, _, t| {
        inventory
            .terminals
            .get(t)
            .is_some_and(|term| term.tags.iter().any(|tag| tag == n))
    }));
    if !problems.is_empty() {
        let mut diags = Diagnostics::new();
        for p in problems {
            diags.push(p);
        }
        return Err(diags);
    }
    let mut out = plan.clone();
    let in_part = |job: &str| part.jobs.is_empty() || part.jobs.iter().any(|j| names(j, job));
    out.jobs.retain(|j| in_part(&j.id));
    for site in &mut out.sites {
        let site_id = site.id.clone();
        site.terminals.retain(|t| selected(&site_id, &t.id));
        for terminal in site.terminals.iter_mut() {
            terminal.tasks.retain(|t| in_part(&t.job));
            terminal.jobs.retain(|j| in_part(j));
        }
        site.terminals.retain(|t| !t.tasks.is_empty());
    }
    out.sites.retain(|s| !s.terminals.is_empty());
    if out.sites.is_empty() {
        let mut diags = Diagnostics::new();
        diags.push(Diagnostic::error(
            "this selection leaves nothing of the plan: no selected job targets a selected terminal",
        ));
        return Err(diags);
    }
    out.totals.sites = out.sites.len();
    out.totals.terminals = out.sites.iter().map(|s| s.terminals.len()).sum();
    out.totals.jobs = out.jobs.len();
    out.totals.tasks = out
        .sites
        .iter()
        .flat_map(|s| &s.terminals)
        .map(|t| t.tasks.len())
        .sum();
    Ok(out)
}

/// Whether `--job given` names the plan's job `id`: the job itself or, for a recurring job, any
/// of its occurrences in the plan (`monthly-inspection` names `monthly-inspection@2026-10`).
fn names(given: &str, id: &str) -> bool {
    id == given
        || id
            .strip_prefix(given)
            .is_some_and(|rest| rest.starts_with('@'))
}
