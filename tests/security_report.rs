//! セキュリティ保全状況報告書 from signed journals: the roster and its changes, a rotation and a
//! reveal, an unapproved run and work outside office hours with their reasons, a media scan (and
//! a patch step without one), a host key that changed since the month before, and a tampered
//! journal; Markdown in Japanese, the workbook in English read back with calamine.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex};

use calamine::{Data, Reader, Xlsx};
use jiff::{Timestamp, ToSpan};
use seibi::journal::record::{
    Intent, MediaScan, OutputDigest, OutsideWindow, Reveal, Rotation, RunEnd, RunStart, Status,
    TaskResult,
};
use seibi::journal::{JournalWriter, Record, Signer, WriterOptions};
use seibi::roster::SigningKey;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A signed journal by the demo operator, started at `at` (Japan time), with `records`, each a
/// second after the one before.
fn journal(logs: &Path, start: RunStart, at: &str, records: Vec<Record>) {
    let time: Timestamp = format!("{at}+09:00[Asia/Tokyo]")
        .parse::<jiff::Zoned>()
        .expect("time")
        .timestamp();
    let clock = Arc::new(Mutex::new(time));
    let key = SigningKey::read_file(&repo().join("demo/demo-operator_ed25519"), None).expect("key");
    let mut w = JournalWriter::create_with(
        logs,
        start,
        Signer::from_key("demo-operator", key),
        WriterOptions {
            clock: Some(Box::new(move || {
                let mut t = clock.lock().expect("clock");
                *t = t.checked_add(1.second()).expect("time");
                *t
            })),
            ..Default::default()
        },
    )
    .expect("journal");
    for r in records {
        w.append(r).expect("append");
    }
    w.finish(RunEnd::default()).expect("finish");
}

fn patch(terminal: &str, host_key: &str, intent_seq: u64) -> Vec<Record> {
    vec![
        Record::Intent(Intent {
            terminal: terminal.into(),
            host_key: host_key.into(),
            job: "2026-10-openssl-patch".into(),
            task: "install-patch".into(),
            action: "patch".into(),
            change: "install openssl-fix 3.0.15-1 (has 3.0.14-1)".into(),
        }),
        Record::Result(TaskResult {
            terminal: terminal.into(),
            job: "2026-10-openssl-patch".into(),
            task: "install-patch".into(),
            intent: Some(intent_seq),
            status: Status::Changed,
            changed: true,
            stdout: OutputDigest::of(b""),
            stderr: OutputDigest::of(b""),
            duration_ms: 5000,
            error: None,
        }),
    ]
}

fn example_with_journals() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(repo().join("roster.yml"), dir.path().join("roster.yml")).expect("roster");
    let logs = dir.path().join("logs");
    // September: kita-t02 with its old host key.
    journal(
        &logs,
        RunStart::new("r-sep", "sha256:sep"),
        "2026-09-10T10:00:00",
        patch("kita-t02", "SHA256:old-key", 3),
    );
    // October: an unapproved run outside office hours, on a new host key, with a scan and a
    // rotation; kita-t03 patched without a scan record.
    let mut start = RunStart::new("r-oct", "sha256:oct");
    start.unapproved_reason = Some("緊急の脆弱性対応".into());
    let mut records = vec![Record::OutsideWindow(OutsideWindow {
        reason: "夜間メンテナンス枠".into(),
    })];
    records.extend(patch("kita-t02", "SHA256:new-key", 4));
    records.push(Record::MediaScan(MediaScan {
        terminal: "kita-t02".into(),
        job: "2026-10-openssl-patch".into(),
        task: "install-patch".into(),
        artifact: "openssl-fix".into(),
        sha256: "59ee".into(),
        scanner: "clamscan".into(),
        version: "ClamAV 1.4.6/27450/Mon Oct 12 09:12:01 2026".into(),
        database: Some("27450".into()),
        result: "clean".into(),
    }));
    records.extend(patch("kita-t03", "SHA256:t03", 8));
    records.push(Record::Rotation(Rotation {
        terminal: "kita-t02".into(),
        account: "admin".into(),
        secret: "admin/kita-t02".into(),
        reason: Some("2026-admin-password-rotation".into()),
        began_in: None,
    }));
    journal(&logs, start, "2026-10-13T19:00:00", records);
    journal(
        &logs,
        RunStart::new("r-reveal", "none"),
        "2026-10-14T11:00:00",
        vec![Record::Reveal(Reveal {
            terminal: Some("kita-t02".into()),
            secret: "admin/kita-t02".into(),
            reason: "窓口端末の障害対応".into(),
        })],
    );
    journal(
        &logs,
        RunStart::new("r-tampered", "sha256:t"),
        "2026-10-20T10:00:00",
        patch("kita-t04", "SHA256:t04", 3),
    );
    let tampered = logs.join("r-tampered.jsonl");
    let text = std::fs::read_to_string(&tampered).expect("read");
    std::fs::write(&tampered, text.replace("has 3.0.14-1", "has 3.0.13-1")).expect("write");
    dir
}

