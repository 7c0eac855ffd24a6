//! Plans for people: `text` for engineers at a terminal, `markdown` as the procedure document a
//! city official approves (Japanese headings with `--lang ja`).

use std::fmt::Write as _;

use super::{Plan, PlannedTask, PlannedTerminalRef};
use crate::language::Language;
use crate::schedule::{ScheduleView, banner};

/// A one-line summary of what a task does, from its rendered arguments, in `lang`: for the
/// plan, the procedure document (作業手順書) and the run's progress lines.
pub fn task_summary(task: &PlannedTask, lang: Language) -> String {
    let s = |k: &str| task.arg(k);
    let list = |k: &str| -> Vec<&str> {
        task.args
            .get(k)
            .and_then(|v| v.as_array())
            .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default()
    };
    let flag = |k: &str| task.args.get(k).and_then(|v| v.as_bool());
    let ja = lang == Language::Ja;
    // Mode, owner and group, where the task sets them.
    let attributes = || {
        let mut out = String::new();
        for (k, en, ja_label) in [
            ("mode", "mode", "権限"),
            ("owner", "owner", "所有者"),
            ("group", "group", "グループ"),
        ] {
            if !s(k).is_empty() {
                out.push_str(
                    &lang.pick(format!("、{ja_label} {}", s(k)), format!(" {en} {}", s(k))),
                );
            }
        }
        out
    };
    match task.action.as_str() {
        "command" => {
            let mut out = lang.pick("コマンド実行: ", "$ ").to_string() + &one_line(s("cmd"));
            if !s("creates").is_empty() {
                out.push_str(&lang.pick(
                    format!("（{} が無い場合のみ）", s("creates")),
                    format!("  (unless {} exists)", s("creates")),
                ));
            }
            if !s("unless").is_empty() {
                let unless = one_line(s("unless"));
                out.push_str(&lang.pick(
                    format!("（`{unless}` が成功する場合は実行しない）"),
                    format!("  (unless `{unless}` succeeds)"),
                ));
            }
            out
        }
        "file" => {
            let path = s("path");
            let bytes = s("content").len();
            let mut out = match (s("state"), ja) {
                ("absent", true) => format!("ファイル {path} を削除"),
                ("absent", false) => format!("remove {path}"),
                ("directory", true) => format!("ディレクトリ {path} を作成"),
                ("directory", false) => format!("directory {path}"),
                (_, true) => format!("ファイル {path} を配置（{bytes} バイト）"),
                (_, false) => format!("file {path} ({bytes} bytes)"),
            };
            out.push_str(&attributes());
            out
        }
        "template" => {
            let (src, dest, sha) = (s("src"), s("dest"), short(s("content_sha256")));
            let mut out = lang.pick(
                format!("テンプレート {src} から {dest} を生成（内容の SHA-256 {sha}）"),
                format!("template {src} -> {dest} (sha256 {sha})"),
            );
            out.push_str(&attributes());
            out
        }
        "package" | "patch" => {
            let (package, version, artifact) = (s("package"), s("version"), s("artifact"));
            let sha = short(s("sha256"));
            let scan = if flag("scan") == Some(true) {
                lang.pick("、導入前にウイルス検査", ", virus-scanned first")
            } else {
                ""
            };
            lang.pick(
                format!(
                    "パッケージ {package} {version} を導入（媒体 {artifact}、SHA-256 {sha}{scan}）"
                ),
                format!(
                    "install {package} {version} from artifact {artifact} (sha256 {sha}{scan})"
                ),
            )
        }
        "password" => lang.pick(
            format!("アカウント {} のパスワードを変更", s("user")),
            format!("rotate the password of `{}`", s("user")),
        ),
        "inspect" => {
            let mut parts = Vec::new();
            for (k, ja_label, en) in [
                ("packages", "パッケージ", "packages"),
                ("files", "ファイル", "files"),
            ] {
                if !list(k).is_empty() {
                    parts.push(format!(
                        "{} [{}]",
                        lang.pick(ja_label, en),
                        list(k).join(", ")
                    ));
                }
            }
            if flag("disk") != Some(false) {
                parts.push(lang.pick("ディスク使用量", "disk usage").to_string());
            }
            lang.pick(
                format!("点検: {}", parts.join("、")),
                format!("inspect {}", parts.join(", ")),
            )
        }
        "fetch" => lang.pick("ログ収集: ", "collect ").to_string() + &list("paths").join(", "),
        "reboot" => {
            let timeout = task
                .args
                .get("timeout_secs")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            lang.pick(
                format!("再起動（最大 {timeout} 秒待機）"),
                format!("reboot and wait up to {timeout}s"),
            )
        }
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

/// The plan's schedule section with the settings it was asked for, when it has one.
fn schedule_view(plan: &Plan) -> Option<ScheduleView<'_>> {
    let schedule = plan.schedule.as_ref()?;
    Some(schedule.view(plan.request.schedule.as_ref()))
}

fn date_or_dash(d: Option<jiff::civil::Date>) -> String {
    d.map_or_else(|| "-".to_string(), |d| d.to_string())
}

/// The plan for an engineer: per site, per terminal, the ordered tasks (every terminal in full;
/// [`render_text_grouped`] lists each distinct step list once).
pub fn render_text(plan: &Plan) -> String {
    render_text_with(plan, Listing::Full)
}

/// The plan for an engineer with the steps grouped: terminals whose steps are the same are
/// listed once with the step list, and a step whose rendered arguments differ shows each
/// terminal's (`seibi plan --verbose` prints [`render_text`] instead).
pub fn render_text_grouped(plan: &Plan) -> String {
    render_text_with(plan, Listing::Grouped)
}

/// How the text plan lists the terminals' steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// Every terminal with every step.
    Full,
    /// Each distinct step list once.
    Grouped,
}

