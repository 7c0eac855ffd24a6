//! The coordinator: runs a plan on its terminals.
//!
//! One coordinator owns all run state (which unit runs next, what failed, what is skipped, who
//! may start) and talks to the reporter; it is the only writer, so the order of events is
//! deterministic per terminal. Workers, one per connected terminal, hold that terminal's SSH
//! connection, run the (terminal, task) units they are sent and send back outcomes. Each
//! terminal goes through its own task list independently: a slow terminal never holds up the
//! others. Limits: a global number of terminals at once, and each site's capacity.
//!
//! A failed task skips what needs it on that terminal only. An unreachable terminal is an
//! outcome, not an error: the others go on. A job's `max_fail_percentage` stops starting that
//! job on further terminals once exceeded; `fail_fast` stops starting anything after the first
//! failure and lets units in progress finish.
//!
//! With [`ApplyOptions::window`], the run keeps to the sites' office hours ([`window`]): a
//! terminal's visit starts only if it can finish before its site closes, and at closing time the
//! unit in progress finishes, nothing more starts there, and the summary says how to resume.

pub mod connector;
pub mod window;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::action::{ActionContext, ApplyEnv, Status, TaskOutcome, run_task};
use crate::journal::JournalWriter;
use crate::journal::record::{self, Intent, OutputDigest, Record, TaskResult};
use crate::plan::Plan;
use crate::report::Reporter;

pub use connector::{Connector, SshConnector, SshSettings};
pub use window::{Clock, ManualClock, SystemClock, WindowPause, WindowPolicy};

/// How to run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Query only: report what would change, change nothing.
    pub check: bool,
    /// Stop starting work after the first failure.
    pub fail_fast: bool,
    /// At most this many terminals at once (all sites together).
    pub max_terminals: usize,
    /// Keep to the sites' office hours; `None` works at any time (`--outside-window`).
    pub window: Option<WindowPolicy>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            check: false,
            fail_fast: false,
            max_terminals: 200,
            window: None,
        }
    }
}

/// Units that finished in an interrupted run, by (terminal, `job/task`): not run again.
pub type Finished = BTreeMap<(String, String), Status>;

/// What an interrupted run's journal says, for `--resume`.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Units with a result: counted as they ended, not run again.
    pub finished: Finished,
    /// Units with an intent but no result, by (terminal, `job/task`): their command may still
    /// be running on the terminal; the worker waits for it to end before querying again.
    pub unsettled: BTreeSet<(String, String)>,
}

/// Counts for one site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteRecap {
    /// Site id.
    pub site: String,
    /// Terminals with work.
    pub terminals: usize,
    /// Units that needed no change.
    pub ok: usize,
    /// Units that changed something.
    pub changed: usize,
    /// Units that failed.
    pub failed: usize,
    /// Units lost to unreachable terminals (the unit that found it).
    pub unreachable: usize,
    /// Units not run.
    pub skipped: usize,
}

/// One unit's result.
#[derive(Debug, Clone)]
pub struct UnitResult {
    /// `job/task`.
    pub key: String,
    /// The outcome.
    pub outcome: TaskOutcome,
}

/// One terminal's results, in the order the units ended.
#[derive(Debug, Clone)]
pub struct TerminalResult {
    /// Site id.
    pub site: String,
    /// Terminal id.
    pub terminal: String,
    /// Units.
    pub units: Vec<UnitResult>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Whether it was a check (dry) run.
    pub check: bool,
    /// Per site, in plan order.
    pub sites: Vec<SiteRecap>,
    /// Per terminal, in plan order.
    pub terminals: Vec<TerminalResult>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// Work that office hours held back or cut short, and how to resume it.
    pub paused: Option<WindowPause>,
}

