//! Reading Ansible's YAML inventory format (`all` / `children` / `hosts` / `vars`).
//!
//! Teams bring what they already have. Connection variables become terminal fields
//! (`ansible_host` -> address, `ansible_port` -> port, `ansible_user` -> user; `ansible_shell_type:
//! powershell` or `ansible_connection: winrm|psrp` -> windows); seibi's own `seibi_site`,
//! `seibi_platform` and `seibi_tags` place a host in a site (required: Ansible has no sites) and
//! give its platform and tags. Those keys are resolved with Ansible's inheritance (host vars over
//! the vars of the groups above it) and removed from the variables; everything else stays a
//! variable of the group or host that set it. Sites themselves come from seibi-format files.
//!
//! `ansible_become: true` on a Linux host becomes `become: sudo`, provided its
//! `ansible_become_method` is `sudo` and its `ansible_become_user` root (both Ansible's
//! defaults); `ansible_become: false` becomes `become: none`. Windows hosts become with `runas`,
//! which seibi does not do: their become settings are ignored. A become password is ignored with
//! a warning: seibi needs NOPASSWD sudo, and a password must not linger as a template variable.

use std::collections::BTreeMap;

use super::load::{Fragment, mapping};
use super::raw::{RawGroup, RawTerminal};
use super::{Become, Platform, Vars};
use crate::source::{Diagnostic, Diagnostics, Location, Node};

/// Variables that configure the connection rather than the templates.
const CONNECTION_KEYS: &[&str] = &[
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_shell_type",
    "ansible_connection",
    "ansible_become",
    "ansible_become_method",
    "ansible_become_user",
    "ansible_become_password",
    "ansible_become_pass",
    "seibi_site",
    "seibi_platform",
    "seibi_tags",
];

const GROUP_KEYS: &[&str] = &["hosts", "children", "vars"];

#[derive(Default)]
struct Host {
    location: Option<Location>,
    /// Inherited connection settings merged with the host's own, in the order seen.
    effective: Vars,
    /// The host's own variables (not inherited), minus connection keys.
    own: Vars,
}

struct Walk<'d> {
    diags: &'d mut Diagnostics,
    hosts: BTreeMap<String, Host>,
    host_order: Vec<String>,
    groups: Vec<(String, RawGroup, Location)>,
    global: Vec<(String, serde_json::Value, Location)>,
}

/// Reads a file whose root has `all:`.
pub(super) fn read(root: &Node<'_>, diags: &mut Diagnostics) -> Fragment {
    let mut walk = Walk {
        diags,
        hosts: BTreeMap::new(),
        host_order: Vec::new(),
        groups: Vec::new(),
        global: Vec::new(),
    };
    for (key, node) in root.entries().unwrap_or_default() {
        if key != "all" {
            walk.diags.push(
                Diagnostic::error(format!(
                    "unexpected top-level key `{key}` in an Ansible inventory"
                ))
                .at(Some(node.key_location()))
                .hint("put every group under `all: { children: ... }`"),
            );
            continue;
        }
        walk.group("all", &node, &Vars::new());
    }
    let mut fragment = Fragment {
        groups: walk.groups,
        vars: walk.global,
        ..Fragment::default()
    };
    for id in walk.host_order {
        let Some(host) = walk.hosts.remove(&id) else {
            continue;
        };
        let Some(at) = host.location.clone() else {
            continue;
        };
        if let Some(t) = terminal(&id, &host, &at, walk.diags) {
            fragment.terminals.push((id, t, at));
        }
    }
    fragment
}

impl Walk<'_> {
    fn group(&mut self, name: &str, node: &Node<'_>, inherited: &Vars) {
        let mut raw = RawGroup::default();
        let mut scope = inherited.clone();
        if let Some(vars) = node.get("vars") {
            for (k, v) in mapping(&vars, "vars", self.diags) {
                let Some(value) = self.diags.take(v.deserialize::<serde_json::Value>()) else {
                    continue;
                };
                scope.insert(k.clone(), value.clone());
                if CONNECTION_KEYS.contains(&k.as_str()) {
                    continue;
                }
                if name == "all" {
                    self.global.push((k, value, v.key_location()));
                } else {
                    raw.vars.insert(k, value);
                }
            }
        }
        for (key, child) in node.entries().unwrap_or_default() {
            match key.as_str() {
                "vars" => {}
                "hosts" => {
                    for (host, hnode) in mapping(&child, "hosts", self.diags) {
                        self.host(&host, &hnode, &scope);
                        if name != "all" && name != "ungrouped" {
                            raw.members.push(host);
                        }
                    }
                }
                "children" => {
                    for (child_name, cnode) in mapping(&child, "children", self.diags) {
                        if name != "all" {
                            raw.children.push(child_name.clone());
                        }
                        self.group(&child_name, &cnode, &scope);
                    }
                }
                other => self.diags.push(
                    Diagnostic::error(format!("unknown key `{other}` in Ansible group `{name}`"))
                        .at(Some(child.key_location()))
                        .did_you_mean(other, GROUP_KEYS.iter().copied())
                        .hint("an Ansible group has `hosts`, `children` and `vars`"),
                ),
            }
        }
        if name != "all" && name != "ungrouped" {
            // A group may be listed under several parents; keep one definition, merging members.
            if let Some((_, existing, _)) = self.groups.iter_mut().find(|(id, ..)| id == name) {
                existing.members.extend(raw.members);
                existing.children.extend(raw.children);
                existing.vars.extend(raw.vars);
            } else {
                self.groups
                    .push((name.to_string(), raw, node.key_location()));
            }
        }
    }

    fn host(&mut self, name: &str, node: &Node<'_>, scope: &Vars) {
        let own: Vars = if node.is_null() {
            Vars::new()
        } else {
            self.diags
                .take(node.deserialize::<Vars>())
                .unwrap_or_default()
        };
        if !self.hosts.contains_key(name) {
            self.host_order.push(name.to_string());
        }
        let host = self.hosts.entry(name.to_string()).or_default();
        if host.location.is_none() {
            host.location = Some(node.key_location());
        }
        for (k, v) in scope.iter().chain(own.iter()) {
            host.effective.insert(k.clone(), v.clone());
        }
        for (k, v) in own {
            if !CONNECTION_KEYS.contains(&k.as_str()) {
                host.own.insert(k, v);
            }
        }
    }
}

