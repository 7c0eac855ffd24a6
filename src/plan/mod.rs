//! The plan: the dry-run document the city approves, and what `apply` will carry out.
//!
//! [`build`] turns a [`Project`] and a [`PlanRequest`] (which jobs, which terminals) into a
//! [`Plan`]: per site, per terminal, the ordered tasks of every selected job with their
//! arguments rendered for that terminal (secrets as placeholders), skipped tasks with the reason,
//! totals, the pinned inputs and a digest. The task order per terminal comes from [`TaskGraph`].
//!
//! With a [`ScheduleRequest`] in the request, the plan also carries a [`PlanSchedule`]: the jobs
//! batched into visits (with the reason for each job's day), estimates (from the journals of
//! past runs where there are any) and the timetable with its deadline check ([`mod@schedule`]).
//!
//! The JSON form of [`Plan`] is a stable, documented schema (`docs/plan.schema.json`,
//! `schema: "seibi.plan/v1"`); [`Plan::from_json`] reads it back and re-checks the digest.

mod digest;
mod graph;
pub mod groups;
mod occurrences;
mod render;
pub mod schedule;
pub mod subset;

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::inventory::{Become, Platform, Selector, Terminal};
use crate::playbook::{Action, Job, JobKind, Provenance, Urgency};
use crate::project::Project;
use crate::source::{Diagnostic, Diagnostics, Location, SourceFile, closest};
use crate::template::{Templates, candidates_for};

pub use crate::language::Language;
pub use digest::canonical_sha256;
pub use graph::{Priority, TaskGraph, TaskKey};
pub use occurrences::period_for;
pub use render::{render_markdown, render_text, render_text_grouped, task_summary};
pub use schedule::{
    DEFAULT_DEADLINE_BUSINESS_DAYS, PlanSchedule, PlannedWindow, ScheduleRequest, finished_runs,
};

/// The schema identifier written in every plan.
pub const SCHEMA: &str = "seibi.plan/v1";

/// Which jobs and terminals to plan for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Job ids; empty means every job.
    pub jobs: Vec<String>,
    /// Narrows every job's targets.
    pub limit: Selector,
    /// Batch the jobs into visits and place them into office hours (absent: no schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRequest>,
    /// The days the plan is for: recurring jobs stand in it as their occurrences due then
    /// (absent: recurring jobs as they are written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<crate::playbook::DateRange>,
}

/// The plan document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `sha256:<hex>` over the canonical JSON of everything else in the plan.
    pub digest: String,
    /// The seibi version that made the plan.
    pub seibi_version: String,
    /// What was asked for.
    pub request: PlanRequest,
    /// Pinned inputs.
    pub inputs: Inputs,
    /// The selected jobs, in the order they run.
    pub jobs: Vec<PlannedJob>,
    /// Per site, the terminals and their tasks.
    pub sites: Vec<PlannedSite>,
    /// Counts.
    pub totals: Totals,
    /// Things worth knowing that do not stop the plan.
    pub warnings: Vec<String>,
    /// Visits, estimates and the timetable, when the request asked for a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<PlanSchedule>,
}

/// Inputs the plan depends on, pinned by digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// SHA-256 of the canonical form of the sites and terminals (with their effective
    /// variables and groups) that the plan touches.
    pub inventory_sha256: String,
    /// Playbook files.
    pub playbooks: Vec<InputFile>,
    /// Template files.
    pub templates: Vec<InputFile>,
    /// Artifacts (verified media).
    pub artifacts: Vec<ArtifactPin>,
    /// Secrets referenced, by name and version (never values).
    pub secrets: Vec<SecretPin>,
    /// The host keys pinned in the project's `known_hosts` for each planned terminal, as
    /// fingerprints: a changed pin makes the plan stale.
    pub host_keys: Vec<HostKeyPin>,
}

/// A terminal's pinned host keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostKeyPin {
    /// Terminal id.
    pub terminal: String,
    /// `SHA256:...` fingerprints pinned for its address and port (terminals without a pin are
    /// not listed).
    pub fingerprints: Vec<String>,
}

