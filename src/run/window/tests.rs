//! The coordinator against office hours, on a controlled clock: fake terminals (the scripted
//! [`FakeTransport`]) behind a test [`Connector`], and a reporter that moves the clock forward
//! as each unit ends, as if the unit had taken that long.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;
use crate::action::{ApplyEnv, Status, TaskOutcome};
use crate::inventory::Selector;
use crate::journal::record::RunStart;
use crate::journal::{JournalWriter, Signer, read_run};
use crate::plan::{PlanRequest, PlannedSite, PlannedTask};
use crate::project::{Project, ProjectPaths};
use crate::report::Reporter;
use crate::run::connector::ConnectFuture;
use crate::run::{ApplyOptions, Connector, Finished, RunSummary, execute};
use crate::transport::Transport;
use crate::transport::fake::FakeTransport;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `october`: the October jobs on the schedule fixture's sites (kita: capacity 1, two
/// terminals, 40 minutes of work each, closed on 2026-10-01). `window`: site higashi, two
/// terminals one at a time, four independent ten-minute jobs.
fn project(which: &str) -> Project {
    let paths = match which {
        "october" => {
            let root = fixture("schedule");
            let mut paths = ProjectPaths::new(&root);
            paths.playbooks = root.join("october");
            paths
        }
        other => ProjectPaths::new(&fixture(other)),
    };
    let (project, diags) = Project::load(paths);
    match project {
        Some(p) => p,
        None => panic!("fixture does not load: {diags:?}"),
    }
}

fn plan_for(site: &str) -> Arc<Plan> {
    let which = if site == "higashi" {
        "window"
    } else {
        "october"
    };
    let request = PlanRequest {
        jobs: Vec::new(),
        limit: Selector {
            sites: vec![site.to_string()],
            ..Default::default()
        },
        schedule: None,
        period: None,
    };
    match crate::plan::build(&project(which), &request) {
        Ok(plan) => Arc::new(plan),
        Err(diags) => panic!("fixture does not plan: {diags:?}"),
    }
}

fn tokyo(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    match date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned(TimeZone::get("Asia/Tokyo").unwrap_or(TimeZone::UTC))
    {
        Ok(z) => z.timestamp(),
        Err(e) => panic!("{e}"),
    }
}

/// Connects every terminal to a fresh fake and remembers which terminals it connected.
#[derive(Default)]
struct FakeConnector {
    connected: Mutex<Vec<String>>,
}

impl Connector for FakeConnector {
    fn connect<'a>(
        &'a self,
        _site: &'a PlannedSite,
        terminal: &'a PlannedTerminal,
    ) -> ConnectFuture<'a> {
        self.connected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(terminal.id.clone());
        Box::pin(async { Ok(Box::new(FakeTransport::new()) as Box<dyn Transport>) })
    }
}

/// One unit as the reporter saw it end.
#[derive(Debug, Clone)]
struct Ended {
    terminal: String,
    key: String,
    status: Status,
    summary: String,
    at: Timestamp,
}

/// Moves the clock forward by `per_unit` for every unit that ran (not for skips).
struct TimedReporter {
    clock: Arc<ManualClock>,
    per_unit: Duration,
    ended: Vec<Ended>,
}

impl Reporter for TimedReporter {
    fn start(&mut self, _plan: &Plan, _check: bool) {}

    fn task_finished(
        &mut self,
        _site: &str,
        terminal: &str,
        task: &PlannedTask,
        outcome: &TaskOutcome,
    ) {
        if outcome.status != Status::Skipped {
            self.clock.advance(self.per_unit);
        }
        self.ended.push(Ended {
            terminal: terminal.to_string(),
            key: task.key.clone(),
            status: outcome.status,
            summary: outcome.summary.clone(),
            at: self.clock.now(),
        });
    }

    fn terminal_finished(&mut self, _site: &str, _terminal: &str) {}

    fn message(&mut self, _text: &str) {}

    fn finish(&mut self, _summary: &RunSummary) {}
}