fn terminal(id: &str, host: &Host, at: &Location, diags: &mut Diagnostics) -> Option<RawTerminal> {
    let get = |k: &str| host.effective.get(k);
    let text = |k: &str| -> Option<String> {
        get(k).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let Some(site) = text("seibi_site") else {
        diags.push(
            Diagnostic::error(format!("Ansible host `{id}` has no `seibi_site`"))
                .at(Some(at.clone()))
                .hint("set `seibi_site: <site id>` in the host's vars or a group's vars; sites are defined in a seibi inventory file"),
        );
        return None;
    };
    let port = match get("ansible_port") {
        None => None,
        Some(v) => match v
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        {
            Some(p) => Some(p),
            None => {
                diags.push(
                    Diagnostic::error(format!("Ansible host `{id}` has invalid ansible_port {v}"))
                        .at(Some(at.clone())),
                );
                None
            }
        },
    };
    let windows = text("ansible_shell_type").as_deref() == Some("powershell")
        || matches!(
            text("ansible_connection").as_deref(),
            Some("winrm" | "psrp")
        );
    let platform = match text("seibi_platform").as_deref() {
        Some("windows") => Some(Platform::Windows),
        Some("linux") => Some(Platform::Linux),
        Some(other) => {
            diags.push(
                Diagnostic::error(format!(
                    "Ansible host `{id}` has unknown seibi_platform `{other}`"
                ))
                .at(Some(at.clone()))
                .hint("use `linux` or `windows`"),
            );
            None
        }
        None if windows => Some(Platform::Windows),
        None => None,
    };
    let tags = match get("seibi_tags") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => s.split(',').map(|t| t.trim().to_string()).collect(),
        _ => Vec::new(),
    };
    // Windows hosts become with `runas` in Ansible; that is not sudo, and not seibi's yet.
    let become_method = if platform == Some(Platform::Windows) {
        None
    } else {
        become_method(id, &text, at, diags)
    };
    Some(RawTerminal {
        site,
        address: text("ansible_host").unwrap_or_else(|| id.to_string()),
        port,
        user: text("ansible_user"),
        become_method,
        platform,
        tags,
        groups: Vec::new(),
        vars: host.own.clone(),
    })
}

/// `ansible_become` and its method and user, as seibi's `become`: `None` when the host does not
/// say (the seibi defaults then apply). Only sudo to root is supported; anything else is an
/// error saying so, and a become password a warning (it is never used).
fn become_method(
    id: &str,
    text: &dyn Fn(&str) -> Option<String>,
    at: &Location,
    diags: &mut Diagnostics,
) -> Option<Become> {
    for key in ["ansible_become_password", "ansible_become_pass"] {
        if text(key).is_some() {
            // The place goes in the message rather than `at`, which would echo the line, and
            // with it the password.
            diags.push(
                Diagnostic::warning(format!(
                    "Ansible host `{id}` ({at}) has `{key}`, which seibi does not use"
                ))
                .hint("seibi runs `sudo -n` and needs NOPASSWD sudo for the login user; the value is ignored and is not a template variable"),
            );
        }
    }
    let value = text("ansible_become")?;
    match become_of(&value, text) {
        Ok(method) => Some(method),
        Err((problem, hint)) => {
            diags.push(
                Diagnostic::error(format!("Ansible host `{id}` {problem}"))
                    .at(Some(at.clone()))
                    .hint(hint),
            );
            None
        }
    }
}

/// The `become` that `ansible_become: <value>` and the host's method and user ask for, or what
/// is wrong with them and what to do.
fn become_of(
    value: &str,
    text: &dyn Fn(&str) -> Option<String>,
) -> Result<Become, (String, &'static str)> {
    match value.to_ascii_lowercase().as_str() {
        "false" | "no" | "off" | "0" => return Ok(Become::None),
        "true" | "yes" | "on" | "1" => {}
        other => {
            return Err((
                format!("has ansible_become `{other}`, which is not a boolean"),
                "use `true` or `false`",
            ));
        }
    }
    let method = text("ansible_become_method").unwrap_or_else(|| "sudo".to_string());
    if method != "sudo" {
        return Err((
            format!("has ansible_become_method `{method}`; seibi supports `sudo` only"),
            "use `ansible_become_method: sudo` with NOPASSWD sudo, or log in as root",
        ));
    }
    let user = text("ansible_become_user").unwrap_or_else(|| "root".to_string());
    if user != "root" {
        return Err((
            format!("becomes `{user}`; seibi becomes root only"),
            "remove `ansible_become_user` (root is the default)",
        ));
    }
    Ok(Become::Sudo)
}
