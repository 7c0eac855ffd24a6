//! The documents the city reads: 作業手順書 (work procedure, from a plan), 作業報告書 (result
//! report, from a run's journal or all the runs of a plan), 進捗報告書 (progress report: how far a
//! plan has got across its runs, [`PlanProgress`]), 月次報告書 (monthly report, from a month of
//! journals, with the work not done on a machine and, from inspection facts, disk trends and
//! version drift) and セキュリティ保全状況報告書 (security status report, from the roster and a
//! month of journals).
//!
//! This module owns the layout of those documents. Each builder ([`procedure()`], [`result()`],
//! [`monthly()`], [`security()`]) is a plain function from data (plan, approvals, journals,
//! roster) to a [`Document`]: a title, a summary of label/value pairs, flags that must not be
//! missed (unapproved work, a journal that does not verify) and sections, each one table (and
//! charts drawn from them, in the workbook). Writers turn a
//! [`Document`] into Markdown ([`to_markdown`]) or an Excel workbook ([`to_xlsx`], one sheet for
//! the summary and one per section, in [`xlsx`], the only file naming `rust_xlsxwriter`).
//! Japanese is the default language of the command line; English is there for vendors.
//! Times are shown in Japan time.

mod journals;
mod markdown;
mod monthly;
mod procedure;
mod procedure_sections;
mod progress;
mod result;
mod security;
pub mod trends;
mod words;
mod work;
pub mod xlsx;

pub use crate::language::Language;
pub use markdown::to_markdown;
pub use monthly::{Month, monthly};
pub use procedure::procedure;
pub use progress::{
    PlanProgress, RunInfo, SiteProgress, StateCounts, TerminalProgress, UnitProgress, UnitState,
    plan_journals,
};
pub use result::{result, result_of_runs};
pub use security::security;
pub use xlsx::{XlsxError, to_xlsx};

/// A document that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// A journal or the logs directory cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number (written as a number in workbooks).
    Number(i64),
    /// Nothing.
    Empty,
}

impl Cell {
    /// The cell as text (numbers in decimal, empty as "").
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Self {
        Cell::Text(s.clone())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Number(n)
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Self {
        Cell::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Self {
        Cell::Number(i64::from(n))
    }
}

/// A table: column headings and rows of cells (each row as long as the headings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A "nothing to report" note when the table has no rows, else no note.
    pub fn note_if_empty(&self, lang: Language, ja: &str, en: &str) -> Vec<String> {
        if self.rows.is_empty() {
            vec![tr(lang, ja, en)]
        } else {
            Vec::new()
        }
    }

    /// An empty table with these headings.
    pub fn new(columns: &[String]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// The index of the column headed `heading`.
    pub fn column(&self, heading: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == heading)
    }
}

/// A section of a document: one table, with notes under it. One sheet in a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Stable identifier, the same in every language (`jobs`, `steps`, `failures`, ...).
    pub id: &'static str,
    /// Heading (and sheet name) in the document's language.
    pub title: String,
    /// The table.
    pub table: Table,
    /// Paragraphs shown after the table (explanations, "nothing to report").
    pub notes: Vec<String>,
}

/// A document ready to be written as Markdown or a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Title (`作業手順書`).
    pub title: String,
    /// Label of the summary section (`概要`).
    pub summary_title: String,
    /// Column headings of the summary (`項目`, `内容`).
    pub summary_columns: [String; 2],
    /// Label/value pairs shown first.
    pub summary: Vec<(String, String)>,
    /// Things no reader may miss: unapproved work, a journal that does not verify.
    pub flags: Vec<String>,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// Charts drawn from sections' tables (in the workbook only; Markdown shows the tables).
    pub charts: Vec<Chart>,
}

/// A line chart of a section's table: one series per row, named by the text of two columns,
/// over a run of numeric columns whose headings are the categories (months).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// The id of the section whose table it draws.
    pub section: &'static str,
    /// Its title.
    pub title: String,
    /// The columns that name a series (joined with a space).
    pub name_columns: (usize, usize),
    /// The first and last value columns.
    pub values: (usize, usize),
}

impl Document {
    /// The section with identifier `id`.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The value of the summary entry labelled `label`.
    pub fn summary_value(&self, label: &str) -> Option<&str> {
        self.summary
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }
}

/// Picks the Japanese or the English text.
pub(crate) fn tr(lang: Language, ja: &str, en: &str) -> String {
    match lang {
        Language::Ja => ja.to_string(),
        Language::En => en.to_string(),
    }
}

/// Headings from `(ja, en)` pairs.
pub(crate) fn headings(lang: Language, pairs: &[(&str, &str)]) -> Vec<String> {
    pairs.iter().map(|(ja, en)| tr(lang, ja, en)).collect()
}

/// A document skeleton with the summary labels in `lang`.
pub(crate) fn document(lang: Language, title: String) -> Document {
    Document {
        title,
        summary_title: tr(lang, "概要", "Summary"),
        summary_columns: [tr(lang, "項目", "Item"), tr(lang, "内容", "Details")],
        summary: Vec::new(),
        flags: Vec::new(),
        sections: Vec::new(),
        charts: Vec::new(),
    }
}
