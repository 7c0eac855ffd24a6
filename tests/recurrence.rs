//! Recurring duties end to end: occurrence windows checked day by day against the published
//! holiday list (an oracle independent of `seibi::calendar`), plans for a period that hold the
//! occurrences due, and `seibi duties` over real signed journals (a missed month, a run outside
//! its window, a tampered journal: none counted).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use seibi::calendar::Calendar;
use seibi::journal::record::{Intent, OutputDigest, RunEnd, RunStart, Status, TaskResult};
use seibi::journal::{JournalWriter, Record, Signer, WriterOptions};
use seibi::playbook::recurrence::{MonthlyDeadline, Recurrence, Rule};
use seibi::roster::SigningKey;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Days closed by the published list: its holidays, weekends and December 29 to January 3.
fn oracle_closed() -> BTreeSet<Date> {
    let text = std::fs::read_to_string(repo().join("tests/data/holidays/holidays.yml"))
        .expect("holidays.yml");
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .filter_map(|(d, _)| d.trim().parse::<Date>().ok())
        .collect()
}

fn oracle_business_days(closed: &BTreeSet<Date>, year: i16, month: i8) -> Vec<Date> {
    let first = jiff::civil::date(year, month, 1);
    first
        .series(1.day())
        .take_while(|d| d.month() == month)
        .filter(|d| {
            let weekend = matches!(
                d.weekday(),
                jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
            );
            let year_end = (d.month() == 12 && d.day() >= 29) || (d.month() == 1 && d.day() <= 3);
            !weekend && !year_end && !closed.contains(d)
        })
        .collect()
}

#[test]
fn monthly_windows_match_the_published_holidays_for_three_fiscal_years() {
    let closed = oracle_closed();
    for (from, by) in [(1u8, 5u8), (3, 10), (10, 15)] {
        let r = Recurrence {
            rule: Rule::Monthly {
                from_business_day: from,
                by: MonthlyDeadline::BusinessDay(by),
            },
            since: None,
            until: None,
        };
        let found = r.occurrences(
            &Calendar::new(),
            "2025-04-01..2028-03-31".parse().expect("range"),
        );
        assert_eq!(found.len(), 36);
        for o in found {
            let days = oracle_business_days(&closed, o.period.first.year(), o.period.first.month());
            assert_eq!(
                (o.window.first, o.window.last),
                (days[usize::from(from) - 1], days[usize::from(by) - 1]),
                "{} from business day {from} by {by}",
                o.key
            );
        }
    }
}

#[test]
fn weekly_and_daily_duties_fall_on_the_published_business_days() {
    let closed = oracle_closed();
    let daily = Recurrence {
        rule: Rule::BusinessDay,
        since: None,
        until: None,
    };
    // Golden Week, Silver Week 2026 and the year end.
    for (y, m) in [(2026, 5), (2026, 9), (2026, 12), (2027, 1)] {
        let expected = oracle_business_days(&closed, y, m);
        let found: Vec<Date> = daily
            .occurrences(
                &Calendar::new(),
                format!("{y}-{m:02}").parse().expect("month"),
            )
            .into_iter()
            .map(|o| o.window.first)
            .collect();
        assert_eq!(found, expected, "{y}-{m:02}");
    }
    let weekly = Recurrence {
        rule: Rule::Weekly,
        since: None,
        until: None,
    };
    for o in weekly.occurrences(
        &Calendar::new(),
        "2026-04-01..2027-03-31".parse().expect("fy"),
    ) {
        let days: Vec<Date> = o
            .period
            .first
            .series(1.day())
            .take(7)
            .filter(|d| oracle_business_days(&closed, d.year(), d.month()).contains(d))
            .collect();
        assert_eq!(
            (o.window.first, o.window.last),
            (days[0], *days.last().expect("a day")),
            "{}",
            o.key
        );
    }
}

const MONTHLY: &str = "\
id: monthly-inspection
title: 月次点検
kind: inspection
provenance: { source: contract, reference: 保守契約 第9条 }
recurrence: { every: month, from_business_day: 1, by_business_day: 10, since: 2026-09-01 }
minutes_per_terminal: 3
targets: { sites: [kita], exclude: [kita-w01] }   # kita-w01 is Windows
tasks:
  - name: Inspect disks
    id: inspect
    inspect: { disk: true, disk_threshold_percent: 80 }
";

/// A copy of the example with a monthly inspection of 北区役所 added.
fn example_with_monthly() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["inventory", "playbooks", "secrets", "demo"] {
        common::copy_tree(&repo().join(sub), &dir.path().join(sub));
    }
    std::fs::copy(repo().join("roster.yml"), dir.path().join("roster.yml")).expect("roster");
    std::fs::write(dir.path().join("playbooks/monthly-inspection.yml"), MONTHLY).expect("job");
    dir
}

