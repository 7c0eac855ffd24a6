//! The builder: a [`Project`] and a [`PlanRequest`] become a [`Plan`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::scope::{ContextParts, TerminalScope, Uses, full_context};
use super::terminals::{SharedTerminal, TaskTable, Terminals};
use super::{
    ArtifactPin, HostKeyPin, InputFile, Inputs, Plan, PlanRequest, PlannedJob, PlannedSite,
    PlannedTask, SCHEMA, SecretPin, TaskGraph, TaskKey, Totals,
};
use super::{occurrences, schedule};
use crate::inventory::Terminal;
use crate::playbook::{Action, Job, Task};
use crate::project::Project;
use crate::source::{Diagnostic, Diagnostics, Location, SourceFile, closest};
use crate::template::{Context, Templates, candidates_for};

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
/// collected and returned together. It does no I/O: every file it needs was read when the
/// project loaded (the schedule's run history aside, see [`schedule::build_schedule`]).
///
/// With a period in the request, recurring jobs stand in the plan as their occurrences due
/// then.
pub fn build(project: &Project, request: &PlanRequest) -> Result<Plan, Diagnostics> {
    match request.period {
        Some(period) => build_from(&occurrences::expand(project, period), project, request),
        None => build_from(project, project, request),
    }
}

/// [`build`] of `project` (the written project with recurring jobs expanded for the request's
/// period, or the written project itself).
fn build_from(
    project: &Project,
    written: &Project,
    request: &PlanRequest,
) -> Result<Plan, Diagnostics> {
    let selection = Selection::new(project, written, request)?;
    let mut planner = TerminalPlanner::new(project, &selection, Purpose::Plan);
    let mut planned_terminals: HashMap<&str, SharedTerminal> = HashMap::new();
    for (terminal, here) in selection.terminals_with_work(&project.inventory) {
        if let Some(planned) = planner.plan_terminal(terminal, &here) {
            planned_terminals.insert(&terminal.id, planned);
        }
    }
    let mut rendered = planner.finish()?;
    let table = Arc::new(std::mem::take(&mut rendered.table));
    let sites = planned_sites(project, planned_terminals, &table);
    let mut plan = assemble(project, request, &selection, rendered, sites);
    if let Some(schedule) = &request.schedule {
        match schedule::build_schedule(project, &plan, schedule) {
            Ok(s) => plan.schedule = Some(s),
            Err(d) => {
                let mut diags = Diagnostics::new();
                diags.push(d);
                return Err(diags);
            }
        }
    }
    plan.digest = plan.compute_digest();
    Ok(plan)
}

/// What `seibi check` needs of a plan: every task of every job rendered for every terminal it
/// targets, so that an undefined variable or a bad `when:` is found, without keeping the
/// rendered tasks or assembling the document. Returns the plan's warnings.
pub fn validate(project: &Project) -> Result<Vec<String>, Diagnostics> {
    validate_request(project, &PlanRequest::default())
}

/// [`validate`] of the recurring jobs only, as written: what a plan for a period (which has
/// their occurrences instead) leaves unrendered of `seibi check`'s rendering. `Err` when it
/// finds an error; its diagnostics are not the whole report ([`validate`] gives that).
pub fn validate_recurring(project: &Project) -> Result<(), Diagnostics> {
    let jobs: Vec<String> = project
        .jobs
        .iter()
        .filter(|j| j.recurrence.is_some())
        .map(|j| j.id.clone())
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let request = PlanRequest {
        jobs,
        ..PlanRequest::default()
    };
    validate_request(project, &request).map(|_| ())
}

/// Renders the request's jobs for their terminals; returns the warnings.
fn validate_request(project: &Project, request: &PlanRequest) -> Result<Vec<String>, Diagnostics> {
    let selection = Selection::new(project, project, request)?;
    let mut planner = TerminalPlanner::new(project, &selection, Purpose::Check);
    for (terminal, here) in selection.terminals_with_work(&project.inventory) {
        planner.plan_terminal(terminal, &here);
    }
    planner.finish()?;
    let mut warnings = selection.warnings;
    warnings.sort();
    warnings.dedup();
    Ok(warnings)
}

