//! Reading inventory files, merging them and validating the result.
//!
//! Each file is parsed on its own into a [`Fragment`] (seibi format or Ansible format); the
//! fragments are merged in file-name order, then cross-references are checked. Every problem is
//! collected, so one `seibi check` shows them all.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::raw::{RawDefaults, RawGroup, RawSite, RawTerminal, TOP_LEVEL_KEYS};
use super::{
    Become, Group, Inventory, Origins, Platform, RESERVED_VARS, Site, Terminal, Vars, ansible,
};
use crate::source::{Diagnostic, Diagnostics, Location, Node, SourceFile, YamlDocument};

/// What one file contributes.
#[derive(Default)]
pub(super) struct Fragment {
    pub defaults: Option<(RawDefaults, Location)>,
    pub vars: Vec<(String, serde_json::Value, Location)>,
    pub sites: Vec<(String, RawSite, Location)>,
    pub groups: Vec<(String, RawGroup, Location)>,
    pub terminals: Vec<(String, RawTerminal, Location)>,
    /// Ids of sites and groups whose definitions have errors (already reported).
    pub broken: Vec<String>,
    /// Sites named in a site's travel table (`travel: { sites: { ID: minutes } }`): the site,
    /// the id it names and where.
    pub travel_refs: Vec<(String, String, Location)>,
    /// What Ansible hosts bring beyond a seibi terminal, by terminal id.
    pub ansible: HashMap<String, AnsibleExtras>,
    /// Ids of terminals and groups named in Ansible files (Ansible's naming rules apply).
    pub ansible_ids: BTreeSet<String>,
}

/// What an Ansible host brings beyond a seibi terminal.
#[derive(Debug, Clone, Default)]
pub(super) struct AnsibleExtras {
    /// `ansible_ssh_private_key_file`.
    pub key_file: Option<PathBuf>,
    /// Where each of its variables was set.
    pub origins: indexmap::IndexMap<String, Location>,
}

/// Which reader a file in the inventory goes to.
enum FileFormat {
    Yaml,
    Ini,
}

/// Endings of files Ansible skips in an inventory directory (its `INVENTORY_IGNORE_EXTS`).
const IGNORED_ENDINGS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// How a file of an inventory directory is read, as Ansible reads a directory: `*.yml`,
/// `*.yaml` and `*.json` as YAML, hidden files and [`IGNORED_ENDINGS`] skipped, every other file
/// (`hosts`, `hosts.ini`, `production`) as INI. `None`: skipped.
fn format_in_directory(path: &Path) -> Option<FileFormat> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') || IGNORED_ENDINGS.iter().any(|e| name.ends_with(e)) {
        return None;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml" | "json") => Some(FileFormat::Yaml),
        _ => Some(FileFormat::Ini),
    }
}

/// Why a file Ansible would read as an inventory source is not one seibi can read.
fn unreadable_source(path: &Path, meta: &std::fs::Metadata) -> Option<Diagnostic> {
    use std::os::unix::fs::PermissionsExt;
    let export =
        "export it with `ansible-inventory -i SOURCE --list --yaml --export > inventory/hosts.yml`";
    if path.extension().and_then(|e| e.to_str()) == Some("toml") {
        return Some(
            Diagnostic::error(format!(
                "inventory file {} is a TOML inventory, which seibi does not read",
                path.display()
            ))
            .hint(export),
        );
    }
    (meta.permissions().mode() & 0o111 != 0).then(|| {
        Diagnostic::error(format!(
            "inventory file {} is executable: Ansible would run it as a dynamic inventory script, seibi does not run inventory scripts",
            path.display()
        ))
        .hint(export)
        .hint("or, if it is a static INI file, remove its execute bits (`chmod -x`)")
    })
}

