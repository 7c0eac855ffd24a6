//! `seibi audit rotations` run like an auditor runs it, over a project whose password store was
//! filled through `PasswordStore` with controlled times and provenance: three sites, six
//! terminals in scope (rotated this fiscal year, last fiscal year, too long ago, never, and one
//! with a pending rotation), a Windows terminal the rotation job does not target, and a store
//! record for a terminal that left the inventory. The rows, overdue lists, JSON shape,
//! filters, exit statuses and the absence of every password are checked.

use std::collections::BTreeSet;
use std::fs;
use std::process::{Command, Output};

use jiff::Timestamp;
use seibi::secrets::{Account, Identity, PasswordStore, Provenance, Secret, SecretsStore};

const INVENTORY: &str = r#"
vars:
  admin_user: admin
sites:
  chuo: { name: 中央区役所, capacity: 2 }
  kita: { name: 北区役所, capacity: 2 }
  minami: { name: 南出張所, kind: branch, capacity: 1 }
terminals:
  chuo-t01: { site: chuo, address: 10.1.0.11, user: ops, tags: [integrated] }
  chuo-t02: { site: chuo, address: 10.1.0.12, user: ops, tags: [integrated] }
  kita-t01: { site: kita, address: 10.2.0.11, user: ops, tags: [integrated] }
  kita-t02: { site: kita, address: 10.2.0.12, user: ops, tags: [integrated] }
  minami-t01: { site: minami, address: 10.3.0.11, user: ops, tags: [integrated] }
  minami-t02: { site: minami, address: 10.3.0.12, user: ops, tags: [integrated], vars: { admin_user: kanri } }
  minami-w01: { site: minami, address: 10.3.0.90, user: Administrator, platform: windows, tags: [office] }
"#;

const ROTATION_JOB: &str = r#"
id: admin-password-rotation
title: 管理者パスワード年次変更
kind: password_rotation
provenance: { source: contract, reference: 保守契約 第12条 }
minutes_per_terminal: 3
targets: { tags: [integrated] }
tasks:
  - name: Rotate the admin password
    id: rotate
    password:
      user: "{{ admin_user }}"
      policy: { keep: 2, max_age_days: 365 }
"#;

const OTHER_JOB: &str = r#"
id: monthly-check
title: 月次点検
kind: inspection
provenance: { source: contract, reference: 保守契約 第8条 }
minutes_per_terminal: 2
targets: { tags: [integrated] }
tasks:
  - name: Uptime
    command: { cmd: uptime }
"#;

/// A project directory and every password written into its store.
struct Fixture {
    dir: tempfile::TempDir,
    passwords: Vec<String>,
}

