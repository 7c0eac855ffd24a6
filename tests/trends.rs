//! Trends in the monthly report, from synthetic inspection facts (`collected/<terminal>/<run>/
//! facts.json` as `inspect` writes them): a disk filling up by five points a month is predicted
//! to cross the threshold, a flat one is not, version drift is listed, and the workbook holds
//! the figures (read back with calamine) and an Excel chart part.

mod common;

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};

fn facts(dir: &Path, terminal: &str, run: &str, at: &str, root_percent: u32, drift: bool) {
    let findings = if drift {
        r#"[{"kind": "package", "name": "juminhyo-viewer", "expected": "2.4.1", "found": "2.3.0"}]"#
    } else {
        "[]"
    };
    let text = format!(
        r#"{{ "terminal": "{terminal}", "run_id": "{run}", "collected_at": "{at}",
  "os": {{ "pretty_name": "Debian GNU/Linux 12 (bookworm)", "version_id": "12" }},
  "kernel": "6.1.0", "hostname": "{terminal}",
  "disks": [ {{ "filesystem": "/dev/sda1", "mount": "/", "size_kib": 100, "used_kib": {root_percent},
               "available_kib": 0, "percent": {root_percent} }} ],
  "packages": {{}}, "files": {{}}, "findings": {findings} }}"#
    );
    let path = dir.join("collected").join(terminal).join(run);
    std::fs::create_dir_all(&path).expect("dir");
    std::fs::write(path.join("facts.json"), text).expect("facts");
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("roster.yml"),
        d.join("roster.yml"),
    )
    .expect("roster");
    std::fs::create_dir_all(d.join("logs")).expect("logs");
    // kita-t02 fills up five points a month: 50 in May ... 75 in October, 80 in November.
    for (i, month) in ["05", "06", "07", "08", "09", "10"].iter().enumerate() {
        let percent = 50 + 5 * i as u32;
        facts(
            d,
            "kita-t02",
            &format!("r-{month}"),
            &format!("2026-{month}-10T01:00:00Z"),
            percent,
            *month == "10",
        );
        facts(
            d,
            "kita-t03",
            &format!("r-{month}"),
            &format!("2026-{month}-10T01:00:00Z"),
            40,
            false,
        );
    }
    // A second reading in October: the month shows the fuller one.
    facts(d, "kita-t03", "r-10b", "2026-10-20T01:00:00Z", 42, false);
    dir
}

#[test]
fn the_monthly_report_predicts_a_filling_disk_and_lists_drift() {
    let dir = project();
    let out = common::run_seibi(
        dir.path(),
        &["report", "monthly", "2026-10", "-o", "m.md", "--lang", "en"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = std::fs::read_to_string(dir.path().join("m.md")).expect("md");
    assert!(
        md.contains("Predicted problem: kita-t02 / reaches 80% in about 1.0 months"),
        "{md}"
    );
    assert!(!md.contains("Predicted problem: kita-t03"), "{md}");
    assert!(md.contains("juminhyo-viewer"), "{md}");

    let out = common::run_seibi(
        dir.path(),
        &[
            "report", "monthly", "2026-10", "-o", "m.xlsx", "--lang", "ja",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = std::fs::read(dir.path().join("m.xlsx")).expect("xlsx");
    // The chart is a part of its own in the package (file names are stored uncompressed).
    let has = |name: &[u8]| bytes.windows(name.len()).any(|w| w == name);
    assert!(
        has(b"xl/charts/chart1.xml"),
        "no chart part in the workbook"
    );
    assert!(!has(b"xl/charts/chart2.xml"), "one chart");
    let mut wb = Xlsx::new(Cursor::new(bytes)).expect("workbook");
    let sheet = wb
        .worksheet_range("ディスク使用率の推移")
        .expect("trend sheet");
    let header: Vec<String> = (0..10)
        .map(|c| {
            sheet
                .get_value((0, c))
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        header,
        [
            "端末",
            "マウント",
            "2026-05",
            "2026-06",
            "2026-07",
            "2026-08",
            "2026-09",
            "2026-10",
            "傾向(ポイント/月)",
            "予測"
        ]
    );
    let t02: Vec<Data> = (0..10)
        .map(|c| sheet.get_value((1, c)).cloned().unwrap_or(Data::Empty))
        .collect();
    assert_eq!(t02[0], Data::String("kita-t02".into()));
    assert_eq!(t02[2], Data::Float(50.0));
    assert_eq!(t02[7], Data::Float(75.0));
    assert_eq!(t02[8], Data::String("+5.0".into()));
    assert_eq!(t02[9], Data::String("約 1.0 か月後に 80% 到達".into()));
    assert_eq!(
        sheet.get_value((2, 7)),
        Some(&Data::Float(42.0)),
        "the fuller October reading"
    );
    assert!(
        matches!(sheet.get_value((2, 9)), None | Some(Data::Empty)),
        "a flat disk has no prediction"
    );
    let drift = wb.worksheet_range("バージョン差異").expect("drift sheet");
    assert_eq!(
        drift.get_value((1, 0)),
        Some(&Data::String("kita-t02".into()))
    );
    assert_eq!(drift.get_value((1, 3)), Some(&Data::String("2.4.1".into())));
    assert_eq!(drift.get_value((1, 4)), Some(&Data::String("2.3.0".into())));
}
