//! `group_vars/` and `host_vars/` beside an inventory, read as Ansible's `host_group_vars`
//! plugin reads them.
//!
//! For a group or host `NAME`, the first of `NAME` (a file, or a directory), `NAME.yml`,
//! `NAME.yaml` and `NAME.json` that exists is used. A directory contributes every file in it
//! and its subdirectories, in name order, whose extension is `.yml`, `.yaml`, `.json` or none;
//! hidden files and names ending in `~` are skipped. Later files override earlier ones, key by
//! key. A file that matches no group or host is reported (Ansible ignores it silently).

use std::path::{Path, PathBuf};

use super::model::{AnsibleInventory, Sourced, SourcedVars};
use crate::source::{Diagnostic, Diagnostics, Location, SourceFile, YamlDocument};

const EXTENSIONS: &[&str] = &["yml", "yaml", "json"];

/// Loads `group_vars/` and `host_vars/` under `base` into the groups' and hosts' file vars.
pub fn load(base: &Path, inv: &mut AnsibleInventory, diags: &mut Diagnostics) {
    let group_dir = base.join("group_vars");
    let host_dir = base.join("host_vars");
    let mut used = Vec::new();
    if group_dir.is_dir() {
        for g in 0..inv.groups.len() {
            let files = find(&group_dir, &inv.groups[g].name, diags);
            used.extend(files.iter().cloned());
            inv.groups[g].file_vars = read_all(&files, diags);
        }
        unused(&group_dir, &used, "group", inv.groups.keys(), diags);
    }
    if host_dir.is_dir() {
        for h in 0..inv.hosts.len() {
            let files = find(&host_dir, &inv.hosts[h].name, diags);
            used.extend(files.iter().cloned());
            inv.hosts[h].file_vars = read_all(&files, diags);
        }
        unused(&host_dir, &used, "host", inv.hosts.keys(), diags);
    }
}

/// The files that give `name`'s variables, in the order they apply.
fn find(dir: &Path, name: &str, diags: &mut Diagnostics) -> Vec<PathBuf> {
    // Names that are paths (`/chroot/x`, `a/../b`) are not looked up, as in Ansible.
    if name.starts_with('/') || name.contains("..") {
        return Vec::new();
    }
    for ext in std::iter::once("").chain(EXTENSIONS.iter().copied()) {
        let path = if ext.is_empty() {
            dir.join(name)
        } else {
            dir.join(format!("{name}.{ext}"))
        };
        if path.is_dir() {
            let mut out = Vec::new();
            walk(&path, &mut out, diags, 0);
            return out;
        }
        if path.exists() {
            return vec![path];
        }
        if path.symlink_metadata().is_ok() {
            diags.push(Diagnostic::error(format!(
                "{} is a dangling symbolic link (or a link loop)",
                path.display()
            )));
            return Vec::new();
        }
    }
    Vec::new()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Diagnostics, depth: usize) {
    if depth > 32 {
        diags.push(Diagnostic::error(format!(
            "{} is nested too deeply (a symbolic link loop?)",
            dir.display()
        )));
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(err) => {
            diags.push(Diagnostic::error(format!(
                "cannot read directory {}: {err}",
                dir.display()
            )));
            return;
        }
    };
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.symlink_metadata().is_ok() && !path.exists() {
            diags.push(Diagnostic::error(format!(
                "{} is a dangling symbolic link (or a link loop)",
                path.display()
            )));
        } else if path.is_dir() && ext.is_none() {
            walk(&path, out, diags, depth + 1);
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            out.push(path);
        }
    }
}

fn read_all(files: &[PathBuf], diags: &mut Diagnostics) -> SourcedVars {
    let mut vars = SourcedVars::new();
    for path in files {
        let Some(source) = diags.take(SourceFile::read(path)) else {
            continue;
        };
        if source.text().starts_with("$ANSIBLE_VAULT") {
            diags.push(
                Diagnostic::error(format!("{} is encrypted with Ansible Vault", path.display()))
                    .hint("seibi cannot read Ansible Vault files: keep secrets in seibi's age store (`seibi secrets`)"),
            );
            continue;
        }
        let Some(doc) = diags.take(YamlDocument::parse(source)) else {
            continue;
        };
        let root = doc.root();
        if root.is_null() {
            continue;
        }
        let Some(entries) = root.entries() else {
            diags.push(
                Diagnostic::error(format!(
                    "a variables file must be a mapping of names to values, found {}",
                    root.kind()
                ))
                .at(Some(Location {
                    file: doc.file().clone(),
                    line: 1,
                    column: 1,
                })),
            );
            continue;
        };
        for (name, node) in entries {
            if let Some(value) = diags.take(node.to_json_yaml11()) {
                vars.insert(
                    name,
                    Sourced {
                        value,
                        at: node.key_location(),
                        literal: node.is_unsafe(),
                    },
                );
            }
        }
    }
    vars
}

/// Reports files directly in `dir` that belong to no group or host (a typo there would
/// otherwise lose variables without a word).
fn unused<'a>(
    dir: &Path,
    used: &[PathBuf],
    kind: &str,
    names: impl Iterator<Item = &'a String> + Clone,
    diags: &mut Diagnostics,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.starts_with('.') || file.ends_with('~') || used.iter().any(|u| u.starts_with(&path))
        {
            continue;
        }
        if path.symlink_metadata().is_ok() && !path.exists() {
            diags.push(Diagnostic::error(format!(
                "{} is a dangling symbolic link (or a link loop)",
                path.display()
            )));
            continue;
        }
        let stem = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if EXTENSIONS.contains(&e) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            _ => file.clone(),
        };
        if names.clone().any(|n| *n == stem) {
            diags.push(Diagnostic::warning(format!(
                "{} is not used: another file for `{stem}` comes first (Ansible reads the first of `{stem}`, `{stem}.yml`, `{stem}.yaml`, `{stem}.json`)",
                path.display()
            )));
            continue;
        }
        diags.push(
            Diagnostic::warning(format!(
                "{} matches no {kind} of the inventory, so its variables are not used",
                path.display()
            ))
            .did_you_mean(&stem, names.clone().map(String::as_str)),
        );
    }
}
