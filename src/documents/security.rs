//! セキュリティ保全状況報告書 (monthly security status report), from the roster and a month of
//! journals in `logs/`.
//!
//! For the month (Japan time): the roster (who could apply or approve, and who joined or left),
//! password rotations and reveals, runs applied without approval or outside office hours with
//! the reasons given, media virus scans (scanner, signature database, result, per artifact and
//! terminal, from `media_scan` records; `patch`/`package` steps without one are listed too),
//! host keys that changed (a terminal's fingerprint in the month's intents differs from the one
//! before it, in any earlier journal: a new key was trusted), and every journal's verification.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::journals::{self, Journal, Verifications};
use super::model::{Cell, Document, Section, Table, date, number, text};
use super::monthly::Month;
use super::words::{jst, jst_text, people, person, status, verification_status};
use super::{DocumentError, Language, tr};
use crate::journal::{NO_PLAN, Record};
use crate::roster::{Role, Roster};

/// The month's first and last day.
fn days(month: Month) -> (Date, Date) {
    let first = jiff::civil::date(month.year, month.month, 1);
    (first, first.last_of_month())
}

/// The 報告書 of `month`. `generated` is the time the report is made.
pub fn security(
    logs: &std::path::Path,
    month: Month,
    roster: &Roster,
    lang: Language,
    generated: Timestamp,
) -> Result<Document, DocumentError> {
    let mut all = journals::read_dir(logs).map_err(|source| DocumentError::Read {
        path: logs.to_path_buf(),
        source,
    })?;
    all.sort_by_key(|j| j.start());
    let here: Vec<&Journal> = all
        .iter()
        .filter(|j| j.start().is_some_and(|t| month.contains(t)))
        .collect();
    let mut doc = Document::new(
        lang,
        tr(
            lang,
            &format!(
                "セキュリティ保全状況報告書（{}年{}月）",
                month.year, month.month
            ),
            &format!("Security status report {month}"),
        ),
    );
    let people = roster_section(roster, month, lang);
    let secrets = secrets_section(&here, roster, lang);
    let exceptions = exceptions_section(&here, roster, lang, &mut doc.flags);
    let media = media_section(&here, lang);
    let host_keys = host_key_section(&all, month, lang);
    let verified = Verifications::of(here.iter().copied(), roster);
    let bad = verified.failing(here.iter().copied());
    let journals_section = verification_section(&here, &verified, roster, lang);
    if bad > 0 {
        doc.flags.push(tr(
            lang,
            &format!("検証で問題が見つかった作業記録が {bad} 件あります。"),
            &format!("{bad} journal(s) do not verify."),
        ));
    }
    if !host_keys.table().rows.is_empty() {
        doc.flags.push(tr(
            lang,
            &format!(
                "ホスト鍵が変わった端末が {} 台あります（再導入の記録と照合してください）。",
                host_keys.table().rows.len()
            ),
            &format!(
                "{} terminal(s) presented a new host key (check against the reinstallation records).",
                host_keys.table().rows.len()
            ),
        ));
    }
    doc.summarise(tr(lang, "文書", "Document"), doc.title.clone());
    doc.summarise(tr(lang, "対象月", "Month"), month.to_string());
    doc.summarise(
        tr(lang, "作成日時", "Generated"),
        format!("{} JST", jst(generated)),
    );
    doc.summarise(
        tr(
            lang,
            "従事者（当月有効）",
            "People on the roster (valid this month)",
        ),
        people.table().rows.len().to_string(),
    );
    doc.summarise(
        tr(
            lang,
            "パスワード変更・開示",
            "Password rotations and reveals",
        ),
        secrets.table().rows.len().to_string(),
    );
    doc.summarise(
        tr(
            lang,
            "未承認・時間外の実行",
            "Unapproved or out-of-hours runs",
        ),
        exceptions.table().rows.len().to_string(),
    );
    doc.summarise(
        tr(lang, "媒体の検査", "Media checks"),
        media.table().rows.len().to_string(),
    );
    doc.summarise(
        tr(lang, "ホスト鍵の変更", "Host-key changes"),
        host_keys.table().rows.len().to_string(),
    );
    doc.summarise(
        tr(lang, "記録の検証", "Journal verification"),
        super::words::journals_verified(bad, lang),
    );
    doc.sections = vec![
        people,
        secrets,
        exceptions,
        media,
        host_keys,
        journals_section,
    ];
    Ok(doc)
}

