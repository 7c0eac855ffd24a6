//! 月次報告書 (monthly report): every run of a month, from the journals in `logs/`.
//!
//! A run belongs to the month its `run_start` falls in (Japan time). The report lists the runs
//! (with approval and verification), the jobs done, the terminals touched, password rotations,
//! failures and whether they were put right (by a later run, in any month), inspection results
//! (the inspect steps and, when the collect directory is given, how many files each collected),
//! and the month against the one before.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use jiff::Timestamp;

use super::journals::{self, Journal, is_failure};
use super::result::{Counts, follow_up, person};
use super::words::{jst, jst_text, status, verification_status};
use super::{Cell, Document, DocumentError, Language, Section, Table, document, headings, tr};
use crate::journal::{Status, verify};
use crate::roster::{Roster, japan_time_zone};

/// A calendar month (`2026-10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    /// Year.
    pub year: i16,
    /// Month, 1 to 12.
    pub month: i8,
}

impl Month {
    /// The month before.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Whether `at` falls in this month, Japan time.
    pub fn contains(self, at: Timestamp) -> bool {
        let d = at.to_zoned(japan_time_zone().clone()).date();
        d.year() == self.year && d.month() == self.month
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a month: write it as YYYY-MM, e.g. 2026-10");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

/// The numbers compared month to month.
#[derive(Default)]
struct Stats {
    runs: usize,
    jobs: BTreeSet<String>,
    terminals: BTreeSet<String>,
    changed: u64,
    failures: usize,
    recovered: usize,
    rotations: usize,
    unapproved: usize,
}

/// Rotations of a run: its rotation records, and changed `password` steps that have none.
fn rotations(j: &Journal) -> Vec<(String, String, String, String, Option<String>)> {
    let mut out: Vec<(String, String, String, String, Option<String>)> = j
        .rotations()
        .map(|(line, r)| {
            (
                line.time.clone(),
                r.terminal.clone(),
                r.account.clone(),
                r.secret.clone(),
                r.reason.clone(),
            )
        })
        .collect();
    for (terminal, s) in j.steps() {
        let changed = s
            .result
            .as_ref()
            .is_some_and(|r| r.status == Status::Changed);
        if s.action.as_deref() == Some("password")
            && changed
            && !out.iter().any(|r| r.1 == terminal)
        {
            let time = s.result.as_ref().map_or(s.time.clone(), |r| r.time.clone());
            out.push((
                time,
                terminal.to_string(),
                s.change.clone().unwrap_or_default(),
                String::new(),
                Some(format!("{}/{}", s.job, s.task)),
            ));
        }
    }
    out
}

fn stats(month: &[&Journal], all: &[Journal]) -> Stats {
    let mut st = Stats {
        runs: month.len(),
        ..Stats::default()
    };
    for j in month {
        let id = j.run_id();
        if j.unapproved_reason().is_some() {
            st.unapproved += 1;
        }
        st.rotations += rotations(j).len();
        for (terminal, s) in j.steps() {
            st.jobs.insert(s.job.clone());
            // Worked on: something ran there (unreachable and skipped terminals were not).
            if s.result
                .as_ref()
                .is_some_and(|r| matches!(r.status, Status::Ok | Status::Changed | Status::Failed))
            {
                st.terminals.insert(terminal.to_string());
            }
            if s.result
                .as_ref()
                .is_some_and(|r| r.status == Status::Changed)
            {
                st.changed += 1;
            }
            if is_failure(s) {
                st.failures += 1;
                if journals::recovery(all, &id, terminal, s).is_some() {
                    st.recovered += 1;
                }
            }
        }
    }
    st
}

/// Files under `dir`, recursively.
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { count_files(&p) } else { 1 }
        })
        .sum()
}