/// A file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Path relative to the project.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// A secret the plan uses: its name and the version the store had when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretPin {
    /// Secret name.
    pub name: String,
    /// Version in the store's index; `None` when the project has no secrets store.
    pub version: Option<u64>,
}

/// An artifact the plan ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPin {
    /// Job that ships it.
    pub job: String,
    /// Artifact name.
    pub name: String,
    /// Path relative to the project.
    pub path: String,
    /// Verified SHA-256.
    pub sha256: String,
    /// Package it installs.
    pub package: String,
    /// Version it installs.
    pub version: String,
    /// Whether it is virus-scanned before upload.
    pub scan: bool,
}

/// A job as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedJob {
    /// Job id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind of work.
    pub kind: JobKind,
    /// Who asked for it.
    pub provenance: Provenance,
    /// How soon.
    pub urgency: Urgency,
    /// Not before.
    #[schemars(with = "Option<String>")]
    pub earliest_start: Option<Date>,
    /// Done by.
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Date>,
    /// May be batched with other jobs.
    pub batchable: bool,
    /// Estimated minutes per terminal.
    pub minutes_per_terminal: u32,
    /// Failure share that stops new terminals.
    pub max_fail_percentage: Option<u8>,
    /// Terminals it runs on in this plan.
    pub terminals: usize,
    /// Sites it runs at.
    pub sites: Vec<String>,
}

/// A site as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedSite {
    /// Site id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Terminals worked on at once.
    pub capacity: u32,
    /// Jump host, `user@host:port`.
    pub jump: Option<String>,
    /// Terminals with work.
    pub terminals: Vec<PlannedTerminal>,
    /// Sum of the terminals' estimates.
    pub estimated_minutes: u64,
}

/// A terminal as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTerminal {
    /// Terminal id.
    pub id: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// How commands gain root after logging in (absent: they run as `user`). Left out when
    /// none, so that plans made before `become` existed keep their digests.
    #[serde(rename = "become", default, skip_serializing_if = "Become::is_none")]
    pub become_method: Become,
    /// Platform.
    pub platform: Platform,
    /// The SSH private key this terminal logs in with (Ansible's
    /// `ansible_ssh_private_key_file`), tried before the keys given to `apply`; relative to the
    /// project directory, `~/` for the home directory. Left out when none, so that plans
    /// without one keep their digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Jobs that run here.
    pub jobs: Vec<String>,
    /// Tasks in the order they run.
    pub tasks: Vec<PlannedTask>,
    /// Sum of the jobs' per-terminal estimates.
    pub estimated_minutes: u64,
}

impl PlannedTerminal {
    /// What plans show after the login user: ` (sudo)` when commands run through sudo, else
    /// nothing.
    pub fn become_note(&self) -> String {
        if self.become_method.is_none() {
            String::new()
        } else {
            format!(" ({})", self.become_method)
        }
    }
}

/// One task on one terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTask {
    /// `job/task`.
    pub key: String,
    /// Job id.
    pub job: String,
    /// Task id.
    pub task: String,
    /// Task name.
    pub name: String,
    /// Action name.
    pub action: String,
    /// Arguments rendered for this terminal (secrets as placeholders).
    pub args: serde_json::Value,
    /// Tasks (`job/task`) this one needs on this terminal.
    pub needs: Vec<String>,
    /// Handlers it notifies.
    pub notify: Vec<String>,
    /// Whether this is a handler (runs only when notified).
    pub handler: bool,
    /// Why it will not run here, if it will not.
    pub skip: Option<String>,
}

impl PlannedTask {
    /// A string argument as rendered for the terminal, or `""` when the task has none by that
    /// name.
    pub fn arg(&self, key: &str) -> &str {
        self.args.get(key).and_then(|v| v.as_str()).unwrap_or("")
    }
}

