//! 作業報告書 (result report): what one run did, from its journal.
//!
//! Steps with their times (JST), operators and results; per-terminal results; failures and what
//! was done about them (a later successful result of the same task, in the same run after a
//! resume or in a later run in `logs/`); approvals, rotations and other records; and whether the
//! journal verifies against the roster. A run applied without approval is flagged first.

use std::collections::BTreeMap;
use std::path::Path;

use super::journals::{self, Journal, is_failure, recovery};
use super::words::{jst_text, seconds, status, verification_status};
use super::{Cell, Document, DocumentError, Language, Section, Table, document, headings, tr};
use crate::journal::{Record, Status, verify};
use crate::roster::Roster;

/// `name (id)` from the roster, or the id.
pub(crate) fn person(roster: &Roster, id: &str) -> String {
    match roster.name_of(id) {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    }
}

/// Counts of results by status.
#[derive(Default)]
pub(crate) struct Counts {
    pub ok: u64,
    pub changed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unreachable: u64,
    pub interrupted: u64,
    pub busy: u64,
    pub no_result: u64,
}

impl Counts {
    pub fn add(&mut self, s: Option<Status>) {
        match s {
            Some(Status::Ok) => self.ok += 1,
            Some(Status::Changed) => self.changed += 1,
            Some(Status::Failed) => self.failed += 1,
            Some(Status::Skipped) => self.skipped += 1,
            Some(Status::Unreachable) => self.unreachable += 1,
            Some(Status::Interrupted) => self.interrupted += 1,
            Some(Status::Busy) => self.busy += 1,
            None => self.no_result += 1,
        }
    }

    pub fn describe(&self, lang: Language) -> String {
        let mut out = tr(
            lang,
            &format!(
                "変更 {}、正常（変更なし） {}、失敗 {}、接続不可 {}、対象外 {}",
                self.changed, self.ok, self.failed, self.unreachable, self.skipped
            ),
            &format!(
                "{} changed, {} ok, {} failed, {} unreachable, {} skipped",
                self.changed, self.ok, self.failed, self.unreachable, self.skipped
            ),
        );
        if self.interrupted > 0 {
            out.push_str(&tr(
                lang,
                &format!("、中断 {}", self.interrupted),
                &format!(", {} interrupted", self.interrupted),
            ));
        }
        if self.busy > 0 {
            out.push_str(&tr(
                lang,
                &format!("、他の実行が作業中 {}", self.busy),
                &format!(", {} busy", self.busy),
            ));
        }
        if self.no_result > 0 {
            out.push_str(&tr(
                lang,
                &format!("、結果なし {}", self.no_result),
                &format!(", {} without result", self.no_result),
            ));
        }
        out
    }
}

