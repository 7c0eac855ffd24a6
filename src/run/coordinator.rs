//! The coordinator: the one owner of a run's state, in the spirit of cargo's job queue.
//!
//! [`Coordinator`] holds which unit each terminal runs next, what failed, what is skipped and
//! why, who may start under the limits, why the run stops, the journal writer and the reporter.
//! Workers (`super::worker`) only run the units they are sent and send back events; the
//! coordinator is the only writer of the journal, so its order is the order of decisions.
//!
//! Per terminal the units go in plan order: each one is either counted as done (an interrupted
//! run finished it), skipped with a [`SkipReason`], or journaled as an intent and sent.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::ApplyOptions;
use super::connector::Connector;
use super::reason::{Lost, SkipReason, StopReason};
use super::resume::Resume;
use super::summary::{RunSummary, SiteRecap, TerminalResult, UnitResult};
use super::window::{self, PauseBuilder, SiteWindow, WindowPause};
use super::worker::{Event, WorkerSpec, worker};
use crate::action::password::{Settled, SettledOutcome};
use crate::action::{ApplyEnv, Status, TaskOutcome};
use crate::journal::JournalWriter;
use crate::journal::record::{self, Intent, OutputDigest, Record, TaskResult};
use crate::plan::{Plan, PlannedTask, PlannedTerminal};
use crate::report::Reporter;

/// One terminal's progress through its units.
#[derive(Default)]
struct TerminalState {
    site: usize,
    index: usize,
    /// The next unit to look at.
    next: usize,
    started: bool,
    finished: bool,
    sender: Option<mpsc::UnboundedSender<usize>>,
    /// Units that did not succeed (failed, unreachable, or skipped because of those).
    blocked: BTreeSet<String>,
    /// Units that changed something (for handlers).
    changed: BTreeSet<String>,
    /// Jobs of which at least one unit has run here.
    jobs_started: BTreeSet<String>,
    /// Journal seq of the intent of the unit in progress.
    intent: Option<u64>,
    /// Set when nothing more can run here.
    lost: Option<Lost>,
    /// Why office hours held this terminal back (never started) or cut its visit short.
    window: Option<SkipReason>,
}

/// `max_fail_percentage` bookkeeping per job.
#[derive(Default)]
struct JobFailures {
    /// Terminals each job runs on.
    terminals: BTreeMap<String, usize>,
    /// Terminals where each job failed.
    failed: BTreeMap<String, BTreeSet<usize>>,
    /// Each job's limit.
    max_percent: BTreeMap<String, u8>,
}

impl JobFailures {
    fn new(plan: &Plan) -> Self {
        let mut terminals: BTreeMap<String, usize> = BTreeMap::new();
        for site in &plan.sites {
            for t in &site.terminals {
                for j in &t.jobs {
                    *terminals.entry(j.clone()).or_default() += 1;
                }
            }
        }
        Self {
            terminals,
            failed: BTreeMap::new(),
            max_percent: plan
                .jobs
                .iter()
                .filter_map(|j| j.max_fail_percentage.map(|p| (j.id.clone(), p)))
                .collect(),
        }
    }

    fn note(&mut self, job: &str, terminal: usize) {
        self.failed
            .entry(job.to_string())
            .or_default()
            .insert(terminal);
    }

    /// Whether the job has failed on more than its share of terminals.
    fn exceeded(&self, job: &str) -> bool {
        self.max_percent.get(job).is_some_and(|pct| {
            let failed = self.failed.get(job).map_or(0, BTreeSet::len);
            let total = self.terminals.get(job).copied().unwrap_or(1).max(1);
            failed * 100 > usize::from(*pct) * total
        })
    }
}

/// The run's state and its one loop. See the module docs.
pub struct Coordinator<'a> {
    plan: Arc<Plan>,
    env: Arc<ApplyEnv>,
    connector: Arc<dyn Connector>,
    options: &'a ApplyOptions,
    reporter: &'a mut dyn Reporter,
    journal: Option<&'a mut JournalWriter>,
    resume: &'a Resume,
    terminals: Vec<TerminalState>,
    summary: RunSummary,
    jobs: JobFailures,
    site_active: Vec<usize>,
    active: usize,
    open_workers: usize,
    stopping: Option<StopReason>,
    events_tx: mpsc::UnboundedSender<Event>,
    events: mpsc::UnboundedReceiver<Event>,
}

