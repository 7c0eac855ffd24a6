//! The people of the 作業手順書: the operators the roster allows (作業者), and the approvals of
//! the plan so far (承認), with the approval state the summary shows.

use jiff::Timestamp;

use crate::approval::ReviewedApproval;
use crate::documents::model::{Cell, Section, Table, date, number, text};
use crate::documents::words::jst_text;
use crate::documents::{Language, tr};
use crate::plan::Plan;
use crate::roster::{Roster, japan_time_zone};

/// Where the approvals stand: the summary's words, and a flag when some fail their checks.
pub(super) struct ApprovalState {
    /// `承認済み（1/1）: 佐藤 花子 ...`.
    pub state: String,
    /// The flag, when approval lines fail their checks.
    pub flag: Option<String>,
}

/// The approval state from the reviewed approvals: failing lines first, then whether enough
/// distinct approvers signed.
pub(super) fn approval_state(
    approvals: &[ReviewedApproval],
    required: usize,
    lang: Language,
) -> ApprovalState {
    let problems = approvals.iter().filter(|a| a.outcome.is_err()).count();
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
    let signed = approvers.len();
    if problems > 0 {
        return ApprovalState {
            state: tr(lang, "承認記録に問題あり", "approvals fail their checks"),
            flag: Some(tr(
                lang,
                &format!(
                    "承認記録に問題があります（{problems} 件）。このままでは適用できません。「承認」を参照してください。"
                ),
                &format!(
                    "{problems} approval line(s) fail their checks: the plan cannot be applied as it is (see Approvals)."
                ),
            )),
        };
    }
    let state = if signed >= required {
        tr(
            lang,
            &format!("承認済み（{signed}/{required}）: {names}"),
            &format!("approved ({signed}/{required}): {names}"),
        )
    } else {
        tr(
            lang,
            &format!("未承認（{signed}/{required}）{names}"),
            &format!("not approved yet ({signed}/{required}) {names}"),
        )
    };
    ApprovalState { state, flag: None }
}

/// 作業者: the roster's operators and whether each is valid on the day the document is made.
pub(super) fn operators(roster: Option<&Roster>, generated: Timestamp, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("ID", "Id"),
            text("氏名", "Name"),
            text("所属", "Organisation"),
            text("役割", "Role"),
            date("有効期間", "Valid"),
            text("状態", "Today"),
        ],
    );
    let title = tr(lang, "作業者", "Operators");
    let Some(roster) = roster else {
        let note = tr(
            lang,
            "従事者名簿（roster.yml）を読めないため、作業者を記載できません。",
            "The roster (roster.yml) could not be read: operators are not listed.",
        );
        return Section::of_table("operators", title, table, vec![note]);
    };
    let today = generated.to_zoned(japan_time_zone().clone()).date();
    for p in roster.people().iter().filter(|p| p.role.is_operator()) {
        let state = if today < p.valid_from {
            tr(lang, "開始前", "not yet valid")
        } else if today > p.valid_until {
            tr(lang, "期間終了", "expired")
        } else {
            tr(lang, "有効", "valid")
        };
        table.push(vec![
            Cell::from(&p.id),
            Cell::from(&p.name),
            Cell::from(&p.organisation),
            p.role.to_string().into(),
            format!("{} – {}", p.valid_from, p.valid_until).into(),
            state.into(),
        ]);
    }
    let note = tr(
        lang,
        "作業者は従事者名簿（roster.yml）の有効な作業者に限ります。作業記録は作業者の鍵で署名されます。",
        "Only operators valid on the roster (roster.yml) may apply; the journal is signed with their key.",
    );
    Section::of_table("operators", title, table, vec![note])
}

/// One approval line: who signed and when, or why the line fails.
fn approval_row(a: &ReviewedApproval, lang: Language) -> Vec<Cell> {
    match (&a.outcome, &a.entry) {
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
                .map_or(Cell::Empty, |e| jst_text(&e.time).into()),
            entry.as_ref().map_or(Cell::Empty, |e| Cell::from(&e.key)),
            tr(lang, &format!("無効: {why}"), &format!("INVALID: {why}")).into(),
        ],
    }
}

/// 承認: every line of the approvals file, checked, and what an approval is.
pub(super) fn approvals(
    plan: &Plan,
    approvals: &[ReviewedApproval],
    required: usize,
    lang: Language,
) -> Section {
    let mut table = Table::new(
        lang,
        &[
            number("行", "Line"),
            text("承認者ID", "Approver"),
            text("氏名", "Name"),
            text("所属", "Organisation"),
            date("承認日時(JST)", "Approved (JST)"),
            text("鍵", "Key"),
            text("検証", "Check"),
        ],
    );
    for a in approvals {
        table.push(approval_row(a, lang));
    }
    let note = if approvals.is_empty() {
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
    Section::of_table(
        "approvals",
        tr(lang, "承認", "Approvals"),
        table,
        vec![note],
    )
}