/// The 月次報告書 of `month` from the journals in `logs`. `collected` is where fetched logs and
/// inspection facts are stored (`<collected>/<terminal>/<run>/`), if known; `generated` is the
/// time the report is made.
pub fn monthly(
    logs: &Path,
    month: Month,
    roster: &Roster,
    job_titles: &BTreeMap<String, String>,
    collected: Option<&Path>,
    lang: Language,
    generated: Timestamp,
) -> Result<Document, DocumentError> {
    let all = journals::read_dir(logs).map_err(|source| DocumentError::Read {
        path: logs.to_path_buf(),
        source,
    })?;
    let in_month = |m: Month| -> Vec<&Journal> {
        all.iter()
            .filter(|j| j.start().is_some_and(|t| m.contains(t)))
            .collect()
    };
    let runs_here = in_month(month);
    let now = stats(&runs_here, &all);
    let before = stats(&in_month(month.previous()), &all);
    let title = |job: &str| job_titles.get(job).map_or(Cell::Empty, Cell::from);

    let mut doc = document(
        lang,
        tr(
            lang,
            &format!("月次報告書（{}年{}月）", month.year, month.month),
            &format!("Monthly report {month}"),
        ),
    );

    // Runs.
    let mut runs = Table::new(&headings(
        lang,
        &[
            ("実行ID", "Run"),
            ("開始(JST)", "Started (JST)"),
            ("終了(JST)", "Ended (JST)"),
            ("作業者", "Operators"),
            ("計画ダイジェスト", "Plan digest"),
            ("結果", "Results"),
            ("承認", "Approval"),
            ("記録の検証", "Verification"),
        ],
    ));
    let mut bad_journals = 0;
    for j in &runs_here {
        let report = verify(&j.path, roster);
        if !report.is_ok() {
            bad_journals += 1;
        }
        let mut counts = Counts::default();
        for (_, s) in j.steps() {
            counts.add(s.result.as_ref().map(|r| r.status));
        }
        // A journal of a password reveal applies no plan, so there is nothing to approve.
        let reveal_only = j
            .run
            .start
            .as_ref()
            .is_some_and(|(_, s)| s.plan_digest == crate::journal::NO_PLAN);
        let work_only = reveal_only
            && j.lines
                .iter()
                .any(|l| matches!(l.record, crate::journal::Record::WorkLog(_)));
        let approval = match j.unapproved_reason() {
            _ if work_only => tr(lang, "不要（業務の記録）", "not needed (a work entry)"),
            _ if reveal_only => tr(
                lang,
                "不要（パスワード開示の記録）",
                "not needed (a password reveal)",
            ),
            Some(reason) => {
                doc.flags.push(tr(
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
                tr(
                    lang,
                    &format!("未承認（理由: {reason}）"),
                    &format!("UNAPPROVED ({reason})"),
                )
            }
            None => {
                let approvers: Vec<String> = j
                    .approvals()
                    .map(|(_, a)| person(roster, &a.approver))
                    .collect();
                if approvers.is_empty() {
                    tr(lang, "承認の記録なし", "no approval recorded")
                } else {
                    approvers.join(", ")
                }
            }
        };
        runs.push(vec![
            j.run_id().into(),
            j.start().map_or(Cell::Empty, |t| jst(t).into()),
            j.run.end.as_ref().map_or_else(
                || tr(lang, "未終了", "not finished").into(),
                |(t, _)| jst_text(t).into(),
            ),
            j.run
                .operators
                .iter()
                .map(|o| person(roster, o))
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
            j.run
                .start
                .as_ref()
                .map_or(Cell::Empty, |(_, s)| Cell::from(&s.plan_digest)),
            counts.describe(lang).into(),
            approval.into(),
            verification_status(&report, lang).into(),
        ]);
    }
    if bad_journals > 0 {
        doc.flags.push(tr(
            lang,
            &format!(
                "検証で問題が見つかった作業記録が {bad_journals} 件あります（「実行一覧」を参照）。"
            ),
            &format!("{bad_journals} journal(s) do not verify (see Runs)."),
        ));
    }

    // Jobs and terminals.
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
    let mut by_job: BTreeMap<String, JobRow> = BTreeMap::new();
    let mut by_terminal: BTreeMap<String, TerminalRow> = BTreeMap::new();
    let mut failures = Table::new(&headings(
        lang,
        &[
            ("日時(JST)", "Time (JST)"),
            ("実行ID", "Run"),
            ("端末", "Terminal"),
            ("作業ID", "Job"),
            ("タスク", "Task"),
            ("結果", "Result"),
            ("エラー", "Error"),
            ("対応", "Follow-up"),
            ("対応日時(JST)", "Resolved (JST)"),
        ],
    ));
    let mut inspections = Table::new(&headings(
        lang,
        &[
            ("日時(JST)", "Time (JST)"),
            ("端末", "Terminal"),
            ("作業ID", "Job"),
            ("タスク", "Task"),
            ("結果", "Result"),
            ("所見", "Findings"),
            ("エラー", "Error"),
            ("収集ファイル数", "Files collected"),
        ],
    ));
    for j in &runs_here {
        let id = j.run_id();
        for (terminal, s) in j.steps() {
            let st = s.result.as_ref().map(|r| r.status);
            let job = by_job.entry(s.job.clone()).or_default();
            job.runs.insert(id.clone());
            job.terminals.insert(terminal.to_string());
            job.counts.add(st);
            if st != Some(Status::Skipped) {
                let t = by_terminal.entry(terminal.to_string()).or_default();
                t.runs.insert(id.clone());
                t.jobs.insert(s.job.clone());
                t.counts.add(st);
                let time = s.result.as_ref().map_or(&s.time, |r| &r.time);
                if *time > t.last {
                    t.last = time.clone();
                }
            }
            let result_cell: Cell = s.result.as_ref().map_or_else(
                || tr(lang, "結果なし（中断）", "no result (interrupted)").into(),
                |r| status(r.status, lang).into(),
            );
            let error = s
                .result
                .as_ref()
                .and_then(|r| r.error.as_ref())
                .map_or(Cell::Empty, Cell::from);
            if is_failure(s) {
                let (what, when) = follow_up(&all, &id, terminal, s, lang);
                failures.push(vec![
                    jst_text(&s.time).into(),
                    Cell::from(&id),
                    terminal.into(),
                    Cell::from(&s.job),
                    Cell::from(&s.task),
                    result_cell.clone(),
                    error.clone(),
                    what.into(),
                    when,
                ]);
            }
            if s.action.as_deref() == Some("inspect") {
                inspections.push(vec![
                    jst_text(&s.time).into(),
                    terminal.into(),
                    Cell::from(&s.job),
                    Cell::from(&s.task),
                    result_cell,
                    s.change.as_ref().map_or(Cell::Empty, Cell::from),
                    error,
                    collected.map_or(Cell::Empty, |dir| {
                        count_files(&dir.join(terminal).join(&id)).into()
                    }),
                ]);
            }
        }
    }
    let mut jobs = Table::new(&headings(
        lang,
        &[
            ("作業ID", "Job"),
            ("件名", "Title"),
            ("実行数", "Runs"),
            ("端末数", "Terminals"),
            ("変更", "Changed"),
            ("正常（変更なし）", "Ok"),
            ("失敗", "Failed"),
            ("接続不可", "Unreachable"),
            ("対象外", "Skipped"),
        ],
    ));
    for (id, row) in &by_job {
        jobs.push(vec![
            Cell::from(id),
            title(id),
            row.runs.len().into(),
            row.terminals.len().into(),
            row.counts.changed.into(),
            row.counts.ok.into(),
            row.counts.failed.into(),
            row.counts.unreachable.into(),
            row.counts.skipped.into(),
        ]);
    }
    let mut terminals = Table::new(&headings(
        lang,
        &[
            ("端末", "Terminal"),
            ("実行数", "Runs"),
            ("作業", "Jobs"),
            ("変更", "Changed"),
            ("失敗", "Failed"),
            ("接続不可", "Unreachable"),
            ("最終作業(JST)", "Last work (JST)"),
        ],
    ));
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

    // Rotations.
    let mut rotation_table = Table::new(&headings(
        lang,
        &[
            ("日時(JST)", "Time (JST)"),
            ("実行ID", "Run"),
            ("端末", "Terminal"),
            ("アカウント", "Account"),
            ("保存先シークレット", "Secret"),
            ("作業者", "Operators"),
            ("理由", "Reason"),
        ],
    ));
    for j in &runs_here {
        let operators = j
            .run
            .operators
            .iter()
            .map(|o| person(roster, o))
            .collect::<Vec<_>>()
            .join(", ");
        for (time, terminal, account, secret, reason) in rotations(j) {
            rotation_table.push(vec![
                jst_text(&time).into(),
                j.run_id().into(),
                terminal.into(),
                account.into(),
                if secret.is_empty() {
                    Cell::Empty
                } else {
                    secret.into()
                },
                Cell::from(&operators),
                reason.map_or(Cell::Empty, Cell::from),
            ]);
        }
    }

    // Trend.
    let mut trend = Table::new(&headings(
        lang,
        &[
            ("指標", "Measure"),
            ("当月", "This month"),
            ("前月", "Previous month"),
            ("増減", "Change"),
        ],
    ));
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
            usize::try_from(now.changed).unwrap_or(usize::MAX),
            usize::try_from(before.changed).unwrap_or(usize::MAX),
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
        trend.push(vec![
            tr(lang, ja, en).into(),
            a.into(),
            b.into(),
            format!("{delta:+}").into(),
        ]);
    }

    doc.summary = vec![
        (tr(lang, "文書", "Document"), doc.title.clone()),
        (tr(lang, "対象月", "Month"), month.to_string()),
        (
            tr(lang, "作成日時", "Generated"),
            format!("{} JST", jst(generated)),
        ),
        (tr(lang, "実行数", "Runs"), now.runs.to_string()),
        (
            tr(lang, "端末作業以外の業務", "Work not on a machine"),
            {
                let work = super::work::entries(&all, month);
                let minutes: u32 = work.iter().map(|(_, _, w)| w.minutes).sum();
                tr(
                    lang,
                    &format!("{} 件（{minutes} 分）", work.len()),
                    &format!("{} entries ({minutes} min)", work.len()),
                )
            },
        ),
        (
            tr(lang, "作業", "Jobs"),
            now.jobs.iter().cloned().collect::<Vec<_>>().join(", "),
        ),
        (
            tr(lang, "作業した端末数", "Terminals worked on"),
            now.terminals.len().to_string(),
        ),
        (
            tr(lang, "変更したタスク", "Tasks that changed something"),
            now.changed.to_string(),
        ),
        (
            tr(lang, "失敗（うち回復）", "Failures (recovered)"),
            format!("{} ({})", now.failures, now.recovered),
        ),
        (
            tr(lang, "パスワード変更", "Password rotations"),
            now.rotations.to_string(),
        ),
        (
            tr(lang, "未承認の実行", "Unapproved runs"),
            now.unapproved.to_string(),
        ),
        (
            tr(lang, "記録の検証", "Journal verification"),
            super::words::journals_verified(bad_journals, lang),
        ),
    ];

    doc.sections = vec![
        Section {
            id: "runs",
            title: tr(lang, "実行一覧", "Runs"),
            notes: runs.note_if_empty(lang, "当月の実行はありません。", "No runs this month."),
            table: runs,
        },
        super::work::section(&all, month, roster, lang),
        Section {
            id: "jobs",
            title: tr(lang, "作業別実績", "Jobs"),
            notes: jobs.note_if_empty(lang, "ありません。", "None."),
            table: jobs,
        },
        Section {
            id: "terminals",
            title: tr(lang, "端末別実績", "Terminals"),
            notes: terminals.note_if_empty(lang, "ありません。", "None."),
            table: terminals,
        },
        Section {
            id: "rotations",
            title: tr(lang, "パスワード変更", "Password rotations"),
            notes: rotation_table.note_if_empty(
                lang,
                "当月のパスワード変更はありません。",
                "No password rotations this month.",
            ),
            table: rotation_table,
        },
        Section {
            id: "failures",
            title: tr(lang, "障害と回復", "Failures and recoveries"),
            notes: failures.note_if_empty(
                lang,
                "当月の失敗はありません。",
                "No failures this month.",
            ),
            table: failures,
        },
        Section {
            id: "inspections",
            title: tr(lang, "点検結果", "Inspections"),
            notes: inspections.note_if_empty(
                lang,
                "当月の点検の記録はありません。",
                "No inspections this month.",
            ),
            table: inspections,
        },
        Section {
            id: "trend",
            title: tr(lang, "前月比", "Against the previous month"),
            notes: vec![tr(
                lang,
                &format!("前月（{}）との比較です。", month.previous()),
                &format!("Compared with {}.", month.previous()),
            )],
            table: trend,
        },
    ];
    if let Some(dir) = collected {
        let facts = super::trends::Facts::read_dir(dir);
        let (disks, chart, problems) = super::trends::disk_section(&facts, month, lang);
        doc.flags.extend(problems);
        doc.sections.push(disks);
        doc.sections
            .push(super::trends::drift_section(&facts, month, lang));
        doc.charts.push(chart);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_step_back() {
        let m: Month = "2026-01".parse().expect("month");
        assert_eq!(
            m,
            Month {
                year: 2026,
                month: 1
            }
        );
        assert_eq!(m.previous().to_string(), "2025-12");
        assert!("2026-13".parse::<Month>().is_err());
        assert!("26-01".parse::<Month>().is_err());
        // 2026-01-31T15:00Z is 2026-02-01 00:00 in Japan.
        let t: Timestamp = "2026-01-31T15:00:00Z".parse().expect("time");
        assert!(!m.contains(t));
        assert!(
            Month {
                year: 2026,
                month: 2
            }
            .contains(t)
        );
    }
}
