//! A site's planned terminals, in memory as the planner makes them: terminals whose tasks
//! render the same hold the same tasks, once.
//!
//! Most of a plan is the same for every terminal (a file's path and mode, a package's
//! version, a command): the planner renders each distinct task once, keeps it in one table for
//! the whole plan, and gives each terminal the indices of its tasks. [`Terminals`] is that form,
//! and it serializes as the plan document's per-terminal JSON, byte for byte what a list of
//! [`PlannedTerminal`]s writes (so plans and their digests are the same as before).
//!
//! [`Terminals::views`] reads the terminals without copying their tasks, which is what
//! writing, hashing and showing a plan of 100,000 terminals do. Code that wants
//! [`PlannedTerminal`]s (the run, the documents, a plan read back from JSON) gets them through
//! `Deref` to a slice: a shared list makes its per-terminal copy then, once, and keeps it.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::{PlannedTask, PlannedTerminal};
use crate::inventory::{Become, Platform};

/// The planned terminals of one site.
#[derive(Clone, Default)]
pub struct Terminals {
    /// The planner's form, until something changes the terminals.
    shared: Option<Shared>,
    /// Each terminal with its own tasks (a plan read back, or changed after it was made);
    /// empty while `shared` is there.
    owned: Vec<PlannedTerminal>,
}

/// The planner's form: tasks by index into a table shared by the whole plan.
#[derive(Clone)]
struct Shared {
    terminals: Vec<SharedTerminal>,
    table: Arc<TaskTable>,
    /// The per-terminal copy, made the first time a caller asks for a slice.
    full: OnceLock<Vec<PlannedTerminal>>,
}

impl Shared {
    fn views(&self) -> impl Iterator<Item = PlannedTerminalRef<'_>> + '_ {
        self.terminals
            .iter()
            .map(|t| PlannedTerminalRef::shared(t, &self.table))
    }

    fn per_terminal(&self) -> Vec<PlannedTerminal> {
        shared_to_owned(&self.terminals, &self.table)
    }
}

/// The distinct rendered tasks of a plan.
#[derive(Debug, Default)]
pub(crate) struct TaskTable {
    pub(crate) tasks: Vec<PlannedTask>,
}

/// A terminal in the planner's form: everything a [`PlannedTerminal`] has, its tasks as
/// indices into the plan's [`TaskTable`].
#[derive(Debug, Clone)]
pub(crate) struct SharedTerminal {
    pub(crate) id: String,
    pub(crate) address: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) become_method: Become,
    pub(crate) platform: Platform,
    pub(crate) key_file: Option<String>,
    /// The same list for every terminal with the same jobs.
    pub(crate) jobs: Arc<Vec<String>>,
    pub(crate) tasks: Vec<u32>,
    pub(crate) estimated_minutes: u64,
}

/// A planned terminal, borrowed from either form: what [`Terminals::views`] yields. Its
/// JSON is the [`PlannedTerminal`]'s (same fields, names and order).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlannedTerminalRef<'a> {
    /// Terminal id.
    pub id: &'a str,
    /// Address.
    pub address: &'a str,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: &'a str,
    /// How commands gain root after logging in.
    #[serde(rename = "become", skip_serializing_if = "Become::is_none")]
    pub become_method: Become,
    /// Platform.
    pub platform: Platform,
    /// The SSH private key this terminal logs in with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<&'a str>,
    /// Jobs that run here.
    pub jobs: &'a [String],
    /// Tasks in the order they run.
    pub tasks: TaskList<'a>,
    /// Sum of the jobs' per-terminal estimates.
    pub estimated_minutes: u64,
}

impl<'a> From<&'a PlannedTerminal> for PlannedTerminalRef<'a> {
    fn from(terminal: &'a PlannedTerminal) -> Self {
        // Every field named: a field added to `PlannedTerminal` must be added here too (and
        // to `SharedTerminal`), or the two forms would write different JSON.
        let PlannedTerminal {
            id,
            address,
            port,
            user,
            become_method,
            platform,
            key_file,
            jobs,
            tasks,
            estimated_minutes,
        } = terminal;
        PlannedTerminalRef {
            id,
            address,
            port: *port,
            user,
            become_method: *become_method,
            platform: *platform,
            key_file: key_file.as_deref(),
            jobs,
            tasks: TaskList::Owned(tasks),
            estimated_minutes: *estimated_minutes,
        }
    }
}

