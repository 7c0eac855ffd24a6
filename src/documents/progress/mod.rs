//! How far an approved plan has got across its runs (`seibi status PLAN.json`), and the
//! 進捗報告書 (progress report) made from it (`seibi report progress PLAN.json`).
//!
//! [`PlanProgress::from_logs`] reads every journal in `logs/` whose `run_start.plan_digest` is the
//! plan's digest and gives each unit of the plan (a task on a terminal) one [`UnitState`]: the
//! state its results say, in time order, where a later success supersedes an earlier failure and
//! a later "did not run this time" (unreachable, busy, skipped) does not undo a success. A unit
//! in no journal is [`UnitState::NotRun`]. Check runs (`apply --check`) are listed but their
//! results count for nothing: they changed nothing. The plan is complete when every unit is
//! done: ok, changed, or not needed (its condition is false, or it is a handler nothing
//! notified).

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

mod report;

use super::journals::{self, Journal};
use super::words::jst_text;
use super::{DocumentError, Language, tr};
use crate::journal::record::{CHECK_ONLY_CHANGE, Selection};
use crate::journal::{Status, Step};
use crate::plan::{Plan, PlannedTask, PlannedTerminal};

/// Where one unit of the plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    /// Ran; nothing needed changing.
    Ok,
    /// Ran and changed what it had to.
    Changed,
    /// Skipped because it is not needed: its `when:` is false, or it is a handler that nothing
    /// notified. Counts as done.
    NotNeeded,
    /// Skipped for another reason (a task it needs failed, the run stopped): still to do.
    Skipped,
    /// Ran and failed.
    Failed,
    /// The terminal could not be reached.
    Unreachable,
    /// Its intent is on record but no result, or the connection was lost mid-unit.
    Interrupted,
    /// Another run held the terminal.
    Busy,
    /// In no journal of the plan.
    NotRun,
}

impl UnitState {
    /// Every state, in the order reports count them.
    pub const ALL: [UnitState; 9] = [
        UnitState::Ok,
        UnitState::Changed,
        UnitState::NotNeeded,
        UnitState::Skipped,
        UnitState::Failed,
        UnitState::Unreachable,
        UnitState::Interrupted,
        UnitState::Busy,
        UnitState::NotRun,
    ];

    /// Whether the unit needs no more work.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            UnitState::Ok | UnitState::Changed | UnitState::NotNeeded
        )
    }

    fn is_success(self) -> bool {
        matches!(self, UnitState::Ok | UnitState::Changed)
    }

    /// The state's name as `--format json` writes it (`not_run`).
    pub fn name(self) -> &'static str {
        match self {
            UnitState::Ok => "ok",
            UnitState::Changed => "changed",
            UnitState::NotNeeded => "not_needed",
            UnitState::Skipped => "skipped",
            UnitState::Failed => "failed",
            UnitState::Unreachable => "unreachable",
            UnitState::Interrupted => "interrupted",
            UnitState::Busy => "busy",
            UnitState::NotRun => "not_run",
        }
    }

    /// The state in words, for the 進捗報告書.
    pub fn label(self, lang: Language) -> String {
        let (ja, en) = match self {
            UnitState::Ok => ("完了（変更なし）", "done (no change)"),
            UnitState::Changed => ("完了（変更）", "done (changed)"),
            UnitState::NotNeeded => ("完了（対象外）", "done (not needed)"),
            UnitState::Skipped => ("未完了（スキップ）", "skipped"),
            UnitState::Failed => ("失敗", "FAILED"),
            UnitState::Unreachable => ("接続不可", "UNREACHABLE"),
            UnitState::Interrupted => ("中断", "INTERRUPTED"),
            UnitState::Busy => ("他の実行が作業中", "busy"),
            UnitState::NotRun => ("未実施", "not yet run"),
        };
        tr(lang, ja, en)
    }
}

