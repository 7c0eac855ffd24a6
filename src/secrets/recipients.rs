//! The recipients list, `secrets/recipients.txt`: who can read the secrets.
//!
//! One recipient per line, `name: key`, where the name is the person or role (any text without
//! `": "`, Japanese welcome) and the key is an age X25519 public key (`age1...`) or an SSH
//! ed25519 public key (`ssh-ed25519 AAAA... [comment]`). Blank lines and lines starting with `#`
//! are comments and survive `recipients add` and `remove`:
//!
//! ```text
//! # Who can read secrets/*.age. After a change run `seibi secrets rekey`.
//! 山田 (operator): age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
//! 情報政策課 backup: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... backup@city
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::atomic_file::write_atomic;
use super::{PublicKey, SecretsError};
use crate::source::{Diagnostic, Diagnostics, Location, SourceFile};

/// The header written into a new recipients file.
const HEADER: &str = "\
# seibi secrets recipients: who can read secrets/*.age.
# One per line, `name: key`; the key is an age public key (age1...) or an SSH ed25519 public key.
# After adding or removing someone run `seibi secrets rekey`.
";

/// One person or role that files are encrypted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Who it is, e.g. `山田 (operator)`.
    pub name: String,
    /// Their public key.
    pub key: PublicKey,
}

#[derive(Debug, Clone)]
enum Line {
    /// A comment or blank line, kept as written.
    Text(String),
    /// An entry (index into `entries`).
    Entry(usize),
}

/// The parsed recipients file; rewriting keeps its comments.
#[derive(Debug, Clone)]
pub struct Recipients {
    path: PathBuf,
    lines: Vec<Line>,
    entries: Vec<Option<Recipient>>,
}