impl RunSummary {
    /// Sums over all sites.
    pub fn totals(&self) -> SiteRecap {
        let mut t = SiteRecap {
            site: "total".into(),
            ..Default::default()
        };
        for s in &self.sites {
            t.terminals += s.terminals;
            t.ok += s.ok;
            t.changed += s.changed;
            t.failed += s.failed;
            t.unreachable += s.unreachable;
            t.skipped += s.skipped;
        }
        t
    }

    /// Process exit status: 0 success, 4 some task failed, 5 some terminal unreachable (and
    /// nothing failed), 6 paused for office hours with work left (and nothing else wrong).
    pub fn exit_code(&self) -> u8 {
        let t = self.totals();
        if t.failed > 0 {
            4
        } else if t.unreachable > 0 {
            5
        } else if self.paused.is_some() {
            6
        } else {
            0
        }
    }

    /// The outcome of one unit.
    pub fn outcome(&self, terminal: &str, key: &str) -> Option<&TaskOutcome> {
        self.terminals
            .iter()
            .find(|t| t.terminal == terminal)?
            .units
            .iter()
            .find(|u| u.key == key)
            .map(|u| &u.outcome)
    }
}

enum Event {
    Connected(usize),
    Note(String),
    ConnectFailed(usize, String, bool),
    Finished(usize, usize, Box<TaskOutcome>),
    Closed(usize),
}

#[derive(Default)]
struct TerminalState {
    site: usize,
    index: usize,
    next: usize,
    started: bool,
    finished: bool,
    sender: Option<mpsc::UnboundedSender<(usize, bool)>>,
    /// Keys that did not succeed (failed, unreachable, or skipped because of those).
    blocked: BTreeSet<String>,
    /// Keys that changed something (for handlers).
    changed: BTreeSet<String>,
    /// Jobs of which at least one unit has run here.
    jobs_started: BTreeSet<String>,
    /// Journal sequence number of the intent of the unit in progress.
    intent: Option<u64>,
    /// Set when the connection is lost: everything left is skipped.
    lost: Option<String>,
    /// Why office hours held this terminal back (never started) or cut its visit short.
    window: Option<String>,
}

