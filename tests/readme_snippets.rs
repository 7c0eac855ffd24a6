//! The README's instructions for third parties, followed as written: the plan digest recomputed
//! with `jq` and `sha256sum` only (docs/verify-plan-digest.sh, on real plans, one with a schedule
//! and its float bandwidths), and the journal-check block (the shell block under the
//! `journal-check` marker) run on a real signed journal whose operator's roster entry has
//! expired since it was signed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use seibi::journal::{
    self, JournalWriter, Line, Record, Reveal, RunEnd, RunStart, Signer, Tally, WriterOptions,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bash(script: &str, dir: &Path) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_seibi"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_plan_digest_is_what_the_readme_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = repo().join("docs/verify-plan-digest.sh");
    for (name, extra) in [
        ("plan.json", vec![]),
        ("scheduled.json", vec!["--start", "2026-10-01"]),
    ] {
        let path = dir.path().join(name);
        let mut args = vec!["-C".to_string(), repo().display().to_string()];
        args.extend(
            ["plan", "--format", "json", "-o"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.push(path.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = Command::new(env!("CARGO_BIN_EXE_seibi"))
            .args(&args)
            .output()
            .expect("seibi runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (code, text) = bash(
            &format!("{} {}", script.display(), path.display()),
            dir.path(),
        );
        assert_eq!(code, 0, "{name}: {text}");
        let stated = seibi::plan::Plan::from_json(&fs::read_to_string(&path).expect("plan"))
            .expect("plan")
            .digest;
        assert!(text.contains(&format!("computed: {stated}")), "{text}");

        // One number changed by hand: the script sees it.
        let tampered = dir.path().join(format!("tampered-{name}"));
        let (code, text) = bash(
            &format!(
                "jq '.totals.tasks += 1' {} > {}",
                path.display(),
                tampered.display()
            ),
            dir.path(),
        );
        assert_eq!(code, 0, "{text}");
        let (code, text) = bash(
            &format!("{} {}", script.display(), tampered.display()),
            dir.path(),
        );
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("MISMATCH"), "{text}");
    }
}

const MARKER: &str = "<!-- journal-check:";

/// The first fenced block after the marker.
fn journal_check(readme: &str) -> String {
    let after = &readme[readme.find(MARKER).expect("README.md has the marker")..];
    let start = after.find("```sh\n").expect("a ```sh block follows") + 6;
    let end = after[start..].find("```").expect("the block ends") + start;
    after[start..end].to_owned()
}

#[test]
fn the_readme_journal_check_verifies_a_journal_of_an_expired_operator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "tanaka@test", "-f"])
        .arg(root.join("tanaka"))
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success());
    let public = fs::read_to_string(root.join("tanaka.pub")).expect("pub");
    // The operator's entry ended in 2024; the journal was signed while it was valid.
    fs::write(
        root.join("roster.yml"),
        format!(
            "people:\n  - id: tanaka\n    name: 田中 太郎\n    organisation: 保守委託先\n    role: operator\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2024-12-31\n",
            public.trim()
        ),
    )
    .expect("roster");
    std::os::unix::fs::symlink(repo().join("docs"), root.join("docs")).expect("docs");
    let start: Timestamp = "2024-06-01T01:00:00Z".parse().expect("time");
    let tick = AtomicI64::new(start.as_second());
    let clock: journal::Clock = Box::new(move || {
        Timestamp::from_second(tick.fetch_add(1, Ordering::SeqCst)).expect("in range")
    });
    let signer = Signer::from_key_file("tanaka", &root.join("tanaka"), None).expect("signer");
    let mut w = JournalWriter::create_with(
        &root.join("logs"),
        RunStart::new("2024-06-01-chuo", journal::NO_PLAN),
        signer,
        WriterOptions {
            clock: Some(clock),
            ..WriterOptions::default()
        },
    )
    .expect("journal");
    w.append(Record::Reveal(Reveal {
        terminal: Some("chuo-t01".into()),
        secret: "admin/chuo-t01".into(),
        reason: "障害対応".into(),
    }))
    .expect("reveal");
    w.finish(RunEnd {
        tally: Tally::default(),
        stopped: None,
    })
    .expect("finish");
    let text = fs::read_to_string(root.join("logs/2024-06-01-chuo.jsonl")).expect("journal");
    let checkpoint = text
        .lines()
        .map(|l| serde_json::from_str::<Line>(l).expect("line"))
        .find(|l| matches!(l.record, Record::Checkpoint(_)))
        .expect("a checkpoint")
        .seq;

    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md");
    let block = journal_check(&readme)
        .replace("logs/RUN.jsonl", "logs/2024-06-01-chuo.jsonl")
        .replace("n=6", &format!("n={checkpoint}"));
    assert!(block.contains("-Overify-time"), "{block}");
    let (code, output) = bash(&block, root);
    assert_eq!(code, 0, "{block}\n{output}");
    assert!(
        output.contains("Good \"seibi-journal@seibi\" signature for tanaka"),
        "{output}"
    );
    assert!(output.contains("ok"), "{output}");

    // Without the verify time, ssh-keygen rejects the genuine journal: what the README's
    // snippet did before.
    let old = block.replace(" \"-Overify-time=$at\"", "");
    let (code, output) = bash(&old, root);
    assert_ne!(code, 0, "{old}\n{output}");
}
