//! The apply session on the bad day, on real lab fleets: two runs at once in one project, two
//! clones on the same terminals, SIGKILL at every phase of a password rotation, a connection
//! dropped while a command runs, a run that died after its end. Each test counts what was lost
//! (passwords the store does not know, units run twice, journals that do not verify, rotations
//! no journal records) and asserts zero.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Output;
use common::lab::{apply_rehearsal, is_root, lab_job, on_host, operator_and_secret, seibi};
use seibi::lab::{Fleet, FleetSpec};
use seibi::secrets::{Account, PasswordStore};
use sha2::{Digest as _, Sha256};

const ACCOUNTS: [&str; 2] = ["kanri", "hoshu"];

/// How many times the timing trials repeat (`SEIBI_SESSION_TRIALS`, default 1): CI runs them
/// once; a measurement runs them many times.
fn repeats() -> usize {
    std::env::var("SEIBI_SESSION_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: the lab fleet needs root (CI runs as root)");
            return;
        }
    };
}

fn fleet(dir: &Path, hosts: usize, third_octet: u8) -> Fleet {
    let mut spec = FleetSpec::new(hosts, dir.join("fleet"));
    spec.base_address = std::net::Ipv4Addr::new(127, 0, third_octet, 1);
    spec.accounts = ACCOUNTS.iter().map(|a| a.to_string()).collect();
    Fleet::start(spec).expect("the fleet starts")
}

/// A project on the fleet at `root`: two sites, every host a terminal tagged `lab`, a roster
/// whose operator holds the fleet's key, `known_hosts`, a secrets store (identity in
/// `dir/identity.txt`), and the given jobs.
fn project(fleet: &Fleet, root: &Path, jobs: &[(&str, String)]) {
    for d in ["inventory", "playbooks"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let mut inv = String::from(
        "defaults: { user: root }\nsites:\n  s1: { name: Site 1, capacity: 4 }\n  s2: { name: Site 2, capacity: 4 }\nterminals:\n",
    );
    for (i, host) in fleet.hosts().iter().enumerate() {
        inv.push_str(&format!(
            "  t{i:02}: {{ site: s{}, address: {}, port: {}, tags: [lab] }}\n",
            1 + i % 2,
            host.address(),
            host.port()
        ));
    }
    std::fs::write(root.join("inventory/lab.yml"), inv).expect("inventory");
    for (file, text) in jobs {
        std::fs::write(root.join("playbooks").join(file), text).expect("job");
    }
    operator_and_secret(fleet, root, &identity(root), "unused", "x");
}

/// The secrets identity of the project at `root` (beside it, each clone its own).
fn identity(root: &Path) -> PathBuf {
    root.with_extension("identity.txt")
}

/// `seibi apply` of the project at `root`, waiting for it.
fn apply(root: &Path, fleet: &Fleet, extra: &[&str]) -> Output {
    apply_rehearsal(root, fleet, &identity(root), extra)
}

/// A job rotating both accounts on every run (`max_age_days: 0`), keeping every version.
fn rotation_job() -> (&'static str, String) {
    let mut tasks = String::from("tasks:\n");
    for user in ACCOUNTS {
        tasks.push_str(&format!(
            "  - name: Rotate {user}\n    id: {user}\n    password: {{ user: {user}, policy: {{ style: random, length: 20, keep: 50, max_age_days: 0 }} }}\n"
        ));
    }
    ("rotate.yml", lab_job("rotate", "password_rotation", &tasks))
}

/// A job whose one command logs its start and end around a pause, once per terminal.
fn slow_job(seconds: u32) -> (&'static str, String) {
    (
        "slow.yml",
        lab_job(
            "slow",
            "settings_change",
            &format!(
                "tasks:\n  - name: Slow step\n    id: step\n    command: {{ cmd: 'echo start >> /root/once.log; sleep {seconds}; echo done >> /root/once.log; touch /root/once.done', creates: /root/once.done }}\n"
            ),
        ),
    )
}

fn apply_args<'a>(fleet: &'a Fleet, identity: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "apply",
        "--key",
        fleet.client_key().to_str().expect("utf-8"),
        "--identity",
        identity,
        "--progress",
        "plain",
        "--outside-window",
        "--unapproved",
        "--reason",
        "lab rehearsal",
    ];
    args.extend_from_slice(extra);
    args
}