/// Counts over the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Sites with work.
    pub sites: usize,
    /// Terminals with work.
    pub terminals: usize,
    /// Jobs selected.
    pub jobs: usize,
    /// Task instances (handlers included).
    pub tasks: usize,
    /// Task instances that will not run (`when:` false).
    pub skipped: usize,
    /// Terminal-minutes of work, before scheduling.
    pub estimated_minutes: u64,
}

impl Plan {
    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        // Plan holds only strings, numbers, maps and lists: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a plan written by [`Plan::to_json`], checking its schema and digest.
    pub fn from_json(text: &str) -> Result<Plan, String> {
        let plan: Plan =
            serde_json::from_str(text).map_err(|e| format!("not a seibi plan: {e}"))?;
        if plan.schema != SCHEMA {
            return Err(format!(
                "plan schema `{}` is not supported (expected `{SCHEMA}`)",
                plan.schema
            ));
        }
        let expected = plan.compute_digest();
        if plan.digest != expected {
            return Err(format!(
                "plan digest mismatch: the file says {}, its content hashes to {expected}; the plan was edited after it was made",
                plan.digest
            ));
        }
        Ok(plan)
    }

    /// The digest of everything but the digest field.
    pub fn compute_digest(&self) -> String {
        let mut copy = self.clone();
        copy.digest = String::new();
        format!("sha256:{}", canonical_sha256(&copy))
    }

    /// The JSON Schema of the plan document.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default()
    }
}

/// What differs between the inputs of two plans made for the same request, for people.
pub fn changed_inputs(old: &Plan, new: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if old.seibi_version != new.seibi_version {
        out.push(format!(
            "seibi version: {} -> {}",
            old.seibi_version, new.seibi_version
        ));
    }
    if old.inputs.inventory_sha256 != new.inputs.inventory_sha256 {
        out.push(
            "inventory: the sites or terminals in the plan (or their variables) changed".into(),
        );
    }
    let files = |label: &str, a: &[InputFile], b: &[InputFile], out: &mut Vec<String>| {
        for f in a {
            match b.iter().find(|g| g.path == f.path) {
                Some(g) if g.sha256 != f.sha256 => out.push(format!("{label} {} changed", f.path)),
                None => out.push(format!("{label} {} is no longer used", f.path)),
                _ => {}
            }
        }
        for g in b {
            if !a.iter().any(|f| f.path == g.path) {
                out.push(format!("{label} {} is new", g.path));
            }
        }
    };
    files(
        "playbook",
        &old.inputs.playbooks,
        &new.inputs.playbooks,
        &mut out,
    );
    files(
        "template",
        &old.inputs.templates,
        &new.inputs.templates,
        &mut out,
    );
    for a in &old.inputs.artifacts {
        match new
            .inputs
            .artifacts
            .iter()
            .find(|b| b.job == a.job && b.name == a.name)
        {
            Some(b) if b.sha256 != a.sha256 => out.push(format!(
                "artifact {}/{}: SHA-256 {} -> {}",
                a.job, a.name, a.sha256, b.sha256
            )),
            None => out.push(format!("artifact {}/{} is no longer used", a.job, a.name)),
            _ => {}
        }
    }
    for s in &old.inputs.secrets {
        match new.inputs.secrets.iter().find(|t| t.name == s.name) {
            Some(t) if t.version != s.version => out.push(format!(
                "secret {}: version {:?} -> {:?}",
                s.name, s.version, t.version
            )),
            None => out.push(format!("secret {} is no longer used", s.name)),
            _ => {}
        }
    }
    let pins = |plan: &Plan| -> BTreeMap<String, String> {
        plan.inputs
            .host_keys
            .iter()
            .map(|p| (p.terminal.clone(), p.fingerprints.join(",")))
            .collect()
    };
    let (old_pins, new_pins) = (pins(old), pins(new));
    for terminal in old_pins
        .keys()
        .chain(new_pins.keys())
        .collect::<BTreeSet<_>>()
    {
        let (a, b) = (old_pins.get(terminal), new_pins.get(terminal));
        if a != b {
            out.push(format!(
                "host key pinned for {terminal}: {} -> {}",
                a.map_or("none", String::as_str),
                b.map_or("none", String::as_str)
            ));
        }
    }
    for (a, b) in old.jobs.iter().zip(&new.jobs) {
        if a != b {
            out.push(format!("job {}: its metadata or targets changed", a.id));
        }
    }
    if out.is_empty() && old.schedule != new.schedule {
        out.push(
            "schedule: the visits or the timetable differ (calendars, closed days, hours or \
             capacities changed)"
                .into(),
        );
    }
    if out.is_empty() {
        out.push("the planned tasks differ (for example a variable used by a template)".into());
    }
    out
}

