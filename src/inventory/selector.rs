//! Choosing terminals: by site, group, tag or id.
//!
//! Within one field the entries are alternatives (any site listed); across fields they all
//! apply (listed sites AND listed tags). An empty selector means every terminal. `exclude`
//! removes terminals by id afterwards. Jobs use selectors for their targets; `--site`, `--group`,
//! `--tag` and `--terminal` on the command line build one to narrow a plan.

use serde::{Deserialize, Serialize};

use super::{Inventory, Terminal};
use crate::source::Diagnostic;

/// A choice of terminals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Site ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    /// Group ids (nested groups count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Terminal ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminals: Vec<String>,
    /// Terminal ids to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl Selector {
    /// Whether the selector names nothing, i.e. selects everything.
    pub fn is_everything(&self) -> bool {
        self.sites.is_empty()
            && self.groups.is_empty()
            && self.tags.is_empty()
            && self.terminals.is_empty()
            && self.exclude.is_empty()
    }

    /// Whether `terminal` is selected.
    pub fn matches(&self, inventory: &Inventory, terminal: &Terminal) -> bool {
        let any = |list: &[String], pred: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|x| pred(x))
        };
        any(&self.sites, &|s| terminal.site == s)
            && any(&self.terminals, &|t| terminal.id == t)
            && any(&self.tags, &|t| terminal.tags.contains(t))
            && (self.groups.is_empty() || {
                let mine = inventory.groups_of(terminal);
                self.groups.iter().any(|g| mine.iter().any(|m| &m.id == g))
            })
            && !self.exclude.contains(&terminal.id)
    }

    /// The selected terminals, in inventory order.
    pub fn select<'a>(&self, inventory: &'a Inventory) -> Vec<&'a Terminal> {
        inventory
            .terminals
            .values()
            .filter(|t| self.matches(inventory, t))
            .collect()
    }

    /// Problems with the names used: unknown sites, groups, terminals or tags (each with a
    /// "did you mean"). `what` says whose selector it is, for the message.
    pub fn problems(&self, inventory: &Inventory, what: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut unknown = |kind: &str, name: &str, known: Vec<&str>| {
            out.push(
                Diagnostic::error(format!("{what} names unknown {kind} `{name}`"))
                    .did_you_mean(name, known),
            );
        };
        for s in &self.sites {
            if !inventory.sites.contains_key(s) {
                unknown(
                    "site",
                    s,
                    inventory.sites.keys().map(String::as_str).collect(),
                );
            }
        }
        for g in &self.groups {
            if !inventory.groups.contains_key(g) {
                unknown(
                    "group",
                    g,
                    inventory.groups.keys().map(String::as_str).collect(),
                );
            }
        }
        for t in self.terminals.iter().chain(&self.exclude) {
            if !inventory.terminals.contains_key(t) {
                unknown(
                    "terminal",
                    t,
                    inventory.terminals.keys().map(String::as_str).collect(),
                );
            }
        }
        let tags = inventory.all_tags();
        for t in &self.tags {
            if !tags.contains(t.as_str()) {
                unknown("tag", t, tags.iter().copied().collect());
            }
        }
        out
    }
}
