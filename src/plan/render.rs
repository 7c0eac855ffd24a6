//! Plans for people: `text` for engineers at a terminal, `markdown` as the procedure document a
//! city official approves (Japanese headings with `--lang ja`).

use std::fmt::Write as _;

use super::schedule_render::{self, banner};
use super::{Plan, PlannedTask};
use crate::playbook::ProvenanceSource;

/// Language of headings and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

/// A one-line summary of what a task does, from its rendered arguments.
pub fn task_summary(task: &PlannedTask) -> String {
    let a = &task.args;
    let s = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let list = |k: &str| -> String {
        a.get(k)
            .and_then(|v| v.as_array())
            .map(|v| {
                v.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let mode = |out: &mut String| {
        for (k, label) in [("mode", "mode"), ("owner", "owner"), ("group", "group")] {
            if !s(k).is_empty() {
                let _ = write!(out, " {label} {}", s(k));
            }
        }
    };
    match task.action.as_str() {
        "command" => {
            let mut out = format!("$ {}", one_line(s("cmd")));
            if !s("creates").is_empty() {
                let _ = write!(out, "  (unless {} exists)", s("creates"));
            }
            if !s("unless").is_empty() {
                let _ = write!(out, "  (unless `{}` succeeds)", one_line(s("unless")));
            }
            out
        }
        "file" => {
            let state = s("state");
            let mut out = match state {
                "absent" => format!("remove {}", s("path")),
                "directory" => format!("directory {}", s("path")),
                _ => format!(
                    "file {} ({} bytes)",
                    s("path"),
                    a.get("content")
                        .and_then(|c| c.as_str())
                        .map_or(0, str::len)
                ),
            };
            mode(&mut out);
            out
        }
        "template" => {
            let mut out = format!(
                "template {} -> {} (sha256 {})",
                s("src"),
                s("dest"),
                short(s("content_sha256"))
            );
            mode(&mut out);
            out
        }
        "package" | "patch" => format!(
            "install {} {} from artifact {} (sha256 {}{})",
            s("package"),
            s("version"),
            s("artifact"),
            short(s("sha256")),
            if a.get("scan").and_then(|v| v.as_bool()) == Some(true) {
                ", virus-scanned first"
            } else {
                ""
            }
        ),
        "password" => format!("rotate the password of `{}`", s("user")),
        "inspect" => {
            let mut parts = Vec::new();
            if !list("packages").is_empty() {
                parts.push(format!("packages [{}]", list("packages")));
            }
            if !list("files").is_empty() {
                parts.push(format!("files [{}]", list("files")));
            }
            if a.get("disk").and_then(|v| v.as_bool()) != Some(false) {
                parts.push("disk usage".to_string());
            }
            format!("inspect {}", parts.join(", "))
        }
        "fetch" => format!("collect {}", list("paths")),
        "reboot" => format!(
            "reboot and wait up to {}s",
            a.get("timeout_secs").and_then(|v| v.as_u64()).unwrap_or(0)
        ),
        other => other.to_string(),
    }
}

fn secret_list(plan: &Plan) -> String {
    plan.inputs
        .secrets
        .iter()
        .map(|s| match s.version {
            Some(v) => format!("{} (v{v})", s.name),
            None => s.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_line(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    if s.lines().count() > 1 {
        format!("{first} …")
    } else {
        first.to_string()
    }
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

fn source_label(source: ProvenanceSource, lang: Language) -> &'static str {
    match (source, lang) {
        (ProvenanceSource::VendorNotice, Language::En) => "vendor notice",
        (ProvenanceSource::CityInstruction, Language::En) => "city instruction",
        (ProvenanceSource::Contract, Language::En) => "contract",
        (ProvenanceSource::Internal, Language::En) => "internal",
        (ProvenanceSource::VendorNotice, Language::Ja) => "ベンダー通知",
        (ProvenanceSource::CityInstruction, Language::Ja) => "市からの指示",
        (ProvenanceSource::Contract, Language::Ja) => "契約",
        (ProvenanceSource::Internal, Language::Ja) => "受託者判断",
    }
}

fn date_or_dash(d: Option<jiff::civil::Date>) -> String {
    d.map_or_else(|| "-".to_string(), |d| d.to_string())
}

/// The plan for an engineer: per site, per terminal, the ordered tasks.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan {}", plan.digest);
    if let Some(warning) = plan.schedule.as_ref().and_then(|s| banner(s, Language::En)) {
        let _ = writeln!(out, "\nwarning: the schedule is {warning}");
    }
    let _ = writeln!(out, "\nJobs (in the order they run on each terminal):");
    for j in &plan.jobs {
        let _ = writeln!(
            out,
            "  {:<28} {} [{}, {} {}] {} {}..{}{} ~{} min/terminal, {} terminals",
            j.id,
            j.title,
            j.kind.name_en(),
            source_label(j.provenance.source, Language::En),
            j.provenance.reference,
            format!("{:?}", j.urgency).to_lowercase(),
            date_or_dash(j.earliest_start),
            date_or_dash(j.deadline),
            if j.batchable {
                " batchable"
            } else {
                " not batchable"
            },
            j.minutes_per_terminal,
            j.terminals
        );
    }
    if let Some(schedule) = &plan.schedule {
        out.push_str(&schedule_render::text(
            schedule,
            plan.request.schedule.as_ref(),
        ));
    }
    for site in &plan.sites {
        let _ = writeln!(
            out,
            "\nSite {} {} (capacity {}, {} terminals, ~{} terminal-minutes){}",
            site.id,
            site.name,
            site.capacity,
            site.terminals.len(),
            site.estimated_minutes,
            site.jump
                .as_ref()
                .map(|j| format!(" via {j}"))
                .unwrap_or_default()
        );
        for t in &site.terminals {
            let _ = writeln!(
                out,
                "  {} {}@{}:{}{} {}",
                t.id,
                t.user,
                t.address,
                t.port,
                t.become_note(),
                t.platform
            );
            for (i, task) in t.tasks.iter().enumerate() {
                let marker = if task.handler { "handler " } else { "" };
                let _ = writeln!(
                    out,
                    "    {:>2}. {marker}{} ({}): {}",
                    i + 1,
                    task.name,
                    task.key,
                    task_summary(task)
                );
                if let Some(why) = &task.skip {
                    let _ = writeln!(out, "        skipped: {why}");
                }
            }
        }
    }
    let t = &plan.totals;
    let _ = writeln!(
        out,
        "\nTotals: {} sites, {} terminals, {} jobs, {} tasks ({} skipped), ~{} terminal-minutes",
        t.sites, t.terminals, t.jobs, t.tasks, t.skipped, t.estimated_minutes
    );
    if !plan.inputs.secrets.is_empty() {
        let _ = writeln!(
            out,
            "Secrets referenced (values never shown): {}",
            secret_list(plan)
        );
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

struct Labels {
    title: &'static str,
    digest: &'static str,
    jobs: &'static str,
    job_cols: &'static str,
    targets: &'static str,
    target_cols: &'static str,
    procedure: &'static str,
    step_cols: &'static str,
    runs_on: &'static str,
    terminals: &'static str,
    terminal_cols: &'static str,
    inputs: &'static str,
    totals: &'static str,
    warnings: &'static str,
    handler: &'static str,
    yes: &'static str,
    no: &'static str,
}

const EN: Labels = Labels {
    title: "Work procedure",
    digest: "Plan digest",
    jobs: "Jobs",
    job_cols: "| Job | Title | Kind | Provenance | Urgency | Window | Batchable | Min/terminal | Terminals |\n|---|---|---|---|---|---|---|---|---|",
    targets: "Targets by site",
    target_cols: "| Site | Name | Capacity | Terminals | Terminal-minutes |\n|---|---|---|---|---|",
    procedure: "Procedure",
    step_cols: "| # | Step | Action | Needs |\n|---|---|---|---|",
    runs_on: "Runs on",
    terminals: "Terminals",
    terminal_cols: "| Terminal | Address | User | Jobs | Tasks | Skipped |\n|---|---|---|---|---|---|",
    inputs: "Pinned inputs",
    totals: "Totals",
    warnings: "Warnings",
    handler: "(handler, only when notified)",
    yes: "yes",
    no: "no",
};

const JA: Labels = Labels {
    title: "作業手順書",
    digest: "計画ダイジェスト",
    jobs: "作業一覧",
    job_cols: "| 作業ID | 件名 | 種別 | 根拠 | 緊急度 | 実施期間 | 同時実施 | 端末あたり(分) | 端末数 |\n|---|---|---|---|---|---|---|---|---|",
    targets: "拠点別対象",
    target_cols: "| 拠点 | 名称 | 同時作業数 | 端末数 | 作業時間(端末・分) |\n|---|---|---|---|---|",
    procedure: "作業手順",
    step_cols: "| No. | 手順 | 内容 | 前提 |\n|---|---|---|---|",
    runs_on: "対象",
    terminals: "端末一覧",
    terminal_cols: "| 端末 | アドレス | ユーザー | 作業 | タスク数 | 対象外 |\n|---|---|---|---|---|---|",
    inputs: "固定された入力",
    totals: "合計",
    warnings: "注意事項",
    handler: "（ハンドラ：通知時のみ実行）",
    yes: "可",
    no: "不可",
};

fn urgency_label(u: crate::playbook::Urgency, lang: Language) -> &'static str {
    use crate::playbook::Urgency::*;
    match (u, lang) {
        (Low, Language::En) => "low",
        (Normal, Language::En) => "normal",
        (Urgent, Language::En) => "urgent",
        (Low, Language::Ja) => "低",
        (Normal, Language::Ja) => "通常",
        (Urgent, Language::Ja) => "緊急",
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The plan as a procedure document for approval.
pub fn render_markdown(plan: &Plan, lang: Language) -> String {
    let l = match lang {
        Language::En => &EN,
        Language::Ja => &JA,
    };
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", l.title);
    let _ = writeln!(out, "{}: `{}`\n", l.digest, plan.digest);
    if let Some(warning) = plan.schedule.as_ref().and_then(|s| banner(s, lang)) {
        let _ = writeln!(out, "> **{warning}**\n");
    }
    let _ = writeln!(out, "## {}\n\n{}", l.jobs, l.job_cols);
    for j in &plan.jobs {
        let kind = match lang {
            Language::En => j.kind.name_en(),
            Language::Ja => j.kind.name_ja(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} {} | {} | {} | {} | {} | {} |",
            cell(&j.id),
            cell(&j.title),
            kind,
            source_label(j.provenance.source, lang),
            cell(&j.provenance.reference),
            urgency_label(j.urgency, lang),
            match (j.earliest_start, j.deadline, lang) {
                (None, None, Language::En) => "any time".to_string(),
                (None, None, Language::Ja) => "指定なし".to_string(),
                (start, end, _) => format!("{} – {}", date_or_dash(start), date_or_dash(end)),
            },
            if j.batchable { l.yes } else { l.no },
            j.minutes_per_terminal,
            j.terminals
        );
    }
    let _ = writeln!(out, "\n## {}\n\n{}", l.targets, l.target_cols);
    for s in &plan.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            s.id,
            cell(&s.name),
            s.capacity,
            s.terminals.len(),
            s.estimated_minutes
        );
    }
    if let Some(schedule) = &plan.schedule {
        out.push_str(&schedule_render::markdown(
            schedule,
            plan.request.schedule.as_ref(),
            lang,
        ));
    }
    let _ = writeln!(out, "\n## {}", l.procedure);
    for j in &plan.jobs {
        let _ = writeln!(out, "\n### {} {}\n", cell(&j.id), cell(&j.title));
        if let Some(note) = &j.provenance.note {
            let _ = writeln!(out, "{}\n", note);
        }
        let _ = writeln!(out, "{}: {}\n", l.runs_on, j.sites.join(", "));
        let _ = writeln!(out, "{}", l.step_cols);
        // Steps as they run on the first terminal that has every task of this job; the
        // per-terminal values are in the JSON plan.
        let example = plan
            .sites
            .iter()
            .flat_map(|s| &s.terminals)
            .filter(|t| t.jobs.contains(&j.id))
            .max_by_key(|t| {
                t.tasks
                    .iter()
                    .filter(|x| x.job == j.id && x.skip.is_none())
                    .count()
            });
        if let Some(t) = example {
            for (i, task) in t.tasks.iter().filter(|x| x.job == j.id).enumerate() {
                let needs: Vec<&str> = task.needs.iter().map(String::as_str).collect();
                let _ = writeln!(
                    out,
                    "| {} | {}{} | {} | {} |",
                    i + 1,
                    cell(&task.name),
                    if task.handler {
                        format!(" {}", l.handler)
                    } else {
                        String::new()
                    },
                    cell(&task_summary(task)),
                    cell(&needs.join(", "))
                );
            }
        }
    }
    let _ = writeln!(out, "\n## {}\n\n{}", l.terminals, l.terminal_cols);
    for s in &plan.sites {
        for t in &s.terminals {
            let _ = writeln!(
                out,
                "| {} | {}:{} | {} | {} | {} | {} |",
                t.id,
                t.address,
                t.port,
                cell(&format!("{}{}", t.user, t.become_note())),
                t.jobs.join(", "),
                t.tasks.len(),
                t.tasks.iter().filter(|x| x.skip.is_some()).count()
            );
        }
    }
    let _ = writeln!(out, "\n## {}\n", l.inputs);
    let _ = writeln!(out, "- inventory: `{}`", plan.inputs.inventory_sha256);
    for f in plan.inputs.playbooks.iter().chain(&plan.inputs.templates) {
        let _ = writeln!(out, "- {}: `{}`", f.path, f.sha256);
    }
    for a in &plan.inputs.artifacts {
        let _ = writeln!(
            out,
            "- {} ({} {}): `{}`",
            a.path, a.package, a.version, a.sha256
        );
    }
    if !plan.inputs.secrets.is_empty() {
        let _ = writeln!(out, "- secrets: {}", secret_list(plan));
    }
    let t = &plan.totals;
    let totals = match lang {
        Language::En => format!(
            "{} sites, {} terminals, {} jobs, {} tasks ({} skipped), ~{} terminal-minutes",
            t.sites, t.terminals, t.jobs, t.tasks, t.skipped, t.estimated_minutes
        ),
        Language::Ja => format!(
            "{} 拠点、{} 端末、{} 作業、{} タスク（うち対象外 {}）、作業時間 約 {} 端末・分",
            t.sites, t.terminals, t.jobs, t.tasks, t.skipped, t.estimated_minutes
        ),
    };
    let _ = writeln!(out, "\n## {}\n\n{totals}", l.totals);
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n## {}\n", l.warnings);
        for w in &plan.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    out
}