impl Recipients {
    /// A new, empty list to be saved at `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            lines: HEADER.lines().map(|l| Line::Text(l.to_string())).collect(),
            entries: Vec::new(),
        }
    }

    /// Reads and checks the file. Every bad line is reported (with file:line:col); a list that
    /// names nobody is an error too.
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        if !path.exists() {
            return Err(SecretsError::MissingRecipients {
                path: path.to_path_buf(),
            });
        }
        let file = SourceFile::read(path).map_err(SecretsError::Invalid)?;
        let recipients = Self::parse(file).map_err(|diagnostics| {
            let mut all = diagnostics.into_iter();
            let first = all
                .next()
                .unwrap_or_else(|| Diagnostic::error("invalid recipients"));
            // Fold the other problems into hints so one error carries them all.
            let extra: Vec<String> = all.map(|d| d.to_string().trim_end().to_string()).collect();
            SecretsError::Invalid(extra.into_iter().fold(first, Diagnostic::hint))
        })?;
        if recipients.keys().is_empty() {
            return Err(SecretsError::NoRecipients {
                path: path.to_path_buf(),
            });
        }
        Ok(recipients)
    }

    /// Parses the text of a recipients file.
    pub fn parse(file: Arc<SourceFile>) -> Result<Self, Diagnostics> {
        let mut out = Self {
            path: file.path().to_path_buf(),
            lines: Vec::new(),
            entries: Vec::new(),
        };
        let mut problems = Diagnostics::new();
        for (i, raw) in file.text().lines().enumerate() {
            let at = |column: usize| {
                Some(Location {
                    file: file.clone(),
                    line: i + 1,
                    column,
                })
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                out.lines.push(Line::Text(raw.to_string()));
                continue;
            }
            let indent = raw.chars().take_while(|c| c.is_whitespace()).count() + 1;
            let Some((name, key)) = trimmed.split_once(": ") else {
                problems.push(
                    Diagnostic::error("a recipient line must be `name: key`")
                        .at(at(indent))
                        .hint("e.g. `山田 (operator): age1...` or `backup: ssh-ed25519 AAAA...`"),
                );
                continue;
            };
            let name = name.trim();
            let key_column = indent + trimmed[..trimmed.len() - key.len()].chars().count();
            let key = match PublicKey::parse(key) {
                Ok(key) => key,
                Err(reason) => {
                    problems.push(
                        Diagnostic::error(format!("recipient `{name}`: {reason}"))
                            .at(at(key_column)),
                    );
                    continue;
                }
            };
            if let Some(other) = out.entries().iter().find(|r| r.name == name) {
                problems.push(
                    Diagnostic::error(format!("recipient name `{}` is listed twice", other.name))
                        .at(at(indent))
                        .hint("names must be unique so that `recipients remove NAME` is clear"),
                );
                continue;
            }
            if let Some(other) = out.entries().iter().find(|r| r.key == key) {
                problems.push(
                    Diagnostic::error(format!("this key is already listed for `{}`", other.name))
                        .at(at(key_column)),
                );
                continue;
            }
            out.lines.push(Line::Entry(out.entries.len()));
            out.entries.push(Some(Recipient {
                name: name.to_string(),
                key,
            }));
        }
        if problems.has_errors() {
            Err(problems)
        } else {
            Ok(out)
        }
    }

    /// The file this list is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recipients, in file order.
    pub fn entries(&self) -> Vec<&Recipient> {
        self.entries.iter().flatten().collect()
    }

    /// Their public keys, in file order.
    pub fn keys(&self) -> Vec<PublicKey> {
        self.entries().into_iter().map(|r| r.key.clone()).collect()
    }

    /// The recipient with this name.
    pub fn get(&self, name: &str) -> Option<&Recipient> {
        self.entries().into_iter().find(|r| r.name == name)
    }

    /// Adds a recipient at the end. A name or key already listed is refused.
    pub fn add(&mut self, name: &str, key: PublicKey) -> Result<(), SecretsError> {
        let name = name.trim();
        if name.is_empty() || name.contains(": ") || name.contains('\n') || name.starts_with('#') {
            return Err(SecretsError::InvalidName {
                what: "recipient name",
                name: name.to_string(),
                reason: "it must be non-empty, one line, not start with `#` and not contain `: `"
                    .to_string(),
            });
        }
        if self.get(name).is_some() {
            return Err(SecretsError::Conflict(format!(
                "a recipient named `{name}` is already in {}; remove it first to replace its key",
                self.path.display()
            )));
        }
        if let Some(other) = self.entries().into_iter().find(|r| r.key == key) {
            return Err(SecretsError::Conflict(format!(
                "this key is already in {} as `{}`",
                self.path.display(),
                other.name
            )));
        }
        self.lines.push(Line::Entry(self.entries.len()));
        self.entries.push(Some(Recipient {
            name: name.to_string(),
            key,
        }));
        Ok(())
    }

    /// Removes the recipient with this name and returns it. Removing the last one is refused:
    /// nobody could read the files afterwards.
    pub fn remove(&mut self, name: &str) -> Result<Recipient, SecretsError> {
        let Some(slot) = self
            .entries
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.name == name))
        else {
            let names: Vec<&str> = self.entries().iter().map(|r| r.name.as_str()).collect();
            let hint = crate::source::closest(name, names.iter().copied())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_else(|| format!("; listed: {}", names.join(", ")));
            return Err(SecretsError::Conflict(format!(
                "no recipient named `{name}` in {}{hint}",
                self.path.display()
            )));
        };
        if self.entries().len() == 1 {
            return Err(SecretsError::Conflict(format!(
                "`{name}` is the only recipient in {}; add the new one first",
                self.path.display()
            )));
        }
        self.lines
            .retain(|l| !matches!(l, Line::Entry(i) if *i == slot));
        self.entries[slot].take().ok_or_else(|| {
            SecretsError::Conflict(format!("recipient `{name}` was already removed"))
        })
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            match line {
                Line::Text(t) => text.push_str(t),
                Line::Entry(i) => {
                    if let Some(Some(r)) = self.entries.get(*i) {
                        text.push_str(&format!("{}: {}", r.name, r.key));
                    }
                }
            }
            text.push('\n');
        }
        text
    }

    /// Writes the file atomically.
    pub fn save(&self) -> Result<(), SecretsError> {
        write_atomic(&self.path, self.to_text().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Identity;

    fn key() -> PublicKey {
        Identity::generate_x25519().1
    }

    #[test]
    fn parses_names_keys_and_comments_and_rewrites_them() {
        let (a, b) = (key(), key());
        let text = format!("# who\n山田 (operator): {a}\n\nbackup: {b}  \n");
        let list = Recipients::parse(SourceFile::new("r.txt", text.clone())).expect("valid");
        assert_eq!(list.entries().len(), 2);
        assert_eq!(list.entries()[0].name, "山田 (operator)");
        assert_eq!(list.keys(), vec![a.clone(), b.clone()]);
        let mut list = list;
        list.remove("backup").expect("remove");
        let c = key();
        list.add("鈴木", c.clone()).expect("add");
        assert_eq!(
            list.to_text(),
            format!("# who\n山田 (operator): {a}\n\n鈴木: {c}\n")
        );
    }

    #[test]
    fn bad_lines_point_at_the_key() {
        let text = "ok: age1bad\nno colon here\n";
        let errs = Recipients::parse(SourceFile::new("r.txt", text)).expect_err("invalid");
        let all: Vec<_> = errs.into_iter().collect();
        assert_eq!(all.len(), 2);
        let loc = all[0].location.as_ref().expect("place");
        assert_eq!((loc.line, loc.column), (1, 5));
        assert!(all[1].message.contains("name: key"));
    }

    #[test]
    fn duplicates_and_unknown_names_are_refused() {
        let a = key();
        let mut list = Recipients::new(Path::new("r.txt"));
        list.add("a", a.clone()).expect("add");
        assert!(list.add("a", key()).is_err());
        assert!(list.add("b", a).is_err());
        let err = list.remove("aa").expect_err("unknown").to_string();
        assert!(err.contains("did you mean `a`"), "{err}");
        assert!(list.remove("a").is_err(), "last recipient stays");
    }
}
