//! 作業手順書 (work procedure): what a plan will do, for the people who approve it and the
//! operators who carry it out.
//!
//! Built from the plan alone (plus the roster for the operators and the plan's approvals file):
//! why each job is done (provenance), where (sites, terminals), the ordered steps, how long it
//! should take, how to undo each step, who may do it, the plan digest the approvals sign, and the
//! approvals so far.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::words::{jst, kind, rollback};
use super::{Cell, Document, Language, Section, Table, document, headings, procedure_sections, tr};
use crate::approval::ReviewedApproval;
use crate::plan::{Plan, PlannedSite, PlannedTask, task_summary};
use crate::roster::{Roster, japan_time_zone};

/// One step of a job, over every terminal it is planned on.
struct Step<'a> {
    /// A terminal's instance, for the description (the first one that runs it).
    task: &'a PlannedTask,
    runs_on: usize,
    skipped: usize,
    skip_reasons: BTreeSet<&'a str>,
}

/// The steps of `job` in the order they run: the order of the tasks on each terminal, which is
/// the same for every terminal of a job.
fn steps<'a>(plan: &'a Plan, job: &str) -> Vec<Step<'a>> {
    let mut out: Vec<Step<'a>> = Vec::new();
    for terminal in plan.sites.iter().flat_map(|s| &s.terminals) {
        for task in terminal.tasks.iter().filter(|t| t.job == job) {
            let i = match out.iter().position(|s| s.task.task == task.task) {
                Some(i) => i,
                None => {
                    out.push(Step {
                        task,
                        runs_on: 0,
                        skipped: 0,
                        skip_reasons: BTreeSet::new(),
                    });
                    out.len() - 1
                }
            };
            let step = &mut out[i];
            match &task.skip {
                Some(why) => {
                    step.skipped += 1;
                    step.skip_reasons.insert(why);
                }
                None => {
                    // Describe the step as it runs, not as it is skipped.
                    if step.runs_on == 0 {
                        step.task = task;
                    }
                    step.runs_on += 1;
                }
            }
        }
    }
    out
}