/// Everyone valid on some day of the month, and whether they joined or left in it.
fn roster_section(roster: &Roster, month: Month, lang: Language) -> Section {
    let (first, last) = days(month);
    let mut table = Table::new(
        lang,
        &[
            text("ID", "ID"),
            text("氏名", "Name"),
            text("所属", "Organisation"),
            text("役割", "Role"),
            date("有効期間(開始)", "Valid from"),
            date("有効期間(終了)", "Valid until"),
            text("当月の変更", "Change this month"),
        ],
    );
    for p in roster.people() {
        if p.valid_until < first || p.valid_from > last {
            continue;
        }
        let joined = p.valid_from >= first;
        let left = p.valid_until <= last;
        let change = match (joined, left) {
            (true, true) => tr(lang, "追加・終了", "added and ended"),
            (true, false) => tr(lang, "追加", "added"),
            (false, true) => tr(lang, "終了", "ended"),
            (false, false) => String::new(),
        };
        table.push(vec![
            Cell::from(&p.id),
            Cell::from(&p.name),
            Cell::from(&p.organisation),
            match p.role {
                Role::Operator => tr(lang, "作業者", "operator"),
                Role::Approver => tr(lang, "承認者", "approver"),
                Role::Both => tr(lang, "作業者・承認者", "operator and approver"),
            }
            .into(),
            p.valid_from.to_string().into(),
            p.valid_until.to_string().into(),
            if change.is_empty() {
                Cell::Empty
            } else {
                change.into()
            },
        ]);
    }
    Section::of_table(
        "roster",
        tr(lang, "従事者名簿", "Roster"),
        table,
        vec![tr(
            lang,
            "当月に一日でも有効だった従事者です。「当月の変更」は有効期間が当月に始まった・終わった者を示します。",
            "Everyone valid on at least one day of the month; the last column marks validity that began or ended in it.",
        )],
    )
}

/// Password rotations and reveals, in time order.
fn secrets_section(here: &[&Journal], roster: &Roster, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("種別", "What"),
            text("端末", "Terminal"),
            text("対象", "Account / secret"),
            text("作業者", "Operator"),
            text("理由", "Reason"),
            text("実行ID", "Run"),
        ],
    );
    for j in here {
        for line in &j.lines {
            let (what, terminal, target, reason) = match &line.record {
                Record::Rotation(r) => (
                    tr(lang, "パスワード変更", "rotation"),
                    Cell::from(&r.terminal),
                    format!("{} ({})", r.account, r.secret),
                    r.reason.clone(),
                ),
                Record::Reveal(r) => (
                    tr(lang, "パスワード開示", "reveal"),
                    r.terminal.as_ref().map_or(Cell::Empty, Cell::from),
                    r.secret.clone(),
                    Some(r.reason.clone()),
                ),
                _ => continue,
            };
            table.push(vec![
                jst_text(&line.time).into(),
                what.into(),
                terminal,
                target.into(),
                person(roster, &line.operator).into(),
                reason.map_or(Cell::Empty, Cell::from),
                j.run_id().into(),
            ]);
        }
    }
    Section::of_table(
        "secrets",
        tr(
            lang,
            "パスワードの変更と開示",
            "Password rotations and reveals",
        ),
        table,
        Vec::new(),
    )
    .when_empty(lang, "当月はありません。", "None this month.")
}

/// Runs without prior approval, and work outside office hours, with the reasons given.
fn exceptions_section(
    here: &[&Journal],
    roster: &Roster,
    lang: Language,
    flags: &mut Vec<String>,
) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("開始(JST)", "Started (JST)"),
            text("実行ID", "Run"),
            text("種別", "What"),
            text("作業者", "Operators"),
            text("理由", "Reason"),
        ],
    );
    for j in here {
        let operators = people(roster, &j.run.operators);
        let started = j.start().map_or(Cell::Empty, |t| jst(t).into());
        let applies_a_plan = j
            .run
            .start
            .as_ref()
            .is_some_and(|(_, s)| s.plan_digest != NO_PLAN);
        if let Some(reason) = j.unapproved_reason().filter(|_| applies_a_plan) {
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
            table.push(vec![
                started.clone(),
                j.run_id().into(),
                tr(lang, "未承認", "unapproved").into(),
                Cell::from(&operators),
                reason.into(),
            ]);
        }
        for line in &j.lines {
            if let Record::OutsideWindow(w) = &line.record {
                table.push(vec![
                    jst_text(&line.time).into(),
                    j.run_id().into(),
                    tr(lang, "開庁時間外", "outside office hours").into(),
                    Cell::from(&operators),
                    Cell::from(&w.reason),
                ]);
            }
        }
    }
    Section::of_table(
        "exceptions",
        tr(
            lang,
            "未承認・時間外の作業",
            "Unapproved or out-of-hours work",
        ),
        table,
        Vec::new(),
    )
    .when_empty(lang, "当月はありません。", "None this month.")
}

