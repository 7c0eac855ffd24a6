//! `become: sudo` on the real lab fleet: terminals where root cannot log in are worked on as an
//! administrator account that has NOPASSWD sudo, as in the city. A package install, files under
//! `/etc` and a password rotation all succeed and leave root-owned files; sudo's own log on the
//! host shows that every command ran as root and that no secret was ever on a command line.
//! Without `become` the same account fails with a message that says what to change; an account
//! without sudo rights fails at connect, before any task. A command left running under sudo by
//! an interrupted run is still seen by the resume logic, which reads other processes'
//! environments and so must itself run as root.
//!
//! Each test starts its own fleet in 127.0.70.x. They need root (the lab's namespaces and
//! overlays); without it each prints why and returns.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Output;
use common::lab::{
    apply_rehearsal, build_deb, lab_available, on_host, operator_and_secret, seibi, ssh_as,
};
use seibi::lab::{Fleet, FleetSpec, SUDO_LOG};

/// The account that logs in and may sudo (代理, "deputy").
const DEPUTY: &str = "deputy";
/// An account that logs in but may not sudo (事務, "clerk").
const CLERK: &str = "clerk";
/// The account whose password the rotation changes.
const ADMIN: &str = "admin";
/// The secret the settings template writes into a root-only file.
const TOKEN: &str = "tok-become-5d1e9b-never-print-me";

macro_rules! require_root {
    () => {
        if !lab_available() {
            return;
        }
    };
}

/// One host at `base` with `deputy` (sudo), `clerk` (no sudo) and `admin` (rotated).
fn fleet(dir: &Path, base: &str) -> Fleet {
    let mut spec = FleetSpec::new(1, dir.join("fleet"));
    spec.base_address = base.parse().expect("address");
    spec.accounts = vec![CLERK.into(), ADMIN.into()];
    spec.sudo_accounts = vec![DEPUTY.into()];
    Fleet::start(spec).expect("the fleet starts")
}

/// A project with one terminal on the fleet's host, logging in as `login` (the YAML of its
/// `defaults`, e.g. `{ user: deputy, become: sudo }`), and three jobs: a package, settings under
/// `/etc` (a directory, a template with a secret, a command) and the rotation of `admin`'s
/// password. A secrets store holds the token; the roster has the fleet's client key.
fn project(fleet: &Fleet, dir: &Path, defaults: &str) -> PathBuf {
    let root = dir.join("project");
    for d in ["inventory", "playbooks/templates", "playbooks/artifacts"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let host = &fleet.hosts()[0];
    std::fs::write(
        root.join("inventory/lab.yml"),
        format!(
            "defaults: {defaults}\nsites:\n  ward-a: {{ name: Ward A, capacity: 1 }}\nterminals:\n  t0: {{ site: ward-a, address: {}, port: {}, tags: [lab] }}\n",
            host.address(),
            host.port()
        ),
    )
    .expect("inventory");
    let (deb, sha) = build_deb(&root.join("playbooks/artifacts"), "seibi-become-app", "3.1");
    let deb_name = deb
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let job = common::lab::lab_job;
    let jobs = [
        (
            "update.yml",
            job(
                "update",
                "software_update",
                &format!(
                    "artifacts:\n  app: {{ path: artifacts/{deb_name}, sha256: {sha}, package: seibi-become-app, version: '3.1' }}\ntasks:\n  - name: Install the app\n    package: {{ artifact: app }}\n"
                ),
            ),
        ),
        (
            "settings.yml",
            job(
                "settings",
                "settings_change",
                "tasks:\n  - name: Settings directory\n    file: { path: /etc/seibi-become, state: directory, mode: '0755' }\n  - name: App settings\n    template: { src: templates/app.conf.j2, dest: /etc/seibi-become/app.conf, mode: '0600' }\n  - name: Who ran it\n    command: { cmd: 'id -u > /etc/seibi-become/ran-as; pwd >> /etc/seibi-become/ran-as', creates: /etc/seibi-become/ran-as }\n",
            ),
        ),
        (
            "rotate.yml",
            job(
                "rotate",
                "password_rotation",
                &format!(
                    "tasks:\n  - name: Rotate the admin password\n    password: {{ user: {ADMIN}, policy: {{ style: random, length: 20, keep: 3, max_age_days: 365 }} }}\n"
                ),
            ),
        ),
    ];
    for (file, text) in jobs {
        std::fs::write(root.join("playbooks").join(file), text).expect("job");
    }
    std::fs::write(
        root.join("playbooks/templates/app.conf.j2"),
        "# {{ terminal.id }}\ntoken = {{ secret('app_token') }}\n",
    )
    .expect("template");
    operator_and_secret(fleet, &root, &identity_path(dir), "app_token", TOKEN);
    root
}

fn identity_path(dir: &Path) -> PathBuf {
    dir.join("identity.txt")
}

fn apply(root: &Path, fleet: &Fleet, dir: &Path) -> Output {
    apply_rehearsal(root, fleet, &identity_path(dir), &[])
}

/// The unit lines of a plain-progress run for `status` (`changed`, `FAILED`, ...).
fn units<'a>(out: &'a str, status: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.starts_with("t0 ") && l.split_whitespace().nth(1) == Some(status))
        .collect()
}