/// The inventory files of a directory, in name order, read as Ansible reads a directory (see
/// [`format_in_directory`]). Dangling symbolic links and link loops are errors naming the path
/// (never skipped silently), and so are inventory scripts.
fn inventory_files(dir: &Path, diags: &mut Diagnostics) -> Vec<(PathBuf, FileFormat)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(err) => {
            diags.push(Diagnostic::error(format!(
                "cannot read directory {}: {err}",
                dir.display()
            )));
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let Some(format) = format_in_directory(&path) else {
            continue;
        };
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => match unreadable_source(&path, &meta) {
                Some(refused) => diags.push(refused),
                None => files.push((path, format)),
            },
            Ok(_) => {}
            Err(err) => diags.push(
                Diagnostic::error(format!(
                    "inventory file {} cannot be opened: {}",
                    path.display(),
                    if path
                        .symlink_metadata()
                        .is_ok_and(|m| m.file_type().is_symlink())
                    {
                        format!("it is a symbolic link that leads nowhere or to itself ({err})")
                    } else {
                        err.to_string()
                    }
                ))
                .hint("fix or remove the link"),
            ),
        }
    }
    files
}

/// Whether a YAML document is an Ansible inventory: it has `all:`, or no seibi key and every
/// top-level entry looks like an Ansible group (empty, or only `hosts`/`children`/`vars`).
fn is_ansible(root: &Node<'_>) -> bool {
    let Some(entries) = root.entries() else {
        return false;
    };
    if root.get("all").is_some() {
        return true;
    }
    !entries.is_empty()
        && entries.iter().all(|(key, node)| {
            !TOP_LEVEL_KEYS.contains(&key.as_str())
                && (node.is_null()
                    || node.entries().is_some_and(|e| {
                        e.iter()
                            .all(|(k, _)| matches!(k.as_str(), "hosts" | "children" | "vars"))
                    }))
        })
}

/// Loads an inventory from a directory of `*.yml`/`*.yaml` (seibi or Ansible format) and
/// `*.ini` (Ansible) files, or from one file. Returns what could be loaded and every problem
/// found; the inventory is usable only when there are no errors.
pub fn load(path: &Path) -> (Inventory, Diagnostics) {
    let mut diags = Diagnostics::new();
    let (files, base) = if path.is_dir() {
        let files = inventory_files(path, &mut diags);
        if files.is_empty() && !diags.has_errors() {
            diags.push(Diagnostic::error(format!(
                "no inventory files (*.yml, *.yaml, *.json, Ansible INI files) in {}",
                path.display()
            )));
        }
        (files, path.to_path_buf())
    } else {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml" | "json") => FileFormat::Yaml,
            _ => FileFormat::Ini,
        };
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (vec![(path.to_path_buf(), format)], base)
    };
    let mut fragments = Vec::new();
    let mut ansible_sources = Vec::new();
    let mut unreadable = Vec::new();
    for (file, format) in files {
        let Some(source) = diags.take(SourceFile::read(&file)) else {
            unreadable.push(file);
            continue;
        };
        if let FileFormat::Ini = format {
            ansible_sources.push(ansible::Source::Ini(source));
            continue;
        }
        let Some(doc) = diags.take(YamlDocument::parse(source)) else {
            unreadable.push(file);
            continue;
        };
        if is_ansible(&doc.root()) {
            ansible_sources.push(ansible::Source::Yaml(Box::new(doc)));
        } else {
            fragments.push(read_fragment(&doc, &mut diags));
        }
    }
    if !ansible_sources.is_empty() {
        fragments.push(ansible::fragment(&ansible_sources, Some(&base), &mut diags));
    }
    let inventory = merge(fragments, !unreadable.is_empty(), &mut diags);
    (inventory, diags)
}

