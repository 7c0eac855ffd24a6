//! The schedule of the 作業手順書: the crews (体制: who is on each, from the roster), the
//! timetable per crew and per site (date, start, end, travel) and the approved out-of-hours
//! windows.

use crate::documents::model::{Cell, Column, ColumnKind, Section, Table, date, number, text};
use crate::documents::{Language, tr};
use crate::plan::Plan;
use crate::schedule::crew::{self, CrewPlan};

/// The crew plan's own table (all text).
fn table_of(t: crew::Table) -> Table {
    Table {
        columns: t
            .headers
            .into_iter()
            .map(|heading| Column {
                heading,
                kind: ColumnKind::Text,
            })
            .collect(),
        rows: t
            .rows
            .into_iter()
            .map(|r| r.into_iter().map(Cell::from).collect())
            .collect(),
    }
}

/// The crew plan's verdict, misses, hints and notes, in `lang`.
fn crew_notes(plan: &CrewPlan, lang: Language) -> Vec<String> {
    let mut notes = vec![crew::summary(plan, lang), crew::verdict(plan, lang)];
    notes.extend(plan.misses.iter().map(|m| crew::miss_text(m, lang)));
    notes.extend(plan.hints.iter().map(|h| {
        format!(
            "{} {}",
            tr(lang, "ヒント:", "hint:"),
            crew::hint_text(h, lang)
        )
    }));
    notes.extend(plan.notes.iter().map(|n| {
        format!(
            "{} {}",
            tr(lang, "注記:", "note:"),
            crew::note_text(n, lang)
        )
    }));
    notes
}

/// 体制: each crew and who is on it.
pub(super) fn crews(plan: &CrewPlan, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("班", "Crew"),
            text("従事者", "Members"),
            number("拠点数", "Sites"),
            number("端末数", "Terminals"),
        ],
    );
    for timetable in &plan.crews {
        let members = if timetable.crew.members.is_empty() {
            tr(lang, "(未指名)", "(not named)")
        } else {
            timetable
                .crew
                .members
                .iter()
                .map(|m| format!("{} ({})", m.name, m.id))
                .collect::<Vec<_>>()
                .join("、")
        };
        table.push(vec![
            Cell::from(&timetable.crew.id),
            members.into(),
            timetable.stints.len().into(),
            timetable
                .stints
                .iter()
                .map(|s| s.terminals)
                .sum::<usize>()
                .into(),
        ]);
    }
    Section::of_table(
        "crews",
        tr(lang, "体制", "Crews"),
        table,
        crew_notes(plan, lang),
    )
}

/// 日程(班別): per crew, site and day: date, start, end, terminals, travel.
pub(super) fn by_crew(plan: &CrewPlan, lang: Language) -> Section {
    Section::of_table(
        "schedule_crews",
        tr(lang, "日程(班別)", "Timetable by crew"),
        table_of(crew::crew_table(plan, lang)),
        vec![tr(
            lang,
            "移動は前の拠点(または本庁舎)からの移動時間です。時間外は承認済みの時間外作業枠での作業です。",
            "Travel is the journey from the previous site (or the base office). Out of hours is work in an approved out-of-hours window.",
        )],
    )
}

/// 日程(拠点別): per site: crew, start, finish, deadline, verdict.
pub(super) fn by_site(plan: &CrewPlan, lang: Language) -> Section {
    Section::of_table(
        "schedule_sites",
        tr(lang, "日程(拠点別)", "Timetable by site"),
        table_of(crew::site_table(plan, lang)),
        Vec::new(),
    )
}

/// 時間外作業枠: the approved out-of-hours windows (none: no section).
pub(super) fn approved_windows(plan: &Plan, lang: Language) -> Option<Section> {
    let windows = plan.approved_windows();
    if windows.is_empty() {
        return None;
    }
    let mut table = Table::new(
        lang,
        &[
            text("拠点", "Site"),
            date("日付", "Date"),
            date("開始", "Start"),
            date("終了", "End"),
            text("承認", "Approval"),
        ],
    );
    for w in windows {
        let name = plan
            .sites
            .iter()
            .find(|s| s.id == w.site)
            .map_or(w.site.clone(), |s| s.name.clone());
        table.push(vec![
            name.into(),
            w.window.date.to_string().into(),
            w.window.start.strftime("%H:%M").to_string().into(),
            w.window.end.strftime("%H:%M").to_string().into(),
            w.window.approval.as_ref().map_or(Cell::Empty, Cell::from),
        ]);
    }
    Some(Section::of_table(
        "approved_windows",
        tr(lang, "時間外作業枠", "Out-of-hours windows"),
        table,
        vec![tr(
            lang,
            "市の事前承認を得た時間外作業枠です。本計画の承認に含まれ、適用時はこの枠内でも作業します。",
            "Out-of-hours windows the city approved beforehand; they are part of this plan's approval, and apply works in them.",
        )],
    ))
}
