//! Ansible inventories (YAML and INI, with `group_vars/` and `host_vars/`), read exactly as
//! Ansible reads them, and what seibi takes from them.
//!
//! Teams bring what they already have. The readers ([`yaml`], [`ini`]) build one
//! [`AnsibleInventory`] from every Ansible file of the inventory, as `ansible-inventory -i DIR`
//! does; [`vars_dirs`] adds `group_vars/` and `host_vars/` from the inventory's directory; then
//! each host's effective variables are computed with Ansible's precedence (see [`model`]), and
//! [`connection`] turns them into a seibi terminal: connection variables follow the same
//! precedence as every other variable. Groups become seibi groups (members and children); their
//! variables are already in each host's effective variables, which become the terminal's
//! variables (so they sit above seibi's global, group and site variables). Sites come from
//! seibi-format files: `seibi_site` places a host in one.
//!
//! `tests/ansible_conformance.rs` checks all of this against ansible-core itself.

pub mod config;
pub mod connection;
pub mod ini;
pub mod literal;
pub mod model;
pub mod pattern;
pub mod templating;
pub mod vars_dirs;
pub mod yaml;

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;

pub use model::{AnsibleInventory, Sourced, SourcedVars};

use super::load::{AnsibleExtras, Fragment};
use super::raw::RawGroup;
use crate::source::{Diagnostic, Diagnostics, SourceFile, YamlDocument};

/// One Ansible inventory file.
pub enum Source {
    /// A YAML inventory.
    Yaml(Box<YamlDocument>),
    /// An INI inventory.
    Ini(Arc<SourceFile>),
}

/// Builds the Ansible inventory of `sources` (with the vars directories under `base`).
pub fn build(sources: &[Source], base: Option<&Path>, diags: &mut Diagnostics) -> AnsibleInventory {
    let mut inv = AnsibleInventory::default();
    for source in sources {
        match source {
            Source::Yaml(doc) => yaml::read(&doc.root(), &mut inv, diags),
            Source::Ini(file) => ini::read(file, &mut inv, diags),
        }
    }
    inv.reconcile();
    if let Some(base) = base {
        vars_dirs::load(base, &mut inv, diags);
    }
    inv
}

