//! Unified diffs of file content for people: what is on the terminal against what the plan
//! wants, in the format of `diff -u` (`--- <path> (terminal)`, `+++ <path> (plan)`, hunks with
//! three lines of context). This is the only file naming the `similar` crate.
//!
//! The texts given here must already be redacted: a diff is shown and recorded, so no secret
//! value may reach it. [`mask_stale_secrets`] helps with the one case redaction cannot see: a
//! file that still holds a *previous* value of a secret the plan now places.

use std::time::Duration;

use similar::{Algorithm, TextDiff};

/// Files larger than this (on either side) get no diff: it would be too long to read and too
/// slow to compute for a dry run over many terminals.
pub const MAX_DIFF_BYTES: usize = 256 * 1024;

/// Past this, the diff algorithm settles for a correct but possibly longer diff.
const DIFF_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether `bytes` look like text a person can read in a diff: UTF-8 without NUL bytes, and
/// not over [`MAX_DIFF_BYTES`].
pub fn is_diffable(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_DIFF_BYTES && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// The unified diff turning `current` (the terminal's) into `desired` (the plan's), labelled
/// with `path`; empty when the texts are equal.
pub fn unified(path: &str, current: &str, desired: &str) -> String {
    if current == desired {
        return String::new();
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(current, desired);
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("{path} (terminal)"), &format!("{path} (plan)"))
        .to_string()
}

/// Masks, in `current`, what a line of `desired` holds in place of a secret placeholder, so
/// that an old secret value still in a file never shows in a diff.
///
/// `desired` is the plan's text, with placeholders (`[[secret:name]]`). For each of its lines
/// that has placeholders and some other visible text, every line of `current` that has that
/// same text around the placeholders gets the parts standing where the placeholders stand
/// replaced by `[[secret:name (other value)]]` (unless they already are the placeholder, which
/// is what redacting the current value gives). Lines whose only content is a placeholder cannot
/// be matched this way and are left alone.
pub fn mask_stale_secrets(current: &str, desired: &str) -> String {
    let patterns: Vec<LinePattern<'_>> = desired
        .lines()
        .filter_map(LinePattern::parse)
        .filter(|p| p.literals.iter().any(|l| !l.trim().is_empty()))
        .collect();
    if patterns.is_empty() {
        return current.to_string();
    }
    let mut out = String::with_capacity(current.len());
    for piece in current.split_inclusive('\n') {
        let (line, ending) = match piece.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (piece, ""),
        };
        let masked = patterns.iter().find_map(|p| p.mask(line));
        out.push_str(masked.as_deref().unwrap_or(line));
        out.push_str(ending);
    }
    out
}

/// A line of the plan's text split at its secret placeholders: `literals` has one more entry
/// than `names`, and the line is `literals[0] names[0] literals[1] ...`.
struct LinePattern<'a> {
    literals: Vec<&'a str>,
    names: Vec<&'a str>,
}

impl<'a> LinePattern<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let mut literals = Vec::new();
        let mut names = Vec::new();
        let mut rest = line;
        while let Some(start) = rest.find("[[secret:") {
            let after = &rest[start + "[[secret:".len()..];
            let Some(end) = after.find("]]") else {
                break;
            };
            literals.push(&rest[..start]);
            names.push(&after[..end]);
            rest = &after[end + 2..];
        }
        if names.is_empty() {
            return None;
        }
        literals.push(rest);
        Some(LinePattern { literals, names })
    }

    /// The masked line, if `line` has this pattern's literal text around some other values.
    fn mask(&self, line: &str) -> Option<String> {
        let first = self.literals[0];
        let last = self.literals[self.literals.len() - 1];
        let mut rest = line.strip_prefix(first)?;
        rest = rest.strip_suffix(last)?;
        // Match the middle literals left to right, shortest value first.
        let mut values = Vec::with_capacity(self.names.len());
        for literal in &self.literals[1..self.literals.len() - 1] {
            if literal.is_empty() {
                // Two placeholders side by side: the split between them is unknowable; give
                // the first one nothing and let the next take the rest.
                values.push("");
                continue;
            }
            let at = rest.find(literal)?;
            values.push(&rest[..at]);
            rest = &rest[at + literal.len()..];
        }
        values.push(rest);
        let mut out = String::with_capacity(line.len());
        let mut changed = false;
        for (i, (name, value)) in self.names.iter().zip(&values).enumerate() {
            out.push_str(self.literals[i]);
            let placeholder = crate::template::secret_placeholder(name);
            if value.is_empty() || *value == placeholder {
                out.push_str(value);
            } else {
                out.push_str(&format!("[[secret:{name} (other value)]]"));
                changed = true;
            }
        }
        out.push_str(last);
        changed.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diff_has_headers_hunks_and_context() {
        let current = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let desired = "a\nb\nc\nD\ne\nf\ng\nh\n";
        let diff = unified("/etc/x.conf", current, desired);
        assert_eq!(
            diff,
            "--- /etc/x.conf (terminal)\n+++ /etc/x.conf (plan)\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n"
        );
        assert_eq!(unified("/x", "same\n", "same\n"), "");
    }

    #[test]
    fn unified_diff_of_a_new_file_and_a_missing_newline() {
        let diff = unified("/x", "", "one\ntwo");
        assert!(diff.contains("@@ -0,0 +1,2 @@\n+one\n+two"), "{diff}");
        assert!(diff.contains("\\ No newline at end of file"), "{diff}");
    }

    #[test]
    fn diffable_means_small_utf8_text() {
        assert!(is_diffable(b"plain text\n"));
        assert!(is_diffable("日本語\n".as_bytes()));
        assert!(!is_diffable(b"bin\0ary"));
        assert!(!is_diffable(&[0xff, 0xfe, 0x41]));
        assert!(!is_diffable(&vec![b'a'; MAX_DIFF_BYTES + 1]));
    }

    #[test]
    fn stale_secret_values_are_masked_where_the_plan_has_a_placeholder() {
        let desired = "user = admin\npassword = [[secret:db]]\nurl = https://[[secret:u]]@[[secret:p]]/x\n[[secret:alone]]\n";
        let current = "user = admin\npassword = old-value\nurl = https://bob@pw/x\nkept as is\npassword = [[secret:db]]\n";
        let masked = mask_stale_secrets(current, desired);
        assert_eq!(
            masked,
            "user = admin\npassword = [[secret:db (other value)]]\nurl = https://[[secret:u (other value)]]@[[secret:p (other value)]]/x\nkept as is\npassword = [[secret:db]]\n"
        );
        // Nothing to mask without placeholders.
        assert_eq!(mask_stale_secrets("a = 1\n", "a = 2\n"), "a = 1\n");
    }
}
