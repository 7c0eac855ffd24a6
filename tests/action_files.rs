//! The `command`, `file` and `template` actions against real OpenSSH lab hosts: guards, stdin
//! with secrets, chdir and env, failures; files created, updated, backed up, re-moded,
//! re-owned, removed; directories; diffs with secrets redacted; check mode changing nothing;
//! and every second run reporting no change.
//!
//! One fleet of three hosts (127.0.20.1-3) serves the whole file: commands run on host 1,
//! `file` on host 2, `template` and diffs on host 3 (those two through the command shell, as
//! `seibi apply` sends them), as concurrent cases of one test, so that a
//! case only sees its own host's `/etc`, `/opt` and `/root`. Needs root (the lab fleet does);
//! without it the test says why and returns.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use common::lab::lab_available;
use seibi::action::{ActionContext, ApplyEnv, Status, TaskOutcome, run_task};
use seibi::lab::{Fleet, FleetSpec};
use seibi::plan::{PlannedTask, PlannedTerminal};
use seibi::secrets::Secret;
use seibi::transport::{
    CommandShell, ConnectSpec, Credentials, KnownHosts, SshTransport, Transport,
};
use serde_json::{Value, json};
use sha2::Digest as _;

/// One connected lab host.
struct Host {
    ssh: Box<dyn Transport>,
    terminal: PlannedTerminal,
}

impl Host {
    async fn connect(fleet: &Fleet, known_hosts: Arc<KnownHosts>, index: usize) -> Host {
        let lab = &fleet.hosts()[index];
        let spec = ConnectSpec::new(lab.name(), lab.address().to_string(), "root")
            .with_port(lab.port())
            .with_connect_timeout(Duration::from_secs(10))
            .with_retries(2, Duration::from_millis(200));
        let ssh = SshTransport::connect(
            &spec,
            &Credentials::key_file(fleet.client_key()),
            known_hosts,
        )
        .await
        .expect("connects to the lab host");
        // Commands (host 1) run on a session channel each; `file` and `template` (hosts 2 and
        // 3) through the command shell, as `seibi apply` runs them: both paths stay covered.
        let ssh: Box<dyn Transport> = if index == 0 {
            Box::new(ssh)
        } else {
            Box::new(
                CommandShell::start(ssh, false)
                    .await
                    .map_err(|e| e.reason)
                    .expect("the command shell starts"),
            )
        };
        let terminal: PlannedTerminal = serde_json::from_value(json!({
            "id": lab.name(),
            "address": lab.address().to_string(),
            "port": lab.port(),
            "user": "root",
            "platform": "linux",
            "jobs": ["test-job"],
            "tasks": [],
            "estimated_minutes": 1,
        }))
        .expect("a planned terminal");
        Host { ssh, terminal }
    }

    /// Runs one task of `action` with `args` (as the planner renders them).
    async fn run(&self, env: &ApplyEnv, action: &str, args: Value, check: bool) -> TaskOutcome {
        let task: PlannedTask = serde_json::from_value(json!({
            "key": format!("test-job/{action}"),
            "job": "test-job",
            "task": action,
            "name": format!("a {action} task"),
            "action": action,
            "args": args,
            "needs": [],
            "notify": [],
            "handler": false,
            "skip": null,
        }))
        .expect("a planned task");
        let ctx = ActionContext {
            transport: self.ssh.as_ref(),
            terminal: &self.terminal,
            task: &task,
            env,
        };
        run_task(&ctx, check).await
    }

    /// Runs `command` on the host (for checking effects) and returns its stdout.
    async fn sh(&self, command: &str) -> String {
        let out = self.ssh.exec(command, None).await.expect("exec");
        assert!(
            out.success(),
            "`{command}` failed ({}): {}",
            out.exit_status,
            out.stderr_text()
        );
        out.stdout_text()
    }

    /// Whether `command` succeeds on the host.
    async fn ok(&self, command: &str) -> bool {
        self.ssh.exec(command, None).await.expect("exec").success()
    }
}

fn env(run_id: &str, secrets: &[(&str, &str)]) -> ApplyEnv {
    ApplyEnv {
        run_id: run_id.to_string(),
        operator: "tester".to_string(),
        secrets: secrets
            .iter()
            .map(|(name, value)| (name.to_string(), Arc::new(Secret::new(value.to_string()))))
            .collect::<BTreeMap<_, _>>(),
        ..ApplyEnv::default()
    }
}