fn read_fragment(doc: &YamlDocument, diags: &mut Diagnostics) -> Fragment {
    let root = doc.root();
    let Some(entries) = root.entries() else {
        diags.push(
            Diagnostic::error(format!(
                "an inventory file must be a mapping, found {}",
                root.kind()
            ))
            .at(Some(root.location()))
            .hint("start the file with `sites:`, `terminals:`, `groups:` or `vars:` (or Ansible's `all:`)"),
        );
        return Fragment::default();
    };
    let mut fragment = Fragment::default();
    for (key, node) in entries {
        match key.as_str() {
            "defaults" => {
                fragment.defaults = Some((read_defaults(&node, diags), node.key_location()));
            }
            "vars" => {
                for (name, value) in mapping(&node, "vars", diags) {
                    if let Some(v) = diags.take(value.deserialize::<serde_json::Value>()) {
                        fragment.vars.push((name, v, value.key_location()));
                    }
                }
            }
            "sites" => {
                for (id, value) in mapping(&node, "sites", diags) {
                    match diags.take(value.deserialize::<RawSite>()) {
                        Some(site) => {
                            fragment.travel_refs.extend(travel_refs(&id, &value));
                            fragment.sites.push((id, site, value.key_location()));
                        }
                        None => fragment.broken.push(id),
                    }
                }
            }
            "groups" => {
                for (id, value) in mapping(&node, "groups", diags) {
                    let group = if value.is_null() {
                        Some(RawGroup::default())
                    } else {
                        diags.take(value.deserialize::<RawGroup>())
                    };
                    match group {
                        Some(group) => fragment.groups.push((id, group, value.key_location())),
                        None => fragment.broken.push(id),
                    }
                }
            }
            "terminals" => {
                for (id, value) in mapping(&node, "terminals", diags) {
                    if let Some(t) = diags.take(value.deserialize::<RawTerminal>()) {
                        fragment.terminals.push((id, t, value.key_location()));
                    }
                }
            }
            other => diags.push(
                Diagnostic::error(format!("unknown key `{other}` in an inventory file"))
                    .at(Some(node.key_location()))
                    .did_you_mean(other, TOP_LEVEL_KEYS.iter().copied())
                    .hint(format!("expected one of: {}", TOP_LEVEL_KEYS.join(", "))),
            ),
        }
    }
    fragment
}

/// `defaults:` key by key, so that one bad value (`port: 70000`) costs that value only and the
/// others (`user:`) still apply to every terminal.
fn read_defaults(node: &Node<'_>, diags: &mut Diagnostics) -> RawDefaults {
    let mut defaults = RawDefaults::default();
    let Some(entries) = node.entries() else {
        if !node.is_null() {
            diags.take(node.deserialize::<RawDefaults>());
        }
        return defaults;
    };
    for (key, value) in entries {
        match key.as_str() {
            "port" => defaults.port = diags.take(value.deserialize()),
            "user" => defaults.user = diags.take(value.deserialize()),
            "platform" => defaults.platform = diags.take(value.deserialize()),
            "become" => defaults.become_method = diags.take(value.deserialize()),
            other => diags.push(
                Diagnostic::error(format!("unknown key `{other}` in `defaults`"))
                    .at(Some(value.key_location()))
                    .did_you_mean(other, ["port", "user", "platform", "become"])
                    .hint("expected one of: port, user, platform, become"),
            ),
        }
    }
    defaults
}

/// The entries of a mapping node, or an error saying it should be one.
pub(super) fn mapping<'a>(
    node: &Node<'a>,
    what: &str,
    diags: &mut Diagnostics,
) -> Vec<(String, Node<'a>)> {
    if node.is_null() {
        return Vec::new();
    }
    match node.entries() {
        Some(entries) => entries,
        None => {
            diags.push(
                Diagnostic::error(format!(
                    "`{what}` must be a mapping of id to definition, found {}",
                    node.kind()
                ))
                .at(Some(node.location())),
            );
            Vec::new()
        }
    }
}

/// The sites a site's travel table names, with where each is named.
fn travel_refs(site: &str, value: &Node<'_>) -> Vec<(String, String, Location)> {
    value
        .get("travel")
        .and_then(|travel| travel.get("sites"))
        .and_then(|sites| sites.entries())
        .unwrap_or_default()
        .into_iter()
        .map(|(target, node)| (site.to_string(), target, node.key_location()))
        .collect()
}

/// Sites named in travel tables that no inventory file defines (ids that did not load, or with
/// a file that could not be read, are not reported again).
fn check_travel_refs(
    refs: &[(String, String, Location)],
    inv: &Inventory,
    unreported: impl Fn(&str) -> bool,
    diags: &mut Diagnostics,
) {
    let site_ids: Vec<&str> = inv.sites.keys().map(String::as_str).collect();
    for (site, target, at) in refs {
        if inv.sites.contains_key(target) || !unreported(target) {
            continue;
        }
        diags.push(
            Diagnostic::error(format!(
                "site `{site}` gives a travel time to unknown site `{target}`"
            ))
            .at(Some(at.clone()))
            .did_you_mean(target, site_ids.iter().copied().filter(|id| id != site)),
        );
    }
}

