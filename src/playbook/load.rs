//! Reading `playbooks/*.yml` into validated [`Job`]s, collecting every problem.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::action::ACTION_NAMES;
use super::{Action, Artifact, CommandArgs, Job, JobKind, PackageArgs, Provenance, Task, Urgency};
use crate::inventory::{RESERVED_VARS, Selector, Vars};
use crate::source::{Diagnostic, Diagnostics, Location, Node, SourceFile, YamlDocument};

const TASK_KEYS: &[&str] = &["name", "id", "needs", "when", "notify", "tags"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    id: String,
    title: String,
    kind: JobKind,
    provenance: Provenance,
    #[serde(default)]
    urgency: Urgency,
    earliest_start: Option<Date>,
    deadline: Option<Date>,
    #[serde(default = "yes")]
    batchable: bool,
    minutes_per_terminal: u32,
    max_fail_percentage: Option<u8>,
    #[serde(default)]
    targets: Selector,
    #[serde(default)]
    vars: Vars,
    #[serde(default)]
    artifacts: BTreeMap<String, RawArtifact>,
    recurrence: Option<super::recurrence::RawRecurrence>,
    // Read on their own below, task by task, so every task's problems are reported.
    #[serde(default)]
    #[allow(dead_code)]
    tasks: serde::de::IgnoredAny,
    #[serde(default)]
    #[allow(dead_code)]
    handlers: serde::de::IgnoredAny,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArtifact {
    path: String,
    sha256: String,
    package: String,
    version: String,
    #[serde(default)]
    scan: bool,
}

/// Jobs read from a playbook directory.
#[derive(Debug, Default)]
pub struct LoadedJobs {
    /// Jobs that loaded without errors, in file order.
    pub jobs: Vec<Job>,
    /// Ids of jobs whose files have errors (already reported): references to them are not
    /// reported again.
    pub broken: std::collections::BTreeSet<String>,
}

/// Loads every `*.yml` in `dir` as a job. Returns the jobs that loaded and all problems.
pub fn load(dir: &Path) -> (LoadedJobs, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut broken = std::collections::BTreeSet::new();
    let files = match crate::source::yaml_files_in(dir) {
        Ok(files) => files,
        Err(d) => {
            diags.push(d);
            return (LoadedJobs::default(), diags);
        }
    };
    let mut jobs: Vec<Job> = Vec::new();
    for file in files {
        let Some(source) = diags.take(SourceFile::read(&file)) else {
            continue;
        };
        let sha = hex::encode(Sha256::digest(source.text().as_bytes()));
        let Some(doc) = diags.take(YamlDocument::parse(source)) else {
            continue;
        };
        let Some(job) = read_job(&doc, &file, sha, &mut diags) else {
            if let Some(id) = doc
                .root()
                .get("id")
                .and_then(|n| n.as_str().map(str::to_string))
            {
                broken.insert(id);
            }
            continue;
        };
        if let Some(first) = jobs.iter().find(|j| j.id == job.id) {
            diags.push(
                Diagnostic::error(format!("duplicate job id `{}`", job.id))
                    .at(Some(job.location.clone()))
                    .hint(format!("first defined at {}", first.location)),
            );
            continue;
        }
        jobs.push(job);
    }
    (LoadedJobs { jobs, broken }, diags)
}

fn read_job(doc: &YamlDocument, file: &Path, sha: String, diags: &mut Diagnostics) -> Option<Job> {
    let root = doc.root();
    let before = diags.error_count();
    let raw = diags.take(root.deserialize::<RawJob>());
    let base = file.parent().unwrap_or(Path::new("."));
    let location = root
        .get("id")
        .map_or_else(|| root.location(), |n| n.location());
    let targets_location = root
        .get("targets")
        .map_or_else(|| root.location(), |n| n.key_location());

    let tasks = read_tasks(root.get("tasks"), "tasks", diags);
    let handlers = read_tasks(root.get("handlers"), "handlers", diags);
    let raw = raw?;
    if tasks.is_empty() && root.get("tasks").is_none() {
        diags.push(
            Diagnostic::error(format!("job `{}` has no `tasks`", raw.id))
                .at(Some(root.location()))
                .hint("add `tasks:` with at least one task"),
        );
    }
    if !crate::inventory::load_valid_id(&raw.id) {
        diags.push(
            Diagnostic::error(format!("invalid job id `{}`", raw.id))
                .at(Some(location.clone()))
                .hint("ids use ASCII letters, digits, `-`, `_` and `.`"),
        );
    }
    if let (Some(start), Some(end)) = (raw.earliest_start, raw.deadline)
        && start > end
    {
        diags.push(
            Diagnostic::error(format!(
                "job `{}` starts on {start}, after its deadline {end}",
                raw.id
            ))
            .at(root.get("deadline").map(|n| n.location())),
        );
    }
    let recurrence = match raw.recurrence {
        Some(r) => {
            let node = root.get("recurrence");
            let at = |key: &str| match &node {
                Some(n) => n
                    .get(key)
                    .map_or_else(|| n.location(), |k| k.key_location()),
                None => root.location(),
            };
            match r.validate(at) {
                Ok(r) => Some(r),
                Err(problems) => {
                    for d in problems {
                        diags.push(d);
                    }
                    None
                }
            }
        }
        None => None,
    };
    if recurrence.is_some() && (raw.earliest_start.is_some() || raw.deadline.is_some()) {
        diags.push(
            Diagnostic::error(format!(
                "job `{}` has both `recurrence:` and `earliest_start`/`deadline`",
                raw.id
            ))
            .at(root
                .get("earliest_start")
                .or_else(|| root.get("deadline"))
                .map(|n| n.key_location()))
            .hint("a recurring job's windows come from its recurrence; use `since`/`until` under `recurrence:` for the contract's days"),
        );
    }
    if raw.minutes_per_terminal == 0 {
        diags.push(
            Diagnostic::error("`minutes_per_terminal` must be at least 1")
                .at(root.get("minutes_per_terminal").map(|n| n.location())),
        );
    }
    if let Some(p) = raw.max_fail_percentage
        && p > 100
    {
        diags.push(
            Diagnostic::error(format!("max_fail_percentage {p} is above 100"))
                .at(root.get("max_fail_percentage").map(|n| n.location())),
        );
    }
    for name in raw.vars.keys() {
        if RESERVED_VARS.contains(&name.as_str()) {
            diags.push(
                Diagnostic::error(format!("job variable `{name}` uses a reserved name"))
                    .at(root.get("vars").map(|n| n.key_location())),
            );
        }
    }

    let mut artifacts = Vec::new();
    for (name, a) in raw.artifacts {
        let at = root
            .get("artifacts")
            .and_then(|n| n.get(&name))
            .map(|n| n.key_location());
        let resolved = base.join(&a.path);
        let artifact = Artifact {
            name,
            path: a.path,
            resolved,
            sha256: a.sha256.to_ascii_lowercase(),
            package: a.package,
            version: a.version,
            scan: a.scan,
        };
        if let Err(d) = verify_artifact(&artifact) {
            diags.push(d.at(at));
        }
        artifacts.push(artifact);
    }

    let mut seen: BTreeMap<&str, &Location> = BTreeMap::new();
    for t in tasks.iter().chain(&handlers) {
        if let Some(first) = seen.insert(&t.id, &t.location) {
            diags.push(
                Diagnostic::error(format!("duplicate task id `{}` in job `{}`", t.id, raw.id))
                    .at(Some(t.location.clone()))
                    .hint(format!("first used at {first}; give one of them an `id:`")),
            );
        }
    }
    let handler_ids: Vec<&str> = handlers.iter().map(|h| h.id.as_str()).collect();
    let artifact_names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
    for t in tasks.iter().chain(&handlers) {
        for n in &t.notify {
            if !handler_ids.contains(&n.as_str()) {
                let mut d =
                    Diagnostic::error(format!("task `{}` notifies unknown handler `{n}`", t.id))
                        .at(Some(t.location.clone()))
                        .did_you_mean(n, handler_ids.iter().copied());
                if handler_ids.is_empty() {
                    d = d.hint("define it under `handlers:` in the same job");
                }
                diags.push(d);
            }
        }
        if let Action::Package(PackageArgs { artifact }) | Action::Patch(PackageArgs { artifact }) =
            &t.action
            && !artifact_names.contains(&artifact.as_str())
        {
            let mut d = Diagnostic::error(format!(
                "task `{}` installs unknown artifact `{artifact}`",
                t.id
            ))
            .at(Some(t.location.clone()))
            .did_you_mean(artifact, artifact_names.iter().copied());
            if artifact_names.is_empty() {
                d = d.hint("list it under `artifacts:` with its path and SHA-256");
            }
            diags.push(d);
        }
        if let Action::Template(args) = &t.action {
            let src = base.join(&args.src);
            if !src.is_file() {
                diags.push(
                    Diagnostic::error(format!("template `{}` not found", src.display()))
                        .at(Some(t.location.clone()))
                        .hint("`src` is relative to the playbook's directory"),
                );
            }
        }
    }
    if diags.error_count() > before {
        return None;
    }
    for h in &handlers {
        let notified = tasks.iter().any(|t| t.notify.contains(&h.id));
        if !notified {
            diags.push(
                Diagnostic::warning(format!("handler `{}` is never notified", h.id))
                    .at(Some(h.location.clone())),
            );
        }
    }
    Some(Job {
        id: raw.id,
        title: raw.title,
        kind: raw.kind,
        provenance: raw.provenance,
        urgency: raw.urgency,
        earliest_start: raw.earliest_start,
        deadline: raw.deadline,
        batchable: raw.batchable,
        minutes_per_terminal: raw.minutes_per_terminal,
        max_fail_percentage: raw.max_fail_percentage,
        targets: raw.targets,
        vars: raw.vars,
        artifacts,
        tasks,
        handlers,
        file: file.to_path_buf(),
        file_sha256: sha,
        location,
        targets_location,
        recurrence,
        occurrence: None,
    })
}

/// Checks the media: the file exists and its SHA-256 is the one in the manifest.
fn verify_artifact(a: &Artifact) -> Result<(), Diagnostic> {
    if a.sha256.len() != 64 || !a.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Diagnostic::error(format!(
            "artifact `{}` has an invalid sha256 `{}`",
            a.name, a.sha256
        ))
        .hint("write the 64 hex digits that `sha256sum` prints"));
    }
    let bytes = std::fs::read(&a.resolved).map_err(|err| {
        Diagnostic::error(format!(
            "artifact `{}`: cannot read {}: {err}",
            a.name,
            a.resolved.display()
        ))
        .hint("`path` is relative to the playbook's directory")
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != a.sha256 {
        return Err(Diagnostic::error(format!(
            "artifact `{}` failed verification: {} has SHA-256 {actual}, the manifest says {}",
            a.name,
            a.resolved.display(),
            a.sha256
        ))
        .hint("the media may be damaged or not the one the vendor notified; obtain it again and compare with the vendor's checksum")
        .hint("never edit the manifest to match a file you have not verified"));
    }
    Ok(())
}

fn read_tasks(node: Option<Node<'_>>, what: &str, diags: &mut Diagnostics) -> Vec<Task> {
    let Some(node) = node else {
        return Vec::new();
    };
    if node.is_null() {
        return Vec::new();
    }
    let Some(items) = node.items() else {
        diags.push(
            Diagnostic::error(format!("`{what}` must be a list, found {}", node.kind()))
                .at(Some(node.location()))
                .hint("write each entry as `- name: ...`"),
        );
        return Vec::new();
    };
    let mut tasks: Vec<Task> = Vec::new();
    for item in items {
        if let Some(mut task) = read_task(&item, diags) {
            // Without `needs:`, a task follows the previous one of its list.
            if !task.explicit_needs
                && let Some(prev) = tasks.last()
                && what == "tasks"
            {
                task.needs = vec![prev.id.clone()];
            }
            tasks.push(task);
        }
    }
    tasks
}

fn read_task(node: &Node<'_>, diags: &mut Diagnostics) -> Option<Task> {
    let Some(entries) = node.entries() else {
        diags.push(
            Diagnostic::error(format!("a task must be a mapping, found {}", node.kind()))
                .at(Some(node.location()))
                .hint("write `- name: ...` followed by one action such as `command:`"),
        );
        return None;
    };
    let before = diags.error_count();
    let mut name = None;
    let mut id = None;
    let mut needs = None;
    let mut when = None;
    let mut notify = Vec::new();
    let mut tags = Vec::new();
    let mut actions = Vec::new();
    for (key, value) in entries {
        match key.as_str() {
            "name" => name = diags.take(value.deserialize::<String>()),
            "id" => id = diags.take(value.deserialize::<String>()),
            "needs" => needs = diags.take(string_list(&value)),
            "when" => when = diags.take(value.deserialize::<String>()),
            "notify" => notify = diags.take(string_list(&value)).unwrap_or_default(),
            "tags" => tags = diags.take(string_list(&value)).unwrap_or_default(),
            k if ACTION_NAMES.contains(&k) => actions.push((key.clone(), value)),
            other => {
                let all: Vec<&str> = TASK_KEYS.iter().chain(ACTION_NAMES).copied().collect();
                diags.push(
                    Diagnostic::error(format!("unknown key `{other}` in a task"))
                        .at(Some(value.key_location()))
                        .did_you_mean(other, all)
                        .hint(format!("actions: {}", ACTION_NAMES.join(", "))),
                );
            }
        }
    }
    let location = node.location();
    let Some(name) = name else {
        if diags.error_count() == before {
            diags.push(
                Diagnostic::error("a task has no `name`")
                    .at(Some(location))
                    .hint("every task needs a `name:` that says what it does"),
            );
        }
        return None;
    };
    let action = match actions.len() {
        0 => {
            if diags.error_count() == before {
                diags.push(
                    Diagnostic::error(format!("task `{name}` has no action"))
                        .at(Some(location))
                        .hint(format!("add one of: {}", ACTION_NAMES.join(", "))),
                );
            }
            return None;
        }
        1 => {
            let (key, value) = &actions[0];
            diags.take(parse_action(key, value))?
        }
        _ => {
            let names: Vec<&str> = actions.iter().map(|(k, _)| k.as_str()).collect();
            diags.push(
                Diagnostic::error(format!(
                    "task `{name}` has {} actions: {}",
                    names.len(),
                    names.join(", ")
                ))
                .at(Some(actions[1].1.key_location()))
                .hint("a task does one thing; split it into several tasks"),
            );
            return None;
        }
    };
    let args_node = &actions[0].1;
    let label = id.as_deref().unwrap_or(&name);
    for (arg, message, hint) in action.problems() {
        // `arg` may be a dotted path (`policy.length`): point at the deepest part present.
        let mut at = args_node.location();
        let mut node = Some(args_node.clone());
        for part in arg.split('.') {
            node = node.and_then(|n| n.get(part));
            if let Some(n) = &node {
                at = n.location();
            }
        }
        let mut d = Diagnostic::error(format!("task `{label}`: {message}")).at(Some(at));
        if let Some(h) = hint {
            d = d.hint(h);
        }
        diags.push(d);
    }
    let id = id.unwrap_or_else(|| name.clone());
    if id.contains('/') {
        diags.push(
            Diagnostic::error(format!("task id `{id}` contains `/`"))
                .at(Some(location.clone()))
                .hint("`/` separates job and task in `needs:`; give the task an `id:` without it"),
        );
    }
    if diags.error_count() > before {
        return None;
    }
    Some(Task {
        id,
        name,
        action,
        explicit_needs: needs.is_some(),
        needs: needs.unwrap_or_default(),
        when,
        notify,
        tags,
        location,
    })
}

fn string_list(node: &Node<'_>) -> Result<Vec<String>, Diagnostic> {
    match node.as_str() {
        Some(one) => Ok(vec![one.to_string()]),
        None => node.deserialize::<Vec<String>>(),
    }
}

fn parse_action(key: &str, node: &Node<'_>) -> Result<Action, Diagnostic> {
    Ok(match key {
        "command" => match node.as_str() {
            Some(cmd) => Action::Command(CommandArgs {
                cmd: cmd.to_string(),
                creates: None,
                unless: None,
                chdir: None,
                env: Default::default(),
                stdin: None,
            }),
            None => Action::Command(node.deserialize()?),
        },
        "file" => Action::File(node.deserialize()?),
        "template" => Action::Template(node.deserialize()?),
        "package" => Action::Package(node.deserialize()?),
        "patch" => Action::Patch(node.deserialize()?),
        "password" => Action::Password(node.deserialize()?),
        "inspect" if node.is_null() => Action::Inspect(empty_mapping(node)?),
        "inspect" => Action::Inspect(node.deserialize()?),
        "fetch" => Action::Fetch(node.deserialize()?),
        "reboot" if node.is_null() => Action::Reboot(empty_mapping(node)?),
        "reboot" => Action::Reboot(node.deserialize()?),
        other => {
            return Err(Diagnostic::error(format!("unknown action `{other}`"))
                .at(Some(node.key_location())));
        }
    })
}

/// Deserializes defaults for an action written with no arguments (`reboot:`).
fn empty_mapping<T: serde::de::DeserializeOwned>(node: &Node<'_>) -> Result<T, Diagnostic> {
    serde_json::from_str("{}").map_err(|e| {
        Diagnostic::error(format!("arguments required: {e}")).at(Some(node.location()))
    })
}
