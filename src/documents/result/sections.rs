//! The sections of the 作業報告書, each from the run's journal: 作業内容 (every step),
//! 端末別結果 and 障害と対応 (per terminal, and each failure with its follow-up), その他の記録
//! (approvals, rotations, reveals, resumes, seals, lock take-overs) and 記録の検証.

use std::collections::BTreeMap;

use crate::documents::counts::Counts;
use crate::documents::failures::Failures;
use crate::documents::journals::{Journal, is_failure};
use crate::documents::model::{
    Block, Cell, KeyValues, Section, Table, date, duration, number, text,
};
use crate::documents::words::{
    jst_text, people, person, seconds, step_error, step_result, verification_status,
};
use crate::documents::{Language, tr};
use crate::journal::{Record, VerifyReport};
use crate::roster::Roster;

/// 作業内容: every step in time order, and the results counted.
pub(super) fn steps(
    this: &Journal,
    roster: &Roster,
    job_titles: &BTreeMap<String, String>,
    lang: Language,
) -> (Section, Counts) {
    let mut counts = Counts::default();
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("端末", "Terminal"),
            text("作業ID", "Job"),
            text("件名", "Title"),
            text("タスク", "Task"),
            text("操作", "Action"),
            text("変更内容", "Change"),
            text("結果", "Result"),
            duration("所要時間(秒)", "Seconds"),
            text("作業者", "Operator"),
            text("エラー", "Error"),
        ],
    );
    for (terminal, s) in this.steps() {
        counts.add(s.result.as_ref().map(|r| r.status));
        table.push(vec![
            jst_text(&s.time).into(),
            terminal.into(),
            Cell::from(&s.job),
            Cell::optional(job_titles.get(&s.job)),
            Cell::from(&s.task),
            Cell::optional(s.action.as_ref()),
            Cell::optional(s.change.as_ref()),
            step_result(s, lang),
            s.result
                .as_ref()
                .map_or(Cell::Empty, |r| seconds(r.duration_ms).into()),
            person(roster, &s.operator).into(),
            step_error(s),
        ]);
    }
    let section = Section::of_table("steps", tr(lang, "作業内容", "Steps"), table, Vec::new())
        .when_empty(lang, "作業の記録はありません。", "No steps recorded.");
    (section, counts)
}

/// 端末別結果 and 障害と対応: each terminal's results and state, each failure with what was done
/// about it (searched for in `everything`); and how many failures are not put right yet.
pub(super) fn terminals(
    this: &Journal,
    everything: &[Journal],
    lang: Language,
) -> (Section, Section, usize) {
    let mut terminals = Table::new(
        lang,
        &[
            text("端末", "Terminal"),
            number("変更", "Changed"),
            number("正常（変更なし）", "Ok"),
            number("失敗", "Failed"),
            number("接続不可", "Unreachable"),
            number("対象外", "Skipped"),
            number("結果なし", "No result"),
            text("状態", "State"),
        ],
    );
    let mut failures = Failures::new(everything, false, lang);
    let this_id = this.run_id();
    let mut unresolved = 0;
    for (terminal, term_steps) in &this.run.terminals {
        let mut c = Counts::default();
        let (mut open, mut fixed) = (0, 0);
        for s in term_steps {
            c.add(s.result.as_ref().map(|r| r.status));
            if is_failure(s) {
                if failures.push(&this_id, terminal, s) {
                    fixed += 1;
                } else {
                    open += 1;
                }
            }
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
    let terminals = Section::of_table(
        "terminals",
        tr(lang, "端末別結果", "Per terminal"),
        terminals,
        Vec::new(),
    );
    let failures = Section::of_table(
        "failures",
        tr(lang, "障害と対応", "Failures"),
        failures.table,
        Vec::new(),
    )
    .when_empty(lang, "失敗はありません。", "No failures.");
    (terminals, failures, unresolved)
}

/// A record other than a step, in words: its kind, its terminal and what it says (`None`: a
/// record the report does not list).
fn event(
    record: &Record,
    roster: &Roster,
    lang: Language,
) -> Option<(String, Option<String>, String)> {
    Some(match record {
        Record::Approval(a) => {
            let who = person(roster, &a.approver);
            let when = a.approved_at.as_deref().map(jst_text).unwrap_or_default();
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
        Record::Rotation(r) => {
            let reason = r
                .reason
                .as_ref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default();
            (
                tr(lang, "パスワード変更", "rotation"),
                Some(r.terminal.clone()),
                tr(
                    lang,
                    &format!(
                        "アカウント {} のパスワードを変更（保存先 {}）{reason}",
                        r.account, r.secret
                    ),
                    &format!(
                        "rotated the password of {} (now in {}){reason}",
                        r.account, r.secret
                    ),
                ),
            )
        }
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
        _ => return None,
    })
}

/// その他の記録: the records that are not steps, in journal order.
pub(super) fn events(this: &Journal, roster: &Roster, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("作業者", "Operator"),
            text("種別", "Kind"),
            text("端末", "Terminal"),
            text("内容", "Details"),
        ],
    );
    for line in &this.lines {
        let Some((kind, terminal, what)) = event(&line.record, roster, lang) else {
            continue;
        };
        table.push(vec![
            jst_text(&line.time).into(),
            person(roster, &line.operator).into(),
            kind.into(),
            terminal.map_or(Cell::Empty, Cell::from),
            what.into(),
        ]);
    }
    Section::of_table(
        "events",
        tr(lang, "その他の記録", "Other records"),
        table,
        Vec::new(),
    )
    .when_empty(lang, "ありません。", "None.")
}

/// 記録の検証: the verification of the journal against the roster, item by item.
pub(super) fn verification(report: &VerifyReport, roster: &Roster, lang: Language) -> Section {
    let mut pairs = KeyValues::new(lang);
    pairs.push(
        tr(lang, "結果", "Result"),
        verification_status(report, lang),
    );
    pairs.push(tr(lang, "レコード数", "Records"), report.records);
    pairs.push(
        tr(lang, "有効な署名", "Valid checkpoints"),
        report.valid_checkpoints,
    );
    pairs.push(
        tr(lang, "署名者", "Signed by"),
        people(roster, &report.signers),
    );
    pairs.push(
        tr(lang, "末尾ハッシュ", "Head"),
        Cell::optional(report.head.as_ref()),
    );
    for p in &report.problems {
        pairs.push(tr(lang, "問題", "Problem"), p.to_string());
    }
    let mut section = Section::new(
        "verification",
        tr(lang, "記録の検証", "Journal verification"),
    );
    section.blocks.push(Block::KeyValues(pairs));
    section.blocks.push(Block::Paragraph(tr(
        lang,
        "作業記録はハッシュで連結され、作業者の SSH 鍵で署名されています。seibi journal verify または ssh-keygen -Y verify で確認できます（docs/journal.md）。",
        "The journal is hash-chained and signed with the operator's SSH key; check it with `seibi journal verify` or `ssh-keygen -Y verify` (docs/journal.md).",
    )));
    section
}
