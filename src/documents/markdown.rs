//! A [`Document`] as Markdown: the title, the flags as a quote, then the summary and every
//! section under its heading, their blocks in order and apart: tables (a table without rows
//! is left out: its paragraphs say why), key/value pairs as two-column tables, paragraphs.
//! Print hints are for paper and play no part here.

use std::fmt::Write as _;

use super::model::{Block, Cell, Document, Section, Table};

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

fn table(out: &mut String, t: &Table) {
    let headings: Vec<String> = t.columns.iter().map(|c| cell(&c.heading)).collect();
    let _ = writeln!(out, "| {} |", headings.join(" | "));
    let rule: Vec<&str> = t.columns.iter().map(|_| "---").collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(&Cell::text(c))).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// A block as Markdown, or `None` when it shows nothing (a table without rows).
fn block(b: &Block) -> Option<String> {
    let mut out = String::new();
    match b {
        Block::Paragraph(p) => {
            let _ = writeln!(out, "{p}");
        }
        Block::KeyValues(pairs) => table(&mut out, &pairs.as_table()),
        Block::Table(t) if t.rows.is_empty() => return None,
        Block::Table(t) => table(&mut out, t),
    }
    Some(out)
}

/// A section's blocks, one empty line between them.
fn section(out: &mut String, s: &Section) {
    let shown: Vec<String> = s.blocks.iter().filter_map(block).collect();
    out.push_str(&shown.join("\n"));
}

/// The document as Markdown.
pub fn to_markdown(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", doc.title);
    for flag in &doc.flags {
        let _ = writeln!(out, "> **{}**\n", cell(flag));
    }
    let _ = writeln!(out, "## {}\n", doc.summary.title);
    section(&mut out, &doc.summary);
    for s in &doc.sections {
        let _ = writeln!(out, "\n## {}\n", s.title);
        section(&mut out, s);
    }
    out
}