/// What was done about a failed step, and when.
pub(crate) fn follow_up(
    all: &[Journal],
    run: &str,
    terminal: &str,
    step: &crate::journal::Step,
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

/// The 作業報告書 of the run whose journal is `journal_path`. `logs` is searched for later runs
/// that put its failures right; `job_titles` (job id to title, from the project when it loads)
/// may be empty.
pub fn result(
    journal_path: &Path,
    logs: &Path,
    roster: &Roster,
    job_titles: &BTreeMap<String, String>,
    lang: Language,
) -> Result<Document, DocumentError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DocumentError::Read { path, source }
    };
    let this = journals::read(journal_path).map_err(read_err(journal_path))?;
    let mut all = journals::read_dir(logs).map_err(read_err(logs))?;
    let this_id = this.run_id();
    all.retain(|j| j.run_id() != this_id);
    let report = verify(journal_path, roster);
    let title = |job: &str| job_titles.get(job).map_or(Cell::Empty, Cell::from);

    let mut doc = document(lang, tr(lang, "作業報告書", "Work result report"));
    if let Some(reason) = this.unapproved_reason() {
        doc.flags.push(tr(
            lang,
            &format!("事前承認なしで実施された作業です（理由: {reason}）"),
            &format!("UNAPPROVED: applied without prior approval (reason: {reason})"),
        ));
    }
    if !report.is_ok() {
        doc.flags.push(tr(
            lang,
            &format!(
                "作業記録の検証で問題が見つかりました（{} 件）。「記録の検証」を参照してください。",
                report.problems.len()
            ),
            &format!(
                "The journal does not verify ({} problem(s)); see Journal verification.",
                report.problems.len()
            ),
        ));
    }
    if this.run.end.is_none() {
        doc.flags.push(tr(
            lang,
            &format!(
                "作業は終了していません（終了の記録なし）。再開: seibi apply --resume {this_id}"
            ),
            &format!(
                "The run has not finished (no run_end); resume: seibi apply --resume {this_id}"
            ),
        ));
    }

    // Steps.
    let mut counts = Counts::default();
    let mut steps = Table::new(&headings(
        lang,
        &[
            ("日時(JST)", "Time (JST)"),
            ("端末", "Terminal"),
            ("作業ID", "Job"),
            ("件名", "Title"),
            ("タスク", "Task"),
            ("操作", "Action"),
            ("変更内容", "Change"),
            ("結果", "Result"),
            ("所要時間(秒)", "Seconds"),
            ("作業者", "Operator"),
            ("エラー", "Error"),
        ],
    ));
    for (terminal, s) in this.steps() {
        counts.add(s.result.as_ref().map(|r| r.status));
        steps.push(vec![
            jst_text(&s.time).into(),
            terminal.into(),
            Cell::from(&s.job),
            title(&s.job),
            Cell::from(&s.task),
            s.action.as_ref().map_or(Cell::Empty, Cell::from),
            s.change.as_ref().map_or(Cell::Empty, Cell::from),
            s.result.as_ref().map_or_else(
                || tr(lang, "結果なし（中断）", "no result (interrupted)").into(),
                |r| status(r.status, lang).into(),
            ),
            s.result
                .as_ref()
                .map_or(Cell::Empty, |r| seconds(r.duration_ms).into()),
            person(roster, &s.operator).into(),
            s.result
                .as_ref()
                .and_then(|r| r.error.as_ref())
                .map_or(Cell::Empty, Cell::from),
        ]);
    }

    // Per terminal, and failures with their follow-up.
    let mut terminals = Table::new(&headings(
        lang,
        &[
            ("端末", "Terminal"),
            ("変更", "Changed"),
            ("正常（変更なし）", "Ok"),
            ("失敗", "Failed"),
            ("接続不可", "Unreachable"),
            ("対象外", "Skipped"),
            ("結果なし", "No result"),
            ("状態", "State"),
        ],
    ));
    let mut failures = Table::new(&headings(
        lang,
        &[
            ("日時(JST)", "Time (JST)"),
            ("端末", "Terminal"),
            ("作業ID", "Job"),
            ("タスク", "Task"),
            ("結果", "Result"),
            ("エラー", "Error"),
            ("対応", "Follow-up"),
            ("対応日時(JST)", "Resolved (JST)"),
        ],
    ));
    let mut everything = all;
    let mut unresolved = 0;
    // The run itself goes into the search too: a resumed run retries in the same journal.
    let this_index = everything.len();
    everything.push(this);
    let this = &everything[this_index];
    for (terminal, term_steps) in &this.run.terminals {
        let mut c = Counts::default();
        let mut open = 0;
        let mut fixed = 0;
        for s in term_steps {
            c.add(s.result.as_ref().map(|r| r.status));
            if !is_failure(s) {
                continue;
            }
            let (what, when) = follow_up(&everything, &this_id, terminal, s, lang);
            if matches!(when, Cell::Empty) {
                open += 1;
            } else {
                fixed += 1;
            }
            failures.push(vec![
                jst_text(&s.time).into(),
                terminal.into(),
                Cell::from(&s.job),
                Cell::from(&s.task),
                s.result.as_ref().map_or_else(
                    || tr(lang, "結果なし（中断）", "no result (interrupted)").into(),
                    |r| status(r.status, lang).into(),
                ),
                s.result
                    .as_ref()
                    .and_then(|r| r.error.as_ref())
                    .map_or(Cell::Empty, Cell::from),
                what.into(),
                when,
            ]);
        }
        unresolved += open;
        let state = if open > 0 {
            tr(lang, "要対応", "needs attention")
        } else if fixed > 0 {
            tr(lang, "回復済み", "recovered")
        } else {
            tr(lang, "完了", "done")
        };
        terminals.push(vec![
            terminal.into(),
            c.changed.into(),
            c.ok.into(),
            c.failed.into(),
            c.unreachable.into(),
            c.skipped.into(),
            c.no_result.into(),
            state.into(),
        ]);
    }
    if unresolved > 0 {
        doc.flags.push(tr(
            lang,
            &format!("未解決の失敗が {unresolved} 件あります。「障害と対応」を参照してください。"),
            &format!("{unresolved} failure(s) not resolved yet; see Failures."),
        ));
    }

    // Other records.
    let mut events = Table::new(&headings(
        lang,
        &[
            ("日時(JST)", "Time (JST)"),
            ("作業者", "Operator"),
            ("種別", "Kind"),
            ("端末", "Terminal"),
            ("内容", "Details"),
        ],
    ));
    let mut approvers = Vec::new();
    for line in &this.lines {
        let (kind, terminal, what) = match &line.record {
            Record::Approval(a) => {
                let who = person(roster, &a.approver);
                let when = a.approved_at.as_deref().map(jst_text).unwrap_or_default();
                approvers.push(format!("{who} {when}"));
                (
                    tr(lang, "承認", "approval"),
                    None,
                    tr(
                        lang,
                        &format!("{who} が {when} に計画 {} を承認", a.plan_digest),
                        &format!("{who} approved plan {} on {when}", a.plan_digest),
                    ),
                )
            }
            Record::Rotation(r) => (
                tr(lang, "パスワード変更", "rotation"),
                Some(r.terminal.clone()),
                tr(
                    lang,
                    &format!(
                        "アカウント {} のパスワードを変更（保存先 {}）{}",
                        r.account,
                        r.secret,
                        r.reason
                            .as_ref()
                            .map(|x| format!(": {x}"))
                            .unwrap_or_default()
                    ),
                    &format!(
                        "rotated the password of {} (now in {}){}",
                        r.account,
                        r.secret,
                        r.reason
                            .as_ref()
                            .map(|x| format!(": {x}"))
                            .unwrap_or_default()
                    ),
                ),
            ),
            Record::Reveal(r) => (
                tr(lang, "秘密情報の表示", "reveal"),
                r.terminal.clone(),
                tr(
                    lang,
                    &format!("{} を表示: {}", r.secret, r.reason),
                    &format!("revealed {}: {}", r.secret, r.reason),
                ),
            ),
            Record::Resume(r) => (tr(lang, "再開", "resume"), None, r.note.clone()),
            Record::Seal(s) => (
                tr(lang, "事後署名", "late seal"),
                None,
                tr(
                    lang,
                    &format!(
                        "中断した実行の未署名の記録 {} 件に事後署名",
                        s.unsigned_records
                    ),
                    &s.note,
                ),
            ),
            Record::LockTakeOver(t) => (
                tr(lang, "ロック引継ぎ", "lock take-over"),
                None,
                tr(
                    lang,
                    &format!(
                        "異常終了した実行 {} ({}) のロックを引継ぎ",
                        t.previous.run, t.previous.operator
                    ),
                    &format!(
                        "took over the lock of run {} ({}), whose process had died",
                        t.previous.run, t.previous.operator
                    ),
                ),
            ),
            _ => continue,
        };
        events.push(vec![
            jst_text(&line.time).into(),
            person(roster, &line.operator).into(),
            kind.into(),
            terminal.map_or(Cell::Empty, Cell::from),
            what.into(),
        ]);
    }

    // Verification.
    let mut verification = Table::new(&headings(lang, &[("項目", "Item"), ("内容", "Details")]));
    verification.push(vec![
        tr(lang, "結果", "Result").into(),
        verification_status(&report, lang).into(),
    ]);
    verification.push(vec![
        tr(lang, "レコード数", "Records").into(),
        report.records.into(),
    ]);
    verification.push(vec![
        tr(lang, "有効な署名", "Valid checkpoints").into(),
        report.valid_checkpoints.into(),
    ]);
    verification.push(vec![
        tr(lang, "署名者", "Signed by").into(),
        report
            .signers
            .iter()
            .map(|s| person(roster, s))
            .collect::<Vec<_>>()
            .join(", ")
            .into(),
    ]);
    verification.push(vec![
        tr(lang, "末尾ハッシュ", "Head").into(),
        report.head.as_ref().map_or(Cell::Empty, Cell::from),
    ]);
    for p in &report.problems {
        verification.push(vec![
            tr(lang, "問題", "Problem").into(),
            p.to_string().into(),
        ]);
    }

    let start = this.run.start.as_ref();
    let operators = this
        .run
        .operators
        .iter()
        .map(|o| person(roster, o))
        .collect::<Vec<_>>()
        .join(", ");
    doc.summary = vec![
        (tr(lang, "文書", "Document"), doc.title.clone()),
        (tr(lang, "実行ID", "Run"), this_id.clone()),
        (
            tr(lang, "計画ダイジェスト", "Plan digest"),
            start
                .map(|(_, s)| s.plan_digest.clone())
                .unwrap_or_default(),
        ),
        (
            tr(lang, "開始(JST)", "Started (JST)"),
            start.map(|(t, _)| jst_text(t)).unwrap_or_default(),
        ),
        (
            tr(lang, "終了(JST)", "Ended (JST)"),
            this.run
                .end
                .as_ref()
                .map_or_else(|| tr(lang, "未終了", "not finished"), |(t, _)| jst_text(t)),
        ),
        (tr(lang, "作業者", "Operators"), operators),
        (
            tr(lang, "承認", "Approval"),
            match this.unapproved_reason() {
                Some(reason) => tr(
                    lang,
                    &format!("未承認で実施（理由: {reason}）"),
                    &format!("UNAPPROVED (reason: {reason})"),
                ),
                None if approvers.is_empty() => tr(lang, "承認の記録なし", "no approval recorded"),
                None => approvers.join("、"),
            },
        ),
        (tr(lang, "結果", "Results"), counts.describe(lang)),
        (
            tr(lang, "記録の検証", "Journal verification"),
            verification_status(&report, lang),
        ),
        (
            tr(lang, "実行環境", "Controller"),
            start
                .map(|(_, s)| format!("{} (seibi {})", s.host, s.seibi_version))
                .unwrap_or_default(),
        ),
    ];
    if let Some((_, end)) = &this.run.end
        && let Some(why) = &end.stopped
    {
        doc.summary
            .push((tr(lang, "停止理由", "Stopped because"), why.clone()));
    }

    doc.sections = vec![
        Section {
            id: "steps",
            title: tr(lang, "作業内容", "Steps"),
            notes: steps.note_if_empty(lang, "作業の記録はありません。", "No steps recorded."),
            table: steps,
        },
        Section {
            id: "terminals",
            title: tr(lang, "端末別結果", "Per terminal"),
            table: terminals,
            notes: Vec::new(),
        },
        Section {
            id: "failures",
            title: tr(lang, "障害と対応", "Failures"),
            notes: failures.note_if_empty(lang, "失敗はありません。", "No failures."),
            table: failures,
        },
        Section {
            id: "events",
            title: tr(lang, "その他の記録", "Other records"),
            notes: events.note_if_empty(lang, "ありません。", "None."),
            table: events,
        },
        Section {
            id: "verification",
            title: tr(lang, "記録の検証", "Journal verification"),
            table: verification,
            notes: vec![tr(
                lang,
                "作業記録はハッシュで連結され、作業者の SSH 鍵で署名されています。seibi journal verify または ssh-keygen -Y verify で確認できます（docs/journal.md）。",
                "The journal is hash-chained and signed with the operator's SSH key; check it with `seibi journal verify` or `ssh-keygen -Y verify` (docs/journal.md).",
            )],
        },
    ];
    Ok(doc)
}

