//! 作業手順書 (work procedure): what a plan will do, for the people who approve it and the
//! operators who carry it out.
//!
//! Built from the plan alone (plus the roster for the operators and the plan's approvals file):
//! why each job is done (provenance), where (sites, terminals), the timetable and crews when the
//! plan has them, the ordered steps (also grouped by terminals that share them), how long it
//! should take, how to undo each step, who may do it, the plan digest the approvals sign, and the
//! approvals so far. [`procedure()`] puts the document together; each section is one function
//! over the plan, in the submodule of what it shows: [`work`] (jobs, sites, terminals, pinned
//! inputs, warnings), [`schedule`] (crews, timetables, out-of-hours windows), [`steps`] (steps,
//! grouped steps, differences, rollback) and [`people`] (operators, approvals).

mod people;
mod schedule;
mod steps;
mod work;

use jiff::Timestamp;

use super::words::jst;
use super::{Document, Language, tr};
use crate::approval::ReviewedApproval;
use crate::plan::Plan;
use crate::roster::Roster;

/// The 作業手順書 of `plan`. `approvals` is what [`crate::approval::review`] found in the plan's
/// approvals file, `required` the approvals the roster requires, `generated` the time the
/// document is made (operators are shown as valid or not on that day).
pub fn procedure(
    plan: &Plan,
    roster: Option<&Roster>,
    approvals: &[ReviewedApproval],
    required: usize,
    lang: Language,
    generated: Timestamp,
) -> Document {
    let mut doc = Document::new(lang, tr(lang, "作業手順書", "Work procedure"));
    let required = required.max(1);
    let approval = people::approval_state(approvals, required, lang);
    doc.flags.extend(approval.flag);
    summary(&mut doc, plan, approval.state, generated);

    doc.sections.push(work::jobs(plan, lang));
    doc.sections.push(work::targets(plan, lang));
    if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
        doc.sections.push(schedule::crews(crews, lang));
        doc.sections.push(schedule::by_crew(crews, lang));
        doc.sections.push(schedule::by_site(crews, lang));
    }
    doc.sections.extend(schedule::approved_windows(plan, lang));
    doc.sections.push(work::terminals(plan, lang));
    doc.sections.push(steps::steps(plan, lang));
    doc.sections.extend(steps::grouped(plan, lang));
    doc.sections.push(steps::rollback(plan, lang));
    doc.sections
        .push(people::operators(roster, generated, lang));
    doc.sections
        .push(people::approvals(plan, approvals, required, lang));
    doc.sections.push(work::inputs(plan, lang));
    doc.sections.extend(work::warnings(plan, lang));
    doc
}

/// 概要: the digest, the approval state, the scope, the window and the expected work.
fn summary(doc: &mut Document, plan: &Plan, approval: String, generated: Timestamp) {
    let lang = doc.lang;
    let t = &plan.totals;
    let longest = plan.sites.iter().map(work::site_minutes).max().unwrap_or(0);
    doc.summarise(tr(lang, "文書", "Document"), doc.title.clone());
    doc.summarise(
        tr(lang, "作成日時", "Generated"),
        format!("{} JST", jst(generated)),
    );
    doc.summarise(
        tr(lang, "計画ダイジェスト", "Plan digest"),
        plan.digest.clone(),
    );
    doc.summarise(tr(lang, "承認状況", "Approval"), approval);
    doc.summarise(
        tr(lang, "作業", "Jobs"),
        plan.jobs
            .iter()
            .map(|j| format!("{} {}", j.id, j.title))
            .collect::<Vec<_>>()
            .join("、"),
    );
    doc.summarise(
        tr(lang, "対象", "Scope"),
        tr(
            lang,
            &format!(
                "{} 拠点、{} 端末、{} タスク（うち対象外 {}）",
                t.sites, t.terminals, t.tasks, t.skipped
            ),
            &format!(
                "{} sites, {} terminals, {} tasks ({} skipped)",
                t.sites, t.terminals, t.tasks, t.skipped
            ),
        ),
    );
    doc.summarise(
        tr(
            lang,
            "実施期間（最初の着手可能日 – 最も早い期限）",
            "Window (first start – earliest deadline)",
        ),
        window(plan, lang),
    );
    doc.summarise(
        tr(lang, "予定作業量", "Estimated work"),
        tr(
            lang,
            &format!("{} 端末・分", t.estimated_minutes),
            &format!("{} terminal-minutes", t.estimated_minutes),
        ),
    );
    doc.summarise(
        tr(lang, "見込み所要時間", "Expected duration"),
        tr(
            lang,
            &format!(
                "最も長い拠点で約 {longest} 分（拠点ごとの見込みは「拠点別対象」、日程は seibi plan --start）"
            ),
            &format!(
                "about {longest} minutes at the longest site (per site in Targets; dates from `seibi plan --start`)"
            ),
        ),
    );
    doc.summarise("seibi".to_string(), plan.seibi_version.clone());
    if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
        doc.summarise(
            tr(lang, "日程と体制", "Timetable and crews"),
            format!(
                "{} {}",
                crate::schedule::crew::summary(crews, lang),
                crate::schedule::crew::verdict(crews, lang)
            ),
        );
    }
}

/// The first day any job may start and the earliest deadline.
fn window(plan: &Plan, lang: Language) -> String {
    let start = plan.jobs.iter().filter_map(|j| j.earliest_start).min();
    let end = plan.jobs.iter().filter_map(|j| j.deadline).min();
    match (start, end) {
        (None, None) => tr(lang, "指定なし", "any time"),
        (s, e) => format!(
            "{} – {}",
            s.map_or_else(|| "-".to_string(), |d| d.to_string()),
            e.map_or_else(|| "-".to_string(), |d| d.to_string())
        ),
    }
}
