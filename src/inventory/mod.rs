//! The inventory: sites (ward offices, branch offices), terminals, groups and variables.
//!
//! Raw serde types (module `raw`) become the validated types here; a [`Terminal`] that exists names a
//! site that exists, has an address, a port, a user and a platform. [`load`] reads a directory of
//! `*.yml` files (seibi's own format, or Ansible's YAML inventory format detected per file) and
//! `*.ini` files (Ansible's INI format) and merges them, reporting every problem at once. The
//! Ansible files are read together, as Ansible reads them ([`ansible`]); [`explain`] says where
//! each of a terminal's variables comes from.
//!
//! # Connection settings
//! A terminal's `port`, `user`, `platform` and `become` come from the terminal itself, else from
//! the inventory's `defaults`, else port 22, platform linux and no `become` (the user has no
//! fallback). `become` from `defaults` applies to Linux terminals only: a Windows terminal logs
//! in as an administrator and has no sudo; setting it on a Windows terminal itself is an error.
//!
//! # Variable precedence
//! Lowest to highest: job `vars` (defaults shipped with a job) < inventory `vars` (global) <
//! group `vars` (a parent group before its children, then by group id) < site `vars` < terminal
//! `vars`. [`Inventory::vars_for`] applies it; [`Inventory::var_layers`] says where each value
//! came from. The names `terminal`, `site`, `job` and `secret` are reserved for built-ins.

pub mod ansible;
pub mod explain;
mod load;
mod raw;
mod selector;
mod travel;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::source::Location;

pub use load::{address_problem, load, valid_id as load_valid_id};
pub use selector::Selector;
pub use travel::{ApprovedWindow, Travel, WorkMode};

/// Variables: names to JSON-like values, in definition order.
pub type Vars = IndexMap<String, serde_json::Value>;

/// Names that templates provide themselves; the inventory may not define them.
pub const RESERVED_VARS: &[&str] = &["terminal", "site", "job", "secret"];

/// A terminal's operating system family; decides how actions are carried out.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hash,
    PartialOrd,
    Ord,
    Default,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Linux over OpenSSH (tested).
    #[default]
    Linux,
    /// Windows over OpenSSH with PowerShell (planned).
    Windows,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Linux => "linux",
            Platform::Windows => "windows",
        })
    }
}

/// How a terminal's commands gain root after logging in (Ansible's `become` and
/// `become_method`). The login user is what SSH authenticates; with `sudo` every
/// command then runs as root through `sudo -n`, so terminals whose root login is disabled can be
/// worked on as an administrator account with NOPASSWD sudo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Become {
    /// Commands run as the login user (who must be root for most actions).
    #[default]
    None,
    /// Commands run as root through `sudo -n` (no password: the login user needs NOPASSWD).
    Sudo,
}

impl Become {
    /// The names a `become:` value may take.
    pub const NAMES: &[&str] = &["none", "sudo"];

    /// Whether commands run as the login user (for `skip_serializing_if`).
    pub fn is_none(&self) -> bool {
        *self == Become::None
    }
}

impl fmt::Display for Become {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Become::None => "none",
            Become::Sudo => "sudo",
        })
    }
}

impl<'de> Deserialize<'de> for Become {
    /// `none` or `sudo`; Ansible's boolean form gets a message saying what to write instead.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Become;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`none` or `sudo`")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Become, E> {
                match value {
                    "none" => Ok(Become::None),
                    "sudo" => Ok(Become::Sudo),
                    other => Err(E::unknown_variant(other, Become::NAMES)),
                }
            }

            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Become, E> {
                Err(E::custom(format!(
                    "`become` names a method, not {value}: write `become: sudo` (Ansible's `become: true` with `become_method: sudo`) or `become: none`"
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// What a site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SiteKind {
    /// A ward office (区役所).
    #[default]
    Ward,
    /// A branch office (出張所, 支所).
    Branch,
    /// A data centre or other facility.
    Facility,
}

/// An SSH endpoint used only to reach a site's terminals (ProxyJump).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JumpHost {
    /// Address or host name.
    pub address: String,
    /// SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Login user.
    pub user: String,
}

/// Office hours of one day, Japan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    /// Opening time.
    pub open: jiff::civil::Time,
    /// Closing time.
    pub close: jiff::civil::Time,
}

/// A ward office or branch office: a place with terminals, a capacity and a calendar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    /// Short id used everywhere else (`chuo`).
    pub id: String,
    /// Display name (`中央区役所`).
    pub name: String,
    /// English display name, if given.
    pub name_en: Option<String>,
    /// Ward, branch or facility.
    pub kind: SiteKind,
    /// Bastion to reach the site's terminals through.
    pub jump: Option<JumpHost>,
    /// How many terminals may be worked on at once.
    pub capacity: u32,
    /// Days the site is closed besides weekends and holidays.
    pub closed_days: Vec<jiff::civil::Date>,
    /// Office hours, when they differ from the city's 08:45-17:15.
    pub hours: Option<Hours>,
    /// Bandwidth available to send artifacts to the site, megabits per second.
    pub bandwidth_mbps: Option<f64>,
    /// Site variables.
    pub vars: Vars,
    /// Whether a crew must travel there (default) or works remotely.
    #[serde(skip_serializing_if = "WorkMode::is_on_site")]
    pub work: WorkMode,
    /// Travel times from the base office and to other sites.
    #[serde(skip_serializing_if = "Travel::is_empty")]
    pub travel: Travel,
    /// Out-of-hours work the city approved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approved_windows: Vec<ApprovedWindow>,
}