/// Job order: by kind (patches, updates, settings, password, inspection, logs), then earliest
/// start, then id.
fn job_order<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Vec<&'a Job> {
    let mut v: Vec<&Job> = jobs.into_iter().collect();
    v.sort_by(|a, b| (a.kind, a.earliest_start, &a.id).cmp(&(b.kind, b.earliest_start, &b.id)));
    v
}

/// seibi's actions are POSIX shell: a job whose targets include Windows terminals would fail on
/// each of them. The error names the job, its first action and the terminals.
fn windows_refusal(job: &Job, terminals: &[&Terminal]) -> Option<Diagnostic> {
    let windows: Vec<&str> = terminals
        .iter()
        .filter(|t| t.platform == crate::inventory::Platform::Windows)
        .map(|t| t.id.as_str())
        .collect();
    let task = job.tasks.first()?;
    if windows.is_empty() {
        return None;
    }
    let shown = windows
        .iter()
        .take(5)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let more = if windows.len() > 5 {
        format!(" and {} more", windows.len() - 5)
    } else {
        String::new()
    };
    Some(
        Diagnostic::error(format!(
            "job `{}` targets Windows terminal{} {shown}{more}, but its `{}` action (task `{}`) runs POSIX shell commands",
            job.id,
            if windows.len() == 1 { "" } else { "s" },
            task.action.name(),
            task.id
        ))
        .at(Some(job.targets_location.clone()))
        .hint("narrow `targets:` to Linux terminals (a tag, group or site they share, or `exclude:`); seibi does not work on Windows terminals yet"),
    )
}