fn spawn_apply(root: &Path, fleet: &Fleet, extra: &[&str]) -> Child {
    let identity = identity(root);
    let identity = identity.to_str().expect("utf-8");
    Command::new(env!("CARGO_BIN_EXE_seibi"))
        .args(apply_args(fleet, identity, extra))
        .current_dir(root)
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seibi apply")
}

fn wait(child: Child) -> Output {
    child.wait_with_output().expect("wait").into()
}

fn journals(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("logs"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("journal")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// What a trial lost: journals that do not verify, passwords the store does not know,
/// pending rotations left, rotations no journal records, accounts rotated twice in one run.
#[derive(Debug, Default, PartialEq, Eq)]
struct Losses {
    unverifiable: Vec<String>,
    unknown_passwords: Vec<String>,
    pending: Vec<String>,
    unrecorded: Vec<String>,
    rotated_twice: Vec<String>,
}

fn losses(root: &Path, fleet: &Fleet) -> Losses {
    let mut out = Losses::default();
    let files = journals(root);
    if !files.is_empty() {
        let verify = seibi(root, &["journal", "verify"], None);
        if verify.code != 0 {
            out.unverifiable.push(verify.stdout);
        }
    }
    // Rotation records: (run that made it, terminal, account), and how many per run.
    let mut recorded: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut per_run: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for file in &files {
        let lines = records(file);
        let run = lines
            .first()
            .and_then(|l| l["run"].as_str())
            .unwrap_or_default()
            .to_string();
        for r in lines.iter().filter(|l| l["kind"] == "rotation") {
            let by = r["began_in"].as_str().map_or(run.clone(), str::to_string);
            let key = (
                by,
                r["terminal"].as_str().unwrap_or_default().to_string(),
                r["account"].as_str().unwrap_or_default().to_string(),
            );
            recorded.insert(key.clone());
            *per_run.entry(key).or_default() += 1;
        }
    }
    for (key, n) in per_run {
        if n > 1 {
            out.rotated_twice
                .push(format!("{key:?} recorded {n} times"));
        }
    }
    let store = PasswordStore::open(&root.join("secrets")).expect("store");
    for (i, _) in fleet.hosts().iter().enumerate() {
        let terminal = format!("t{i:02}");
        for user in ACCOUNTS {
            let account = Account::new(&terminal, user).expect("account");
            let state = store.state(&account).expect("state");
            let live = on_host(fleet, i, &format!("getent shadow {user} | cut -d: -f2"));
            let live = hex::encode(Sha256::digest(live.trim().as_bytes()));
            if let Some(p) = &state.pending {
                out.pending
                    .push(format!("{terminal}/{user} v{} of {}", p.version, p.run));
            }
            match &state.current {
                Some(c) if c.hash_sha256 == live => {}
                Some(c) => out.unknown_passwords.push(format!(
                    "{terminal}/{user}: the terminal does not have the store's current v{}",
                    c.version
                )),
                None if state.history.is_empty() && state.pending.is_none() => {}
                None => out
                    .unknown_passwords
                    .push(format!("{terminal}/{user}: no current password")),
            }
            let made = state
                .history
                .iter()
                .map(|h| (h.run.clone(), h.version))
                .chain(state.current.iter().map(|c| (c.run.clone(), c.version)));
            for (run, version) in made {
                if !recorded.contains(&(run.clone(), terminal.clone(), user.to_string())) {
                    out.unrecorded
                        .push(format!("{terminal}/{user} v{version} set by {run}"));
                }
            }
        }
    }
    out
}

fn run_id_of(path: &Path) -> String {
    path.file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned()
}

/// Waits until `cond` holds, for at most `limit`.
fn until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn two_applies_of_one_project_at_once_lose_nothing_and_the_second_names_the_holder() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), 4, 100);
    let root = dir.path().join("project");
    project(&fleet, &root, &[rotation_job()]);
    let mut refused = 0;
    let gaps = [0u64, 30, 60, 90, 120];
    let gaps: Vec<u64> = gaps
        .iter()
        .copied()
        .cycle()
        .take(gaps.len() * repeats())
        .collect();
    for (trial, gap_ms) in gaps.into_iter().enumerate() {
        let first = spawn_apply(&root, &fleet, &[]);
        std::thread::sleep(Duration::from_millis(gap_ms));
        let second = spawn_apply(&root, &fleet, &[]);
        let (a, b) = (wait(first), wait(second));
        for out in [&a, &b] {
            assert!(
                out.code == 0 || out.code == 1,
                "trial {trial}: {}\n{}",
                out.stdout,
                out.stderr
            );
            if out.code == 1 {
                refused += 1;
                assert!(
                    out.stderr
                        .contains("another seibi process is working on this project: apply of run")
                        && out.stderr.contains("by 試験 操作員"),
                    "the loser names the holder: {}",
                    out.stderr
                );
                assert!(out.stdout.is_empty(), "the loser changed nothing");
            }
        }
        assert!(a.code == 0 || b.code == 0, "trial {trial}: one of them ran");
        assert_eq!(
            losses(&root, &fleet),
            Losses::default(),
            "trial {trial} lost nothing"
        );
    }
    assert!(refused >= 3, "most trials overlapped: {refused} refused");
    eprintln!(
        "{} trials of two applies at once: {refused} refused naming the holder, 0 lost",
        5 * repeats()
    );
    // Every run that ran rotated each account once: 4 terminals x 2 accounts per journal.
    for file in journals(&root) {
        let rotations = records(&file)
            .iter()
            .filter(|l| l["kind"] == "rotation")
            .count();
        assert_eq!(rotations, 8, "{}", file.display());
    }
}