/// Minutes from the first terminal started to the last finished at a site that works on
/// `capacity` terminals at once: each terminal goes to the least busy slot, longest first.
fn site_minutes(site: &PlannedSite) -> u64 {
    let slots = usize::try_from(site.capacity.max(1)).unwrap_or(1);
    let mut minutes: Vec<u64> = site.terminals.iter().map(|t| t.estimated_minutes).collect();
    minutes.sort_unstable_by(|a, b| b.cmp(a));
    let mut busy = vec![0u64; slots.min(minutes.len().max(1))];
    for m in minutes {
        if let Some(least) = busy.iter_mut().min() {
            *least += m;
        }
    }
    busy.into_iter().max().unwrap_or(0)
}

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
    let mut doc = document(lang, tr(lang, "作業手順書", "Work procedure"));
    let t = &plan.totals;

    // Approval state.
    let problems: Vec<&ReviewedApproval> =
        approvals.iter().filter(|a| a.outcome.is_err()).collect();
    let mut approvers: Vec<(String, String)> = Vec::new();
    for info in approvals.iter().filter_map(|a| a.outcome.as_ref().ok()) {
        if !approvers.iter().any(|(id, _)| *id == info.approver) {
            approvers.push((
                info.approver.clone(),
                format!("{} {}", info.name, info.time_jst()),
            ));
        }
    }
    let names = approvers
        .iter()
        .map(|(_, n)| n.as_str())
        .collect::<Vec<_>>()
        .join("、");
    let required = required.max(1);
    let approval_state = if !problems.is_empty() {
        doc.flags.push(tr(
            lang,
            &format!(
                "承認記録に問題があります（{} 件）。このままでは適用できません。「承認」を参照してください。",
                problems.len()
            ),
            &format!(
                "{} approval line(s) fail their checks: the plan cannot be applied as it is (see Approvals).",
                problems.len()
            ),
        ));
        tr(lang, "承認記録に問題あり", "approvals fail their checks")
    } else if approvers.len() >= required {
        tr(
            lang,
            &format!("承認済み（{}/{required}）: {names}", approvers.len()),
            &format!("approved ({}/{required}): {names}", approvers.len()),
        )
    } else {
        tr(
            lang,
            &format!("未承認（{}/{required}）{names}", approvers.len()),
            &format!("not approved yet ({}/{required}) {names}", approvers.len()),
        )
    };

    let window = {
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
    };
    let longest = plan.sites.iter().map(site_minutes).max().unwrap_or(0);
    doc.summary = vec![
        (tr(lang, "文書", "Document"), doc.title.clone()),
        (
            tr(lang, "作成日時", "Generated"),
            format!("{} JST", jst(generated)),
        ),
        (
            tr(lang, "計画ダイジェスト", "Plan digest"),
            plan.digest.clone(),
        ),
        (tr(lang, "承認状況", "Approval"), approval_state),
        (
            tr(lang, "作業", "Jobs"),
            plan.jobs
                .iter()
                .map(|j| format!("{} {}", j.id, j.title))
                .collect::<Vec<_>>()
                .join("、"),
        ),
        (
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
        ),
        (
            tr(
                lang,
                "実施期間（最初の着手可能日 – 最も早い期限）",
                "Window (first start – earliest deadline)",
            ),
            window,
        ),
        (
            tr(lang, "予定作業量", "Estimated work"),
            tr(
                lang,
                &format!("{} 端末・分", t.estimated_minutes),
                &format!("{} terminal-minutes", t.estimated_minutes),
            ),
        ),
        (
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
        ),
        ("seibi".to_string(), plan.seibi_version.clone()),
    ];
    if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
        doc.summary.push((
            tr(lang, "日程と体制", "Timetable and crews"),
            format!(
                "{} {}",
                crate::schedule::crew::summary(crews, lang),
                crate::schedule::crew::verdict(crews, lang)
            ),
        ));
    }

    doc.sections.push(jobs_section(plan, lang));

    doc.sections.push(targets_section(plan, lang));

    if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
        doc.sections.push(procedure_sections::crews(crews, lang));
        doc.sections
            .push(procedure_sections::schedule_by_crew(crews, lang));
        doc.sections
            .push(procedure_sections::schedule_by_site(crews, lang));
    }
    doc.sections
        .extend(procedure_sections::approved_windows(plan, lang));

    doc.sections.push(terminals_section(plan, lang));

    doc.sections.extend(steps_sections(plan, lang));

    // Operators from the roster.
    let mut operators = Table::new(&headings(
        lang,
        &[
            ("ID", "Id"),
            ("氏名", "Name"),
            ("所属", "Organisation"),
            ("役割", "Role"),
            ("有効期間", "Valid"),
            ("状態", "Today"),
        ],
    ));
    let mut operator_notes = Vec::new();
    match roster {
        Some(roster) => {
            let today = generated.to_zoned(japan_time_zone().clone()).date();
            for p in roster.people().iter().filter(|p| p.role.is_operator()) {
                let state = if today < p.valid_from {
                    tr(lang, "開始前", "not yet valid")
                } else if today > p.valid_until {
                    tr(lang, "期間終了", "expired")
                } else {
                    tr(lang, "有効", "valid")
                };
                operators.push(vec![
                    Cell::from(&p.id),
                    Cell::from(&p.name),
                    Cell::from(&p.organisation),
                    p.role.to_string().into(),
                    format!("{} – {}", p.valid_from, p.valid_until).into(),
                    state.into(),
                ]);
            }
            operator_notes.push(tr(
                lang,
                "作業者は従事者名簿（roster.yml）の有効な作業者に限ります。作業記録は作業者の鍵で署名されます。",
                "Only operators valid on the roster (roster.yml) may apply; the journal is signed with their key.",
            ));
        }
        None => operator_notes.push(tr(
            lang,
            "従事者名簿（roster.yml）を読めないため、作業者を記載できません。",
            "The roster (roster.yml) could not be read: operators are not listed.",
        )),
    }
    doc.sections.push(Section {
        id: "operators",
        title: tr(lang, "作業者", "Operators"),
        table: operators,
        notes: operator_notes,
    });

    // Approvals.
    let mut approval_table = Table::new(&headings(
        lang,
        &[
            ("行", "Line"),
            ("承認者ID", "Approver"),
            ("氏名", "Name"),
            ("所属", "Organisation"),
            ("承認日時(JST)", "Approved (JST)"),
            ("鍵", "Key"),
            ("検証", "Check"),
        ],
    ));
    for a in approvals {
        let row = match (&a.outcome, &a.entry) {
            (Ok(info), _) => vec![
                a.line.into(),
                Cell::from(&info.approver),
                Cell::from(&info.name),
                Cell::from(&info.organisation),
                info.time_jst().into(),
                Cell::from(&info.key),
                tr(lang, "有効", "valid").into(),
            ],
            (Err(why), entry) => vec![
                a.line.into(),
                entry
                    .as_ref()
                    .map_or(Cell::Empty, |e| Cell::from(&e.approver)),
                entry.as_ref().map_or(Cell::Empty, |e| Cell::from(&e.name)),
                Cell::Empty,
                entry
                    .as_ref()
                    .map_or(Cell::Empty, |e| super::words::jst_text(&e.time).into()),
                entry.as_ref().map_or(Cell::Empty, |e| Cell::from(&e.key)),
                tr(lang, &format!("無効: {why}"), &format!("INVALID: {why}")).into(),
            ],
        };
        approval_table.push(row);
    }
    let approval_note = if approvals.is_empty() {
        tr(
            lang,
            &format!(
                "まだ承認されていません。承認者が `seibi approve 計画.json` で計画ダイジェストに署名します（必要な承認者数 {required}）。"
            ),
            &format!(
                "Not approved yet: approvers sign the plan digest with `seibi approve PLAN.json` ({required} required)."
            ),
        )
    } else {
        tr(
            lang,
            &format!(
                "承認は計画ダイジェスト {} への SSH 署名（名前空間 seibi-plan@seibi）です。必要な承認者数 {required}。",
                plan.digest
            ),
            &format!(
                "An approval is an SSH signature (namespace seibi-plan@seibi) over the plan digest {}; {required} required.",
                plan.digest
            ),
        )
    };
    doc.sections.push(Section {
        id: "approvals",
        title: tr(lang, "承認", "Approvals"),
        table: approval_table,
        notes: vec![approval_note],
    });

    doc.sections.push(inputs_section(plan, lang));

    if !plan.warnings.is_empty() {
        let mut warnings = Table::new(&headings(lang, &[("注意事項", "Warning")]));
        for w in &plan.warnings {
            warnings.push(vec![Cell::from(w)]);
        }
        doc.sections.push(Section {
            id: "warnings",
            title: tr(lang, "注意事項", "Warnings"),
            table: warnings,
            notes: Vec::new(),
        });
    }
    doc
}

