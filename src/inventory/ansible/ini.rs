//! Ansible's INI inventory format, read as ansible-core's `ini` inventory plugin reads it.
//!
//! ```ini
//! web1 ansible_host=10.0.0.1        # before any section: the `ungrouped` group
//! [web]
//! www[01:20].example.com:2222 role=front
//! [web:vars]
//! ntp_server = ntp.example.com
//! [city:children]
//! web
//! ```
//! Host lines are split like a shell line (quotes, `#` comments); their `key=value` values and
//! those of `[group:vars]` are Python literals when they are one (see [`super::literal`]).
//! `[group:children]` may name a group declared further down; `[group:vars]` needs the group
//! declared somewhere in the file. Unlike Ansible, which gives up on the first bad line, a bad
//! line costs only itself: the rest of the file is still read and every problem is reported.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::literal;
use super::model::{AnsibleInventory, GroupId, Sourced, UNGROUPED};
use super::pattern;
use crate::source::{Diagnostic, Diagnostics, Location, SourceFile};

enum Section {
    Hosts,
    Children,
    Vars,
}

/// A group named before it is declared: where, and why.
struct Pending {
    at: Location,
    /// Parents waiting for it (from `[parent:children]`); empty for a `[name:vars]`.
    parents: Vec<GroupId>,
    vars_only: bool,
}

