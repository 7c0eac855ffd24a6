//! The sections of the 月次報告書, each from the month's journals: 実行一覧 (the runs),
//! 作業別実績 and 端末別実績 (per job and terminal), パスワード変更, 障害と回復, 点検結果 and
//! 前月比.

use std::collections::{BTreeMap, BTreeSet};

use super::stats::{Stats, rotations};
use crate::documents::counts::Counts;
use crate::documents::failures::Failures;
use crate::documents::journals::{Journal, Verifications, is_failure};
use crate::documents::model::{Cell, Section, Table, date, number, text};
use crate::documents::words::{jst, jst_text, people, person, step_error, step_result};
use crate::documents::{Language, tr};
use crate::journal::{NO_PLAN, Record, Status};
use crate::roster::Roster;

/// Who approved a run, or why it needed no approval; the reason when it was applied without.
fn approval(j: &Journal, roster: &Roster, lang: Language) -> (String, Option<String>) {
    // A journal of a password reveal or a work entry applies no plan: nothing to approve.
    let no_plan = j
        .run
        .start
        .as_ref()
        .is_some_and(|(_, s)| s.plan_digest == NO_PLAN);
    let work_only = no_plan
        && j.lines
            .iter()
            .any(|l| matches!(l.record, Record::WorkLog(_)));
    match j.unapproved_reason() {
        _ if work_only => (
            tr(lang, "不要（業務の記録）", "not needed (a work entry)"),
            None,
        ),
        _ if no_plan => (
            tr(
                lang,
                "不要（パスワード開示の記録）",
                "not needed (a password reveal)",
            ),
            None,
        ),
        Some(reason) => (
            tr(
                lang,
                &format!("未承認（理由: {reason}）"),
                &format!("UNAPPROVED ({reason})"),
            ),
            Some(reason.to_string()),
        ),
        None => {
            let approvers: Vec<String> = j
                .approvals()
                .map(|(_, a)| person(roster, &a.approver))
                .collect();
            let said = if approvers.is_empty() {
                tr(lang, "承認の記録なし", "no approval recorded")
            } else {
                approvers.join(", ")
            };
            (said, None)
        }
    }
}

/// 実行一覧: each run of the month, with its approval and verification; and the flags for
/// runs applied without approval.
pub(super) fn runs(
    here: &[&Journal],
    verified: &Verifications,
    roster: &Roster,
    lang: Language,
) -> (Section, Vec<String>) {
    let mut table = Table::new(
        lang,
        &[
            text("実行ID", "Run"),
            date("開始(JST)", "Started (JST)"),
            date("終了(JST)", "Ended (JST)"),
            text("作業者", "Operators"),
            text("計画ダイジェスト", "Plan digest"),
            text("結果", "Results"),
            text("承認", "Approval"),
            text("記録の検証", "Verification"),
        ],
    );
    let mut flags = Vec::new();
    for j in here {
        let mut counts = Counts::default();
        for (_, s) in j.steps() {
            counts.add(s.result.as_ref().map(|r| r.status));
        }
        let (approval, unapproved) = approval(j, roster, lang);
        if let Some(reason) = unapproved {
            flags.push(tr(
                lang,
                &format!(
                    "実行 {} は事前承認なしで実施されました（理由: {reason}）",
                    j.run_id()
                ),
                &format!(
                    "UNAPPROVED: run {} was applied without prior approval (reason: {reason})",
                    j.run_id()
                ),
            ));
        }
        table.push(vec![
            j.run_id().into(),
            j.start().map_or(Cell::Empty, |t| jst(t).into()),
            j.run.end.as_ref().map_or_else(
                || tr(lang, "未終了", "not finished").into(),
                |(t, _)| jst_text(t).into(),
            ),
            people(roster, &j.run.operators).into(),
            j.run
                .start
                .as_ref()
                .map_or(Cell::Empty, |(_, s)| Cell::from(&s.plan_digest)),
            counts.describe(lang).into(),
            approval.into(),
            verified.status(j, lang).into(),
        ]);
    }
    let section = Section::of_table("runs", tr(lang, "実行一覧", "Runs"), table, Vec::new())
        .when_empty(lang, "当月の実行はありません。", "No runs this month.");
    (section, flags)
}

