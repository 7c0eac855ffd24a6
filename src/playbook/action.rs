//! The actions a task can take, and the checks on their arguments.
//!
//! This module defines what each action *is* (its arguments, validated at load time);
//! carrying an action out on a terminal (query, then apply) belongs to the executor. Every
//! string argument is a template, rendered per terminal when a plan is made.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Names of all actions, as written in playbooks.
pub const ACTION_NAMES: &[&str] = &[
    "command", "file", "template", "package", "patch", "password", "inspect", "fetch", "reboot",
];

/// What a task does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "args")]
pub enum Action {
    /// Run a shell command.
    Command(CommandArgs),
    /// Make a file have given content, mode and owner (or be absent, or be a directory).
    File(FileArgs),
    /// Render a template file from the controller to the terminal.
    Template(TemplateArgs),
    /// Install a `.deb` from the job's artifacts.
    Package(PackageArgs),
    /// Install an OS security patch (a `.deb`) from the job's artifacts.
    Patch(PackageArgs),
    /// Rotate a local account's password.
    Password(PasswordArgs),
    /// Gather facts and compare them with expectations.
    Inspect(InspectArgs),
    /// Collect files (logs) from the terminal.
    Fetch(FetchArgs),
    /// Reboot and wait for the terminal to come back.
    Reboot(RebootArgs),
}

impl Action {
    /// The action's name as written in playbooks.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Command(_) => "command",
            Action::File(_) => "file",
            Action::Template(_) => "template",
            Action::Package(_) => "package",
            Action::Patch(_) => "patch",
            Action::Password(_) => "password",
            Action::Inspect(_) => "inspect",
            Action::Fetch(_) => "fetch",
            Action::Reboot(_) => "reboot",
        }
    }

    /// Problems with the arguments that types alone cannot rule out: (argument, message, hint).
    pub fn problems(&self) -> Vec<(&'static str, String, Option<String>)> {
        let mut out = Vec::new();
        match self {
            Action::Command(a) => {
                if a.cmd.trim().is_empty() {
                    out.push(("cmd", "`cmd` is empty".to_string(), None));
                }
            }
            Action::File(a) => {
                check_absolute("path", &a.path, &mut out);
                check_mode(a.mode.as_deref(), &mut out);
                match (a.state, a.content.is_some()) {
                    (FileState::Present, false) => out.push((
                        "content",
                        "a file with `state: present` needs `content`".to_string(),
                        Some("use `template:` to render a file from a template".to_string()),
                    )),
                    (FileState::Absent | FileState::Directory, true) => out.push((
                        "content",
                        "`content` only goes with `state: present`".to_string(),
                        None,
                    )),
                    _ => {}
                }
            }
            Action::Template(a) => {
                check_absolute("dest", &a.dest, &mut out);
                check_mode(a.mode.as_deref(), &mut out);
            }
            Action::Package(_) | Action::Patch(_) => {}
            Action::Password(a) => out.extend(a.policy.problems()),
            Action::Inspect(a) => {
                for f in &a.files {
                    check_absolute("files", f, &mut out);
                }
                if let Some(p) = a.disk_threshold_percent
                    && !(1..=100).contains(&p)
                {
                    out.push((
                        "disk_threshold_percent",
                        format!("disk_threshold_percent must be 1 to 100, not {p}"),
                        None,
                    ));
                }
                for (path, digest) in &a.expect.files {
                    check_absolute("expect.files", path, &mut out);
                    let literal = !digest.contains("{{");
                    let is_sha256 =
                        digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit());
                    if literal && !is_sha256 && digest != "absent" {
                        out.push((
                            "expect.files",
                            format!("`{digest}` (for {path}) is not a SHA-256 in hex"),
                            Some(
                                "write the 64 hex digits `sha256sum` prints, or `absent`"
                                    .to_string(),
                            ),
                        ));
                    }
                }
            }
            Action::Fetch(a) => {
                if a.paths.is_empty() {
                    out.push(("paths", "`paths` lists no files".to_string(), None));
                }
                for p in &a.paths {
                    check_absolute("paths", p, &mut out);
                }
            }
            Action::Reboot(a) => {
                if a.command.as_deref().is_some_and(|c| c.trim().is_empty()) {
                    out.push((
                        "command",
                        "`command` is empty".to_string(),
                        Some("leave it out to reboot with `systemctl reboot`".to_string()),
                    ));
                }
                if a.timeout_secs < 30 {
                    out.push((
                        "timeout_secs",
                        format!("a reboot timeout of {}s is too short", a.timeout_secs),
                        Some("terminals take minutes to come back; use 300 or more".to_string()),
                    ));
                }
            }
        }
        out
    }
}