/// The jobs a request selects, in the order they run, and the terminals each runs on.
struct Selection<'p> {
    jobs: Vec<&'p Job>,
    /// Per job (same index as `jobs`), its terminals in inventory order.
    terminals: Vec<Vec<&'p Terminal>>,
    warnings: Vec<String>,
}

impl<'p> Selection<'p> {
    /// `written` is the project as written (before recurring jobs were expanded into
    /// `project`'s occurrences): it tells a recurring job with nothing due from a typo.
    fn new(
        project: &'p Project,
        written: &Project,
        request: &PlanRequest,
    ) -> Result<Self, Diagnostics> {
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
        let mut terminals = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let these: Vec<&Terminal> = job
                .targets
                .select(inventory)
                .into_iter()
                .filter(|t| request.limit.matches(inventory, t))
                .collect();
            if these.is_empty() {
                warnings.push(format!(
                    "job `{}` has no terminal in this selection",
                    job.id
                ));
            }
            if let Some(d) = windows_refusal(job, &these) {
                diags.push(d);
            }
            terminals.push(these);
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
        Ok(Self {
            jobs,
            terminals,
            warnings,
        })
    }

    /// Every terminal with work, in inventory order, with the indices (into `jobs`) of the
    /// jobs that run there.
    fn terminals_with_work<'i>(
        &self,
        inventory: &'i crate::inventory::Inventory,
    ) -> impl Iterator<Item = (&'i Terminal, Vec<usize>)> + use<'i, '_> {
        let mut jobs_of: HashMap<&str, Vec<usize>> = HashMap::new();
        for (ji, terminals) in self.terminals.iter().enumerate() {
            for t in terminals {
                jobs_of.entry(t.id.as_str()).or_default().push(ji);
            }
        }
        inventory
            .terminals
            .values()
            .filter_map(move |t| jobs_of.remove(t.id.as_str()).map(|here| (t, here)))
    }
}

/// One task of a terminal's order, with everything about it that is the same on every
/// terminal whose jobs are the same: worked out once per set of jobs, not per terminal.
struct OrderedTask<'p> {
    key: TaskKey,
    /// Index into the selection's jobs.
    job: usize,
    task: &'p Task,
    needs: Vec<String>,
    handler: bool,
    /// The action's arguments before rendering.
    args: serde_json::Value,
    /// Unique among the tasks of every order: what the rendered tasks are memoized by.
    id: usize,
    /// The variables its rendering depends on.
    uses: Uses,
}

/// The tasks of the jobs on a terminal, in order, and what is the same for every terminal
/// with those jobs.
struct Order<'p> {
    tasks: Vec<OrderedTask<'p>>,
    jobs: Arc<Vec<String>>,
    estimated_minutes: u64,
}

/// What rendering every terminal's tasks collected: the distinct tasks, and for the plan's
/// inputs the secrets and template files used.
struct Rendered {
    table: TaskTable,
    secrets: BTreeSet<String>,
    template_inputs: BTreeSet<InputFile>,
}

/// A task rendered once and given to every terminal where it renders the same.
struct Memo {
    /// Index into the table of distinct tasks.
    task: u32,
    /// The render errors it recorded (keys of the planner's `render_errors`), to add each
    /// further terminal to.
    errors: Vec<(String, String)>,
}

/// What the planner renders the tasks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The plan: every terminal with its tasks.
    Plan,
    /// `seibi check`: the errors only; no task is kept and no terminal made.
    Check,
}

/// Renders the tasks of one terminal after another, and owns what that collects: the order
/// of each set of jobs, the secrets and template files used, and the render errors (each
/// reported once, with the terminals it happened on).
struct TerminalPlanner<'p, 's> {
    project: &'p Project,
    selection: &'s Selection<'p>,
    purpose: Purpose,
    templates: Templates,
    parts: ContextParts,
    /// The task order by the set of jobs on a terminal (`Err`: a `needs:` cycle).
    orders: HashMap<Vec<usize>, Result<Order<'p>, String>>,
    /// How many ordered tasks there are in all the orders (the next one's id).
    ordered_tasks: usize,
    /// Per ordered task, by what its rendering depends on (see [`TerminalScope::write_key`]).
    memo: HashMap<usize, HashMap<Vec<u8>, Memo>>,
    table: TaskTable,
    secrets: BTreeSet<String>,
    template_inputs: BTreeSet<InputFile>,
    render_errors: BTreeMap<(String, String), (Diagnostic, Vec<String>)>,
    diags: Diagnostics,
}

