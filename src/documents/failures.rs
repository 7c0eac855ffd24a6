//! Failed steps and what was done about them (障害と対応): one table for the result report (the
//! steps of one run) and the monthly report (the steps of the month's runs, with a column naming
//! the run). A failure is put right by a later successful result of the same task on the same
//! terminal, in the same run after a resume or in a later run.

use super::journals::{Journal, recovery};
use super::model::{Cell, Table, date, text};
use super::words::{jst_text, step_error, step_result};
use super::{Language, tr};
use crate::journal::Step;

/// The failures table being filled.
pub(crate) struct Failures<'a> {
    /// The table.
    pub table: Table,
    /// Every journal searched for a recovery (the failed run's own included).
    journals: &'a [Journal],
    /// Whether the first column names the run.
    with_run: bool,
    lang: Language,
}

impl<'a> Failures<'a> {
    /// An empty table; `with_run` adds the run column first (for several runs).
    pub fn new(journals: &'a [Journal], with_run: bool, lang: Language) -> Self {
        let mut table = Table::new(lang, &[date("日時(JST)", "Time (JST)")]);
        if with_run {
            table
                .columns
                .extend(Table::new(lang, &[text("実行ID", "Run")]).columns);
        }
        table.columns.extend(
            Table::new(
                lang,
                &[
                    text("端末", "Terminal"),
                    text("作業ID", "Job"),
                    text("タスク", "Task"),
                    text("結果", "Result"),
                    text("エラー", "Error"),
                    text("対応", "Follow-up"),
                    date("対応日時(JST)", "Resolved (JST)"),
                ],
            )
            .columns,
        );
        Self {
            table,
            journals,
            with_run,
            lang,
        }
    }

    /// Adds the failed `step` of `run` on `terminal` with its follow-up; whether it was put
    /// right.
    pub fn push(&mut self, run: &str, terminal: &str, step: &Step) -> bool {
        let (what, when) = follow_up(self.journals, run, terminal, step, self.lang);
        let resolved = !matches!(when, Cell::Empty);
        let mut row = vec![jst_text(&step.time).into()];
        if self.with_run {
            row.push(run.into());
        }
        row.extend([
            terminal.into(),
            Cell::from(&step.job),
            Cell::from(&step.task),
            step_result(step, self.lang),
            step_error(step),
            what.into(),
            when,
        ]);
        self.table.push(row);
        resolved
    }
}

/// What was done about a failed step, and when (empty: nothing yet).
fn follow_up(
    all: &[Journal],
    run: &str,
    terminal: &str,
    step: &Step,
    lang: Language,
) -> (String, Cell) {
    match recovery(all, run, terminal, step) {
        Some(r) if r.same_run => (
            tr(
                lang,
                "同じ実行を再開して成功",
                "succeeded when the run was resumed",
            ),
            jst_text(&r.time).into(),
        ),
        Some(r) => (
            tr(
                lang,
                &format!("再実行（実行ID {}）で成功", r.run),
                &format!("succeeded in a later run ({})", r.run),
            ),
            jst_text(&r.time).into(),
        ),
        None => (
            tr(lang, "未対応（要対応）", "not resolved yet"),
            Cell::Empty,
        ),
    }
}
