//! A [`Document`] as Markdown: the title, the flags as a quote, the summary and every section as
//! tables, notes as paragraphs.

use std::fmt::Write as _;

use super::{Cell, Document, Table};

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(
        out,
        "| {} |",
        t.columns
            .iter()
            .map(|c| cell(c))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        t.columns
            .iter()
            .map(|_| "---")
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter()
                .map(|c| cell(&Cell::text(c)))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
}

/// The document as Markdown.
pub fn to_markdown(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", doc.title);
    for flag in &doc.flags {
        let _ = writeln!(out, "> **{}**\n", cell(flag));
    }
    let _ = writeln!(out, "## {}\n", doc.summary_title);
    let summary = Table {
        columns: doc.summary_columns.to_vec(),
        rows: doc
            .summary
            .iter()
            .map(|(k, v)| vec![Cell::from(k), Cell::from(v)])
            .collect(),
    };
    table(&mut out, &summary);
    for section in &doc.sections {
        let _ = writeln!(out, "\n## {}\n", section.title);
        let has_table = !section.table.rows.is_empty();
        if has_table {
            table(&mut out, &section.table);
        }
        for (i, note) in section.notes.iter().enumerate() {
            if has_table || i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{note}");
        }
    }
    out
}