fn env() -> Arc<ApplyEnv> {
    Arc::new(ApplyEnv {
        project_root: fixture("window"),
        collect_root: std::env::temp_dir(),
        artifacts: Default::default(),
        secrets: Default::default(),
        secrets_dir: None,
        scanner: None,
        operator: "tester".into(),
        run_id: "test".into(),
    })
}

struct Outcome {
    summary: RunSummary,
    ended: Vec<Ended>,
    connected: Vec<String>,
}

fn run_at(
    plan: Arc<Plan>,
    start: Timestamp,
    per_unit: Duration,
    journal: Option<&mut JournalWriter>,
    finished: &Finished,
) -> Outcome {
    let clock = Arc::new(ManualClock::new(start));
    let project = project(if plan.sites[0].id == "higashi" {
        "window"
    } else {
        "october"
    });
    let options = ApplyOptions {
        max_terminals: 1,
        window: Some(WindowPolicy::with_clock(
            crate::schedule::Calendars::from_inventory(&project.inventory)
                .unwrap_or_else(|e| panic!("{e}")),
            clock.clone(),
        )),
        ..Default::default()
    };
    let connector = Arc::new(FakeConnector::default());
    let mut reporter = TimedReporter {
        clock,
        per_unit,
        ended: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = runtime.block_on(execute(
        plan,
        env(),
        connector.clone(),
        &options,
        &mut reporter,
        journal,
        &crate::run::Resume {
            finished: finished.clone(),
            ..Default::default()
        },
    ));
    let connected = connector
        .connected
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Outcome {
        summary,
        ended: reporter.ended,
        connected,
    }
}

fn test_signer(dir: &Path) -> Signer {
    let key = dir.join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&key)
        .status()
        .unwrap_or_else(|e| panic!("ssh-keygen: {e}"));
    assert!(status.success());
    Signer::from_key_file("alice", &key, None).unwrap_or_else(|e| panic!("{e}"))
}