/// One run of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    /// Run id.
    pub run: String,
    /// When it started (journal time, UTC).
    pub started: Option<String>,
    /// When it ended; `None` while it is open (interrupted or paused).
    pub ended: Option<String>,
    /// Roster ids of the operators on its lines.
    pub operators: Vec<String>,
    /// The part of the plan it applied, when it applied only part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// Whether it was a check run (`apply --check`): it changed nothing and counts for nothing.
    pub check: bool,
    /// Results it holds (check runs included).
    pub results: usize,
}

/// One unit (a task on a terminal) of the plan and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitProgress {
    /// Job id.
    pub job: String,
    /// Task id.
    pub task: String,
    /// Where it stands.
    pub state: UnitState,
    /// The run whose result decided the state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// That result's time (journal time, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The operator of that run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The error or skip reason of that result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Results of this unit over all runs (check runs not counted).
    pub attempts: usize,
}

/// One terminal of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalProgress {
    /// Terminal id.
    pub terminal: String,
    /// Its units, in plan order.
    pub units: Vec<UnitProgress>,
}

impl TerminalProgress {
    /// Whether every unit is done.
    pub fn is_complete(&self) -> bool {
        self.units.iter().all(|u| u.state.is_done())
    }
}

/// One site of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteProgress {
    /// Site id.
    pub site: String,
    /// Its name.
    pub name: String,
    /// Its terminals, in plan order.
    pub terminals: Vec<TerminalProgress>,
}

/// Units by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts(pub BTreeMap<&'static str, usize>);

/// Where a plan stands across all its runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanProgress {
    /// The plan's digest.
    pub plan_digest: String,
    /// Whether every unit is done.
    pub complete: bool,
    /// Units of the plan.
    pub units: usize,
    /// Units done.
    pub done: usize,
    /// Units by state (every state, zeros included).
    pub counts: StateCounts,
    /// The plan's runs, oldest first.
    pub runs: Vec<RunInfo>,
    /// Per site and terminal.
    pub sites: Vec<SiteProgress>,
}

/// One result of a unit in one run, for folding.
struct Attempt<'a> {
    at: Option<Timestamp>,
    time: &'a str,
    run: String,
    operator: &'a str,
    status: Option<Status>,
    error: Option<&'a str>,
    /// Whether a task that notifies this one (a handler) changed in the same run.
    notified: bool,
}

impl PlanProgress {
    /// The progress of `plan` from the journals in `logs` (a missing directory has none).
    pub fn from_logs(plan: &Plan, logs: &Path) -> Result<Self, DocumentError> {
        let all = journals::read_dir(logs).map_err(|source| DocumentError::Read {
            path: logs.to_path_buf(),
            source,
        })?;
        Ok(Self::from_journals(plan, &journals_of(all, &plan.digest)))
    }

