//! The plan's pretty JSON, written one site at a time with each distinct task's text made
//! once: terminals that share a task (see [`Terminals`](super::Terminals)) write the same
//! lines, so they are formatted once and copied.
//!
//! Each site, terminal and the plan itself is formatted without its list (which serde_json
//! writes as `[]`), and the list's items are written where that `[]` is, indented as
//! serde_json's pretty printer indents them (two spaces a level). The bytes are those of
//! `serde_json::to_writer_pretty` of the whole plan (a test holds them to it).

use std::collections::HashMap;
use std::io::{self, Write};

use super::{Plan, PlannedSite, PlannedTask, PlannedTerminalRef, TaskList};

/// Writes `plan` as pretty JSON to `out` (no final newline).
pub(super) fn write_pretty(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    let shell = serde_json::to_string_pretty(&plan.without_sites()).map_err(io::Error::other)?;
    let mut tasks: HashMap<*const PlannedTask, String> = HashMap::new();
    splice(out, &shell, "", "sites", plan.sites.len(), |out, prefix| {
        for (i, site) in plan.sites.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            write_site(out, site, prefix, &mut tasks)?;
        }
        Ok(())
    })
}

fn write_site(
    out: &mut impl Write,
    site: &PlannedSite,
    prefix: &str,
    tasks: &mut HashMap<*const PlannedTask, String>,
) -> io::Result<()> {
    let shell = pretty(&site.without_terminals(), prefix)?;
    splice(
        out,
        &shell,
        prefix,
        "terminals",
        site.terminals.len(),
        |out, prefix| {
            for (i, terminal) in site.terminals.views().enumerate() {
                if i > 0 {
                    out.write_all(b",\n")?;
                }
                let head = pretty(
                    &PlannedTerminalRef {
                        tasks: TaskList::Owned(&[]),
                        ..terminal
                    },
                    prefix,
                )?;
                splice(
                    out,
                    &head,
                    prefix,
                    "tasks",
                    terminal.tasks.len(),
                    |out, prefix| {
                        for (j, task) in terminal.tasks.iter().enumerate() {
                            if j > 0 {
                                out.write_all(b",\n")?;
                            }
                            let text = match tasks.entry(std::ptr::from_ref(task)) {
                                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                                std::collections::hash_map::Entry::Vacant(e) => {
                                    e.insert(pretty(task, prefix)?)
                                }
                            };
                            out.write_all(text.as_bytes())?;
                        }
                        Ok(())
                    },
                )?;
            }
            Ok(())
        },
    )
}

/// `value` as pretty JSON with every line after `prefix`.
fn pretty(value: &impl serde::Serialize, prefix: &str) -> io::Result<String> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    if prefix.is_empty() {
        return Ok(text);
    }
    Ok(format!(
        "{prefix}{}",
        text.replace('\n', &format!("\n{prefix}"))
    ))
}

/// Writes `text` (an object formatted at `prefix`, with `"key": []` among its fields) with
/// the `count` items that `items` writes (each at the prefix it is given) in that list.
fn splice<W: Write>(
    out: &mut W,
    text: &str,
    prefix: &str,
    key: &str,
    count: usize,
    items: impl FnOnce(&mut W, &str) -> io::Result<()>,
) -> io::Result<()> {
    // A field of this object: a line of its own at one level in (a string's line breaks are
    // escaped, so no string holds this).
    let empty = format!("\n{prefix}  \"{key}\": []");
    let Some(at) = text.find(&empty) else {
        return Err(io::Error::other(format!("no `{key}` list to write into")));
    };
    out.write_all(&text.as_bytes()[..at])?;
    if count == 0 {
        out.write_all(empty.as_bytes())?;
    } else {
        write!(out, "\n{prefix}  \"{key}\": [\n")?;
        items(out, &format!("{prefix}    "))?;
        write!(out, "\n{prefix}  ]")?;
    }
    out.write_all(&text.as_bytes()[at + empty.len()..])
}
