//! `seibi apply` end to end on a real fleet: isolated OpenSSH servers (see `seibi::lab`), real
//! `.deb` packages built here with dpkg-deb, real files, a jump host, a signed journal. Run as
//! root (CI does); without root the tests say why and pass nothing off as tested.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Output as Run;
use common::lab::{apply_rehearsal, build_deb, lab_available, on_host, operator_and_secret, seibi};
use seibi::lab::{Fleet, FleetSpec};

/// A project for the fleet: three sites (the third reached through a jump host), five jobs of
/// a batched visit, a secrets store with one secret, a roster with the fleet's client key.
fn project(fleet: &Fleet, dir: &Path, terminals: usize, jump: Option<usize>) -> PathBuf {
    let root = dir.join("project");
    for d in ["inventory", "playbooks/templates", "playbooks/artifacts"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let sites = ["ward-a", "ward-b", "ward-c"];
    let mut inv = String::from("defaults: { user: root }\nsites:\n");
    for (i, s) in sites.iter().enumerate() {
        inv.push_str(&format!(
            "  {s}: {{ name: Ward {s}, capacity: 2, vars: {{ log_server: log{i}.city.example }}"
        ));
        if i == 2
            && let Some(j) = jump
        {
            let host = &fleet.hosts()[j];
            inv.push_str(&format!(
                ", jump: {{ address: {}, port: {}, user: root }}",
                host.address(),
                host.port()
            ));
        }
        inv.push_str(" }\n");
    }
    inv.push_str("terminals:\n");
    for (i, host) in fleet.hosts().iter().take(terminals).enumerate() {
        inv.push_str(&format!(
            "  t{i:02}: {{ site: {}, address: {}, port: {}, tags: [lab] }}\n",
            sites[i * sites.len() / terminals],
            host.address(),
            host.port()
        ));
    }
    std::fs::write(root.join("inventory/lab.yml"), inv).expect("inventory");

    let art = root.join("playbooks/artifacts");
    let (app, app_sha) = build_deb(&art, "seibi-test-app", "2.0");
    let (patch, patch_sha) = build_deb(&art, "seibi-test-patch", "1.1");
    let name = |p: &Path| p.file_name().expect("name").to_string_lossy().into_owned();
    let job = common::lab::lab_job;
    let files = [
        (
            "patch.yml",
            job(
                "patch",
                "os_patch",
                &format!(
                    "artifacts:\n  fix: {{ path: artifacts/{}, sha256: {patch_sha}, package: seibi-test-patch, version: '1.1' }}\ntasks:\n  - name: Install the patch\n    patch: {{ artifact: fix }}\n",
                    name(&patch)
                ),
            ),
        ),
        (
            "update.yml",
            job(
                "update",
                "software_update",
                &format!(
                    "artifacts:\n  app: {{ path: artifacts/{}, sha256: {app_sha}, package: seibi-test-app, version: '2.0' }}\ntasks:\n  - name: Install the app\n    package: {{ artifact: app }}\n",
                    name(&app)
                ),
            ),
        ),
        (
            "settings.yml",
            job(
                "settings",
                "settings_change",
                "tasks:\n  - name: Settings directory\n    file: { path: /etc/seibi-test, state: directory, mode: '0755' }\n  - name: App settings\n    template: { src: templates/app.conf.j2, dest: /etc/seibi-test/app.conf, mode: '0600' }\n  - name: Mark configured\n    command: { cmd: 'date > /etc/seibi-test/configured', creates: /etc/seibi-test/configured }\n",
            ),
        ),
        (
            "inspect.yml",
            job(
                "inspect",
                "inspection",
                "tasks:\n  - name: Inspect\n    needs: [settings/*]\n    inspect: { packages: [seibi-test-app, seibi-test-patch], files: [/etc/seibi-test/app.conf] }\n",
            ),
        ),
        (
            "logs.yml",
            job(
                "logs",
                "log_collection",
                "tasks:\n  - name: Collect the dpkg log\n    fetch: { paths: [/var/log/dpkg.log] }\n",
            ),
        ),
    ];
    for (file, text) in files {
        std::fs::write(root.join("playbooks").join(file), text).expect("job");
    }
    std::fs::write(
        root.join("playbooks/templates/app.conf.j2"),
        "# {{ terminal.id }} at {{ site.name }}\nlog_server = {{ log_server }}\ntoken = {{ secret('app_token') }}\n",
    )
    .expect("template");

    operator_and_secret(fleet, &root, &dir.join("identity.txt"), "app_token", SECRET);
    root
}

const SECRET: &str = "tok-3f9a1c7e-never-print-me";

fn apply(root: &Path, fleet: &Fleet, dir: &Path, extra: &[&str]) -> Run {
    apply_rehearsal(root, fleet, &dir.join("identity.txt"), extra)
}

fn count(out: &str, word: &str) -> usize {
    out.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(word))
        .count()
}

