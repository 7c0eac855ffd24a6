//! The document model every report is built in, and the only thing the writers read.
//!
//! A [`Document`] is a title, flags that no reader may miss, a summary and [`Section`]s. A
//! section is a heading, [`Block`]s in order (a paragraph, a key/value table or a [`Table`]
//! whose [`Column`]s are typed: text, number, date, duration) and [`PrintHints`] for paper
//! (sheet name, repeated header rows, fit to width, landscape). The builders in the sibling
//! modules make blocks from data and nothing else: no I/O and no Markdown or Excel; the
//! writers ([`super::to_markdown`], [`super::to_xlsx`]) render the same sections each in
//! their own way.

use super::{Language, tr};

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

    /// The text of a text cell.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Text, or [`Cell::Empty`] for none.
    pub fn optional(text: Option<&String>) -> Cell {
        text.map_or(Cell::Empty, Cell::from)
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

/// What a column holds, for the writers: how to align it and whether its text may wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text; wraps in a workbook.
    Text,
    /// Counts.
    Number,
    /// A day or a time of day (`2026-10-05`, `2026-10-05 10:00:03`); never wraps.
    Date,
    /// Minutes or seconds, as the heading says.
    Duration,
}

/// A column: its heading in the document's language and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The heading.
    pub heading: String,
    /// What it holds.
    pub kind: ColumnKind,
}

/// A column to be: its heading in both languages and its kind. Made by [`text`], [`number`],
/// [`date`] and [`duration`]; [`Table::new`] picks the language.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    ja: &'static str,
    en: &'static str,
    kind: ColumnKind,
}

/// A text column headed `ja` or `en`.
pub const fn text(ja: &'static str, en: &'static str) -> ColumnSpec {
    ColumnSpec {
        ja,
        en,
        kind: ColumnKind::Text,
    }
}

/// A column of counts.
pub const fn number(ja: &'static str, en: &'static str) -> ColumnSpec {
    ColumnSpec {
        ja,
        en,
        kind: ColumnKind::Number,
    }
}

/// A column of days or times.
pub const fn date(ja: &'static str, en: &'static str) -> ColumnSpec {
    ColumnSpec {
        ja,
        en,
        kind: ColumnKind::Date,
    }
}

/// A column of minutes or seconds.
pub const fn duration(ja: &'static str, en: &'static str) -> ColumnSpec {
    ColumnSpec {
        ja,
        en,
        kind: ColumnKind::Duration,
    }
}

/// A table: typed columns and rows of cells (each row as long as the columns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// The columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

/// The table a section without one answers [`Section::table`] with.
static NO_TABLE: Table = Table {
    columns: Vec::new(),
    rows: Vec::new(),
};

impl Table {
    /// An empty table with these columns, headed in `lang`.
    pub fn new(lang: Language, columns: &[ColumnSpec]) -> Self {
        Self {
            columns: columns
                .iter()
                .map(|c| Column {
                    heading: tr(lang, c.ja, c.en),
                    kind: c.kind,
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// An empty table of columns made elsewhere.
    pub fn with_columns(columns: Vec<Column>) -> Self {
        Self {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// The headings, in order.
    pub fn headings(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.heading.as_str()).collect()
    }

    /// The index of the column headed `heading`.
    pub fn column(&self, heading: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.heading == heading)
    }

    /// The kind of column `c` (text past the last column).
    pub fn kind(&self, c: usize) -> ColumnKind {
        self.columns.get(c).map_or(ColumnKind::Text, |c| c.kind)
    }
}

/// Label/value pairs under two headings (`項目`, `内容`): the summary, a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValues {
    /// The two headings.
    pub headings: [String; 2],
    /// The pairs, in order.
    pub pairs: Vec<(String, Cell)>,
}

impl KeyValues {
    /// No pairs yet, under `項目` / `内容` in `lang`.
    pub fn new(lang: Language) -> Self {
        Self {
            headings: [tr(lang, "項目", "Item"), tr(lang, "内容", "Details")],
            pairs: Vec::new(),
        }
    }

    /// Adds a pair.
    pub fn push(&mut self, label: String, value: impl Into<Cell>) {
        self.pairs.push((label, value.into()));
    }

    /// The value labelled `label`, as text.
    pub fn value(&self, label: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.text())
    }

    /// The pairs as a two-column table (the way both writers show them).
    pub fn as_table(&self) -> Table {
        let [label, value] = &self.headings;
        let column = |heading: &String| Column {
            heading: heading.clone(),
            kind: ColumnKind::Text,
        };
        Table {
            columns: vec![column(label), column(value)],
            rows: self
                .pairs
                .iter()
                .map(|(k, v)| vec![Cell::from(k), v.clone()])
                .collect(),
        }
    }
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph of text.
    Paragraph(String),
    /// Label/value pairs.
    KeyValues(KeyValues),
    /// A table.
    Table(Table),
}

/// How a section goes on paper (the workbook's page setup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintHints {
    /// The sheet's name; `None`: the section's title.
    pub sheet_name: Option<String>,
    /// Whether the first table's header row repeats on every page (and stays frozen on
    /// screen, with a filter).
    pub repeat_header: bool,
    /// Whether the sheet prints one page wide (as many pages down as it needs).
    pub fit_to_width: bool,
    /// Whether pages print landscape.
    pub landscape: bool,
}

impl Default for PrintHints {
    /// Landscape A4, one page wide, the header repeated: what every table of the city's
    /// documents needs to be readable at 8 pt or larger.
    fn default() -> Self {
        Self {
            sheet_name: None,
            repeat_header: true,
            fit_to_width: true,
            landscape: true,
        }
    }
}

/// A section of a document: a heading and blocks. One sheet in a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Stable identifier, the same in every language (`jobs`, `steps`, `failures`, ...).
    pub id: &'static str,
    /// Heading (and sheet name) in the document's language.
    pub title: String,
    /// The blocks, in order.
    pub blocks: Vec<Block>,
    /// How it prints.
    pub print: PrintHints,
}