#[track_caller]
fn assert_status(outcome: &TaskOutcome, status: Status) {
    assert_eq!(outcome.status, status, "{outcome:#?}");
}

fn error(outcome: &TaskOutcome) -> &str {
    assert_status(outcome, Status::Failed);
    outcome
        .error
        .as_deref()
        .expect("a failed outcome has an error")
}

fn diff(outcome: &TaskOutcome) -> &str {
    outcome
        .query
        .as_ref()
        .and_then(|q| q.diff.as_deref())
        .unwrap_or_else(|| panic!("a diff in {outcome:#?}"))
}

/// Everything an outcome shows people, to check that no secret leaks into it.
fn shown(outcome: &TaskOutcome) -> String {
    format!(
        "{} {:?} {:?}",
        outcome.summary,
        outcome.error,
        outcome.query.as_ref().map(|q| (&q.summary, &q.diff))
    )
}

const PASSWORD: &str = "Kasumigaseki-7-secret";
const NEW_PASSWORD: &str = "Otemachi-9-secret";

async fn command_guards(h: Arc<Host>) {
    let e = env("run-1", &[]);

    // `creates`: runs once, then the path exists.
    let args =
        json!({"cmd": "echo ran >> /root/count; touch /root/marker", "creates": "/root/marker"});
    let check = h.run(&e, "command", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert_eq!(
        check.summary,
        "run `echo ran >> /root/count; touch /root/marker`"
    );
    assert!(
        !h.ok("test -e /root/count").await,
        "check mode ran the command"
    );
    assert_status(
        &h.run(&e, "command", args.clone(), false).await,
        Status::Changed,
    );
    let second = h.run(&e, "command", args, false).await;
    assert_status(&second, Status::Ok);
    assert_eq!(second.summary, "`/root/marker` exists");
    assert_eq!(h.sh("cat /root/count").await, "ran\n");

    // `unless`: runs until the probe succeeds.
    let args = json!({"cmd": "echo done >> /root/state", "unless": "grep -q done /root/state"});
    assert_status(
        &h.run(&e, "command", args.clone(), false).await,
        Status::Changed,
    );
    let second = h.run(&e, "command", args, false).await;
    assert_status(&second, Status::Ok);
    assert_eq!(second.summary, "`grep -q done /root/state` succeeded");
    assert_eq!(h.sh("cat /root/state").await, "done\n");

    // `chdir` applies to a relative `creates` too.
    h.sh("mkdir -p /opt/work").await;
    let args = json!({"cmd": "touch built", "chdir": "/opt/work", "creates": "built"});
    assert_status(
        &h.run(&e, "command", args.clone(), false).await,
        Status::Changed,
    );
    assert!(h.ok("test -f /opt/work/built").await);
    assert_status(&h.run(&e, "command", args, false).await, Status::Ok);

    // Without guards a command always runs, like Ansible.
    let args = json!({"cmd": "echo x >> /root/always"});
    assert_status(
        &h.run(&e, "command", args.clone(), false).await,
        Status::Changed,
    );
    assert_status(&h.run(&e, "command", args, false).await, Status::Changed);
    assert_eq!(h.sh("cat /root/always").await, "x\nx\n");
}

async fn command_stdin_env_and_failures(h: Arc<Host>) {
    let e = env("run-1", &[("root-password", PASSWORD)]);

    // stdin carries the secret, revealed only on the way to the terminal.
    let args = json!({
        "cmd": "cat > /root/received && echo received",
        "stdin": "root:[[secret:root-password]]\n",
    });
    let check = h.run(&e, "command", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert!(
        !h.ok("test -e /root/received").await,
        "check mode ran the command"
    );
    let outcome = h.run(&e, "command", args, false).await;
    assert_status(&outcome, Status::Changed);
    assert_eq!(
        h.sh("cat /root/received").await,
        format!("root:{PASSWORD}\n")
    );
    let (stdout_sha, stdout_len) = outcome.stdout.clone().expect("stdout digest");
    assert_eq!(stdout_len, "received\n".len());
    assert_eq!(stdout_sha, hex::encode(sha2::Sha256::digest(b"received\n")));
    assert!(!shown(&outcome).contains(PASSWORD), "{outcome:#?}");

    // A command echoing its secret stdin to stderr and failing: the error shows the placeholder.
    let args =
        json!({"cmd": "cat >&2; echo after >&2; exit 7", "stdin": "[[secret:root-password]]\n"});
    let failed = h.run(&e, "command", args, false).await;
    let message = error(&failed);
    assert!(message.contains("exited with status 7"), "{message}");
    assert!(
        message.contains("[[secret:root-password]]\nafter"),
        "{message}"
    );
    assert!(!shown(&failed).contains(PASSWORD), "{failed:#?}");

    // A secret on the command line is refused, in check mode too, and nothing runs.
    let args = json!({"cmd": "echo [[secret:root-password]] > /root/leak"});
    for check in [true, false] {
        let refused = h.run(&e, "command", args.clone(), check).await;
        let message = error(&refused);
        assert!(
            message.contains("`cmd`") && message.contains("stdin"),
            "{message}"
        );
    }
    let args = json!({"cmd": "true", "env": {"PW": "[[secret:root-password]]"}});
    assert!(error(&h.run(&e, "command", args, false).await).contains("`env.PW`"));
    assert!(!h.ok("test -e /root/leak").await);

    // chdir and env, values quoted.
    let args = json!({
        "cmd": "pwd > /root/env-out; printf '%s|%s\\n' \"$GREETING\" \"$EMPTY\" >> /root/env-out",
        "chdir": "/opt",
        "env": {"GREETING": "hello 'world' $HOME", "EMPTY": ""},
    });
    assert_status(&h.run(&e, "command", args, false).await, Status::Changed);
    assert_eq!(
        h.sh("cat /root/env-out").await,
        "/opt\nhello 'world' $HOME|\n"
    );

    // Failure: exit status and the stderr tail; a missing chdir fails before the command runs.
    let failed = h
        .run(
            &e,
            "command",
            json!({"cmd": "echo oops >&2; exit 3"}),
            false,
        )
        .await;
    let message = error(&failed);
    assert!(message.contains("exited with status 3: oops"), "{message}");
    assert!(
        failed.stderr.is_some(),
        "the failed command's stderr digest is kept"
    );
    let args = json!({"cmd": "touch /root/should-not", "chdir": "/nonexistent-dir"});
    let message = error(&h.run(&e, "command", args, false).await).to_string();
    assert!(message.contains("/nonexistent-dir"), "{message}");
    assert!(!h.ok("test -e /root/should-not").await);
}

async fn files(h: Arc<Host>) {
    let e = env("run-1", &[]);
    let dir = "/etc/seibi-test";
    let path = "/etc/seibi-test/app.conf";

    // A file whose directory is missing: the dry run notes it, applying fails clearly.
    let args = json!({"path": path, "content": "a=1\n", "mode": "0640"});
    let check = h.run(&e, "file", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert!(
        check.summary.contains("/etc/seibi-test does not exist yet"),
        "{}",
        check.summary
    );
    let message = error(&h.run(&e, "file", args.clone(), false).await).to_string();
    assert!(
        message.contains("its directory /etc/seibi-test does not exist"),
        "{message}"
    );
    assert!(message.contains("state: directory"), "{message}");
    assert!(!h.ok(&format!("test -e {dir}")).await);

    // A directory (parents included), with mode and owner; check mode first.
    let dir_args = json!({"path": dir, "state": "directory", "mode": "0750", "owner": "daemon"});
    assert_status(
        &h.run(&e, "file", dir_args.clone(), true).await,
        Status::Changed,
    );
    assert!(
        !h.ok(&format!("test -e {dir}")).await,
        "check mode made the directory"
    );
    let made = h.run(&e, "file", dir_args.clone(), false).await;
    assert_status(&made, Status::Changed);
    assert_eq!(made.summary, "create directory (mode 0750, owner daemon)");
    assert_eq!(
        h.sh(&format!("stat -c '%F %a %U' {dir}")).await,
        "directory 750 daemon\n"
    );
    assert_status(&h.run(&e, "file", dir_args, false).await, Status::Ok);
    let nested = json!({"path": "/opt/a/b/c", "state": "directory"});
    assert_status(
        &h.run(&e, "file", nested.clone(), false).await,
        Status::Changed,
    );
    assert_status(&h.run(&e, "file", nested, false).await, Status::Ok);

    // Create with mode, owner and group.
    let args = json!({"path": path, "content": "a=1\n", "mode": "0640", "owner": "daemon", "group": "daemon"});
    let created = h.run(&e, "file", args.clone(), false).await;
    assert_status(&created, Status::Changed);
    assert_eq!(
        created.summary,
        "create (4 bytes, mode 0640, owner daemon, group daemon)"
    );
    assert_eq!(h.sh(&format!("cat {path}")).await, "a=1\n");
    assert_eq!(
        h.sh(&format!("stat -c '%a %U %G' {path}")).await,
        "640 daemon daemon\n"
    );
    assert_status(&h.run(&e, "file", args, false).await, Status::Ok);

    // New content without owner or mode asked for: they stay as they were; the old file is
    // kept as a backup; check mode first shows the diff and changes nothing.
    let args = json!({"path": path, "content": "a=2\n"});
    let check = h.run(&e, "file", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert_eq!(check.summary, "content");
    assert_eq!(
        diff(&check),
        "--- /etc/seibi-test/app.conf (terminal)\n+++ /etc/seibi-test/app.conf (plan)\n@@ -1 +1 @@\n-a=1\n+a=2\n"
    );
    assert_eq!(
        h.sh(&format!("cat {path}")).await,
        "a=1\n",
        "check mode wrote"
    );
    let updated = h.run(&e, "file", args.clone(), false).await;
    assert_status(&updated, Status::Changed);
    let backup = format!("{path}.seibi-run-1.bak");
    assert_eq!(
        updated.summary,
        format!("content (old file kept as {backup})")
    );
    assert_eq!(h.sh(&format!("cat {path}")).await, "a=2\n");
    assert_eq!(h.sh(&format!("cat {backup}")).await, "a=1\n");
    assert_eq!(
        h.sh(&format!("stat -c '%a %U %G' {path} {backup}")).await,
        "640 daemon daemon\n640 daemon daemon\n"
    );
    assert_status(&h.run(&e, "file", args, false).await, Status::Ok);

    // Mode and owner changes alone; "644" means the same as "0644".
    let args = json!({"path": path, "content": "a=2\n", "mode": "644", "owner": "nobody", "group": "nogroup"});
    let changed = h.run(&e, "file", args.clone(), false).await;
    assert_status(&changed, Status::Changed);
    assert_eq!(
        changed.summary,
        "mode 0640 -> 0644, owner daemon -> nobody, group daemon -> nogroup"
    );
    assert_eq!(
        h.sh(&format!("stat -c '%a %U %G' {path}")).await,
        "644 nobody nogroup\n"
    );
    let args = json!({"path": path, "content": "a=2\n", "mode": "0644", "owner": "nobody", "group": "nogroup"});
    assert_status(&h.run(&e, "file", args, false).await, Status::Ok);

    // Set-id bits survive a content change (chown runs before chmod).
    let args =
        json!({"path": "/opt/tool", "content": "#!/bin/sh\n", "mode": "4755", "owner": "daemon"});
    assert_status(&h.run(&e, "file", args, false).await, Status::Changed);
    let args = json!({"path": "/opt/tool", "content": "#!/bin/sh\nexit 0\n", "mode": "04755", "owner": "daemon"});
    assert_status(
        &h.run(&e, "file", args.clone(), false).await,
        Status::Changed,
    );
    assert_eq!(h.sh("stat -c '%a %U' /opt/tool").await, "4755 daemon\n");
    assert_status(&h.run(&e, "file", args, false).await, Status::Ok);
    let args = json!({"path": "/opt/tool", "content": "#!/bin/sh\nexit 0\n", "owner": "nobody"});
    assert_status(&h.run(&e, "file", args, false).await, Status::Changed);
    assert_eq!(h.sh("stat -c '%a %U' /opt/tool").await, "4755 nobody\n");

    // Errors: a user that does not exist, a directory where a file should be, a symlink.
    let args = json!({"path": path, "content": "a=2\n", "owner": "no-such-user"});
    let message = error(&h.run(&e, "file", args, true).await).to_string();
    assert!(
        message.contains("user `no-such-user` does not exist on the terminal"),
        "{message}"
    );
    let message = error(
        &h.run(&e, "file", json!({"path": dir, "content": "x"}), false)
            .await,
    )
    .to_string();
    assert!(
        message.contains("is a directory on the terminal, not a regular file"),
        "{message}"
    );
    h.sh("ln -s /etc/hostname /etc/seibi-link").await;
    let message = error(
        &h.run(
            &e,
            "file",
            json!({"path": "/etc/seibi-link", "content": "x"}),
            false,
        )
        .await,
    )
    .to_string();
    assert!(message.contains("is a symbolic link"), "{message}");
    assert!(h.ok("test -L /etc/seibi-link").await);

    // Absent: with a backup, the file is moved aside; then it stays absent.
    let e2 = env("run-2", &[]);
    let args = json!({"path": path, "state": "absent"});
    assert_status(
        &h.run(&e2, "file", args.clone(), true).await,
        Status::Changed,
    );
    assert!(
        h.ok(&format!("test -f {path}")).await,
        "check mode removed the file"
    );
    let removed = h.run(&e2, "file", args.clone(), false).await;
    assert_status(&removed, Status::Changed);
    let backup2 = format!("{path}.seibi-run-2.bak");
    assert_eq!(
        removed.summary,
        format!("remove the file (kept as {backup2})")
    );
    assert!(!h.ok(&format!("test -e {path}")).await);
    assert_eq!(h.sh(&format!("cat {backup2}")).await, "a=2\n");
    let again = h.run(&e2, "file", args, false).await;
    assert_status(&again, Status::Ok);
    assert_eq!(again.summary, "absent");

    // Absent without a backup: a directory goes with everything in it; a link goes, its target stays.
    let args = json!({"path": dir, "state": "absent", "backup": false});
    assert_status(
        &h.run(&e2, "file", args.clone(), false).await,
        Status::Changed,
    );
    assert!(!h.ok(&format!("test -e {dir}")).await);
    assert_status(&h.run(&e2, "file", args, false).await, Status::Ok);
    let args = json!({"path": "/etc/seibi-link", "state": "absent", "backup": false});
    assert_status(&h.run(&e2, "file", args, false).await, Status::Changed);
    assert!(!h.ok("test -L /etc/seibi-link").await && h.ok("test -f /etc/hostname").await);
}

async fn secrets_in_files_and_templates(h: Arc<Host>) {
    let path = "/etc/seibi-db.conf";
    let planned = "user=admin\npassword=[[secret:db]]\n";
    let e = env("run-1", &[("db", PASSWORD)]);

    // Check mode on a new file: the diff shows the placeholder, never the value.
    let args = json!({"path": path, "content": planned, "mode": "0600"});
    let check = h.run(&e, "file", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert_eq!(
        diff(&check),
        "--- /etc/seibi-db.conf (terminal)\n+++ /etc/seibi-db.conf (plan)\n@@ -0,0 +1,2 @@\n+user=admin\n+password=[[secret:db]]\n"
    );
    assert!(!h.ok(&format!("test -e {path}")).await, "check mode wrote");
    let written = h.run(&e, "file", args.clone(), false).await;
    assert_status(&written, Status::Changed);
    assert_eq!(
        h.sh(&format!("cat {path}")).await,
        format!("user=admin\npassword={PASSWORD}\n")
    );
    assert_status(&h.run(&e, "file", args, false).await, Status::Ok);

    // A rotated secret: the terminal still has the old value, which neither side may show.
    let rotated = env("run-2", &[("db", NEW_PASSWORD)]);
    let args =
        json!({"path": path, "content": "user=root\npassword=[[secret:db]]\n", "mode": "0600"});
    let check = h.run(&rotated, "file", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert_eq!(
        diff(&check),
        "--- /etc/seibi-db.conf (terminal)\n+++ /etc/seibi-db.conf (plan)\n@@ -1,2 +1,2 @@\n-user=admin\n-password=[[secret:db (other value)]]\n+user=root\n+password=[[secret:db]]\n"
    );
    let text = shown(&check);
    assert!(
        !text.contains(PASSWORD) && !text.contains(NEW_PASSWORD),
        "{text}"
    );
    let applied = h.run(&rotated, "file", args, false).await;
    assert_status(&applied, Status::Changed);
    assert_eq!(
        h.sh(&format!("cat {path}")).await,
        format!("user=root\npassword={NEW_PASSWORD}\n")
    );
    assert_eq!(
        h.sh(&format!("cat {path}.seibi-run-2.bak")).await,
        format!("user=admin\npassword={PASSWORD}\n")
    );

    // A template: the rendered text with its digest, placed like a file.
    let content = "Welcome to {{ site }}\nkey=[[secret:db]]\n".replace("{{ site }}", "chuo-ward");
    let template = |content: &str, sha: String| {
        json!({
            "src": "templates/motd.j2",
            "dest": "/etc/motd-seibi",
            "mode": "0644",
            "owner": "daemon",
            "content": content,
            "content_sha256": sha,
        })
    };
    let sha = hex::encode(sha2::Sha256::digest(content.as_bytes()));
    let args = template(&content, sha.clone());
    let check = h.run(&rotated, "template", args.clone(), true).await;
    assert_status(&check, Status::Changed);
    assert!(
        diff(&check).contains("+key=[[secret:db]]\n"),
        "{}",
        diff(&check)
    );
    assert!(!h.ok("test -e /etc/motd-seibi").await, "check mode wrote");
    let made = h.run(&rotated, "template", args.clone(), false).await;
    assert_status(&made, Status::Changed);
    assert_eq!(made.summary, "create (43 bytes, mode 0644, owner daemon)");
    assert_eq!(
        h.sh("cat /etc/motd-seibi").await,
        format!("Welcome to chuo-ward\nkey={NEW_PASSWORD}\n")
    );
    assert_eq!(
        h.sh("stat -c '%a %U' /etc/motd-seibi").await,
        "644 daemon\n"
    );
    assert_status(&h.run(&rotated, "template", args, false).await, Status::Ok);

    // New rendered text: a diff in check mode, then the update with a backup.
    let content2 = content.replace("chuo-ward", "kita-ward");
    let args = template(
        &content2,
        hex::encode(sha2::Sha256::digest(content2.as_bytes())),
    );
    let check = h.run(&rotated, "template", args.clone(), true).await;
    assert!(
        diff(&check).contains("-Welcome to chuo-ward\n+Welcome to kita-ward\n"),
        "{}",
        diff(&check)
    );
    assert_status(
        &h.run(&rotated, "template", args.clone(), false).await,
        Status::Changed,
    );
    assert_eq!(
        h.sh("head -n 1 /etc/motd-seibi").await,
        "Welcome to kita-ward\n"
    );
    assert_eq!(
        h.sh("head -n 1 /etc/motd-seibi.seibi-run-2.bak").await,
        "Welcome to chuo-ward\n"
    );
    assert_status(&h.run(&rotated, "template", args, false).await, Status::Ok);

    // Content that does not match the plan's digest is refused.
    let message = error(
        &h.run(&rotated, "template", template("tampered\n", sha), false)
            .await,
    )
    .to_string();
    assert!(message.contains("make the plan again"), "{message}");
    assert_eq!(
        h.sh("head -n 1 /etc/motd-seibi").await,
        "Welcome to kita-ward\n"
    );
}

type Case = fn(Arc<Host>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_file_and_template_on_lab_hosts() {
    if !lab_available() {
        return;
    }
    let state = tempfile::Builder::new()
        .prefix("seibi-act-files-")
        .tempdir()
        .expect("a temporary state directory");
    let mut spec = FleetSpec::new(4, state.path());
    spec.base_address = Ipv4Addr::new(127, 0, 20, 1);
    let fleet = tokio::task::spawn_blocking(move || Fleet::start(spec))
        .await
        .expect("the fleet start does not panic")
        .expect("the fleet starts");
    let known_hosts =
        Arc::new(KnownHosts::load(fleet.known_hosts()).expect("the fleet's known_hosts"));

    let cases: [(&str, Case); 4] = [
        ("command guards", |h| Box::pin(command_guards(h))),
        ("command stdin, env, failures", |h| {
            Box::pin(command_stdin_env_and_failures(h))
        }),
        ("files", |h| Box::pin(files(h))),
        ("secrets in files and templates", |h| {
            Box::pin(secrets_in_files_and_templates(h))
        }),
    ];
    let mut running = Vec::new();
    for (index, (name, case)) in cases.into_iter().enumerate() {
        let host = Arc::new(Host::connect(&fleet, known_hosts.clone(), index).await);
        running.push((name, tokio::spawn(case(host))));
    }
    let mut failed = Vec::new();
    for (name, handle) in running {
        if let Err(e) = handle.await {
            eprintln!("case `{name}` failed: {e}");
            failed.push(name);
        }
    }
    fleet.stop().expect("the fleet stops");
    assert!(failed.is_empty(), "failed cases: {failed:?} (see above)");
}