impl<'a> PlannedTerminalRef<'a> {
    fn shared(terminal: &'a SharedTerminal, table: &'a TaskTable) -> Self {
        PlannedTerminalRef {
            id: &terminal.id,
            address: &terminal.address,
            port: terminal.port,
            user: &terminal.user,
            become_method: terminal.become_method,
            platform: terminal.platform,
            key_file: terminal.key_file.as_deref(),
            jobs: &terminal.jobs,
            tasks: TaskList::Shared(&terminal.tasks, &table.tasks),
            estimated_minutes: terminal.estimated_minutes,
        }
    }

    /// The terminal with its own copy of its tasks.
    pub fn to_terminal(&self) -> PlannedTerminal {
        PlannedTerminal {
            id: self.id.to_string(),
            address: self.address.to_string(),
            port: self.port,
            user: self.user.to_string(),
            become_method: self.become_method,
            platform: self.platform,
            key_file: self.key_file.map(str::to_string),
            jobs: self.jobs.to_vec(),
            tasks: self.tasks.iter().cloned().collect(),
            estimated_minutes: self.estimated_minutes,
        }
    }

    /// What plans show after the login user (see [`PlannedTerminal::become_note`]).
    pub fn become_note(&self) -> String {
        if self.become_method.is_none() {
            String::new()
        } else {
            format!(" ({})", self.become_method)
        }
    }
}

/// A terminal's tasks in the order they run, borrowed from either form.
#[derive(Debug, Clone, Copy)]
pub enum TaskList<'a> {
    /// The terminal's own tasks.
    Owned(&'a [PlannedTask]),
    /// Indices into the plan's table of distinct tasks.
    Shared(&'a [u32], &'a [PlannedTask]),
}

impl<'a> TaskList<'a> {
    /// How many tasks.
    pub fn len(&self) -> usize {
        match self {
            TaskList::Owned(tasks) => tasks.len(),
            TaskList::Shared(indices, _) => indices.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th task, if there is one.
    pub fn get(&self, i: usize) -> Option<&'a PlannedTask> {
        match *self {
            TaskList::Owned(tasks) => tasks.get(i),
            TaskList::Shared(indices, table) => indices.get(i).map(|&t| &table[t as usize]),
        }
    }

    /// The tasks in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a PlannedTask> + use<'a> {
        let list = *self;
        (0..list.len()).filter_map(move |i| list.get(i))
    }
}

impl PartialEq for TaskList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for TaskList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl Terminals {
    /// The planner's form: `terminals` with tasks by index into `table`.
    pub(crate) fn shared(terminals: Vec<SharedTerminal>, table: Arc<TaskTable>) -> Self {
        Terminals {
            shared: Some(Shared {
                terminals,
                table,
                full: OnceLock::new(),
            }),
            owned: Vec::new(),
        }
    }

    /// The terminals, borrowed, without copying their tasks.
    pub fn views(&self) -> impl Iterator<Item = PlannedTerminalRef<'_>> + '_ {
        self.owned
            .iter()
            .map(PlannedTerminalRef::from)
            .chain(self.shared.iter().flat_map(Shared::views))
    }

