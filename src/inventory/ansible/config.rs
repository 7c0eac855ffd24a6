//! Ansible's own connection defaults (`ansible.cfg`, `ANSIBLE_*` environment variables), which
//! seibi does not take, found so that they are never silently ignored.
//!
//! Ansible logs in as `remote_user` from `ansible.cfg` (or `$ANSIBLE_REMOTE_USER`) when a host
//! has no `ansible_user`, and likewise for the port, the key file and become. seibi reads the
//! connection only from the inventory, which a plan pins by digest: a setting in a file outside
//! the inventory (or in someone's environment) would change where a pinned plan logs in without
//! the plan noticing. So when such a setting exists and some Ansible host lacks the variable it
//! would stand in for, that is an error at the setting's place, naming the hosts, with the
//! variable to write instead. Ansible's search order is followed: `$ANSIBLE_CONFIG`, then
//! `ansible.cfg` beside the inventory or in the project directory above it (Ansible reads the
//! one in the directory it runs in), then `~/.ansible.cfg`, then `/etc/ansible/ansible.cfg`;
//! the first file found is the only one read, and environment variables come on top.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::source::{Diagnostic, Location, SourceFile};

/// A connection default Ansible would apply: the `ansible.cfg` key (or environment variable)
/// and the host variables it stands in for.
struct Setting {
    section: &'static str,
    key: &'static str,
    env: &'static str,
    vars: &'static [&'static str],
}

const SETTINGS: &[Setting] = &[
    Setting {
        section: "defaults",
        key: "remote_user",
        env: "ANSIBLE_REMOTE_USER",
        vars: &["ansible_user", "ansible_ssh_user"],
    },
    Setting {
        section: "defaults",
        key: "remote_port",
        env: "ANSIBLE_REMOTE_PORT",
        vars: &["ansible_port", "ansible_ssh_port"],
    },
    Setting {
        section: "defaults",
        key: "private_key_file",
        env: "ANSIBLE_PRIVATE_KEY_FILE",
        vars: &["ansible_ssh_private_key_file", "ansible_private_key_file"],
    },
    Setting {
        section: "privilege_escalation",
        key: "become",
        env: "ANSIBLE_BECOME",
        vars: &["ansible_become"],
    },
    Setting {
        section: "privilege_escalation",
        key: "become_method",
        env: "ANSIBLE_BECOME_METHOD",
        vars: &["ansible_become_method"],
    },
    Setting {
        section: "privilege_escalation",
        key: "become_user",
        env: "ANSIBLE_BECOME_USER",
        vars: &["ansible_become_user"],
    },
];

/// One connection default found, with its place.
pub struct Found {
    setting: &'static Setting,
    value: String,
    /// `ansible.cfg` line, or `None` for an environment variable.
    at: Option<Location>,
}

impl Found {
    /// The host variables this default stands in for (any one of them set makes it moot).
    pub fn vars(&self) -> &'static [&'static str] {
        self.setting.vars
    }

    /// The error for the `hosts` (names) that lack [`Found::vars`].
    pub fn error(&self, hosts: &[&str]) -> Diagnostic {
        let var = self.setting.vars[0];
        let value = &self.value;
        let whence = match &self.at {
            Some(at) => format!(
                "{} sets `{} = {value}`",
                at.path().display(),
                self.setting.key
            ),
            None => format!("${} is `{value}`", self.setting.env),
        };
        let listed = hosts
            .iter()
            .take(5)
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
            + if hosts.len() > 5 { ", ..." } else { "" };
        Diagnostic::error(format!(
            "{whence}, which Ansible uses for the {} host{} without `{var}` ({listed}); seibi does not read Ansible's configuration",
            hosts.len(),
            if hosts.len() == 1 { "" } else { "s" },
        ))
        .at(self.at.clone())
        .hint(format!(
            "write it into the inventory, where both read it and a plan pins it: `{var}: {value}` in `group_vars/all.yml` (or under `all: vars:`){}",
            if self.at.is_some() { ", and remove it here" } else { ", and unset the variable" }
        ))
    }
}

/// The `ansible.cfg` Ansible would read for an inventory at `base` (see the module).
fn config_file(base: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ANSIBLE_CONFIG") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let mut candidates = vec![base.join("ansible.cfg")];
    if let Some(parent) = base.parent() {
        candidates.push(parent.join("ansible.cfg"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".ansible.cfg"));
    }
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    candidates.into_iter().find(|p| p.is_file())
}

/// The connection defaults set in `ansible.cfg` and the environment for an inventory at `base`.
/// A configuration file that cannot be read is skipped, as Ansible would fail on it anyway.
pub fn connection_defaults(base: &Path) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    if let Some(path) = config_file(base)
        && let Ok(file) = SourceFile::read(&path)
    {
        found.extend(settings_in(&file));
    }
    for setting in SETTINGS {
        if let Some(value) = std::env::var_os(setting.env) {
            let value = value.to_string_lossy().into_owned();
            found.retain(|f| !std::ptr::eq(f.setting, setting));
            if !matches_seibi(setting, &value) {
                found.push(Found {
                    setting,
                    value,
                    at: None,
                });
            }
        }
    }
    found
}

/// Whether a default is what seibi does anyway (it becomes root with sudo, and only so).
fn matches_seibi(setting: &Setting, value: &str) -> bool {
    matches!(
        (setting.key, value),
        ("become_method", "sudo" | "ansible.builtin.sudo") | ("become_user", "root")
    )
}

/// The [`SETTINGS`] an `ansible.cfg` sets (Python's `configparser`: `[section]`, `key = value`
/// or `key: value`, `#` and `;` comment lines, `;` comments after a value; the last of a key
/// wins).
fn settings_in(file: &Arc<SourceFile>) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let mut section = String::new();
    for (index, raw) in file.text().lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            continue;
        };
        let key = line[..split].trim();
        let mut value = line[split + 1..].trim();
        if let Some(comment) = value.find(" ;") {
            value = value[..comment].trim_end();
        }
        let Some(setting) = SETTINGS
            .iter()
            .find(|s| s.section == section && s.key == key)
        else {
            continue;
        };
        if value.is_empty() || matches_seibi(setting, value) {
            continue;
        }
        found.retain(|f| !std::ptr::eq(f.setting, setting));
        found.push(Found {
            setting,
            value: value.to_string(),
            at: Some(Location {
                file: file.clone(),
                line: index + 1,
                column: raw.len() - raw.trim_start().len() + 1,
            }),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_keys_are_read_by_section_and_the_last_one_wins() {
        let file = SourceFile::new(
            "ansible.cfg",
            "[defaults]\n# remote_user = commented\nremote_user = first\ninventory = hosts\nremote_user: kanri ; the counter account\n[privilege_escalation]\nbecome = True\n[other]\nremote_port = 2222\n",
        );
        let found = settings_in(&file);
        let shown: Vec<(&str, &str, usize)> = found
            .iter()
            .map(|f| {
                (
                    f.setting.key,
                    f.value.as_str(),
                    f.at.as_ref().map_or(0, |a| a.line),
                )
            })
            .collect();
        assert_eq!(shown, [("remote_user", "kanri", 5), ("become", "True", 7)]);
        let message = found[0].error(&["h1", "h2"]).to_string();
        assert!(
            message.contains("ansible.cfg sets `remote_user = kanri`"),
            "{message}"
        );
        assert!(
            message.contains("the 2 hosts without `ansible_user` (`h1`, `h2`)"),
            "{message}"
        );
    }
}
