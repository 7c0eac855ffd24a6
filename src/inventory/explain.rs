//! Where a terminal's variables and settings come from: what `seibi inventory show` prints,
//! for users debugging precedence (and for the conformance test against `ansible-inventory`).

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Inventory, Terminal};

/// One variable of a terminal after precedence, and where its value was set.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedVar {
    /// The value templates see.
    pub value: serde_json::Value,
    /// The layer that set it: `global`, `group:<id>`, `site:<id>`, `terminal:<id>`, or `ansible`
    /// (an Ansible host's effective variable; `at` says which file and line won).
    pub layer: String,
    /// The place (`file:line:col`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A terminal as seibi will work on it, with every variable explained.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedTerminal {
    /// Terminal id.
    pub id: String,
    /// Site id.
    pub site: String,
    /// Address.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// `none` or `sudo`.
    #[serde(rename = "become")]
    pub become_method: String,
    /// `linux` or `windows`.
    pub platform: String,
    /// Its own SSH key file, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Every group it is in, directly or through children, by id.
    pub groups: BTreeSet<String>,
    /// Variables after precedence, by name.
    pub vars: indexmap::IndexMap<String, ExplainedVar>,
}

/// Explains one terminal.
pub fn explain(inv: &Inventory, terminal: &Terminal) -> ExplainedTerminal {
    let own = inv.origins.terminal_vars.get(&terminal.id);
    // The winning layer of each variable, from one pass over the layers (lowest first).
    let mut winners: indexmap::IndexMap<&String, (String, &serde_json::Value)> =
        indexmap::IndexMap::new();
    for (layer, layer_vars) in inv.layers(terminal) {
        for (name, value) in layer_vars {
            winners.insert(name, (layer.clone(), value));
        }
    }
    let mut vars = indexmap::IndexMap::new();
    for (name, (layer, value)) in winners {
        let last = super::VarLayer {
            layer,
            value: value.clone(),
        };
        let at = if last.layer.starts_with("terminal:") {
            own.and_then(|o| o.get(name))
                .or_else(|| inv.origins.terminals.get(&terminal.id))
        } else if let Some(g) = last.layer.strip_prefix("group:") {
            inv.origins.groups.get(g)
        } else if let Some(s) = last.layer.strip_prefix("site:") {
            inv.origins.sites.get(s)
        } else {
            None
        };
        // An Ansible host's variables are computed with Ansible's precedence before they reach
        // seibi's terminal layer: say so rather than `terminal:<id>`.
        let layer =
            if last.layer.starts_with("terminal:") && own.is_some_and(|o| o.contains_key(name)) {
                "ansible".to_string()
            } else {
                last.layer
            };
        vars.insert(
            name.clone(),
            ExplainedVar {
                value: last.value,
                layer,
                at: at.map(ToString::to_string),
            },
        );
    }
    ExplainedTerminal {
        id: terminal.id.clone(),
        site: terminal.site.clone(),
        address: terminal.address.clone(),
        port: terminal.port,
        user: terminal.user.clone(),
        become_method: terminal.become_method.to_string(),
        platform: terminal.platform.to_string(),
        key_file: inv
            .key_files
            .get(&terminal.id)
            .map(|p| p.display().to_string()),
        tags: terminal.tags.clone(),
        groups: inv
            .groups_of(terminal)
            .into_iter()
            .map(|g| g.id.clone())
            .collect(),
        vars,
    }
}
