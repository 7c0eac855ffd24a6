//! Ansible's YAML inventory format, read as ansible-core's `yaml` inventory plugin reads it.
//!
//! Every top-level key is a group (usually only `all`; files without `all:` are accepted too).
//! A group has `hosts`, `children` and `vars`, each a mapping, or a single name as a string
//! (`hosts: web1`), or empty. Host keys are patterns (`www[01:20].example.com:2222`). Values
//! are read as YAML 1.1, as PyYAML does (`become: yes` is a boolean). Other keys in a group are
//! skipped with a warning, as Ansible skips them.

use super::model::{AnsibleInventory, GroupId, Sourced};
use super::pattern;
use crate::source::{Diagnostic, Diagnostics, Node};

const GROUP_KEYS: &[&str] = &["hosts", "children", "vars"];

/// Reads one YAML inventory document into `inv`.
pub fn read(root: &Node<'_>, inv: &mut AnsibleInventory, diags: &mut Diagnostics) {
    let Some(entries) = root.entries() else {
        return;
    };
    if root.get("plugin").is_some() {
        diags.push(
            Diagnostic::error("this is an Ansible inventory plugin's configuration, not an inventory")
                .at(Some(root.location()))
                .hint("seibi reads static inventories only: export one with `ansible-inventory -i THIS --list --yaml --export > hosts.yml`"),
        );
        return;
    }
    for (name, node) in entries {
        group(&name, &node, inv, diags);
    }
}

fn group(
    name: &str,
    node: &Node<'_>,
    inv: &mut AnsibleInventory,
    diags: &mut Diagnostics,
) -> Option<GroupId> {
    let Some(entries) = node.entries() else {
        if !node.is_null() {
            diags.push(
                Diagnostic::error(format!(
                    "Ansible group `{name}` must be a mapping (of `hosts`, `children`, `vars`), found {}",
                    node.kind()
                ))
                .at(Some(node.key_location()))
                .hint("write `name: { hosts: { host1: } }`, or leave it empty"),
            );
            return None;
        }
        return Some(inv.add_group(name, Some(node.key_location())));
    };
    let id = inv.add_group(name, Some(node.key_location()));
    for (key, section) in entries {
        if !GROUP_KEYS.contains(&key.as_str()) {
            diags.push(
                Diagnostic::warning(format!(
                    "unknown key `{key}` in Ansible group `{name}` is skipped (as Ansible skips it)"
                ))
                .at(Some(section.key_location()))
                .did_you_mean(&key, GROUP_KEYS.iter().copied())
                .hint("an Ansible group has `hosts`, `children` and `vars`"),
            );
            continue;
        }
        if section.is_null() {
            continue;
        }
        // `hosts: web1` is `hosts: { web1: }`.
        let items: Vec<(String, Option<Node<'_>>)> = if let Some(single) = section.as_str() {
            vec![(single.to_string(), None)]
        } else if let Some(entries) = section.entries() {
            entries.into_iter().map(|(k, v)| (k, Some(v))).collect()
        } else {
            diags.push(
                Diagnostic::error(format!(
                    "`{key}` of Ansible group `{name}` must be a mapping, found {}",
                    section.kind()
                ))
                .at(Some(section.key_location()))
                .hint(match key.as_str() {
                    "hosts" => "list hosts as keys: `hosts: { web1: , web2: }` (a list `- web1` is not Ansible's format)",
                    "children" => "list child groups as keys: `children: { web: , db: }`",
                    _ => "write variables as `name: value` pairs",
                }),
            );
            continue;
        };
        match key.as_str() {
            "vars" => {
                for (var, value) in items {
                    let (value, at, literal) = match &value {
                        Some(v) => match diags.take(v.to_json_yaml11()) {
                            Some(json) => (json, v.key_location(), v.is_unsafe()),
                            None => continue,
                        },
                        None => (serde_json::Value::Null, section.location(), false),
                    };
                    if let Err(message) = inv.set_group_var(
                        id,
                        &var,
                        Sourced {
                            value,
                            at: at.clone(),
                            literal,
                        },
                    ) {
                        diags.push(Diagnostic::error(message).at(Some(at)));
                    }
                }
            }
            "children" => {
                for (child, cnode) in items {
                    let child_id = match &cnode {
                        Some(c) => group(&child, c, inv, diags),
                        None => Some(inv.add_group(&child, Some(section.location()))),
                    };
                    let Some(child_id) = child_id else { continue };
                    if let Err(e) = inv.add_child(id, child_id) {
                        let at = cnode.map_or_else(|| section.location(), |c| c.key_location());
                        diags.push(
                            Diagnostic::error(e.to_string())
                                .at(Some(at))
                                .hint("remove one of the `children:` entries that make the loop"),
                        );
                    }
                }
            }
            _ => {
                for (host_pattern, hnode) in items {
                    hosts(id, &host_pattern, hnode.as_ref(), &section, inv, diags);
                }
            }
        }
    }
    Some(id)
}

fn hosts(
    group: GroupId,
    host_pattern: &str,
    node: Option<&Node<'_>>,
    section: &Node<'_>,
    inv: &mut AnsibleInventory,
    diags: &mut Diagnostics,
) {
    let at = node.map_or_else(|| section.location(), |n| n.key_location());
    let expansion = match pattern::expand(host_pattern) {
        Ok(e) => e,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("host pattern `{host_pattern}`: {e}"))
                    .at(Some(at))
                    .hint("ranges look like `www[01:20].example.com`, `db-[a:f]` or `node[1:9:2]`"),
            );
            return;
        }
    };
    let mut vars = Vec::new();
    if let Some(node) = node.filter(|n| !n.is_null()) {
        let Some(entries) = node.entries() else {
            diags.push(
                Diagnostic::error(format!(
                    "the variables of Ansible host `{host_pattern}` must be a mapping, found {}",
                    node.kind()
                ))
                .at(Some(node.location()))
                .hint("write `host: { var: value }`, or nothing after the colon"),
            );
            return;
        };
        for (name, value) in entries {
            if let Some(json) = diags.take(value.to_json_yaml11()) {
                vars.push((name, json, value.key_location(), value.is_unsafe()));
            }
        }
    }
    for host in expansion.hosts {
        let id = inv.add_host(&host, Some(group), expansion.port, &at);
        for (name, value, vat, literal) in &vars {
            let sourced = Sourced {
                value: value.clone(),
                at: vat.clone(),
                literal: *literal,
            };
            if let Err(message) = inv.set_host_var(id, name, sourced) {
                diags.push(Diagnostic::error(message).at(Some(vat.clone())));
            }
        }
    }
}
