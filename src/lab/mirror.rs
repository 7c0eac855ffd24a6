//! `seibi lab mirror`: lab hosts that stand in for chosen terminals of a project, and a
//! rehearsal copy of the project that points at them, so that the project's own jobs can go
//! through plan, approval, apply and the reports without touching a real terminal.
//!
//! Each stand-in is named after its terminal and keeps the terminal's site, groups, tags and
//! variables; only how it is reached changes: the lab host's address, port 22, user root and no
//! `become` (the inventory's `defaults` are not copied), since the lab's client key logs in as
//! root. The rehearsal project is a copy of the project's playbooks, secrets and roster with an
//! inventory of the stand-ins (the sites, groups and global variables they use) and a
//! `known_hosts` that pins the stand-ins' host keys, which the lab made itself and so can vouch
//! for. The project itself is never written to: rotated passwords, journals and collected files
//! of the rehearsal stay in the copy.

use std::fs;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Fleet, LabError, LabHost};
use crate::inventory::{Inventory, Platform, Selector, Terminal};
use crate::project::ProjectPaths;
use crate::roster::ROSTER_FILE;

/// The file of the rehearsal project's inventory, under its `inventory/`.
pub const MIRROR_INVENTORY: &str = "lab.yml";

/// The chosen terminals of an inventory that lab hosts are to stand in for.
#[derive(Debug)]
pub struct Mirror<'a> {
    inventory: &'a Inventory,
    terminals: Vec<&'a Terminal>,
}

