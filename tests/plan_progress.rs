//! An approved plan carried out site by site over several runs: `seibi status PLAN.json` after
//! each run (exit status 3 until every unit is done, then 0), `seibi report progress` (the
//! 進捗報告書, Markdown and a workbook read back with calamine) and `seibi report result` over
//! all the plan's runs and over several journal files. The journals are written here with
//! `JournalWriter` and signed with a real key, as `apply` writes them: a failure put right by a
//! later run, an unreachable terminal, a check run that counts for nothing, a handler nothing
//! notified, a task whose condition is false.

mod common;

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};

use calamine::{Data, Reader, Xlsx};
use common::{overlay_project, run_seibi};
use jiff::Timestamp;
use seibi::documents::{Cell, Language, PlanProgress, UnitState};
use seibi::journal::record::{CHECK_ONLY_CHANGE, Selection};
use seibi::journal::{
    self, Intent, JournalWriter, OutputDigest, Record, RunEnd, RunStart, Signer, Status, Tally,
    TaskResult, WriterOptions,
};
use seibi::plan::Plan;
use seibi::roster::Roster;

/// A third site for the base fixture, so the plan spans three.
const MINAMI: &str = "sites:\n  minami: { name: 南区役所, capacity: 1, vars: { syslog_server: log03.city.example } }\nterminals:\n  minami-t01: { site: minami, address: 10.3.0.11, groups: [counter], tags: [kiosk] }\n";