fn hm(at: Timestamp) -> String {
    at.to_zoned(TimeZone::get("Asia/Tokyo").unwrap_or(TimeZone::UTC))
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

#[test]
fn closing_time_lets_the_unit_in_progress_finish_and_starts_nothing_more() {
    let plan = plan_for("higashi");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut journal = JournalWriter::create(
        &dir.path().join("logs"),
        RunStart::new("higashi-run", &plan.digest),
        test_signer(dir.path()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // higashi is open 08:45-17:15. higashi-t01's four ten-minute jobs (40 minutes) fit from
    // 16:30. Each unit takes 16 minutes: step 1 ends 16:46, step 2 17:02; step 3 starts at
    // 17:02, still open, and ends 17:18, after closing; step 4 never starts.
    let out = run_at(
        plan.clone(),
        tokyo(2026, 10, 2, 16, 30),
        Duration::from_secs(16 * 60),
        Some(&mut journal),
        &Finished::new(),
    );
    let t01: Vec<(&str, bool, String)> = out
        .ended
        .iter()
        .filter(|e| e.terminal == "higashi-t01")
        .map(|e| (e.key.as_str(), e.status != Status::Skipped, hm(e.at)))
        .collect();
    assert_eq!(
        t01,
        [
            ("step1/run", true, "2026-10-02 16:46".to_string()),
            ("step2/run", true, "2026-10-02 17:02".to_string()),
            ("step3/run", true, "2026-10-02 17:18".to_string()),
            ("step4/run", false, "2026-10-02 17:18".to_string()),
        ],
        "the unit running at 17:15 finished, the next did not start"
    );
    let step4 = out
        .ended
        .iter()
        .find(|e| e.terminal == "higashi-t01" && e.key == "step4/run")
        .unwrap_or_else(|| panic!("step 4 is reported"));
    assert_eq!(
        step4.summary,
        "run stopped (office hours at higashi ended at 17:15)"
    );
    // higashi-t02 was never started, never connected; its units are skipped, saying why.
    assert_eq!(out.connected, ["higashi-t01"]);
    let t02: Vec<&Ended> = out
        .ended
        .iter()
        .filter(|e| e.terminal == "higashi-t02")
        .collect();
    assert_eq!(t02.len(), 4);
    assert!(
        t02.iter().all(|e| e.status == Status::Skipped
            && e.summary == "not started: office hours at higashi ended at 17:15"),
        "{t02:#?}"
    );
    // The summary says what is left, when the next window is, and how to resume.
    let pause = out
        .summary
        .paused
        .clone()
        .unwrap_or_else(|| panic!("paused"));
    assert_eq!(pause.sites.len(), 1);
    assert_eq!(pause.sites[0].terminals, ["higashi-t01", "higashi-t02"]);
    let next = pause.sites[0]
        .next_window
        .clone()
        .unwrap_or_else(|| panic!("a next window"));
    // Friday's window closed; Saturday and Sunday are closed: Monday 2026-10-05.
    assert_eq!(next.date(), date(2026, 10, 5));
    let stopped = out
        .summary
        .stopped
        .clone()
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert_eq!(
        stopped,
        "paused for office hours: 2 terminal(s) at 1 site(s) have work left\n  \
         higashi: higashi-t01, higashi-t02 (office hours at higashi ended at 17:15); next window \
         2026-10-05 Mon 08:45-17:15\n\
         resume in the next window with the same plan options: seibi apply --resume higashi-run"
    );
    // The journal has an intent for each unit that ran and a result for every unit, skips
    // included (a resume runs those again).
    let path = journal.path().to_path_buf();
    journal.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    let run = read_run(&path).unwrap_or_else(|e| panic!("{e}"));
    let steps = |terminal: &str| -> Vec<(String, bool, Option<crate::journal::Status>)> {
        run.terminals[terminal]
            .iter()
            .map(|s| {
                (
                    s.job.clone(),
                    s.action.is_some(),
                    s.result.as_ref().map(|r| r.status),
                )
            })
            .collect()
    };
    let t01 = steps("higashi-t01");
    assert_eq!(
        t01.iter().map(|(_, intent, _)| *intent).collect::<Vec<_>>(),
        [true, true, true, false]
    );
    assert_eq!(t01[3].2, Some(crate::journal::Status::Skipped));
    assert!(
        steps("higashi-t02")
            .iter()
            .all(|(_, intent, status)| !intent && *status == Some(crate::journal::Status::Skipped))
    );
}

#[test]
fn a_resumed_run_does_not_repeat_what_finished() {
    // Monday morning: step 1 and 2 of higashi-t01 finished on Friday.
    let plan = plan_for("higashi");
    let mut finished = Finished::new();
    for key in ["step1/run", "step2/run"] {
        finished.insert(
            ("higashi-t01".to_string(), key.to_string()),
            Status::Changed,
        );
    }
    let out = run_at(
        plan,
        tokyo(2026, 10, 5, 8, 45),
        Duration::from_secs(60),
        None,
        &finished,
    );
    let ran: Vec<(&str, &str)> = out
        .ended
        .iter()
        .filter(|e| e.status != Status::Skipped && e.summary != "done in the interrupted run")
        .map(|e| (e.terminal.as_str(), e.key.as_str()))
        .collect();
    assert_eq!(
        ran,
        [
            ("higashi-t01", "step3/run"),
            ("higashi-t01", "step4/run"),
            ("higashi-t02", "step1/run"),
            ("higashi-t02", "step2/run"),
            ("higashi-t02", "step3/run"),
            ("higashi-t02", "step4/run"),
        ]
    );
    assert!(out.summary.paused.is_none());
}

#[test]
fn a_visit_that_cannot_finish_before_closing_is_not_started() {
    // 16:50: 25 minutes left, kita-t01 needs 40.
    let out = run_at(
        plan_for("kita"),
        tokyo(2026, 10, 2, 16, 50),
        Duration::from_secs(60),
        None,
        &Finished::new(),
    );
    assert!(out.connected.is_empty(), "{:?}", out.connected);
    assert!(out.ended.iter().all(|e| e.status == Status::Skipped));
    assert_eq!(
        out.ended[0].summary,
        "not started: needs about 40 min, but office hours at kita end at 17:15 (25 min left)"
    );
    assert_eq!(out.summary.exit_code(), 6);
    let stopped = out
        .summary
        .stopped
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert!(
        stopped.contains("run `seibi apply` again in the next window"),
        "{stopped}"
    );
}

#[test]
fn a_closed_day_starts_nothing_and_work_inside_the_window_is_untouched() {
    // kita is closed on 2026-10-01 (its own closed day).
    let out = run_at(
        plan_for("kita"),
        tokyo(2026, 10, 1, 10, 0),
        Duration::from_secs(60),
        None,
        &Finished::new(),
    );
    assert!(out.connected.is_empty());
    assert!(
        out.ended[0]
            .summary
            .starts_with("not started: site kita is closed today, 2026-10-01 (拠点休業日)"),
        "{}",
        out.ended[0].summary
    );
    // On a business day morning everything fits: both terminals run, nothing is paused.
    let out = run_at(
        plan_for("kita"),
        tokyo(2026, 10, 2, 9, 0),
        Duration::from_secs(60),
        None,
        &Finished::new(),
    );
    assert_eq!(out.connected, ["kita-t01", "kita-t02"]);
    assert!(out.summary.paused.is_none());
    assert!(
        out.ended
            .iter()
            .all(|e| !e.summary.contains("office hours")),
        "{:#?}",
        out.ended
    );
}

#[test]
fn work_left_counts_only_jobs_with_units_still_to_do() {
    let plan = plan_for("kita");
    let terminal = &plan.sites[0].terminals[0];
    assert_eq!(
        work_left(&plan, terminal, &Finished::new()),
        Duration::from_secs(40 * 60)
    );
    let mut finished = Finished::new();
    for task in terminal
        .tasks
        .iter()
        .filter(|t| t.job == "openssl-patch-2026-09")
    {
        finished.insert((terminal.id.clone(), task.key.clone()), Status::Changed);
    }
    assert_eq!(
        work_left(&plan, terminal, &finished),
        Duration::from_secs(20 * 60),
        "the patch is done: settings (15) and rotation (5) are left"
    );
}

#[test]
fn the_manual_clock_moves_only_when_told() {
    let start = tokyo(2026, 10, 2, 8, 0);
    let clock = ManualClock::new(start);
    assert_eq!(clock.now(), start);
    clock.advance(Duration::from_secs(90));
    assert_eq!(hm(clock.now()), "2026-10-02 08:01");
    clock.set(start);
    assert_eq!(clock.now(), start);
    let policy = WindowPolicy::with_clock(
        crate::schedule::Calendars::default(),
        Arc::new(ManualClock::new(start)),
    );
    assert_eq!(
        policy.closed("chuo").as_deref(),
        Some("office hours at chuo begin at 08:45")
    );
}

/// Windows the city approved for chuo: Friday 2026-10-02 17:15-20:00 (after office hours) and
/// Saturday 2026-10-03 09:00-12:00.
fn friday_evening_and_saturday_morning() -> [crate::plan::PlannedWindow; 2] {
    let window = |day, start: (i8, i8), end: (i8, i8)| crate::plan::PlannedWindow {
        site: "chuo".to_string(),
        window: crate::inventory::ApprovedWindow {
            date: day,
            start: jiff::civil::time(start.0, start.1, 0, 0),
            end: jiff::civil::time(end.0, end.1, 0, 0),
            approval: Some("情報政策課 2026-09-20".to_string()),
        },
    };
    [
        window(date(2026, 10, 2), (17, 15), (20, 0)),
        window(date(2026, 10, 3), (9, 0), (12, 0)),
    ]
}

#[test]
fn approved_out_of_hours_windows_open_the_site_and_extend_its_hours() {
    let approved = friday_evening_and_saturday_morning();
    let clock = Arc::new(ManualClock::new(tokyo(2026, 10, 2, 16, 0)));
    let policy = WindowPolicy::with_clock(crate::schedule::Calendars::default(), clock.clone())
        .with_approved_windows(&approved);
    let plain = WindowPolicy::with_clock(crate::schedule::Calendars::default(), clock.clone());
    let closes = |p: &WindowPolicy| match p.site_window("chuo") {
        SiteWindow::Open { closes, .. } => Some(closes.strftime("%Y-%m-%d %H:%M").to_string()),
        SiteWindow::Closed(_) => None,
    };
    // In office hours the approved evening extends the day.
    assert_eq!(closes(&policy).as_deref(), Some("2026-10-02 20:00"));
    assert_eq!(closes(&plain).as_deref(), Some("2026-10-02 17:15"));
    clock.set(tokyo(2026, 10, 2, 18, 30));
    assert_eq!(closes(&policy).as_deref(), Some("2026-10-02 20:00"));
    assert!(plain.closed("chuo").is_some());
    assert_eq!(
        policy.refuse_start("chuo", Duration::from_secs(60 * 60)),
        None
    );
    assert!(
        policy
            .refuse_start("chuo", Duration::from_secs(2 * 60 * 60))
            .is_some()
    );
    clock.set(tokyo(2026, 10, 2, 20, 0));
    assert!(policy.closed("chuo").is_some(), "the window ends at 20:00");
    // A Saturday morning the city agreed to.
    clock.set(tokyo(2026, 10, 3, 10, 0));
    assert_eq!(closes(&policy).as_deref(), Some("2026-10-03 12:00"));
    assert!(plain.closed("chuo").is_some());
    assert!(
        policy.closed("kita").is_some(),
        "only the site it was approved for"
    );
}

#[test]
fn the_next_window_counts_approved_out_of_hours_windows() {
    // Friday 2026-10-02: an approved evening after the office hours; Saturday morning too.
    let approved = friday_evening_and_saturday_morning();
    let clock = Arc::new(ManualClock::new(tokyo(2026, 10, 2, 7, 0)));
    let policy = WindowPolicy::with_clock(crate::schedule::Calendars::default(), clock.clone())
        .with_approved_windows(&approved);
    let plain = WindowPolicy::with_clock(crate::schedule::Calendars::default(), clock.clone());
    let next = |p: &WindowPolicy| {
        p.next_window("chuo").map(|w| {
            format!(
                "{} {}-{}",
                w.date(),
                w.start().strftime("%m-%d %H:%M"),
                w.end().strftime("%m-%d %H:%M")
            )
        })
    };
    // Before opening: today's hours, extended by the approved evening.
    assert_eq!(
        next(&policy).as_deref(),
        Some("2026-10-02 10-02 08:45-10-02 20:00")
    );
    assert_eq!(
        next(&plain).as_deref(),
        Some("2026-10-02 10-02 08:45-10-02 17:15")
    );
    // During the (extended) day: the next one is Saturday morning, not Monday.
    clock.set(tokyo(2026, 10, 2, 16, 0));
    assert_eq!(
        next(&policy).as_deref(),
        Some("2026-10-03 10-03 09:00-10-03 12:00")
    );
    assert_eq!(
        next(&plain).as_deref(),
        Some("2026-10-05 10-05 08:45-10-05 17:15")
    );
    // After the evening window, and after Saturday's: Saturday, then Monday.
    clock.set(tokyo(2026, 10, 2, 20, 0));
    assert_eq!(
        next(&policy).as_deref(),
        Some("2026-10-03 10-03 09:00-10-03 12:00")
    );
    clock.set(tokyo(2026, 10, 3, 12, 0));
    assert_eq!(
        next(&policy).as_deref(),
        Some("2026-10-05 10-05 08:45-10-05 17:15")
    );
    // Only the site it was approved for.
    clock.set(tokyo(2026, 10, 2, 20, 0));
    assert_eq!(
        policy.next_window("kita").map(|w| w.date()),
        Some(date(2026, 10, 5))
    );

    // A run paused at Friday's closing says to come back on Saturday morning.
    clock.set(tokyo(2026, 10, 2, 20, 0));
    let mut pause = PauseBuilder::default();
    pause.note(0, "chuo", "chuo-t01", "office hours at chuo ended at 20:00");
    let pause = pause
        .finish(&policy, Some("RUN".to_string()))
        .unwrap_or_else(|| panic!("a pause"));
    assert_eq!(
        pause.message(),
        "paused for office hours: 1 terminal(s) at 1 site(s) have work left\n  \
         chuo: chuo-t01 (office hours at chuo ended at 20:00); next window 2026-10-03 Sat \
         09:00-12:00\nresume in the next window with the same plan options: seibi apply \
         --resume RUN"
    );
}
