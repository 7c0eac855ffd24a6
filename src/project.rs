//! A project on disk: `inventory/`, `playbooks/` (and later `secrets/`), loaded and
//! cross-checked together.
//!
//! [`Project::load`] is what `seibi check` runs: it loads the inventory and every job, then
//! checks what spans both (job targets that match nothing, `needs:` between jobs, `needs:`
//! cycles) and renders every template for every targeted terminal, so an undefined variable is
//! found before a plan is ever shown to the city. All problems are collected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::inventory::{self, Inventory};
use sha2::{Digest as _, Sha256};

use crate::plan::{self, TaskGraph, TaskKey};
use crate::playbook::{self, Action, Job};
use crate::source::{Diagnostic, Diagnostics};

/// Where a project's inputs are.
#[derive(Debug, Clone)]
pub struct ProjectPaths {
    /// The project directory.
    pub root: PathBuf,
    /// Inventory directory or file.
    pub inventory: PathBuf,
    /// Playbook directory.
    pub playbooks: PathBuf,
    /// Secrets directory (`recipients.txt`, `index.yml`, `*.age`).
    pub secrets: PathBuf,
}

impl ProjectPaths {
    /// The conventional layout under `root`.
    pub fn new(root: &Path) -> Self {
        // Keep messages short: `inventory/x.yml`, not `./inventory/x.yml`.
        let under = |name: &str| {
            if root == Path::new(".") {
                PathBuf::from(name)
            } else {
                root.join(name)
            }
        };
        Self {
            root: root.to_path_buf(),
            inventory: under("inventory"),
            playbooks: under("playbooks"),
            secrets: under("secrets"),
        }
    }
}

/// The loaded inventory and jobs, with the resolved `needs:` of every task.
#[derive(Debug)]
pub struct Project {
    /// Where it was loaded from.
    pub paths: ProjectPaths,
    /// The inventory.
    pub inventory: Inventory,
    /// All jobs, in file order.
    pub jobs: Vec<Job>,
    /// For each task and handler, the tasks it needs (references resolved, `job/*` expanded).
    pub needs: BTreeMap<TaskKey, Vec<TaskKey>>,
    /// Secret names and versions from the store's plaintext index, when the project has a
    /// secrets store; templates may only refer to these.
    pub secrets: Option<BTreeMap<String, u64>>,
    /// The host keys pinned in `PROJECT/known_hosts`, when the project has that file; plans pin
    /// their fingerprints.
    pub known_hosts: Option<crate::transport::KnownHosts>,
    /// The jobs' `template:` files, read once when the project loads (by path: the job file's
    /// directory joined with `src:`), so that planning reads no file; `Err` says why one could
    /// not be read (reported where a task uses it).
    pub templates: BTreeMap<PathBuf, Result<TemplateFile, String>>,
}

/// A `template:` file's text and its pin.
#[derive(Debug, Clone)]
pub struct TemplateFile {
    /// The template source.
    pub source: String,
    /// Its path relative to the project and SHA-256, as plans pin it.
    pub input: plan::InputFile,
}

impl Project {
    /// Loads and checks everything. Returns the project when it has no errors, and every
    /// diagnostic (warnings too) either way.
    pub fn load(paths: ProjectPaths) -> (Option<Project>, Diagnostics) {
        let (project, mut diags) = Project::load_unrendered(paths);
        let Some(project) = project else {
            return (None, diags);
        };
        // Render everything once: undefined variables and bad `when:` surface here.
        match plan::validate(&project) {
            Ok(warnings) => {
                for w in warnings {
                    diags.push(Diagnostic::warning(w));
                }
            }
            Err(render_diags) => diags.extend(render_diags),
        }
        diags.sort();
        if diags.has_errors() {
            (None, diags)
        } else {
            (Some(project), diags)
        }
    }

