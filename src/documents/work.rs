//! Work that was not done on a machine (問い合わせ対応, 調査, 打合せ), as the monthly report
//! lists it beside the runs: every `work_log` entry of the journals whose day falls in the
//! month, with who signed it and whether its journal verifies.

use super::journals::{Journal, Verifications};
use super::model::{Cell, Section, Table, date, duration, text};
use super::monthly::Month;
use super::words::person;
use super::{Language, tr};
use crate::journal::{Record, WorkLog};
use crate::roster::Roster;

/// The work entries of `month`, in day order, with the operator who signed each.
pub(crate) fn entries(all: &[Journal], month: Month) -> Vec<(&Journal, &str, &WorkLog)> {
    let prefix = month.to_string();
    let prefix = prefix.as_str();
    let mut out: Vec<(&Journal, &str, &WorkLog)> = all
        .iter()
        .flat_map(|j| {
            j.lines.iter().filter_map(move |l| match &l.record {
                Record::WorkLog(w) if w.date.starts_with(prefix) => {
                    Some((j, l.operator.as_str(), w))
                }
                _ => None,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.2.date, a.0.run_id()).cmp(&(&b.2.date, b.0.run_id())));
    out
}

/// The section of `entries` (as [`entries`] gives them): day, kind, minutes, who, where, what,
/// and the journal's verification.
pub(crate) fn section(
    entries: &[(&Journal, &str, &WorkLog)],
    verified: &Verifications,
    roster: &Roster,
    lang: Language,
) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日付", "Date"),
            text("種別", "Kind"),
            duration("時間(分)", "Minutes"),
            text("作業者", "Operator"),
            text("対象", "Concerning"),
            text("内容", "Summary"),
            text("実行ID", "Run"),
            text("記録の検証", "Verification"),
        ],
    );
    for &(journal, operator, w) in entries {
        let concerning = match (&w.site, &w.terminal) {
            (_, Some(t)) => Cell::from(t),
            (Some(s), None) => Cell::from(s),
            (None, None) => Cell::Empty,
        };
        table.push(vec![
            Cell::from(&w.date),
            w.work.label(lang).into(),
            w.minutes.into(),
            person(roster, operator).into(),
            concerning,
            Cell::from(&w.summary),
            journal.run_id().into(),
            verified.status(journal, lang).into(),
        ]);
    }
    Section::of_table(
        "work",
        tr(lang, "端末作業以外の業務", "Work not on a machine"),
        table,
        Vec::new(),
    )
    .when_empty(
        lang,
        "当月の記録はありません（`seibi log work` で記録します）。",
        "None recorded this month (`seibi log work` records them).",
    )
}
