//! What seibi takes from an Ansible host's effective variables, and what it refuses.
//!
//! | variable | seibi |
//! |---|---|
//! | `ansible_host` (`ansible_ssh_host`) | address (else the host's name) |
//! | `ansible_port` (`ansible_ssh_port`) | port, 1 to 65535 |
//! | `ansible_user` (`ansible_ssh_user`) | login user |
//! | `ansible_become`, `_method`, `_user` | `become: sudo` (method sudo, user root only) |
//! | `ansible_become_password`/`_pass`, `ansible_password`, `ansible_ssh_pass` | warning; the value is dropped, never kept as a variable |
//! | `ansible_ssh_private_key_file` (`ansible_private_key_file`) | the terminal's key file |
//! | `ansible_connection` | `ssh`/`smart`: SSH; `winrm`/`psrp`: Windows; `local` and others: error |
//! | `ansible_shell_type` | `powershell`/`cmd`: Windows |
//! | `ansible_ssh_common_args`, `_extra_args`, `ansible_ssh_args` | error with a ProxyCommand/ProxyJump (use the site's `jump:`), else warning (not used) |
//! | `ansible_become_exe`, `ansible_become_flags` | warning (seibi runs `sudo -n -H`) |
//! | `seibi_site`, `seibi_platform`, `seibi_tags` | site, platform, tags |
//!
//! Each message names the host, the variable and the place that set it. The precedence is the
//! same as for every other variable: these are read from the effective variables, with their
//! templates resolved as Ansible resolves them when it connects ([`super::templating`]).

use std::path::PathBuf;

use super::model::{Sourced, SourcedVars};
use super::templating::{Resolver, Unresolved};
use crate::inventory::raw::RawTerminal;
use crate::inventory::{Become, Platform, Vars};
use crate::source::{Diagnostic, Diagnostics, Location};

/// Variables whose values are passwords: reported, then dropped.
const PASSWORDS: &[&str] = &[
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_sudo_pass",
];

/// The variables seibi takes from a host, aliases together (the last one set wins, as in
/// [`Reader::get`]); these are the ones whose templates are resolved.
const TAKEN: &[&[&str]] = &[
    &["ansible_ssh_host", "ansible_host"],
    &["ansible_ssh_port", "ansible_port"],
    &["ansible_ssh_user", "ansible_user"],
    &["ansible_become"],
    &["ansible_become_method"],
    &["ansible_become_user"],
    &["ansible_connection"],
    &["ansible_shell_type"],
    &["ansible_ssh_private_key_file", "ansible_private_key_file"],
    &["ansible_ssh_common_args"],
    &["ansible_ssh_extra_args"],
    &["ansible_ssh_args"],
    &["seibi_site"],
    &["seibi_platform"],
    &["seibi_tags"],
];

/// A host as seibi takes it.
pub struct Taken {
    /// The terminal, as a seibi-format terminal would be written.
    pub raw: RawTerminal,
    /// Its SSH key file, if the inventory names one.
    pub key_file: Option<PathBuf>,
    /// Where each of its variables was set.
    pub origins: indexmap::IndexMap<String, Location>,
}

/// Why a host did not become a terminal (the caller folds repeats into one report).
pub enum Refused {
    /// No `seibi_site` anywhere above the host.
    NoSite,
    /// Reported already.
    Reported,
}

struct Reader<'a> {
    host: &'a str,
    vars: &'a SourcedVars,
    diags: &'a mut Diagnostics,
    failed: bool,
}

impl Reader<'_> {
    fn get(&self, names: &[&str]) -> Option<(&str, &Sourced)> {
        // Ansible takes the last of the aliases that is set (`ansible_host` over `ansible_ssh_host`).
        names
            .iter()
            .rev()
            .find_map(|n| self.vars.get_key_value(*n))
            .map(|(k, v)| (k.as_str(), v))
    }

    fn text(&self, names: &[&str]) -> Option<String> {
        self.get(names).map(|(_, v)| text(&v.value))
    }

    fn error(&mut self, var: &str, at: &Location, problem: String, hint: &str) {
        self.failed = true;
        self.diags.push(
            Diagnostic::error(format!("Ansible host `{}`: `{var}` {problem}", self.host))
                .at(Some(at.clone()))
                .hint(hint.to_string()),
        );
    }

    fn warn(&mut self, var: &str, at: &Location, problem: &str, hint: &str) {
        // The place goes in the message, not `at`: showing the line could show a password.
        self.diags.push(
            Diagnostic::warning(format!(
                "Ansible host `{}`: `{var}` (set at {at}) {problem}",
                self.host
            ))
            .hint(hint.to_string()),
        );
    }
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Ansible's `boolean()`: true for `true`/`yes`/`on`/`y`/`t`/`1` (any case) and 1; false for
/// the opposites; `None` for anything else.
fn boolean(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) => {
            let f = n.as_f64()?;
            (f == 1.0 || f == 0.0).then_some(f == 1.0)
        }
        serde_json::Value::String(s) => match s.to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `vars` with the templates of the variables seibi takes resolved, and what could not be