#[test]
fn the_security_report_lists_the_month_in_japanese_markdown() {
    let dir = example_with_journals();
    let out = common::run_seibi(dir.path(), &["report", "security", "2026-10", "-o", "s.md"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = std::fs::read_to_string(dir.path().join("s.md")).expect("md");
    for expected in [
        "セキュリティ保全状況報告書（2026年10月）",
        "従事者名簿",
        "デモ 運用者 (DEMO ONLY)",
        // suzuki's contract ended in March: not valid in October.
        "パスワード変更",
        "窓口端末の障害対応",
        "緊急の脆弱性対応",
        "夜間メンテナンス枠",
        "ClamAV 1.4.6/27450/Mon Oct 12 09:12:01 2026",
        "27450",
        "記録なし",
        "SHA256:old-key",
        "SHA256:new-key",
        "1 件に問題あり",
    ] {
        assert!(md.contains(expected), "no `{expected}` in:\n{md}");
    }
    assert!(!md.contains("鈴木 次郎"), "{md}");
    assert!(
        out.stderr.contains("r-oct"),
        "the unapproved run is flagged: {}",
        out.stderr
    );
}

#[test]
fn the_security_workbook_reads_back_in_english() {
    let dir = example_with_journals();
    let out = common::run_seibi(
        dir.path(),
        &[
            "report", "security", "2026-10", "-o", "s.xlsx", "--lang", "en",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = std::fs::read(dir.path().join("s.xlsx")).expect("xlsx");
    let mut wb = Xlsx::new(Cursor::new(bytes)).expect("workbook");
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Roster",
            "Password rotations and reveals",
            "Unapproved or out-of-hours work",
            "Media checks",
            "Host-key changes",
            "Journal verification"
        ]
    );
    let rows = |wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str| -> Vec<Vec<String>> {
        let range = wb.worksheet_range(sheet).expect(sheet);
        range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::Empty => String::new(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    };
    let media = rows(&mut wb, "Media checks");
    let scanned = media
        .iter()
        .find(|r| r.iter().any(|c| c == "kita-t02"))
        .expect("kita-t02's scan");
    assert!(scanned.contains(&"clamscan".to_string()), "{scanned:?}");
    assert!(scanned.contains(&"27450".to_string()), "{scanned:?}");
    assert!(scanned.contains(&"clean".to_string()), "{scanned:?}");
    assert!(scanned.contains(&"changed".to_string()), "{scanned:?}");
    let unscanned = media
        .iter()
        .find(|r| r.iter().any(|c| c == "kita-t03"))
        .expect("kita-t03's patch");
    assert!(
        unscanned.contains(&"not recorded".to_string()),
        "{unscanned:?}"
    );
    let keys = rows(&mut wb, "Host-key changes");
    assert_eq!(keys.len(), 2, "one change: {keys:?}");
    assert_eq!(
        keys[1][1..4],
        ["kita-t02", "SHA256:old-key", "SHA256:new-key"]
    );
    let journals = rows(&mut wb, "Journal verification");
    assert_eq!(journals.len(), 4, "three October journals: {journals:?}");
    let bad: Vec<&Vec<String>> = journals
        .iter()
        .skip(1)
        .filter(|r| r.last().is_some_and(|v| v != "verified"))
        .collect();
    assert_eq!(bad.len(), 1, "{journals:?}");
    assert_eq!(bad[0][0], "r-tampered");
    let exceptions = rows(&mut wb, "Unapproved or out-of-hours work");
    assert_eq!(exceptions.len(), 3, "{exceptions:?}");
}
