//! Reading input files and pointing at places in them.
//!
//! This module owns everything that knows about files on disk and their text: [`SourceFile`] keeps
//! the text so that errors can quote the offending line, [`Location`] names a file, line and
//! column, and [`Diagnostic`] is the user-facing problem report (message, place, caret, `hint:`
//! lines). [`yaml`] is the only place in seibi that names a YAML crate; the rest of the program
//! walks YAML through [`yaml::Node`], which always knows where it came from.

pub mod yaml;
pub mod yaml11;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use yaml::{Node, YamlDocument};

/// A file read into memory, kept so diagnostics can show its lines.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
}

impl SourceFile {
    /// Wraps text that was read from (or stands for) `path`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            path: path.into(),
            text: text.into(),
        })
    }

    /// Reads a file; an I/O error becomes a diagnostic naming the file.
    pub fn read(path: &Path) -> Result<Arc<Self>, Diagnostic> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::new(path, text)),
            Err(err) => Err(Diagnostic::error(format!(
                "cannot read {}: {err}",
                path.display()
            ))),
        }
    }

    /// The path as given when the file was read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Line `n` (1-based), without its line ending.
    pub fn line(&self, n: usize) -> Option<&str> {
        self.text
            .lines()
            .nth(n.checked_sub(1)?)
            .map(|l| l.trim_end_matches('\r'))
    }
}

/// A place in a source file: 1-based line and column (columns count characters).
#[derive(Debug, Clone)]
pub struct Location {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Location {
    /// The file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path().display(), self.line, self.column)
    }
}

impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        self.path() == other.path() && self.line == other.line && self.column == other.column
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; does not fail `seibi check`.
    Warning,
    /// Makes the input unusable.
    Error,
}

/// A problem found in the input, ready to show to a person.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// Where, when known.
    pub location: Option<Location>,
    /// Extra lines saying what to do ("did you mean ...").
    pub hints: Vec<String>,
}

impl Diagnostic {
    /// An error with no place yet.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            hints: Vec::new(),
        }
    }

    /// A warning with no place yet.
    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message)
        }
    }

    /// Sets the place.
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Adds a "did you mean" hint when one of `candidates` is close to `wrong`.
    pub fn did_you_mean<'a>(
        self,
        wrong: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        match closest(wrong, candidates) {
            Some(best) => self.hint(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// Renders like a compiler: header, ` --> file:line:col`, the line with a caret, hints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        if let Some(loc) = &self.location {
            let gutter = loc.line.to_string().len();
            writeln!(f, "{:gutter$}--> {loc}", "")?;
            if let Some(text) = loc.file.line(loc.line) {
                let caret_start: usize = text
                    .chars()
                    .take(loc.column.saturating_sub(1))
                    .map(|c| if c == '\t' { 1 } else { display_width(c) })
                    .sum();
                let width = token_width(text, loc.column);
                writeln!(f, "{:gutter$} |", "")?;
                writeln!(f, "{} | {}", loc.line, text.replace('\t', " "))?;
                writeln!(
                    f,
                    "{:gutter$} | {:caret_start$}{}",
                    "",
                    "",
                    "^".repeat(width.max(1))
                )?;
            }
        }
        for hint in &self.hints {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Terminal columns a character takes: two for East Asian wide characters (ward names are
/// written in kanji), one otherwise. Good enough for carets; no full Unicode width tables.
pub(crate) fn display_width(c: char) -> usize {
    let cp = c as u32;
    let wide = matches!(cp,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF |
        0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// Width of the token starting at `column`: up to the next space, `:` or `,` (a YAML key or a
/// plain scalar), measured in display columns.
fn token_width(line: &str, column: usize) -> usize {
    line.chars()
        .skip(column.saturating_sub(1))
        .take_while(|c| !matches!(c, ' ' | ':' | ',' | ']' | '}' | '#'))
        .map(display_width)
        .sum()
}

/// The candidate closest to `wrong`, if any is close enough to be a likely typo.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&wrong_lower, &c.to_lowercase()), c))
        .filter(|(score, c)| *score >= 0.8 && *c != wrong)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Problems collected while loading, so that all of them can be reported at once.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Adds all of another collection.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Keeps the value of `result`, recording its error.
    pub fn take<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(diagnostic) => {
                self.push(diagnostic);
                None
            }
        }
    }

    /// Whether any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// All diagnostics, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorts by file and line so reports read top to bottom.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .as_ref()
                    .map(|l| (l.path().to_path_buf(), l.line, l.column))
            };
            key(a).cmp(&key(b))
        });
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Lists `*.yml` and `*.yaml` files directly inside `dir`, sorted by name so merges are
/// deterministic.
pub fn yaml_files_in(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|err| {
        Diagnostic::error(format!("cannot read directory {}: {err}", dir.display()))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_typos_only() {
        let words = ["tasks", "handlers", "targets"];
        assert_eq!(closest("taks", words), Some("tasks"));
        assert_eq!(closest("handler", words), Some("handlers"));
        assert_eq!(closest("zzz", words), None);
    }

    #[test]
    fn caret_is_under_the_token_even_after_kanji() {
        let file = SourceFile::new("x.yml", "name: 中央区 ooops: 1\n");
        let d = Diagnostic::error("bad").at(Some(Location {
            file,
            line: 1,
            column: 11,
        }));
        let text = d.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], "1 | name: 中央区 ooops: 1");
        // "name: " is 6 columns, 中央区 is 6 more, then a space: the caret starts at column 14.
        assert_eq!(lines[4], "  | ".to_string() + &" ".repeat(13) + "^^^^^");
    }
}