/// Reads one INI inventory file into `inv`.
pub fn read(file: &Arc<SourceFile>, inv: &mut AnsibleInventory, diags: &mut Diagnostics) {
    let mut group = UNGROUPED;
    let mut section = Section::Hosts;
    let mut pending: BTreeMap<String, Pending> = BTreeMap::new();
    for (index, raw) in file.text().lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let column = raw.chars().take_while(|c| c.is_whitespace()).count() + 1;
        let at = Location {
            file: file.clone(),
            line: index + 1,
            column,
        };
        let error = |message: String, hint: &str| {
            Diagnostic::error(message)
                .at(Some(at.clone()))
                .hint(hint.to_string())
        };
        if let Some((name, kind)) = section_header(line) {
            section = match kind {
                None | Some("hosts") => Section::Hosts,
                Some("children") => Section::Children,
                Some("vars") => Section::Vars,
                Some(other) => {
                    diags.push(error(
                        format!("section [{name}:{other}] has unknown type `{other}`"),
                        "a section is `[group]`, `[group:vars]` or `[group:children]`",
                    ));
                    // What follows belongs to no section we know: skip it up to the next one.
                    group = usize::MAX;
                    continue;
                }
            };
            let known = inv.groups.contains_key(name);
            group = inv.add_group(name, Some(at.clone()));
            if !known && matches!(section, Section::Vars) && !pending.contains_key(name) {
                pending.insert(
                    name.to_string(),
                    Pending {
                        at: at.clone(),
                        parents: Vec::new(),
                        vars_only: true,
                    },
                );
            }
            if !matches!(section, Section::Vars)
                && let Some(p) = pending.remove(name)
            {
                for parent in p.parents {
                    if let Err(e) = inv.add_child(parent, group) {
                        diags.push(error(
                            e.to_string(),
                            "remove one of the `[...:children]` entries that make the loop",
                        ));
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            diags.push(error(
                format!("invalid section header `{line}`"),
                "a section header is `[group]`, `[group:vars]` or `[group:children]`, with no spaces inside the brackets",
            ));
            group = usize::MAX;
            continue;
        }
        if group == usize::MAX {
            continue;
        }
        match section {
            Section::Hosts => host_line(line, raw, &at, group, inv, diags),
            Section::Vars => match line.split_once('=') {
                Some((k, v)) => {
                    let value = Sourced::new(literal::value(v.trim()), at.clone());
                    if let Err(message) = inv.set_group_var(group, k.trim(), value) {
                        diags.push(Diagnostic::error(message).at(Some(at.clone())));
                    }
                }
                None => diags.push(error(
                    format!(
                        "expected `key=value` in [{}:vars], found `{line}`",
                        inv.groups[group].name
                    ),
                    "write one `name = value` per line",
                )),
            },
            Section::Children => {
                let Some(child) = group_name(line) else {
                    diags.push(error(
                        format!("expected a group name, found `{line}`"),
                        "list one child group per line",
                    ));
                    continue;
                };
                match inv.groups.get_index_of(child) {
                    Some(c) => {
                        if let Err(e) = inv.add_child(group, c) {
                            diags.push(error(
                                e.to_string(),
                                "remove one of the `[...:children]` entries that make the loop",
                            ));
                        }
                    }
                    None => pending
                        .entry(child.to_string())
                        .or_insert_with(|| Pending {
                            at: at.clone(),
                            parents: Vec::new(),
                            vars_only: false,
                        })
                        .parents
                        .push(group),
                }
            }
        }
    }
    for (name, p) in pending {
        let (message, hint) = if p.vars_only {
            (
                format!("[{name}:vars] is for a group that is not declared"),
                format!("declare it with a `[{name}]` section (it may be empty), or fix the name"),
            )
        } else {
            (
                format!("child group `{name}` is not declared"),
                format!("declare it with a `[{name}]` section (it may be empty), or fix the name"),
            )
        };
        let known: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
        diags.push(
            Diagnostic::error(message)
                .at(Some(p.at))
                .did_you_mean(&name, known.iter().copied())
                .hint(hint),
        );
    }
}

fn host_line(
    line: &str,
    raw: &str,
    at: &Location,
    group: GroupId,
    inv: &mut AnsibleInventory,
    diags: &mut Diagnostics,
) {
    let tokens = match shell_words(line) {
        Ok(t) => t,
        Err(problem) => {
            diags.push(
                Diagnostic::error(format!("cannot split this host line: {problem}"))
                    .at(Some(at.clone()))
                    .hint("close the quote, or escape it with a backslash"),
            );
            return;
        }
    };
    let Some(first) = tokens.first() else {
        return;
    };
    if first.trim() == "---"
        || (first.ends_with(':') && pattern::expand(first).is_ok_and(|e| e.port.is_none()))
    {
        let hint = if first.trim() == "---" {
            "this looks like a YAML file: name it `.yml`"
        } else {
            "`:` is followed by a port number (`host:2222`)"
        };
        diags.push(
            Diagnostic::error(format!("invalid host pattern `{first}`"))
                .at(Some(at.clone()))
                .hint(hint),
        );
        return;
    }
    let expansion = match pattern::expand(first) {
        Ok(e) => e,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("host pattern `{first}`: {e}"))
                    .at(Some(at.clone()))
                    .hint("ranges look like `www[01:20].example.com`, `db-[a:f]` or `node[1:9:2]`"),
            );
            return;
        }
    };
    let mut vars = Vec::new();
    for token in &tokens[1..] {
        let Some((k, v)) = token.split_once('=') else {
            diags.push(
                Diagnostic::error(format!("expected `key=value` after the host name, found `{token}`"))
                    .at(Some(at.clone()))
                    .hint("host variables are `name=value` pairs separated by spaces; quote values that contain spaces"),
            );
            return;
        };
        let column = raw
            .find(&format!("{k}="))
            .map_or(at.column, |i| raw[..i].chars().count() + 1);
        let vat = Location {
            column,
            ..at.clone()
        };
        vars.push((k.to_string(), literal::value(v), vat));
    }
    for host in expansion.hosts {
        let id = inv.add_host(&host, Some(group), expansion.port, at);
        for (k, value, vat) in &vars {
            let sourced = Sourced::new(value.clone(), vat.clone());
            if let Err(message) = inv.set_host_var(id, k, sourced) {
                diags.push(Diagnostic::error(message).at(Some(vat.clone())));
            }
        }
    }
}

/// `[name]` or `[name:kind]`, optionally followed by a `#` comment.
fn section_header(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let inside = &rest[..close];
    let (name, kind) = match inside.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inside, None),
    };
    let name_ok = !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == ']');
    let kind_ok =
        kind.is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// A child group line: a name, optionally followed by a `#` comment.
fn group_name(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    (!name.is_empty() && !name.contains([':', ']']) && (rest.is_empty() || rest.starts_with('#')))
        .then_some(name)
}

/// Splits a line as Python's `shlex.split(line, comments=True)` does.
fn shell_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("no closing quotation"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("no closing quotation"),
                        },
                        Some(c) => word.push(c),
                        None => return Err("no closing quotation"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("no escaped character"),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_like_shlex() {
        assert_eq!(
            shell_words(r#"h1 a="x y" b='q' c=d#e f=g"#).expect("split"),
            ["h1", "a=x y", "b=q", "c=d"]
        );
        assert!(shell_words("h1 a='x").is_err());
    }

    #[test]
    fn section_headers() {
        assert_eq!(section_header("[web]"), Some(("web", None)));
        assert_eq!(
            section_header("[web:vars] # x"),
            Some(("web", Some("vars")))
        );
        assert_eq!(section_header("[web vars]"), None);
    }
}