type Problems = Vec<(&'static str, String, Option<String>)>;

fn check_absolute(arg: &'static str, path: &str, out: &mut Problems) {
    // Templated paths are checked after rendering; a literal one must be absolute.
    if !path.contains("{{") && !path.starts_with('/') {
        out.push((
            arg,
            format!("`{path}` is not an absolute path"),
            Some("paths on terminals start with `/`".to_string()),
        ));
    }
}

fn check_mode(mode: Option<&str>, out: &mut Problems) {
    if let Some(m) = mode
        && !(m.len() == 4 && m.starts_with('0') && m.chars().all(|c| ('0'..='7').contains(&c)))
    {
        out.push((
            "mode",
            format!("mode `{m}` is not an octal mode like `0644`"),
            Some("quote it in YAML (`mode: \"0644\"`) so it stays a string".to_string()),
        ));
    }
}

/// Arguments of `command`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandArgs {
    /// The shell command.
    pub cmd: String,
    /// Skip when this path exists on the terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creates: Option<String>,
    /// Skip when this command succeeds on the terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless: Option<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chdir: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    /// Text sent on standard input (the only way secrets reach a command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

/// Desired state of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// A regular file with the given content.
    #[default]
    Present,
    /// No file.
    Absent,
    /// A directory.
    Directory,
}

/// Arguments of `file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileArgs {
    /// Absolute path on the terminal.
    pub path: String,
    /// Desired state.
    #[serde(default)]
    pub state: FileState,
    /// Content for `state: present`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Octal mode such as `0644`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Owner user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Owner group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Keep a copy of what is replaced.
    #[serde(default = "yes")]
    pub backup: bool,
}

/// Arguments of `template`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateArgs {
    /// Template file, relative to the playbook's directory.
    pub src: String,
    /// Absolute path on the terminal.
    pub dest: String,
    /// Octal mode such as `0644`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Owner user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Owner group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Keep a copy of what is replaced.
    #[serde(default = "yes")]
    pub backup: bool,
}

/// Arguments of `package` and `patch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageArgs {
    /// Name of an entry in the job's `artifacts:`.
    pub artifact: String,
}

/// Character classes for random passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CharClass {
    /// a-z
    Lower,
    /// A-Z
    Upper,
    /// 0-9
    Digit,
    /// Punctuation.
    Symbol,
}

/// How passwords are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PasswordStyle {
    /// Random characters from the chosen classes.
    #[default]
    Random,
    /// Random words joined by `-`.
    Passphrase,
}

/// Rules for generated passwords and for keeping old ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Random or passphrase.
    #[serde(default)]
    pub style: PasswordStyle,
    /// Length in characters (random style).
    #[serde(default = "default_length")]
    pub length: u32,
    /// Classes that must each appear (random style).
    #[serde(default = "default_classes")]
    pub classes: Vec<CharClass>,
    /// Characters never used (look-alikes such as `0O1lI`).
    #[serde(default)]
    pub avoid: String,
    /// Number of words (passphrase style).
    #[serde(default = "default_words")]
    pub words: u32,
    /// How many past passwords the store keeps.
    #[serde(default = "default_keep")]
    pub keep: u32,
    /// Days after which a password is overdue for rotation.
    #[serde(default = "default_max_age")]
    pub max_age_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            style: PasswordStyle::Random,
            length: default_length(),
            classes: default_classes(),
            avoid: String::new(),
            words: default_words(),
            keep: default_keep(),
            max_age_days: default_max_age(),
        }
    }
}