impl<'p, 's> TerminalPlanner<'p, 's> {
    fn new(project: &'p Project, selection: &'s Selection<'p>, purpose: Purpose) -> Self {
        Self {
            project,
            selection,
            purpose,
            templates: Templates::new(),
            parts: ContextParts::new(project, &selection.jobs),
            orders: HashMap::new(),
            ordered_tasks: 0,
            memo: HashMap::new(),
            table: TaskTable::default(),
            secrets: BTreeSet::new(),
            template_inputs: BTreeSet::new(),
            render_errors: BTreeMap::new(),
            diags: Diagnostics::new(),
        }
    }

    /// The terminal's tasks rendered for it (`None` after a `needs:` cycle, reported, and
    /// when checking).
    ///
    /// A task is rendered only for values of the variables it uses that no terminal before
    /// had; otherwise the terminal gets the task rendered then (and its errors).
    fn plan_terminal(&mut self, terminal: &Terminal, here: &[usize]) -> Option<SharedTerminal> {
        if !self.orders.contains_key(here) {
            let order = self.order(here);
            self.orders.insert(here.to_vec(), order);
        }
        let order = match &self.orders[here] {
            Ok(order) => order,
            Err(cycle) => {
                // Cycles are rejected when the project loads; a plan cannot have one.
                self.diags
                    .push(Diagnostic::error(format!("`needs:` cycle: {cycle}")));
                return None;
            }
        };
        let jobs = &self.selection.jobs;
        let scope = TerminalScope::new(self.project, terminal, &self.parts);
        let mut key = Vec::new();
        let mut tasks = Vec::with_capacity(order.tasks.len());
        for ordered in &order.tasks {
            let job = jobs[ordered.job];
            key.clear();
            scope.write_key(&ordered.uses, job, ordered.job, &mut key);
            let memo = self.memo.entry(ordered.id).or_default();
            if let Some(seen) = memo.get(&key) {
                for error in &seen.errors {
                    if let Some((_, terminals)) = self.render_errors.get_mut(error) {
                        terminals.push(terminal.id.clone());
                    }
                }
                tasks.push(seen.task);
                continue;
            }
            let context = scope.context(&ordered.uses, job, ordered.job);
            let mut render = TaskRender {
                project: self.project,
                templates: &self.templates,
                terminal,
                job,
                ordered,
                context: &context,
                errors: &mut self.render_errors,
                touched: Vec::new(),
                template_inputs: &mut self.template_inputs,
            };
            let (task, secrets) = render.planned_task();
            let errors = render.touched;
            self.secrets.extend(secrets);
            // Four billion distinct tasks would not fit in memory long before the index
            // overflows.
            let index = u32::try_from(self.table.tasks.len()).unwrap_or(u32::MAX);
            if self.purpose == Purpose::Plan {
                self.table.tasks.push(task);
            }
            memo.insert(
                key.clone(),
                Memo {
                    task: index,
                    errors,
                },
            );
            tasks.push(index);
        }
        if self.purpose == Purpose::Check {
            return None;
        }
        Some(SharedTerminal {
            id: terminal.id.clone(),
            address: terminal.address.clone(),
            port: terminal.port,
            user: terminal.user.clone(),
            become_method: terminal.become_method,
            platform: terminal.platform,
            key_file: self
                .project
                .inventory
                .key_files
                .get(&terminal.id)
                .map(|p| p.display().to_string()),
            jobs: Arc::clone(&order.jobs),
            tasks,
            estimated_minutes: order.estimated_minutes,
        })
    }