fn ts(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("seibi-audit-test-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("inventory")).expect("inventory dir");
        fs::create_dir_all(root.join("playbooks")).expect("playbooks dir");
        fs::write(root.join("inventory/city.yml"), INVENTORY).expect("inventory");
        fs::write(root.join("playbooks/rotation.yml"), ROTATION_JOB).expect("job");
        fs::write(root.join("playbooks/check.yml"), OTHER_JOB).expect("job");
        let (_identity, public) = Identity::generate_x25519();
        SecretsStore::init(&root.join("secrets"), "auditor-test", public).expect("init store");
        let mut fixture = Self {
            dir,
            passwords: Vec::new(),
        };
        // Times are UTC; Japan is UTC+9.
        // chuo-t01: three yearly rotations, the last on 2026-10-14 10:30 JST; keep 2.
        fixture.rotate(
            "chuo-t01",
            "admin",
            "2024-10-15T01:00:00Z",
            "2024-r",
            "sato",
        );
        fixture.rotate(
            "chuo-t01",
            "admin",
            "2025-10-15T01:00:00Z",
            "2025-r",
            "suzuki",
        );
        fixture.rotate(
            "chuo-t01",
            "admin",
            "2026-10-14T01:30:00Z",
            "2026-chuo",
            "yamada",
        );
        // chuo-t02: 2026-06-01, this fiscal year.
        fixture.rotate(
            "chuo-t02",
            "admin",
            "2026-06-01T00:00:00Z",
            "2026-06-chuo",
            "yamada",
        );
        // kita-t01: 2026-02-10, last fiscal year but only 265 days before 2026-11-02.
        fixture.rotate(
            "kita-t01",
            "admin",
            "2026-02-10T02:00:00Z",
            "2025-kita",
            "suzuki",
        );
        // kita-t02: 2025-09-01, last fiscal year and 427 days old.
        fixture.rotate(
            "kita-t02",
            "admin",
            "2025-09-01T02:00:00Z",
            "2025-09-kita",
            "sato",
        );
        // minami-t01: never rotated.
        // minami-t02 (user kanri): 2026-05-01, then a rotation begun 2026-10-30 and never
        // committed.
        fixture.rotate(
            "minami-t02",
            "kanri",
            "2026-05-01T03:00:00Z",
            "2026-05-minami",
            "tanaka",
        );
        fixture.begin(
            "minami-t02",
            "kanri",
            "2026-10-30T05:00:00Z",
            "2026-10-minami",
            "tanaka",
        );
        // A terminal that was decommissioned: still in the store, no longer in the inventory.
        fixture.rotate(
            "old-t09",
            "admin",
            "2024-04-20T02:00:00Z",
            "2024-old",
            "sato",
        );
        fixture
    }

    fn store(&self) -> PasswordStore {
        PasswordStore::open(&self.dir.path().join("secrets")).expect("open store")
    }

    fn begin(&mut self, terminal: &str, user: &str, at: &str, run: &str, operator: &str) {
        let account = Account::new(terminal, user).expect("account");
        let value = format!("Pw!{terminal}-{user}-{run}-{}", self.passwords.len());
        self.passwords.push(value.clone());
        let by = Provenance {
            run: run.to_string(),
            operator: operator.to_string(),
        };
        // Begun a minute before the given time.
        let begun = ts(at)
            .checked_sub(jiff::SignedDuration::from_secs(60))
            .expect("time");
        self.store()
            .begin_at(&account, Secret::new(value), &by, begun)
            .expect("begin");
    }

    fn rotate(&mut self, terminal: &str, user: &str, at: &str, run: &str, operator: &str) {
        self.begin(terminal, user, at, run, operator);
        let account = Account::new(terminal, user).expect("account");
        self.store().commit_at(&account, 2, ts(at)).expect("commit");
    }

    fn seibi(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_seibi"))
            .arg("-C")
            .arg(self.dir.path())
            .args(args)
            .output()
            .expect("seibi runs");
        self.assert_no_password(&out.stdout);
        self.assert_no_password(&out.stderr);
        out
    }

    fn json(&self, args: &[&str]) -> (serde_json::Value, Option<i32>) {
        let mut all = vec!["audit", "rotations", "--format", "json"];
        all.extend_from_slice(args);
        let out = self.seibi(&all);
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (value, out.status.code())
    }

    fn text(&self, args: &[&str]) -> (String, Option<i32>) {
        let mut all = vec!["audit", "rotations"];
        all.extend_from_slice(args);
        let out = self.seibi(&all);
        (
            String::from_utf8(out.stdout).expect("utf-8"),
            out.status.code(),
        )
    }

    fn assert_no_password(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        for p in &self.passwords {
            assert!(!text.contains(p.as_str()), "a password was printed: {text}");
        }
    }
}

/// `(terminal, user, last rotated, operator, run, versions kept, reasons)` of each account.
type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    u64,
    Vec<String>,
);

fn rows(report: &serde_json::Value) -> Vec<Row> {
    report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            let last = &a["last_rotation"];
            let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
            (
                s(&a["terminal"]).expect("terminal"),
                s(&a["user"]).expect("user"),
                s(&last["at"]),
                s(&last["operator"]),
                s(&last["run"]),
                a["versions_kept"].as_u64().expect("versions_kept"),
                a["reasons"]
                    .as_array()
                    .expect("reasons")
                    .iter()
                    .map(|r| r.as_str().expect("reason").to_string())
                    .collect(),
            )
        })
        .collect()
}