impl<'a> Coordinator<'a> {
    /// A coordinator for `plan`. `journal`, when given, gets an intent before and a result
    /// after every unit; `resume` says what an interrupted run (and earlier runs of the plan)
    /// already did.
    pub fn new(
        plan: Arc<Plan>,
        env: Arc<ApplyEnv>,
        connector: Arc<dyn Connector>,
        options: &'a ApplyOptions,
        reporter: &'a mut dyn Reporter,
        journal: Option<&'a mut JournalWriter>,
        resume: &'a Resume,
    ) -> Self {
        let mut terminals = Vec::new();
        for (si, site) in plan.sites.iter().enumerate() {
            for ti in 0..site.terminals.len() {
                terminals.push(TerminalState {
                    site: si,
                    index: ti,
                    ..Default::default()
                });
            }
        }
        let summary = RunSummary {
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
        let (events_tx, events) = mpsc::unbounded_channel();
        Self {
            jobs: JobFailures::new(&plan),
            site_active: vec![0; plan.sites.len()],
            plan,
            env,
            connector,
            options,
            reporter,
            journal,
            resume,
            terminals,
            summary,
            active: 0,
            open_workers: 0,
            stopping: None,
            events_tx,
            events,
        }
    }

    /// Runs the plan to its end (or until it stops) and says what happened. Never fails as a
    /// whole: failures are outcomes in the summary.
    pub async fn run(mut self) -> RunSummary {
        self.reporter.start(&self.plan, self.options.check);
        loop {
            if self.stopping.is_none() {
                self.start_terminals();
            }
            if self.open_workers == 0 {
                break;
            }
            let Some(event) = self.events.recv().await else {
                break;
            };
            self.handle(event);
        }
        if self.options.window.is_some() {
            self.summary.paused = self.record_held_back();
        }
        self.summary.stopped = self.stopping.take().or_else(|| {
            self.summary
                .paused
                .as_ref()
                .map(|p| StopReason::OfficeHours(p.message()))
        });
        self.reporter.finish(&self.summary);
        self.summary
    }

    fn terminal(&self, ti: usize) -> &PlannedTerminal {
        let t = &self.terminals[ti];
        &self.plan.sites[t.site].terminals[t.index]
    }

    /// Starts workers while the limits allow, spreading over sites; office hours hold back a
    /// visit that cannot finish before its site closes (looked at again on the next event).
    fn start_terminals(&mut self) {
        let mut site_windows: Vec<Option<SiteWindow>> = vec![None; self.plan.sites.len()];
        for ti in 0..self.terminals.len() {
            if self.active >= self.options.max_terminals {
                break;
            }
            let (site_index, index) = (self.terminals[ti].site, self.terminals[ti].index);
            let site = &self.plan.sites[site_index];
            let capacity = site.capacity.max(1) as usize;
            if self.terminals[ti].started || self.site_active[site_index] >= capacity {
                continue;
            }
            if let Some(policy) = &self.options.window {
                let finished = &self.resume.finished;
                let refused = site_windows[site_index]
                    .get_or_insert_with(|| policy.site_window(&site.id))
                    .refuse(&site.id, || {
                        window::work_left(&self.plan, &site.terminals[index], finished)
                    });
                self.terminals[ti].window = refused.map(SkipReason::NotStarted);
                if self.terminals[ti].window.is_some() {
                    continue;
                }
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let t = &mut self.terminals[ti];
            t.started = true;
            t.sender = Some(tx);
            self.site_active[site_index] += 1;
            self.active += 1;
            self.open_workers += 1;
            tokio::spawn(worker(
                WorkerSpec {
                    id: ti,
                    site: site_index,
                    index,
                    check: self.options.check,
                },
                self.plan.clone(),
                self.env.clone(),
                self.connector.clone(),
                rx,
                self.events_tx.clone(),
            ));
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Connected(ti) => self.dispatch_next(ti),
            Event::Note(text) => self.reporter.message(&text),
            Event::ConnectFailed {
                terminal,
                lost,
                error,
            } => {
                self.connect_failed(terminal, lost, error);
                self.dispatch_next(terminal);
            }
            Event::Settled(ti, settled) => self.record_settled(ti, &settled),
            Event::Finished(ti, unit, outcome) => {
                self.unit_finished(ti, unit, *outcome);
                self.dispatch_next(ti);
            }
            Event::Closed(ti) => {
                let site = self.terminals[ti].site;
                self.site_active[site] -= 1;
                self.active -= 1;
                self.open_workers -= 1;
                let terminal = self.terminal(ti).id.clone();
                self.reporter
                    .terminal_finished(&self.plan.sites[site].id, &terminal);
            }
        }
    }

    /// The terminal could not be worked on: its first unit carries why (busy: every unit is
    /// busy, since another run will do them); the rest are skipped.
    fn connect_failed(&mut self, ti: usize, lost: Lost, error: String) {
        let status = match lost {
            Lost::Unreachable => Status::Unreachable,
            Lost::Busy => Status::Busy,
            _ => Status::Failed,
        };
        let busy = lost == Lost::Busy;
        self.terminals[ti].lost = Some(lost);
        let count = if busy {
            self.terminal(ti).tasks.len()
        } else {
            1
        };
        for unit in 0..count.min(self.terminal(ti).tasks.len()) {
            self.terminals[ti].next = unit + 1;
            if busy && self.count_resumed(ti, unit) {
                continue;
            }
            let outcome = TaskOutcome {
                status,
                error: Some(error.clone()),
                ..skipped(String::new())
            };
            if !busy {
                let job = self.terminal(ti).tasks[unit].job.clone();
                self.jobs.note(&job, ti);
                if self.options.fail_fast && self.stopping.is_none() {
                    self.stopping = Some(StopReason::FailFast {
                        terminal: self.terminal(ti).id.clone(),
                        task: None,
                    });
                }
            }
            self.record(ti, unit, outcome);
        }
    }

    fn unit_finished(&mut self, ti: usize, unit: usize, outcome: TaskOutcome) {
        let task = &self.terminal(ti).tasks[unit];
        let (job, key) = (task.job.clone(), task.key.clone());
        match outcome.status {
            Status::Interrupted | Status::Unreachable => {
                self.terminals[ti].lost = Some(Lost::ConnectionLost);
            }
            // A reboot after which the terminal did not come back: its worker runs nothing
            // more, so nothing more is sent to it.
            Status::Failed if outcome.reconnect.is_some() => {
                self.terminals[ti].lost = Some(Lost::NoReboot);
            }
            _ => {}
        }
        if matches!(
            outcome.status,
            Status::Failed | Status::Unreachable | Status::Interrupted
        ) {
            self.jobs.note(&job, ti);
            if self.options.fail_fast && self.stopping.is_none() {
                self.stopping = Some(StopReason::FailFast {
                    terminal: self.terminal(ti).id.clone(),
                    task: Some(key),
                });
            }
        }
        self.record(ti, unit, outcome);
    }

    /// Sends the terminal its next unit, counting what an interrupted run finished and
    /// skipping what must not run; closes the worker when nothing is left.
    fn dispatch_next(&mut self, ti: usize) {
        if self.terminals[ti].finished {
            return;
        }
        while self.terminals[ti].next < self.terminal(ti).tasks.len() {
            let unit = self.terminals[ti].next;
            self.terminals[ti].next += 1;
            if self.count_resumed(ti, unit) {
                continue;
            }
            if let Some(reason) = self.skip_reason(ti, unit) {
                let key = self.terminal(ti).tasks[unit].key.clone();
                if reason.blocks_dependents() {
                    self.terminals[ti].blocked.insert(key);
                }
                self.record(ti, unit, skipped(reason.to_string()));
                continue;
            }
            if !self.write_intent(ti, unit) {
                // Fail closed: nothing is changed without its intent on disk.
                self.terminals[ti].next -= 1;
                continue;
            }
            let job = self.terminal(ti).tasks[unit].job.clone();
            self.terminals[ti].jobs_started.insert(job);
            if let Some(sender) = &self.terminals[ti].sender
                && sender.send(unit).is_ok()
            {
                return;
            }
        }
        let t = &mut self.terminals[ti];
        t.finished = true;
        t.sender = None; // the worker closes its connection and reports Closed
    }

    /// A unit an interrupted run finished: counted as it ended, not run again.
    fn count_resumed(&mut self, ti: usize, unit: usize) -> bool {
        let term = self.terminal(ti);
        let task = &term.tasks[unit];
        let Some(status) = self
            .resume
            .finished
            .get(&(term.id.clone(), task.key.clone()))
            .copied()
        else {
            return false;
        };
        let (site, terminal, task) = (
            self.plan.sites[self.terminals[ti].site].id.clone(),
            term.id.clone(),
            task.clone(),
        );
        let t = &mut self.terminals[ti];
        match status {
            Status::Changed => {
                t.changed.insert(task.key.clone());
            }
            Status::Ok => {}
            _ => {
                t.blocked.insert(task.key.clone());
            }
        }
        t.jobs_started.insert(task.job.clone());
        self.summary.sites[t.site].add(status);
        let outcome = TaskOutcome {
            status,
            summary: "done in the interrupted run".to_string(),
            ..skipped(String::new())
        };
        self.reporter
            .task_finished(&site, &terminal, &task, &outcome);
        self.summary.terminals[ti].units.push(UnitResult {
            key: task.key.clone(),
            outcome,
        });
        true
    }

    /// Why the unit must not run now, if it must not.
    fn skip_reason(&mut self, ti: usize, unit: usize) -> Option<SkipReason> {
        let site_id = self.plan.sites[self.terminals[ti].site].id.clone();
        let term = self.terminal(ti);
        let task = &term.tasks[unit];
        let t = &self.terminals[ti];
        if let Some(lost) = &t.lost {
            return Some(SkipReason::Lost(lost.clone()));
        }
        if let Some(why) = &self.stopping {
            return Some(SkipReason::RunStopped(why.clone()));
        }
        if let Some(why) = self
            .options
            .window
            .as_ref()
            .and_then(|w| w.closed(&site_id))
        {
            // Closing time: the unit that was running has finished; nothing more starts.
            let reason = SkipReason::Closing(why);
            self.terminals[ti].window = Some(reason.clone());
            return Some(reason);
        }
        if let Some(why) = &task.skip {
            return Some(SkipReason::Planned(why.clone()));
        }
        if let Some(need) = task.needs.iter().find(|n| t.blocked.contains(*n)) {
            return Some(SkipReason::NeedFailed(need.clone()));
        }
        if let Some(need) = task.needs.iter().find(|n| {
            !term.tasks.iter().any(|o| &o.key == *n)
                && !self
                    .resume
                    .earlier
                    .contains(&(term.id.clone(), (*n).clone()))
        }) {
            return Some(SkipReason::NeedOutsideSelection(need.clone()));
        }
        if task.handler
            && !term.tasks.iter().any(|o| {
                o.job == task.job && o.notify.contains(&task.task) && t.changed.contains(&o.key)
            })
        {
            return Some(SkipReason::NotNotified);
        }
        if !t.jobs_started.contains(&task.job) && self.jobs.exceeded(&task.job) {
            return Some(SkipReason::JobStopped(task.job.clone()));
        }
        None
    }

    /// Journals the unit's intent; false (and the run stopping) if that failed.
    fn write_intent(&mut self, ti: usize, unit: usize) -> bool {
        let t = &self.terminals[ti];
        let site = &self.plan.sites[t.site];
        let term = &site.terminals[t.index];
        let task = &term.tasks[unit];
        let Some(journal) = self.journal.as_deref_mut() else {
            return true;
        };
        let intent = Intent {
            terminal: term.id.clone(),
            host_key: self.connector.host_key(site, term),
            job: task.job.clone(),
            task: task.task.clone(),
            action: task.action.clone(),
            change: if self.options.check {
                record::CHECK_ONLY_CHANGE.to_string()
            } else {
                crate::plan::task_summary(task, crate::language::Language::En)
            },
        };
        match journal.append(Record::Intent(intent)) {
            Ok(seq) => {
                self.terminals[ti].intent = Some(seq.0);
                true
            }
            Err(e) => {
                self.stopping = Some(StopReason::Journal(e.to_string()));
                false
            }
        }
    }

    /// Appends to the journal, if there is one; a failure stops the run.
    fn journal_append(&mut self, record: Record) {
        if let Some(j) = self.journal.as_deref_mut()
            && let Err(e) = j.append(record)
            && self.stopping.is_none()
        {
            self.stopping = Some(StopReason::Journal(e.to_string()));
        }
    }

    /// Rotations of earlier runs settled when connecting: every committed one gets its
    /// `rotation` record, naming the run that began it.
    fn record_settled(&mut self, ti: usize, settled: &[Settled]) {
        let terminal = self.terminal(ti).id.clone();
        for s in settled
            .iter()
            .filter(|s| s.outcome == SettledOutcome::Committed)
        {
            self.journal_append(Record::Rotation(record::Rotation {
                terminal: terminal.clone(),
                account: s.account.user().to_string(),
                secret: s.account.secret_name(),
                reason: Some(format!(
                    "completed the rotation of version {} that had reached the terminal",
                    s.version
                )),
                began_in: Some(s.began_in.clone()),
            }));
        }
    }

    /// Records one unit's outcome: journal, bookkeeping, recap, reporter.
    fn record(&mut self, ti: usize, unit: usize, outcome: TaskOutcome) {
        let t = &self.terminals[ti];
        let site_id = self.plan.sites[t.site].id.clone();
        let term = &self.plan.sites[t.site].terminals[t.index];
        let task = term.tasks[unit].clone();
        let terminal = term.id.clone();
        let intent = self.terminals[ti].intent.take();
        if self.journal.is_some() {
            let result = result_record(&terminal, &task, intent, &outcome);
            self.journal_append(Record::Result(result));
            // A changed password is recorded twice over: the task's result, and a `rotation`
            // record that auditors read without knowing which tasks rotate.
            if let Some(rotation) = rotation_record(&terminal, &task, &outcome) {
                self.journal_append(rotation);
            }
            // Media virus-scanned before upload: which scanner, its database, the result.
            if let Some(scan) = outcome.facts.as_ref().and_then(|facts| {
                record::MediaScan::from_facts(&terminal, &task.job, &task.task, facts)
            }) {
                self.journal_append(Record::MediaScan(scan));
            }
        }
        let t = &mut self.terminals[ti];
        match outcome.status {
            Status::Failed | Status::Unreachable | Status::Interrupted | Status::Busy => {
                t.blocked.insert(task.key.clone());
            }
            Status::Changed => {
                t.changed.insert(task.key.clone());
            }
            Status::Ok | Status::Skipped => {}
        }
        self.summary.sites[t.site].add(outcome.status);
        self.reporter
            .task_finished(&site_id, &terminal, &task, &outcome);
        self.summary.terminals[ti].units.push(UnitResult {
            key: task.key.clone(),
            outcome,
        });
    }

    /// Terminals the office hours held back get their units recorded as skipped (a resume runs
    /// them); every terminal with work left is named with its next window.
    fn record_held_back(&mut self) -> Option<WindowPause> {
        let policy = self.options.window.clone()?;
        let mut pause = PauseBuilder::default();
        for ti in 0..self.terminals.len() {
            let Some(why) = self.terminals[ti].window.clone() else {
                continue;
            };
            let term = self.terminal(ti).clone();
            let left: Vec<usize> = (0..term.tasks.len())
                .filter(|&i| {
                    !self
                        .resume
                        .finished
                        .contains_key(&(term.id.clone(), term.tasks[i].key.clone()))
                })
                .collect();
            let started = self.terminals[ti].started;
            if !started && left.is_empty() {
                continue; // all done in the interrupted run: nothing is held back
            }
            if !started {
                for i in left {
                    self.record(ti, i, skipped(why.to_string()));
                }
            }
            let site = self.terminals[ti].site;
            let why = match &why {
                SkipReason::Closing(w) => w.clone(),
                other => other.to_string(),
            };
            pause.note(site, &self.plan.sites[site].id, &term.id, &why);
        }
        let run = self.journal.as_deref().map(|j| j.run_id().to_string());
        pause.finish(&policy, run)
    }
}

/// The journal's `result` record for an outcome.
fn result_record(
    terminal: &str,
    task: &PlannedTask,
    intent: Option<u64>,
    outcome: &TaskOutcome,
) -> TaskResult {
    let digest = |d: &Option<(String, usize)>| match d {
        Some((sha256, bytes)) => OutputDigest {
            sha256: sha256.clone(),
            bytes: *bytes as u64,
        },
        None => OutputDigest::of(b""),
    };
    TaskResult {
        terminal: terminal.to_string(),
        job: task.job.clone(),
        task: task.task.clone(),
        intent,
        status: outcome.status,
        changed: outcome.status == Status::Changed,
        stdout: digest(&outcome.stdout),
        stderr: digest(&outcome.stderr),
        duration_ms: outcome.duration.as_millis() as u64,
        error: outcome
            .error
            .clone()
            .or_else(|| (outcome.status == Status::Skipped).then(|| outcome.summary.clone())),
    }
}

/// The `rotation` record of a unit that changed a password (facts from the password action).
fn rotation_record(terminal: &str, task: &PlannedTask, outcome: &TaskOutcome) -> Option<Record> {
    if outcome.status != Status::Changed {
        return None;
    }
    let r = outcome.facts.as_ref()?.get("rotation")?;
    let text = |key: &str| r.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    Some(Record::Rotation(record::Rotation {
        terminal: terminal.to_string(),
        account: text("account").to_string(),
        secret: text("secret").to_string(),
        reason: Some(format!("{}: {}", task.job, text("reason"))),
        began_in: r
            .get("began_in")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    }))
}

/// A skipped unit's outcome, saying why.
pub(crate) fn skipped(reason: String) -> TaskOutcome {
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
