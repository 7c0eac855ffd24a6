//! Sections of the 作業手順書 that come from the plan's schedule and from comparing terminals:
//! the crews (who is on each, from the roster), the timetable per crew and per site (date,
//! start, end, travel), the approved out-of-hours windows, and the steps grouped, so that
//! terminals with the same steps are listed once and only what differs between them is
//! written per terminal. Each section is its own function over the plan; Markdown and xlsx
//! print the same [`Section`]s.

use super::{Cell, Language, Section, Table, headings, tr};
use crate::plan::groups::{step_groups, terminal_ranges};
use crate::plan::{Plan, task_summary};
use crate::schedule::crew::{self, CrewPlan};

fn table_of(t: crew::Table) -> Table {
    Table {
        columns: t.headers,
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
pub fn crews(plan: &CrewPlan, lang: Language) -> Section {
    let mut table = Table::new(&headings(
        lang,
        &[
            ("班", "Crew"),
            ("従事者", "Members"),
            ("拠点数", "Sites"),
            ("端末数", "Terminals"),
        ],
    ));
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
    Section {
        id: "crews",
        title: tr(lang, "体制", "Crews"),
        table,
        notes: crew_notes(plan, lang),
    }
}

/// 日程(班別): per crew, site and day: date, start, end, terminals, travel.
pub fn schedule_by_crew(plan: &CrewPlan, lang: Language) -> Section {
    Section {
        id: "schedule_crews",
        title: tr(lang, "日程(班別)", "Timetable by crew"),
        table: table_of(crew::crew_table(plan, lang)),
        notes: vec![tr(
            lang,
            "移動は前の拠点(または本庁舎)からの移動時間です。時間外は承認済みの時間外作業枠での作業です。",
            "Travel is the journey from the previous site (or the base office). Out of hours is work in an approved out-of-hours window.",
        )],
    }
}

/// 日程(拠点別): per site: crew, start, finish, deadline, verdict.
pub fn schedule_by_site(plan: &CrewPlan, lang: Language) -> Section {
    Section {
        id: "schedule_sites",
        title: tr(lang, "日程(拠点別)", "Timetable by site"),
        table: table_of(crew::site_table(plan, lang)),
        notes: Vec::new(),
    }
}

/// 時間外作業枠: the approved out-of-hours windows (none: no section).
pub fn approved_windows(plan: &Plan, lang: Language) -> Option<Section> {
    let windows = plan.approved_windows();
    if windows.is_empty() {
        return None;
    }
    let mut table = Table::new(&headings(
        lang,
        &[
            ("拠点", "Site"),
            ("日付", "Date"),
            ("開始", "Start"),
            ("終了", "End"),
            ("承認", "Approval"),
        ],
    ));
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
    Some(Section {
        id: "approved_windows",
        title: tr(lang, "時間外作業枠", "Out-of-hours windows"),
        table,
        notes: vec![tr(
            lang,
            "市の事前承認を得た時間外作業枠です。本計画の承認に含まれ、適用時はこの枠内でも作業します。",
            "Out-of-hours windows the city approved beforehand; they are part of this plan's approval, and apply works in them.",
        )],
    })
}

/// 作業手順(まとめ) and 端末ごとの差異: each group's steps once, and the steps whose rendered
/// arguments differ between the group's terminals, per terminal.
pub fn grouped_steps(plan: &Plan, lang: Language) -> [Section; 2] {
    let mut steps = Table::new(&headings(
        lang,
        &[
            ("グループ", "Group"),
            ("対象端末", "Terminals"),
            ("No.", "#"),
            ("手順", "Step"),
            ("内容", "What it does"),
        ],
    ));
    let mut differences = Table::new(&headings(
        lang,
        &[
            ("グループ", "Group"),
            ("No.", "#"),
            ("手順", "Step"),
            ("端末", "Terminal"),
            ("内容", "What it does"),
        ],
    ));
    let groups = step_groups(plan);
    let mut notes = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let label = format!("G{}", g + 1);
        let ids: Vec<&str> = group.terminals.iter().map(|t| t.id.as_str()).collect();
        let first = group.terminals[0];
        let tasks: Vec<_> = first.tasks.iter().filter(|t| t.skip.is_none()).collect();
        notes.push(tr(
            lang,
            &format!(
                "{label}: {} ({}台): 同じ{}手順",
                terminal_ranges(&ids),
                ids.len(),
                tasks.len()
            ),
            &format!(
                "{label}: {} ({} terminals): the same {} steps",
                terminal_ranges(&ids),
                ids.len(),
                tasks.len()
            ),
        ));
        for (n, task) in tasks.iter().enumerate() {
            let summaries: Vec<String> = group
                .terminals
                .iter()
                .map(|t| {
                    t.tasks
                        .iter()
                        .find(|x| x.key == task.key)
                        .map(|x| task_summary(x, lang))
                        .unwrap_or_default()
                })
                .collect();
            let same = summaries.iter().all(|s| *s == summaries[0]);
            steps.push(vec![
                if n == 0 {
                    label.clone().into()
                } else {
                    Cell::Empty
                },
                if n == 0 {
                    format!("{} ({})", terminal_ranges(&ids), ids.len()).into()
                } else {
                    Cell::Empty
                },
                (n + 1).into(),
                Cell::from(&task.name),
                if same {
                    summaries[0].clone().into()
                } else {
                    tr(
                        lang,
                        "端末ごとに異なる(「端末ごとの差異」参照)",
                        "differs per terminal (see Differences)",
                    )
                    .into()
                },
            ]);
            if !same {
                for (terminal, summary) in group.terminals.iter().zip(&summaries) {
                    differences.push(vec![
                        label.clone().into(),
                        (n + 1).into(),
                        Cell::from(&task.name),
                        Cell::from(&terminal.id),
                        summary.clone().into(),
                    ]);
                }
            }
        }
    }
    let empty = differences.note_if_empty(
        lang,
        "グループ内で内容が異なる手順はありません。",
        "No step differs between the terminals of a group.",
    );
    [
        Section {
            id: "step_groups",
            title: tr(lang, "作業手順(まとめ)", "Steps by group"),
            table: steps,
            notes,
        },
        Section {
            id: "step_differences",
            title: tr(lang, "端末ごとの差異", "Differences"),
            table: differences,
            notes: empty,
        },
    ]
}