#[test]
fn a_plan_for_a_period_holds_the_occurrences_due_and_batches_them() {
    let dir = example_with_monthly();
    let out = common::run_seibi(
        dir.path(),
        &[
            "plan",
            "--period",
            "2026-10-01..2026-11-30",
            "--site",
            "kita",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let jobs: Vec<(String, String, String)> = plan["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| {
            j["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("monthly-"))
        })
        .map(|j| {
            (
                j["id"].as_str().unwrap_or_default().to_string(),
                j["earliest_start"].as_str().unwrap_or_default().to_string(),
                j["deadline"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    // November 3 (文化の日) is closed: the tenth business day is November 16.
    assert_eq!(
        jobs,
        [
            (
                "monthly-inspection@2026-10".into(),
                "2026-10-01".into(),
                "2026-10-15".into()
            ),
            (
                "monthly-inspection@2026-11".into(),
                "2026-11-02".into(),
                "2026-11-16".into()
            )
        ]
    );
    let visits = plan["schedule"]["visits"].as_array().expect("visits");
    let day_of = |job: &str| {
        visits
            .iter()
            .find(|v| {
                v["jobs"]
                    .as_array()
                    .is_some_and(|js| js.iter().any(|j| j["job"] == job))
            })
            .map(|v| v["date"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        day_of("monthly-inspection@2026-10").as_deref(),
        Some("2026-10-01")
    );
    assert_eq!(
        day_of("2026-10-openssl-patch").as_deref(),
        Some("2026-10-01")
    );
    assert_eq!(
        day_of("monthly-inspection@2026-11").as_deref(),
        Some("2026-11-02")
    );

    // `--job` names the recurring job; the period before `since` has no occurrence.
    let out = common::run_seibi(
        dir.path(),
        &["plan", "--period", "2026-08", "--job", "monthly-inspection"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("job `monthly-inspection` has no occurrence due in this period"),
        "{}",
        out.stdout
    );
    // The plan is made again the same way (as `apply --plan` does): same digest.
    let a = common::run_seibi(
        dir.path(),
        &["plan", "--start", "2026-10-05", "--format", "json"],
    );
    let b = common::run_seibi(
        dir.path(),
        &["plan", "--start", "2026-10-05", "--format", "json"],
    );
    assert_eq!(a.code, 0, "{}", a.stderr);
    let digest = |o: &common::Output| {
        serde_json::from_str::<serde_json::Value>(&o.stdout).expect("json")["digest"].clone()
    };
    assert_eq!(digest(&a), digest(&b));
}

/// Writes a signed journal in which the demo operator ran `job/task` on each of `terminals`
/// at `at` (Japan time).
fn journal(logs: &Path, run: &str, job: &str, terminals: &[&str], at: &str, status: Status) {
    let time: Timestamp = format!("{at}+09:00[Asia/Tokyo]")
        .parse::<jiff::Zoned>()
        .expect("time")
        .timestamp();
    let clock = Arc::new(Mutex::new(time));
    let tick = Arc::clone(&clock);
    let key = SigningKey::read_file(&repo().join("demo/demo-operator_ed25519"), None).expect("key");
    let mut w = JournalWriter::create_with(
        logs,
        RunStart::new(run, "sha256:test"),
        Signer::from_key("demo-operator", key),
        WriterOptions {
            clock: Some(Box::new(move || {
                let mut t = tick.lock().expect("clock");
                *t = t.checked_add(1.second()).expect("time");
                *t
            })),
            ..Default::default()
        },
    )
    .expect("journal");
    for terminal in terminals {
        let seq = w
            .append(Record::Intent(Intent {
                terminal: terminal.to_string(),
                host_key: "SHA256:test".into(),
                job: job.into(),
                task: "inspect".into(),
                action: "inspect".into(),
                change: "inspect disk usage".into(),
            }))
            .expect("intent");
        w.append(Record::Result(TaskResult {
            terminal: terminal.to_string(),
            job: job.into(),
            task: "inspect".into(),
            intent: Some(seq.0),
            status,
            changed: false,
            stdout: OutputDigest::of(b""),
            stderr: OutputDigest::of(b""),
            duration_ms: 1000,
            error: None,
        }))
        .expect("result");
    }
    w.finish(RunEnd::default()).expect("finish");
    drop(clock);
}

#[test]
fn duties_count_only_verified_runs_inside_the_window() {
    let dir = example_with_monthly();
    let logs = dir.path().join("logs");
    let job = "monthly-inspection@2026-10";
    journal(
        &logs,
        "r-oct",
        job,
        &["kita-t02", "kita-t03"],
        "2026-10-05T10:00:00",
        Status::Changed,
    );
    // The day after the window (business day 10 is October 15): not counted.
    journal(
        &logs,
        "r-oct-late",
        job,
        &["kita-t04"],
        "2026-10-16T10:00:00",
        Status::Ok,
    );
    // A failed run counts for nothing.
    journal(
        &logs,
        "r-oct-failed",
        job,
        &["kita-t05"],
        "2026-10-06T10:00:00",
        Status::Failed,
    );
    // A run whose journal was altered afterwards: not counted.
    journal(
        &logs,
        "r-oct-tampered",
        job,
        &["kita-t06"],
        "2026-10-07T10:00:00",
        Status::Ok,
    );
    let tampered = logs.join("r-oct-tampered.jsonl");
    let text = std::fs::read_to_string(&tampered).expect("read");
    std::fs::write(
        &tampered,
        text.replace("inspect disk usage", "inspect disk usage!"),
    )
    .expect("write");

    let out = common::run_seibi(
        dir.path(),
        &["duties", "--as-of", "2026-11-20", "--format", "json"],
    );
    assert_eq!(
        out.code, 3,
        "overdue and missed duties exit 3: {}",
        out.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let status = |key: &str, terminal: &str| {
        report["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["key"] == key && r["terminal"] == terminal)
            .map(|r| r["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no row {key} {terminal}"))
    };
    assert_eq!(status("2026-09", "kita-t02"), "missed", "a missed month");
    assert_eq!(status("2026-10", "kita-t02"), "done");
    assert_eq!(status("2026-10", "kita-t03"), "done");
    assert_eq!(
        status("2026-10", "kita-t04"),
        "missed",
        "outside the window"
    );
    assert_eq!(status("2026-10", "kita-t05"), "missed", "failed");
    assert_eq!(status("2026-10", "kita-t06"), "missed", "tampered journal");
    assert_eq!(status("2026-11", "kita-t02"), "overdue");
    let done = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == "2026-10" && r["terminal"] == "kita-t02")
        .expect("row");
    assert_eq!(done["done"]["run"], "r-oct");
    assert_eq!(done["done"]["date"], "2026-10-05");
    let not_counted = report["not_counted"].as_array().expect("not counted");
    assert_eq!(not_counted.len(), 1, "{not_counted:?}");
    assert!(
        not_counted[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("r-oct-tampered.jsonl"))
    );
    // Before the deadline nothing is late yet: exit 0.
    let out = common::run_seibi(
        dir.path(),
        &["duties", "--as-of", "2026-10-10", "--period", "2026-10"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("2/7 done  [due]"), "{}", out.stdout);
}

#[test]
fn bad_recurrences_are_reported_where_they_are_written() {
    let dir = example_with_monthly();
    let job = dir.path().join("playbooks/monthly-inspection.yml");
    let check = |from: &str, to: &str| {
        let text = MONTHLY.replace(from, to);
        std::fs::write(&job, text).expect("job");
        common::run_seibi(dir.path(), &["check"])
    };
    let out = check("every: month,", "every: monthly,");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("unknown value `monthly` for `recurrence.every`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `month`?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("playbooks/monthly-inspection.yml:5:"),
        "{}",
        out.stderr
    );

    let out = check(
        "every: month, from_business_day: 1, by_business_day: 10",
        "every: year, from_business_day: 1, by: 13-40",
    );
    assert_eq!(out.code, 1);
    for expected in [
        "a yearly duty needs `from: MM-DD`",
        "`from_business_day` does not apply to `every: year`\n --> playbooks/monthly-inspection.yml:5:28",
        "`13-40` is not a month and day",
        "3 problems found",
    ] {
        assert!(
            out.stderr.contains(expected),
            "{expected:?} in {}",
            out.stderr
        );
    }

    let out = check("by_business_day: 10", "by_business_day: 30");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("`by_business_day: 30`"),
        "{}",
        out.stderr
    );

    let out = check(
        "minutes_per_terminal: 3",
        "minutes_per_terminal: 3\ndeadline: 2026-10-31",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("has both `recurrence:` and `earliest_start`/`deadline`"),
        "{}",
        out.stderr
    );
}

#[test]
fn past_occurrences_estimate_the_next_one() {
    let dir = example_with_monthly();
    let logs = dir.path().join("logs");
    journal(
        &logs,
        "r-oct",
        "monthly-inspection@2026-10",
        &["kita-t02", "kita-t03"],
        "2026-10-05T10:00:00",
        Status::Ok,
    );
    let out = common::run_seibi(
        dir.path(),
        &[
            "plan",
            "--period",
            "2026-11",
            "--job",
            "monthly-inspection",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        plan["request"]["schedule"]["history"],
        serde_json::json!(["r-oct"])
    );
    let estimate = plan["schedule"]["estimates"]
        .as_array()
        .expect("estimates")
        .iter()
        .find(|e| e["job"] == "monthly-inspection@2026-11")
        .expect("the November occurrence's estimate")
        .clone();
    assert_eq!(estimate["from_history"], true, "{estimate}");
    assert_eq!(estimate["samples"], 2, "{estimate}");
}