fn row(
    terminal: &str,
    user: &str,
    last: Option<(&str, &str, &str)>,
    kept: u64,
    reasons: &[&str],
) -> Row {
    (
        terminal.to_string(),
        user.to_string(),
        last.map(|l| l.0.to_string()),
        last.map(|l| l.1.to_string()),
        last.map(|l| l.2.to_string()),
        kept,
        reasons.iter().map(|r| r.to_string()).collect(),
    )
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

fn keys(value: &serde_json::Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn lists_last_rotations_and_overdue_terminals() {
    let f = Fixture::new();
    let (report, code) = f.json(&["--as-of", "2026-11-02"]);
    assert_eq!(code, Some(3), "overdue accounts exist: exit 3");
    assert_eq!(report["as_of"], "2026-11-02");
    assert_eq!(
        report["fiscal_year"],
        serde_json::json!({"label": "FY2026", "start": "2026-04-01", "end": "2027-03-31"})
    );
    assert_eq!(
        rows(&report),
        vec![
            row(
                "chuo-t01",
                "admin",
                Some(("2026-10-14T10:30:00+09:00", "yamada", "2026-chuo")),
                2,
                &[]
            ),
            row(
                "chuo-t02",
                "admin",
                Some(("2026-06-01T09:00:00+09:00", "yamada", "2026-06-chuo")),
                0,
                &[]
            ),
            row(
                "kita-t01",
                "admin",
                Some(("2026-02-10T11:00:00+09:00", "suzuki", "2025-kita")),
                0,
                &["not_rotated_this_fiscal_year"]
            ),
            row(
                "kita-t02",
                "admin",
                Some(("2025-09-01T11:00:00+09:00", "sato", "2025-09-kita")),
                0,
                &["not_rotated_this_fiscal_year", "older_than_max_age"]
            ),
            row("minami-t01", "admin", None, 0, &["never_rotated"]),
            row(
                "minami-t02",
                "kanri",
                Some(("2026-05-01T12:00:00+09:00", "tanaka", "2026-05-minami")),
                0,
                &["pending_rotation"]
            ),
        ]
    );
    let accounts = report["accounts"].as_array().expect("accounts");
    let ages: Vec<Option<i64>> = accounts.iter().map(|a| a["age_days"].as_i64()).collect();
    assert_eq!(
        ages,
        [Some(19), Some(154), Some(265), Some(427), None, Some(185)]
    );
    assert_eq!(
        accounts[5]["pending"],
        serde_json::json!({
            "begun_at": "2026-10-30T13:59:00+09:00",
            "version": 2,
            "run": "2026-10-minami",
            "operator": "tanaka"
        })
    );
    assert_eq!(
        strings(&report["overdue_terminals"]),
        ["kita-t01", "kita-t02", "minami-t01", "minami-t02"]
    );
    let summary: Vec<(String, u64, u64, u64, u64)> = report["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .map(|s| {
            (
                s["site"].as_str().expect("site").to_string(),
                s["terminals"].as_u64().expect("n"),
                s["rotated_this_fiscal_year"].as_u64().expect("n"),
                s["overdue"].as_u64().expect("n"),
                s["pending"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("chuo".to_string(), 2, 2, 0, 0),
            ("kita".to_string(), 2, 0, 2, 0),
            ("minami".to_string(), 2, 1, 2, 1),
        ]
    );
    assert_eq!(report["totals"]["accounts"], 6);
    assert_eq!(report["totals"]["overdue_terminals"], 4);
    // The Windows terminal is not targeted by the rotation job; the decommissioned terminal's
    // record is reported apart.
    assert!(!accounts.iter().any(|a| a["terminal"] == "minami-w01"));
    assert_eq!(
        report["unscoped"],
        serde_json::json!([{
            "terminal": "old-t09",
            "user": "admin",
            "site": null,
            "last_rotation": {
                "at": "2024-04-20T11:00:00+09:00",
                "version": 1,
                "run": "2024-old",
                "operator": "sato"
            },
            "pending": false
        }])
    );
}

#[test]
fn json_shape_is_stable() {
    let f = Fixture::new();
    let (report, _) = f.json(&["--as-of", "2026-11-02"]);
    assert_eq!(report["schema"], "seibi.audit.rotations/v1");
    assert_eq!(
        keys(&report),
        BTreeSet::from([
            "schema",
            "as_of",
            "fiscal_year",
            "filter",
            "accounts",
            "sites",
            "totals",
            "overdue_terminals",
            "unscoped",
        ])
    );
    assert_eq!(
        report["filter"],
        serde_json::json!({"sites": [], "overdue_only": false})
    );
    let first = &report["accounts"][0];
    assert_eq!(
        keys(first),
        BTreeSet::from([
            "site",
            "site_name",
            "terminal",
            "user",
            "jobs",
            "policy",
            "last_rotation",
            "age_days",
            "rotated_this_fiscal_year",
            "versions_kept",
            "pending",
            "overdue",
            "reasons",
        ])
    );
    assert_eq!(first["site_name"], "中央区役所");
    assert_eq!(
        first["jobs"],
        serde_json::json!(["admin-password-rotation"])
    );
    assert_eq!(
        first["policy"],
        serde_json::json!({"max_age_days": 365, "keep": 2})
    );
    assert_eq!(
        keys(&first["last_rotation"]),
        BTreeSet::from(["at", "version", "run", "operator"])
    );
    assert_eq!(first["last_rotation"]["version"], 3);
    assert!(first["pending"].is_null());
    assert_eq!(
        keys(&report["sites"][0]),
        BTreeSet::from([
            "site",
            "name",
            "terminals",
            "accounts",
            "rotated_this_fiscal_year",
            "overdue",
            "overdue_terminals",
            "pending",
        ])
    );
}

#[test]
fn overdue_only_and_site_filters() {
    let f = Fixture::new();
    let (report, code) = f.json(&["--as-of", "2026-11-02", "--overdue-only"]);
    assert_eq!(code, Some(3));
    let terminals: Vec<&str> = report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["terminal"].as_str().expect("terminal"))
        .collect();
    assert_eq!(
        terminals,
        ["kita-t01", "kita-t02", "minami-t01", "minami-t02"]
    );
    // Summaries still count every account.
    assert_eq!(report["totals"]["accounts"], 6);

    let (report, code) = f.json(&["--as-of", "2026-11-02", "--site", "chuo"]);
    assert_eq!(code, Some(0), "nothing overdue at chuo: exit 0");
    let terminals: Vec<&str> = report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["terminal"].as_str().expect("terminal"))
        .collect();
    assert_eq!(terminals, ["chuo-t01", "chuo-t02"]);
    assert_eq!(report["sites"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["unscoped"], serde_json::json!([]));
    assert_eq!(report["overdue_terminals"], serde_json::json!([]));

    let (report, _) = f.json(&[
        "--as-of",
        "2026-11-02",
        "--site",
        "minami",
        "--site",
        "kita",
        "--overdue-only",
    ]);
    assert_eq!(
        strings(&report["overdue_terminals"]),
        ["kita-t01", "kita-t02", "minami-t01", "minami-t02"]
    );
    assert_eq!(
        report["filter"],
        serde_json::json!({"sites": ["minami", "kita"], "overdue_only": true})
    );

    let (text, code) = f.text(&["--site", "kitaa"]);
    assert_eq!(code, Some(1));
    assert!(text.is_empty());
    let out = f.seibi(&["audit", "rotations", "--site", "kitaa"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no site `kitaa`") && stderr.contains("did you mean `kita`?"),
        "{stderr}"
    );
}

#[test]
fn as_of_in_the_past_reads_the_history() {
    let f = Fixture::new();
    // At the end of FY2025 chuo-t01's password was the one set on 2025-10-15, minami-t02 had
    // never been rotated, and nothing was pending.
    let (report, code) = f.json(&["--as-of", "2026-03-31"]);
    assert_eq!(report["fiscal_year"]["label"], "FY2025");
    assert_eq!(code, Some(3));
    let got: Vec<(String, Option<String>, Vec<String>)> = rows(&report)
        .into_iter()
        .map(|(t, _, at, _, _, _, reasons)| (t, at, reasons))
        .collect();
    let want = |t: &str, at: Option<&str>, reasons: &[&str]| {
        (
            t.to_string(),
            at.map(str::to_string),
            reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        got,
        [
            want("chuo-t01", Some("2025-10-15T10:00:00+09:00"), &[]),
            want("chuo-t02", None, &["never_rotated"]),
            want("kita-t01", Some("2026-02-10T11:00:00+09:00"), &[]),
            want("kita-t02", Some("2025-09-01T11:00:00+09:00"), &[]),
            want("minami-t01", None, &["never_rotated"]),
            want("minami-t02", None, &["never_rotated"]),
        ]
    );
}

#[test]
fn text_table_is_aligned_and_summarised() {
    let f = Fixture::new();
    let (text, code) = f.text(&["--as-of", "2026-11-02"]);
    assert_eq!(code, Some(3));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Password rotations as of 2026-11-02 (FY2026: 2026-04-01 to 2027-03-31)"
    );
    let header = lines[2];
    assert!(header.starts_with("SITE"), "{text}");
    let table: Vec<&str> = lines[3..9].to_vec();
    // Every column starts where its heading does.
    for heading in [
        "TERMINAL",
        "USER",
        "LAST ROTATED",
        "BY",
        "RUN",
        "KEPT",
        "STATUS",
    ] {
        let col = header.find(heading).expect("heading");
        for line in &table {
            assert!(
                line[..col].ends_with("  ") && !line[col..].starts_with(' '),
                "`{heading}` misaligned in:\n{text}"
            );
        }
    }
    let find = |terminal: &str| {
        *table
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(terminal))
            .expect("row")
    };
    let t01 = find("chuo-t01");
    assert!(t01.contains("2026-10-14 10:30 JST"), "{t01}");
    assert!(
        t01.contains(" yamada ") && t01.contains(" 2026-chuo "),
        "{t01}"
    );
    assert!(t01.contains(" 2/2 ") && t01.ends_with(" ok"), "{t01}");
    assert!(
        find("kita-t02").ends_with("OVERDUE: not rotated in FY2026; 427 days old (max 365)"),
        "{text}"
    );
    assert!(find("minami-t01").contains(" never "), "{text}");
    assert!(
        find("minami-t01").ends_with("OVERDUE: never rotated"),
        "{text}"
    );
    assert!(
        find("minami-t02").contains(
            "OVERDUE: rotation to v2 pending since 2026-10-30 13:59 JST (run 2026-10-minami, tanaka): reconcile it"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "kita (北区役所): 2 terminals, 2 accounts: 0 rotated in FY2026, 2 overdue (2 terminals)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "total: 6 terminals, 6 accounts: 3 rotated in FY2026, 4 overdue (4 terminals), 1 pending\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("overdue terminals (4): kita-t01, kita-t02, minami-t01, minami-t02\n"),
        "{text}"
    );
    assert!(
        text.contains("  admin@old-t09 (not in the inventory): last rotated 2024-04-20 11:00 JST by sato (run 2024-old)"),
        "{text}"
    );

    let (text, code) = f.text(&["--as-of", "2026-11-02", "--site", "chuo"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("no overdue terminals\n"), "{text}");
    let (text, _) = f.text(&["--as-of", "2026-11-02", "--site", "chuo", "--overdue-only"]);
    assert!(text.contains("no overdue accounts\n"), "{text}");
}

#[test]
fn help_documents_the_exit_status() {
    let f = Fixture::new();
    let out = f.seibi(&["audit", "rotations", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("3 some account overdue"), "{help}");
}

#[test]
fn no_store_is_an_error_that_says_what_to_do() {
    let f = Fixture::new();
    fs::remove_dir_all(f.dir.path().join("secrets")).expect("remove store");
    let out = f.seibi(&["audit", "rotations"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot open the password store") && stderr.contains("seibi secrets init"),
        "{stderr}"
    );
}