#[test]
fn two_clones_on_the_same_terminals_are_serialized_by_the_lease() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), 2, 101);
    let (a, b) = (dir.path().join("clone-a"), dir.path().join("clone-b"));
    project(&fleet, &a, &[slow_job(3)]);
    project(&fleet, &b, &[slow_job(3)]);

    // B does not wait long: it finds every terminal leased by A, says so, and touches nothing.
    let first = spawn_apply(&a, &fleet, &[]);
    assert!(
        until(Duration::from_secs(20), || on_host(
            &fleet,
            0,
            "cat /root/once.log 2>/dev/null"
        )
        .contains("start")),
        "A got going"
    );
    let busy = apply(&b, &fleet, &["--lease-wait", "1"]);
    let a_run = run_id_of(&journals(&a)[0]);
    assert_eq!(busy.code, 7, "{}\n{}", busy.stdout, busy.stderr);
    for t in ["t00", "t01"] {
        let line = busy
            .stdout
            .lines()
            .find(|l| l.starts_with(t))
            .unwrap_or_default();
        assert!(
            line.contains("busy")
                && line.contains(&format!("leased by run {a_run} of 試験 操作員")),
            "{t}: {line}"
        );
    }
    let b_journal = &journals(&b)[0];
    let statuses: Vec<String> = records(b_journal)
        .iter()
        .filter(|l| l["kind"] == "result")
        .map(|l| l["status"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(statuses, ["busy", "busy"], "busy is its own outcome");
    assert_eq!(wait(first).code, 0);

    // Both at once, B waiting: the lease serializes them; each command ran once, never
    // interleaved, and the second run found nothing to do.
    for i in 0..2 {
        on_host(&fleet, i, "rm -f /root/once.log /root/once.done");
    }
    let first = spawn_apply(&a, &fleet, &[]);
    std::thread::sleep(Duration::from_millis(200));
    let second = spawn_apply(&b, &fleet, &["--lease-wait", "60"]);
    let (ra, rb) = (wait(first), wait(second));
    assert_eq!((ra.code, rb.code), (0, 0), "{}\n{}", ra.stderr, rb.stderr);
    for i in 0..2 {
        assert_eq!(on_host(&fleet, i, "cat /root/once.log"), "start\ndone\n");
    }
    for out in [&a, &b] {
        let verify = seibi(out, &["journal", "verify"], None);
        assert_eq!(verify.code, 0, "{}", verify.stdout);
    }
}

#[test]
fn a_dropped_connection_leaves_the_unit_interrupted_and_its_command_runs_once() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut fleet = fleet(dir.path(), 1, 102);
    let root = dir.path().join("project");
    project(&fleet, &root, &[slow_job(4)]);
    let child = spawn_apply(&root, &fleet, &[]);
    assert!(
        until(Duration::from_secs(20), || on_host(
            &fleet,
            0,
            "cat /root/once.log 2>/dev/null"
        )
        .contains("start")),
        "the command started"
    );
    let dropped = fleet.drop_connections(0).expect("drop");
    assert!(dropped > 0, "a connection was dropped");
    let out = wait(child);
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("INTERRUPTED"), "{}", out.stdout);
    let first = journals(&root)[0].clone();
    assert!(
        records(&first)
            .iter()
            .any(|l| l["kind"] == "result" && l["status"] == "interrupted"),
        "journaled as interrupted"
    );
    // The command survived the dropped connection and is still running: a new run waits for
    // it (the terminal's lease), then queries again and finds it done.
    assert_eq!(on_host(&fleet, 0, "cat /root/once.log"), "start\n");
    let again = apply(&root, &fleet, &[]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let step = again
        .stdout
        .lines()
        .find(|l| l.starts_with("t00") && l.contains("slow/step"))
        .unwrap_or_default();
    assert_eq!(
        step.split_whitespace().nth(1),
        Some("ok"),
        "queried again, found done: {}",
        again.stdout
    );
    assert_eq!(
        on_host(&fleet, 0, "cat /root/once.log"),
        "start\ndone\n",
        "the command ran exactly once"
    );
    let verify = seibi(&root, &["journal", "verify"], None);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}

