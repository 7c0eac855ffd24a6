//! `seibi plan --start`: the October jobs batched into visits with their reasons, the timetable
//! in text, markdown (ja/en) and JSON; an infeasible schedule printed in full with exit status
//! 3; estimates refined by the journals of finished runs and pinned so a saved plan is re-made
//! the same; and `seibi apply` keeping to office hours on the command line.

mod common;

use std::path::Path;

use common::{copy_tree, fixture_dir, run_seibi};
use seibi::journal::record::{
    CHECK_ONLY_CHANGE, Intent, OutputDigest, Record, RunEnd, RunStart, Status, TaskResult,
};
use seibi::journal::{JournalWriter, Signer};
use seibi::language::Language;
use seibi::plan::Plan;

/// The schedule fixture as a project: `inventory/` and the October jobs as `playbooks/`.
fn october_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = fixture_dir("schedule");
    copy_tree(&fixture.join("inventory"), &dir.path().join("inventory"));
    copy_tree(&fixture.join("october"), &dir.path().join("playbooks"));
    dir
}

fn plan_json(dir: &Path, extra: &[&str]) -> (Plan, String) {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run_seibi(dir, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    (
        Plan::from_json(&out.stdout).expect("a valid plan"),
        out.stdout,
    )
}

#[test]
fn october_jobs_are_batched_into_one_visit_per_site_with_a_timetable() {
    let dir = october_project();
    // From 2026-09-28 the patch could go at once; it waits three days for the October visit.
    let text = run_seibi(dir.path(), &["plan", "--start", "2026-09-28"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("october_text", text.stdout);
    assert!(text.stdout.contains(
        "openssl-patch-2026-09: deferred from 2026-09-28 to 2026-10-01 to share one visit with \
         the other jobs (city approval required for batching)\n      settings-2026-10 and \
         password-rotation-2026: on the earliest business day 2026-10-01\n"
    ));

    let (plan, json) = plan_json(dir.path(), &["--start", "2026-09-28"]);
    let schedule = plan.schedule.as_ref().expect("a schedule");
    let visits: Vec<(&str, Vec<&str>)> = schedule
        .visits
        .iter()
        .map(|v| {
            (
                v.id.as_str(),
                v.jobs.iter().map(|j| j.job.as_str()).collect(),
            )
        })
        .collect();
    let all = vec![
        "openssl-patch-2026-09",
        "settings-2026-10",
        "password-rotation-2026",
    ];
    assert_eq!(
        visits,
        [
            ("chuo:2026-10-01:1", all.clone()),
            ("kita:2026-10-02:1", all)
        ]
    );
    // kita is closed on 2026-10-01: its reason says so.
    let kita = &schedule.visits[1];
    assert_eq!(
        kita.jobs[1].reason.closed.as_deref(),
        Some("拠点休業日"),
        "{kita:#?}"
    );
    assert_eq!(
        kita.reason(&kita.jobs[1], Language::En),
        "on the earliest business day 2026-10-02 (2026-10-01 is closed: 拠点休業日)"
    );
    // chuo: 3 terminals x 40 min at capacity 2; kita: 2 x 40 min at capacity 1.
    let timetable: Vec<(&str, u32, String, String, String)> = schedule
        .sites
        .iter()
        .flat_map(|s| {
            s.days.iter().map(move |d| {
                (
                    s.site.as_str(),
                    d.business_day,
                    d.date.to_string(),
                    d.start.strftime("%H:%M").to_string(),
                    d.end.strftime("%H:%M").to_string(),
                )
            })
        })
        .collect();
    assert_eq!(
        timetable,
        [
            (
                "chuo",
                1,
                "2026-10-01".into(),
                "08:45".into(),
                "10:05".into()
            ),
            (
                "kita",
                1,
                "2026-10-02".into(),
                "08:45".into(),
                "10:05".into()
            ),
        ]
    );
    assert!(schedule.feasible);
    assert!(schedule.estimates.iter().all(|e| !e.from_history));
    let request = plan.request.schedule.as_ref().expect("request");
    assert_eq!(request.start.to_string(), "2026-09-28");
    assert_eq!(request.deadline_business_days, 3);

    // The JSON reads back byte for byte and follows the documented schema.
    assert_eq!(plan.to_json() + "\n", json);
    let documented: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json"),
        )
        .expect("docs/plan.schema.json"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&documented).expect("a valid JSON Schema");
    let instance: serde_json::Value = serde_json::from_str(&json).expect("json");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The approval document shows the same, in Japanese and in English.
    let ja = run_seibi(
        dir.path(),
        &[
            "plan",
            "--start",
            "2026-09-28",
            "--format",
            "markdown",
            "--lang",
            "ja",
        ],
    );
    assert_eq!(ja.code, 0, "{}", ja.stderr);
    insta::assert_snapshot!("october_markdown_ja", ja.stdout);
    let en = run_seibi(
        dir.path(),
        &["plan", "--start", "2026-09-28", "--format", "markdown"],
    );
    assert!(en.stdout.contains("## Schedule\n"), "{}", en.stdout);
    assert!(
        en.stdout
            .contains("| kita (北区役所) | 1 | 2026-10-02 Fri | 08:45 | 10:05 | 2 |"),
        "{}",
        en.stdout
    );
    assert!(en.stdout.contains(
        "**Feasible with a crew at every site: every site finishes within 3 business days"
    ));
}

/// The visits section of a markdown plan: from its heading to the next.
fn visits_section<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let start = markdown.find(heading).expect("a visits section");
    let rest = &markdown[start..];
    let end = rest[heading.len()..]
        .find("\n### ")
        .map_or(rest.len(), |i| i + heading.len());
    &rest[..end]
}

#[test]
fn batching_reasons_are_said_once_for_the_sites_they_fit_and_in_the_document_language() {
    let dir = october_project();
    let markdown = |start: &str, lang: &str| {
        let out = run_seibi(
            dir.path(),
            &[
                "plan", "--start", start, "--format", "markdown", "--lang", lang,
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    // From 2026-10-02 both sites get the same visit for the same reason: one row for both.
    let ja = markdown("2026-10-02", "ja");
    let visits = visits_section(&ja, "### 訪問（作業のまとめ）");
    assert!(
        visits.contains(
            "| 2026-10-02（金） | chuo, kita | まとめて実施 | openssl-patch-2026-09, \
             settings-2026-10, password-rotation-2026 | 最早の開庁日 2026-10-02 に実施 |\n"
        ),
        "{visits}"
    );
    assert_eq!(visits.matches("最早の開庁日").count(), 1, "{visits}");
    let en = markdown("2026-10-02", "en");
    let visits = visits_section(&en, "### Visits");
    assert!(
        visits.contains(
            "| 2026-10-02 Fri | chuo, kita | batched | openssl-patch-2026-09, settings-2026-10, \
             password-rotation-2026 | on the earliest business day 2026-10-02 |\n"
        ),
        "{visits}"
    );

    // From 2026-09-28 the patch is deferred at both sites and kita is closed on 2026-10-01:
    // each reason is said once per visit, in Japanese in the Japanese document.
    let ja = markdown("2026-09-28", "ja");
    let visits = visits_section(&ja, "### 訪問（作業のまとめ）");
    for japanese in [
        "openssl-patch-2026-09：他の作業とまとめて実施するため 2026-09-28 から 2026-10-01 に延期\
         （まとめて実施には市の承認が必要）。settings-2026-10、password-rotation-2026：最早の開庁日 \
         2026-10-01 に実施 |",
        "最早の開庁日 2026-10-02 に実施（2026-10-01 は休業日：拠点休業日） |",
    ] {
        assert!(visits.contains(japanese), "{japanese}\n{visits}");
    }
    for english in [
        "deferred",
        "earliest business day",
        "together with",
        "is closed",
        "city approval",
        "batched",
        "Reason",
    ] {
        assert!(!visits.contains(english), "{english}\n{visits}");
    }
    let en = markdown("2026-09-28", "en");
    let visits = visits_section(&en, "### Visits");
    assert!(
        visits.contains(
            "openssl-patch-2026-09: deferred from 2026-09-28 to 2026-10-02 to share one visit \
             with the other jobs (city approval required for batching); settings-2026-10 and \
             password-rotation-2026: on the earliest business day 2026-10-02 (2026-10-01 is \
             closed: 拠点休業日) |"
        ),
        "{visits}"
    );
    for japanese in ["最早の開庁日", "延期", "休業日：", "まとめて実施"] {
        assert!(!visits.contains(japanese), "{japanese}\n{visits}");
    }
}

#[test]
fn without_start_the_plan_has_no_schedule_and_the_schedule_moves_the_digest() {
    let dir = october_project();
    let (plain, json) = plan_json(dir.path(), &[]);
    assert!(plain.schedule.is_none());
    assert!(!json.contains("\"schedule\""), "{json}");
    let text = run_seibi(dir.path(), &["plan"]);
    assert!(!text.stdout.contains("Schedule"), "{}", text.stdout);
    let (scheduled, _) = plan_json(dir.path(), &["--start", "2026-10-01"]);
    assert_ne!(plain.digest, scheduled.digest);
    let (later, _) = plan_json(dir.path(), &["--start", "2026-10-05"]);
    assert_ne!(scheduled.digest, later.digest, "the start day is pinned");
    let (canary, _) = plan_json(
        dir.path(),
        &[
            "--start",
            "2026-10-01",
            "--canary",
            "kita",
            "--global-limit",
            "2",
        ],
    );
    assert_ne!(scheduled.digest, canary.digest);
    // Scheduling options need a start day; an unknown canary site is named with a hint.
    let out = run_seibi(dir.path(), &["plan", "--deadline-days", "2"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--start"), "{}", out.stderr);
    let out = run_seibi(
        dir.path(),
        &["plan", "--start", "2026-10-01", "--canary", "kitaa"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("site `kitaa`") && out.stderr.contains("did you mean `kita`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_infeasible_schedule_is_printed_in_full_and_exits_3() {
    let dir = october_project();
    // A four-hour patch: 260 minutes per terminal; within one business day neither site fits.
    let patch = dir.path().join("playbooks/patch.yml");
    let text = std::fs::read_to_string(&patch).expect("read");
    std::fs::write(
        &patch,
        text.replace("minutes_per_terminal: 20", "minutes_per_terminal: 240"),
    )
    .expect("write");
    let out = run_seibi(
        dir.path(),
        &["plan", "--start", "2026-10-01", "--deadline-days", "1"],
    );
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    // The whole plan is there, with the warning on top and the timetable.
    assert!(out.stdout.starts_with("Plan sha256:"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "warning: the schedule is NOT FEASIBLE: 2 site(s) past the business-day limit"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Timetable (a crew at every site):"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("MISSED: 1 business day(s) late"),
        "{}",
        out.stdout
    );
    // Standard error names each site, by how much, and the capacity that would fit.
    for expected in [
        "error: the schedule is not feasible:",
        "site chuo (visit day 2026-10-01) finishes 2026-10-02 13:05, 1 business day(s) after \
         the limit",
        "raise the capacity of `chuo` from 2 to 3 terminals at a time",
        "site kita (visit day 2026-10-02)",
        "raise the capacity of `kita` from 1 to 2 terminals at a time",
    ] {
        assert!(out.stderr.contains(expected), "{expected}\n{}", out.stderr);
    }
    // Saved to a file: the file is written all the same, and the status still says 3.
    let file = dir.path().join("plan.json");
    let out = run_seibi(
        dir.path(),
        &[
            "plan",
            "--start",
            "2026-10-01",
            "--deadline-days",
            "1",
            "--format",
            "json",
            "-o",
            file.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let saved = Plan::from_json(&std::fs::read_to_string(&file).expect("saved")).expect("plan");
    let schedule = saved.schedule.expect("schedule");
    assert!(!schedule.feasible);
    let fits: Vec<(&str, Option<u32>)> = schedule
        .misses
        .iter()
        .map(|m| (m.site.as_str(), m.capacity_that_fits))
        .collect();
    assert_eq!(fits, [("chuo", Some(3)), ("kita", Some(2))]);
    // With the capacities it suggests, the same plan fits.
    let inventory = dir.path().join("inventory/city.yml");
    let text = std::fs::read_to_string(&inventory).expect("read");
    std::fs::write(
        &inventory,
        text.replace("capacity: 2 }", "capacity: 3 }")
            .replace("capacity: 1,", "capacity: 2,"),
    )
    .expect("write");
    let out = run_seibi(
        dir.path(),
        &["plan", "--start", "2026-10-01", "--deadline-days", "1"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// A fresh operator key in `dir`.
fn operator_key(dir: &Path) -> std::path::PathBuf {
    let key = dir.join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    key
}

fn signer(key: &Path) -> Signer {
    Signer::from_key_file("alice", key, None).expect("key loads")
}

/// One unit in a journal: an intent, then its result after `minutes`.
fn unit(
    journal: &mut JournalWriter,
    terminal: &str,
    job: &str,
    task: &str,
    minutes: u64,
    status: Status,
    change: &str,
) {
    let intent = journal
        .append(Record::Intent(Intent {
            terminal: terminal.into(),
            host_key: "SHA256:test".into(),
            job: job.into(),
            task: task.into(),
            action: "command".into(),
            change: change.into(),
        }))
        .expect("intent");
    journal
        .append(Record::Result(TaskResult {
            terminal: terminal.into(),
            job: job.into(),
            task: task.into(),
            intent: Some(intent.0),
            status,
            changed: status == Status::Changed,
            stdout: OutputDigest::of(b""),
            stderr: OutputDigest::of(b""),
            duration_ms: minutes * 60_000,
            error: None,
        }))
        .expect("result");
}

#[test]
fn estimates_come_from_the_journals_of_finished_runs_and_are_pinned() {
    let dir = october_project();
    let logs = dir.path().join("logs");
    let keys = tempfile::tempdir().expect("tempdir");
    let key = operator_key(keys.path());
    // A finished run: the time servers took 6, 8 and 10 minutes (median 8); a failure after 60
    // minutes says nothing about how long the work takes.
    let mut journal =
        JournalWriter::create(&logs, RunStart::new("run-a", "sha256:x"), signer(&key))
            .expect("journal");
    for (terminal, minutes) in [("chuo-t01", 6), ("chuo-t02", 8), ("kita-t01", 10)] {
        unit(
            &mut journal,
            terminal,
            "settings-2026-10",
            "ntp",
            minutes,
            Status::Changed,
            "run",
        );
    }
    unit(
        &mut journal,
        "kita-t02",
        "settings-2026-10",
        "ntp",
        60,
        Status::Failed,
        "run",
    );
    journal.finish(RunEnd::default()).expect("finish");
    // A check-only run and an unfinished run are not history.
    let mut check = JournalWriter::create(&logs, RunStart::new("run-b", "sha256:x"), signer(&key))
        .expect("journal");
    unit(
        &mut check,
        "chuo-t01",
        "password-rotation-2026",
        "rotate",
        1,
        Status::Ok,
        CHECK_ONLY_CHANGE,
    );
    check.finish(RunEnd::default()).expect("finish");
    let mut open = JournalWriter::create(&logs, RunStart::new("run-c", "sha256:x"), signer(&key))
        .expect("journal");
    unit(
        &mut open,
        "chuo-t01",
        "password-rotation-2026",
        "rotate",
        30,
        Status::Changed,
        "run",
    );
    drop(open);

    let (plan, _) = plan_json(dir.path(), &["--start", "2026-10-01"]);
    let request = plan.request.schedule.as_ref().expect("request");
    assert_eq!(request.history, ["run-a", "run-b"], "finished runs only");
    let schedule = plan.schedule.as_ref().expect("schedule");
    let estimates: Vec<(&str, u64, bool, usize)> = schedule
        .estimates
        .iter()
        .map(|e| {
            (
                e.job.as_str(),
                e.seconds_per_terminal,
                e.from_history,
                e.samples,
            )
        })
        .collect();
    assert_eq!(
        estimates,
        [
            ("openssl-patch-2026-09", 20 * 60, false, 0),
            ("settings-2026-10", 8 * 60, true, 3),
            ("password-rotation-2026", 5 * 60, false, 0),
        ]
    );
    // The timetable uses it: chuo 3 x 33 min at capacity 2 ends 08:45 + 66 min.
    let chuo = &schedule.sites[0];
    assert_eq!(chuo.finish.strftime("%H:%M").to_string(), "09:51");
    // The plan says which estimate came from past runs.
    let text = run_seibi(dir.path(), &["plan", "--start", "2026-10-01"]);
    assert!(
        text.stdout.contains(
            "    settings-2026-10               8 min  from past runs (medians of up to 3 \
             recorded duration(s); history for 1 of 1 task(s)), declared 15 min\n"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(
            "    openssl-patch-2026-09         20 min  declared (minutes_per_terminal)\n"
        ),
        "{}",
        text.stdout
    );

    // A later finished run does not change a saved plan: it is re-made from the runs it pins
    // (what `apply --plan` does to check that a plan is not stale).
    let mut later = JournalWriter::create(&logs, RunStart::new("run-d", "sha256:x"), signer(&key))
        .expect("journal");
    unit(
        &mut later,
        "chuo-t01",
        "settings-2026-10",
        "ntp",
        30,
        Status::Changed,
        "run",
    );
    later.finish(RunEnd::default()).expect("finish");
    let mut paths = seibi::project::ProjectPaths::new(dir.path());
    paths.root = dir.path().to_path_buf();
    let (project, diags) = seibi::project::Project::load(paths);
    let project = project.unwrap_or_else(|| panic!("{diags:?}"));
    let again = seibi::plan::build(&project, &plan.request).expect("re-made");
    assert_eq!(again.digest, plan.digest);
    let (fresh, _) = plan_json(dir.path(), &["--start", "2026-10-01"]);
    assert_ne!(fresh.digest, plan.digest, "a new plan learns from run-d");
    // A pinned journal that is gone is an error that says what to do.
    std::fs::remove_file(logs.join("run-a.jsonl")).expect("remove");
    let Err(diags) = seibi::plan::build(&project, &plan.request) else {
        panic!("a plan whose history is gone cannot be re-made");
    };
    let message = diags.to_string();
    assert!(
        message.contains("use run run-a, but its journal")
            && message.contains("make the plan again"),
        "{message}"
    );
}

#[test]
fn apply_outside_office_hours_needs_a_reason() {
    let dir = october_project();
    let out = run_seibi(dir.path(), &["apply", "--outside-window"]);
    assert_eq!(out.code, 2, "a usage error: {}", out.stderr);
    assert!(out.stderr.contains("--reason"), "{}", out.stderr);
    let out = run_seibi(dir.path(), &["apply", "--reason", "why"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--outside-window"), "{}", out.stderr);
}

#[test]
fn apply_is_refused_when_every_site_is_closed() {
    let dir = october_project();
    // Both sites closed today (their own closed day), whatever the hour the test runs at.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").expect("Asia/Tokyo"))
        .date();
    let inventory = dir.path().join("inventory/city.yml");
    let text = std::fs::read_to_string(&inventory).expect("read");
    std::fs::write(
        &inventory,
        text.replace(
            "capacity: 2 }",
            &format!("capacity: 2, closed_days: [{today}] }}"),
        )
        .replace(
            "closed_days: [2026-10-01]",
            &format!("closed_days: [{today}]"),
        ),
    )
    .expect("write");
    // Approval is not what this test is about: the run says it is unapproved emergency work.
    let out = run_seibi(dir.path(), &["apply", "--unapproved", "--reason", "test"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("every site in this plan is outside its office hours now:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("chuo: site chuo is closed today, {today}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--outside-window --reason"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("logs").exists(), "nothing was written");
    // With a reason the office hours do not stop it (here the missing roster does).
    let out = run_seibi(
        dir.path(),
        &[
            "apply",
            "--outside-window",
            "--unapproved",
            "--reason",
            "emergency patch",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("office hours"), "{}", out.stderr);
    assert!(out.stderr.contains("roster"), "{}", out.stderr);
}

#[test]
fn an_outside_window_record_verifies_and_shows_in_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = operator_key(dir.path());
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let roster_path = dir.path().join("roster.yml");
    std::fs::write(
        &roster_path,
        format!(
            "people:\n  - id: alice\n    name: 有栖 愛子\n    organisation: 情報政策課\n    \
             role: operator\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n",
            public.trim()
        ),
    )
    .expect("roster");
    let roster = seibi::roster::Roster::load(&roster_path).expect("roster loads");
    let logs = dir.path().join("logs");
    let mut journal =
        JournalWriter::create(&logs, RunStart::new("night", "sha256:x"), signer(&key))
            .expect("journal");
    journal
        .append(Record::OutsideWindow(seibi::journal::OutsideWindow {
            reason: "緊急パッチ (VN-2026-0917)".into(),
        }))
        .expect("append");
    unit(
        &mut journal,
        "chuo-t01",
        "openssl-patch-2026-09",
        "install",
        3,
        Status::Changed,
        "run",
    );
    let path = journal.path().to_path_buf();
    journal.finish(RunEnd::default()).expect("finish");
    let report = seibi::journal::verify(&path, &roster);
    assert!(report.is_ok(), "{:?}", report.problems);
    let text = std::fs::read_to_string(&path).expect("journal");
    assert!(
        text.contains(r#""kind":"outside_window","reason":"緊急パッチ (VN-2026-0917)""#),
        "{text}"
    );
    let run = seibi::journal::read_run(&path).expect("run");
    assert!(run.unreadable_lines.is_empty());
    assert_eq!(
        run.events
            .iter()
            .map(|e| e.what.as_str())
            .collect::<Vec<_>>(),
        ["working outside office hours: 緊急パッチ (VN-2026-0917)"]
    );
}
