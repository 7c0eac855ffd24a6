//! The documents the city reads, checked against what they came from: the 作業手順書 against
//! the plan (and its approvals and the roster), the 作業報告書 and 月次報告書 against journals
//! written here with `JournalWriter` (failures, recoveries, rotations, inspections, an
//! unapproved run, a tampered journal). Workbooks are read back with calamine, cell by cell.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};

use calamine::{Data, Reader, Xlsx};
use common::{overlay_project, run_seibi};
use jiff::Timestamp;
use seibi::approval;
use seibi::documents::{self, Cell, Document, Language, Month, Section, Table};
use seibi::journal::{
    self, Approval, Intent, JournalWriter, Line, OutputDigest, Record, Rotation, RunEnd, RunStart,
    Signer, Status, Tally, TaskResult, WriterOptions,
};
use seibi::plan::Plan;
use seibi::roster::{PublicKey, Roster, japan_time_zone};

fn keygen(dir: &Path, name: &str) {
    fs::create_dir_all(dir).expect("key dir");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
        .arg(format!("{name}@test"))
        .arg("-f")
        .arg(dir.join(name))
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The base fixture with keys and a roster (tanaka operator, sato approver).
fn project() -> (tempfile::TempDir, Roster) {
    let dir = overlay_project(None);
    let keys = dir.path().join("keys");
    keygen(&keys, "tanaka");
    keygen(&keys, "sato");
    let key = |n: &str| {
        fs::read_to_string(keys.join(format!("{n}.pub")))
            .expect("pub")
            .trim()
            .to_string()
    };
    fs::write(
        dir.path().join("roster.yml"),
        format!(
            "people:\n  - id: tanaka\n    name: 田中 太郎\n    organisation: 保守委託先\n    role: operator\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n  - id: sato\n    name: 佐藤 花子\n    organisation: 情報政策課\n    role: approver\n    key: {}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n",
            key("tanaka"),
            key("sato")
        ),
    )
    .expect("roster");
    let roster = Roster::load(&dir.path().join("roster.yml")).expect("roster loads");
    (dir, roster)
}

fn jst(at: Timestamp) -> String {
    at.to_zoned(japan_time_zone().clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A section's rows: its table, or its key/value pairs as a two-column table.
fn rows_of(section: &Section) -> Table {
    match section.key_values() {
        Some(pairs) => pairs.as_table(),
        None => section.table().clone(),
    }
}

fn texts(section: &Section, column: &str) -> Vec<String> {
    let table = rows_of(section);
    let i = table
        .column(column)
        .unwrap_or_else(|| panic!("no column {column} in {}", section.title));
    table.rows.iter().map(|r| r[i].text()).collect()
}

fn section<'a>(doc: &'a Document, id: &str) -> &'a Section {
    doc.section(id)
        .unwrap_or_else(|| panic!("no section {id} in {}", doc.title))
}

fn cell_text(d: Option<&Data>) -> String {
    match d {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        Some(other) => other.to_string(),
    }
}

/// Reads the workbook back and checks it holds the document: sheet names, the title, the
/// summary, and every section's header and cells (numbers as numbers).
fn assert_workbook_holds(bytes: Vec<u8>, doc: &Document) {
    let mut wb = Xlsx::new(Cursor::new(bytes)).expect("a readable workbook");
    let names = wb.sheet_names();
    let mut expected = vec![doc.summary.title.clone()];
    expected.extend(doc.sections.iter().map(|s| s.title.clone()));
    assert_eq!(names, expected);

    let summary = wb
        .worksheet_range(&doc.summary.title)
        .expect("summary sheet");
    assert_eq!(cell_text(summary.get_value((0, 0))), doc.title);
    for (i, flag) in doc.flags.iter().enumerate() {
        assert_eq!(&cell_text(summary.get_value((1 + i as u32, 0))), flag);
    }
    let top = 2 + doc.flags.len() as u32;
    let pairs = doc.summary.key_values().expect("summary pairs");
    assert_eq!(cell_text(summary.get_value((top, 0))), pairs.headings[0]);
    assert_eq!(cell_text(summary.get_value((top, 1))), pairs.headings[1]);
    for (i, (label, value)) in doc.summary_pairs().iter().enumerate() {
        let r = top + 1 + i as u32;
        assert_eq!(&cell_text(summary.get_value((r, 0))), label);
        assert_eq!(cell_text(summary.get_value((r, 1))), value.text());
    }

    for s in &doc.sections {
        let range = wb.worksheet_range(&s.title).expect("section sheet");
        let table = rows_of(s);
        for (c, heading) in table.headings().iter().enumerate() {
            assert_eq!(
                &cell_text(range.get_value((0, c as u32))),
                heading,
                "{}",
                s.title
            );
        }
        for (r, row) in table.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let got = range.get_value((1 + r as u32, c as u32));
                assert_eq!(cell_text(got), cell.text(), "{} row {r} col {c}", s.title);
                if let Cell::Number(n) = cell {
                    assert_eq!(got, Some(&Data::Float(*n as f64)), "{} row {r}", s.title);
                }
            }
        }
        let notes_at = 2 + table.rows.len() as u32;
        for (i, note) in s.paragraphs().iter().enumerate() {
            assert_eq!(&cell_text(range.get_value((notes_at + i as u32, 0))), note);
        }
    }
}