    /// Loads and checks everything but the rendering of every task for every terminal: for a
    /// caller that renders all of them itself next ([`plan::build`] of every job and terminal
    /// reports the same errors), so that the work is not done twice.
    pub fn load_unrendered(paths: ProjectPaths) -> (Option<Project>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let (inventory, inv_diags) = inventory::load(&paths.inventory);
        diags.extend(inv_diags);
        let (loaded, job_diags) = playbook::load(&paths.playbooks);
        diags.extend(job_diags);
        let jobs = loaded.jobs;
        let inventory_ok = !diags.has_errors();

        for job in &jobs {
            if !inventory_ok {
                break;
            }
            let what = format!("job `{}` targets", job.id);
            for d in job.targets.problems(&inventory, &what) {
                diags.push(d.at(Some(job.targets_location.clone())));
            }
            if job.targets.select(&inventory).is_empty() && diags.is_empty() {
                diags.push(
                    Diagnostic::error(format!("job `{}` targets no terminal", job.id))
                        .at(Some(job.targets_location.clone()))
                        .hint("check `targets:`: fields are combined with AND, entries within one field with OR"),
                );
            }
        }
        let needs = resolve_needs(&jobs, &loaded.broken, &mut diags);
        if !diags.has_errors() {
            check_cycles(&jobs, &needs, &mut diags);
        }
        let secrets = if paths.secrets.join("index.yml").is_file() {
            match crate::secrets::SecretsStore::open(&paths.secrets, None) {
                Ok(store) => Some(
                    store
                        .keys()
                        .into_iter()
                        .map(|k| (k.name, k.version))
                        .collect(),
                ),
                Err(err) => {
                    diags.push(
                        Diagnostic::error(format!("cannot read the secrets index: {err}"))
                            .hint("run `seibi secrets lint`"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let known_hosts_path = paths.root.join("known_hosts");
        let known_hosts = if known_hosts_path.is_file() {
            match crate::transport::KnownHosts::load(&known_hosts_path) {
                Ok(k) => Some(k),
                Err(err) => {
                    diags.push(
                        Diagnostic::error(format!("cannot read the pinned host keys: {err}"))
                            .hint("fix or remove the line; `seibi hosts scan` and `seibi hosts trust` write it"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let templates = read_templates(&paths.root, &jobs);
        let project = Project {
            paths,
            inventory,
            jobs,
            needs,
            secrets,
            known_hosts,
            templates,
        };
        diags.sort();
        if diags.has_errors() {
            return (None, diags);
        }
        (Some(project), diags)
    }

    /// A job by id.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }
}

/// Reads every `template:` file the jobs name, once.
fn read_templates(root: &Path, jobs: &[Job]) -> BTreeMap<PathBuf, Result<TemplateFile, String>> {
    let mut out = BTreeMap::new();
    for job in jobs {
        let dir = job.file.parent().unwrap_or(Path::new("."));
        for task in job.tasks.iter().chain(&job.handlers) {
            let Action::Template(t) = &task.action else {
                continue;
            };
            let src = dir.join(&t.src);
            if out.contains_key(&src) {
                continue;
            }
            let file = std::fs::read_to_string(&src)
                .map(|source| TemplateFile {
                    input: plan::InputFile {
                        path: plan::relative(root, &src),
                        sha256: hex::encode(Sha256::digest(source.as_bytes())),
                    },
                    source,
                })
                .map_err(|e| e.to_string());
            out.insert(src, file);
        }
    }
    out
}

/// Resolves each task's `needs:` entries: `task` (same job), `job/task`, or `job/*` (every task
/// of that job).
fn resolve_needs(
    jobs: &[Job],
    broken: &std::collections::BTreeSet<String>,
    diags: &mut Diagnostics,
) -> BTreeMap<TaskKey, Vec<TaskKey>> {
    let mut out = BTreeMap::new();
    let all_keys: Vec<String> = jobs
        .iter()
        .flat_map(|j| j.tasks.iter().map(move |t| format!("{}/{}", j.id, t.id)))
        .collect();
    for job in jobs {
        for task in job.tasks.iter().chain(&job.handlers) {
            let key = TaskKey::new(&job.id, &task.id);
            let mut resolved = Vec::new();
            for reference in &task.needs {
                let (job_id, task_id) = match reference.split_once('/') {
                    Some((j, t)) => (j, t),
                    None => (job.id.as_str(), reference.as_str()),
                };
                let Some(target_job) = jobs.iter().find(|j| j.id == job_id) else {
                    if broken.contains(job_id) {
                        // That job's own errors are already reported.
                        continue;
                    }
                    diags.push(
                        Diagnostic::error(format!(
                            "task `{}` needs `{reference}`, but there is no job `{job_id}`",
                            task.id
                        ))
                        .at(Some(task.location.clone()))
                        .did_you_mean(job_id, jobs.iter().map(|j| j.id.as_str())),
                    );
                    continue;
                };
                if task_id == "*" {
                    resolved.extend(
                        target_job
                            .tasks
                            .iter()
                            .map(|t| TaskKey::new(&target_job.id, &t.id)),
                    );
                    continue;
                }
                if target_job.tasks.iter().any(|t| t.id == task_id) {
                    resolved.push(TaskKey::new(&target_job.id, task_id));
                    continue;
                }
                let same_job: Vec<&str> = target_job.tasks.iter().map(|t| t.id.as_str()).collect();
                let candidates: Vec<&str> = if reference.contains('/') {
                    all_keys.iter().map(String::as_str).collect()
                } else {
                    same_job
                };
                diags.push(
                    Diagnostic::error(format!(
                        "task `{}` needs unknown task `{reference}`",
                        task.id
                    ))
                    .at(Some(task.location.clone()))
                    .did_you_mean(reference, candidates)
                    .hint("refer to a task of the same job by its id (or name), to another job's task as `job-id/task-id`"),
                );
            }
            out.insert(key, resolved);
        }
    }
    out
}

fn check_cycles(jobs: &[Job], needs: &BTreeMap<TaskKey, Vec<TaskKey>>, diags: &mut Diagnostics) {
    let mut graph = TaskGraph::new();
    for (ji, job) in jobs.iter().enumerate() {
        for (ti, task) in job.tasks.iter().enumerate() {
            graph.add_task(TaskKey::new(&job.id, &task.id), (ji, ti));
        }
    }
    for (task, needed) in needs {
        for n in needed {
            graph.add_need(task, n);
        }
    }
    if let Some(cycle) = graph.find_cycle() {
        let path: Vec<String> = cycle.iter().map(ToString::to_string).collect();
        let first = &cycle[0];
        let at = jobs
            .iter()
            .find(|j| j.id == first.job)
            .and_then(|j| j.task(&first.task))
            .map(|t| t.location.clone());
        diags.push(
            Diagnostic::error(format!("`needs:` cycle: {}", path.join(" needs ")))
                .at(at)
                .hint("remove one of these `needs:` entries; tasks without `needs:` follow the previous task of their job"),
        );
    }
}