    /// The order of the jobs `here` (indices into the selection's jobs), with what each task's
    /// rendering depends on; its templates are parsed once here for every terminal.
    fn order(&mut self, here: &[usize]) -> Result<Order<'p>, String> {
        let jobs = &self.selection.jobs;
        let mut tasks = task_order(self.project, jobs, here)?;
        for ordered in &mut tasks {
            ordered.id = self.ordered_tasks;
            self.ordered_tasks += 1;
            ordered.uses = Uses::new(self.variables_of(jobs[ordered.job], ordered));
        }
        Ok(Order {
            tasks,
            jobs: Arc::new(here.iter().map(|&ji| jobs[ji].id.clone()).collect()),
            estimated_minutes: here
                .iter()
                .map(|&ji| u64::from(jobs[ji].minutes_per_terminal))
                .sum(),
        })
    }

    /// The variables the task's `when:`, argument strings and template file use (parsing each
    /// once). One with a syntax error uses none: it fails the same way on every terminal.
    fn variables_of(&mut self, job: &Job, ordered: &OrderedTask<'_>) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        if let Some(expr) = &ordered.task.when {
            used.extend(self.templates.condition_variables(expr).unwrap_or_default());
        }
        let mut strings = Vec::new();
        collect_strings(&ordered.args, &mut strings);
        for s in strings {
            used.extend(self.templates.prepare(s).unwrap_or_default());
        }
        if let Action::Template(t) = &ordered.task.action
            && let Some(Ok(file)) = self.project.templates.get(&template_path(job, &t.src))
        {
            used.extend(self.templates.prepare(&file.source).unwrap_or_default());
        }
        used
    }

    /// Every problem found, or what was collected.
    fn finish(self) -> Result<Rendered, Diagnostics> {
        let mut diags = self.diags;
        for ((_, _), (mut d, terminals)) in self.render_errors {
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
        Ok(Rendered {
            table: self.table,
            secrets: self.secrets,
            template_inputs: self.template_inputs,
        })
    }
}

/// The order of the tasks of the jobs `here` (indices into `jobs`) on a terminal where just
/// those run, with what each task needs there.
fn task_order<'p>(
    project: &'p Project,
    jobs: &[&'p Job],
    here: &[usize],
) -> Result<Vec<OrderedTask<'p>>, String> {
    let here_jobs: Vec<(usize, &Job)> = here.iter().map(|&ji| (ji, jobs[ji])).collect();
    let graph = terminal_graph(project, &here_jobs);
    let order = graph.order().map_err(|cycle| {
        let path: Vec<String> = cycle.iter().map(ToString::to_string).collect();
        path.join(" needs ")
    })?;
    Ok(order
        .into_iter()
        .filter_map(|key| {
            let &(ji, job) = here_jobs.iter().find(|(_, j)| j.id == key.job)?;
            let task = job.task(&key.task)?;
            Some(OrderedTask {
                needs: graph
                    .needs_of(&key)
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                job: ji,
                handler: job.handlers.iter().any(|h| h.id == task.id),
                args: action_args(&task.action),
                id: 0,
                uses: Uses::default(),
                task,
                key,
            })
        })
        .collect())
}

/// One task rendered for one terminal.
struct TaskRender<'a, 'p> {
    project: &'p Project,
    templates: &'a Templates,
    terminal: &'a Terminal,
    job: &'p Job,
    ordered: &'a OrderedTask<'p>,
    context: &'a Context,
    errors: &'a mut BTreeMap<(String, String), (Diagnostic, Vec<String>)>,
    /// The keys of `errors` this render added to.
    touched: Vec<(String, String)>,
    template_inputs: &'a mut BTreeSet<InputFile>,
}