#[test]
fn batched_visit_applies_once_and_then_changes_nothing() {
    if !lab_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = FleetSpec::new(9, dir.path().join("fleet"));
    spec.base_address = "127.0.50.1".parse().expect("address");
    let fleet = Fleet::start(spec).expect("fleet");
    // Eight terminals over three sites; the ninth host is the third site's jump host.
    let root = project(&fleet, dir.path(), 8, Some(8));

    let check = seibi(&root, &["check"], None);
    assert_eq!(check.code, 0, "{}", check.stderr);

    // --check before anything: says what would change, changes nothing.
    let dry = apply(&root, &fleet, dir.path(), &["--check", "--diff"]);
    assert_eq!(dry.code, 0, "{}\n{}", dry.stdout, dry.stderr);
    assert!(count(&dry.stdout, "changed") >= 8 * 4, "{}", dry.stdout);
    assert_eq!(
        on_host(&fleet, 0, "test -e /etc/seibi-test && echo yes || echo no").trim(),
        "no"
    );
    assert!(on_host(&fleet, 0, "dpkg-query -W seibi-test-app 2>&1").contains("no packages found"));

    // The visit: every job on every terminal, the third site through its jump host.
    let first = apply(&root, &fleet, dir.path(), &[]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    for i in 0..8 {
        assert_eq!(
            on_host(&fleet, i, "dpkg-query -W -f='${Version}' seibi-test-app"),
            "2.0",
            "host {i}"
        );
        assert_eq!(
            on_host(&fleet, i, "dpkg-query -W -f='${Version}' seibi-test-patch"),
            "1.1",
            "host {i}"
        );
        let conf = on_host(&fleet, i, "cat /etc/seibi-test/app.conf");
        assert!(
            conf.starts_with(&format!("# t{i:02} at Ward ward-")),
            "host {i}: {conf}"
        );
        assert!(
            conf.contains(&format!("token = {SECRET}")),
            "the secret reaches the file: {conf}"
        );
        assert_eq!(
            on_host(&fleet, i, "stat -c %a /etc/seibi-test/app.conf").trim(),
            "600"
        );
    }
    // The jump host itself was not a target.
    assert!(on_host(&fleet, 8, "dpkg-query -W seibi-test-app 2>&1").contains("no packages found"));
    // Logs were collected per terminal.
    let collected = root.join("collected");
    let runs: Vec<_> = std::fs::read_dir(collected.join("t00"))
        .expect("collected/t00")
        .collect();
    assert_eq!(runs.len(), 1);

    // The second run changes nothing.
    let second = apply(&root, &fleet, dir.path(), &[]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(count(&second.stdout, "changed"), 0, "{}", second.stdout);
    assert_eq!(
        count(&second.stdout, "ok"),
        count(&first.stdout, "changed") + count(&first.stdout, "ok")
    );

    // A variable changes: --check --diff shows the difference, redacted, and changes nothing.
    let inv = root.join("inventory/lab.yml");
    let text = std::fs::read_to_string(&inv).expect("inventory");
    std::fs::write(&inv, text.replace("log0.city.example", "log9.city.example")).expect("edit");
    let diff = apply(&root, &fleet, dir.path(), &["--check", "--diff"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stdout.contains("-log_server = log0.city.example"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("+log_server = log9.city.example"),
        "{}",
        diff.stdout
    );
    assert!(on_host(&fleet, 0, "cat /etc/seibi-test/app.conf").contains("log0.city.example"));

    // No output ever shows the secret, and every journal verifies.
    for run in [&dry, &first, &second, &diff] {
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    }
    let logs: Vec<PathBuf> = std::fs::read_dir(root.join("logs"))
        .expect("logs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(logs.len(), 4, "one journal per run");
    for log in &logs {
        let text = std::fs::read_to_string(log).expect("journal");
        assert!(
            !text.contains(SECRET),
            "journal {} leaks the secret",
            log.display()
        );
        let verify = seibi(
            &root,
            &["journal", "verify", log.to_str().expect("utf-8")],
            None,
        );
        assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    }
}

#[test]
fn failures_stay_with_their_terminal() {
    if !lab_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = FleetSpec::new(6, dir.path().join("fleet"));
    spec.base_address = "127.0.51.1".parse().expect("address");
    let mut fleet = Fleet::start(spec).expect("fleet");
    let root = project(&fleet, dir.path(), 6, None);

    // A changed host key is refused, with both fingerprints and what to do.
    let old = fleet.hosts()[0].fingerprint().to_string();
    fleet.replace_host_key(0).expect("new host key");
    let new = fleet.hosts()[0].fingerprint().to_string();
    // An unreachable terminal is reported while the others finish.
    fleet.kill_host(1).expect("kill");
    let run = apply(&root, &fleet, dir.path(), &["--job", "settings"]);
    assert_eq!(
        run.code, 4,
        "a failure (the changed key) wins over unreachable\n{}\n{}",
        run.stdout, run.stderr
    );
    let t00: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("t00 "))
        .collect();
    assert!(
        t00[0].contains("FAILED") && t00[0].contains("CHANGED"),
        "{t00:?}"
    );
    assert!(t00[0].contains(&old) && t00[0].contains(&new), "{t00:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("t01 ") && l.contains("UNREACHABLE")),
        "{}",
        run.stdout
    );
    for i in 2..6 {
        assert_eq!(
            on_host(&fleet, i, "test -f /etc/seibi-test/app.conf && echo yes").trim(),
            "yes",
            "host {i}"
        );
    }
    assert!(seibi(&root, &["journal", "verify"], None).code == 0);
}

/// A job whose three tasks each take about a second and leave one line in /root/count.log; the
/// `creates:` guard makes a task that already ran report no change when queried again.
fn add_counting_job(root: &Path) {
    let mut tasks = String::new();
    for step in ["a", "b", "c"] {
        tasks.push_str(&format!(
            "  - name: Step {step}\n    id: {step}\n    command: {{ cmd: 'sleep 1; echo {step} >> /root/count.log; touch /root/{step}.done', creates: /root/{step}.done }}\n"
        ));
    }
    std::fs::write(
        root.join("playbooks/count.yml"),
        format!("id: count\ntitle: count\nkind: settings_change\nprovenance: {{ source: contract, reference: T-2 }}\nminutes_per_terminal: 1\ntargets: {{ tags: [lab] }}\ntasks:\n{tasks}"),
    )
    .expect("count job");
}

fn spawn_apply(root: &Path, fleet: &Fleet, dir: &Path, extra: &[&str]) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seibi"));
    cmd.args(["apply", "--key"])
        .arg(fleet.client_key())
        .arg("--identity")
        .arg(dir.join("identity.txt"))
        .args(["--progress", "plain"])
        .args([
            "--outside-window",
            "--unapproved",
            "--reason",
            "lab rehearsal",
        ])
        .args(extra)
        .current_dir(root)
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn seibi apply")
}

#[test]
fn killed_sshd_mid_run_fails_that_terminal_only() {
    if !lab_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = FleetSpec::new(4, dir.path().join("fleet"));
    spec.base_address = "127.0.52.1".parse().expect("address");
    let mut fleet = Fleet::start(spec).expect("fleet");
    let root = project(&fleet, dir.path(), 4, None);
    add_counting_job(&root);
    let child = spawn_apply(&root, &fleet, dir.path(), &["--job", "count"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    fleet.kill_host(3).expect("kill sshd of t03 mid-run");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    let t03: Vec<&str> = stdout.lines().filter(|l| l.starts_with("t03 ")).collect();
    // Its unit's intent is journaled and its command may have run: interrupted, not failed
    // (or unreachable, when the kill came before t03 connected).
    assert!(
        t03.iter()
            .any(|l| l.contains("INTERRUPTED") || l.contains("UNREACHABLE")),
        "t03 reports the lost connection: {t03:?}"
    );
    assert!(
        t03.iter().any(|l| l.contains("skipped")),
        "and skips what is left: {t03:?}"
    );
    for i in 0..3 {
        assert_eq!(
            on_host(&fleet, i, "cat /root/count.log"),
            "a\nb\nc\n",
            "host {i} finished"
        );
    }
}

#[test]
fn interrupted_run_resumes_and_applies_each_task_once() {
    if !lab_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = FleetSpec::new(3, dir.path().join("fleet"));
    spec.base_address = "127.0.53.1".parse().expect("address");
    let fleet = Fleet::start(spec).expect("fleet");
    let root = project(&fleet, dir.path(), 3, None);
    add_counting_job(&root);
    let mut child = spawn_apply(&root, &fleet, dir.path(), &["--job", "count"]);
    std::thread::sleep(std::time::Duration::from_millis(1700));
    // SIGKILL: no chance to finish the journal.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let logs: Vec<PathBuf> = std::fs::read_dir(root.join("logs"))
        .expect("logs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(logs.len(), 1);
    let run = logs[0]
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let before = std::fs::read_to_string(&logs[0]).expect("journal");
    assert!(
        before.contains("\"intent\""),
        "the run got going before the kill"
    );
    assert!(
        !before.contains("\"run_end\""),
        "the kill left the run unfinished"
    );

    let resumed = apply(
        &root,
        &fleet,
        dir.path(),
        &["--job", "count", "--resume", &run],
    );
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stdout.contains("done in the interrupted run"),
        "finished units are not run again: {}",
        resumed.stdout
    );
    for i in 0..3 {
        assert_eq!(
            on_host(&fleet, i, "cat /root/count.log"),
            "a\nb\nc\n",
            "host {i}: each task once"
        );
    }
    // The same chain goes on in the same file, and it verifies.
    let after: Vec<PathBuf> = std::fs::read_dir(root.join("logs"))
        .expect("logs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert_eq!(after.len(), 1, "{after:?}");
    let text = std::fs::read_to_string(&after[0]).expect("journal");
    assert!(
        text.starts_with(&before[..before.rfind('\n').map_or(0, |i| i + 1)]),
        "records are appended, not rewritten"
    );
    assert!(text.contains("\"run_end\""));
    let verify = seibi(
        &root,
        &["journal", "verify", after[0].to_str().expect("utf-8")],
        None,
    );
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
}

#[test]
fn a_protected_key_without_a_terminal_is_refused_with_what_to_do() {
    let project = common::overlay_project(None);
    let key = project.path().join("protected_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-C", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let run = seibi(
        project.path(),
        &[
            "apply",
            "--key",
            key.to_str().expect("utf-8"),
            "--unapproved",
            "--outside-window",
            "--reason",
            "test",
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("protected by a passphrase"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ssh-add"), "{}", run.stderr);
    assert!(
        !project.path().join("logs").exists(),
        "refused before any journal"
    );
}

/// Moves the test's clock one minute forward each time a unit ends.
struct MinutePerUnit(std::sync::Arc<seibi::run::ManualClock>);

impl seibi::report::Reporter for MinutePerUnit {
    fn start(&mut self, _plan: &seibi::plan::Plan, _check: bool) {}
    fn task_finished(
        &mut self,
        _site: &str,
        _terminal: &str,
        _task: &seibi::plan::PlannedTask,
        outcome: &seibi::action::TaskOutcome,
    ) {
        if outcome.status != seibi::action::Status::Skipped {
            self.0.advance(std::time::Duration::from_secs(60));
        }
    }
    fn terminal_finished(&mut self, _site: &str, _terminal: &str) {}
    fn message(&mut self, _text: &str) {}
    fn finish(&mut self, _summary: &seibi::run::RunSummary) {}
}

#[test]
fn apply_stops_at_closing_time_on_real_hosts() {
    use std::sync::Arc;
    if !lab_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = FleetSpec::new(2, dir.path().join("fleet"));
    spec.base_address = "127.0.54.1".parse().expect("address");
    let fleet = Fleet::start(spec).expect("fleet");
    let root = project(&fleet, dir.path(), 2, None);
    add_counting_job(&root);
    let (project, diags) = seibi::project::Project::load(seibi::project::ProjectPaths::new(&root));
    let project = project.unwrap_or_else(|| panic!("{diags}"));
    let request = seibi::plan::PlanRequest {
        jobs: vec!["count".into()],
        ..Default::default()
    };
    let plan = Arc::new(seibi::plan::build(&project, &request).unwrap_or_else(|d| panic!("{d}")));

    // Thursday 2026-10-01, 17:13 in Tokyo: two minutes before the offices close.
    let start: jiff::Timestamp = "2026-10-01T08:13:00Z".parse().expect("time");
    let clock = Arc::new(seibi::run::ManualClock::new(start));
    let calendars = seibi::schedule::Calendars::from_inventory(&project.inventory)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = seibi::run::ApplyOptions {
        window: Some(seibi::run::WindowPolicy::with_clock(
            calendars,
            clock.clone(),
        )),
        ..Default::default()
    };
    let known = seibi::transport::KnownHosts::load(fleet.known_hosts()).expect("known_hosts");
    let connector = seibi::run::SshConnector::new(seibi::run::SshSettings {
        credentials: seibi::transport::Credentials::key_file(fleet.client_key()),
        known_hosts: Arc::new(known),
        connect_timeout: std::time::Duration::from_secs(10),
        retries: 1,
        known_hosts_path: fleet.known_hosts().to_path_buf(),
        lease: None,
        key_dir: root.clone(),
        key_passphrases: Default::default(),
    });
    let env = seibi::action::ApplyEnv {
        project_root: root.clone(),
        collect_root: root.join("collected"),
        operator: "試験 操作員".into(),
        run_id: "window-run".into(),
        ..Default::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let summary = runtime.block_on(seibi::run::execute(
        plan,
        Arc::new(env),
        Arc::new(connector),
        &options,
        &mut MinutePerUnit(clock),
        None,
        &seibi::run::Resume::default(),
    ));
    // Both visits fit at 17:13 and start; each first step moves the clock a minute, so the
    // offices close (17:15) while one terminal runs its second step: that step finishes,
    // nothing else starts.
    let mut logs: Vec<String> = (0..2)
        .map(|i| on_host(&fleet, i, "cat /root/count.log 2>/dev/null"))
        .collect();
    logs.sort();
    assert_eq!(
        logs,
        ["a\n", "a\nb\n"],
        "the unit in progress at closing time finished, no more"
    );
    let paused = summary
        .paused
        .as_ref()
        .expect("the run paused for office hours");
    let message = paused.message();
    // No journal in this in-process run, so no run id to resume: it names the next window.
    assert!(
        message.contains("ended at 17:15") && message.contains("next window 2026-10-02 Fri 08:45"),
        "{message}"
    );
    assert_eq!(summary.exit_code(), 6, "{message}");
}
