//! The README's walkthrough, run as it stands: the shell block under the `walkthrough` marker
//! goes to `bash -euo pipefail` from the project root, with the test's `seibi` first on PATH
//! and a lab state directory and address range of its own. Then the rehearsal copy it leaves
//! is checked: the journal verifies, every terminal got every task, the documents name the
//! terminals and the operator, the rotated passwords are in the copy's store, and the clone
//! itself was not written to. Needs root, sshd, age and clamscan, like `.ci/run` provides.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::lab::lab_available;
use seibi::journal::Status;

const MARKER: &str = "<!-- walkthrough:";

/// The first fenced block after the marker.
fn walkthrough(readme: &str) -> String {
    let after = &readme[readme
        .find(MARKER)
        .expect("README.md has the walkthrough marker")..];
    let start = after
        .find("```sh\n")
        .expect("a ```sh block follows the marker")
        + 6;
    let end = after[start..].find("```").expect("the block ends") + start;
    after[start..end].to_owned()
}

/// What `git status --porcelain` says of the project, to see that the walkthrough wrote nothing
/// there (None outside a git checkout).
fn git_status(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_readme_walkthrough_runs_on_the_shipped_example() {
    if !lab_available() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = walkthrough(&fs::read_to_string(root.join("README.md")).expect("README.md"));
    assert!(script.contains("seibi apply --plan plan.json"), "{script}");

    let lab = tempfile::Builder::new()
        .prefix("seibi-walkthrough-")
        .tempdir()
        .expect("a state directory");
    let bin = Path::new(env!("CARGO_BIN_EXE_seibi"))
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let before = git_status(&root);
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&root)
        .env("PATH", path)
        .env("SEIBI_LAB_DIR", lab.path())
        .env("SEIBI_LAB_BASE_ADDRESS", "127.0.61.1")
        .env_remove("SEIBI_IDENTITY")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Whatever happened, no lab host may outlive the test.
    let _ = Command::new(bin.join("seibi"))
        .args(["lab", "down", "--state-dir"])
        .arg(lab.path())
        .output();
    assert!(
        output.status.success(),
        "the walkthrough failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );

    // What each step said (on either stream).
    let said = format!("{stdout}\n{stderr}");
    for expected in [
        "7 hosts up:",
        "approved plan sha256:",
        "approved by デモ 承認者 (DEMO ONLY) (demo-approver)",
        "run by デモ 運用者 (DEMO ONLY)",
        "working outside office hours: rehearsal on lab stand-ins",
    ] {
        let found = if let Some(rest) = expected.strip_prefix("run by ") {
            said.lines()
                .any(|l| l.starts_with("run ") && l.contains(&format!("by {rest}")))
        } else {
            said.contains(expected)
        };
        assert!(found, "{expected:?} in:\n{said}");
    }
    let recap = stdout
        .lines()
        .find(|l| l.starts_with("total "))
        .unwrap_or_else(|| panic!("a recap line in {stdout}"));
    let numbers: Vec<u32> = recap
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    // total: terminals, ok, changed, failed, unreachable, skipped
    assert_eq!(numbers.len(), 6, "{recap}");
    assert_eq!(numbers[0], 7, "{recap}");
    assert_eq!(
        &numbers[3..],
        [0, 0, 0],
        "nothing failed or was skipped: {recap}"
    );
    assert!(numbers[2] > 0, "{recap}");
    assert_eq!(
        said.matches(": ok: run ").count(),
        4,
        "journal verify: {said}"
    );
    assert!(said.contains("no overdue terminals"), "audit: {said}");
    // The reveal printed the rotated password, as the job's policy makes them (20 characters,
    // none of `0O1lI|`), and only after the journal of the reveal was signed.
    let revealed = stdout
        .lines()
        .rev()
        .find(|l| l.len() == 20 && !l.contains(' '))
        .unwrap_or_else(|| panic!("a revealed password in {stdout}"));
    assert!(
        !revealed.contains(['0', 'O', '1', 'l', 'I', '|']),
        "{revealed}"
    );
    assert!(
        said.contains("reveal of admin@kita-t02 by デモ 運用者 (DEMO ONLY) recorded in"),
        "{said}"
    );

    // What the run left in the rehearsal copy.
    let project = lab.path().join("project");
    for document in [
        "plan.json",
        "作業手順書.xlsx",
        "作業報告書.xlsx",
        "月次報告書.md",
        "セキュリティ保全状況報告書.md",
    ] {
        assert!(project.join(document).is_file(), "{document} was written");
    }
    let monthly = fs::read_to_string(project.join("月次報告書.md")).expect("monthly report");
    assert!(monthly.contains("kita-t02"), "{monthly}");
    assert!(
        monthly.contains("不要（パスワード開示の記録）"),
        "the reveal's run needs no approval: {monthly}"
    );
    let mut journals: Vec<PathBuf> = fs::read_dir(project.join("logs"))
        .expect("logs/")
        .map(|e| e.expect("entry").path())
        .collect();
    journals.sort();
    assert_eq!(
        journals.len(),
        4,
        "the two applies, the reveal and the work entry: {journals:?}"
    );
    assert!(
        monthly.contains("rehearsal: 印刷不具合の問い合わせ対応"),
        "the work entry: {monthly}"
    );
    let security =
        fs::read_to_string(project.join("セキュリティ保全状況報告書.md")).expect("security report");
    assert!(
        security.contains("rehearsal on lab stand-ins") && security.contains("窓口端末の障害対応"),
        "the out-of-hours reason and the reveal: {security}"
    );
    // The applies' run ids are the earliest; the reveal and the work entry follow in some order.
    let text = |p: &PathBuf| fs::read_to_string(p).expect("journal");
    let reveal_path = journals
        .iter()
        .find(|p| text(p).contains("\"kind\":\"reveal\""))
        .expect("the reveal's journal")
        .clone();
    journals.retain(|p| !text(p).contains("\"kind\":\"work_log\""));
    journals.sort_by_key(|p| *p == reveal_path);
    let reveal = seibi::journal::read_run(&journals[2]).expect("the reveal's journal reads");
    assert_eq!(
        reveal.start.as_ref().map(|(_, s)| s.plan_digest.as_str()),
        Some(seibi::journal::NO_PLAN)
    );
    assert!(
        reveal.events.iter().any(|e| e.operator == "demo-operator"),
        "{:?}",
        reveal.events
    );
    let reveal_text = fs::read_to_string(&journals[2]).expect("reveal journal");
    assert!(reveal_text.contains("\"kind\":\"reveal\""), "{reveal_text}");
    assert!(
        !reveal_text.contains(revealed),
        "the value is never journaled"
    );
    // The first run applied the patch job alone (a part of the approved plan, recorded as
    // such); the second, the whole plan. Together they did every unit.
    let first = seibi::journal::read_run(&journals[0]).expect("the journal reads");
    let part = first.start.as_ref().and_then(|(_, s)| s.selection.clone());
    assert_eq!(
        part.map(|p| p.jobs),
        Some(vec!["2026-10-openssl-patch".to_string()]),
        "the first run's part of the plan"
    );
    assert!(
        first
            .terminals
            .values()
            .flatten()
            .all(|s| s.job == "2026-10-openssl-patch"),
        "the first run touched nothing outside its part"
    );
    let mut run = seibi::journal::read_run(&journals[1]).expect("the journal reads");
    for (terminal, steps) in first.terminals {
        let mut all = steps;
        let (again, rest): (Vec<_>, Vec<_>) = run
            .terminals
            .remove(&terminal)
            .unwrap_or_default()
            .into_iter()
            .partition(|s| s.job == "2026-10-openssl-patch");
        // The second run queried the patch again and found it installed, so its reboot
        // handler was not notified.
        let status = |task: &str| {
            again
                .iter()
                .find(|s| s.task == task)
                .and_then(|s| s.result.as_ref())
                .map(|r| r.status)
        };
        assert_eq!(status("install-patch"), Some(Status::Ok), "{terminal}");
        assert_eq!(status("reboot"), Some(Status::Skipped), "{terminal}");
        all.extend(rest);
        run.terminals.insert(terminal, all);
    }
    let terminals: Vec<&str> = run.terminals.keys().map(String::as_str).collect();
    assert_eq!(
        terminals,
        [
            "kita-s01", "kita-t02", "kita-t03", "kita-t04", "kita-t05", "kita-t06", "kita-t07"
        ]
    );
    for (terminal, steps) in &run.terminals {
        let done = |job: &str, task: &str| {
            steps.iter().any(|s| {
                s.job == job
                    && s.task == task
                    && s.result.as_ref().is_some_and(|r| {
                        matches!(r.status, Status::Ok | Status::Changed) && r.error.is_none()
                    })
            })
        };
        // Each job of the October visit, on every terminal (the viewer and the log collection
        // only on counter terminals).
        for (job, task) in [
            ("2026-10-openssl-patch", "install-patch"),
            ("2026-10-openssl-patch", "reboot"),
            ("2026-10-time-and-log-settings", "chrony"),
            ("2026-admin-password-rotation@2026", "rotate"),
            ("2026-annual-inspection", "inspect"),
        ] {
            assert!(done(job, task), "{terminal}: {job}/{task} in {steps:#?}");
        }
        for step in steps {
            let result = step.result.as_ref().expect("every intent has its result");
            assert!(
                matches!(result.status, Status::Ok | Status::Changed),
                "{terminal}: {}/{} ended {:?}",
                step.job,
                step.task,
                result.status
            );
        }
        assert!(
            run.events.iter().any(|e| e.terminal.as_deref() == Some(terminal.as_str())
                && e.what.starts_with(&format!(
                    "rotated the credential of `admin` (now in secret `passwords/{terminal}/admin`): 2026-admin-password-rotation@2026: "
                ))),
            "a rotation record for {terminal}: {:#?}",
            run.events
        );
        let store = project.join("secrets").join("passwords").join(terminal);
        assert!(
            store.is_dir(),
            "the rotated password of {terminal} is in the copy's store"
        );
    }
    for counter in ["kita-t02", "kita-t03", "kita-t04"] {
        let steps = &run.terminals[counter];
        assert!(
            steps.iter().any(|s| s.job == "2026-10-counter-app-update"),
            "{counter} got the counter application"
        );
    }

    // The clone was only read.
    assert_eq!(
        git_status(&root),
        before,
        "the walkthrough wrote into the project"
    );
    assert!(
        !root.join("secrets").join("passwords").exists(),
        "the project's own store was not touched"
    );
}