#[derive(Default)]
struct JobRow {
    runs: BTreeSet<String>,
    terminals: BTreeSet<String>,
    counts: Counts,
}

#[derive(Default)]
struct TerminalRow {
    runs: BTreeSet<String>,
    jobs: BTreeSet<String>,
    counts: Counts,
    last: String,
}

/// 作業別実績 and 端末別実績: per job and per terminal, the runs and the results.
pub(super) fn jobs_and_terminals(
    here: &[&Journal],
    job_titles: &BTreeMap<String, String>,
    lang: Language,
) -> (Section, Section) {
    let mut by_job: BTreeMap<String, JobRow> = BTreeMap::new();
    let mut by_terminal: BTreeMap<String, TerminalRow> = BTreeMap::new();
    for j in here {
        let id = j.run_id();
        for (terminal, s) in j.steps() {
            let st = s.result.as_ref().map(|r| r.status);
            let job = by_job.entry(s.job.clone()).or_default();
            job.runs.insert(id.clone());
            job.terminals.insert(terminal.to_string());
            job.counts.add(st);
            if st == Some(Status::Skipped) {
                continue;
            }
            let t = by_terminal.entry(terminal.to_string()).or_default();
            t.runs.insert(id.clone());
            t.jobs.insert(s.job.clone());
            t.counts.add(st);
            let time = s.result.as_ref().map_or(&s.time, |r| &r.time);
            if *time > t.last {
                t.last = time.clone();
            }
        }
    }
    let mut jobs = Table::new(
        lang,
        &[
            text("作業ID", "Job"),
            text("件名", "Title"),
            number("実行数", "Runs"),
            number("端末数", "Terminals"),
            number("変更", "Changed"),
            number("正常（変更なし）", "Ok"),
            number("失敗", "Failed"),
            number("接続不可", "Unreachable"),
            number("対象外", "Skipped"),
        ],
    );
    for (id, row) in &by_job {
        jobs.push(vec![
            Cell::from(id),
            Cell::optional(job_titles.get(id)),
            row.runs.len().into(),
            row.terminals.len().into(),
            row.counts.changed.into(),
            row.counts.ok.into(),
            row.counts.failed.into(),
            row.counts.unreachable.into(),
            row.counts.skipped.into(),
        ]);
    }
    let mut terminals = Table::new(
        lang,
        &[
            text("端末", "Terminal"),
            number("実行数", "Runs"),
            text("作業", "Jobs"),
            number("変更", "Changed"),
            number("失敗", "Failed"),
            number("接続不可", "Unreachable"),
            date("最終作業(JST)", "Last work (JST)"),
        ],
    );
    for (id, row) in &by_terminal {
        terminals.push(vec![
            Cell::from(id),
            row.runs.len().into(),
            row.jobs
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
            row.counts.changed.into(),
            row.counts.failed.into(),
            row.counts.unreachable.into(),
            jst_text(&row.last).into(),
        ]);
    }
    (
        Section::of_table("jobs", tr(lang, "作業別実績", "Jobs"), jobs, Vec::new()).when_empty(
            lang,
            "ありません。",
            "None.",
        ),
        Section::of_table(
            "terminals",
            tr(lang, "端末別実績", "Terminals"),
            terminals,
            Vec::new(),
        )
        .when_empty(lang, "ありません。", "None."),
    )
}

/// 障害と回復: every failed step of the month's runs and what was done about it (in any run of
/// `all`, in any month).
pub(super) fn failures(here: &[&Journal], all: &[Journal], lang: Language) -> Section {
    let mut failures = Failures::new(all, true, lang);
    for j in here {
        let id = j.run_id();
        for (terminal, s) in j.steps().into_iter().filter(|(_, s)| is_failure(s)) {
            failures.push(&id, terminal, s);
        }
    }
    Section::of_table(
        "failures",
        tr(lang, "障害と回復", "Failures and recoveries"),
        failures.table,
        Vec::new(),
    )
    .when_empty(lang, "当月の失敗はありません。", "No failures this month.")
}

