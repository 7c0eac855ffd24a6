//! The 作業手順書 on paper, for the shipped example's October visit with two named crews: the
//! workbook read back with calamine (the timetable per crew and per site with the roster's
//! names and the sites' names, the grouped steps covering every terminal once), its print
//! settings read from the sheets' XML (A4, fit to one page wide, repeated header row, print
//! area, a table narrow enough to print at 8 pt or larger), and LibreOffice's PDF of it, whose
//! every word is at least 8 pt high.

mod common;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use common::run_seibi;
use seibi::plan::Plan;

fn example() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(d: Option<&Data>) -> String {
    match d {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The example's October plan with crews tanaka and demo-operator, and its 作業手順書 (ja).
fn october(dir: &Path) -> (Plan, Vec<u8>, std::path::PathBuf) {
    let plan_path = dir.join("plan.json");
    let xlsx_path = dir.join("作業手順書.xlsx");
    let root = example().to_string_lossy().to_string();
    let out = run_seibi(
        dir,
        &[
            "-C",
            &root,
            "plan",
            "--start",
            "2026-10-01",
            "--crew",
            "tanaka",
            "--crew",
            "demo-operator",
            "-o",
            &plan_path.to_string_lossy(),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run_seibi(
        dir,
        &[
            "-C",
            &root,
            "report",
            "procedure",
            &plan_path.to_string_lossy(),
            "--lang",
            "ja",
            "-o",
            &xlsx_path.to_string_lossy(),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = Plan::from_json(&std::fs::read_to_string(&plan_path).expect("plan")).expect("plan");
    let bytes = std::fs::read(&xlsx_path).expect("xlsx");
    (plan, bytes, xlsx_path)
}

#[test]
fn the_procedure_workbook_holds_the_timetable_and_the_grouped_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, bytes, _) = october(dir.path());
    let crews = plan
        .schedule
        .as_ref()
        .and_then(|s| s.crews.as_ref())
        .expect("the plan has crews");
    assert!(crews.feasible, "{:?}", crews.misses);
    assert_eq!(crews.crews.len(), 2);
    let mut wb = Xlsx::new(Cursor::new(bytes)).expect("workbook");

    // Per crew: one row per crew, site and day, with the roster's names and the site names.
    let range = wb.worksheet_range("日程(班別)").expect("timetable by crew");
    let header: Vec<String> = (0..7).map(|c| text(range.get_value((0, c)))).collect();
    assert_eq!(
        header,
        ["班", "拠点", "日付", "開始", "終了", "端末数", "移動"]
    );
    let site_names: BTreeSet<&str> = plan.sites.iter().map(|s| s.name.as_str()).collect();
    let stint_days: usize = crews
        .crews
        .iter()
        .flat_map(|c| &c.stints)
        .map(|s| s.days.len())
        .sum();
    let mut terminals = 0.0;
    let mut crews_seen = BTreeSet::new();
    for r in 1..=stint_days as u32 {
        let crew = text(range.get_value((r, 0)));
        let site = text(range.get_value((r, 1)));
        crews_seen.insert(crew.clone());
        assert!(
            site_names.contains(site.as_str()),
            "row {r}: `{site}` is not a site name"
        );
        assert!(
            text(range.get_value((r, 2))).starts_with("2026-10-"),
            "row {r}"
        );
        assert!(
            text(range.get_value((r, 3))) < text(range.get_value((r, 4))),
            "row {r}"
        );
        terminals += text(range.get_value((r, 5)))
            .parse::<f64>()
            .expect("a count");
        assert!(
            !text(range.get_value((r, 6))).is_empty() || r > 1,
            "row {r}: travel"
        );
    }
    assert_eq!(terminals as usize, plan.totals.terminals);
    assert_eq!(
        crews_seen.into_iter().collect::<Vec<_>>(),
        [
            "demo-operator (デモ 運用者 (DEMO ONLY))",
            "tanaka (田中 太郎)"
        ]
    );

    // Per site: every site once, in time.
    let range = wb
        .worksheet_range("日程(拠点別)")
        .expect("timetable by site");
    let rows: Vec<String> = (1..=plan.sites.len() as u32)
        .map(|r| text(range.get_value((r, 6))))
        .collect();
    assert!(rows.iter().all(|v| v == "期限内"), "{rows:?}");

    // Grouped steps: every terminal in exactly one group, far fewer groups than terminals.
    let range = wb
        .worksheet_range("作業手順(まとめ)")
        .expect("grouped steps");
    let mut covered = 0;
    let mut groups = 0;
    for r in 1..range.height() as u32 {
        // A group's first step row names it; the notes under the table start with `G` too.
        let label = text(range.get_value((r, 0)));
        if !label.starts_with('G') || text(range.get_value((r, 2))) != "1" {
            continue;
        }
        groups += 1;
        let who = text(range.get_value((r, 1)));
        let count: usize = who
            .rsplit_once(" (")
            .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
            .unwrap_or_else(|| panic!("no count in `{who}`"));
        covered += count;
    }
    assert_eq!(covered, plan.totals.terminals);
    assert!(
        groups >= 2 && groups * 10 < plan.totals.terminals,
        "{groups} groups"
    );
    let notes: Vec<String> = (0..range.height() as u32)
        .map(|r| text(range.get_value((r, 0))))
        .filter(|t| t.contains("台): 同じ"))
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("chuo-t02…t04") && n.contains("同じ15手順")),
        "{notes:#?}"
    );
}

/// One file of the workbook's zip, as text.
fn part(xlsx: &Path, name: &str) -> String {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(xlsx)
        .arg(name)
        .output()
        .expect("unzip runs");
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `name="value"` of the first element `tag` in `xml`.
fn attribute(xml: &str, tag: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag} "))?;
    let element = &xml[start..start + xml[start..].find('>')?];
    let at = element.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(element[at..at + element[at..].find('"')?].to_string())
}

#[test]
fn every_sheet_prints_on_a4_fit_to_width_at_8_pt_or_larger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, bytes, path) = october(dir.path());
    let sheets = Xlsx::new(Cursor::new(bytes))
        .expect("workbook")
        .sheet_names();
    let workbook = part(&path, "xl/workbook.xml");
    for (i, name) in sheets.iter().enumerate() {
        let xml = part(&path, &format!("xl/worksheets/sheet{}.xml", i + 1));
        assert_eq!(
            attribute(&xml, "pageSetup", "paperSize").as_deref(),
            Some("9"),
            "{name}"
        );
        assert_eq!(
            attribute(&xml, "pageSetup", "orientation").as_deref(),
            Some("landscape"),
            "{name}"
        );
        assert_eq!(
            attribute(&xml, "pageSetup", "fitToHeight").as_deref(),
            Some("0"),
            "{name}"
        );
        assert_eq!(
            attribute(&xml, "pageSetUpPr", "fitToPage").as_deref(),
            Some("1"),
            "{name}"
        );
        // Fit to width: the scale is the printable width over the columns' width. Excel's
        // column width w is w x 7 + 5 pixels; landscape A4 has about 988 px between margins.
        let pixels: f64 = xml
            .match_indices("<col ")
            .filter_map(|(at, _)| attribute(&xml[at..], "col", "width"))
            .map(|w| w.parse::<f64>().expect("width") * 7.0 + 5.0)
            .sum();
        let scale = (988.0 / pixels).min(1.0);
        assert!(
            10.5 * scale >= 8.0,
            "{name}: prints at {:.1} pt",
            10.5 * scale
        );
        let quoted = format!("'{name}'!");
        assert!(
            workbook.contains(&format!("_xlnm.Print_Area\" localSheetId=\"{i}\"")),
            "{name}: no print area"
        );
        if i > 0 {
            assert!(
                workbook.contains(&format!("_xlnm.Print_Titles\" localSheetId=\"{i}\"")),
                "{name}: no repeated header row"
            );
        }
        let _ = quoted;
    }
}

