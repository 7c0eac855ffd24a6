//! The inventory as Ansible holds it in memory (ansible-core's `InventoryData`, `Group` and
//! `Host`), built by the YAML and INI readers, and the effective variables of a host computed
//! as `ansible-inventory --host` computes them.
//!
//! # Precedence (lowest first)
//! 1. the `all` group's inline vars;
//! 2. the inline vars of every other group the host is in (directly or through children),
//!    ordered by depth (longest path from `all`), then `ansible_group_priority` (default 1), then
//!    name: a child group wins over its parent, a higher priority wins at equal depth, and
//!    siblings at equal depth and priority are applied in name order (the last name wins);
//! 3. `group_vars/all`;
//! 4. `group_vars/<group>` of the same groups, in the same order;
//! 5. the host's inline vars (the last assignment in file order wins);
//! 6. `host_vars/<host>`.
//!
//! Every layer replaces top-level keys (Ansible's default `hash_behaviour: replace`). The
//! `ansible_group_priority` of a group is read from inline vars only and is not a variable.

use indexmap::IndexMap;

use crate::source::Location;

/// A variable's value and where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced {
    /// The value, as Ansible reads it.
    pub value: serde_json::Value,
    /// The place of the assignment (key in YAML, line in INI, file in vars directories).
    pub at: Location,
    /// Tagged `!unsafe` in YAML: Ansible never templates it.
    pub literal: bool,
}

impl Sourced {
    /// A value set at `at` (templated when Ansible templates it).
    pub fn new(value: serde_json::Value, at: Location) -> Self {
        Self {
            value,
            at,
            literal: false,
        }
    }
}

/// Variables with their places, in first-assignment order.
pub type SourcedVars = IndexMap<String, Sourced>;

/// Index of a group in [`AnsibleInventory::groups`].
pub type GroupId = usize;
/// Index of a host in [`AnsibleInventory::hosts`].
pub type HostId = usize;

/// An Ansible group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Name.
    pub name: String,
    /// Inline variables (from the inventory file).
    pub vars: SourcedVars,
    /// Variables from `group_vars/`.
    pub file_vars: SourcedVars,
    /// `ansible_group_priority` (1 unless set).
    pub priority: i64,
    /// Direct child groups, in the order added.
    pub children: Vec<GroupId>,
    /// Direct parents, in the order added.
    pub parents: Vec<GroupId>,
    /// Hosts listed directly in the group, in the order added.
    pub hosts: Vec<HostId>,
    /// Where the group was first written, if anywhere.
    pub at: Option<Location>,
}

/// An Ansible host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Name (after range expansion).
    pub name: String,
    /// Inline variables.
    pub vars: SourcedVars,
    /// Variables from `host_vars/`.
    pub file_vars: SourcedVars,
    /// Groups the host is listed in directly.
    pub groups: Vec<GroupId>,
    /// Where the host was first written.
    pub at: Location,
}

/// Adding a child group would make a group its own ancestor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("adding group `{child}` as a child of `{parent}` makes a loop")]
pub struct GroupLoop {
    /// The would-be parent.
    pub parent: String,
    /// The would-be child.
    pub child: String,
}

/// The groups and hosts of one or more Ansible inventory sources.
#[derive(Debug, Clone)]
pub struct AnsibleInventory {
    /// Groups by name, `all` and `ungrouped` first.
    pub groups: IndexMap<String, Group>,
    /// Hosts by name, in the order first seen.
    pub hosts: IndexMap<String, Host>,
}

/// The `all` group's index.
pub const ALL: GroupId = 0;
/// The `ungrouped` group's index.
pub const UNGROUPED: GroupId = 1;

impl Default for AnsibleInventory {
    fn default() -> Self {
        let mut inv = AnsibleInventory {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
        };
        inv.add_group("all", None);
        inv.add_group("ungrouped", None);
        let _ = inv.add_child(ALL, UNGROUPED);
        inv
    }
}

impl AnsibleInventory {
    /// The group called `name`, created if new.
    pub fn add_group(&mut self, name: &str, at: Option<Location>) -> GroupId {
        if let Some(id) = self.groups.get_index_of(name) {
            let group = &mut self.groups[id];
            if group.at.is_none() {
                group.at = at;
            }
            return id;
        }
        let (id, _) = self.groups.insert_full(
            name.to_string(),
            Group {
                name: name.to_string(),
                vars: SourcedVars::new(),
                file_vars: SourcedVars::new(),
                priority: 1,
                children: Vec::new(),
                parents: Vec::new(),
                hosts: Vec::new(),
                at,
            },
        );
        id
    }

    /// Makes `child` a child of `parent` (nothing if it already is).
    pub fn add_child(&mut self, parent: GroupId, child: GroupId) -> Result<(), GroupLoop> {
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if parent == child || self.is_ancestor(child, parent) {
            return Err(GroupLoop {
                parent: self.groups[parent].name.clone(),
                child: self.groups[child].name.clone(),
            });
        }
        self.groups[parent].children.push(child);
        self.groups[child].parents.push(parent);
        Ok(())
    }

    /// Whether `ancestor` is above `group` (walks `group`'s ancestors only).
    fn is_ancestor(&self, ancestor: GroupId, group: GroupId) -> bool {
        let mut seen = vec![false; self.groups.len()];
        let mut stack = vec![group];
        while let Some(g) = stack.pop() {
            for &p in &self.groups[g].parents {
                if p == ancestor {
                    return true;
                }
                if !std::mem::replace(&mut seen[p], true) {
                    stack.push(p);
                }
            }
        }
        false
    }