/// The second field of `user`'s line in the host's `/etc/shadow`.
fn shadow_hash(fleet: &Fleet, user: &str) -> String {
    on_host(fleet, 0, &format!("getent shadow {user} | cut -d: -f2"))
        .trim()
        .to_string()
}

#[test]
fn become_sudo_installs_writes_and_rotates_as_root_with_no_secret_on_a_command_line() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), "127.0.70.1");
    let root = project(&fleet, dir.path(), "{ user: deputy, become: sudo }");
    assert_eq!(
        on_host(
            &fleet,
            0,
            "test -e /home/deputy/.ssh/authorized_keys && echo yes"
        )
        .trim(),
        "yes",
        "deputy logs in with the fleet's key"
    );
    assert_eq!(shadow_hash(&fleet, ADMIN), "*");

    let plan = seibi(&root, &["plan", "--verbose"], None);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(&format!(
            "  t0 deputy@{}:22 (sudo) linux\n",
            fleet.hosts()[0].address()
        )),
        "{}",
        plan.stdout
    );

    let first = apply(&root, &fleet, dir.path());
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(units(&first.stdout, "changed").len(), 5, "{}", first.stdout);

    // Everything was done as root: the package, the files, the command.
    assert_eq!(
        on_host(&fleet, 0, "dpkg-query -W -f='${Version}' seibi-become-app"),
        "3.1"
    );
    assert_eq!(
        on_host(
            &fleet,
            0,
            "stat -c '%U:%G %a %n' /etc/seibi-become /etc/seibi-become/app.conf /etc/seibi-become/ran-as /opt/seibi-become-app/VERSION"
        ),
        "root:root 755 /etc/seibi-become\nroot:root 600 /etc/seibi-become/app.conf\nroot:root 644 /etc/seibi-become/ran-as\nroot:root 644 /opt/seibi-become-app/VERSION\n"
    );
    assert_eq!(
        on_host(&fleet, 0, "cat /etc/seibi-become/ran-as"),
        "0\n/root\n",
        "a command runs as root, in root's home, as a root login would"
    );
    assert!(
        on_host(&fleet, 0, "cat /etc/seibi-become/app.conf").contains(TOKEN),
        "the secret reaches the file"
    );
    let hash = shadow_hash(&fleet, ADMIN);
    assert!(
        hash.starts_with("$6$"),
        "admin's password was rotated: {hash}"
    );

    // The store knows the new password; its value and hash are nowhere they should not be.
    let store = seibi::secrets::PasswordStore::open(&root.join("secrets")).expect("store");
    let account = seibi::secrets::Account::new("t0", ADMIN).expect("account");
    let current = store
        .state(&account)
        .expect("state")
        .current
        .expect("a current password");
    let identity =
        seibi::secrets::Identity::from_file(&identity_path(dir.path())).expect("identity");
    let password = store
        .value(&account, current.version, &identity)
        .expect("the value decrypts");

    // sudo logged the command line it ran (never stdin): the visit's command shell, once for
    // the connection, as root, for deputy; every command of the visit ran inside it (the
    // journal, not sudo's log, is the record of each). No value, hash or token in it.
    let log = on_host(&fleet, 0, &format!("cat {SUDO_LOG}"));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "one sudo for the whole visit: {log}");
    for line in &lines {
        assert!(
            line.contains(&format!(" : {DEPUTY} : ")) && line.contains("USER=root ; COMMAND="),
            "{line}"
        );
        assert!(
            line.contains("COMMAND=/usr/bin/sh -c"),
            "the command shell: {line}"
        );
    }
    for secret in [password.expose().as_str(), hash.as_str(), TOKEN] {
        assert!(!log.contains(secret), "a secret on a command line:\n{log}");
        for out in [&first.stdout, &first.stderr] {
            assert!(!out.contains(secret), "a secret in the output:\n{out}");
        }
    }
    for journal in std::fs::read_dir(root.join("logs")).expect("logs") {
        let text = std::fs::read_to_string(journal.expect("entry").path()).expect("journal");
        for secret in [password.expose().as_str(), hash.as_str(), TOKEN] {
            assert!(!text.contains(secret), "a secret in the journal");
        }
    }

    // The second run reads everything back as root (the shadow entry included) and changes
    // nothing.
    let second = apply(&root, &fleet, dir.path());
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(units(&second.stdout, "changed"), Vec::<&str>::new());
    assert_eq!(units(&second.stdout, "ok").len(), 5, "{}", second.stdout);
    assert_eq!(shadow_hash(&fleet, ADMIN), hash);
    fleet.stop().expect("the fleet stops");
}

