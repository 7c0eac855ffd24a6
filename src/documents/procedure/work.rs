//! What the 作業手順書 works on: the jobs and why (作業一覧), the sites (拠点別対象), the
//! terminals (対象端末), the inputs the plan pins (固定された入力) and the plan's warnings.

use crate::documents::model::{Cell, Section, Table, date, duration, number, text};
use crate::documents::words::kind;
use crate::documents::{Language, tr};
use crate::plan::{Plan, PlannedSite};

/// Minutes from the first terminal started to the last finished at a site that works on
/// `capacity` terminals at once: each terminal goes to the least busy slot, longest first.
pub(super) fn site_minutes(site: &PlannedSite) -> u64 {
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

/// 作業一覧: each job, why (provenance), when and how long.
pub(super) fn jobs(plan: &Plan, lang: Language) -> Section {
    let mut jobs = Table::new(
        lang,
        &[
            text("作業ID", "Job"),
            text("件名", "Title"),
            text("種別", "Kind"),
            text("根拠", "Provenance"),
            date("根拠の日付", "Dated"),
            text("目的・備考", "Purpose / note"),
            text("緊急度", "Urgency"),
            date("着手可能日", "Not before"),
            date("期限", "Deadline"),
            text("他作業との同時実施", "Batchable"),
            number("端末数", "Terminals"),
            text("拠点", "Sites"),
            duration("端末あたり(分)", "Min/terminal"),
            duration("作業量(端末・分)", "Terminal-minutes"),
        ],
    );
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
    Section::of_table("jobs", tr(lang, "作業一覧", "Jobs"), jobs, Vec::new())
}

/// 拠点別対象: per site, its terminals, capacity and expected minutes.
pub(super) fn targets(plan: &Plan, lang: Language) -> Section {
    let mut sites = Table::new(
        lang,
        &[
            text("拠点ID", "Site"),
            text("拠点名", "Name"),
            number("台数", "Terminals"),
            text("対象端末", "Terminal ids"),
            number("同時作業数", "At once"),
            duration("作業量(端末・分)", "Terminal-minutes"),
            duration("見込み所要時間(分)", "Expected minutes"),
            text("踏み台", "Jump host"),
        ],
    );
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
    Section::of_table(
        "targets",
        tr(lang, "拠点別対象", "Targets by site"),
        sites,
        vec![tr(
            lang,
            "見込み所要時間は、同時作業数の範囲で端末を並行して作業した場合の目安です。",
            "Expected minutes assume the site's terminals are worked on in parallel up to its capacity.",
        )],
    )
}

/// 対象端末: each terminal, its site's name, login and jobs.
pub(super) fn terminals(plan: &Plan, lang: Language) -> Section {
    let mut terminals = Table::new(
        lang,
        &[
            text("端末", "Terminal"),
            text("拠点", "Site"),
            text("アドレス", "Address"),
            text("ユーザー", "User"),
            text("OS", "Platform"),
            text("作業", "Jobs"),
            number("タスク数", "Tasks"),
            number("対象外", "Skipped"),
            duration("予定(分)", "Minutes"),
        ],
    );
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
    Section::of_table(
        "terminals",
        tr(lang, "対象端末", "Terminals"),
        terminals,
        Vec::new(),
    )
}

/// 固定された入力: the files and secrets the plan pins.
pub(super) fn inputs(plan: &Plan, lang: Language) -> Section {
    let mut inputs = Table::new(
        lang,
        &[
            text("種別", "Kind"),
            text("名前", "Name"),
            text("SHA-256・版", "SHA-256 / version"),
        ],
    );
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
    Section::of_table(
        "inputs",
        tr(lang, "固定された入力", "Pinned inputs"),
        inputs,
        vec![tr(
            lang,
            "これらのいずれかが変わると計画ダイジェストが変わり、承認済みの計画は適用できなくなります。",
            "If any of these changes, the plan digest changes and an approved plan is refused.",
        )],
    )
}

/// 注意事項: the plan's warnings (none: no section).
pub(super) fn warnings(plan: &Plan, lang: Language) -> Option<Section> {
    if plan.warnings.is_empty() {
        return None;
    }
    let mut table = Table::new(lang, &[text("注意事項", "Warning")]);
    for w in &plan.warnings {
        table.push(vec![Cell::from(w)]);
    }
    Some(Section::of_table(
        "warnings",
        tr(lang, "注意事項", "Warnings"),
        table,
        Vec::new(),
    ))
}
