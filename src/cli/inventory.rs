//! `seibi inventory show [HOST]`: terminals as seibi will work on them, and where each variable
//! comes from (file:line:col), for debugging precedence in seibi and Ansible inventories.

use std::process::ExitCode;

use anyhow::bail;

use super::{Printer, ProjectArgs, print_diagnostics};
use crate::inventory::explain::{ExplainedTerminal, explain};

/// `seibi inventory ...`.
#[derive(Debug, clap::Subcommand)]
pub enum InventoryCommand {
    /// A terminal's address, user, groups and effective variables with their places; without
    /// HOST, every terminal (and, as JSON, every group).
    Show(ShowArgs),
}

/// Output formats of `seibi inventory show`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For tools.
    Json,
}

/// Arguments of `seibi inventory show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The terminal (Ansible host) to show.
    host: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Runs `seibi inventory`.
pub fn run(command: InventoryCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let InventoryCommand::Show(args) = command;
    let (inv, diags) = crate::inventory::load(&project.paths().inventory);
    // What loaded is shown even when there are problems: this is the command to debug them with.
    print_diagnostics(&diags);
    let shown: Vec<ExplainedTerminal> = match &args.host {
        Some(id) => match inv.terminals.get(id) {
            Some(t) => vec![explain(&inv, t)],
            None => {
                let hint = crate::source::closest(id, inv.terminals.keys().map(String::as_str))
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                bail!("no terminal `{id}` in the inventory{hint}");
            }
        },
        None => inv.terminals.values().map(|t| explain(&inv, t)).collect(),
    };
    match args.format {
        Format::Json => {
            let value = match &args.host {
                Some(_) => serde_json::to_value(&shown[0])?,
                None => {
                    let groups: serde_json::Map<String, serde_json::Value> = inv
                        .groups
                        .values()
                        .map(|g| {
                            (
                                g.id.clone(),
                                serde_json::json!({ "members": g.members, "children": g.children }),
                            )
                        })
                        .collect();
                    let terminals: serde_json::Map<String, serde_json::Value> = shown
                        .iter()
                        .map(|t| Ok((t.id.clone(), serde_json::to_value(t)?)))
                        .collect::<Result<_, serde_json::Error>>()?;
                    serde_json::json!({ "terminals": terminals, "groups": groups })
                }
            };
            Printer::get().out(serde_json::to_string_pretty(&value)?);
        }
        Format::Text => {
            for t in &shown {
                Printer::get().out_str(render(t));
            }
        }
    }
    Ok(if diags.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(t: &ExplainedTerminal) -> String {
    let mut out = format!(
        "{}  {}@{}:{}{}  site {}  {}\n",
        t.id,
        t.user,
        t.address,
        t.port,
        if t.become_method == "sudo" {
            " (sudo)"
        } else {
            ""
        },
        t.site,
        t.platform
    );
    if let Some(key) = &t.key_file {
        out.push_str(&format!("  key file: {key}\n"));
    }
    if !t.groups.is_empty() {
        out.push_str(&format!(
            "  groups: {}\n",
            t.groups.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !t.tags.is_empty() {
        out.push_str(&format!(
            "  tags: {}\n",
            t.tags.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    for (name, v) in &t.vars {
        out.push_str(&format!(
            "  {name} = {}    # {}{}\n",
            v.value,
            v.layer,
            v.at.as_deref()
                .map(|a| format!(", {a}"))
                .unwrap_or_default()
        ));
    }
    out
}