/// 点検結果: the month's inspect steps, with the files each collected when `collected` (per
/// terminal and run) is known.
pub(super) fn inspections(
    here: &[&Journal],
    collected: Option<&BTreeMap<(String, String), usize>>,
    lang: Language,
) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("端末", "Terminal"),
            text("作業ID", "Job"),
            text("タスク", "Task"),
            text("結果", "Result"),
            text("所見", "Findings"),
            text("エラー", "Error"),
            number("収集ファイル数", "Files collected"),
        ],
    );
    for j in here {
        let id = j.run_id();
        for (terminal, s) in j.steps() {
            if s.action.as_deref() != Some("inspect") {
                continue;
            }
            let files = collected.map_or(Cell::Empty, |c| {
                c.get(&(terminal.to_string(), id.clone()))
                    .copied()
                    .unwrap_or(0)
                    .into()
            });
            table.push(vec![
                jst_text(&s.time).into(),
                terminal.into(),
                Cell::from(&s.job),
                Cell::from(&s.task),
                step_result(s, lang),
                Cell::optional(s.change.as_ref()),
                step_error(s),
                files,
            ]);
        }
    }
    Section::of_table(
        "inspections",
        tr(lang, "点検結果", "Inspections"),
        table,
        Vec::new(),
    )
    .when_empty(
        lang,
        "当月の点検の記録はありません。",
        "No inspections this month.",
    )
}

/// パスワード変更: every rotation of the month's runs.
pub(super) fn rotations_section(here: &[&Journal], roster: &Roster, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("実行ID", "Run"),
            text("端末", "Terminal"),
            text("アカウント", "Account"),
            text("保存先シークレット", "Secret"),
            text("作業者", "Operators"),
            text("理由", "Reason"),
        ],
    );
    for j in here {
        let operators = people(roster, &j.run.operators);
        for r in rotations(j) {
            table.push(vec![
                jst_text(&r.time).into(),
                j.run_id().into(),
                r.terminal.into(),
                r.account.into(),
                if r.secret.is_empty() {
                    Cell::Empty
                } else {
                    r.secret.into()
                },
                Cell::from(&operators),
                r.reason.map_or(Cell::Empty, Cell::from),
            ]);
        }
    }
    Section::of_table(
        "rotations",
        tr(lang, "パスワード変更", "Password rotations"),
        table,
        Vec::new(),
    )
    .when_empty(
        lang,
        "当月のパスワード変更はありません。",
        "No password rotations this month.",
    )
}

/// 前月比: the month's numbers against the month before.
pub(super) fn trend(
    now: &Stats,
    before: &Stats,
    previous: super::Month,
    lang: Language,
) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("指標", "Measure"),
            number("当月", "This month"),
            number("前月", "Previous month"),
            text("増減", "Change"),
        ],
    );
    let changed = |s: &Stats| usize::try_from(s.changed).unwrap_or(usize::MAX);
    let rows: [(&str, &str, usize, usize); 8] = [
        ("実行数", "Runs", now.runs, before.runs),
        ("作業の種類", "Jobs", now.jobs.len(), before.jobs.len()),
        (
            "作業した端末",
            "Terminals worked on",
            now.terminals.len(),
            before.terminals.len(),
        ),
        (
            "変更したタスク",
            "Tasks that changed something",
            changed(now),
            changed(before),
        ),
        ("失敗", "Failures", now.failures, before.failures),
        (
            "うち回復",
            "of which recovered",
            now.recovered,
            before.recovered,
        ),
        (
            "パスワード変更",
            "Password rotations",
            now.rotations,
            before.rotations,
        ),
        (
            "未承認の実行",
            "Unapproved runs",
            now.unapproved,
            before.unapproved,
        ),
    ];
    for (ja, en, a, b) in rows {
        let delta = i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX);
        table.push(vec![
            tr(lang, ja, en).into(),
            a.into(),
            b.into(),
            format!("{delta:+}").into(),
        ]);
    }
    let note = tr(
        lang,
        &format!("前月（{previous}）との比較です。"),
        &format!("Compared with {previous}."),
    );
    Section::of_table(
        "trend",
        tr(lang, "前月比", "Against the previous month"),
        table,
        vec![note],
    )
}