/// What the Ansible files contribute to seibi's inventory.
pub(super) fn fragment(
    sources: &[Source],
    base: Option<&Path>,
    diags: &mut Diagnostics,
) -> Fragment {
    let inv = build(sources, base, diags);
    let depths = inv.depths();
    let mut fragment = Fragment::default();
    let mut taken = vec![false; inv.hosts.len()];
    let mut without_site = Vec::new();
    let mut unresolved = UnresolvedTemplates::default();
    let config = base.map(config::connection_defaults).unwrap_or_default();
    let mut lacking: Vec<Vec<&str>> = vec![Vec::new(); config.len()];
    for (h, host) in inv.hosts.values().enumerate() {
        let vars = inv.effective_vars(h, &depths);
        let group_names = inv
            .groups_of(h)
            .into_iter()
            .filter(|&g| g != model::ALL)
            .map(|g| inv.groups[g].name.clone())
            .collect();
        let (resolved, problems) = connection::resolve(&host.name, group_names, &vars);
        // A host Ansible would connect to with a configuration default is reported below, once
        // per default, and not taken (its "no login user" would only repeat it).
        let mut reported = !problems.is_empty();
        for (found, hosts) in config.iter().zip(&mut lacking) {
            if !found.vars().iter().any(|v| vars.contains_key(*v)) {
                hosts.push(&host.name);
                reported = true;
            }
        }
        for (name, problem) in problems {
            unresolved.add(&host.name, &name, &vars[&name], problem);
        }
        match connection::take(&host.name, &vars, &resolved, &host.at, diags) {
            Ok(_) if reported => {}
            Ok(t) => {
                taken[h] = true;
                fragment.ansible.insert(
                    host.name.clone(),
                    AnsibleExtras {
                        key_file: t.key_file,
                        origins: t.origins,
                    },
                );
                fragment
                    .terminals
                    .push((host.name.clone(), t.raw, host.at.clone()));
            }
            // A `seibi_site` whose template failed is reported already.
            Err(connection::Refused::NoSite) if reported => {}
            Err(connection::Refused::NoSite) => without_site.push(h),
            Err(connection::Refused::Reported) => {}
        }
    }
    unresolved.report(diags);
    for (found, hosts) in config.iter().zip(&lacking) {
        if !hosts.is_empty() {
            diags.push(found.error(hosts));
        }
    }
    if let Some((&first, rest)) = without_site.split_first() {
        let host = &inv.hosts[first];
        let mut d = Diagnostic::error(format!("Ansible host `{}` has no `seibi_site`", host.name))
            .at(Some(host.at.clone()))
            .hint("set `seibi_site: <site id>` in the host's vars, a group's vars or group_vars/all; sites are defined in a seibi inventory file");
        if !rest.is_empty() {
            d = d.hint(format!(
                "{} more host{} have none either: {}",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" },
                rest.iter()
                    .take(5)
                    .map(|&h| format!("`{}`", inv.hosts[h].name))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if rest.len() > 5 { ", ..." } else { "" }
            ));
        }
        diags.push(d);
    }
    for (g, group) in inv.groups.values().enumerate() {
        if g == model::ALL || g == model::UNGROUPED {
            continue;
        }
        let raw = RawGroup {
            description: None,
            members: group
                .hosts
                .iter()
                .filter(|&&h| taken[h])
                .map(|&h| inv.hosts[h].name.clone())
                .collect(),
            children: group
                .children
                .iter()
                .map(|&c| inv.groups[c].name.clone())
                .collect(),
            vars: Default::default(),
        };
        let Some(at) = group.at.clone() else {
            continue;
        };
        fragment.ansible_ids.insert(group.name.clone());
        fragment.groups.push((group.name.clone(), raw, at));
    }
    for host in inv.hosts.keys() {
        fragment.ansible_ids.insert(host.clone());
    }
    fragment
}

/// Templates of connection variables that could not be resolved, one report for each variable
/// and place however many hosts it fails for (a group's `ansible_user: "{{ typo }}"` fails for
/// every host of the group, and is one mistake).
#[derive(Default)]
struct UnresolvedTemplates {
    /// (variable, place, what is wrong) -> the value as written, the problem, the hosts.
    by_place: IndexMap<(String, String, String), FailedTemplate>,
}

/// One variable's template that failed, and the hosts it failed for.
type FailedTemplate = (Sourced, templating::Unresolved, Vec<String>);

impl UnresolvedTemplates {
    fn add(&mut self, host: &str, name: &str, var: &Sourced, problem: templating::Unresolved) {
        let key = (name.to_string(), var.at.to_string(), problem.problem());
        self.by_place
            .entry(key)
            .or_insert_with(|| (var.clone(), problem, Vec::new()))
            .2
            .push(host.to_string());
    }

    fn report(self, diags: &mut Diagnostics) {
        for ((name, _, _), (var, problem, hosts)) in self.by_place {
            let mut d = Diagnostic::error(format!(
                "Ansible host `{}`: `{name}` is {}: {}",
                hosts[0],
                var.value,
                problem.problem()
            ))
            .at(Some(var.at.clone()))
            .hint(problem.hint());
            if hosts.len() > 1 {
                d = d.hint(format!(
                    "the same for {} more host{}: {}",
                    hosts.len() - 1,
                    if hosts.len() == 2 { "" } else { "s" },
                    hosts[1..]
                        .iter()
                        .take(5)
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                        + if hosts.len() > 6 { ", ..." } else { "" }
                ));
            }
            diags.push(d);
        }
    }
}

/// Effective variables of every host, by host name (for tools and tests that compare with
/// `ansible-inventory --list`).
pub fn effective(inv: &AnsibleInventory) -> IndexMap<String, SourcedVars> {
    let depths = inv.depths();
    inv.hosts
        .keys()
        .enumerate()
        .map(|(h, name)| (name.clone(), inv.effective_vars(h, &depths)))
        .collect()
}
