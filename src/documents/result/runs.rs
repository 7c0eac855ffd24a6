//! The 作業報告書 of several runs (those of one plan, or the journals given), made of each run's
//! report: every table gains a first column naming the run, summary entries that differ between
//! runs list each run's value, and flags name their run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::documents::model::{Cell, Column, ColumnKind, Document, Section, Table};
use crate::documents::{DocumentError, Language, tr};
use crate::roster::Roster;

/// The 作業報告書 of several runs: each run's report as [`super::result()`] makes it, in one
/// document. One run gives exactly [`super::result()`]'s document.
pub fn result_of_runs(
    journal_paths: &[PathBuf],
    logs: &Path,
    roster: &Roster,
    job_titles: &BTreeMap<String, String>,
    lang: Language,
) -> Result<Document, DocumentError> {
    let mut docs = Vec::new();
    for path in journal_paths {
        let doc = super::result(path, logs, roster, job_titles, lang)?;
        let run = doc
            .summary_value(&tr(lang, "実行ID", "Run"))
            .unwrap_or_default()
            .to_string();
        docs.push((run, doc));
    }
    if docs.len() == 1 {
        return Ok(docs.remove(0).1);
    }
    let mut out = Document::new(lang, tr(lang, "作業報告書", "Work result report"));
    let Some((_, first)) = docs.first() else {
        return Ok(out);
    };
    summary(&mut out, &docs);
    for (run, doc) in &docs {
        out.flags
            .extend(doc.flags.iter().map(|f| format!("{run}: {f}")));
    }
    for (index, section) in first.sections.iter().enumerate() {
        out.sections
            .push(joined_section(section, index, &docs, lang));
    }
    Ok(out)
}

/// The summary of several runs: the runs' ids, and each entry once when the runs agree, else
/// per run.
fn summary(out: &mut Document, docs: &[(String, Document)]) {
    let run_heading = tr(out.lang, "実行ID", "Run");
    let Some((_, first)) = docs.first() else {
        return;
    };
    for (i, (label, _)) in first.summary_pairs().iter().enumerate() {
        let values: Vec<(&str, String)> = docs
            .iter()
            .filter_map(|(run, d)| {
                d.summary_pairs()
                    .get(i)
                    .map(|(_, v)| (run.as_str(), v.text()))
            })
            .collect();
        let value = if *label == run_heading {
            values
                .iter()
                .map(|(run, _)| *run)
                .collect::<Vec<_>>()
                .join(", ")
        } else if values.iter().all(|(_, v)| *v == values[0].1) {
            values[0].1.clone()
        } else {
            values
                .iter()
                .map(|(run, v)| format!("{run}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.summarise(label.clone(), value);
    }
}

/// A section's rows: its table, or its key/value pairs as one.
fn rows_of(section: &Section) -> Table {
    match section.key_values() {
        Some(pairs) if section.table().columns.is_empty() => pairs.as_table(),
        _ => section.table().clone(),
    }
}

/// Section `index` of every run's report as one table with the run first. Explanations stay
/// only where the table is empty, and for the verification.
fn joined_section(
    section: &Section,
    index: usize,
    docs: &[(String, Document)],
    lang: Language,
) -> Section {
    let mut columns = vec![Column {
        heading: tr(lang, "実行ID", "Run"),
        kind: ColumnKind::Text,
    }];
    columns.extend(rows_of(section).columns);
    let mut table = Table::with_columns(columns);
    for (run, doc) in docs {
        let Some(theirs) = doc.sections.get(index) else {
            continue;
        };
        for row in rows_of(theirs).rows {
            let mut cells = vec![Cell::from(run)];
            cells.extend(row);
            table.push(cells);
        }
    }
    let notes = if table.rows.is_empty() || section.id == "verification" {
        section
            .paragraphs()
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let mut joined = Section::of_table(section.id, section.title.clone(), table, notes);
    joined.print = section.print.clone();
    joined
}