impl Section {
    /// An empty section.
    pub fn new(id: &'static str, title: String) -> Self {
        Self {
            id,
            title,
            blocks: Vec::new(),
            print: PrintHints::default(),
        }
    }

    /// The usual shape: a table and the paragraphs under it.
    pub fn of_table(id: &'static str, title: String, table: Table, notes: Vec<String>) -> Self {
        let mut section = Self::new(id, title);
        section.blocks.push(Block::Table(table));
        section
            .blocks
            .extend(notes.into_iter().map(Block::Paragraph));
        section
    }

    /// Adds "nothing to report" (`ja` or `en`) when its table has no rows.
    pub fn when_empty(mut self, lang: Language, ja: &str, en: &str) -> Self {
        if self.table().rows.is_empty() {
            self.blocks.push(Block::Paragraph(tr(lang, ja, en)));
        }
        self
    }

    /// The section's first table (an empty one when it has none).
    pub fn table(&self) -> &Table {
        self.blocks
            .iter()
            .find_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .unwrap_or(&NO_TABLE)
    }

    /// The section's first table, to change.
    pub fn table_mut(&mut self) -> Option<&mut Table> {
        self.blocks.iter_mut().find_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
    }

    /// The section's paragraphs, in order.
    pub fn paragraphs(&self) -> Vec<&str> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Paragraph(p) => Some(p.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The section's first key/value block.
    pub fn key_values(&self) -> Option<&KeyValues> {
        self.blocks.iter().find_map(|b| match b {
            Block::KeyValues(k) => Some(k),
            _ => None,
        })
    }
}

/// A line chart of a section's table: one series per row, named by the text of two columns,
/// over a run of numeric columns whose headings are the categories (months).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// The id of the section whose (first) table it draws.
    pub section: &'static str,
    /// Its title.
    pub title: String,
    /// The columns that name a series (joined with a space).
    pub name_columns: (usize, usize),
    /// The first and last value columns.
    pub values: (usize, usize),
}

/// A document ready to be written as Markdown or a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Title (`作業手順書`).
    pub title: String,
    /// Things no reader may miss: unapproved work, a journal that does not verify.
    pub flags: Vec<String>,
    /// The summary (`概要`): one key/value block, shown first, under the title and flags.
    pub summary: Section,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// Charts drawn from sections' tables (in the workbook only; Markdown shows the tables).
    pub charts: Vec<Chart>,
    /// The language it is written in.
    pub lang: Language,
}

impl Document {
    /// A document with an empty summary, in `lang`.
    pub fn new(lang: Language, title: String) -> Self {
        let mut summary = Section::new("summary", tr(lang, "概要", "Summary"));
        summary.blocks.push(Block::KeyValues(KeyValues::new(lang)));
        summary.print.repeat_header = false;
        Self {
            title,
            flags: Vec::new(),
            summary,
            sections: Vec::new(),
            charts: Vec::new(),
            lang,
        }
    }

    /// The section with identifier `id`.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The summary's pairs.
    pub fn summary_pairs(&self) -> &[(String, Cell)] {
        self.summary
            .key_values()
            .map_or(&[], |k| k.pairs.as_slice())
    }

    /// Adds a pair to the summary.
    pub fn summarise(&mut self, label: String, value: impl Into<Cell>) {
        for block in &mut self.summary.blocks {
            if let Block::KeyValues(pairs) = block {
                pairs.push(label, value);
                return;
            }
        }
        let mut pairs = KeyValues::new(self.lang);
        pairs.push(label, value);
        self.summary.blocks.push(Block::KeyValues(pairs));
    }

    /// The value of the summary entry labelled `label` (every summary value is text).
    pub fn summary_value(&self, label: &str) -> Option<&str> {
        self.summary_pairs()
            .iter()
            .find(|(l, _)| l == label)
            .and_then(|(_, v)| v.as_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_answers_its_table_paragraphs_and_pairs() {
        let mut table = Table::new(Language::En, &[text("名前", "Name"), number("数", "Count")]);
        table.push(vec!["a".into(), 3usize.into()]);
        let section = Section::of_table("x", "X".into(), table, vec!["note".into()]);
        assert_eq!(section.table().headings(), ["Name", "Count"]);
        assert_eq!(section.table().kind(1), ColumnKind::Number);
        assert_eq!(section.table().kind(7), ColumnKind::Text);
        assert_eq!(section.paragraphs(), ["note"]);
        assert!(section.key_values().is_none());
        let empty = Section::new("y", "Y".into());
        assert!(empty.table().rows.is_empty() && empty.table().columns.is_empty());

        let mut doc = Document::new(Language::Ja, "文書".into());
        doc.summarise("件数".into(), 2usize);
        doc.summarise("状態".into(), "完了");
        assert_eq!(doc.summary.title, "概要");
        assert_eq!(doc.summary_value("件数"), None, "a number, not text");
        assert_eq!(doc.summary_value("状態"), Some("完了"));
        assert_eq!(doc.summary_value("なし"), None);
        let kv = doc.summary.key_values().expect("pairs");
        assert_eq!(kv.as_table().headings(), ["項目", "内容"]);
    }
}