fn render_text_with(plan: &Plan, listing: Listing) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan {}", plan.digest);
    if let Some(warning) = schedule_view(plan).and_then(|s| banner(&s, Language::En)) {
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
            j.provenance.source.label(Language::En),
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
    if let Some(schedule) = schedule_view(plan) {
        out.push('\n');
        out.push_str(&crate::schedule::render_text(&schedule));
    }
    if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
        let _ = writeln!(out, "\nCrews");
        for line in crate::schedule::crew::crew_lines(crews, Language::En) {
            let _ = writeln!(out, "  {line}");
        }
    }
    for (n, w) in plan.approved_windows().iter().enumerate() {
        if n == 0 {
            let _ = writeln!(
                out,
                "\nApproved out-of-hours windows (covered by this plan's approval):"
            );
        }
        let _ = writeln!(out, "  {}", w.describe(Language::En));
    }
    let groups = super::groups::step_group_views(plan);
    let group_index: std::collections::HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, terminals)| terminals.iter().map(move |t| (t.id, g)))
        .collect();
    let group_of = |id: &str| {
        group_index
            .get(id)
            .map_or(String::new(), |g| format!("  [G{}]", g + 1))
    };
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
        for t in site.terminals.views() {
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
            if listing == Listing::Grouped {
                out.truncate(out.trim_end_matches('\n').len());
                let _ = writeln!(out, "{}", group_of(t.id));
                continue;
            }
            for (i, task) in t.tasks.iter().enumerate() {
                let marker = if task.handler { "handler " } else { "" };
                let _ = writeln!(
                    out,
                    "    {:>2}. {marker}{} ({}): {}",
                    i + 1,
                    task.name,
                    task.key,
                    task_summary(task, Language::En)
                );
                if let Some(why) = &task.skip {
                    let _ = writeln!(out, "        skipped: {why}");
                }
            }
        }
    }
    if listing == Listing::Grouped {
        grouped_steps(&mut out, plan, &groups);
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

/// Each group's steps once; a step whose rendered arguments differ lists each terminal's.
fn grouped_steps(out: &mut String, plan: &Plan, groups: &[Vec<PlannedTerminalRef<'_>>]) {
    let _ = writeln!(
        out,
        "\nSteps, grouped ({} terminals, {} distinct step lists; `seibi plan --verbose` lists every terminal):",
        plan.totals.terminals,
        groups.len()
    );
    for (g, group) in groups.iter().enumerate() {
        let ids: Vec<&str> = group.iter().map(|t| t.id).collect();
        let first = group[0];
        let _ = writeln!(
            out,
            "\n  G{}: {} ({} terminals): the same {} steps",
            g + 1,
            super::groups::terminal_ranges(&ids),
            ids.len(),
            first.tasks.iter().filter(|t| t.skip.is_none()).count()
        );
        for (i, task) in first.tasks.iter().filter(|t| t.skip.is_none()).enumerate() {
            let marker = if task.handler { "handler " } else { "" };
            let summaries: Vec<String> = group
                .iter()
                .map(|t| {
                    t.tasks
                        .iter()
                        .find(|x| x.key == task.key)
                        .map(|x| task_summary(x, Language::En))
                        .unwrap_or_default()
                })
                .collect();
            if summaries.iter().all(|x| *x == summaries[0]) {
                let _ = writeln!(
                    out,
                    "    {:>2}. {marker}{} ({}): {}",
                    i + 1,
                    task.name,
                    task.key,
                    summaries[0]
                );
            } else {
                let _ = writeln!(
                    out,
                    "    {:>2}. {marker}{} ({}), per terminal:",
                    i + 1,
                    task.name,
                    task.key
                );
                for (t, summary) in group.iter().zip(&summaries) {
                    let _ = writeln!(out, "          {}: {summary}", t.id);
                }
            }
        }
    }
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
    if let Some(warning) = schedule_view(plan).and_then(|s| banner(&s, lang)) {
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
            j.provenance.source.label(lang),
            cell(&j.provenance.reference),
            j.urgency.label(lang),
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
    if let Some(schedule) = schedule_view(plan) {
        out.push('\n');
        out.push_str(&crate::schedule::render_markdown(&schedule, lang));
    }
    if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
        out.push('\n');
        out.push_str(&crate::schedule::crew::crew_markdown(crews, lang, 2));
    }
    for (n, w) in plan.approved_windows().iter().enumerate() {
        if n == 0 {
            let _ = writeln!(
                out,
                "\n{}\n",
                lang.pick(
                    "承認済みの時間外作業枠(本計画の承認に含まれる):",
                    "Approved out-of-hours windows (covered by this plan's approval):"
                )
            );
        }
        let _ = writeln!(out, "- {}", w.describe(lang));
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
            .flat_map(|s| s.terminals.views())
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
                    cell(&task_summary(task, lang)),
                    cell(&needs.join(", "))
                );
            }
        }
    }
    let _ = writeln!(out, "\n## {}\n\n{}", l.terminals, l.terminal_cols);
    for s in &plan.sites {
        for t in s.terminals.views() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn task(action: &str, args: serde_json::Value) -> PlannedTask {
        PlannedTask {
            key: "job/task".into(),
            job: "job".into(),
            task: "task".into(),
            name: "Task".into(),
            action: action.into(),
            args,
            needs: Vec::new(),
            notify: Vec::new(),
            handler: false,
            skip: None,
        }
    }

    #[test]
    fn a_task_reads_the_same_in_either_language() {
        let cases = [
            (
                task(
                    "file",
                    serde_json::json!({"path": "/etc/ntp.conf", "content": "server a\n",
                                       "mode": "0644", "owner": "root"}),
                ),
                "file /etc/ntp.conf (9 bytes) mode 0644 owner root",
                "ファイル /etc/ntp.conf を配置（9 バイト）、権限 0644、所有者 root",
            ),
            (
                task(
                    "command",
                    serde_json::json!({"cmd": "apt-get update\napt-get install -y openssl",
                                       "creates": "/var/done"}),
                ),
                "$ apt-get update …  (unless /var/done exists)",
                "コマンド実行: apt-get update …（/var/done が無い場合のみ）",
            ),
            (
                task(
                    "inspect",
                    serde_json::json!({"packages": ["openssl", "bash"]}),
                ),
                "inspect packages [openssl, bash], disk usage",
                "点検: パッケージ [openssl, bash]、ディスク使用量",
            ),
        ];
        for (task, en, ja) in &cases {
            assert_eq!(task_summary(task, Language::En), *en);
            assert_eq!(task_summary(task, Language::Ja), *ja);
        }
    }
}
