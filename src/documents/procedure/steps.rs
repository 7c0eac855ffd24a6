//! The steps of the 作業手順書: every job's steps in order with what each does and where it
//! runs (作業手順), the same steps grouped by terminals whose steps are identical with only
//! what differs written per terminal (作業手順(まとめ), 端末ごとの差異), and how to undo each
//! step (切り戻し).

use std::collections::BTreeSet;

use crate::documents::model::{Cell, Section, Table, number, text};
use crate::documents::words::rollback as undo;
use crate::documents::{Language, tr};
use crate::plan::groups::{step_groups, terminal_ranges};
use crate::plan::{Plan, PlannedTask, task_summary};

/// One step of a job, over every terminal it is planned on.
struct Step<'a> {
    /// A terminal's instance, for the description (the first one that runs it).
    task: &'a PlannedTask,
    runs_on: usize,
    skipped: usize,
    skip_reasons: BTreeSet<&'a str>,
}

/// The steps of `job` in the order they run: the order of the tasks on each terminal, which is
/// the same for every terminal of a job.
fn job_steps<'a>(plan: &'a Plan, job: &str) -> Vec<Step<'a>> {
    let mut out: Vec<Step<'a>> = Vec::new();
    for terminal in plan.sites.iter().flat_map(|s| &s.terminals) {
        for task in terminal.tasks.iter().filter(|t| t.job == job) {
            let i = match out.iter().position(|s| s.task.task == task.task) {
                Some(i) => i,
                None => {
                    out.push(Step {
                        task,
                        runs_on: 0,
                        skipped: 0,
                        skip_reasons: BTreeSet::new(),
                    });
                    out.len() - 1
                }
            };
            let step = &mut out[i];
            match &task.skip {
                Some(why) => {
                    step.skipped += 1;
                    step.skip_reasons.insert(why);
                }
                None => {
                    // Describe the step as it runs, not as it is skipped.
                    if step.runs_on == 0 {
                        step.task = task;
                    }
                    step.runs_on += 1;
                }
            }
        }
    }
    out
}

/// A step's name, marked when it is a handler.
fn step_name(task: &PlannedTask, lang: Language) -> String {
    if task.handler {
        tr(
            lang,
            &format!("{}（通知時のみ）", task.name),
            &format!("{} (handler, only when notified)", task.name),
        )
    } else {
        task.name.clone()
    }
}

/// On how many terminals a step is skipped, and why (empty when it runs everywhere).
fn skipped(step: &Step<'_>, lang: Language) -> Cell {
    if step.skipped == 0 {
        return Cell::Empty;
    }
    let reasons = step
        .skip_reasons
        .iter()
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    tr(
        lang,
        &format!("{} 台（{reasons}）", step.skipped),
        &format!("{} ({reasons})", step.skipped),
    )
    .into()
}

/// 作業手順: the ordered steps of each job, what each does, what it needs and where it runs.
pub(super) fn steps(plan: &Plan, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("作業ID", "Job"),
            number("No.", "#"),
            text("手順", "Step"),
            text("操作", "Action"),
            text("内容", "What it does"),
            text("前提", "Needs"),
            number("実施端末数", "Runs on"),
            text("対象外", "Skipped on"),
        ],
    );
    for j in &plan.jobs {
        for (i, step) in job_steps(plan, &j.id).iter().enumerate() {
            table.push(vec![
                Cell::from(&j.id),
                (i + 1).into(),
                step_name(step.task, lang).into(),
                Cell::from(&step.task.action),
                task_summary(step.task, lang).into(),
                step.task.needs.join(", ").into(),
                step.runs_on.into(),
                skipped(step, lang),
            ]);
        }
    }
    let note = tr(
        lang,
        "各端末では上から順に実施します。端末ごとの値（ファイルの内容など）は計画（JSON）に記載されています。",
        "Each terminal runs the steps top to bottom; per-terminal values (file contents and so on) are in the JSON plan.",
    );
    Section::of_table(
        "steps",
        tr(lang, "作業手順", "Procedure"),
        table,
        vec![note],
    )
}