/// Builds the plan. Every problem (unknown job, undefined variable on some terminal) is
/// collected and returned together.
pub fn build(project: &Project, request: &PlanRequest) -> Result<Plan, Diagnostics> {
    let written = project;
    let expanded;
    let project = match request.period {
        Some(period) => {
            expanded = occurrences::expand(project, period);
            &expanded
        }
        None => project,
    };
    let mut diags = Diagnostics::new();
    let inventory = &project.inventory;
    let mut warnings = Vec::new();

    let mut selected: Vec<&Job> = Vec::new();
    for id in &request.jobs {
        // A recurring job's id selects its occurrences in the period.
        let occurrences: Vec<&Job> = project
            .jobs
            .iter()
            .filter(|j| j.occurrence.is_some() && occurrences::base_job_id(&j.id) == id)
            .collect();
        match project.job(id) {
            Some(job) => selected.push(job),
            None if !occurrences.is_empty() => selected.extend(occurrences),
            None if written.job(id).is_some_and(|j| j.recurrence.is_some()) => {
                warnings.push(format!("job `{id}` has no occurrence due in this period"));
            }
            None => diags.push(
                Diagnostic::error(format!("no job `{id}`"))
                    .did_you_mean(id, project.jobs.iter().map(|j| j.id.as_str()))
                    .hint("`seibi check` lists the jobs it loaded"),
            ),
        }
    }
    if request.jobs.is_empty() {
        selected = project.jobs.iter().collect();
    }
    for d in request.limit.problems(inventory, "the selection") {
        diags.push(d);
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let jobs = job_order(selected);
    let selected_ids: BTreeSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();

    // Which terminals each job runs on.
    let mut job_terminals: BTreeMap<&str, Vec<&Terminal>> = BTreeMap::new();
    for job in &jobs {
        let terminals: Vec<&Terminal> = job
            .targets
            .select(inventory)
            .into_iter()
            .filter(|t| request.limit.matches(inventory, t))
            .collect();
        if terminals.is_empty() {
            warnings.push(format!(
                "job `{}` has no terminal in this selection",
                job.id
            ));
        }
        if let Some(d) = windows_refusal(job, &terminals) {
            diags.push(d);
        }
        job_terminals.insert(&job.id, terminals);
    }
    if diags.has_errors() {
        return Err(diags);
    }
    for (task, needs) in &project.needs {
        if !selected_ids.contains(task.job.as_str()) {
            continue;
        }
        for n in needs {
            if !selected_ids.contains(n.job.as_str()) {
                warnings.push(format!(
                    "`{task}` needs `{n}`, which is not in this plan: it is assumed done"
                ));
            }
        }
    }

    let templates = Templates::new();
    let mut secrets = BTreeSet::new();
    let mut template_inputs = BTreeSet::new();
    let mut render_errors: BTreeMap<(String, String), (Diagnostic, Vec<String>)> = BTreeMap::new();
    let mut planned_terminals: BTreeMap<&str, PlannedTerminal> = BTreeMap::new();

    for terminal in inventory.terminals.values() {
        let here: Vec<(usize, &Job)> = jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| {
                job_terminals[j.id.as_str()]
                    .iter()
                    .any(|t| t.id == terminal.id)
            })
            .map(|(i, j)| (i, *j))
            .collect();
        if here.is_empty() {
            continue;
        }
        let graph = terminal_graph(project, &here);
        let order = match graph.order() {
            Ok(order) => order,
            Err(cycle) => {
                // Cycles are rejected when the project loads; a plan cannot have one.
                let path: Vec<String> = cycle.iter().map(ToString::to_string).collect();
                diags.push(Diagnostic::error(format!(
                    "`needs:` cycle: {}",
                    path.join(" needs ")
                )));
                continue;
            }
        };
        let base_vars = inventory.vars_for(terminal);
        let mut tasks = Vec::with_capacity(order.len());
        for key in order {
            let Some(job) = here.iter().map(|(_, j)| *j).find(|j| j.id == key.job) else {
                continue;
            };
            let Some(task) = job.task(&key.task) else {
                continue;
            };
            let context = template_context(project, job, terminal, &base_vars);
            let mut record_error = |message: String,
                                    undefined: &[String],
                                    at: Option<Location>,
                                    extra_hint: Option<String>| {
                let entry = render_errors
                    .entry((key.to_string(), message.clone()))
                    .or_insert_with(|| {
                        let mut d = Diagnostic::error(format!("task `{}`: {message}", key))
                            .at(Some(at.unwrap_or_else(|| task.location.clone())));
                        for u in undefined {
                            if let Some(best) =
                                closest(u, candidates_for(&context, u).iter().map(String::as_str))
                            {
                                d = d.hint(format!("did you mean `{best}`?"));
                            }
                        }
                        if let Some(h) = extra_hint {
                            d = d.hint(h);
                        }
                        (d, Vec::new())
                    });
                entry.1.push(terminal.id.clone());
            };
            let skip = match &task.when {
                None => None,
                Some(expr) => match templates.condition(expr, &context) {
                    Ok(true) => None,
                    Ok(false) => Some(format!("when `{expr}` is false")),
                    Err(e) => {
                        record_error(
                            format!("in `when: {expr}`: {}", e.message),
                            &e.undefined,
                            None,
                            None,
                        );
                        None
                    }
                },
            };
            let mut task_secrets = BTreeSet::new();
            let mut args = action_args(&task.action);
            // Like Ansible, a task that does not run here is not rendered here: its
            // arguments may use variables that only the terminals it runs on define.
            if skip.is_none()
                && let Err(e) = render_strings(&templates, &mut args, &context, &mut task_secrets)
            {
                record_error(e.message.clone(), &e.undefined, None, None);
            }
            if let (Action::Template(t), None) = (&task.action, &skip) {
                let src = job
                    .file
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join(&t.src);
                match std::fs::read_to_string(&src) {
                    Ok(source) => {
                        template_inputs.insert(InputFile {
                            path: relative(&project.paths.root, &src),
                            sha256: hex::encode(Sha256::digest(source.as_bytes())),
                        });
                        match templates.render(&source, &context) {
                            Ok(r) => {
                                task_secrets.extend(r.secrets);
                                if let Some(obj) = args.as_object_mut() {
                                    obj.insert(
                                        "content_sha256".into(),
                                        hex::encode(Sha256::digest(r.text.as_bytes())).into(),
                                    );
                                    obj.insert("content".into(), r.text.into());
                                }
                            }
                            Err(e) => {
                                let line = e.line.unwrap_or(1);
                                // Put the caret on the undefined name when it is on that line.
                                let column = source
                                    .lines()
                                    .nth(line - 1)
                                    .and_then(|text| {
                                        let name = e.undefined.first()?;
                                        let byte = text.find(name.as_str())?;
                                        Some(text[..byte].chars().count() + 1)
                                    })
                                    .unwrap_or(1);
                                let at = Location {
                                    file: SourceFile::new(&src, source.clone()),
                                    line,
                                    column,
                                };
                                record_error(
                                    format!("in template {}: {}", t.src, e.message),
                                    &e.undefined,
                                    Some(at),
                                    None,
                                )
                            }
                        }
                    }
                    Err(e) => record_error(
                        format!("cannot read template {}: {e}", src.display()),
                        &[],
                        None,
                        None,
                    ),
                }
            }
            if let Some(known) = &project.secrets {
                for name in &task_secrets {
                    if !known.contains_key(name) {
                        let hint = closest(name, known.keys().map(String::as_str))
                            .map(|best| format!("did you mean `{best}`?"))
                            .or_else(|| Some("add it with `seibi secrets set NAME`".to_string()));
                        record_error(
                            format!("refers to unknown secret `{name}`"),
                            &[],
                            None,
                            hint,
                        );
                    }
                }
            }
            secrets.extend(task_secrets);
            if let Action::Package(p) | Action::Patch(p) = &task.action
                && let (Some(a), Some(obj)) = (job.artifact(&p.artifact), args.as_object_mut())
            {
                obj.insert("package".into(), a.package.clone().into());
                obj.insert("version".into(), a.version.clone().into());
                obj.insert("sha256".into(), a.sha256.clone().into());
                obj.insert("scan".into(), a.scan.into());
            }
            tasks.push(PlannedTask {
                needs: graph
                    .needs_of(&key)
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                key: key.to_string(),
                job: key.job.clone(),
                task: key.task.clone(),
                name: task.name.clone(),
                action: task.action.name().to_string(),
                args,
                notify: task.notify.clone(),
                handler: job.handlers.iter().any(|h| h.id == task.id),
                skip,
            });
        }
        let estimated_minutes = here
            .iter()
            .map(|(_, j)| u64::from(j.minutes_per_terminal))
            .sum();
        planned_terminals.insert(
            &terminal.id,
            PlannedTerminal {
                id: terminal.id.clone(),
                address: terminal.address.clone(),
                port: terminal.port,
                user: terminal.user.clone(),
                become_method: terminal.become_method,
                platform: terminal.platform,
                key_file: project
                    .inventory
                    .key_files
                    .get(&terminal.id)
                    .map(|p| p.display().to_string()),
                jobs: here.iter().map(|(_, j)| j.id.clone()).collect(),
                tasks,
                estimated_minutes,
            },
        );
    }

    for ((_, _), (mut d, terminals)) in render_errors {
        let shown: Vec<&str> = terminals.iter().take(3).map(String::as_str).collect();
        let more = terminals.len().saturating_sub(shown.len());
        let suffix = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        d.message = format!("{} (on {}{suffix})", d.message, shown.join(", "));
        diags.push(d);
    }
    if diags.has_errors() {
        return Err(diags);
    }

    let mut sites = Vec::new();
    for site in inventory.sites.values() {
        let terminals: Vec<PlannedTerminal> = inventory
            .terminals
            .values()
            .filter(|t| t.site == site.id)
            .filter_map(|t| planned_terminals.remove(t.id.as_str()))
            .collect();
        if terminals.is_empty() {
            continue;
        }
        sites.push(PlannedSite {
            id: site.id.clone(),
            name: site.name.clone(),
            name_en: site.name_en.clone(),
            capacity: site.capacity,
            jump: site
                .jump
                .as_ref()
                .map(|j| format!("{}@{}:{}", j.user, j.address, j.port)),
            estimated_minutes: terminals.iter().map(|t| t.estimated_minutes).sum(),
            terminals,
        });
    }

    let planned_jobs: Vec<PlannedJob> = jobs
        .iter()
        .map(|j| {
            let terminals = &job_terminals[j.id.as_str()];
            let sites: BTreeSet<&str> = terminals.iter().map(|t| t.site.as_str()).collect();
            PlannedJob {
                id: j.id.clone(),
                title: j.title.clone(),
                kind: j.kind,
                provenance: j.provenance.clone(),
                urgency: j.urgency,
                earliest_start: j.earliest_start,
                deadline: j.deadline,
                batchable: j.batchable,
                minutes_per_terminal: j.minutes_per_terminal,
                max_fail_percentage: j.max_fail_percentage,
                terminals: terminals.len(),
                sites: sites.into_iter().map(str::to_string).collect(),
            }
        })
        .collect();

    let all_tasks = sites
        .iter()
        .flat_map(|s| &s.terminals)
        .flat_map(|t| &t.tasks);
    let totals = Totals {
        sites: sites.len(),
        terminals: sites.iter().map(|s| s.terminals.len()).sum(),
        jobs: jobs.len(),
        tasks: all_tasks.clone().count(),
        skipped: all_tasks.filter(|t| t.skip.is_some()).count(),
        estimated_minutes: sites.iter().map(|s| s.estimated_minutes).sum(),
    };
    let inputs = Inputs {
        inventory_sha256: inventory_digest(project, &sites),
        playbooks: occurrences::each_file_once(jobs.iter().map(|j| InputFile {
            path: relative(&project.paths.root, &j.file),
            sha256: j.file_sha256.clone(),
        })),
        templates: template_inputs.into_iter().collect(),
        artifacts: jobs
            .iter()
            .flat_map(|j| {
                j.artifacts.iter().map(|a| ArtifactPin {
                    job: j.id.clone(),
                    name: a.name.clone(),
                    path: relative(&project.paths.root, &a.resolved),
                    sha256: a.sha256.clone(),
                    package: a.package.clone(),
                    version: a.version.clone(),
                    scan: a.scan,
                })
            })
            .collect(),
        secrets: secrets
            .into_iter()
            .map(|name| SecretPin {
                version: project.secrets.as_ref().and_then(|k| k.get(&name).copied()),
                name,
            })
            .collect(),
        host_keys: match &project.known_hosts {
            None => Vec::new(),
            Some(known) => sites
                .iter()
                .flat_map(|s| &s.terminals)
                .map(|t| HostKeyPin {
                    terminal: t.id.clone(),
                    fingerprints: known.fingerprints(&t.address, t.port),
                })
                .filter(|pin| !pin.fingerprints.is_empty())
                .collect(),
        },
    };
    warnings.sort();
    warnings.dedup();
    let mut plan = Plan {
        schema: SCHEMA.to_string(),
        digest: String::new(),
        seibi_version: env!("CARGO_PKG_VERSION").to_string(),
        request: request.clone(),
        inputs,
        jobs: planned_jobs,
        sites,
        totals,
        warnings,
        schedule: None,
    };
    if let Some(schedule) = &request.schedule {
        match schedule::build_schedule(project, &plan, schedule) {
            Ok(s) => plan.schedule = Some(s),
            Err(d) => {
                diags.push(d);
                return Err(diags);
            }
        }
    }
    plan.digest = plan.compute_digest();
    Ok(plan)
}