/// resolved (left out of the result, so it does not fail again as, say, "not a port number").
pub fn resolve(
    host: &str,
    group_names: Vec<String>,
    vars: &SourcedVars,
) -> (SourcedVars, Vec<(String, Unresolved)>) {
    let winners: Vec<&str> = TAKEN
        .iter()
        .filter_map(|aliases| aliases.iter().rev().find(|n| vars.contains_key(**n)))
        .copied()
        .collect();
    let (mut resolved, problems) = Resolver::new(host, group_names, vars).resolved(&winners);
    for (name, _) in &problems {
        resolved.shift_remove(name);
    }
    (resolved, problems)
}

/// Turns one host's effective variables into a terminal, reporting what seibi cannot honour.
/// `resolved` is `vars` with the templates of the variables seibi takes resolved ([`resolve`]):
/// the terminal's address, user and so on come from it; its variables, as written, from `vars`.
pub fn take(
    host: &str,
    vars: &SourcedVars,
    resolved: &SourcedVars,
    at: &Location,
    diags: &mut Diagnostics,
) -> Result<Taken, Refused> {
    let mut r = Reader {
        host,
        vars: resolved,
        diags,
        failed: false,
    };
    for name in PASSWORDS {
        if let Some(v) = vars.get(*name) {
            r.warn(
                name,
                &v.at,
                "is not used by seibi and is dropped",
                if name.contains("become") || name.contains("sudo") {
                    "seibi runs `sudo -n` and needs NOPASSWD sudo for the login user"
                } else {
                    "seibi logs in with SSH keys (files or ssh-agent), never with a password"
                },
            );
        }
    }
    for name in ["ansible_become_exe", "ansible_become_flags"] {
        if let Some(v) = vars.get(name) {
            r.warn(
                name,
                &v.at,
                "is not used",
                "seibi always runs `sudo -n -H -- sh -c ...`",
            );
        }
    }
    for name in [
        "ansible_ssh_common_args",
        "ansible_ssh_extra_args",
        "ansible_ssh_args",
    ] {
        if let Some(v) = vars.get(name) {
            let args = text(&v.value);
            if args.contains("ProxyCommand") || args.contains("ProxyJump") || args.contains("-J ") {
                r.error(
                    name,
                    &v.at,
                    "sets a ProxyCommand or ProxyJump, which seibi does not run".to_string(),
                    "give the site a `jump: { address: ..., user: ... }` in a seibi inventory file instead",
                );
            } else if !args.trim().is_empty() {
                r.warn(
                    name,
                    &v.at,
                    "is not used",
                    "seibi makes its own SSH connections and does not pass OpenSSH options",
                );
            }
        }
    }
    let mut windows = false;
    if let Some((name, v)) = r.get(&["ansible_connection"]) {
        let (name, v) = (name.to_string(), v.clone());
        match text(&v.value).as_str() {
            "ssh" | "smart" | "paramiko" | "paramiko_ssh" | "ansible.builtin.ssh" => {}
            "winrm" | "psrp" | "ansible.builtin.winrm" | "ansible.builtin.psrp" => windows = true,
            "local" | "ansible.builtin.local" => r.error(
                &name,
                &v.at,
                "is `local`: seibi works on terminals over SSH only".to_string(),
                "remove the host from the inventory seibi reads, or give it an address seibi can reach over SSH",
            ),
            other => r.error(
                &name,
                &v.at,
                format!("is `{other}`, which seibi does not support"),
                "seibi connects over SSH (`ansible_connection: ssh`)",
            ),
        }
    }
    if let Some((_, v)) = r.get(&["ansible_shell_type"]) {
        windows |= matches!(text(&v.value).as_str(), "powershell" | "cmd");
    }
    let platform = match r
        .get(&["seibi_platform"])
        .map(|(n, v)| (n.to_string(), v.clone()))
    {
        None if windows => Some(Platform::Windows),
        None => None,
        Some((name, v)) => match text(&v.value).as_str() {
            "linux" => Some(Platform::Linux),
            "windows" => Some(Platform::Windows),
            other => {
                r.error(
                    &name,
                    &v.at,
                    format!("is `{other}`"),
                    "use `linux` or `windows`",
                );
                None
            }
        },
    };
    let port = match r
        .get(&["ansible_ssh_port", "ansible_port"])
        .map(|(n, v)| (n.to_string(), v.clone()))
    {
        None => None,
        Some((name, v)) => {
            let port = match &v.value {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) {
                Some(p) => Some(p),
                None => {
                    r.error(
                        &name,
                        &v.at,
                        format!("is {}, not a port number", v.value),
                        "a port is a whole number from 1 to 65535",
                    );
                    None
                }
            }
        }
    };
    let become_method = if platform == Some(Platform::Windows) {
        // Windows hosts become with `runas`, which is not seibi's (an administrator logs in).
        None
    } else {
        become_of(&mut r)
    };
    let key_file = r
        .text(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
        .map(PathBuf::from);
    let tags = match r
        .get(&["seibi_tags"])
        .map(|(n, v)| (n.to_string(), v.clone()))
    {
        None => Vec::new(),
        Some((
            _,
            Sourced {
                value: serde_json::Value::Array(items),
                ..
            },
        )) => items.iter().map(text).collect(),
        Some((
            _,
            Sourced {
                value: serde_json::Value::String(s),
                ..
            },
        )) => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        Some((name, v)) => {
            r.error(
                &name,
                &v.at,
                format!("is {}", v.value),
                "give tags as a list (`[a, b]`) or a comma-separated string",
            );
            Vec::new()
        }
    };
    let site = r.text(&["seibi_site"]);
    let address = r
        .text(&["ansible_ssh_host", "ansible_host"])
        .unwrap_or_else(|| host.to_string());
    let user = r.text(&["ansible_ssh_user", "ansible_user"]);
    if r.failed {
        return Err(Refused::Reported);
    }
    let Some(site) = site else {
        return Err(Refused::NoSite);
    };
    let _ = at;
    let mut kept = Vars::new();
    let mut origins = indexmap::IndexMap::new();
    for (k, v) in vars {
        if PASSWORDS.contains(&k.as_str()) {
            continue;
        }
        kept.insert(k.clone(), v.value.clone());
        origins.insert(k.clone(), v.at.clone());
    }
    Ok(Taken {
        raw: RawTerminal {
            site,
            address,
            port,
            user,
            platform,
            become_method,
            tags,
            groups: Vec::new(),
            vars: kept,
        },
        key_file,
        origins,
    })
}

/// `ansible_become` with its method and user, as seibi's `become`; `None` when not set (the
/// seibi defaults then apply).
fn become_of(r: &mut Reader<'_>) -> Option<Become> {
    let (name, v) = r
        .get(&["ansible_become"])
        .map(|(n, v)| (n.to_string(), v.clone()))?;
    match boolean(&v.value) {
        None => {
            r.error(
                &name,
                &v.at,
                format!("is {}, not a boolean", v.value),
                "use `true` or `false`",
            );
            return None;
        }
        Some(false) => return Some(Become::None),
        Some(true) => {}
    }
    if let Some((mname, m)) = r
        .get(&["ansible_become_method"])
        .map(|(n, v)| (n.to_string(), v.clone()))
    {
        let method = text(&m.value);
        if method != "sudo" && method != "ansible.builtin.sudo" {
            r.error(
                &mname,
                &m.at,
                format!("is `{method}`; seibi supports `sudo` only"),
                "use `ansible_become_method: sudo` with NOPASSWD sudo, or log in as root",
            );
            return None;
        }
    }
    if let Some((uname, u)) = r
        .get(&["ansible_become_user"])
        .map(|(n, v)| (n.to_string(), v.clone()))
    {
        let user = text(&u.value);
        if user != "root" {
            r.error(
                &uname,
                &u.at,
                format!("is `{user}`; seibi becomes root only"),
                "remove `ansible_become_user` (root is the default)",
            );
            return None;
        }
    }
    Some(Become::Sudo)
}