/// The base fixture plus a third site, with a roster whose operator is `tanaka` (key in
/// `keys/tanaka`), and its plan saved as `plan.json`.
fn project() -> (tempfile::TempDir, Plan) {
    let dir = overlay_project(None);
    fs::write(dir.path().join("inventory/minami.yml"), MINAMI).expect("inventory");
    let keys = dir.path().join("keys");
    fs::create_dir_all(&keys).expect("keys");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "tanaka@test", "-f"])
        .arg(keys.join("tanaka"))
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success());
    let public = fs::read_to_string(keys.join("tanaka.pub")).expect("pub");
    fs::write(
        dir.path().join("roster.yml"),
        format!(
            "people:\n  - id: tanaka\n    name: 田中 太郎\n    organisation: 保守委託先\n    role: operator\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n",
            public.trim()
        ),
    )
    .expect("roster");
    let out = run_seibi(dir.path(), &["plan", "--format", "json", "-o", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = Plan::from_json(&fs::read_to_string(dir.path().join("plan.json")).expect("plan"))
        .expect("a valid plan");
    assert_eq!(plan.sites.len(), 3);
    (dir, plan)
}

/// One unit as a run journals it.
struct Unit {
    terminal: String,
    key: String,
    status: Status,
    error: Option<String>,
}

fn unit(terminal: &str, key: &str, status: Status) -> Unit {
    Unit {
        terminal: terminal.to_string(),
        key: key.to_string(),
        status,
        error: None,
    }
}

fn failed_unit(terminal: &str, key: &str, status: Status, error: &str) -> Unit {
    Unit {
        error: Some(error.to_string()),
        ..unit(terminal, key, status)
    }
}

/// Every unit of `site`'s terminals as a clean first run does them: changed, the condition
/// false ones skipped, handlers run after their notifier changed.
fn clean_run(plan: &Plan, site: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    for s in plan.sites.iter().filter(|s| s.id == site) {
        for t in &s.terminals {
            for task in &t.tasks {
                let status = if task.skip.is_some() {
                    Status::Skipped
                } else {
                    Status::Changed
                };
                out.push(Unit {
                    terminal: t.id.clone(),
                    key: task.key.clone(),
                    status,
                    error: task.skip.clone(),
                });
            }
        }
    }
    out
}

/// Writes a signed journal of `units` for run `id` of the plan, one second per line from
/// `start`; `check` writes a check run (intents say so).
fn write_run(
    root: &Path,
    plan: &Plan,
    id: &str,
    start: &str,
    sites: &[&str],
    check: bool,
    units: &[Unit],
) -> PathBuf {
    let logs = root.join("logs");
    let at: Timestamp = start.parse().expect("time");
    let tick = AtomicI64::new(at.as_second());
    let clock: journal::Clock = Box::new(move || {
        Timestamp::from_second(tick.fetch_add(1, Ordering::SeqCst)).expect("in range")
    });
    let mut run_start = RunStart::new(id, plan.digest.clone());
    run_start.selection = Some(Selection {
        terminals: seibi::inventory::Selector {
            sites: sites.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        ..Selection::default()
    });
    let signer = Signer::from_key_file("tanaka", &root.join("keys/tanaka"), None).expect("key");
    let options = WriterOptions {
        clock: Some(clock),
        ..WriterOptions::default()
    };
    let mut w = JournalWriter::create_with(&logs, run_start, signer, options).expect("journal");
    let mut tally = Tally::default();
    for u in units {
        let (job, task) = u.key.split_once('/').expect("job/task");
        let ran = !matches!(u.status, Status::Unreachable | Status::Skipped);
        let intent = ran.then(|| {
            w.append(Record::Intent(Intent {
                terminal: u.terminal.clone(),
                host_key: "SHA256:hostkey".into(),
                job: job.into(),
                task: task.into(),
                action: "file".into(),
                change: if check {
                    CHECK_ONLY_CHANGE.into()
                } else {
                    "write the file".into()
                },
            }))
            .expect("intent")
            .0
        });
        w.append(Record::Result(TaskResult {
            terminal: u.terminal.clone(),
            job: job.into(),
            task: task.into(),
            intent,
            status: u.status,
            changed: u.status == Status::Changed,
            stdout: OutputDigest::of(b""),
            stderr: OutputDigest::of(b""),
            duration_ms: 1_200,
            error: u.error.clone(),
        }))
        .expect("result");
        tally.add(u.status);
    }
    w.finish(RunEnd {
        tally,
        stopped: None,
    })
    .expect("finish");
    logs.join(format!("{id}.jsonl"))
}

fn status(root: &Path, format: &str) -> common::Output {
    run_seibi(root, &["status", "plan.json", "--format", format])
}

fn cell_text(d: Option<&Data>) -> String {
    match d {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        Some(other) => other.to_string(),
    }
}

#[test]
fn a_plan_applied_site_by_site_is_complete_after_its_last_run() {
    let (dir, plan) = project();
    let root = dir.path();
    let units: usize = plan
        .sites
        .iter()
        .flat_map(|s| &s.terminals)
        .map(|t| t.tasks.len())
        .sum();

    // Not applied yet: every unit not run, exit 3.
    let before = status(root, "json");
    assert_eq!(before.code, 3, "{}", before.stderr);
    let json: serde_json::Value = serde_json::from_str(&before.stdout).expect("json");
    assert_eq!(json["units"], units);
    assert_eq!(json["done"], 0);
    assert_eq!(json["counts"]["not_run"], units);

    // Run 1: chuo, cleanly.
    write_run(
        root,
        &plan,
        "2026-10-05-chuo",
        "2026-10-05T00:30:00Z",
        &["chuo"],
        false,
        &clean_run(&plan, "chuo"),
    );
    // A check run of kita changes nothing and counts for nothing.
    let mut checked = clean_run(&plan, "kita");
    for u in &mut checked {
        u.status = Status::Ok;
    }
    write_run(
        root,
        &plan,
        "2026-10-06-kita-check",
        "2026-10-06T00:10:00Z",
        &["kita"],
        true,
        &checked,
    );
    // Run 2: kita; the viewer install fails on kita-t01 (so its handler is not notified), and
    // minami-t01, tried too, cannot be reached.
    let kita: Vec<Unit> = vec![
        unit("kita-t01", "settings/ntp", Status::Changed),
        failed_unit(
            "kita-t01",
            "update/install",
            Status::Failed,
            "dpkg: dependency problems",
        ),
        failed_unit(
            "kita-t01",
            "update/restart",
            Status::Skipped,
            "not notified: nothing it watches changed",
        ),
        unit("kita-t01", "settings/syslog", Status::Changed),
        unit("kita-t01", "settings/lock", Status::Changed),
        failed_unit(
            "minami-t01",
            "settings/ntp",
            Status::Unreachable,
            "connection refused",
        ),
    ];
    write_run(
        root,
        &plan,
        "2026-10-06-kita",
        "2026-10-06T00:30:00Z",
        &["kita"],
        false,
        &kita,
    );
    let midway = status(root, "text");
    assert_eq!(midway.code, 3, "{}", midway.stderr);
    insta::assert_snapshot!("status_midway_text", midway.stdout);
    let progress =
        PlanProgress::from_logs(&plan, &root.join("logs")).expect("progress from the logs");
    let state = |terminal: &str, key: &str| {
        progress
            .sites
            .iter()
            .flat_map(|s| &s.terminals)
            .filter(|t| t.terminal == terminal)
            .flat_map(|t| &t.units)
            .find(|u| format!("{}/{}", u.job, u.task) == key)
            .map(|u| u.state)
            .expect("unit in the plan")
    };
    assert_eq!(state("chuo-t02", "settings/lock"), UnitState::NotNeeded);
    assert_eq!(state("kita-t01", "update/install"), UnitState::Failed);
    assert_eq!(state("kita-t01", "update/restart"), UnitState::NotNeeded);
    assert_eq!(state("minami-t01", "settings/ntp"), UnitState::Unreachable);
    assert_eq!(state("minami-t01", "settings/syslog"), UnitState::NotRun);
    assert_eq!(progress.runs.len(), 3);
    assert!(progress.runs[1].check, "{:?}", progress.runs[1]);
    // Kita's check run said ok for every unit, yet kita-t01's install is not done.
    assert!(!progress.complete);
    let roster = Roster::load(&root.join("roster.yml")).expect("roster");
    let doc = progress.report(&roster, &job_titles(), Language::Ja);
    let md = run_seibi(root, &["report", "progress", "plan.json", "--lang", "ja"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    insta::assert_snapshot!("progress_midway_markdown_ja", md.stdout);
    assert_eq!(md.stdout, seibi::documents::to_markdown(&doc));

    // Run 3: kita again (the failure put right, the unreachable terminal now reached) and
    // minami. A success later than a failure supersedes it.
    let mut last = vec![
        unit("kita-t01", "update/install", Status::Changed),
        unit("kita-t01", "update/restart", Status::Changed),
        // kita-t01's ntp, done in run 2, is busy now: that does not undo it.
        failed_unit(
            "kita-t01",
            "settings/ntp",
            Status::Busy,
            "busy: leased by run x",
        ),
    ];
    last.extend(clean_run(&plan, "minami"));
    write_run(
        root,
        &plan,
        "2026-10-07-kita-minami",
        "2026-10-07T00:30:00Z",
        &["kita", "minami"],
        false,
        &last,
    );
    let done = status(root, "json");
    assert_eq!(done.code, 0, "{}", done.stderr);
    let json: serde_json::Value = serde_json::from_str(&done.stdout).expect("json");
    assert_eq!(json["complete"], true);
    assert_eq!(json["done"], units);
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(4));
    let text = status(root, "text");
    insta::assert_snapshot!("status_complete_text", text.stdout);

    // The result report of the plan covers every run of it, in time order.
    let result = run_seibi(
        root,
        &[
            "report",
            "result",
            "plan.json",
            "--lang",
            "en",
            "--format",
            "md",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let runs = [
        "2026-10-05-chuo",
        "2026-10-06-kita-check",
        "2026-10-06-kita",
        "2026-10-07-kita-minami",
    ];
    let summary_runs = format!("| Run | {} |", runs.join(", "));
    assert!(result.stdout.contains(&summary_runs), "{}", result.stdout);
    // The failure of run 2 shows with the later run that put it right.
    let failure = result
        .stdout
        .lines()
        .find(|l| l.contains("dpkg: dependency problems") && l.contains("later run"))
        .expect("the failure row, with its follow-up");
    assert!(
        failure.starts_with("| 2026-10-06-kita | ")
            && failure.contains("succeeded in a later run (2026-10-07-kita-minami)"),
        "{failure}"
    );
    // Several journal files, as a shell expands logs/*.jsonl.
    let mut globbed: Vec<String> = fs::read_dir(root.join("logs"))
        .expect("logs")
        .map(|e| format!("logs/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    globbed.sort();
    let mut args = vec!["report", "result", "--lang", "en"];
    args.extend(globbed.iter().map(String::as_str));
    let several = run_seibi(root, &args);
    assert_eq!(several.code, 0, "{}", several.stderr);
    for run in runs {
        assert!(several.stdout.contains(run), "{run}: {}", several.stdout);
    }
    // A plan never applied is an error that says so.
    let other = run_seibi(
        root,
        &[
            "plan",
            "--site",
            "chuo",
            "--format",
            "json",
            "-o",
            "chuo.json",
        ],
    );
    assert_eq!(other.code, 0, "{}", other.stderr);
    let none = run_seibi(root, &["report", "result", "chuo.json"]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr.contains("has not been applied yet"),
        "{}",
        none.stderr
    );

    // The 進捗報告書 as a workbook, read back cell by cell.
    let xlsx = run_seibi(
        root,
        &["report", "progress", "plan.json", "-o", "progress.xlsx"],
    );
    assert_eq!(xlsx.code, 0, "{}", xlsx.stderr);
    let progress = PlanProgress::from_logs(&plan, &root.join("logs")).expect("progress");
    assert!(progress.complete);
    let doc = progress.report(&roster, &job_titles(), Language::Ja);
    assert!(doc.flags.is_empty(), "{:?}", doc.flags);
    let bytes = fs::read(root.join("progress.xlsx")).expect("workbook");
    let mut wb = Xlsx::new(Cursor::new(bytes)).expect("a readable workbook");
    let mut names = vec![doc.summary.title.clone()];
    names.extend(doc.sections.iter().map(|s| s.title.clone()));
    assert_eq!(wb.sheet_names(), names);
    let summary = wb.worksheet_range(&doc.summary.title).expect("summary");
    assert_eq!(cell_text(summary.get_value((0, 0))), "進捗報告書");
    let progress_row = doc
        .summary_pairs()
        .iter()
        .position(|(label, _)| label == "進捗")
        .expect("progress row") as u32;
    assert_eq!(
        cell_text(summary.get_value((3 + progress_row, 1))),
        format!("{units} / {units} 件完了（完了）")
    );
    for s in &doc.sections {
        let range = wb.worksheet_range(&s.title).expect("sheet");
        for (c, heading) in s.table().headings().iter().enumerate() {
            assert_eq!(&cell_text(range.get_value((0, c as u32))), heading);
        }
        for (r, row) in s.table().rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let got = range.get_value((1 + r as u32, c as u32));
                assert_eq!(cell_text(got), cell.text(), "{} row {r} col {c}", s.title);
                if let Cell::Number(n) = cell {
                    assert_eq!(got, Some(&Data::Float(*n as f64)));
                }
            }
        }
    }
    let terminals = doc.section("terminals").expect("per terminal");
    assert_eq!(terminals.table().rows.len(), 4);
}

fn job_titles() -> std::collections::BTreeMap<String, String> {
    [
        ("settings", "Time and log settings"),
        ("update", "Viewer update"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// The lab project: one terminal per site (`a`, `b`, `c`) on the fleet's hosts, one settings
/// job, the fleet's known_hosts, and a roster with the fleet's client key as operator and
/// `keys/approver` as approver.
fn lab_project(fleet: &seibi::lab::Fleet, root: &Path) {
    for d in ["inventory", "playbooks", "keys"] {
        fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let mut inv = String::from(
        "defaults: { user: root }\nsites:\n  a: { name: 甲区役所, capacity: 1 }\n  b: { name: 乙区役所, capacity: 1 }\n  c: { name: 丙区役所, capacity: 1 }\nterminals:\n",
    );
    for (i, (site, host)) in ["a", "b", "c"].iter().zip(fleet.hosts()).enumerate() {
        inv.push_str(&format!(
            "  t{i}: {{ site: {site}, address: {}, port: {}, tags: [lab] }}\n",
            host.address(),
            host.port()
        ));
    }
    fs::write(root.join("inventory/lab.yml"), inv).expect("inventory");
    fs::write(
        root.join("playbooks/marker.yml"),
        common::lab::lab_job(
            "marker",
            "settings_change",
            "tasks:\n  - name: Marker\n    id: marker\n    file: { path: /etc/seibi-progress-marker, content: \"done\\n\" }\n  - name: Second marker\n    id: second\n    file: { path: /etc/seibi-progress-second, content: \"done\\n\" }\n",
        ),
    )
    .expect("job");
    fs::copy(fleet.known_hosts(), root.join("known_hosts")).expect("known_hosts");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "approver@test", "-f"])
        .arg(root.join("keys/approver"))
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success());
    let key = |p: &Path| fs::read_to_string(p).expect("pub").trim().to_string();
    fs::write(
        root.join("roster.yml"),
        format!(
            "people:\n  - id: lab-operator\n    name: 試験 操作員\n    organisation: 保守委託先\n    role: operator\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n  - id: sato\n    name: 佐藤 花子\n    organisation: 情報政策課\n    role: approver\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n",
            key(&fleet.client_key().with_extension("pub")),
            key(&root.join("keys/approver.pub"))
        ),
    )
    .expect("roster");
}

/// `seibi apply --plan plan.json` (approved) on the lab.
fn apply_plan(root: &Path, fleet: &seibi::lab::Fleet) -> common::Output {
    let key = fleet.client_key().to_str().expect("utf-8");
    run_seibi(
        root,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--key",
            key,
            "--progress",
            "plain",
            "--connect-timeout",
            "2",
            // The lab has no office hours; the test must not depend on the time of day.
            "--outside-window",
            "--reason",
            "lab: progress across runs",
        ],
    )
}

#[test]
fn an_approved_plan_over_three_sites_is_complete_after_three_runs_on_the_lab() {
    if !common::lab::lab_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = seibi::lab::FleetSpec::new(3, dir.path().join("fleet"));
    spec.base_address = "127.0.120.1".parse().expect("address");
    let mut fleet = seibi::lab::Fleet::start(spec).expect("fleet");
    let root = dir.path().join("project");
    lab_project(&fleet, &root);
    let plan = run_seibi(&root, &["plan", "--format", "json", "-o", "plan.json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let approver = root.join("keys/approver");
    let approve = run_seibi(
        &root,
        &[
            "approve",
            "plan.json",
            "--key",
            approver.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(approve.code, 0, "{}", approve.stderr);

    // Day 1: only site a's terminal is up. Day 2: site b's too. Day 3: all three.
    fleet.kill_host(1).expect("kill b");
    fleet.kill_host(2).expect("kill c");
    let mut runs = Vec::new();
    for day in 0..3 {
        if day > 0 {
            fleet.restart_host(day).expect("restart");
        }
        let run = apply_plan(&root, &fleet);
        let expected = if day < 2 { 5 } else { 0 };
        assert_eq!(
            run.code, expected,
            "day {day}: {}\n{}",
            run.stdout, run.stderr
        );
        let status = run_seibi(&root, &["status", "plan.json", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
        assert_eq!(json["done"], 2 * (day + 1), "day {day}: {}", status.stdout);
        assert_eq!(status.code, if day < 2 { 3 } else { 0 }, "day {day}");
        runs.push(
            json["runs"][day]["run"]
                .as_str()
                .expect("the run")
                .to_string(),
        );
        // The operator comes from the journal, the state of a unit from its latest result.
        let unit = |terminal: &str| -> serde_json::Value {
            json["sites"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["terminals"].as_array().into_iter().flatten())
                .find(|t| t["terminal"] == terminal)
                .map(|t| t["units"][0].clone())
                .expect("terminal in the plan")
        };
        let today = unit(&format!("t{day}"));
        assert_eq!(today["state"], "changed", "{today}");
        assert_eq!(today["operator"], "lab-operator");
        if day < 2 {
            assert_eq!(unit("t2")["state"], "unreachable", "{}", status.stdout);
        } else {
            // Site a was queried again on days 2 and 3: ok, nothing to change.
            assert_eq!(unit("t0")["state"], "ok", "{}", status.stdout);
        }
    }
    for i in 0..3 {
        let marker = common::lab::on_host(&fleet, i, "cat /etc/seibi-progress-marker");
        assert_eq!(marker.trim(), "done", "host {i}");
    }

    // The result report of the plan covers the three runs.
    let result = run_seibi(&root, &["report", "result", "plan.json", "--lang", "en"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let summary_runs = format!("| Run | {} |", runs.join(", "));
    assert!(result.stdout.contains(&summary_runs), "{}", result.stdout);
    // The 進捗報告書 as a workbook, read back.
    let xlsx = run_seibi(&root, &["report", "progress", "plan.json", "-o", "p.xlsx"]);
    assert_eq!(xlsx.code, 0, "{}", xlsx.stderr);
    let mut wb = Xlsx::new(Cursor::new(fs::read(root.join("p.xlsx")).expect("xlsx")))
        .expect("a readable workbook");
    let summary = wb.worksheet_range("概要").expect("summary sheet");
    let rows: Vec<(String, String)> = (0..summary.height() as u32)
        .map(|r| {
            (
                cell_text(summary.get_value((r, 0))),
                cell_text(summary.get_value((r, 1))),
            )
        })
        .collect();
    assert!(
        rows.contains(&("進捗".to_string(), "6 / 6 件完了（完了）".to_string())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("実行回数".to_string(), "3".to_string())),
        "{rows:?}"
    );
    let per_terminal = wb.worksheet_range("端末別進捗").expect("per terminal");
    for r in 1..=3u32 {
        assert_eq!(cell_text(per_terminal.get_value((r, 5))), "完了", "row {r}");
    }
}
