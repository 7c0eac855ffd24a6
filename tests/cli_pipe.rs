//! Output is a good Unix citizen: every subcommand that prints, piped into `head -1` (a real
//! pipe closed early), ends with its normal exit status, no panic and nothing on standard error
//! about pipes. Twice over: through a shell pipeline into `head -1`, and with a pipe whose reader
//! is closed before the command starts (every write fails, so the test cannot pass by luck of
//! timing). The shipped example is the project; nothing here writes to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Status and standard error of `seibi ARGS` with standard output to `stdout`.
fn run(args: &[&str], stdout: Stdio) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_seibi"))
        .arg("-C")
        .arg(example())
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run seibi");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Status and standard error of `seibi ARGS | head -1` in bash.
fn run_into_head(args: &[&str], err: &Path) -> (i32, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#""$0" "$@" 2>"$ERR" | head -1 >/dev/null; echo "${PIPESTATUS[0]}""#)
        .arg(env!("CARGO_BIN_EXE_seibi"))
        .arg("-C")
        .arg(example())
        .args(args)
        .env("ERR", err)
        .output()
        .expect("run bash");
    let code = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a status");
    (code, std::fs::read_to_string(err).unwrap_or_default())
}

fn assert_quiet_about_pipes(what: &str, stderr: &str) {
    for bad in ["panicked", "Broken pipe", "broken pipe", "os error 32"] {
        assert!(!stderr.contains(bad), "{what}: {bad} in stderr:\n{stderr}");
    }
}

#[test]
fn every_printing_subcommand_survives_a_closed_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().expect("utf-8 path");
    let (code, stderr) = run(&["plan", "--format", "json", "-o", plan], Stdio::null());
    assert_eq!(code, 0, "{stderr}");
    let logs = dir.path().join("logs");
    let logs = logs.to_str().expect("utf-8 path");
    let commands: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["plan", "--help"],
        vec!["check"],
        vec!["plan"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown", "--lang", "ja"],
        vec!["plan", "--start", "2026-10-01"],
        vec!["calendar", "2026-10"],
        vec!["status", plan, "--logs", logs],
        vec!["status", plan, "--logs", logs, "--format", "json"],
        vec!["report", "procedure", plan],
        vec!["report", "progress", plan, "--logs", logs],
        vec!["roster", "check"],
        vec!["roster", "export-allowed-signers"],
        vec!["audit", "rotations"],
        vec!["secrets", "list"],
    ];
    let err = dir.path().join("stderr");
    for args in &commands {
        let what = args.join(" ");
        let (normal, normal_err) = run(args, Stdio::piped());
        assert_ne!(normal, 101, "{what} panics anyway: {normal_err}");

        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let (closed, stderr) = run(args, Stdio::from(writer));
        assert_eq!(closed, normal, "{what} into a closed pipe:\n{stderr}");
        assert_quiet_about_pipes(&what, &stderr);

        let (headed, stderr) = run_into_head(args, &err);
        assert_eq!(headed, normal, "{what} | head -1:\n{stderr}");
        assert_quiet_about_pipes(&what, &stderr);
    }
}

#[test]
fn quiet_hides_status_messages_but_not_the_answer_or_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().expect("utf-8 path");
    let (code, stderr) = run(&["plan", "--format", "json", "-o", plan], Stdio::null());
    assert_eq!(code, 0);
    assert!(stderr.contains("written to"), "{stderr}");
    let (code, stderr) = run(
        &["--quiet", "plan", "--format", "json", "-o", plan],
        Stdio::null(),
    );
    assert_eq!(code, 0);
    assert_eq!(stderr, "");
    // Errors still show.
    let (code, stderr) = run(&["-q", "status", "no-such-plan.json"], Stdio::null());
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read the plan"), "{stderr}");
}