/// 切り戻し: how to undo each step of each job.
pub(super) fn rollback(plan: &Plan, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("作業ID", "Job"),
            number("No.", "#"),
            text("手順", "Step"),
            text("操作", "Action"),
            text("切り戻し方法", "How to undo"),
        ],
    );
    for j in &plan.jobs {
        for (i, step) in job_steps(plan, &j.id).iter().enumerate() {
            table.push(vec![
                Cell::from(&j.id),
                (i + 1).into(),
                step_name(step.task, lang).into(),
                Cell::from(&step.task.action),
                undo(step.task, lang).into(),
            ]);
        }
    }
    let note = tr(
        lang,
        "<実行ID> は作業記録（logs/<実行ID>.jsonl）の実行IDです。",
        "<run> is the run id of the journal (logs/<run>.jsonl).",
    );
    Section::of_table(
        "rollback",
        tr(lang, "切り戻し", "Rollback"),
        table,
        vec![note],
    )
}

/// 作業手順(まとめ) and 端末ごとの差異: each group's steps once, and the steps whose rendered
/// arguments differ between the group's terminals, per terminal.
pub(super) fn grouped(plan: &Plan, lang: Language) -> [Section; 2] {
    let mut steps = Table::new(
        lang,
        &[
            text("グループ", "Group"),
            text("対象端末", "Terminals"),
            number("No.", "#"),
            text("手順", "Step"),
            text("内容", "What it does"),
        ],
    );
    let mut differences = Table::new(
        lang,
        &[
            text("グループ", "Group"),
            number("No.", "#"),
            text("手順", "Step"),
            text("端末", "Terminal"),
            text("内容", "What it does"),
        ],
    );
    let groups = step_groups(plan);
    let mut notes = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let label = format!("G{}", g + 1);
        let ids: Vec<&str> = group.terminals.iter().map(|t| t.id.as_str()).collect();
        let first = group.terminals[0];
        let tasks: Vec<_> = first.tasks.iter().filter(|t| t.skip.is_none()).collect();
        notes.push(tr(
            lang,
            &format!(
                "{label}: {} ({}台): 同じ{}手順",
                terminal_ranges(&ids),
                ids.len(),
                tasks.len()
            ),
            &format!(
                "{label}: {} ({} terminals): the same {} steps",
                terminal_ranges(&ids),
                ids.len(),
                tasks.len()
            ),
        ));
        for (n, task) in tasks.iter().enumerate() {
            let summaries: Vec<String> = group
                .terminals
                .iter()
                .map(|t| {
                    t.tasks
                        .iter()
                        .find(|x| x.key == task.key)
                        .map(|x| task_summary(x, lang))
                        .unwrap_or_default()
                })
                .collect();
            let same = summaries.iter().all(|s| *s == summaries[0]);
            steps.push(vec![
                if n == 0 {
                    label.clone().into()
                } else {
                    Cell::Empty
                },
                if n == 0 {
                    format!("{} ({})", terminal_ranges(&ids), ids.len()).into()
                } else {
                    Cell::Empty
                },
                (n + 1).into(),
                Cell::from(&task.name),
                if same {
                    summaries[0].clone().into()
                } else {
                    tr(
                        lang,
                        "端末ごとに異なる(「端末ごとの差異」参照)",
                        "differs per terminal (see Differences)",
                    )
                    .into()
                },
            ]);
            if !same {
                for (terminal, summary) in group.terminals.iter().zip(&summaries) {
                    differences.push(vec![
                        label.clone().into(),
                        (n + 1).into(),
                        Cell::from(&task.name),
                        Cell::from(&terminal.id),
                        summary.clone().into(),
                    ]);
                }
            }
        }
    }
    [
        Section::of_table(
            "step_groups",
            tr(lang, "作業手順(まとめ)", "Steps by group"),
            steps,
            notes,
        ),
        Section::of_table(
            "step_differences",
            tr(lang, "端末ごとの差異", "Differences"),
            differences,
            Vec::new(),
        )
        .when_empty(
            lang,
            "グループ内で内容が異なる手順はありません。",
            "No step differs between the terminals of a group.",
        ),
    ]
}