/// The graph of one terminal's tasks: every task of the jobs that run there, handlers after
/// the tasks of their job, and the needs that fall inside this terminal.
fn terminal_graph(project: &Project, here: &[(usize, &Job)]) -> TaskGraph {
    let mut graph = TaskGraph::new();
    for (ji, job) in here {
        for (ti, task) in job.tasks.iter().enumerate() {
            graph.add_task(TaskKey::new(&job.id, &task.id), (*ji, ti));
        }
        for (hi, handler) in job.handlers.iter().enumerate() {
            graph.add_task(
                TaskKey::new(&job.id, &handler.id),
                (*ji, job.tasks.len() + hi),
            );
        }
    }
    for (_, job) in here {
        for task in job.tasks.iter().chain(&job.handlers) {
            let key = TaskKey::new(&job.id, &task.id);
            for needed in project.needs.get(&key).into_iter().flatten() {
                // A need on a job that does not run here (or is not planned) is no constraint
                // on this terminal.
                graph.add_need(&key, needed);
            }
        }
        // Handlers run after the whole job, and only if it went through.
        for handler in &job.handlers {
            let hkey = TaskKey::new(&job.id, &handler.id);
            for task in &job.tasks {
                graph.add_need(&hkey, &TaskKey::new(&job.id, &task.id));
            }
        }
    }
    graph
}