impl PasswordPolicy {
    fn problems(&self) -> Problems {
        let mut out = Vec::new();
        match self.style {
            PasswordStyle::Random => {
                if self.length < 12 {
                    out.push((
                        "policy.length",
                        format!("password length {} is below the minimum of 12", self.length),
                        None,
                    ));
                }
                if self.classes.is_empty() {
                    out.push((
                        "policy.classes",
                        "no character classes chosen".to_string(),
                        None,
                    ));
                }
                if (self.classes.len() as u32) > self.length {
                    out.push((
                        "policy",
                        "more required classes than characters".to_string(),
                        None,
                    ));
                }
            }
            PasswordStyle::Passphrase => {
                if self.words < 5 {
                    out.push((
                        "policy.words",
                        format!("a passphrase of {} words is too weak", self.words),
                        Some("use 5 words or more".to_string()),
                    ));
                }
            }
        }
        if self.keep == 0 {
            out.push((
                "policy.keep",
                "`keep: 0` would forget the previous password at once".to_string(),
                Some(
                    "keep at least 1 past version so a failed rotation can be recovered"
                        .to_string(),
                ),
            ));
        }
        out
    }
}

fn default_length() -> u32 {
    20
}
fn default_classes() -> Vec<CharClass> {
    vec![
        CharClass::Lower,
        CharClass::Upper,
        CharClass::Digit,
        CharClass::Symbol,
    ]
}
fn default_words() -> u32 {
    6
}
fn default_keep() -> u32 {
    5
}
fn default_max_age() -> u32 {
    365
}
fn yes() -> bool {
    true
}

/// Arguments of `password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordArgs {
    /// The local account whose password is rotated.
    pub user: String,
    /// Generation and retention rules.
    #[serde(default)]
    pub policy: PasswordPolicy,
}

/// Arguments of `inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectArgs {
    /// Packages whose installed version is reported.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Settings files whose SHA-256 is reported.
    #[serde(default)]
    pub files: Vec<String>,
    /// Report disk usage per mount.
    #[serde(default = "yes")]
    pub disk: bool,
    /// Flag mounts fuller than this percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_threshold_percent: Option<u8>,
    /// What the terminal should have; every difference is reported as drift. Packages and files
    /// named here are inspected even when `packages:` or `files:` do not list them.
    #[serde(default, skip_serializing_if = "InspectExpect::is_empty")]
    pub expect: InspectExpect,
}

/// Expectations of `inspect`: `expect: { packages: {name: version}, files: {path: sha256} }`.
/// The values are templates like every string argument, so a job can take them from
/// variables (`openssh-server: "{{ openssh_version }}"`); the names are literal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectExpect {
    /// Package name to the version that should be installed (`absent` for none).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub packages: IndexMap<String, String>,
    /// Absolute path to the SHA-256 its content should have (`absent` for no file).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub files: IndexMap<String, String>,
}

impl InspectExpect {
    /// Whether nothing is expected.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.files.is_empty()
    }
}

/// Arguments of `fetch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// Absolute paths (shell globs allowed) to collect.
    pub paths: Vec<String>,
    /// Refuse files larger than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

/// Arguments of `reboot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebootArgs {
    /// How long to wait for the terminal to come back.
    #[serde(default = "default_reboot_timeout")]
    pub timeout_secs: u64,
    /// Message shown to logged-in users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The command that reboots, run detached on the terminal; `systemctl reboot` when absent
    /// (on `seibi lab` hosts a stand-in simulates the reboot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

fn default_reboot_timeout() -> u64 {
    600
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml_like: serde_json::Value) -> Vec<String> {
        let action: Action = serde_json::from_value(yaml_like).expect("an action");
        action.problems().into_iter().map(|(_, m, _)| m).collect()
    }

    #[test]
    fn inspect_expectations_are_checked() {
        let fine = serde_json::json!({"action": "inspect", "args": {"expect": {
            "packages": {"openssh-server": "{{ ssh_version }}", "telnetd": "absent"},
            "files": {"/etc/a.conf": "ab".repeat(32), "/etc/b.conf": "absent",
                      "/etc/c.conf": "{{ c_sha }}"},
        }}});
        assert_eq!(problems(fine), Vec::<String>::new());
        let bad = serde_json::json!({"action": "inspect", "args": {"expect": {
            "files": {"etc/a.conf": "ab".repeat(32), "/etc/b.conf": "abc"},
        }}});
        let found = problems(bad);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("not an absolute path"), "{found:?}");
        assert!(
            found[1].contains("`abc` (for /etc/b.conf) is not a SHA-256"),
            "{found:?}"
        );
    }

    #[test]
    fn reboot_command_must_not_be_empty() {
        let with =
            |command: &str| serde_json::json!({"action": "reboot", "args": {"command": command}});
        assert_eq!(problems(with("true")), Vec::<String>::new());
        assert_eq!(problems(with("  ")), vec!["`command` is empty".to_string()]);
    }
}