/// Whether `id` can name a site, group or terminal: letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit (a `/` would clash with `job/task` references).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Ansible names (hosts and groups from Ansible files) may use any letters, as Ansible's do;
/// only what would break seibi's own references and file names is refused.
fn valid_ansible_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && !id
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_whitespace() || c.is_control())
}

fn check_id(kind: &str, id: &str, at: &Location, diags: &mut Diagnostics) {
    if !valid_id(id) {
        diags.push(
            Diagnostic::error(format!("invalid {kind} id `{id}`"))
                .at(Some(at.clone()))
                .hint("ids use ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit; put display names in `name:`"),
        );
    }
}

fn check_reserved(vars: &Vars, owner: &str, at: &Location, diags: &mut Diagnostics) {
    for name in vars.keys() {
        if RESERVED_VARS.contains(&name.as_str()) {
            diags.push(
                Diagnostic::error(format!("variable `{name}` in {owner} uses a reserved name"))
                    .at(Some(at.clone()))
                    .hint(format!(
                        "`{}` are provided by seibi in templates; rename the variable",
                        RESERVED_VARS.join("`, `")
                    )),
            );
        }
    }
}

fn duplicate(kind: &str, id: &str, at: &Location, first: &Location) -> Diagnostic {
    Diagnostic::error(format!("duplicate {kind} id `{id}`"))
        .at(Some(at.clone()))
        .hint(format!("first defined at {first}"))
}

