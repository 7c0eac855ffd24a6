//! `seibi log work`: an entry signed by an operator on the roster, checked by `seibi journal
//! verify` and by `ssh-keygen -Y verify` on its checkpoint (the documented recipe), listed by
//! the monthly report (Markdown, and the workbook read back with calamine); refused, with
//! nothing written, for a key that is not an operator's.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Stdio};

use calamine::{Data, Reader, Xlsx};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["inventory", "demo"] {
        common::copy_tree(&repo().join(sub), &dir.path().join(sub));
    }
    std::fs::copy(repo().join("roster.yml"), dir.path().join("roster.yml")).expect("roster");
    dir
}

fn log_work(dir: &Path, key: &str, extra: &[&str]) -> common::Output {
    let mut args = vec![
        "log",
        "work",
        "--kind",
        "inquiry",
        "--date",
        "2026-10-05",
        "--minutes",
        "45",
        "--summary",
        "窓口端末の印刷不具合について問い合わせ対応",
        "--sign-key",
        key,
    ];
    args.extend_from_slice(extra);
    common::run_seibi(dir, &args)
}

fn journals(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("logs")) else {
        return Vec::new();
    };
    entries.filter_map(Result::ok).map(|e| e.path()).collect()
}

#[test]
fn a_work_entry_is_signed_verified_by_ssh_keygen_and_reported() {
    let dir = example();
    let d = dir.path();
    let out = log_work(d, "demo/demo-operator_ed25519", &["--terminal", "kita-t02"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let files = journals(d);
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).expect("journal");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    let entry = lines
        .iter()
        .find(|l| l["kind"] == "work_log")
        .expect("a work_log line");
    assert_eq!(entry["work"], "inquiry");
    assert_eq!(entry["minutes"], 45);
    assert_eq!(entry["terminal"], "kita-t02");
    assert_eq!(entry["operator"], "demo-operator");
    assert_eq!(lines[0]["plan_digest"], "none");

    let verify = common::run_seibi(d, &["journal", "verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);

    // The README's recipe, with ssh-keygen, on the last checkpoint.
    let out = common::run_seibi(
        d,
        &["roster", "export-allowed-signers", "-o", "allowed_signers"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cp = lines
        .iter()
        .rev()
        .find(|l| l["kind"] == "checkpoint")
        .expect("a checkpoint");
    let s = |k: &str| {
        cp[k]
            .as_str()
            .map_or_else(|| cp[k].to_string(), str::to_string)
    };
    std::fs::write(
        d.join("message"),
        format!(
            "seibi-journal v1 {} seq={} head={} time={}\n",
            s("run"),
            s("covers"),
            s("head"),
            s("time")
        ),
    )
    .expect("message");
    std::fs::write(d.join("message.sig"), s("signature")).expect("sig");
    let verify_time = seibi::roster::ssh_time(s("time").parse().expect("time"));
    let keygen = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            "allowed_signers",
            "-I",
            "demo-operator",
        ])
        .args(["-n", "seibi-journal@seibi", "-s", "message.sig"])
        .arg(format!("-Overify-time={verify_time}"))
        .current_dir(d)
        .stdin(Stdio::from(
            std::fs::File::open(d.join("message")).expect("message"),
        ))
        .output()
        .expect("ssh-keygen runs");
    assert!(
        keygen.status.success(),
        "{}{}",
        String::from_utf8_lossy(&keygen.stdout),
        String::from_utf8_lossy(&keygen.stderr)
    );

    // The monthly report of October lists it (the month of its date), in both languages.
    let out = common::run_seibi(
        d,
        &["report", "monthly", "2026-10", "-o", "m.md", "--lang", "ja"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = std::fs::read_to_string(d.join("m.md")).expect("md");
    assert!(md.contains("端末作業以外の業務"), "{md}");
    assert!(
        md.contains("窓口端末の印刷不具合について問い合わせ対応"),
        "{md}"
    );
    assert!(md.contains("問い合わせ対応"), "{md}");
    let out = common::run_seibi(
        d,
        &[
            "report", "monthly", "2026-10", "-o", "m.xlsx", "--lang", "en",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut wb =
        Xlsx::new(Cursor::new(std::fs::read(d.join("m.xlsx")).expect("xlsx"))).expect("workbook");
    let sheet = wb
        .worksheet_range("Work not on a machine")
        .expect("work sheet");
    let header: Vec<String> = (0..8)
        .map(|c| {
            sheet
                .get_value((0, c))
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    let find = |name: &str| header.iter().position(|h| h == name).expect(name);
    let row = (1..sheet.height() as u32)
        .find(|r| {
            sheet.get_value((*r, find("Summary") as u32))
                == Some(&Data::String(
                    "窓口端末の印刷不具合について問い合わせ対応".into(),
                ))
        })
        .expect("the entry's row");
    assert_eq!(
        sheet.get_value((row, find("Kind") as u32)),
        Some(&Data::String("inquiry".into()))
    );
    assert_eq!(
        sheet.get_value((row, find("Minutes") as u32)),
        Some(&Data::Float(45.0))
    );
    assert_eq!(
        sheet.get_value((row, find("Verification") as u32)),
        Some(&Data::String("verified".into()))
    );
    // November has none.
    let out = common::run_seibi(
        d,
        &["report", "monthly", "2026-11", "-o", "n.md", "--lang", "en"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = std::fs::read_to_string(d.join("n.md")).expect("md");
    assert!(md.contains("None recorded this month"), "{md}");
}

#[test]
fn an_approver_key_or_bad_input_writes_nothing() {
    let dir = example();
    let d = dir.path();
    let out = log_work(d, "demo/demo-approver_ed25519", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("only operators on the roster"),
        "{}",
        out.stderr
    );
    let out = log_work(d, "demo/demo-operator_ed25519", &["--terminal", "kita-t2"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("did you mean `kita-t02`?"),
        "{}",
        out.stderr
    );
    let out = common::run_seibi(
        d,
        &[
            "log",
            "work",
            "--kind",
            "meeting",
            "--date",
            "2026-10-05",
            "--minutes",
            "0",
            "--summary",
            "x",
            "--sign-key",
            "demo/demo-operator_ed25519",
        ],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--minutes 0"), "{}", out.stderr);
    assert!(journals(d).is_empty(), "nothing is written");
}