fn template_context(
    project: &Project,
    job: &Job,
    terminal: &Terminal,
    base_vars: &crate::inventory::Vars,
) -> serde_json::Value {
    let inventory = &project.inventory;
    let mut map = serde_json::Map::new();
    for (k, v) in job.vars.iter().chain(base_vars.iter()) {
        map.insert(k.clone(), v.clone());
    }
    let groups: Vec<String> = inventory
        .groups_of(terminal)
        .into_iter()
        .map(|g| g.id.clone())
        .collect();
    map.insert(
        "terminal".into(),
        serde_json::json!({
            "id": terminal.id, "address": terminal.address, "port": terminal.port,
            "user": terminal.user, "platform": terminal.platform, "site": terminal.site,
            "tags": terminal.tags, "groups": groups,
        }),
    );
    if let Some(site) = inventory.sites.get(&terminal.site) {
        map.insert(
            "site".into(),
            serde_json::json!({
                "id": site.id, "name": site.name, "name_en": site.name_en, "kind": site.kind,
                "capacity": site.capacity,
            }),
        );
    }
    map.insert(
        "job".into(),
        serde_json::json!({
            "id": job.id, "title": job.title, "kind": job.kind,
            "reference": job.provenance.reference,
        }),
    );
    serde_json::Value::Object(map)
}

