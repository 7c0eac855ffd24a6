//! 作業報告書 (result report): what one run did, from its journal.
//!
//! Steps with their times (JST), operators and results; per-terminal results; failures and what
//! was done about them (a later successful result of the same task, in the same run after a
//! resume or in a later run in `logs/`); approvals, rotations and other records; and whether the
//! journal verifies against the roster. A run applied without approval is flagged first.
//! [`result()`] reads and puts the document together; each section is one function in
//! [`sections`]; [`result_of_runs()`] (in [`runs`]) joins the reports of several runs.

mod runs;
mod sections;

use std::collections::BTreeMap;
use std::path::Path;

use super::journals::{self, Journal};
use super::words::{jst_text, people, person, verification_status};
use super::{Document, DocumentError, Language, tr};
use crate::journal::{Record, VerifyReport, verify};
use crate::roster::Roster;

pub use runs::result_of_runs;

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
    let mut everything = journals::read_dir(logs).map_err(read_err(logs))?;
    let this_id = this.run_id();
    everything.retain(|j| j.run_id() != this_id);
    // The run itself goes into the search for recoveries too: a resumed run retries in the
    // same journal.
    everything.push(this);
    let Some(this) = everything.last() else {
        return Ok(Document::new(
            lang,
            tr(lang, "作業報告書", "Work result report"),
        ));
    };
    let report = verify(journal_path, roster);

    let mut doc = Document::new(lang, tr(lang, "作業報告書", "Work result report"));
    doc.flags = flags(this, &report, lang);
    let (steps, counts) = sections::steps(this, roster, job_titles, lang);
    let (terminals, failures, unresolved) = sections::terminals(this, &everything, lang);
    if unresolved > 0 {
        doc.flags.push(tr(
            lang,
            &format!("未解決の失敗が {unresolved} 件あります。「障害と対応」を参照してください。"),
            &format!("{unresolved} failure(s) not resolved yet; see Failures."),
        ));
    }
    summary(&mut doc, this, roster, &counts.describe(lang), &report);
    doc.sections = vec![
        steps,
        terminals,
        failures,
        sections::events(this, roster, lang),
        sections::verification(&report, roster, lang),
    ];
    Ok(doc)
}

/// What no reader may miss: work without approval, a journal that does not verify, a run that
/// has not ended.
fn flags(this: &Journal, report: &VerifyReport, lang: Language) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(reason) = this.unapproved_reason() {
        flags.push(tr(
            lang,
            &format!("事前承認なしで実施された作業です（理由: {reason}）"),
            &format!("UNAPPROVED: applied without prior approval (reason: {reason})"),
        ));
    }
    if !report.is_ok() {
        let n = report.problems.len();
        flags.push(tr(
            lang,
            &format!(
                "作業記録の検証で問題が見つかりました（{n} 件）。「記録の検証」を参照してください。"
            ),
            &format!("The journal does not verify ({n} problem(s)); see Journal verification."),
        ));
    }
    if this.run.end.is_none() {
        let id = this.run_id();
        flags.push(tr(
            lang,
            &format!("作業は終了していません（終了の記録なし）。再開: seibi apply --resume {id}"),
            &format!("The run has not finished (no run_end); resume: seibi apply --resume {id}"),
        ));
    }
    flags
}

/// Who approved the run (or why it needed no approval), in one line.
fn approval(this: &Journal, roster: &Roster, lang: Language) -> String {
    if let Some(reason) = this.unapproved_reason() {
        return tr(
            lang,
            &format!("未承認で実施（理由: {reason}）"),
            &format!("UNAPPROVED (reason: {reason})"),
        );
    }
    let approvers: Vec<String> = this
        .lines
        .iter()
        .filter_map(|line| match &line.record {
            Record::Approval(a) => {
                let when = a.approved_at.as_deref().map(jst_text).unwrap_or_default();
                Some(format!("{} {when}", person(roster, &a.approver)))
            }
            _ => None,
        })
        .collect();
    if approvers.is_empty() {
        tr(lang, "承認の記録なし", "no approval recorded")
    } else {
        approvers.join("、")
    }
}

/// 概要: the run, its plan, times, operators, approval, results and verification.
fn summary(
    doc: &mut Document,
    this: &Journal,
    roster: &Roster,
    results: &str,
    report: &VerifyReport,
) {
    let lang = doc.lang;
    let start = this.run.start.as_ref();
    doc.summarise(tr(lang, "文書", "Document"), doc.title.clone());
    doc.summarise(tr(lang, "実行ID", "Run"), this.run_id());
    doc.summarise(
        tr(lang, "計画ダイジェスト", "Plan digest"),
        start
            .map(|(_, s)| s.plan_digest.clone())
            .unwrap_or_default(),
    );
    doc.summarise(
        tr(lang, "開始(JST)", "Started (JST)"),
        start.map(|(t, _)| jst_text(t)).unwrap_or_default(),
    );
    doc.summarise(
        tr(lang, "終了(JST)", "Ended (JST)"),
        this.run
            .end
            .as_ref()
            .map_or_else(|| tr(lang, "未終了", "not finished"), |(t, _)| jst_text(t)),
    );
    doc.summarise(
        tr(lang, "作業者", "Operators"),
        people(roster, &this.run.operators),
    );
    doc.summarise(tr(lang, "承認", "Approval"), approval(this, roster, lang));
    doc.summarise(tr(lang, "結果", "Results"), results.to_string());
    doc.summarise(
        tr(lang, "記録の検証", "Journal verification"),
        verification_status(report, lang),
    );
    doc.summarise(
        tr(lang, "実行環境", "Controller"),
        start
            .map(|(_, s)| format!("{} (seibi {})", s.host, s.seibi_version))
            .unwrap_or_default(),
    );
    if let Some((_, end)) = &this.run.end
        && let Some(why) = &end.stopped
    {
        doc.summarise(tr(lang, "停止理由", "Stopped because"), why.clone());
    }
}