#[test]
fn without_become_the_same_account_is_told_to_become_root_and_nothing_changes() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), "127.0.70.11");
    let root = project(&fleet, dir.path(), "{ user: deputy }");
    let run = apply(&root, &fleet, dir.path());
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let failed = units(&run.stdout, "FAILED");
    let line = |key: &str| {
        failed
            .iter()
            .find(|l| {
                l.split_whitespace()
                    .nth(2)
                    .is_some_and(|k| k.starts_with(key))
            })
            .unwrap_or_else(|| panic!("no failed {key} in {}", run.stdout))
            .to_string()
    };
    let hint = "hint: `deputy` is not root and terminal `t0` has no `become`: set `become: sudo`";
    let install = line("update/");
    assert!(install.contains("superuser"), "{install}");
    assert!(install.contains(hint), "{install}");
    let directory = line("settings/");
    assert!(directory.contains("Permission denied"), "{directory}");
    assert!(directory.contains(hint), "{directory}");
    let rotation = line("rotate/");
    assert!(
        rotation.contains("reading /etc/shadow needs root")
            && rotation.contains("set `become: sudo` for the terminal"),
        "{rotation}"
    );
    assert!(
        on_host(&fleet, 0, "dpkg-query -W seibi-become-app 2>&1").contains("no packages found")
    );
    assert_eq!(
        on_host(
            &fleet,
            0,
            "test -e /etc/seibi-become && echo yes || echo no"
        )
        .trim(),
        "no"
    );
    assert_eq!(shadow_hash(&fleet, ADMIN), "*");
    assert_eq!(
        on_host(&fleet, 0, &format!("cat {SUDO_LOG} 2>/dev/null")),
        "",
        "nothing went through sudo"
    );
    fleet.stop().expect("the fleet stops");
}

#[test]
fn an_account_without_sudo_rights_fails_at_connect_with_what_to_do() {
    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), "127.0.70.21");
    // clerk logs in (the same key as deputy) but has no sudoers rule.
    let whoami = ssh_as(&fleet, 0, CLERK, "id -un");
    assert_eq!(whoami.stdout.trim(), CLERK, "{}", whoami.stderr);
    let root = project(&fleet, dir.path(), "{ user: clerk, become: sudo }");
    let started = Instant::now();
    let run = apply(&root, &fleet, dir.path());
    assert_eq!(
        run.code, 4,
        "a failure, not unreachable\n{}\n{}",
        run.stdout, run.stderr
    );
    let failed = units(&run.stdout, "FAILED");
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    let address = fleet.hosts()[0].address();
    for part in [
        format!(
            "cannot become root on t0 ({address}:22): `clerk` may not use sudo without a password"
        ),
        "a password is required".to_string(),
        "allow NOPASSWD sudo for `clerk` on this terminal".to_string(),
        "or log in as root".to_string(),
    ] {
        assert!(
            failed[0].contains(&part),
            "`{part}` missing from {}",
            failed[0]
        );
    }
    assert_eq!(
        units(&run.stdout, "skipped").len(),
        4,
        "no task ran: {}",
        run.stdout
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused at once, not retried"
    );
    assert_eq!(
        on_host(
            &fleet,
            0,
            "test -e /etc/seibi-become && echo yes || echo no"
        )
        .trim(),
        "no"
    );
    let log = on_host(&fleet, 0, &format!("cat {SUDO_LOG}"));
    assert_eq!(
        log.lines().count(),
        1,
        "one refused start of the command shell, as sudo recorded it: {log}"
    );
    assert!(
        log.contains(" : clerk : a password is required ; ")
            && log.contains("COMMAND=/usr/bin/sh -c"),
        "{log}"
    );
    fleet.stop().expect("the fleet stops");
}

