//! What a task's templates can see on one terminal, looked up by name instead of built whole.
//!
//! A template's context is every variable of the terminal (global, group, site and terminal
//! layers over the job's `vars:`) and the `terminal`, `site` and `job` objects. A task's
//! strings use a few of them ([`Uses`], from the templates' own analysis), and what they
//! render to depends on those values only: the planner keys each rendered task by them
//! ([`TerminalScope::write_key`]) and renders a task again only for values it has not seen,
//! in a context of just the names it uses ([`TerminalScope::context`]). The whole context
//! ([`full_context`]) is built only to suggest names after an error.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::inventory::{Site, Terminal, Vars};
use crate::playbook::Job;
use crate::project::Project;
use crate::template::Context;

/// The variables a task's `when:`, arguments and template file use.
#[derive(Debug, Default)]
pub(super) struct Uses {
    /// Dotted paths split at the dots (`terminal.id` is `["terminal", "id"]`).
    paths: Vec<Vec<String>>,
    /// The distinct top-level names of those paths.
    names: Vec<String>,
}

impl Uses {
    /// The uses of the dotted `paths` a template analysis returned.
    pub(super) fn new(paths: BTreeSet<String>) -> Self {
        let names: BTreeSet<String> = paths
            .iter()
            .map(|p| p.split('.').next().unwrap_or_default().to_string())
            .collect();
        Uses {
            paths: paths
                .iter()
                .map(|p| p.split('.').map(str::to_string).collect())
                .collect(),
            names: names.into_iter().collect(),
        }
    }
}

/// The `site` and `job` objects of every template context, built once per plan.
pub(super) struct ContextParts {
    sites: HashMap<String, Value>,
    /// By index into the selection's jobs.
    jobs: Vec<Value>,
}

impl ContextParts {
    pub(super) fn new(project: &Project, jobs: &[&Job]) -> Self {
        ContextParts {
            sites: project
                .inventory
                .sites
                .values()
                .map(|s| (s.id.clone(), site_value(s)))
                .collect(),
            jobs: jobs.iter().map(|j| job_value(j)).collect(),
        }
    }
}

/// One terminal's variables, by name, without merging its layers into one map.
pub(super) struct TerminalScope<'a> {
    /// Highest precedence first: terminal, site, groups (deepest first), global.
    layers: Vec<&'a Vars>,
    terminal: Value,
    site: Option<&'a Value>,
    parts: &'a ContextParts,
}

impl<'a> TerminalScope<'a> {
    pub(super) fn new(
        project: &'a Project,
        terminal: &'a Terminal,
        parts: &'a ContextParts,
    ) -> Self {
        let inventory = &project.inventory;
        let mut layers: Vec<&Vars> = inventory
            .layers(terminal)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        layers.reverse();
        TerminalScope {
            layers,
            terminal: terminal_value(project, terminal),
            site: parts.sites.get(&terminal.site),
            parts,
        }
    }

    /// The value of the top-level `name` in the context of job `ji` (`job`), as the
    /// context [`full_context`] builds has it.
    fn top<'s>(&'s self, name: &str, job: &'s Job, ji: usize) -> Option<&'s Value> {
        match name {
            "terminal" => Some(&self.terminal),
            "job" => self.parts.jobs.get(ji),
            "site" if self.site.is_some() => self.site,
            // The inventory's layers win over the job's `vars:`.
            _ => self
                .layers
                .iter()
                .find_map(|layer| layer.get(name))
                .or_else(|| job.vars.get(name)),
        }
    }

    /// Writes to `out` what rendering with `uses` depends on here: for each path, the value
    /// at the longest prefix of it that resolves through objects (the whole value where a
    /// template could look further into it by other means), or that it is undefined.
    pub(super) fn write_key(&self, uses: &Uses, job: &Job, ji: usize, out: &mut Vec<u8>) {
        for path in &uses.paths {
            let mut value = self.top(&path[0], job, ji);
            let mut depth = 1;
            while let (Some(Value::Object(map)), Some(part)) = (value, path.get(depth)) {
                match map.get(part) {
                    Some(inner) => {
                        value = Some(inner);
                        depth += 1;
                    }
                    None => break,
                }
            }
            out.extend_from_slice(depth.to_string().as_bytes());
            match value {
                // Writing a JSON value into a Vec cannot fail.
                Some(v) => serde_json::to_writer(&mut *out, v).unwrap_or_default(),
                None => out.push(b'-'),
            }
            out.push(0);
        }
    }

    /// A context of the names `uses` refers to, with their values here: rendering a task in
    /// it gives what rendering in the whole context gives.
    pub(super) fn context(&self, uses: &Uses, job: &Job, ji: usize) -> Context {
        let mut map = serde_json::Map::new();
        for name in &uses.names {
            if let Some(v) = self.top(name, job, ji) {
                map.insert(name.clone(), v.clone());
            }
        }
        Context::new(Value::Object(map))
    }
}

/// The whole template context of `job` on `terminal`: the job's variables, the terminal's
/// over them, and the `terminal`, `site` and `job` objects.
pub(super) fn full_context(project: &Project, job: &Job, terminal: &Terminal) -> Value {
    let inventory = &project.inventory;
    let mut map = serde_json::Map::new();
    for (k, v) in job.vars.iter().chain(inventory.vars_for(terminal).iter()) {
        map.insert(k.clone(), v.clone());
    }
    map.insert("terminal".into(), terminal_value(project, terminal));
    if let Some(site) = inventory.sites.get(&terminal.site) {
        map.insert("site".into(), site_value(site));
    }
    map.insert("job".into(), job_value(job));
    Value::Object(map)
}

fn terminal_value(project: &Project, terminal: &Terminal) -> Value {
    let groups: Vec<&str> = project
        .inventory
        .groups_of(terminal)
        .into_iter()
        .map(|g| g.id.as_str())
        .collect();
    json!({
        "id": terminal.id, "address": terminal.address, "port": terminal.port,
        "user": terminal.user, "platform": terminal.platform, "site": terminal.site,
        "tags": terminal.tags, "groups": groups,
    })
}

fn site_value(site: &Site) -> Value {
    json!({
        "id": site.id, "name": site.name, "name_en": site.name_en, "kind": site.kind,
        "capacity": site.capacity,
    })
}

fn job_value(job: &Job) -> Value {
    json!({
        "id": job.id, "title": job.title, "kind": job.kind,
        "reference": job.provenance.reference,
    })
}