/// Runs `plan`: connects to terminals through `connector`, runs each one's tasks in order and
/// reports through `reporter`. Never fails as a whole: failures are outcomes in the summary.
///
/// With a journal, an intent record is written (and synced) before each unit is sent to its
/// terminal and a result record after it ends; if the journal cannot be written the run stops
/// before the next change. Units in `finished` (from an interrupted run's journal) are not run
/// again.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    plan: Arc<Plan>,
    env: Arc<ApplyEnv>,
    connector: Arc<dyn Connector>,
    options: &ApplyOptions,
    reporter: &mut dyn Reporter,
    mut journal: Option<&mut JournalWriter>,
    resume: &Resume,
) -> RunSummary {
    let finished = &resume.finished;
    reporter.start(&plan, options.check);
    let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
    let mut terminals: Vec<TerminalState> = Vec::new();
    for (si, site) in plan.sites.iter().enumerate() {
        for ti in 0..site.terminals.len() {
            terminals.push(TerminalState {
                site: si,
                index: ti,
                ..Default::default()
            });
        }
    }
    let mut summary = RunSummary {
        check: options.check,
        sites: plan
            .sites
            .iter()
            .map(|s| SiteRecap {
                site: s.id.clone(),
                terminals: s.terminals.len(),
                ..Default::default()
            })
            .collect(),
        terminals: terminals
            .iter()
            .map(|t| TerminalResult {
                site: plan.sites[t.site].id.clone(),
                terminal: plan.sites[t.site].terminals[t.index].id.clone(),
                units: Vec::new(),
            })
            .collect(),
        stopped: None,
        paused: None,
    };
    // Per job: terminals it runs on, and terminals where it failed.
    let mut job_terminals: BTreeMap<String, usize> = BTreeMap::new();
    for site in &plan.sites {
        for t in &site.terminals {
            for j in &t.jobs {
                *job_terminals.entry(j.clone()).or_default() += 1;
            }
        }
    }
    let mut job_failures: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let max_fail: BTreeMap<String, u8> = plan
        .jobs
        .iter()
        .filter_map(|j| j.max_fail_percentage.map(|p| (j.id.clone(), p)))
        .collect();

    let mut site_active = vec![0usize; plan.sites.len()];
    let mut active = 0usize;
    let mut open_workers = 0usize;
    let mut stopping: Option<String> = None;

    loop {
        // Start terminals while limits allow, spreading over sites.
        if stopping.is_none() {
            // Each site's office hours, looked up at most once per pass.
            let mut site_windows: Vec<Option<window::SiteWindow>> = vec![None; plan.sites.len()];
            for (ti, t) in terminals.iter_mut().enumerate() {
                if active >= options.max_terminals {
                    break;
                }
                let capacity = plan.sites[t.site].capacity.max(1) as usize;
                if t.started || site_active[t.site] >= capacity {
                    continue;
                }
                // Office hours: start a visit only if it can finish before the site closes.
                // A held terminal is looked at again on the next event (its site may open).
                if let Some(policy) = &options.window {
                    let site = &plan.sites[t.site];
                    let refused = site_windows[t.site]
                        .get_or_insert_with(|| policy.site_window(&site.id))
                        .refuse(&site.id, || {
                            window::work_left(&plan, &site.terminals[t.index], finished)
                        });
                    t.window = refused.map(|why| format!("not started: {why}"));
                    if t.window.is_some() {
                        continue;
                    }
                }
                t.started = true;
                site_active[t.site] += 1;
                active += 1;
                open_workers += 1;
                let (tx, rx) = mpsc::unbounded_channel::<(usize, bool)>();
                t.sender = Some(tx);
                tokio::spawn(worker(
                    ti,
                    t.site,
                    t.index,
                    plan.clone(),
                    env.clone(),
                    connector.clone(),
                    options.check,
                    rx,
                    events_tx.clone(),
                ));
            }
        }
        if open_workers == 0 {
            break;
        }
        let Some(event) = events.recv().await else {
            break;
        };
        let (ti, outcome) = match event {
            Event::Connected(ti) => (ti, None),
            Event::Note(text) => {
                reporter.message(&text);
                continue;
            }
            Event::ConnectFailed(ti, error, unreachable) => {
                terminals[ti].lost = Some(if unreachable {
                    "terminal unreachable".to_string()
                } else {
                    "could not log in".to_string()
                });
                // The first unit carries the connection error; the rest are skipped.
                let t = &mut terminals[ti];
                let site = &plan.sites[t.site];
                let term = &site.terminals[t.index];
                if let Some(task) = term.tasks.first() {
                    let outcome = TaskOutcome {
                        status: if unreachable {
                            Status::Unreachable
                        } else {
                            Status::Failed
                        },
                        query: None,
                        summary: String::new(),
                        stdout: None,
                        stderr: None,
                        error: Some(error),
                        facts: None,
                        duration: Duration::ZERO,
                        reconnect: None,
                    };
                    t.next = 1;
                    record(
                        &mut summary,
                        t,
                        &plan,
                        0,
                        outcome.clone(),
                        reporter,
                        &mut journal,
                        &mut stopping,
                    );
                    note_failure(&mut job_failures, &task.job, ti);
                    if options.fail_fast && stopping.is_none() {
                        stopping = Some(format!("--fail-fast: {} failed", term.id));
                    }
                }
                (ti, None)
            }
            Event::Finished(ti, unit, outcome) => (ti, Some((unit, *outcome))),
            Event::Closed(ti) => {
                let t = &mut terminals[ti];
                site_active[t.site] -= 1;
                active -= 1;
                open_workers -= 1;
                reporter.terminal_finished(
                    &plan.sites[t.site].id,
                    &plan.sites[t.site].terminals[t.index].id,
                );
                continue;
            }
        };
        if let Some((unit, outcome)) = outcome {
            let t = &mut terminals[ti];
            let task = &plan.sites[t.site].terminals[t.index].tasks[unit];
            let failed = matches!(outcome.status, Status::Failed | Status::Unreachable);
            if outcome.status == Status::Unreachable {
                t.lost = Some("connection lost".to_string());
            }
            if failed {
                note_failure(&mut job_failures, &task.job, ti);
                if options.fail_fast && stopping.is_none() {
                    stopping = Some(format!(
                        "--fail-fast: {} failed on {}",
                        task.key, plan.sites[t.site].terminals[t.index].id
                    ));
                }
            }
            record(
                &mut summary,
                t,
                &plan,
                unit,
                outcome,
                reporter,
                &mut journal,
                &mut stopping,
            );
        }
        // Send the terminal its next unit, skipping what must not run.
        let t = &mut terminals[ti];
        if t.finished {
            continue;
        }
        let term = &plan.sites[t.site].terminals[t.index];
        let mut dispatched = false;
        while t.next < term.tasks.len() {
            let i = t.next;
            let task = &term.tasks[i];
            t.next += 1;
            if let Some(status) = finished.get(&(term.id.clone(), task.key.clone())) {
                // Done in the interrupted run: count it as it ended, do not run it again.
                match status {
                    Status::Changed => {
                        t.changed.insert(task.key.clone());
                    }
                    Status::Failed | Status::Unreachable | Status::Skipped => {
                        t.blocked.insert(task.key.clone());
                    }
                    Status::Ok => {}
                }
                t.jobs_started.insert(task.job.clone());
                let recap = &mut summary.sites[t.site];
                match status {
                    Status::Changed => recap.changed += 1,
                    _ => recap.ok += 1,
                }
                let outcome = TaskOutcome {
                    summary: "done in the interrupted run".to_string(),
                    ..skipped(String::new())
                };
                let outcome = TaskOutcome {
                    status: *status,
                    ..outcome
                };
                reporter.task_finished(&plan.sites[t.site].id, &term.id, task, &outcome);
                if let Some(r) = summary.terminals.iter_mut().find(|r| r.terminal == term.id) {
                    r.units.push(UnitResult {
                        key: task.key.clone(),
                        outcome,
                    });
                }
                continue;
            }
            let reason = if let Some(lost) = &t.lost {
                Some(lost.clone())
            } else if let Some(why) = &stopping {
                Some(format!("run stopped ({why})"))
            } else if let Some(why) = options
                .window
                .as_ref()
                .and_then(|w| w.closed(&plan.sites[t.site].id))
            {
                // Closing time: the unit that was running has finished; nothing more starts.
                t.window = Some(why.clone());
                Some(format!("run stopped ({why})"))
            } else if let Some(why) = &task.skip {
                Some(why.clone())
            } else if let Some(need) = task.needs.iter().find(|n| t.blocked.contains(*n)) {
                Some(format!("needs {need}, which did not succeed"))
            } else if task.handler
                && !term.tasks.iter().any(|o| {
                    o.job == task.job && o.notify.contains(&task.task) && t.changed.contains(&o.key)
                })
            {
                Some("not notified: nothing it watches changed".to_string())
            } else if !t.jobs_started.contains(&task.job)
                && max_fail.get(&task.job).is_some_and(|pct| {
                    let failed = job_failures.get(&task.job).map_or(0, BTreeSet::len);
                    let total = job_terminals.get(&task.job).copied().unwrap_or(1).max(1);
                    failed * 100 > usize::from(*pct) * total
                })
            {
                Some(format!(
                    "job {} stopped: more than its max_fail_percentage of terminals failed",
                    task.job
                ))
            } else {
                None
            };
            match reason {
                Some(why) => {
                    let blocked = why.starts_with("needs ")
                        || t.lost.is_some()
                        || why.starts_with("run stopped")
                        || why.starts_with("job ");
                    let outcome = skipped(why);
                    if blocked {
                        t.blocked.insert(task.key.clone());
                    }
                    record(
                        &mut summary,
                        t,
                        &plan,
                        i,
                        outcome,
                        reporter,
                        &mut journal,
                        &mut stopping,
                    );
                }
                None => {
                    if let Some(j) = journal.as_deref_mut() {
                        let intent = Intent {
                            terminal: term.id.clone(),
                            host_key: connector.host_key(&plan.sites[t.site], term),
                            job: task.job.clone(),
                            task: task.task.clone(),
                            action: task.action.clone(),
                            change: if options.check {
                                record::CHECK_ONLY_CHANGE.to_string()
                            } else {
                                crate::plan::task_summary(task, crate::language::Language::En)
                            },
                        };
                        match j.append(Record::Intent(intent)) {
                            Ok(seq) => t.intent = Some(seq.0),
                            Err(e) => {
                                // Fail closed: nothing is changed without its intent on disk.
                                stopping = Some(journal_stop(&e));
                                t.next -= 1;
                                continue;
                            }
                        }
                    }
                    t.jobs_started.insert(task.job.clone());
                    let settle = resume
                        .unsettled
                        .contains(&(term.id.clone(), task.key.clone()));
                    if let Some(sender) = &t.sender
                        && sender.send((i, settle)).is_ok()
                    {
                        dispatched = true;
                        break;
                    }
                }
            }
        }
        if !dispatched {
            t.finished = true;
            t.sender = None; // the worker closes its connection and reports Closed
        }
    }
    if let Some(policy) = &options.window {
        // Terminals the office hours held back get their units recorded as skipped (a resume
        // runs them); every terminal with work left is named with its next window.
        let mut pause = window::PauseBuilder::default();
        for t in terminals.iter_mut() {
            let Some(why) = t.window.clone() else {
                continue;
            };
            let term = &plan.sites[t.site].terminals[t.index];
            let left = |task: &crate::plan::PlannedTask| {
                !finished.contains_key(&(term.id.clone(), task.key.clone()))
            };
            if !t.started && !term.tasks.iter().any(left) {
                continue; // all done in the interrupted run: nothing is held back
            }
            if !t.started {
                for (i, task) in term.tasks.iter().enumerate() {
                    if left(task) {
                        let outcome = skipped(why.clone());
                        record(
                            &mut summary,
                            t,
                            &plan,
                            i,
                            outcome,
                            reporter,
                            &mut journal,
                            &mut stopping,
                        );
                    }
                }
            }
            pause.note(t.site, &plan.sites[t.site].id, &term.id, &why);
        }
        let run = journal.as_deref().map(|j| j.run_id().to_string());
        summary.paused = pause.finish(policy, run);
    }
    summary.stopped = stopping.or_else(|| summary.paused.as_ref().map(WindowPause::message));
    reporter.finish(&summary);
    summary
}