    /// The host called `name`, created if new (a `:port` from its pattern then becomes its
    /// `ansible_port`, as in Ansible, which ignores the port of a host it already has), and
    /// listed in `group`.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<GroupId>,
        port: Option<u16>,
        at: &Location,
    ) -> HostId {
        let id = match self.hosts.get_index_of(name) {
            Some(id) => id,
            None => {
                let mut vars = SourcedVars::new();
                if let Some(port) = port {
                    vars.insert(
                        "ansible_port".to_string(),
                        Sourced::new(port.into(), at.clone()),
                    );
                }
                self.hosts
                    .insert_full(
                        name.to_string(),
                        Host {
                            name: name.to_string(),
                            vars,
                            file_vars: SourcedVars::new(),
                            groups: Vec::new(),
                            at: at.clone(),
                        },
                    )
                    .0
            }
        };
        if let Some(g) = group
            && !self.hosts[id].groups.contains(&g)
        {
            self.hosts[id].groups.push(g);
            self.groups[g].hosts.push(id);
        }
        id
    }

    /// Sets an inline group variable; `ansible_group_priority` sets the priority instead.
    /// Returns an error message when the priority is not a whole number.
    pub fn set_group_var(
        &mut self,
        group: GroupId,
        name: &str,
        value: Sourced,
    ) -> Result<(), String> {
        let g = &mut self.groups[group];
        if name == "ansible_group_priority" {
            g.priority = priority(&value.value).ok_or_else(|| {
                format!(
                    "`ansible_group_priority` of group `{}` must be a whole number, found {}",
                    g.name, value.value
                )
            })?;
            return Ok(());
        }
        g.vars.insert(name.to_string(), value);
        Ok(())
    }

    /// Sets an inline host variable. Like Ansible, a name that is also a group's sets the group's.
    pub fn set_host_var(&mut self, host: HostId, name: &str, value: Sourced) -> Result<(), String> {
        if let Some(g) = self.groups.get_index_of(self.hosts[host].name.as_str()) {
            return self.set_group_var(g, name, value);
        }
        self.hosts[host].vars.insert(name.to_string(), value);
        Ok(())
    }

    /// What Ansible does after reading every source: groups without a parent go under `all`;
    /// hosts in no group go to `ungrouped`, hosts in another group leave it.
    pub fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                let _ = self.add_child(ALL, g);
            }
        }
        for h in 0..self.hosts.len() {
            let groups = &self.hosts[h].groups;
            let elsewhere = groups.iter().any(|&g| g != ALL && g != UNGROUPED);
            if groups.contains(&UNGROUPED) && elsewhere {
                self.hosts[h].groups.retain(|&g| g != UNGROUPED);
                self.groups[UNGROUPED].hosts.retain(|&x| x != h);
            } else if !elsewhere && !groups.contains(&UNGROUPED) {
                self.hosts[h].groups.push(UNGROUPED);
                self.groups[UNGROUPED].hosts.push(h);
            }
        }
    }

    /// Each group's depth: the longest path from `all` (which is 0). Computed once for all
    /// groups, each edge visited once.
    pub fn depths(&self) -> Vec<usize> {
        let mut depth: Vec<Option<usize>> = vec![None; self.groups.len()];
        fn visit(inv: &AnsibleInventory, g: GroupId, depth: &mut Vec<Option<usize>>) -> usize {
            if let Some(d) = depth[g] {
                return d;
            }
            // Loops are refused when edges are added, so this recursion ends.
            let d = inv.groups[g]
                .parents
                .iter()
                .map(|&p| visit(inv, p, depth) + 1)
                .max()
                .unwrap_or(0);
            depth[g] = Some(d);
            d
        }
        (0..self.groups.len())
            .map(|g| visit(self, g, &mut depth))
            .collect()
    }

    /// Every group a host is in, directly or through parents, `all` included, in no order.
    pub fn groups_of(&self, host: HostId) -> Vec<GroupId> {
        let mut seen = vec![false; self.groups.len()];
        let mut out = Vec::new();
        let mut stack: Vec<GroupId> = self.hosts[host].groups.clone();
        while let Some(g) = stack.pop() {
            if std::mem::replace(&mut seen[g], true) {
                continue;
            }
            out.push(g);
            stack.extend(self.groups[g].parents.iter().copied());
        }
        out
    }

    /// A host's effective variables (see the module's precedence), each with the place that set
    /// it. `depths` comes from [`AnsibleInventory::depths`].
    pub fn effective_vars(&self, host: HostId, depths: &[usize]) -> SourcedVars {
        let mut groups: Vec<GroupId> = self
            .groups_of(host)
            .into_iter()
            .filter(|&g| g != ALL)
            .collect();
        groups.sort_by(|&a, &b| {
            let key = |g: GroupId| (depths[g], self.groups[g].priority, &self.groups[g].name);
            key(a).cmp(&key(b))
        });
        let mut out = SourcedVars::new();
        let mut apply = |vars: &SourcedVars| {
            for (k, v) in vars {
                out.insert(k.clone(), v.clone());
            }
        };
        apply(&self.groups[ALL].vars);
        for &g in &groups {
            apply(&self.groups[g].vars);
        }
        apply(&self.groups[ALL].file_vars);
        for &g in &groups {
            apply(&self.groups[g].file_vars);
        }
        apply(&self.hosts[host].vars);
        apply(&self.hosts[host].file_vars);
        out
    }
}

/// Python's `int(value)` for the values an inventory can hold.
fn priority(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        serde_json::Value::Bool(b) => Some(i64::from(*b)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