/// 作業一覧: each job, why (provenance), when and how long.
fn jobs_section(plan: &Plan, lang: Language) -> Section {
    let mut jobs = Table::new(&headings(
        lang,
        &[
            ("作業ID", "Job"),
            ("件名", "Title"),
            ("種別", "Kind"),
            ("根拠", "Provenance"),
            ("根拠の日付", "Dated"),
            ("目的・備考", "Purpose / note"),
            ("緊急度", "Urgency"),
            ("着手可能日", "Not before"),
            ("期限", "Deadline"),
            ("他作業との同時実施", "Batchable"),
            ("端末数", "Terminals"),
            ("拠点", "Sites"),
            ("端末あたり(分)", "Min/terminal"),
            ("作業量(端末・分)", "Terminal-minutes"),
        ],
    ));
    for j in &plan.jobs {
        jobs.push(vec![
            Cell::from(&j.id),
            Cell::from(&j.title),
            kind(j.kind, lang).into(),
            format!(
                "{} {}",
                j.provenance.source.label(lang),
                j.provenance.reference
            )
            .into(),
            j.provenance
                .date
                .map_or(Cell::Empty, |d| d.to_string().into()),
            j.provenance.note.as_ref().map_or(Cell::Empty, Cell::from),
            j.urgency.label(lang).into(),
            j.earliest_start
                .map_or(Cell::Empty, |d| d.to_string().into()),
            j.deadline.map_or(Cell::Empty, |d| d.to_string().into()),
            if j.batchable {
                tr(lang, "可", "yes")
            } else {
                tr(lang, "不可", "no")
            }
            .into(),
            j.terminals.into(),
            j.sites.join(", ").into(),
            j.minutes_per_terminal.into(),
            (u64::from(j.minutes_per_terminal) * j.terminals as u64).into(),
        ]);
    }
    Section {
        id: "jobs",
        title: tr(lang, "作業一覧", "Jobs"),
        table: jobs,
        notes: Vec::new(),
    }
}