/// A `command` task as an interrupted run leaves it: started under sudo, still running after
/// its controller went away. The resume logic's wait, run under sudo too, sees it by the
/// `SEIBI_UNIT` in its environment and waits for it; run as the login user it could not read
/// root's processes and would not wait.
#[test]
fn a_command_left_running_under_sudo_is_waited_for_on_resume() {
    use seibi::action::{ActionContext, ApplyEnv, Status, run_task};
    use seibi::inventory::{Become, Platform};
    use seibi::plan::{PlannedTask, PlannedTerminal};
    use seibi::transport::{ConnectSpec, Credentials, KnownHosts, SshTransport, Sudo};

    require_root!();
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = fleet(dir.path(), "127.0.70.31");
    let host = fleet.hosts()[0].clone();
    let known = Arc::new(KnownHosts::load(fleet.known_hosts()).expect("known_hosts"));
    let credentials = Credentials::key_file(fleet.client_key());
    let spec = ConnectSpec::new("t0", host.address().to_string(), DEPUTY).with_port(host.port());
    let task = PlannedTask {
        key: "slow/step".to_string(),
        job: "slow".to_string(),
        task: "step".to_string(),
        name: "a slow step".to_string(),
        action: "command".to_string(),
        args: serde_json::json!({ "cmd": "sleep 3; touch /etc/seibi-slow.done" }),
        needs: vec![],
        notify: vec![],
        handler: false,
        skip: None,
    };
    let terminal = PlannedTerminal {
        id: "t0".to_string(),
        address: host.address().to_string(),
        port: host.port(),
        user: DEPUTY.to_string(),
        become_method: Become::Sudo,
        platform: Platform::Linux,
        key_file: None,
        jobs: vec!["slow".to_string()],
        tasks: vec![task.clone()],
        estimated_minutes: 1,
    };
    let env = ApplyEnv {
        run_id: "run-interrupted".to_string(),
        ..ApplyEnv::default()
    };
    let tag = "run-interrupted/t0/slow/step";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let connect = || async {
            let ssh = SshTransport::connect(&spec, &credentials, known.clone())
                .await
                .expect("deputy logs in");
            Sudo::checked(ssh, &spec).await.expect("deputy may sudo")
        };
        let interrupted = connect().await;
        let unit = async {
            let ctx = ActionContext {
                transport: &interrupted,
                terminal: &terminal,
                task: &task,
                env: &env,
            };
            run_task(&ctx, false).await
        };
        let waits = async {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            // The login user alone cannot see root's processes: it would not wait.
            let plain = SshTransport::connect(&spec, &credentials, known.clone())
                .await
                .expect("deputy logs in");
            let as_deputy = wait_and_look(&plain, tag).await;
            // Under sudo, the wait lasts until the command is done.
            let as_root = wait_and_look(&connect().await, tag).await;
            (as_deputy, as_root)
        };
        let (outcome, (as_deputy, as_root)) = tokio::join!(unit, waits);
        assert_eq!(outcome.status, Status::Changed, "{:?}", outcome.error);
        assert!(as_deputy.0.success(), "{}", as_deputy.0.stderr_text());
        assert!(
            !as_deputy.2,
            "the deputy's wait returned while the command still ran"
        );
        assert!(as_root.0.success(), "{}", as_root.0.stderr_text());
        assert!(
            as_root.2,
            "the wait under sudo ended only once the command had"
        );
        assert!(as_root.1 >= Duration::from_millis(1000), "{:?}", as_root.1);
    });
    fleet.stop().expect("the fleet stops");
}

/// Runs the resume logic's wait for the unit `tag` on `transport`: its result, how long it
/// took, and whether the slow command of the test was done when it returned.
async fn wait_and_look(
    transport: &dyn seibi::transport::Transport,
    tag: &str,
) -> (seibi::transport::ExecOutput, Duration, bool) {
    let started = Instant::now();
    let waited = transport
        .exec(&seibi::action::command::wait_for_unit_script(tag, 20), None)
        .await
        .expect("exec");
    let took = started.elapsed();
    let done = transport
        .exec("test -e /etc/seibi-slow.done", None)
        .await
        .expect("exec");
    (waited, took, done.success())
}