impl<'a> Mirror<'a> {
    /// The Linux terminals `selector` chooses (all of them for an empty selector). Refused when
    /// it names something the inventory lacks, or chooses no Linux terminal: lab hosts are Linux
    /// hosts and cannot stand in for a Windows terminal.
    pub fn select(inventory: &'a Inventory, selector: &Selector) -> Result<Self, LabError> {
        let problems = selector.problems(inventory, "the selection");
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(LabError::InvalidSpec(text.join("\n")));
        }
        let chosen = selector.select(inventory);
        let windows = chosen
            .iter()
            .filter(|t| t.platform == Platform::Windows)
            .count();
        let terminals: Vec<&Terminal> = chosen
            .into_iter()
            .filter(|t| t.platform == Platform::Linux)
            .collect();
        if terminals.is_empty() {
            return Err(LabError::InvalidSpec(format!(
                "the selection chooses no Linux terminal{}; lab hosts can only stand in for Linux terminals",
                if windows > 0 {
                    format!(" ({windows} Windows)")
                } else {
                    String::new()
                }
            )));
        }
        Ok(Mirror {
            inventory,
            terminals,
        })
    }

    /// The chosen terminals, in inventory order.
    pub fn terminals(&self) -> &[&'a Terminal] {
        &self.terminals
    }

    /// Host names for the stand-ins: the terminal ids, with characters a host name cannot hold
    /// replaced by `-` (the fleet refuses names that then collide).
    pub fn host_names(&self) -> Vec<String> {
        self.terminals
            .iter()
            .map(|t| {
                let name: String =
                    t.id.chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                        .take(63)
                        .collect();
                name.trim_matches('-').to_owned()
            })
            .collect()
    }

    /// The inventory of the stand-ins: `hosts[i]` stands in for the i-th chosen terminal. It
    /// keeps the global variables, every group (members narrowed to the chosen terminals, so
    /// that group variables apply as before) and the sites of the chosen terminals with their
    /// calendars and variables; a site's jump host is left out, since stand-ins are reached
    /// directly.
    pub fn inventory_yaml(&self, hosts: &[LabHost], project: &Path) -> Result<String, LabError> {
        if hosts.len() != self.terminals.len() {
            return Err(LabError::InvalidSpec(format!(
                "{} hosts for {} terminals",
                hosts.len(),
                self.terminals.len()
            )));
        }
        let chosen = |id: &String| self.terminals.iter().any(|t| &t.id == id);
        let mut sites = Map::new();
        for site in self.inventory.sites.values() {
            if !self.terminals.iter().any(|t| t.site == site.id) {
                continue;
            }
            let mut entry = Map::new();
            entry.insert("name".into(), json!(site.name));
            if let Some(en) = &site.name_en {
                entry.insert("name_en".into(), json!(en));
            }
            entry.insert("kind".into(), json!(site.kind));
            entry.insert("capacity".into(), json!(site.capacity));
            if !site.closed_days.is_empty() {
                entry.insert("closed_days".into(), json!(site.closed_days));
            }
            if let Some(hours) = &site.hours {
                entry.insert("hours".into(), json!(hours));
            }
            if let Some(mbps) = site.bandwidth_mbps {
                entry.insert("bandwidth_mbps".into(), json!(mbps));
            }
            if !site.vars.is_empty() {
                entry.insert("vars".into(), json!(site.vars));
            }
            // What the crew plan reads: travel (to the sites the copy has), the work mode and
            // the approved out-of-hours windows.
            if !site.work.is_on_site() {
                entry.insert("work".into(), json!(site.work));
            }
            let mut travel = site.travel.clone();
            travel
                .sites
                .retain(|other, _| self.terminals.iter().any(|t| &t.site == other));
            if !travel.is_empty() {
                entry.insert("travel".into(), json!(travel));
            }
            if !site.approved_windows.is_empty() {
                entry.insert("approved_windows".into(), json!(site.approved_windows));
            }
            sites.insert(site.id.clone(), Value::Object(entry));
        }
        let mut groups = Map::new();
        for group in self.inventory.groups.values() {
            let mut entry = Map::new();
            if let Some(description) = &group.description {
                entry.insert("description".into(), json!(description));
            }
            let members: Vec<&String> = group.members.iter().filter(|m| chosen(m)).collect();
            if !members.is_empty() {
                entry.insert("members".into(), json!(members));
            }
            if !group.children.is_empty() {
                entry.insert("children".into(), json!(group.children));
            }
            if !group.vars.is_empty() {
                entry.insert("vars".into(), json!(group.vars));
            }
            groups.insert(group.id.clone(), Value::Object(entry));
        }
        let mut terminals = Map::new();
        for (terminal, host) in self.terminals.iter().zip(hosts) {
            let mut entry = Map::new();
            entry.insert("site".into(), json!(terminal.site));
            entry.insert("address".into(), json!(host.address().to_string()));
            entry.insert("port".into(), json!(host.port()));
            entry.insert("user".into(), json!("root"));
            entry.insert("platform".into(), json!(terminal.platform));
            if !terminal.tags.is_empty() {
                entry.insert("tags".into(), json!(terminal.tags));
            }
            if !terminal.groups.is_empty() {
                entry.insert("groups".into(), json!(terminal.groups));
            }
            if !terminal.vars.is_empty() {
                entry.insert("vars".into(), json!(terminal.vars));
            }
            terminals.insert(terminal.id.clone(), Value::Object(entry));
        }
        let mut document = Map::new();
        if !self.inventory.vars.is_empty() {
            document.insert("vars".into(), json!(self.inventory.vars));
        }
        document.insert("sites".into(), Value::Object(sites));
        document.insert("groups".into(), Value::Object(groups));
        document.insert("terminals".into(), Value::Object(terminals));
        let yaml = crate::source::yaml::to_yaml_string(&Value::Object(document))
            .map_err(LabError::InvalidSpec)?;
        Ok(format!(
            "# Written by `seibi lab mirror`: lab hosts standing in for {} terminals of {}.\n\
             # Sites, groups and variables are the project's; addresses are the lab hosts'.\n{yaml}",
            self.terminals.len(),
            project.display()
        ))
    }

    /// Writes the rehearsal project at `dest` (which must not exist, or be empty): copies of
    /// `source`'s playbooks, secrets and roster, the stand-ins' inventory, and `known_hosts`
    /// pinning the stand-ins' keys.
    pub fn write_project(
        &self,
        source: &ProjectPaths,
        fleet: &Fleet,
        dest: &Path,
    ) -> Result<(), LabError> {
        if fs::read_dir(dest).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(LabError::InvalidSpec(format!(
                "{} already holds a rehearsal project (its journals and reports may still be wanted); remove it or give another --project-dir",
                dest.display()
            )));
        }
        copy_tree(&source.playbooks, &dest.join("playbooks"))?;
        if source.secrets.is_dir() {
            copy_tree(&source.secrets, &dest.join("secrets"))?;
        }
        let roster = source.root.join(ROSTER_FILE);
        if roster.is_file() {
            copy_file(&roster, &dest.join(ROSTER_FILE))?;
        }
        let inventory = dest.join("inventory");
        fs::create_dir_all(&inventory).map_err(LabError::io("cannot create", &inventory))?;
        let shown = fs::canonicalize(&source.root).unwrap_or_else(|_| source.root.clone());
        let yaml = self.inventory_yaml(fleet.hosts(), &shown)?;
        super::host::write(&inventory.join(MIRROR_INVENTORY), &yaml)?;
        fleet.write_known_hosts(&dest.join("known_hosts"))
    }
}