fn action_args(action: &Action) -> serde_json::Value {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.get("args").cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// Renders every string value (not keys) in place.
fn render_strings(
    templates: &Templates,
    value: &mut serde_json::Value,
    context: &serde_json::Value,
    secrets: &mut BTreeSet<String>,
) -> Result<(), crate::template::TemplateError> {
    match value {
        serde_json::Value::String(s) => {
            let r = templates.render(s, context)?;
            secrets.extend(r.secrets);
            *s = r.text;
        }
        serde_json::Value::Array(items) => {
            for item in items {
                render_strings(templates, item, context, secrets)?;
            }
        }
        serde_json::Value::Object(map) => {
            for (_, v) in map.iter_mut() {
                render_strings(templates, v, context, secrets)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn inventory_digest(project: &Project, sites: &[PlannedSite]) -> String {
    let inventory = &project.inventory;
    let used: Vec<serde_json::Value> = sites
        .iter()
        .map(|ps| {
            let site = inventory.sites.get(&ps.id);
            let terminals: Vec<serde_json::Value> = ps
                .terminals
                .iter()
                .filter_map(|pt| inventory.terminals.get(&pt.id))
                .map(|t| {
                    serde_json::json!({
                        "terminal": t,
                        "vars": inventory.vars_for(t),
                        "groups": inventory.groups_of(t).iter().map(|g| &g.id).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::json!({ "site": site, "terminals": terminals })
        })
        .collect();
    canonical_sha256(&used)
}

fn relative(root: &std::path::Path, path: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