fn merge(fragments: Vec<Fragment>, some_file_unread: bool, diags: &mut Diagnostics) -> Inventory {
    let mut inv = Inventory::default();
    let mut ansible: HashMap<String, AnsibleExtras> = HashMap::new();
    let mut ansible_ids: BTreeSet<String> = BTreeSet::new();
    let mut origins = Origins::default();
    let mut var_origin: HashMap<String, Location> = HashMap::new();
    let mut defaults: Option<(RawDefaults, Location)> = None;
    let mut raw_terminals = Vec::new();
    let mut broken: BTreeSet<String> = BTreeSet::new();

    let mut travel: Vec<(String, String, Location)> = Vec::new();
    for fragment in fragments {
        broken.extend(fragment.broken);
        travel.extend(fragment.travel_refs);
        ansible.extend(fragment.ansible);
        ansible_ids.extend(fragment.ansible_ids);
        if let Some((d, at)) = fragment.defaults {
            match &defaults {
                Some((_, first)) => diags.push(
                    Diagnostic::error("`defaults` defined twice")
                        .at(Some(at))
                        .hint(format!("first defined at {first}")),
                ),
                None => defaults = Some((d, at)),
            }
        }
        for (name, value, at) in fragment.vars {
            if let Some(first) = var_origin.get(&name) {
                diags.push(
                    Diagnostic::error(format!("global variable `{name}` defined twice"))
                        .at(Some(at))
                        .hint(format!("first defined at {first}")),
                );
                continue;
            }
            let one = Vars::from_iter([(name.clone(), value.clone())]);
            check_reserved(&one, "the global vars", &at, diags);
            var_origin.insert(name.clone(), at);
            inv.vars.insert(name, value);
        }
        for (id, raw, at) in fragment.sites {
            check_id("site", &id, &at, diags);
            if let Some(first) = origins.sites.get(&id) {
                diags.push(duplicate("site", &id, &at, first));
                continue;
            }
            if raw.capacity == 0 {
                diags.push(
                    Diagnostic::error(format!("site `{id}` has capacity 0"))
                        .at(Some(at.clone()))
                        .hint(
                            "capacity is how many terminals may be worked on at once: at least 1",
                        ),
                );
            }
            if let Some(h) = &raw.hours
                && h.open >= h.close
            {
                diags.push(
                    Diagnostic::error(format!(
                        "site `{id}` opens at {} but closes at {}",
                        h.open, h.close
                    ))
                    .at(Some(at.clone())),
                );
            }
            check_reserved(&raw.vars, &format!("site `{id}`"), &at, diags);
            origins.sites.insert(id.clone(), at);
            inv.sites.insert(
                id.clone(),
                Site {
                    id,
                    name: raw.name,
                    name_en: raw.name_en,
                    kind: raw.kind,
                    jump: raw.jump,
                    capacity: raw.capacity,
                    closed_days: raw.closed_days,
                    hours: raw.hours.map(Into::into),
                    bandwidth_mbps: raw.bandwidth_mbps,
                    vars: raw.vars,
                    work: raw.work,
                    travel: raw.travel,
                    approved_windows: raw.approved_windows,
                },
            );
        }
        for (id, raw, at) in fragment.groups {
            if !ansible_ids.contains(&id) || !valid_ansible_id(&id) {
                check_id("group", &id, &at, diags);
            }
            if let Some(first) = origins.groups.get(&id) {
                diags.push(duplicate("group", &id, &at, first));
                continue;
            }
            check_reserved(&raw.vars, &format!("group `{id}`"), &at, diags);
            origins.groups.insert(id.clone(), at);
            inv.groups.insert(
                id.clone(),
                Group {
                    id,
                    description: raw.description,
                    members: raw.members,
                    children: raw.children,
                    vars: raw.vars,
                },
            );
        }
        for (id, raw, at) in fragment.terminals {
            if !ansible_ids.contains(&id) || !valid_ansible_id(&id) {
                check_id("terminal", &id, &at, diags);
            }
            if let Some(first) = origins.terminals.get(&id) {
                diags.push(duplicate("terminal", &id, &at, first));
                continue;
            }
            origins.terminals.insert(id.clone(), at.clone());
            raw_terminals.push((id, raw, at));
        }
    }

    check_travel_refs(
        &travel,
        &inv,
        |id| !broken.contains(id) && !some_file_unread,
        diags,
    );
    let defaults = defaults.map(|(d, _)| d).unwrap_or_default();
    let site_ids: Vec<&str> = inv.sites.keys().map(String::as_str).collect();
    let group_ids: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
    let mut endpoints: BTreeMap<(Option<String>, String, u16), String> = BTreeMap::new();
    let mut terminals = Vec::new();
    for (id, raw, at) in raw_terminals {
        // A file that could not be read may define the site: its own error says so, and the
        // terminals that name its sites are not reported again one by one.
        if !inv.sites.contains_key(&raw.site) && !broken.contains(&raw.site) && !some_file_unread {
            let mut d =
                Diagnostic::error(format!("terminal `{id}` is in unknown site `{}`", raw.site))
                    .at(Some(at.clone()))
                    .did_you_mean(&raw.site, site_ids.iter().copied());
            if site_ids.is_empty() {
                d = d.hint("no sites are defined: add a `sites:` section");
            }
            diags.push(d);
        }
        for g in &raw.groups {
            if !inv.groups.contains_key(g) && !broken.contains(g) && !some_file_unread {
                diags.push(
                    Diagnostic::error(format!("terminal `{id}` names unknown group `{g}`"))
                        .at(Some(at.clone()))
                        .did_you_mean(g, group_ids.iter().copied())
                        .hint("define it under `groups:`"),
                );
            }
        }
        let user = match raw.user.or_else(|| defaults.user.clone()) {
            Some(u) => u,
            None if some_file_unread => String::new(),
            None => {
                diags.push(
                    Diagnostic::error(format!("terminal `{id}` has no login user"))
                        .at(Some(at.clone()))
                        .hint("set `user:` on the terminal or `defaults: { user: ... }` once"),
                );
                String::new()
            }
        };
        check_reserved(&raw.vars, &format!("terminal `{id}`"), &at, diags);
        if let Some(problem) = address_problem(&raw.address) {
            diags.push(
                Diagnostic::error(format!(
                    "terminal `{id}` has address `{}`, which {problem}",
                    raw.address
                ))
                .at(Some(at.clone()))
                .hint("an address is a host name (`kiosk01.city.example`) or an IP address (`10.1.0.12`, `2001:db8::12`)"),
            );
        }
        let port = raw.port.or(defaults.port).unwrap_or(22);
        let jump = inv
            .sites
            .get(&raw.site)
            .and_then(|s| s.jump.as_ref())
            .map(|j| format!("{}@{}:{}", j.user, j.address, j.port));
        let endpoint = (jump, raw.address.clone(), port);
        if let Some(other) = endpoints.get(&endpoint) {
            diags.push(
                Diagnostic::error(format!(
                    "terminals `{other}` and `{id}` have the same address {}:{port}",
                    raw.address
                ))
                .at(Some(at.clone()))
                .hint("each terminal needs its own address (or a different site jump host)"),
            );
        } else {
            endpoints.insert(endpoint, id.clone());
        }
        let platform = raw.platform.or(defaults.platform).unwrap_or_default();
        let become_method = match (platform, raw.become_method) {
            (Platform::Windows, Some(Become::Sudo)) => {
                diags.push(
                    Diagnostic::error(format!(
                        "terminal `{id}` is a Windows terminal and cannot use `become: sudo`"
                    ))
                    .at(Some(at.clone()))
                    .hint("log in to a Windows terminal as an administrator account; remove `become:` from it"),
                );
                Become::None
            }
            // A Windows terminal does not take the Linux terminals' default.
            (Platform::Windows, _) => Become::None,
            (Platform::Linux, own) => own.or(defaults.become_method).unwrap_or_default(),
        };
        let extras = ansible.remove(&id).unwrap_or_default();
        if !extras.origins.is_empty() {
            origins.terminal_vars.insert(id.clone(), extras.origins);
        }
        if let Some(key) = extras.key_file {
            inv.key_files.insert(id.clone(), key);
        }
        terminals.push(Terminal {
            id,
            site: raw.site,
            address: raw.address,
            port,
            user,
            become_method,
            platform,
            tags: raw.tags.into_iter().collect::<BTreeSet<_>>(),
            groups: raw.groups,
            vars: raw.vars,
        });
    }
    for t in terminals {
        inv.terminals.insert(t.id.clone(), t);
    }

    let terminal_ids: Vec<&str> = inv.terminals.keys().map(String::as_str).collect();
    for group in inv.groups.values() {
        let at = origins.groups.get(&group.id).cloned();
        for m in &group.members {
            if !inv.terminals.contains_key(m) && !some_file_unread {
                diags.push(
                    Diagnostic::error(format!("group `{}` lists unknown terminal `{m}`", group.id))
                        .at(at.clone())
                        .did_you_mean(m, terminal_ids.iter().copied()),
                );
            }
        }
        for c in &group.children {
            if !inv.groups.contains_key(c) {
                diags.push(
                    Diagnostic::error(format!(
                        "group `{}` lists unknown child group `{c}`",
                        group.id
                    ))
                    .at(at.clone())
                    .did_you_mean(c, group_ids.iter().copied()),
                );
            }
        }
    }
    if let Some(cycle) = group_cycle(&inv) {
        let at = origins.groups.get(&cycle[0]).cloned();
        diags.push(
            Diagnostic::error(format!("groups contain each other: {}", cycle.join(" -> ")))
                .at(at)
                .hint("remove one of these `children:` entries"),
        );
    }
    inv.origins = origins;
    inv
}

/// What is wrong with an address, if anything: it must be an IP literal or a host name
/// (labels of letters, digits, `-` and `_`), never an option such as `-oProxyCommand=...`.
pub fn address_problem(address: &str) -> Option<&'static str> {
    if address.is_empty() {
        return Some("is empty");
    }
    if address.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    if address.starts_with('-') {
        return Some("starts with `-` (it would be read as an SSH option)");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    let name = address.strip_suffix('.').unwrap_or(address);
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Some("is neither a host name nor an IP address");
    }
    None
}

/// A cycle in group `children`, as a path that starts and ends with the same group.
fn group_cycle(inv: &Inventory) -> Option<Vec<String>> {
    fn visit(
        inv: &Inventory,
        id: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|s| s == id) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(id.to_string());
            return Some(cycle);
        }
        if done.contains(id) {
            return None;
        }
        stack.push(id.to_string());
        if let Some(g) = inv.groups.get(id) {
            for c in &g.children {
                if let Some(cycle) = visit(inv, c, stack, done) {
                    return Some(cycle);
                }
            }
        }
        stack.pop();
        done.insert(id.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for id in inv.groups.keys() {
        if let Some(cycle) = visit(inv, id, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}