    /// How many terminals (without copying any).
    pub fn len(&self) -> usize {
        self.owned.len() + self.shared.as_ref().map_or(0, |s| s.terminals.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the terminals for which `keep` is true (each with its own tasks after this).
    pub fn retain(&mut self, keep: impl FnMut(&PlannedTerminal) -> bool) {
        self.owned_mut().retain(keep);
    }

    /// The terminals with their own tasks, to change.
    fn owned_mut(&mut self) -> &mut Vec<PlannedTerminal> {
        if let Some(shared) = self.shared.take() {
            let full = shared.full.into_inner();
            self.owned = full.unwrap_or_else(|| shared_to_owned(&shared.terminals, &shared.table));
        }
        &mut self.owned
    }
}

fn shared_to_owned(terminals: &[SharedTerminal], table: &TaskTable) -> Vec<PlannedTerminal> {
    terminals
        .iter()
        .map(|t| PlannedTerminalRef::shared(t, table).to_terminal())
        .collect()
}

impl From<Vec<PlannedTerminal>> for Terminals {
    fn from(terminals: Vec<PlannedTerminal>) -> Self {
        Terminals {
            shared: None,
            owned: terminals,
        }
    }
}

impl Deref for Terminals {
    type Target = [PlannedTerminal];

    fn deref(&self) -> &[PlannedTerminal] {
        match &self.shared {
            Some(shared) => shared.full.get_or_init(|| shared.per_terminal()),
            None => &self.owned,
        }
    }
}

impl DerefMut for Terminals {
    fn deref_mut(&mut self) -> &mut [PlannedTerminal] {
        self.owned_mut()
    }
}

impl<'a> IntoIterator for &'a Terminals {
    type Item = &'a PlannedTerminal;
    type IntoIter = std::slice::Iter<'a, PlannedTerminal>;

    fn into_iter(self) -> Self::IntoIter {
        self.deref().iter()
    }
}

impl std::fmt::Debug for Terminals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.views()).finish()
    }
}

impl PartialEq for Terminals {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.views().eq(other.views())
    }
}

impl Serialize for Terminals {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.views())
    }
}

impl<'de> Deserialize<'de> for Terminals {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<PlannedTerminal>::deserialize(deserializer).map(Terminals::from)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::plan::{Plan, PlanRequest, build};
    use crate::project::{Project, ProjectPaths};

    fn example_plan() -> Plan {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (project, diags) = Project::load(ProjectPaths::new(root));
        let project = project.unwrap_or_else(|| panic!("the example loads: {diags:?}"));
        build(&project, &PlanRequest::default()).expect("the example plans")
    }

    /// Terminals share the tasks that render the same for them, and only those: a task that
    /// names the terminal (the log forwarding's `$LocalHostName {{ terminal.id }}`) is one
    /// per terminal.
    #[test]
    fn terminals_share_the_tasks_that_render_the_same() {
        let plan = example_plan();
        let views: Vec<_> = plan
            .sites
            .iter()
            .flat_map(|s| s.terminals.views())
            .collect();
        let distinct: HashSet<*const crate::plan::PlannedTask> = views
            .iter()
            .flat_map(|t| t.tasks.iter())
            .map(std::ptr::from_ref)
            .collect();
        assert!(views.len() > 10, "{}", views.len());
        assert!(
            distinct.len() * 3 < plan.totals.tasks,
            "{} distinct of {}",
            distinct.len(),
            plan.totals.tasks
        );
        let forwarding = |t: &super::PlannedTerminalRef<'_>| {
            t.tasks
                .iter()
                .find(|x| x.task == "log-forwarding")
                .map(std::ptr::from_ref)
        };
        let with: Vec<_> = views.iter().filter_map(forwarding).collect();
        assert!(with.len() > 1);
        assert_eq!(with.iter().collect::<HashSet<_>>().len(), with.len());
        for t in &views {
            if let Some(task) = t.tasks.iter().find(|x| x.task == "log-forwarding") {
                assert!(
                    task.arg("content")
                        .contains(&format!("$LocalHostName {}.", t.id))
                );
            }
        }
    }

    /// The shared form and the per-terminal form (a plan read back) are equal, write the same
    /// JSON as serde writes the whole plan, and hash to the same digest.
    #[test]
    fn shared_and_owned_forms_write_the_same_plan() {
        let shared = example_plan();
        let text = shared.to_json();
        let owned = Plan::from_json(&text).expect("reads back");
        assert_eq!(owned, shared);
        assert_eq!(owned.compute_digest(), shared.digest);
        for plan in [&shared, &owned] {
            let mut written = Vec::new();
            plan.write_json(&mut written).expect("writes");
            assert_eq!(
                String::from_utf8(written).expect("utf-8"),
                format!("{text}\n")
            );
        }
        // A slice of the shared form is the terminals with their own tasks.
        let site = &shared.sites[0];
        assert_eq!(site.terminals.len(), site.terminals.iter().count());
        assert_eq!(
            site.terminals[0].tasks.len(),
            site.terminals
                .views()
                .next()
                .expect("a terminal")
                .tasks
                .len()
        );
    }
}