/// 拠点別対象: per site, its terminals, capacity and expected minutes.
fn targets_section(plan: &Plan, lang: Language) -> Section {
    let mut sites = Table::new(&headings(
        lang,
        &[
            ("拠点ID", "Site"),
            ("拠点名", "Name"),
            ("台数", "Terminals"),
            ("対象端末", "Terminal ids"),
            ("同時作業数", "At once"),
            ("作業量(端末・分)", "Terminal-minutes"),
            ("見込み所要時間(分)", "Expected minutes"),
            ("踏み台", "Jump host"),
        ],
    ));
    for s in &plan.sites {
        sites.push(vec![
            Cell::from(&s.id),
            Cell::from(&s.name),
            s.terminals.len().into(),
            s.terminals
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
            s.capacity.into(),
            s.estimated_minutes.into(),
            site_minutes(s).into(),
            s.jump.as_ref().map_or(Cell::Empty, Cell::from),
        ]);
    }
    Section {
        id: "targets",
        title: tr(lang, "拠点別対象", "Targets by site"),
        table: sites,
        notes: vec![tr(
            lang,
            "見込み所要時間は、同時作業数の範囲で端末を並行して作業した場合の目安です。",
            "Expected minutes assume the site's terminals are worked on in parallel up to its capacity.",
        )],
    }
}

/// 対象端末: each terminal, its site's name, login and jobs.
fn terminals_section(plan: &Plan, lang: Language) -> Section {
    let mut terminals = Table::new(&headings(
        lang,
        &[
            ("端末", "Terminal"),
            ("拠点", "Site"),
            ("アドレス", "Address"),
            ("ユーザー", "User"),
            ("OS", "Platform"),
            ("作業", "Jobs"),
            ("タスク数", "Tasks"),
            ("対象外", "Skipped"),
            ("予定(分)", "Minutes"),
        ],
    ));
    for s in &plan.sites {
        for term in &s.terminals {
            terminals.push(vec![
                Cell::from(&term.id),
                Cell::from(&s.name),
                format!("{}:{}", term.address, term.port).into(),
                Cell::from(format!("{}{}", term.user, term.become_note())),
                term.platform.to_string().into(),
                term.jobs.join(", ").into(),
                term.tasks.len().into(),
                term.tasks
                    .iter()
                    .filter(|x| x.skip.is_some())
                    .count()
                    .into(),
                term.estimated_minutes.into(),
            ]);
        }
    }
    Section {
        id: "terminals",
        title: tr(lang, "対象端末", "Terminals"),
        table: terminals,
        notes: Vec::new(),
    }
}