/// Copies a directory tree (files keep their permissions; symbolic links are followed).
fn copy_tree(from: &Path, to: &Path) -> Result<(), LabError> {
    fs::create_dir_all(to).map_err(LabError::io("cannot create", to))?;
    let entries = fs::read_dir(from).map_err(LabError::io("cannot read", from))?;
    for entry in entries {
        let entry = entry.map_err(LabError::io("cannot read", from))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            copy_file(&source, &target)?;
        }
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), LabError> {
    fs::copy(from, to)
        .map(drop)
        .map_err(LabError::io("cannot copy", from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Become;
    use crate::project::Project;

    fn example() -> Inventory {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (project, diags) = Project::load(ProjectPaths::new(root));
        project
            .unwrap_or_else(|| panic!("the example loads: {diags:?}"))
            .inventory
    }

    fn kita() -> Selector {
        Selector {
            sites: vec!["kita".into()],
            ..Selector::default()
        }
    }

    #[test]
    fn stands_in_for_linux_terminals_only_and_names_hosts_after_them() {
        let inventory = example();
        let mirror = Mirror::select(&inventory, &kita()).expect("kita has Linux terminals");
        let names = mirror.host_names();
        assert_eq!(names.first().map(String::as_str), Some("kita-s01"));
        assert!(!names.iter().any(|n| n == "kita-w01"), "{names:?}");
        assert_eq!(names.len(), 7);

        let windows = Selector {
            terminals: vec!["kita-w01".into()],
            ..Selector::default()
        };
        let error = Mirror::select(&inventory, &windows).expect_err("Windows only");
        assert!(error.to_string().contains("(1 Windows)"), "{error}");

        let typo = Selector {
            sites: vec!["kitta".into()],
            ..Selector::default()
        };
        let error = Mirror::select(&inventory, &typo).expect_err("unknown site");
        assert!(error.to_string().contains("`kita`"), "{error}");
    }

    #[test]
    fn the_stand_ins_inventory_loads_with_the_same_variables() {
        let inventory = example();
        let mirror = Mirror::select(&inventory, &kita()).expect("kita");
        let hosts: Vec<LabHost> = mirror
            .host_names()
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let last = u8::try_from(i + 1).expect("few hosts");
                LabHost::for_tests(name, std::net::Ipv4Addr::new(127, 0, 1, last), 22)
            })
            .collect();
        let yaml = mirror
            .inventory_yaml(&hosts, Path::new("/city"))
            .expect("renders");
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("lab.yml"), &yaml).expect("write");
        let (lab, diags) = crate::inventory::load(dir.path());
        assert!(!diags.has_errors(), "the mirror loads: {diags:?}\n{yaml}");
        assert_eq!(lab.terminals.len(), 7);
        assert_eq!(lab.sites.keys().collect::<Vec<_>>(), ["kita"]);
        for (id, stand_in) in &lab.terminals {
            let original = &inventory.terminals[id];
            assert_eq!(stand_in.user, "root");
            assert_eq!(
                (original.become_method, stand_in.become_method),
                (Become::Sudo, Become::None),
                "{id}: the stand-in is reached as root, without the terminal's sudo"
            );
            assert!(stand_in.address.starts_with("127.0.1."), "{id}");
            assert_eq!(stand_in.tags, original.tags);
            assert_eq!(
                lab.vars_for(stand_in),
                inventory.vars_for(original),
                "{id} sees other variables"
            );
            let groups = |inv: &Inventory, t: &Terminal| -> Vec<String> {
                inv.groups_of(t).iter().map(|g| g.id.clone()).collect()
            };
            assert_eq!(groups(&lab, stand_in), groups(&inventory, original));
        }
        assert_eq!(
            lab.sites["kita"].closed_days,
            inventory.sites["kita"].closed_days
        );
    }
}