    fn from_journals(plan: &Plan, runs: &[Journal]) -> Self {
        let check: Vec<bool> = runs.iter().map(is_check_run).collect();
        let infos = runs
            .iter()
            .zip(&check)
            .map(|(j, &check)| RunInfo {
                run: j.run_id(),
                started: j.run.start.as_ref().map(|(t, _)| t.clone()),
                ended: j.run.end.as_ref().map(|(t, _)| t.clone()),
                operators: j.run.operators.clone(),
                selection: j.run.start.as_ref().and_then(|(_, s)| s.selection.clone()),
                check,
                results: j
                    .run
                    .terminals
                    .values()
                    .flatten()
                    .filter(|s| s.result.is_some())
                    .count(),
            })
            .collect();
        let counted: Vec<&Journal> = runs
            .iter()
            .zip(&check)
            .filter(|(_, c)| !**c)
            .map(|(j, _)| j)
            .collect();
        let sites: Vec<SiteProgress> = plan
            .sites
            .iter()
            .map(|site| SiteProgress {
                site: site.id.clone(),
                name: site.name.clone(),
                terminals: site
                    .terminals
                    .iter()
                    .map(|term| TerminalProgress {
                        terminal: term.id.clone(),
                        units: term
                            .tasks
                            .iter()
                            .map(|task| unit_progress(term, task, &counted))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let mut counts = StateCounts(UnitState::ALL.iter().map(|s| (s.name(), 0)).collect());
        let mut units = 0;
        let mut done = 0;
        for u in sites
            .iter()
            .flat_map(|s| &s.terminals)
            .flat_map(|t| &t.units)
        {
            units += 1;
            done += usize::from(u.state.is_done());
            *counts.0.entry(u.state.name()).or_default() += 1;
        }
        PlanProgress {
            plan_digest: plan.digest.clone(),
            complete: done == units,
            units,
            done,
            counts,
            runs: infos,
            sites,
        }
    }

    /// The progress as text for people: the runs, then per site and terminal the count of
    /// units done and each unit that is not.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "plan {}: {} of {} units done{}",
            self.plan_digest,
            self.done,
            self.units,
            if self.complete {
                " (complete)"
            } else {
                " (not complete)"
            }
        );
        let _ = writeln!(out, "runs: {}", self.runs.len());
        for r in &self.runs {
            let _ = writeln!(
                out,
                "  {}  {} - {}  {}{}{}",
                r.run,
                r.started.as_deref().map(jst_text).unwrap_or_default(),
                r.ended
                    .as_deref()
                    .map_or_else(|| "open".to_string(), jst_text),
                r.operators.join(", "),
                r.selection
                    .as_ref()
                    .map(|s| format!("  part: {}", selection_text(s)))
                    .unwrap_or_default(),
                if r.check {
                    "  (check run: counts for nothing)"
                } else {
                    ""
                },
            );
        }
        for site in &self.sites {
            let _ = writeln!(out, "site {} ({})", site.site, site.name);
            for t in &site.terminals {
                let done = t.units.iter().filter(|u| u.state.is_done()).count();
                let _ = writeln!(
                    out,
                    "  {:<16} {done}/{} done{}",
                    t.terminal,
                    t.units.len(),
                    last_run(t)
                        .map(|r| format!("  (last: {r})"))
                        .unwrap_or_default()
                );
                for u in t.units.iter().filter(|u| !u.state.is_done()) {
                    let _ = writeln!(
                        out,
                        "    {:<12} {}/{}{}{}",
                        u.state.name(),
                        u.job,
                        u.task,
                        u.run
                            .as_ref()
                            .map(|r| format!(
                                "  run {r} {}",
                                u.time.as_deref().map(jst_text).unwrap_or_default()
                            ))
                            .unwrap_or_default(),
                        u.error
                            .as_ref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        let not_done: Vec<String> = UnitState::ALL
            .iter()
            .filter(|s| !s.is_done())
            .filter_map(|s| {
                let n = self.counts.0.get(s.name()).copied().unwrap_or(0);
                (n > 0).then(|| format!("{n} {}", s.name()))
            })
            .collect();
        if !not_done.is_empty() {
            let _ = writeln!(out, "to do: {}", not_done.join(", "));
        }
        out
    }
}

/// The journals of the plan with `digest`, oldest first.
pub(crate) fn journals_of(all: Vec<Journal>, digest: &str) -> Vec<Journal> {
    all.into_iter()
        .filter(|j| {
            j.run
                .start
                .as_ref()
                .is_some_and(|(_, s)| s.plan_digest == digest)
        })
        .collect()
}

/// Whether a run only queried (`apply --check`): its intents say so.
fn is_check_run(journal: &Journal) -> bool {
    journal
        .run
        .terminals
        .values()
        .flatten()
        .any(|s| s.change.as_deref() == Some(CHECK_ONLY_CHANGE))
}

/// The run of the latest decided unit of a terminal.
pub(super) fn last_run(t: &TerminalProgress) -> Option<&str> {
    t.units
        .iter()
        .filter(|u| u.time.is_some())
        .max_by(|a, b| a.time.cmp(&b.time))
        .and_then(|u| u.run.as_deref())
}

/// `job=a,b site=c` for people.
pub(crate) fn selection_text(s: &Selection) -> String {
    let parts: [(&str, &Vec<String>); 6] = [
        ("job", &s.jobs),
        ("site", &s.terminals.sites),
        ("group", &s.terminals.groups),
        ("tag", &s.terminals.tags),
        ("terminal", &s.terminals.terminals),
        ("exclude", &s.terminals.exclude),
    ];
    parts
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", v.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The state of one unit from its results in `runs` (oldest run first).
fn unit_progress(term: &PlannedTerminal, task: &PlannedTask, runs: &[&Journal]) -> UnitProgress {
    let mut attempts: Vec<Attempt<'_>> = Vec::new();
    for journal in runs {
        let steps = journal
            .run
            .terminals
            .get(&term.id)
            .map_or(&[][..], Vec::as_slice);
        for step in steps
            .iter()
            .filter(|s| s.job == task.job && s.task == task.task)
        {
            let time = step.result.as_ref().map_or(&step.time, |r| &r.time);
            attempts.push(Attempt {
                at: time.parse().ok(),
                time,
                run: journal.run_id(),
                operator: &step.operator,
                status: step.result.as_ref().map(|r| r.status),
                error: step.result.as_ref().and_then(|r| r.error.as_deref()),
                notified: task.handler && notifier_changed(term, task, steps),
            });
        }
    }
    // Stable: attempts of one run keep their journal order when times are equal.
    attempts.sort_by_key(|a| a.at);
    let mut unit = UnitProgress {
        job: task.job.clone(),
        task: task.task.clone(),
        state: UnitState::NotRun,
        run: None,
        time: None,
        operator: None,
        error: None,
        attempts: attempts.len(),
    };
    for a in &attempts {
        let state = match a.status {
            Some(Status::Ok) => UnitState::Ok,
            Some(Status::Changed) => UnitState::Changed,
            Some(Status::Failed) => UnitState::Failed,
            Some(Status::Interrupted) | None => UnitState::Interrupted,
            Some(Status::Unreachable) => UnitState::Unreachable,
            Some(Status::Busy) => UnitState::Busy,
            Some(Status::Skipped) if task.skip.is_some() || (task.handler && !a.notified) => {
                UnitState::NotNeeded
            }
            Some(Status::Skipped) => UnitState::Skipped,
        };
        // It ran and ended: that is where it stands. It did not run this time: an earlier
        // success still holds.
        let ran = matches!(
            state,
            UnitState::Ok | UnitState::Changed | UnitState::Failed | UnitState::Interrupted
        );
        if ran || !unit.state.is_success() {
            unit.state = state;
            unit.run = Some(a.run.clone());
            unit.time = Some(a.time.to_string());
            unit.operator = Some(a.operator.to_string());
            unit.error = a.error.map(str::to_string);
        }
    }
    unit
}

/// Whether a task that notifies `handler` changed something in one run's `steps` of the
/// terminal (then the handler had to run).
fn notifier_changed(term: &PlannedTerminal, handler: &PlannedTask, steps: &[Step]) -> bool {
    term.tasks
        .iter()
        .filter(|o| o.job == handler.job && o.notify.contains(&handler.task))
        .any(|o| {
            steps.iter().any(|s| {
                s.job == o.job
                    && s.task == o.task
                    && s.result
                        .as_ref()
                        .is_some_and(|r| r.status == Status::Changed)
            })
        })
}

/// The journal files in `logs` of the plan with `digest`, oldest run first.
pub fn plan_journals(digest: &str, logs: &Path) -> Result<Vec<std::path::PathBuf>, DocumentError> {
    let all = journals::read_dir(logs).map_err(|source| DocumentError::Read {
        path: logs.to_path_buf(),
        source,
    })?;
    Ok(journals_of(all, digest)
        .into_iter()
        .map(|j| j.path)
        .collect())
}