/// An endpoint reached over SSH.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Terminal {
    /// Unique id (`chuo-t01`).
    pub id: String,
    /// The site it stands in.
    pub site: String,
    /// Address or host name.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// How commands gain root after logging in as `user` (Linux terminals only).
    #[serde(rename = "become", skip_serializing_if = "Become::is_none")]
    pub become_method: Become,
    /// Operating system family.
    pub platform: Platform,
    /// Free-form labels.
    pub tags: BTreeSet<String>,
    /// Groups the terminal declares itself in (see [`Inventory::groups_of`] for all).
    pub groups: Vec<String>,
    /// Terminal variables.
    pub vars: Vars,
}

/// A named set of terminals with variables; groups may contain groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// What the group is for.
    pub description: Option<String>,
    /// Terminals listed in the group.
    pub members: Vec<String>,
    /// Groups whose terminals belong to this one too.
    pub children: Vec<String>,
    /// Group variables.
    pub vars: Vars,
}

/// Where an inventory entity was defined, for messages about it.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// Site id to its definition.
    pub sites: BTreeMap<String, Location>,
    /// Terminal id to its definition.
    pub terminals: BTreeMap<String, Location>,
    /// Group id to its definition.
    pub groups: BTreeMap<String, Location>,
    /// For terminals from Ansible inventories: where each of its variables was set.
    pub terminal_vars: BTreeMap<String, IndexMap<String, Location>>,
}

/// The merged, validated inventory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// Global variables.
    pub vars: Vars,
    /// Sites by id, in definition order.
    pub sites: IndexMap<String, Site>,
    /// Groups by id.
    pub groups: IndexMap<String, Group>,
    /// Terminals by id, in definition order.
    pub terminals: IndexMap<String, Terminal>,
    /// SSH private key files of terminals that have their own (Ansible's
    /// `ansible_ssh_private_key_file`), by terminal id; others use the keys given to `apply`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub key_files: BTreeMap<String, std::path::PathBuf>,
    /// Where things were defined.
    #[serde(skip)]
    pub origins: Origins,
}

/// One layer of variables and the value it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct VarLayer {
    /// `global`, `group:<id>`, `site:<id>` or `terminal:<id>`.
    pub layer: String,
    /// The value that layer set.
    pub value: serde_json::Value,
}

impl Inventory {
    /// All groups a terminal belongs to, directly or through nested groups, ordered for
    /// variable precedence: parents before children, then by id.
    pub fn groups_of(&self, terminal: &Terminal) -> Vec<&Group> {
        let direct: BTreeSet<&str> = self
            .groups
            .values()
            .filter(|g| {
                g.members.iter().any(|m| m == &terminal.id) || terminal.groups.contains(&g.id)
            })
            .map(|g| g.id.as_str())
            .collect();
        let mut found: Vec<&Group> = self
            .groups
            .values()
            .filter(|g| direct.iter().any(|d| self.group_contains(g, d, 0)))
            .collect();
        found.sort_by(|a, b| (self.group_depth(a, 0), &a.id).cmp(&(self.group_depth(b, 0), &b.id)));
        found
    }

    /// Whether `group` is `target` or contains it through children (cycles are rejected at
    /// load time; the depth bound is a second guard).
    fn group_contains(&self, group: &Group, target: &str, depth: usize) -> bool {
        if group.id == target {
            return true;
        }
        depth < 64
            && group.children.iter().any(|c| {
                self.groups
                    .get(c)
                    .is_some_and(|child| self.group_contains(child, target, depth + 1))
            })
    }

    /// How many ancestors a group has (0 for a top-level group).
    fn group_depth(&self, group: &Group, depth: usize) -> usize {
        if depth >= 64 {
            return depth;
        }
        self.groups
            .values()
            .filter(|p| p.children.contains(&group.id))
            .map(|p| 1 + self.group_depth(p, depth + 1))
            .max()
            .unwrap_or(0)
    }

    /// The layers that define variables for a terminal, lowest precedence first.
    pub(crate) fn layers<'a>(&'a self, terminal: &'a Terminal) -> Vec<(String, &'a Vars)> {
        let mut layers = vec![("global".to_string(), &self.vars)];
        for g in self.groups_of(terminal) {
            layers.push((format!("group:{}", g.id), &g.vars));
        }
        if let Some(site) = self.sites.get(&terminal.site) {
            layers.push((format!("site:{}", site.id), &site.vars));
        }
        layers.push((format!("terminal:{}", terminal.id), &terminal.vars));
        layers
    }

    /// A terminal's variables after precedence (global < group < site < terminal).
    pub fn vars_for(&self, terminal: &Terminal) -> Vars {
        let mut vars = Vars::new();
        for (_, layer) in self.layers(terminal) {
            for (k, v) in layer {
                vars.insert(k.clone(), v.clone());
            }
        }
        vars
    }

    /// Every layer that sets `name` for a terminal, lowest precedence first; the last one wins.
    pub fn var_layers(&self, terminal: &Terminal, name: &str) -> Vec<VarLayer> {
        self.layers(terminal)
            .into_iter()
            .filter_map(|(layer, vars)| {
                vars.get(name).map(|value| VarLayer {
                    layer,
                    value: value.clone(),
                })
            })
            .collect()
    }

    /// All tags used by any terminal.
    pub fn all_tags(&self) -> BTreeSet<&str> {
        self.terminals
            .values()
            .flat_map(|t| t.tags.iter().map(String::as_str))
            .collect()
    }
}

pub(crate) fn default_port() -> u16 {
    22
}

#[cfg(test)]
mod tests;