#[test]
fn procedure_document_shows_the_plan_its_approvals_and_operators() {
    let (dir, roster) = project();
    let out = run_seibi(dir.path(), &["plan", "--format", "json", "-o", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan_path = dir.path().join("plan.json");
    let key = dir.path().join("keys/sato");
    let out = run_seibi(
        dir.path(),
        &[
            "approve",
            "plan.json",
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = Plan::from_json(&fs::read_to_string(&plan_path).expect("plan")).expect("plan");
    let generated: Timestamp = "2026-09-30T01:00:00Z".parse().expect("time");
    let reviewed = approval::review(&plan_path, &plan, &roster, Timestamp::now()).expect("review");
    let doc = documents::procedure(&plan, Some(&roster), &reviewed, 1, Language::Ja, generated);

    assert_eq!(doc.title, "作業手順書");
    assert!(doc.flags.is_empty(), "{:?}", doc.flags);
    assert_eq!(
        doc.summary_value("計画ダイジェスト"),
        Some(plan.digest.as_str())
    );
    assert_eq!(
        doc.summary_value("作成日時"),
        Some("2026-09-30 10:00:00 JST")
    );
    let approved = doc.summary_value("承認状況").expect("approval state");
    assert!(
        approved.starts_with("承認済み（1/1）") && approved.contains("佐藤 花子"),
        "{approved}"
    );
    assert_eq!(
        doc.summary_value("予定作業量"),
        Some(format!("{} 端末・分", plan.totals.estimated_minutes).as_str())
    );

    // Jobs: purpose and provenance, in plan order.
    let jobs = section(&doc, "jobs");
    assert_eq!(
        texts(jobs, "作業ID"),
        plan.jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>()
    );
    for (row, job) in jobs.table().rows.iter().zip(&plan.jobs) {
        let col = |h: &str| jobs.table().column(h).expect("column");
        assert_eq!(row[col("件名")].text(), job.title);
        assert_eq!(row[col("種別")].text(), job.kind.name_ja());
        assert!(row[col("根拠")].text().ends_with(&job.provenance.reference));
        assert_eq!(row[col("端末数")], Cell::Number(job.terminals as i64));
        assert_eq!(
            row[col("作業量(端末・分)")],
            Cell::Number(i64::from(job.minutes_per_terminal) * job.terminals as i64)
        );
        assert_eq!(row[col("拠点")].text(), job.sites.join(", "));
    }
    let update = plan
        .jobs
        .iter()
        .find(|j| j.id == "update")
        .expect("update job");
    let row = &jobs.table().rows[plan
        .jobs
        .iter()
        .position(|j| j.id == "update")
        .expect("pos")];
    assert_eq!(
        row[jobs.table().column("根拠").expect("col")].text(),
        "ベンダー通知 V-7"
    );
    assert_eq!(
        row[jobs.table().column("期限").expect("col")].text(),
        update.deadline.expect("deadline").to_string()
    );

    // Targets per site and terminals.
    let sites = section(&doc, "targets");
    assert_eq!(
        texts(sites, "拠点ID"),
        plan.sites.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
    );
    for (row, site) in sites.table().rows.iter().zip(&plan.sites) {
        let col = |h: &str| sites.table().column(h).expect("column");
        assert_eq!(row[col("拠点名")].text(), site.name);
        assert_eq!(row[col("台数")], Cell::Number(site.terminals.len() as i64));
        assert_eq!(
            row[col("同時作業数")],
            Cell::Number(i64::from(site.capacity))
        );
        assert_eq!(
            row[col("作業量(端末・分)")],
            Cell::Number(site.estimated_minutes as i64)
        );
        // With room for every terminal at once, the site takes as long as its longest terminal.
        if site.capacity as usize >= site.terminals.len() {
            let longest = site
                .terminals
                .iter()
                .map(|t| t.estimated_minutes)
                .max()
                .expect("one");
            assert_eq!(row[col("見込み所要時間(分)")], Cell::Number(longest as i64));
        }
        let ids: Vec<&str> = site.terminals.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(row[col("対象端末")].text(), ids.join(", "));
    }
    let terminals = section(&doc, "terminals");
    let all: Vec<_> = plan.sites.iter().flat_map(|s| &s.terminals).collect();
    assert_eq!(
        texts(terminals, "端末"),
        all.iter().map(|t| t.id.clone()).collect::<Vec<_>>()
    );
    for (row, t) in terminals.table().rows.iter().zip(&all) {
        assert_eq!(
            row[terminals.table().column("タスク数").expect("col")],
            Cell::Number(t.tasks.len() as i64)
        );
    }

    // Steps, in the order they run on a terminal that has every task of the job.
    let steps = section(&doc, "steps");
    let rollback = section(&doc, "rollback");
    assert_eq!(steps.table().rows.len(), rollback.table().rows.len());
    for job in &plan.jobs {
        let widest = all
            .iter()
            .max_by_key(|t| t.tasks.iter().filter(|x| x.job == job.id).count())
            .expect("a terminal");
        let expected: Vec<&str> = widest
            .tasks
            .iter()
            .filter(|x| x.job == job.id)
            .map(|x| x.action.as_str())
            .collect();
        let got: Vec<String> = steps
            .table()
            .rows
            .iter()
            .filter(|r| r[0].text() == job.id)
            .map(|r| r[steps.table().column("操作").expect("col")].text())
            .collect();
        assert_eq!(got, expected, "steps of {}", job.id);
        for task in widest.tasks.iter().filter(|x| x.job == job.id) {
            let runs = all
                .iter()
                .flat_map(|t| &t.tasks)
                .filter(|x| x.key == task.key && x.skip.is_none())
                .count();
            let row = steps
                .table()
                .rows
                .iter()
                .find(|r| r[0].text() == job.id && r[2].text().starts_with(&task.name))
                .expect("step row");
            assert_eq!(
                row[steps.table().column("実施端末数").expect("col")],
                Cell::Number(runs as i64)
            );
            assert_eq!(
                row[steps.table().column("前提").expect("col")].text(),
                task.needs.join(", ")
            );
        }
    }
    let lock = steps
        .table()
        .rows
        .iter()
        .find(|r| r[2].text() == "Screen lock on counters")
        .expect("lock step");
    assert!(
        lock[7]
            .text()
            .starts_with("1 台（when `'counter' in terminal.groups` is false"),
        "{:?}",
        lock[7]
    );
    // Rollback follows the action.
    for row in &rollback.table().rows {
        let how = row[4].text();
        match row[3].text().as_str() {
            "file" | "template" => assert!(how.contains(".seibi-<実行ID>.bak"), "{how}"),
            "package" => assert!(
                how.contains("juminhyo-viewer の変更前の版を再導入"),
                "{how}"
            ),
            "command" => assert!(how.contains("手動"), "{how}"),
            other => panic!("unexpected action {other}"),
        }
    }
    let ntp = rollback
        .table()
        .rows
        .iter()
        .find(|r| r[2].text() == "Time source")
        .expect("ntp rollback");
    assert!(
        ntp[4]
            .text()
            .contains("/etc/seibi/ntp.conf.seibi-<実行ID>.bak")
    );

    // Operators from the roster (approvers are not operators); approvals with the key.
    let operators = section(&doc, "operators");
    assert_eq!(texts(operators, "ID"), ["tanaka"]);
    assert_eq!(texts(operators, "氏名"), ["田中 太郎"]);
    assert_eq!(texts(operators, "状態"), ["有効"]);
    let approvals = section(&doc, "approvals");
    let sato = PublicKey::read_file(&dir.path().join("keys/sato.pub")).expect("key");
    assert_eq!(texts(approvals, "承認者ID"), ["sato"]);
    assert_eq!(texts(approvals, "鍵"), [sato.fingerprint()]);
    assert_eq!(texts(approvals, "検証"), ["有効"]);
    assert_eq!(
        texts(approvals, "承認日時(JST)"),
        [reviewed[0].outcome.as_ref().expect("valid").time_jst()]
    );

    // Pinned inputs.
    let inputs = section(&doc, "inputs");
    let hashes = texts(inputs, "SHA-256・版");
    assert_eq!(hashes[0], plan.inputs.inventory_sha256);
    for f in plan.inputs.playbooks.iter().chain(&plan.inputs.templates) {
        let i = texts(inputs, "名前")
            .iter()
            .position(|n| *n == f.path)
            .expect("listed");
        assert_eq!(hashes[i], f.sha256);
    }
    assert!(texts(inputs, "名前").contains(&"syslog_token".to_string()));

    // Markdown has every section; English has the same layout.
    let md = documents::to_markdown(&doc);
    assert!(md.starts_with("# 作業手順書\n\n## 概要\n"), "{md}");
    for s in &doc.sections {
        assert!(md.contains(&format!("\n## {}\n", s.title)), "{}", s.title);
    }
    assert!(md.contains(&format!("| 計画ダイジェスト | {} |", plan.digest)));
    let en = documents::procedure(&plan, Some(&roster), &reviewed, 1, Language::En, generated);
    assert_eq!(en.title, "Work procedure");
    let ids = |d: &Document| d.sections.iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(&en), ids(&doc));
    assert_eq!(en.summary_value("Plan digest"), Some(plan.digest.as_str()));

    // The workbook holds the same, cell by cell.
    assert_workbook_holds(documents::to_xlsx(&doc).expect("xlsx"), &doc);

    // Without approvals the document says so; an invalid line is flagged.
    let unapproved = documents::procedure(&plan, Some(&roster), &[], 2, Language::Ja, generated);
    assert_eq!(unapproved.summary_value("承認状況"), Some("未承認（0/2）"));
    fs::write(
        approval::approvals_path(&plan_path),
        fs::read_to_string(approval::approvals_path(&plan_path))
            .expect("approvals")
            .replace("\"approver\":\"sato\"", "\"approver\":\"kato\""),
    )
    .expect("edit");
    let reviewed = approval::review(&plan_path, &plan, &roster, Timestamp::now()).expect("review");
    let flagged = documents::procedure(&plan, Some(&roster), &reviewed, 1, Language::Ja, generated);
    assert_eq!(flagged.flags.len(), 1, "{:?}", flagged.flags);
    assert!(texts(section(&flagged, "approvals"), "検証")[0].starts_with("無効: "));

    // The command line writes both formats.
    let out = run_seibi(
        dir.path(),
        &["report", "procedure", "plan.json", "-o", "手順書.xlsx"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = fs::read(dir.path().join("手順書.xlsx")).expect("xlsx written");
    let wb = Xlsx::new(Cursor::new(bytes)).expect("workbook");
    assert_eq!(wb.sheet_names()[0], "概要");
    let out = run_seibi(
        dir.path(),
        &["report", "procedure", "plan.json", "--lang", "en"],
    );
    assert!(
        out.stdout.starts_with("# Work procedure\n"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// Journals for the result and monthly reports.

/// One task on one terminal, as a journal will hold it.
#[derive(Clone)]
struct Unit {
    terminal: &'static str,
    job: &'static str,
    task: &'static str,
    action: &'static str,
    change: &'static str,
    status: Status,
    error: Option<&'static str>,
}

const fn unit(
    terminal: &'static str,
    job: &'static str,
    task: &'static str,
    action: &'static str,
    change: &'static str,
    status: Status,
    error: Option<&'static str>,
) -> Unit {
    Unit {
        terminal,
        job,
        task,
        action,
        change,
        status,
        error,
    }
}

struct RunSpec {
    id: &'static str,
    /// UTC start.
    start: &'static str,
    units: Vec<Unit>,
    rotations: Vec<(&'static str, &'static str, &'static str)>,
    approver: Option<&'static str>,
    unapproved: Option<&'static str>,
}

/// The runs: two in October fixed by later ones, an unapproved one, one in September.
fn runs() -> Vec<RunSpec> {
    use Status::*;
    vec![
        RunSpec {
            id: "2026-09-20-chuo",
            start: "2026-09-20T01:00:00Z",
            units: vec![unit(
                "chuo-t01",
                "settings",
                "ntp",
                "file",
                "create /etc/seibi/ntp.conf",
                Changed,
                None,
            )],
            rotations: vec![],
            approver: Some("sato"),
            unapproved: None,
        },
        RunSpec {
            id: "2026-10-05-chuo",
            start: "2026-10-05T01:00:00Z",
            units: vec![
                unit(
                    "chuo-t01",
                    "update",
                    "install",
                    "package",
                    "juminhyo-viewer 2.4.0 -> 2.4.1",
                    Changed,
                    None,
                ),
                unit(
                    "chuo-t02",
                    "settings",
                    "ntp",
                    "file",
                    "update /etc/seibi/ntp.conf",
                    Failed,
                    Some("permission denied: /etc/seibi"),
                ),
            ],
            rotations: vec![("chuo-t01", "localadmin", "admin/chuo-t01")],
            approver: Some("sato"),
            unapproved: None,
        },
        RunSpec {
            id: "2026-10-06-chuo",
            start: "2026-10-06T01:00:00Z",
            units: vec![
                unit(
                    "chuo-t02",
                    "settings",
                    "ntp",
                    "file",
                    "update /etc/seibi/ntp.conf",
                    Changed,
                    None,
                ),
                unit(
                    "chuo-t01",
                    "inspection",
                    "facts",
                    "inspect",
                    "disk / 45% used; juminhyo-viewer 2.4.1",
                    Ok,
                    None,
                ),
                unit(
                    "kita-t01",
                    "password",
                    "rotate",
                    "password",
                    "password of localadmin",
                    Changed,
                    None,
                ),
                // Fails, then succeeds later in the same run (resumed).
                unit(
                    "kita-t01",
                    "settings",
                    "ntp",
                    "file",
                    "update /etc/seibi/ntp.conf",
                    Failed,
                    Some("disk full"),
                ),
                unit(
                    "kita-t01",
                    "settings",
                    "ntp",
                    "file",
                    "update /etc/seibi/ntp.conf",
                    Changed,
                    None,
                ),
            ],
            rotations: vec![],
            approver: Some("sato"),
            unapproved: None,
        },
        RunSpec {
            id: "2026-10-07-kita",
            start: "2026-10-07T01:00:00Z",
            units: vec![unit(
                "kita-t02",
                "update",
                "install",
                "package",
                "",
                Unreachable,
                Some("could not connect to kita-t02"),
            )],
            rotations: vec![],
            approver: None,
            unapproved: Some("窓口端末の緊急修正"),
        },
    ]
}

/// Writes `spec` as a signed journal in `logs`, one second per line from its start.
fn write_journal(logs: &Path, key: &Path, spec: &RunSpec) -> PathBuf {
    let start: Timestamp = spec.start.parse().expect("time");
    let tick = AtomicI64::new(start.as_second());
    let clock: journal::Clock = Box::new(move || {
        Timestamp::from_second(tick.fetch_add(1, Ordering::SeqCst)).expect("in range")
    });
    let options = WriterOptions {
        clock: Some(clock),
        ..WriterOptions::default()
    };
    let run_start = RunStart {
        run: spec.id.into(),
        plan_digest: format!("sha256:plan-of-{}", spec.id),
        seibi_version: "0.1.0".into(),
        host: "ctl01".into(),
        unapproved_reason: spec.unapproved.map(str::to_string),
        selection: None,
    };
    let signer = Signer::from_key_file("tanaka", key, None).expect("signer");
    let mut w = JournalWriter::create_with(logs, run_start, signer, options).expect("create");
    if let Some(approver) = spec.approver {
        w.append(Record::Approval(Approval {
            plan_digest: format!("sha256:plan-of-{}", spec.id),
            approver: approver.into(),
            reason: None,
            approved_at: Some("2026-09-01T00:00:00.000Z".into()),
            key: None,
            signature: None,
        }))
        .expect("approval");
    }
    let mut tally = Tally::default();
    for u in &spec.units {
        let intent = (u.status != Status::Unreachable).then(|| {
            w.append(Record::Intent(Intent {
                terminal: u.terminal.into(),
                host_key: "SHA256:hostkey".into(),
                job: u.job.into(),
                task: u.task.into(),
                action: u.action.into(),
                change: u.change.into(),
            }))
            .expect("intent")
            .0
        });
        w.append(Record::Result(TaskResult {
            terminal: u.terminal.into(),
            job: u.job.into(),
            task: u.task.into(),
            intent,
            status: u.status,
            changed: u.status == Status::Changed,
            stdout: OutputDigest::of(b""),
            stderr: OutputDigest::of(b""),
            duration_ms: 2_500,
            error: u.error.map(str::to_string),
        }))
        .expect("result");
        tally.add(u.status);
    }
    for (terminal, account, secret) in &spec.rotations {
        w.append(Record::Rotation(Rotation {
            terminal: (*terminal).into(),
            account: (*account).into(),
            secret: (*secret).into(),
            reason: Some("四半期ごとの変更".into()),
            began_in: None,
        }))
        .expect("rotation");
    }
    w.finish(RunEnd {
        tally,
        stopped: None,
    })
    .expect("finish");
    logs.join(format!("{}.jsonl", spec.id))
}

/// The time of the result line of `terminal`/`job`/`task` with `status` in a journal.
fn result_time(path: &Path, terminal: &str, job: &str, status: Status) -> Timestamp {
    fs::read_to_string(path)
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str::<Line>(l).expect("line"))
        .find_map(|l| match l.record {
            Record::Result(r) if r.terminal == terminal && r.job == job && r.status == status => {
                Some(l.time.parse().expect("time"))
            }
            _ => None,
        })
        .expect("that result")
}

struct Logs {
    dir: tempfile::TempDir,
    roster: Roster,
    specs: Vec<RunSpec>,
}

impl Logs {
    fn new() -> Self {
        let (dir, roster) = project();
        let key = dir.path().join("keys/tanaka");
        let specs = runs();
        for spec in &specs {
            write_journal(&dir.path().join("logs"), &key, spec);
        }
        Self { dir, roster, specs }
    }

    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    fn journal(&self, id: &str) -> PathBuf {
        self.logs().join(format!("{id}.jsonl"))
    }

    fn titles() -> BTreeMap<String, String> {
        [
            ("update", "Viewer update"),
            ("settings", "Time and log settings"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }
}

#[test]
fn result_report_shows_steps_failures_recoveries_and_verification() {
    let l = Logs::new();
    let spec = &l.specs[1];
    let path = l.journal(spec.id);
    let doc = documents::result(&path, &l.logs(), &l.roster, &Logs::titles(), Language::Ja)
        .expect("report");
    assert_eq!(doc.title, "作業報告書");
    assert!(doc.flags.is_empty(), "{:?}", doc.flags);
    assert_eq!(doc.summary_value("実行ID"), Some(spec.id));
    assert_eq!(
        doc.summary_value("計画ダイジェスト"),
        Some(format!("sha256:plan-of-{}", spec.id).as_str())
    );
    assert_eq!(
        doc.summary_value("開始(JST)"),
        Some(jst(spec.start.parse().expect("t")).as_str())
    );
    assert_eq!(doc.summary_value("作業者"), Some("田中 太郎 (tanaka)"));
    assert!(
        doc.summary_value("承認")
            .expect("approval")
            .contains("佐藤 花子 (sato)")
    );
    assert_eq!(doc.summary_value("記録の検証"), Some("正常"));
    assert_eq!(
        doc.summary_value("結果"),
        Some("変更 1、正常（変更なし） 0、失敗 1、接続不可 0、対象外 0")
    );

    // Every unit of the run, in order, with its time in JST.
    let steps = section(&doc, "steps");
    assert_eq!(
        texts(steps, "端末"),
        spec.units.iter().map(|u| u.terminal).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(steps, "変更内容"),
        spec.units.iter().map(|u| u.change).collect::<Vec<_>>()
    );
    assert_eq!(texts(steps, "結果"), ["変更", "失敗"]);
    assert_eq!(
        texts(steps, "件名"),
        ["Viewer update", "Time and log settings"]
    );
    assert_eq!(
        texts(steps, "作業者"),
        ["田中 太郎 (tanaka)", "田中 太郎 (tanaka)"]
    );
    assert_eq!(texts(steps, "所要時間(秒)"), ["2.5", "2.5"]);
    let first = result_time(&path, "chuo-t01", "update", Status::Changed);
    // The step's time is its intent's, one second before its result.
    assert_eq!(
        texts(steps, "日時(JST)")[0],
        jst(first
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .expect("t"))
    );
    assert_eq!(texts(steps, "エラー")[1], "permission denied: /etc/seibi");

    // The failure on chuo-t02 was put right by the next day's run.
    let failures = section(&doc, "failures");
    assert_eq!(texts(failures, "端末"), ["chuo-t02"]);
    assert_eq!(
        texts(failures, "対応"),
        ["再実行（実行ID 2026-10-06-chuo）で成功"]
    );
    let fixed = result_time(
        &l.journal("2026-10-06-chuo"),
        "chuo-t02",
        "settings",
        Status::Changed,
    );
    assert_eq!(texts(failures, "対応日時(JST)"), [jst(fixed)]);
    let terminals = section(&doc, "terminals");
    assert_eq!(texts(terminals, "端末"), ["chuo-t01", "chuo-t02"]);
    assert_eq!(texts(terminals, "状態"), ["完了", "回復済み"]);
    assert_eq!(texts(terminals, "失敗"), ["0", "1"]);

    let events = section(&doc, "events");
    assert_eq!(texts(events, "種別"), ["承認", "パスワード変更"]);
    assert_eq!(texts(events, "端末"), ["", "chuo-t01"]);
    assert!(texts(events, "内容")[1].contains("localadmin"));

    let verification = section(&doc, "verification");
    let report = journal::verify(&path, &l.roster);
    assert!(report.is_ok());
    let items = texts(verification, "項目");
    let values = texts(verification, "内容");
    let value = |k: &str| values[items.iter().position(|i| i == k).expect(k)].clone();
    assert_eq!(value("結果"), "正常");
    assert_eq!(value("末尾ハッシュ"), report.head.expect("head"));
    assert_eq!(value("レコード数"), report.records.to_string());

    // Retried in the same (resumed) run.
    let doc = documents::result(
        &l.journal("2026-10-06-chuo"),
        &l.logs(),
        &l.roster,
        &Logs::titles(),
        Language::Ja,
    )
    .expect("report");
    let failures = section(&doc, "failures");
    assert_eq!(texts(failures, "端末"), ["kita-t01"]);
    assert_eq!(texts(failures, "対応"), ["同じ実行を再開して成功"]);

    // The unapproved run is flagged, its unreachable terminal is open.
    let doc = documents::result(
        &l.journal("2026-10-07-kita"),
        &l.logs(),
        &l.roster,
        &Logs::titles(),
        Language::Ja,
    )
    .expect("report");
    assert_eq!(
        doc.flags[0],
        "事前承認なしで実施された作業です（理由: 窓口端末の緊急修正）"
    );
    assert!(
        doc.flags[1].contains("未解決の失敗が 1 件"),
        "{:?}",
        doc.flags
    );
    assert_eq!(
        doc.summary_value("承認"),
        Some("未承認で実施（理由: 窓口端末の緊急修正）")
    );
    assert_eq!(
        texts(section(&doc, "failures"), "対応"),
        ["未対応（要対応）"]
    );
    assert_eq!(texts(section(&doc, "terminals"), "状態"), ["要対応"]);
    let md = documents::to_markdown(&doc);
    assert!(md.contains("> **事前承認なしで実施された作業です（理由: 窓口端末の緊急修正）**"));
    assert_workbook_holds(documents::to_xlsx(&doc).expect("xlsx"), &doc);

    // A tampered journal is reported as such.
    let copy = l.dir.path().join("tampered");
    fs::create_dir_all(&copy).expect("dir");
    let text = fs::read_to_string(&path).expect("journal");
    fs::write(
        copy.join("x.jsonl"),
        text.replace("permission denied", "it worked"),
    )
    .expect("write");
    let doc = documents::result(
        &copy.join("x.jsonl"),
        &copy,
        &l.roster,
        &Logs::titles(),
        Language::En,
    )
    .expect("report");
    assert!(
        doc.flags
            .iter()
            .any(|f| f.starts_with("The journal does not verify")),
        "{:?}",
        doc.flags
    );
    assert_ne!(doc.summary_value("Journal verification"), Some("verified"));
    let problems = texts(section(&doc, "verification"), "Item");
    assert!(problems.iter().any(|p| p == "Problem"));

    // The command line finds the run by id.
    let out = run_seibi(
        l.dir.path(),
        &["report", "result", "2026-10-05-chuo", "-o", "r.xlsx"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let wb = Xlsx::new(Cursor::new(
        fs::read(l.dir.path().join("r.xlsx")).expect("xlsx"),
    ))
    .expect("wb");
    assert_eq!(
        wb.sheet_names(),
        [
            "概要",
            "作業内容",
            "端末別結果",
            "障害と対応",
            "その他の記録",
            "記録の検証"
        ]
    );
}

#[test]
fn monthly_report_counts_the_month_against_the_previous_one() {
    let l = Logs::new();
    let collected = l.dir.path().join("collected");
    let facts = collected.join("chuo-t01/2026-10-06-chuo");
    fs::create_dir_all(&facts).expect("dir");
    fs::write(facts.join("facts.json"), "{}").expect("write");
    fs::write(facts.join("df.txt"), "45%").expect("write");
    let generated: Timestamp = "2026-11-01T00:00:00Z".parse().expect("t");
    let month: Month = "2026-10".parse().expect("month");
    let doc = documents::monthly(
        &l.logs(),
        month,
        &l.roster,
        &Logs::titles(),
        Some(&collected),
        Language::Ja,
        generated,
    )
    .expect("report");
    assert_eq!(doc.title, "月次報告書（2026年10月）");

    let october: Vec<&RunSpec> = l
        .specs
        .iter()
        .filter(|s| s.start.starts_with("2026-10"))
        .collect();
    let september: Vec<&RunSpec> = l
        .specs
        .iter()
        .filter(|s| s.start.starts_with("2026-09"))
        .collect();
    let units = |runs: &[&RunSpec]| {
        runs.iter()
            .flat_map(|s| s.units.clone())
            .collect::<Vec<Unit>>()
    };
    let (oct, sep) = (units(&october), units(&september));

    // Runs: October's, in order, with approval and verification.
    let runs = section(&doc, "runs");
    assert_eq!(
        texts(runs, "実行ID"),
        october.iter().map(|s| s.id).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(runs, "承認"),
        october
            .iter()
            .map(|s| match s.unapproved {
                Some(r) => format!("未承認（理由: {r}）"),
                None => "佐藤 花子 (sato)".to_string(),
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(texts(runs, "記録の検証"), ["正常", "正常", "正常"]);
    assert_eq!(
        doc.flags,
        ["実行 2026-10-07-kita は事前承認なしで実施されました（理由: 窓口端末の緊急修正）"]
    );

    // Jobs and terminals, counted from the units.
    let jobs = section(&doc, "jobs");
    let mut job_ids: Vec<&str> = oct.iter().map(|u| u.job).collect();
    job_ids.sort_unstable();
    job_ids.dedup();
    assert_eq!(texts(jobs, "作業ID"), job_ids);
    for (i, job) in job_ids.iter().enumerate() {
        let count = |s: Status| {
            oct.iter()
                .filter(|u| u.job == *job && u.status == s)
                .count() as i64
        };
        let row = &jobs.table().rows[i];
        assert_eq!(
            row[jobs.table().column("変更").expect("c")],
            Cell::Number(count(Status::Changed)),
            "{job}"
        );
        assert_eq!(
            row[jobs.table().column("失敗").expect("c")],
            Cell::Number(count(Status::Failed)),
            "{job}"
        );
        assert_eq!(
            row[jobs.table().column("接続不可").expect("c")],
            Cell::Number(count(Status::Unreachable)),
            "{job}"
        );
    }
    assert_eq!(
        texts(jobs, "件名")[job_ids.iter().position(|j| *j == "update").expect("update")],
        "Viewer update"
    );
    let terminals = section(&doc, "terminals");
    let mut touched: Vec<&str> = oct.iter().map(|u| u.terminal).collect();
    touched.sort_unstable();
    touched.dedup();
    assert_eq!(texts(terminals, "端末"), touched);

    // Rotations: the rotation record and the password step.
    let rotations = section(&doc, "rotations");
    assert_eq!(texts(rotations, "端末"), ["chuo-t01", "kita-t01"]);
    assert_eq!(texts(rotations, "アカウント")[0], "localadmin");
    assert_eq!(texts(rotations, "保存先シークレット")[0], "admin/chuo-t01");

    // Failures, and how each was put right.
    let failures = section(&doc, "failures");
    let failed: Vec<&Unit> = oct
        .iter()
        .filter(|u| matches!(u.status, Status::Failed | Status::Unreachable))
        .collect();
    assert_eq!(
        texts(failures, "端末"),
        failed.iter().map(|u| u.terminal).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(failures, "対応"),
        [
            "再実行（実行ID 2026-10-06-chuo）で成功",
            "同じ実行を再開して成功",
            "未対応（要対応）"
        ]
    );

    // Inspections with their findings and collected files.
    let inspections = section(&doc, "inspections");
    let inspected: Vec<&Unit> = oct.iter().filter(|u| u.action == "inspect").collect();
    assert_eq!(
        texts(inspections, "所見"),
        inspected.iter().map(|u| u.change).collect::<Vec<_>>()
    );
    assert_eq!(texts(inspections, "収集ファイル数"), ["2"]);

    // Against September.
    let trend = section(&doc, "trend");
    let measure = |name: &str| -> (i64, i64, String) {
        let row = trend
            .table()
            .rows
            .iter()
            .find(|r| r[0].text() == name)
            .expect(name);
        match (&row[1], &row[2]) {
            (Cell::Number(a), Cell::Number(b)) => (*a, *b, row[3].text()),
            other => panic!("{other:?}"),
        }
    };
    let changed = |u: &[Unit]| u.iter().filter(|x| x.status == Status::Changed).count() as i64;
    let failures_of = |u: &[Unit]| {
        u.iter()
            .filter(|x| matches!(x.status, Status::Failed | Status::Unreachable))
            .count() as i64
    };
    let worked = |u: &[Unit]| {
        let mut t: Vec<&str> = u
            .iter()
            .filter(|x| matches!(x.status, Status::Ok | Status::Changed | Status::Failed))
            .map(|x| x.terminal)
            .collect();
        t.sort_unstable();
        t.dedup();
        t.len() as i64
    };
    assert_eq!(
        measure("実行数"),
        (
            october.len() as i64,
            september.len() as i64,
            format!("{:+}", october.len() as i64 - september.len() as i64)
        )
    );
    assert_eq!(measure("変更したタスク").0, changed(&oct));
    assert_eq!(measure("変更したタスク").1, changed(&sep));
    assert_eq!(measure("失敗").0, failures_of(&oct));
    assert_eq!(measure("失敗").1, failures_of(&sep));
    assert_eq!(measure("うち回復").0, 2);
    assert_eq!(measure("作業した端末").0, worked(&oct));
    assert_eq!(measure("作業した端末").1, worked(&sep));
    assert_eq!(measure("パスワード変更").0, 2);
    assert_eq!(measure("未承認の実行"), (1, 0, "+1".to_string()));
    assert_eq!(
        doc.summary_value("実行数"),
        Some(october.len().to_string().as_str())
    );
    assert_eq!(doc.summary_value("記録の検証"), Some("すべて正常"));

    assert_workbook_holds(documents::to_xlsx(&doc).expect("xlsx"), &doc);
    let md = documents::to_markdown(&doc);
    for s in &doc.sections {
        assert!(md.contains(&format!("\n## {}\n", s.title)), "{}", s.title);
    }

    // September alone: one run, nothing the month before.
    let doc = documents::monthly(
        &l.logs(),
        month.previous(),
        &l.roster,
        &Logs::titles(),
        None,
        Language::En,
        generated,
    )
    .expect("report");
    assert_eq!(
        texts(section(&doc, "runs"), "Run"),
        september.iter().map(|s| s.id).collect::<Vec<_>>()
    );
    assert_eq!(
        section(&doc, "inspections").paragraphs(),
        ["No inspections this month."]
    );
    assert!(doc.flags.is_empty());

    // The command line, and the xlsx file it writes.
    let out = run_seibi(
        l.dir.path(),
        &["report", "monthly", "2026-10", "-o", "月次.xlsx"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: 実行 2026-10-07-kita は事前承認なし"),
        "{}",
        out.stderr
    );
    let mut wb = Xlsx::new(Cursor::new(
        fs::read(l.dir.path().join("月次.xlsx")).expect("xlsx"),
    ))
    .expect("wb");
    let trend = wb.worksheet_range("前月比").expect("trend sheet");
    assert_eq!(cell_text(trend.get_value((1, 0))), "実行数");
    assert_eq!(
        trend.get_value((1, 1)),
        Some(&Data::Float(october.len() as f64))
    );
    let out = run_seibi(l.dir.path(), &["report", "monthly", "2026-13"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("write it as YYYY-MM"), "{}", out.stderr);
}