/// 固定された入力: the files and secrets the plan pins.
fn inputs_section(plan: &Plan, lang: Language) -> Section {
    let mut inputs = Table::new(&headings(
        lang,
        &[
            ("種別", "Kind"),
            ("名前", "Name"),
            ("SHA-256・版", "SHA-256 / version"),
        ],
    ));
    inputs.push(vec![
        tr(lang, "インベントリ", "inventory").into(),
        Cell::Empty,
        Cell::from(&plan.inputs.inventory_sha256),
    ]);
    for f in &plan.inputs.playbooks {
        inputs.push(vec![
            tr(lang, "プレイブック", "playbook").into(),
            Cell::from(&f.path),
            Cell::from(&f.sha256),
        ]);
    }
    for f in &plan.inputs.templates {
        inputs.push(vec![
            tr(lang, "テンプレート", "template").into(),
            Cell::from(&f.path),
            Cell::from(&f.sha256),
        ]);
    }
    for a in &plan.inputs.artifacts {
        inputs.push(vec![
            tr(lang, "媒体", "artifact").into(),
            format!("{} ({} {})", a.path, a.package, a.version).into(),
            Cell::from(&a.sha256),
        ]);
    }
    for s in &plan.inputs.secrets {
        inputs.push(vec![
            tr(
                lang,
                "シークレット（値は記載しない）",
                "secret (value never shown)",
            )
            .into(),
            Cell::from(&s.name),
            s.version.map_or(Cell::Empty, |v| format!("v{v}").into()),
        ]);
    }
    Section {
        id: "inputs",
        title: tr(lang, "固定された入力", "Pinned inputs"),
        table: inputs,
        notes: vec![tr(
            lang,
            "これらのいずれかが変わると計画ダイジェストが変わり、承認済みの計画は適用できなくなります。",
            "If any of these changes, the plan digest changes and an approved plan is refused.",
        )],
    }
}

/// 作業手順, 作業手順(まとめ), 端末ごとの差異 and 切り戻し: the ordered steps of each job, the steps grouped
/// by terminals that share them, and how to undo each step.
fn steps_sections(plan: &Plan, lang: Language) -> Vec<Section> {
    let mut out = Vec::new();
    let mut step_table = Table::new(&headings(
        lang,
        &[
            ("作業ID", "Job"),
            ("No.", "#"),
            ("手順", "Step"),
            ("操作", "Action"),
            ("内容", "What it does"),
            ("前提", "Needs"),
            ("実施端末数", "Runs on"),
            ("対象外", "Skipped on"),
        ],
    ));
    let mut rollback_table = Table::new(&headings(
        lang,
        &[
            ("作業ID", "Job"),
            ("No.", "#"),
            ("手順", "Step"),
            ("操作", "Action"),
            ("切り戻し方法", "How to undo"),
        ],
    ));
    for j in &plan.jobs {
        for (i, step) in steps(plan, &j.id).iter().enumerate() {
            let name = if step.task.handler {
                tr(
                    lang,
                    &format!("{}（通知時のみ）", step.task.name),
                    &format!("{} (handler, only when notified)", step.task.name),
                )
            } else {
                step.task.name.clone()
            };
            let skipped = if step.skipped == 0 {
                Cell::Empty
            } else {
                let reasons = step
                    .skip_reasons
                    .iter()
                    .copied()
                    .collect::<Vec<_>>()
                    .join("; ");
                tr(
                    lang,
                    &format!("{} 台（{reasons}）", step.skipped),
                    &format!("{} ({reasons})", step.skipped),
                )
                .into()
            };
            step_table.push(vec![
                Cell::from(&j.id),
                (i + 1).into(),
                Cell::from(&name),
                Cell::from(&step.task.action),
                task_summary(step.task, lang).into(),
                step.task.needs.join(", ").into(),
                step.runs_on.into(),
                skipped,
            ]);
            rollback_table.push(vec![
                Cell::from(&j.id),
                (i + 1).into(),
                Cell::from(&name),
                Cell::from(&step.task.action),
                rollback(step.task, lang).into(),
            ]);
        }
    }
    out.push(Section {
        id: "steps",
        title: tr(lang, "作業手順", "Procedure"),
        table: step_table,
        notes: vec![tr(
            lang,
            "各端末では上から順に実施します。端末ごとの値（ファイルの内容など）は計画（JSON）に記載されています。",
            "Each terminal runs the steps top to bottom; per-terminal values (file contents and so on) are in the JSON plan.",
        )],
    });
    out.extend(procedure_sections::grouped_steps(plan, lang));
    out.push(Section {
        id: "rollback",
        title: tr(lang, "切り戻し", "Rollback"),
        table: rollback_table,
        notes: vec![tr(
            lang,
            "<実行ID> は作業記録（logs/<実行ID>.jsonl）の実行IDです。",
            "<run> is the run id of the journal (logs/<run>.jsonl).",
        )],
    });
    out
}