/// Virus scans of media: the `media_scan` records, and `patch`/`package` steps without one.
fn media_section(here: &[&Journal], lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("実行ID", "Run"),
            text("端末", "Terminal"),
            text("作業ID", "Job"),
            text("媒体", "Artifact"),
            text("検査ソフト", "Scanner"),
            text("バージョン", "Version"),
            text("定義ファイル", "Signature database"),
            text("検査結果", "Scan result"),
            text("作業結果", "Task result"),
        ],
    );
    for j in here {
        let mut scanned: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for line in &j.lines {
            if let Record::MediaScan(m) = &line.record {
                scanned.insert(
                    (m.terminal.clone(), m.job.clone(), m.task.clone()),
                    table.rows.len(),
                );
                table.push(vec![
                    jst_text(&line.time).into(),
                    j.run_id().into(),
                    Cell::from(&m.terminal),
                    Cell::from(&m.job),
                    format!("{} (sha256 {})", m.artifact, m.sha256).into(),
                    Cell::from(&m.scanner),
                    Cell::from(&m.version),
                    m.database.as_ref().map_or(Cell::Empty, Cell::from),
                    Cell::from(&m.result),
                    Cell::Empty,
                ]);
            }
        }
        for (terminal, s) in j.steps() {
            if !matches!(s.action.as_deref(), Some("patch" | "package")) {
                continue;
            }
            let result: Cell = s
                .result
                .as_ref()
                .map_or(Cell::Empty, |r| status(r.status, lang).into());
            let key = (terminal.to_string(), s.job.clone(), s.task.clone());
            match scanned.get(&key) {
                Some(&row) => table.rows[row][9] = result,
                None => table.push(vec![
                    jst_text(&s.time).into(),
                    j.run_id().into(),
                    terminal.into(),
                    Cell::from(&s.job),
                    s.change.as_ref().map_or(Cell::Empty, Cell::from),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    tr(lang, "記録なし", "not recorded").into(),
                    result,
                ]),
            }
        }
    }
    Section::of_table(
        "media",
        tr(lang, "媒体の検査", "Media checks"),
        table,
        Vec::new(),
    )
    .when_empty(
        lang,
        "当月の媒体の導入はありません。",
        "No media were installed this month.",
    )
}

/// Terminals whose host key in the month differs from the one seen before.
fn host_key_section(all: &[Journal], month: Month, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            date("日時(JST)", "Time (JST)"),
            text("端末", "Terminal"),
            text("以前の鍵", "Previous key"),
            text("新しい鍵", "New key"),
            text("実行ID", "Run"),
        ],
    );
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    // `all` is in start order, so each terminal's keys are seen in time order.
    for j in all {
        let in_month = j.start().is_some_and(|t| month.contains(t));
        let mut steps = j.steps();
        steps.sort_by(|a, b| a.1.time.cmp(&b.1.time));
        for (terminal, s) in steps {
            let Some(key) = s.host_key.as_ref().filter(|k| !k.is_empty()) else {
                continue;
            };
            if let Some(previous) = last.insert(terminal.to_string(), key.clone())
                && previous != *key
                && in_month
            {
                table.push(vec![
                    jst_text(&s.time).into(),
                    terminal.into(),
                    previous.into(),
                    Cell::from(key),
                    j.run_id().into(),
                ]);
            }
        }
    }
    Section::of_table(
        "host_keys",
        tr(lang, "ホスト鍵の変更", "Host-key changes"),
        table,
        Vec::new(),
    )
    .when_empty(
        lang,
        "当月にホスト鍵が変わった端末はありません。",
        "No terminal presented a new host key this month.",
    )
}

/// Every journal of the month and whether it verifies.
fn verification_section(
    here: &[&Journal],
    verified: &Verifications,
    roster: &Roster,
    lang: Language,
) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("実行ID", "Run"),
            date("開始(JST)", "Started (JST)"),
            number("記録数", "Records"),
            text("署名者", "Signed by"),
            text("末尾ハッシュ", "Head"),
            text("記録の検証", "Verification"),
        ],
    );
    for j in here {
        let Some(report) = verified.report(j) else {
            continue;
        };
        table.push(vec![
            j.run_id().into(),
            j.start().map_or(Cell::Empty, |t| jst(t).into()),
            report.records.into(),
            people(roster, &report.signers).into(),
            report.head.as_ref().map_or(Cell::Empty, Cell::from),
            verification_status(report, lang).into(),
        ]);
    }
    Section::of_table(
        "journals",
        tr(lang, "作業記録の検証", "Journal verification"),
        table,
        Vec::new(),
    )
    .when_empty(lang, "当月の記録はありません。", "No journals this month.")
}