#[test]
fn sigkill_at_every_phase_of_a_rotation_then_resume_loses_nothing() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), 3, 103);
    let root = dir.path().join("project");
    project(&fleet, &root, &[rotation_job()]);
    let mut trials = 0;
    let mut resumed = 0;
    let delays: Vec<u64> = (100u64..=2200).step_by(150).collect();
    let delays: Vec<u64> = delays
        .iter()
        .copied()
        .cycle()
        .take(delays.len() * repeats())
        .collect();
    for delay_ms in delays {
        let before: BTreeSet<PathBuf> = journals(&root).into_iter().collect();
        let mut child = spawn_apply(&root, &fleet, &[]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        trials += 1;
        let new: Vec<PathBuf> = journals(&root)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if let Some(journal) = new.first() {
            let run = run_id_of(journal);
            let text = std::fs::read_to_string(journal).expect("journal");
            if !text.contains("\"run_end\"") || !text.trim_end().ends_with('}') {
                let out = apply(&root, &fleet, &["--resume", &run]);
                resumed += 1;
                assert!(
                    out.code == 0 || out.stderr.contains("nothing to resume"),
                    "resume after {delay_ms} ms: {}\n{}",
                    out.stdout,
                    out.stderr
                );
            }
        }
        assert_eq!(
            losses(&root, &fleet),
            Losses::default(),
            "killed after {delay_ms} ms"
        );
    }
    // A run killed between run_end and its final checkpoint: the same bytes on disk as a
    // finished journal without its last line. Resume seals it.
    let done = apply(&root, &fleet, &[]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let last = journals(&root)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("a journal");
    let text = std::fs::read_to_string(&last).expect("journal");
    let cut = text.trim_end_matches('\n').rfind('\n').expect("lines") + 1;
    std::fs::write(&last, &text[..cut]).expect("cut the final checkpoint");
    let broken = seibi(&root, &["journal", "verify"], None);
    assert_eq!(broken.code, 1, "{}", broken.stdout);
    assert!(broken.stdout.contains("unsigned tail"), "{}", broken.stdout);
    let sealed = apply(&root, &fleet, &["--resume", &run_id_of(&last)]);
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    assert!(sealed.stderr.contains("sealed them"), "{}", sealed.stderr);
    let verify = seibi(
        &root,
        &["journal", "verify", last.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    assert!(
        verify.stdout.contains("sealed late by lab-operator"),
        "{}",
        verify.stdout
    );
    assert_eq!(losses(&root, &fleet), Losses::default(), "after the seal");
    eprintln!("{trials} SIGKILL trials, {resumed} resumed, 0 lost");
}

/// Two jobs, the second needing the first, each leaving a mark on the terminal.
fn marking_jobs() -> [(&'static str, String); 2] {
    let job = |id: &str, needs: &str| {
        lab_job(
            id,
            "settings_change",
            &format!(
                "tasks:\n  - name: Mark {id}\n    id: mark\n{needs}    command: {{ cmd: 'echo {id} >> /root/marks.log; touch /root/{id}.done', creates: /root/{id}.done }}\n"
            ),
        )
    };
    [
        ("first.yml", job("first", "")),
        ("second.yml", job("second", "    needs: [first/*]\n")),
    ]
}

/// Adds an approver with a new key to the project's roster; the key's path.
fn add_approver(root: &Path) -> PathBuf {
    let key = root.with_file_name("approver_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "approver", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    let mut roster = std::fs::read_to_string(root.join("roster.yml")).expect("roster");
    roster.push_str(&format!(
        "  - id: city-approver\n    name: 佐藤 花子\n    organisation: 情報政策課\n    role: approver\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n",
        public.trim()
    ));
    std::fs::write(root.join("roster.yml"), roster).expect("roster");
    key
}

/// `seibi apply --plan plan.json` (approved, so without `--unapproved`) and `extra`.
fn apply_plan(root: &Path, fleet: &Fleet, extra: &[&str]) -> Output {
    let identity = identity(root);
    let mut args = vec![
        "apply",
        "--plan",
        "plan.json",
        "--key",
        fleet.client_key().to_str().expect("utf-8"),
        "--identity",
        identity.to_str().expect("utf-8"),
        "--progress",
        "plain",
        "--outside-window",
        "--reason",
        "lab rehearsal",
    ];
    args.extend_from_slice(extra);
    seibi(root, &args, None)
}

fn marks(fleet: &Fleet) -> Vec<String> {
    (0..fleet.hosts().len())
        .map(|i| on_host(fleet, i, "cat /root/marks.log 2>/dev/null"))
        .collect()
}

#[test]
fn parts_of_an_approved_plan_are_applied_site_by_site_and_nothing_else_is_touched() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), 4, 104);
    let root = dir.path().join("project");
    project(&fleet, &root, &marking_jobs());
    let approver = add_approver(&root);
    let plan = seibi(&root, &["plan", "-o", "plan.json"], None);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let approve = seibi(
        &root,
        &[
            "approve",
            "plan.json",
            "--key",
            approver.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(approve.code, 0, "{}\n{}", approve.stdout, approve.stderr);

    // Selectors outside the plan are refused, with a "did you mean", and nothing runs.
    let wrong = apply_plan(&root, &fleet, &["--site", "s9", "--job", "frist"]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("--site `s9` matches no terminal of this plan")
            && wrong
                .stderr
                .contains("--job `frist` is not a job of this plan")
            && wrong.stderr.contains("did you mean `first`"),
        "{}",
        wrong.stderr
    );
    insta::assert_snapshot!("part_outside_the_plan", wrong.stderr);
    assert!(
        journals(&root).is_empty(),
        "a refused part writes no journal"
    );

    // The second job alone: what it needs is outside the part and not done yet.
    let alone = apply_plan(&root, &fleet, &["--job", "second", "--site", "s1"]);
    assert_eq!(alone.code, 0, "{}\n{}", alone.stdout, alone.stderr);
    assert!(
        alone
            .stdout
            .contains("needs first/mark, which is outside this part of the plan"),
        "{}",
        alone.stdout
    );
    assert_eq!(marks(&fleet), ["", "", "", ""], "nothing ran");

    // Site by site: s1 (t00, t02) whole, then s2 job by job.
    let s1 = apply_plan(&root, &fleet, &["--site", "s1"]);
    assert_eq!(s1.code, 0, "{}\n{}", s1.stdout, s1.stderr);
    assert!(s1.stderr.contains("approved by"), "{}", s1.stderr);
    assert_eq!(
        marks(&fleet),
        ["first\nsecond\n", "", "first\nsecond\n", ""]
    );
    let s1_journal = journals(&root)
        .into_iter()
        .find(|p| {
            records(p)[0]["selection"]["terminals"]["sites"] == serde_json::json!(["s1"])
                && records(p)[0]["selection"]["jobs"].is_null()
        })
        .expect("run_start records the selection");
    let plan_digest = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(root.join("plan.json")).expect("plan"),
    )
    .expect("json")["digest"]
        .clone();
    assert_eq!(records(&s1_journal)[0]["plan_digest"], plan_digest);
    let first = apply_plan(&root, &fleet, &["--site", "s2", "--job", "first"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        marks(&fleet),
        ["first\nsecond\n", "first\n", "first\nsecond\n", "first\n"]
    );
    // Its need is outside this part, but an earlier run of the plan did it.
    let second = apply_plan(&root, &fleet, &["--site", "s2", "--job", "second"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(marks(&fleet), vec!["first\nsecond\n".to_string(); 4]);
    let verify = seibi(&root, &["journal", "verify"], None);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}

#[test]
fn two_resumes_of_one_killed_run_at_once_lose_nothing() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), 3, 105);
    let root = dir.path().join("project");
    project(&fleet, &root, &[rotation_job(), slow_job(2)]);
    let mut child = spawn_apply(&root, &fleet, &[]);
    assert!(
        until(Duration::from_secs(20), || on_host(
            &fleet,
            0,
            "cat /root/once.log 2>/dev/null"
        )
        .contains("start")),
        "the run got going"
    );
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let run = run_id_of(&journals(&root)[0]);
    let first = spawn_apply(&root, &fleet, &["--resume", &run]);
    let second = spawn_apply(&root, &fleet, &["--resume", &run]);
    let (a, b) = (wait(first), wait(second));
    let codes = [a.code, b.code];
    assert!(
        codes.contains(&0),
        "one resume ran: {}\n{}",
        a.stderr,
        b.stderr
    );
    let loser = if a.code == 0 { &b } else { &a };
    assert!(
        loser.code == 0
            || (loser.code == 1
                && loser
                    .stderr
                    .contains(&format!("apply --resume of run {run} by 試験 操作員"))),
        "the other waits its turn or is refused naming the holder: {}",
        loser.stderr
    );
    assert_eq!(losses(&root, &fleet), Losses::default());
    for i in 0..3 {
        assert_eq!(on_host(&fleet, i, "cat /root/once.log"), "start\ndone\n");
    }
}

#[test]
fn an_ansible_terminal_logs_in_with_its_own_key_file() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), 2, 106);
    let root = dir.path().join("project");
    project(&fleet, &root, &[slow_job(0)]);
    // The same terminals from an Ansible inventory: t00 names the fleet's key as its own;
    // t01 names none.
    let key = fleet.client_key().to_str().expect("utf-8");
    let hosts: Vec<String> = fleet
        .hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let own = if i == 0 {
                format!(", ansible_ssh_private_key_file: {key}")
            } else {
                String::new()
            };
            format!(
                "    t{i:02}: {{ ansible_host: {}, ansible_port: {}, ansible_user: root, seibi_tags: [lab]{own} }}\n",
                h.address(),
                h.port()
            )
        })
        .collect();
    std::fs::write(
        root.join("inventory/lab.yml"),
        "sites:\n  s1: { name: Site 1, capacity: 4 }\n",
    )
    .expect("sites");
    std::fs::write(
        root.join("inventory/hosts.yml"),
        format!(
            "all:\n  vars: {{ seibi_site: s1 }}\n  hosts:\n{}",
            hosts.concat()
        ),
    )
    .expect("hosts");
    // `--key` is a key the terminals do not know; the operator signs with the fleet's key.
    let stranger = dir.path().join("stranger_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "stranger", "-f"])
        .arg(&stranger)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let identity = identity(&root);
    let out = seibi(
        &root,
        &[
            "apply",
            "--key",
            stranger.to_str().expect("utf-8"),
            "--sign-key",
            key,
            "--identity",
            identity.to_str().expect("utf-8"),
            "--progress",
            "plain",
            "--outside-window",
            "--unapproved",
            "--reason",
            "lab rehearsal",
        ],
        None,
    );
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    let line = |t: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(t))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("t00").contains(" changed "), "{}", out.stdout);
    assert!(
        line("t01").contains("FAILED") && line("t01").contains("authenticat"),
        "t01 has no key of its own: {}",
        out.stdout
    );
    assert_eq!(on_host(&fleet, 0, "cat /root/once.log"), "start\ndone\n");
    // The plan pins the key file's name, never its contents.
    let plan = seibi(&root, &["plan", "--format", "json"], None);
    assert!(
        plan.stdout.contains(&format!("\"key_file\": \"{key}\"")),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("PRIVATE KEY"));
}