#[test]
fn libreoffice_prints_every_page_at_8_pt_or_larger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, _, path) = october(dir.path());
    let out = Command::new("soffice")
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&path)
        .env("HOME", dir.path())
        .output()
        .expect("LibreOffice (soffice) runs: .ci/run installs libreoffice-calc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = path.with_extension("pdf");
    let html = dir.path().join("words.html");
    let out = Command::new("pdftotext")
        .arg("-bbox")
        .arg(&pdf)
        .arg(&html)
        .output()
        .expect("pdftotext runs: .ci/run installs poppler-utils");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = std::fs::read_to_string(&html).expect("words");
    let mut pages = 0;
    let mut checked = 0;
    let mut smallest = f64::MAX;
    for line in words.lines() {
        if line.contains("<page ") {
            pages += 1;
        }
        let (Some(y0), Some(y1)) = (
            attribute(line, "word", "yMin"),
            attribute(line, "word", "yMax"),
        ) else {
            continue;
        };
        let height = y1.parse::<f64>().expect("yMax") - y0.parse::<f64>().expect("yMin");
        smallest = smallest.min(height);
        checked += 1;
    }
    assert!(
        pages >= 8 && checked > 500,
        "{pages} pages, {checked} words"
    );
    // pdftotext's box of a word is about 0.9 of the font size with the fonts LibreOffice
    // substitutes here (unscaled 10.5 pt cells give 9.5 pt boxes), so 8 pt text has boxes of
    // about 7.2 pt; the 3 pt of a sheet squeezed onto one page width would give 2.7.
    let size = smallest / (9.5 / 10.5);
    assert!(size >= 8.0, "the smallest text is about {size:.1} pt");
}

#[test]
fn the_text_plan_lists_each_distinct_step_list_once_and_verbose_lists_every_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = example().to_string_lossy().to_string();
    let grouped = run_seibi(dir.path(), &["-C", &root, "plan"]);
    let verbose = run_seibi(dir.path(), &["-C", &root, "plan", "--verbose"]);
    assert_eq!((grouped.code, verbose.code), (0, 0), "{}", grouped.stderr);
    let plan = run_seibi(dir.path(), &["-C", &root, "plan", "--format", "json"]);
    let plan = Plan::from_json(&plan.stdout).expect("plan");
    let terminals: Vec<&str> = plan
        .sites
        .iter()
        .flat_map(|s| &s.terminals)
        .map(|t| t.id.as_str())
        .collect();
    // Grouped: each terminal's line names its group; each group lists its steps once.
    for id in &terminals {
        let line = grouped
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} is not listed"));
        assert!(line.contains("[G"), "{line}");
    }
    let groups = grouped.stdout.matches(" terminals): the same ").count();
    assert!((2..10).contains(&groups), "{groups} groups");
    let task_lines = |text: &str| {
        text.lines()
            .filter(|l| l.contains("2026-10-openssl-patch/install-patch"))
            .count()
    };
    assert_eq!(task_lines(&grouped.stdout), groups);
    // Verbose: every terminal's every task, as before.
    assert_eq!(
        task_lines(&verbose.stdout),
        plan.sites
            .iter()
            .flat_map(|s| &s.terminals)
            .filter(|t| t
                .tasks
                .iter()
                .any(|x| x.key == "2026-10-openssl-patch/install-patch"))
            .count()
    );
    assert!(grouped.stdout.lines().count() * 3 < verbose.stdout.lines().count());
}