/// The 作業報告書 of several runs (those of one plan, or the journals given): each run's report
/// as [`result()`] makes it, in one document. Every table gains a first column naming the run;
/// summary entries that differ between runs list each run's value; flags name their run. One
/// run gives exactly [`result()`]'s document.
pub fn result_of_runs(
    journal_paths: &[std::path::PathBuf],
    logs: &Path,
    roster: &Roster,
    job_titles: &BTreeMap<String, String>,
    lang: Language,
) -> Result<Document, DocumentError> {
    let mut docs = Vec::new();
    for path in journal_paths {
        let doc = result(path, logs, roster, job_titles, lang)?;
        let run = doc
            .summary_value(&tr(lang, "実行ID", "Run"))
            .unwrap_or_default()
            .to_string();
        docs.push((run, doc));
    }
    if docs.len() == 1 {
        return Ok(docs.remove(0).1);
    }
    let mut out = document(lang, tr(lang, "作業報告書", "Work result report"));
    let run_heading = tr(lang, "実行ID", "Run");
    let Some((_, first)) = docs.first() else {
        return Ok(out);
    };
    for (i, (label, _)) in first.summary.iter().enumerate() {
        let values: Vec<(&str, &str)> = docs
            .iter()
            .filter_map(|(run, d)| d.summary.get(i).map(|(_, v)| (run.as_str(), v.as_str())))
            .collect();
        let value = if *label == run_heading {
            values
                .iter()
                .map(|(run, _)| *run)
                .collect::<Vec<_>>()
                .join(", ")
        } else if values.iter().all(|(_, v)| *v == values[0].1) {
            values[0].1.to_string()
        } else {
            values
                .iter()
                .map(|(run, v)| format!("{run}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.summary.push((label.clone(), value));
    }
    for (run, doc) in &docs {
        out.flags
            .extend(doc.flags.iter().map(|f| format!("{run}: {f}")));
    }
    for (index, section) in first.sections.iter().enumerate() {
        let mut columns = vec![run_heading.clone()];
        columns.extend(section.table.columns.iter().cloned());
        let mut table = Table::new(&columns);
        for (run, doc) in &docs {
            for row in doc.sections.get(index).map_or(&[][..], |s| &s.table.rows) {
                let mut cells = vec![Cell::from(run)];
                cells.extend(row.iter().cloned());
                table.push(cells);
            }
        }
        out.sections.push(Section {
            id: section.id,
            title: section.title.clone(),
            notes: if table.rows.is_empty() || section.id == "verification" {
                section.notes.clone()
            } else {
                Vec::new()
            },
            table,
        });
    }
    Ok(out)
}