fn journal_status(status: Status) -> record::Status {
    match status {
        Status::Ok => record::Status::Ok,
        Status::Changed => record::Status::Changed,
        Status::Failed => record::Status::Failed,
        Status::Unreachable => record::Status::Unreachable,
        Status::Skipped => record::Status::Skipped,
    }
}

fn journal_stop(e: &crate::journal::JournalError) -> String {
    format!(
        "the journal cannot be written ({e}); nothing more is changed. Fix the disk or permissions, then resume the run"
    )
}

fn note_failure(job_failures: &mut BTreeMap<String, BTreeSet<usize>>, job: &str, terminal: usize) {
    job_failures
        .entry(job.to_string())
        .or_default()
        .insert(terminal);
}

fn skipped(reason: String) -> TaskOutcome {
    TaskOutcome {
        status: Status::Skipped,
        query: None,
        summary: reason,
        stdout: None,
        stderr: None,
        error: None,
        facts: None,
        duration: Duration::ZERO,
        reconnect: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    summary: &mut RunSummary,
    t: &mut TerminalState,
    plan: &Plan,
    unit: usize,
    outcome: TaskOutcome,
    reporter: &mut dyn Reporter,
    journal: &mut Option<&mut JournalWriter>,
    stopping: &mut Option<String>,
) {
    let site = &plan.sites[t.site];
    let term = &site.terminals[t.index];
    let task = &term.tasks[unit];
    if let Some(j) = journal.as_deref_mut() {
        let digest = |d: &Option<(String, usize)>| match d {
            Some((sha256, bytes)) => OutputDigest {
                sha256: sha256.clone(),
                bytes: *bytes as u64,
            },
            None => OutputDigest::of(b""),
        };
        let result = TaskResult {
            terminal: term.id.clone(),
            job: task.job.clone(),
            task: task.task.clone(),
            intent: t.intent.take(),
            status: journal_status(outcome.status),
            changed: outcome.status == Status::Changed,
            stdout: digest(&outcome.stdout),
            stderr: digest(&outcome.stderr),
            duration_ms: outcome.duration.as_millis() as u64,
            error: outcome
                .error
                .clone()
                .or_else(|| (outcome.status == Status::Skipped).then(|| outcome.summary.clone())),
        };
        let rotation = outcome
            .facts
            .as_ref()
            .and_then(|f| f.get("rotation"))
            .filter(|_| outcome.status == Status::Changed)
            .map(|r| {
                let text = |key: &str| r.get(key).and_then(|v| v.as_str()).unwrap_or_default();
                Record::Rotation(record::Rotation {
                    terminal: term.id.clone(),
                    account: text("account").to_string(),
                    secret: text("secret").to_string(),
                    reason: Some(format!("{}: {}", task.job, text("reason"))),
                    began_in: None,
                })
            });
        // A changed password is recorded twice over: the task's result, and a `rotation`
        // record that auditors read without knowing which tasks rotate.
        for record in std::iter::once(Record::Result(result)).chain(rotation) {
            if let Err(e) = j.append(record)
                && stopping.is_none()
            {
                *stopping = Some(journal_stop(&e));
            }
        }
    }
    match outcome.status {
        Status::Failed | Status::Unreachable => {
            t.blocked.insert(task.key.clone());
        }
        Status::Changed => {
            t.changed.insert(task.key.clone());
        }
        _ => {}
    }
    let recap = &mut summary.sites[t.site];
    match outcome.status {
        Status::Ok => recap.ok += 1,
        Status::Changed => recap.changed += 1,
        Status::Failed => recap.failed += 1,
        Status::Unreachable => recap.unreachable += 1,
        Status::Skipped => recap.skipped += 1,
    }
    reporter.task_finished(&site.id, &term.id, task, &outcome);
    if let Some(result) = summary.terminals.iter_mut().find(|r| r.terminal == term.id) {
        result.units.push(UnitResult {
            key: task.key.clone(),
            outcome,
        });
    }
}

/// Connects again after a reboot, retrying until `limit`, and checks that the terminal really
/// came back (a new boot, unless the reboot command was a custom one).
async fn reconnect(
    connector: &dyn Connector,
    site: &crate::plan::PlannedSite,
    terminal: &crate::plan::PlannedTerminal,
    limit: Duration,
    facts: Option<&serde_json::Value>,
) -> Result<Box<dyn crate::transport::Transport>, String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = String::from("it did not answer");
    // Give the reboot command a moment to take the terminal down.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while tokio::time::Instant::now() < deadline {
        match connector.connect(site, terminal).await {
            Ok(t) => match crate::action::reboot::came_back(t.as_ref(), facts).await {
                Ok(true) => return Ok(t),
                Ok(false) => last = "it still runs the old boot".to_string(),
                Err(e) => last = e.to_string(),
            },
            Err(e) if e.is_connection_failure() => last = e.to_string(),
            // A changed host key or refused login after a reboot is not something to wait out.
            Err(e) => return Err(format!("after the reboot: {e}")),
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    Err(format!(
        "the terminal did not come back within {}s after the reboot: {last}",
        limit.as_secs()
    ))
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    id: usize,
    site: usize,
    index: usize,
    plan: Arc<Plan>,
    env: Arc<ApplyEnv>,
    connector: Arc<dyn Connector>,
    check: bool,
    mut units: mpsc::UnboundedReceiver<(usize, bool)>,
    events: mpsc::UnboundedSender<Event>,
) {
    let site_plan = &plan.sites[site];
    let terminal = &site_plan.terminals[index];
    let transport = match connector.connect(site_plan, terminal).await {
        Ok(t) => t,
        Err(err) => {
            let unreachable = err.is_connection_failure();
            let _ = events.send(Event::ConnectFailed(id, err.to_string(), unreachable));
            // The coordinator sends no units to a terminal it could not reach.
            while units.recv().await.is_some() {}
            let _ = events.send(Event::Closed(id));
            return;
        }
    };
    // A rotation interrupted in an earlier run is settled before anything else, so the store
    // knows the live password before any task runs (a check run only reads).
    if !check && let Some(dir) = &env.secrets_dir {
        let keep = crate::playbook::PasswordPolicy::default().keep;
        match crate::action::password::reconcile_terminal(
            transport.as_ref(),
            dir,
            &terminal.id,
            keep,
        )
        .await
        {
            Ok(settled) => {
                for s in settled {
                    let _ = events.send(Event::Note(format!("{}: {}", terminal.id, s.summary)));
                }
            }
            Err(e) => {
                let _ = events.send(Event::Note(format!(
                    "{}: could not settle an interrupted password rotation: {e}",
                    terminal.id
                )));
            }
        }
    }
    let _ = events.send(Event::Connected(id));
    let mut transport = transport;
    while let Some((unit, settle)) = units.recv().await {
        if settle {
            // Resuming: this unit's command may have outlived the interrupted controller.
            let tag = format!(
                "{}/{}/{}",
                env.run_id, terminal.id, terminal.tasks[unit].key
            );
            let script = crate::action::command::wait_for_unit_script(&tag, 600);
            match transport.exec(&script, None).await {
                Ok(out) if out.success() => {}
                other => {
                    let why = match other {
                        Ok(_) => "a command of the interrupted run is still running on the terminal after 10 minutes; let it finish (or stop it), then resume again".to_string(),
                        Err(e) => e.to_string(),
                    };
                    let mut outcome = skipped(String::new());
                    outcome.status = Status::Failed;
                    outcome.error = Some(why);
                    if events
                        .send(Event::Finished(id, unit, Box::new(outcome)))
                        .is_err()
                    {
                        break;
                    }
                    continue;
                }
            }
        }
        let ctx = ActionContext {
            transport: transport.as_ref(),
            terminal,
            task: &terminal.tasks[unit],
            env: &env,
        };
        let mut outcome = run_task(&ctx, check).await;
        if let Some(limit) = outcome.reconnect {
            // The terminal is rebooting: wait for it to go away and come back, on a new
            // connection, before its next unit.
            let _ = transport.close().await;
            match reconnect(
                connector.as_ref(),
                site_plan,
                terminal,
                limit,
                outcome.facts.as_ref(),
            )
            .await
            {
                Ok(fresh) => transport = fresh,
                Err(why) => {
                    outcome.status = Status::Failed;
                    outcome.error = Some(why);
                    let _ = events.send(Event::Finished(id, unit, Box::new(outcome)));
                    // Nothing more can run here; the coordinator skips the rest.
                    while units.recv().await.is_some() {}
                    let _ = events.send(Event::Closed(id));
                    return;
                }
            }
        }
        if events
            .send(Event::Finished(id, unit, Box::new(outcome)))
            .is_err()
        {
            break;
        }
    }
    let _ = transport.close().await;
    let _ = events.send(Event::Closed(id));
}
