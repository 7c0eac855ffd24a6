//! Words shared by the documents: statuses, kinds, provenance, people, times in Japan time and how to undo
//! what a task does, in Japanese and English (what a task does is [`crate::plan::task_summary`],
//! which the plan shares).

use jiff::Timestamp;

use super::model::Cell;
use super::{Language, tr};
use crate::journal::{Status, Step, VerifyReport};
use crate::plan::PlannedTask;
use crate::playbook::JobKind;
use crate::roster::{Roster, japan_time_zone};

/// An instant in Japan time, `2026-10-05 10:00:03`.
pub(crate) fn jst(at: Timestamp) -> String {
    at.to_zoned(japan_time_zone().clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A journal time (RFC 3339) in Japan time, or the text as is when it is not a time.
pub(crate) fn jst_text(time: &str) -> String {
    time.parse::<Timestamp>()
        .map(jst)
        .unwrap_or_else(|_| time.to_string())
}

/// How a task ended.
pub(crate) fn status(s: Status, lang: Language) -> String {
    match s {
        Status::Ok => tr(lang, "正常（変更なし）", "ok (no change)"),
        Status::Changed => tr(lang, "変更", "changed"),
        Status::Failed => tr(lang, "失敗", "FAILED"),
        Status::Skipped => tr(lang, "対象外", "skipped"),
        Status::Unreachable => tr(lang, "接続不可", "UNREACHABLE"),
        Status::Interrupted => tr(lang, "中断（接続断）", "INTERRUPTED"),
        Status::Busy => tr(lang, "他の実行が作業中", "busy"),
    }
}

/// The kind of a job.
pub(crate) fn kind(k: JobKind, lang: Language) -> String {
    match lang {
        Language::Ja => k.name_ja().to_string(),
        Language::En => k.name_en().to_string(),
    }
}

/// A journal's verification outcome in one word (or the number of problems).
pub(crate) fn verification_status(report: &VerifyReport, lang: Language) -> String {
    if report.is_ok() {
        tr(lang, "正常", "verified")
    } else {
        let n = report.problems.len();
        tr(
            lang,
            &format!("問題あり（{n} 件）"),
            &format!("{n} problem(s)"),
        )
    }
}

/// Milliseconds as seconds with one decimal (`12.3`).
pub(crate) fn seconds(ms: u64) -> String {
    format!("{}.{}", ms / 1000, (ms % 1000) / 100)
}

/// How to undo what a task does, from its action: files and templates keep the previous file as
/// `<path>.seibi-<run>.bak`; packages go back to the previous version; passwords keep the
/// previous one in the secrets store's history.
pub(crate) fn rollback(task: &PlannedTask, lang: Language) -> String {
    let path = match task.action.as_str() {
        "template" => task.arg("dest"),
        _ => task.arg("path"),
    };
    match (task.action.as_str(), task.arg("state")) {
        ("file", "absent") => tr(
            lang,
            &format!(
                "削除前のファイルを {path}.seibi-<実行ID>.bak として保存する。戻す場合はこれを {path} に戻す。"
            ),
            &format!(
                "The file is kept as {path}.seibi-<run>.bak before removal; to undo, move it back to {path}."
            ),
        ),
        ("file", "directory") => tr(
            lang,
            &format!(
                "作成したディレクトリ {path} を削除する（作業前から存在した場合は何もしない）。"
            ),
            &format!("Remove the directory {path} if the run created it (nothing if it existed)."),
        ),
        ("file", _) | ("template", _) => tr(
            lang,
            &format!(
                "変更前のファイルを {path}.seibi-<実行ID>.bak として保存する。戻す場合はこれを {path} に戻す（新規作成の場合は {path} を削除）。"
            ),
            &format!(
                "The previous file is kept as {path}.seibi-<run>.bak; to undo, copy it back to {path} (or remove {path} if it did not exist)."
            ),
        ),
        ("package", _) | ("patch", _) => {
            let package = task.arg("package");
            tr(
                lang,
                &format!(
                    "{package} の変更前の版を再導入する（変更前の版は作業記録の変更内容に記録される）。"
                ),
                &format!(
                    "Reinstall the previous version of {package} (the journal's change line names it)."
                ),
            )
        }
        ("password", _) => tr(
            lang,
            "変更前のパスワードはシークレットストアの履歴に保持される。戻す場合は履歴の版を端末に再設定する。",
            "The previous password stays in the secrets store's history; to undo, set that version again on the terminal.",
        ),
        ("inspect", _) | ("fetch", _) => tr(
            lang,
            "端末を変更しないため切り戻し不要。",
            "Changes nothing on the terminal: no rollback needed.",
        ),
        ("reboot", _) => tr(
            lang,
            "再起動のみのため切り戻し不要。",
            "A reboot only: no rollback needed.",
        ),
        _ => tr(
            lang,
            "自動の切り戻しはない。コマンドの内容に応じて手動で戻す。",
            "No automatic rollback: undo by hand according to the command.",
        ),
    }
}

/// The summary row of a month's journal verification: all verified, or how many have problems.
pub(crate) fn journals_verified(bad: usize, lang: Language) -> String {
    if bad == 0 {
        tr(lang, "すべて正常", "all verified")
    } else {
        tr(
            lang,
            &format!("{bad} 件に問題あり"),
            &format!("{bad} with problems"),
        )
    }
}

/// `name (id)` from the roster, or the id.
pub(crate) fn person(roster: &Roster, id: &str) -> String {
    match roster.name_of(id) {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    }
}

/// People from the roster, `name (id)`, joined with commas.
pub(crate) fn people(roster: &Roster, ids: &[String]) -> String {
    ids.iter()
        .map(|id| person(roster, id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a step ended, or that it has no result (the run was interrupted).
pub(crate) fn step_result(step: &Step, lang: Language) -> Cell {
    step.result.as_ref().map_or_else(
        || tr(lang, "結果なし（中断）", "no result (interrupted)").into(),
        |r| status(r.status, lang).into(),
    )
}

/// A step's error, if it has one.
pub(crate) fn step_error(step: &Step) -> Cell {
    step.result
        .as_ref()
        .and_then(|r| r.error.as_ref())
        .map_or(Cell::Empty, Cell::from)
}
