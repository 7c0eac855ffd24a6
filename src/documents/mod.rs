//! The documents the city reads: 作業手順書 (work procedure, from a plan), 作業報告書 (result
//! report, from a run's journal or all the runs of a plan), 進捗報告書 (progress report: how far a
//! plan has got across its runs, [`PlanProgress`]), 月次報告書 (monthly report, from a month of
//! journals, with the work not done on a machine and, from inspection facts, disk trends and
//! version drift) and セキュリティ保全状況報告書 (security status report, from the roster and a
//! month of journals).
//!
//! This module owns the layout of those documents. Each builder ([`procedure()`], [`result()`],
//! [`monthly()`], [`security()`], [`PlanProgress::report`]) reads what it needs, then calls one
//! function per section that turns data (plan, approvals, journals, roster) into blocks of the
//! [`model`]: a [`Document`] with a title, flags that must not be missed (unapproved work, a
//! journal that does not verify), a summary of label/value pairs and [`Section`]s of
//! paragraphs, key/value tables and tables with typed columns, with print hints (and charts
//! drawn from tables, in the workbook). Section functions do no formatting of an output
//! format: the writers turn the same [`Document`] into Markdown ([`to_markdown`]) or an Excel
//! workbook ([`to_xlsx`], one sheet for the summary and one per section, in [`xlsx`], the only
//! file naming `rust_xlsxwriter`). Shared pieces have their own files: `words` for
//! statuses, people and times, the failures-and-follow-up table of the result and monthly
//! reports, and the result counts.
//! Japanese is the default language of the command line; English is there for vendors.
//! Times are shown in Japan time.

mod counts;
mod failures;
mod journals;
mod markdown;
pub mod model;
mod monthly;
mod procedure;
mod progress;
mod result;
mod security;
pub mod trends;
mod words;
mod work;
pub mod xlsx;

pub use crate::language::Language;
pub use markdown::to_markdown;
pub use model::{
    Block, Cell, Chart, Column, ColumnKind, Document, KeyValues, PrintHints, Section, Table,
};
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

/// Picks the Japanese or the English text.
pub(crate) fn tr(lang: Language, ja: &str, en: &str) -> String {
    match lang {
        Language::Ja => ja.to_string(),
        Language::En => en.to_string(),
    }
}