impl TaskRender<'_, '_> {
    /// The planned task and the secrets it refers to.
    fn planned_task(&mut self) -> (PlannedTask, BTreeSet<String>) {
        let (ordered, context) = (self.ordered, self.context);
        let (task, key) = (ordered.task, &ordered.key);
        let skip = match &task.when {
            None => None,
            Some(expr) => match self.templates.condition_with(expr, context) {
                Ok(true) => None,
                Ok(false) => Some(format!("when `{expr}` is false")),
                Err(e) => {
                    self.record_error(
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
        let mut args = ordered.args.clone();
        // Like Ansible, a task that does not run here is not rendered here: its
        // arguments may use variables that only the terminals it runs on define.
        if skip.is_none()
            && let Err(e) = render_strings(self.templates, &mut args, context, &mut task_secrets)
        {
            self.record_error(e.message.clone(), &e.undefined, None, None);
        }
        if let (Action::Template(t), None) = (&task.action, &skip) {
            self.render_template_file(&t.src, &mut args, &mut task_secrets);
        }
        self.check_secrets(&task_secrets);
        if let Action::Package(p) | Action::Patch(p) = &task.action
            && let (Some(a), Some(obj)) = (self.job.artifact(&p.artifact), args.as_object_mut())
        {
            obj.insert("package".into(), a.package.clone().into());
            obj.insert("version".into(), a.version.clone().into());
            obj.insert("sha256".into(), a.sha256.clone().into());
            obj.insert("scan".into(), a.scan.into());
        }
        let planned = PlannedTask {
            needs: ordered.needs.clone(),
            key: key.to_string(),
            job: key.job.clone(),
            task: key.task.clone(),
            name: task.name.clone(),
            action: task.action.name().to_string(),
            args,
            notify: task.notify.clone(),
            handler: ordered.handler,
            skip,
        };
        (planned, task_secrets)
    }

    /// Renders a `template:` file (read when the project loaded) into `content` and
    /// `content_sha256`.
    fn render_template_file(
        &mut self,
        name: &str,
        args: &mut serde_json::Value,
        task_secrets: &mut BTreeSet<String>,
    ) {
        let project = self.project;
        let src = template_path(self.job, name);
        let file = match project.templates.get(&src) {
            Some(Ok(file)) => file,
            Some(Err(e)) => {
                let message = format!("cannot read template {}: {e}", src.display());
                return self.record_error(message, &[], None, None);
            }
            None => {
                let message = format!("cannot read template {}: not loaded", src.display());
                return self.record_error(message, &[], None, None);
            }
        };
        if !self.template_inputs.contains(&file.input) {
            self.template_inputs.insert(file.input.clone());
        }
        match self.templates.render_with(&file.source, self.context) {
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
                let column = file
                    .source
                    .lines()
                    .nth(line - 1)
                    .and_then(|text| {
                        let name = e.undefined.first()?;
                        let byte = text.find(name.as_str())?;
                        Some(text[..byte].chars().count() + 1)
                    })
                    .unwrap_or(1);
                let at = Location {
                    file: SourceFile::new(&src, file.source.clone()),
                    line,
                    column,
                };
                self.record_error(
                    format!("in template {name}: {}", e.message),
                    &e.undefined,
                    Some(at),
                    None,
                )
            }
        }
    }

    /// Secrets the project's store does not know are errors (with the closest name).
    fn check_secrets(&mut self, task_secrets: &BTreeSet<String>) {
        let project = self.project;
        let Some(known) = &project.secrets else {
            return;
        };
        for name in task_secrets {
            if !known.contains_key(name) {
                let hint = closest(name, known.keys().map(String::as_str))
                    .map(|best| format!("did you mean `{best}`?"))
                    .or_else(|| Some("add it with `seibi secrets set NAME`".to_string()));
                self.record_error(
                    format!("refers to unknown secret `{name}`"),
                    &[],
                    None,
                    hint,
                );
            }
        }
    }

    /// Records a render error once per task and message, with every terminal it happened on.
    fn record_error(
        &mut self,
        message: String,
        undefined: &[String],
        at: Option<Location>,
        extra_hint: Option<String>,
    ) {
        let ordered = self.ordered;
        let (task, key) = (ordered.task, &ordered.key);
        let (project, job, terminal) = (self.project, self.job, self.terminal);
        let error_key = (key.to_string(), message.clone());
        self.touched.push(error_key.clone());
        let entry = self.errors.entry(error_key).or_insert_with(|| {
            // The names one could have meant are in the whole context, not just in the
            // names the task uses.
            let context = full_context(project, job, terminal);
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
        entry.1.push(self.terminal.id.clone());
    }
}

/// The planned terminals by site, in inventory order, without the sites that have none.
fn planned_sites(
    project: &Project,
    mut planned_terminals: HashMap<&str, SharedTerminal>,
    table: &Arc<TaskTable>,
) -> Vec<PlannedSite> {
    let inventory = &project.inventory;
    let mut by_site: HashMap<&str, Vec<SharedTerminal>> = HashMap::new();
    for t in inventory.terminals.values() {
        if let Some(planned) = planned_terminals.remove(t.id.as_str()) {
            by_site.entry(t.site.as_str()).or_default().push(planned);
        }
    }
    let mut sites = Vec::new();
    for site in inventory.sites.values() {
        let Some(terminals) = by_site.remove(site.id.as_str()) else {
            continue;
        };
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
            terminals: Terminals::shared(terminals, Arc::clone(table)),
        });
    }
    sites
}

/// The plan document around the planned sites: jobs, totals, pinned inputs, warnings (no
/// schedule, no digest yet).
fn assemble(
    project: &Project,
    request: &PlanRequest,
    selection: &Selection<'_>,
    rendered: Rendered,
    sites: Vec<PlannedSite>,
) -> Plan {
    let jobs = &selection.jobs;
    let planned_jobs: Vec<PlannedJob> = jobs
        .iter()
        .zip(&selection.terminals)
        .map(|(j, terminals)| {
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

    let (mut tasks, mut skipped) = (0, 0);
    for task in sites
        .iter()
        .flat_map(|s| s.terminals.views())
        .flat_map(|t| t.tasks.iter())
    {
        tasks += 1;
        skipped += usize::from(task.skip.is_some());
    }
    let totals = Totals {
        sites: sites.len(),
        terminals: sites.iter().map(|s| s.terminals.len()).sum(),
        jobs: jobs.len(),
        tasks,
        skipped,
        estimated_minutes: sites.iter().map(|s| s.estimated_minutes).sum(),
    };
    let inputs = Inputs {
        inventory_sha256: inventory_digest(project, &sites),
        playbooks: occurrences::each_file_once(jobs.iter().map(|j| InputFile {
            path: relative(&project.paths.root, &j.file),
            sha256: j.file_sha256.clone(),
        })),
        templates: rendered.template_inputs.into_iter().collect(),
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
        secrets: rendered
            .secrets
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
                .flat_map(|s| s.terminals.views())
                .map(|t| HostKeyPin {
                    terminal: t.id.to_string(),
                    fingerprints: known.fingerprints(t.address, t.port),
                })
                .filter(|pin| !pin.fingerprints.is_empty())
                .collect(),
        },
    };
    let mut warnings = selection.warnings.clone();
    warnings.sort();
    warnings.dedup();
    Plan {
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
    }
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

/// Where a job's `template: { src: ... }` file is: beside the job's file.
fn template_path(job: &Job, src: &str) -> std::path::PathBuf {
    job.file
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(src)
}

/// Every string value (not keys) in `value`.
fn collect_strings<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
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
    context: &Context,
    secrets: &mut BTreeSet<String>,
) -> Result<(), crate::template::TemplateError> {
    match value {
        serde_json::Value::String(s) => {
            let r = templates.render_with(s, context)?;
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

/// The canonical SHA-256 of the sites and terminals the plan touches, with the terminals'
/// variables and groups: [`canonical_sha256`](super::canonical_sha256) of the list of sites, written into the hash one
/// site at a time.
fn inventory_digest(project: &Project, sites: &[PlannedSite]) -> String {
    let inventory = &project.inventory;
    let mut hasher = Sha256::new();
    hasher.update(b"[");
    let mut text = String::new();
    for (i, ps) in sites.iter().enumerate() {
        let site = inventory.sites.get(&ps.id);
        let terminals: Vec<serde_json::Value> = ps
            .terminals
            .views()
            .filter_map(|pt| inventory.terminals.get(pt.id))
            .map(|t| {
                serde_json::json!({
                    "terminal": t,
                    "vars": inventory.vars_for(t),
                    "groups": inventory.groups_of(t).iter().map(|g| &g.id).collect::<Vec<_>>(),
                })
            })
            .collect();
        if i > 0 {
            hasher.update(b",");
        }
        text.clear();
        super::digest::write_canonical(
            &serde_json::json!({ "site": site, "terminals": terminals }),
            &mut text,
        );
        hasher.update(text.as_bytes());
    }
    hasher.update(b"]");
    hex::encode(hasher.finalize())
}

/// `path` relative to the project `root`, with `/` separators, as plans name files.
pub(crate) fn relative(root: &std::path::Path, path: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
