//! Trends from inspections, for the monthly report: per terminal and mount, the fullest disk
//! usage of each of the last months (from the `facts.json` that `inspect` writes under
//! `<collected>/<terminal>/<run>/`), a straight line fitted through them, and a *predicted
//! problem* when that line reaches the threshold within the horizon (the contract's
//! "問題の発生が予測されるとき"); and the version drift the month's latest inspection of each
//! terminal found against the expected versions.
//!
//! [`fit`] and [`Prediction`] are pure; [`Facts::read_dir`] is the only reading.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;

use super::model::{Cell, Chart, Column, ColumnKind, Section, Table, text};
use super::monthly::Month;
use super::{Language, tr};

/// Months shown, the report's month the last of them.
pub const MONTHS: usize = 6;
/// A disk fuller than this (percent used) is a problem.
pub const THRESHOLD_PERCENT: f64 = 80.0;
/// A problem predicted within this many months is reported.
pub const HORIZON_MONTHS: f64 = 6.0;

/// One disk in a facts document.
#[derive(Debug, Clone, Deserialize)]
pub struct Disk {
    /// Where it is mounted.
    pub mount: String,
    /// Percent used.
    pub percent: u32,
}

/// One finding in a facts document (drift or a full disk).
#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    /// `package`, `file` or `disk`.
    pub kind: String,
    /// The package, for a package finding.
    #[serde(default)]
    pub name: Option<String>,
    /// The file, for a file finding.
    #[serde(default)]
    pub path: Option<String>,
    /// What was expected.
    #[serde(default)]
    pub expected: Option<String>,
    /// What was found.
    #[serde(default)]
    pub found: Option<String>,
}

/// The part of a `facts.json` the trends read.
#[derive(Debug, Clone, Deserialize)]
pub struct Facts {
    /// The terminal.
    pub terminal: String,
    /// The run that gathered them.
    #[serde(default)]
    pub run_id: String,
    /// When.
    pub collected_at: Timestamp,
    /// Disk usage per mount.
    #[serde(default)]
    pub disks: Vec<Disk>,
    /// Differences from the expectations.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

impl Facts {
    /// Every `<dir>/<terminal>/<run>/facts.json` that parses; others are left out.
    pub fn read_dir(dir: &Path) -> Vec<Facts> {
        let mut out = Vec::new();
        let Ok(terminals) = std::fs::read_dir(dir) else {
            return out;
        };
        for terminal in terminals.filter_map(Result::ok) {
            let Ok(runs) = std::fs::read_dir(terminal.path()) else {
                continue;
            };
            for run in runs.filter_map(Result::ok) {
                let path = run.path().join("facts.json");
                if let Some(facts) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| serde_json::from_str::<Facts>(&text).ok())
                {
                    out.push(facts);
                }
            }
        }
        out.sort_by(|a, b| (&a.terminal, a.collected_at).cmp(&(&b.terminal, b.collected_at)));
        out
    }

    fn month(&self) -> Month {
        let d = self
            .collected_at
            .to_zoned(crate::roster::japan_time_zone().clone())
            .date();
        Month {
            year: d.year(),
            month: d.month(),
        }
    }
}

/// A straight line `y = intercept + slope * x` fitted by least squares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Change per month.
    pub slope: f64,
    /// Value at month 0.
    pub intercept: f64,
}

/// The least-squares line through `points` (month index, value); none with fewer than two
/// distinct months.
pub fn fit(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    Some(Line {
        slope,
        intercept: mean_y - slope * mean_x,
    })
}

/// What the trend says about the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prediction {
    /// The last value is already above it.
    Now,
    /// The line reaches it this many months after month `at` (within the horizon).
    InMonths(f64),
    /// Not within the horizon (or not rising).
    NotSoon,
}

/// Where the line through `points` stands against `threshold`, seen from month `at`.
pub fn predict(points: &[(f64, f64)], at: f64, threshold: f64, horizon: f64) -> Prediction {
    if points.last().is_some_and(|p| p.1 > threshold) {
        return Prediction::Now;
    }
    match fit(points) {
        Some(line) if line.slope > 0.0 => {
            let cross = (threshold - line.intercept) / line.slope;
            let ahead = cross - at;
            if ahead <= horizon {
                Prediction::InMonths(ahead.max(0.0))
            } else {
                Prediction::NotSoon
            }
        }
        _ => Prediction::NotSoon,
    }
}

/// The month `k` months before `month`.
fn back(month: Month, k: usize) -> Month {
    (0..k).fold(month, |m, _| m.previous())
}

/// The disk section (one row per terminal and mount, one column per month, the trend and the
/// prediction), its chart, and one line per predicted problem for the flags.
pub(crate) fn disk_section(
    facts: &[Facts],
    month: Month,
    lang: Language,
) -> (Section, Chart, Vec<String>) {
    let months: Vec<Month> = (0..MONTHS).rev().map(|k| back(month, k)).collect();
    let mut table = Table::new(lang, &[text("端末", "Terminal"), text("マウント", "Mount")]);
    // One column per month, headed by the month: the percent used.
    table.columns.extend(months.iter().map(|m| Column {
        heading: m.to_string(),
        kind: ColumnKind::Number,
    }));
    table.columns.extend(
        Table::new(
            lang,
            &[
                text("傾向(ポイント/月)", "Trend (points/month)"),
                text("予測", "Prediction"),
            ],
        )
        .columns,
    );
    // The fullest reading of each (terminal, mount) in each month.
    let mut usage: BTreeMap<(String, String), BTreeMap<Month, u32>> = BTreeMap::new();
    for f in facts {
        let m = f.month();
        if !months.contains(&m) {
            continue;
        }
        for d in &f.disks {
            let cell = usage
                .entry((f.terminal.clone(), d.mount.clone()))
                .or_default()
                .entry(m)
                .or_insert(0);
            *cell = (*cell).max(d.percent);
        }
    }
    let mut problems = Vec::new();
    for ((terminal, mount), by_month) in &usage {
        let points: Vec<(f64, f64)> = months
            .iter()
            .enumerate()
            .filter_map(|(i, m)| by_month.get(m).map(|p| (i as f64, f64::from(*p))))
            .collect();
        let now = (MONTHS - 1) as f64;
        let prediction = predict(&points, now, THRESHOLD_PERCENT, HORIZON_MONTHS);
        let trend = fit(&points).map_or(Cell::Empty, |l| format!("{:+.1}", l.slope).into());
        let said = match prediction {
            Prediction::Now => {
                let text = tr(
                    lang,
                    &format!(
                        "{terminal} {mount}: 使用率がしきい値 {THRESHOLD_PERCENT}% を超えています"
                    ),
                    &format!(
                        "{terminal} {mount}: usage is above the {THRESHOLD_PERCENT}% threshold"
                    ),
                );
                problems.push(text);
                tr(lang, "しきい値超過", "above the threshold")
            }
            Prediction::InMonths(ahead) => {
                let text = tr(
                    lang,
                    &format!(
                        "問題の発生が予測されます: {terminal} {mount} は約 {ahead:.1} か月後に使用率 {THRESHOLD_PERCENT}% に達する見込み（対策: 不要ファイルの整理または容量の増設）"
                    ),
                    &format!(
                        "Predicted problem: {terminal} {mount} reaches {THRESHOLD_PERCENT}% in about {ahead:.1} months (countermeasure: clean up or add capacity)"
                    ),
                );
                problems.push(text);
                tr(
                    lang,
                    &format!("約 {ahead:.1} か月後に {THRESHOLD_PERCENT}% 到達"),
                    &format!("{THRESHOLD_PERCENT}% in about {ahead:.1} months"),
                )
            }
            Prediction::NotSoon => String::new(),
        };
        let mut row = vec![Cell::from(terminal), Cell::from(mount)];
        row.extend(
            months
                .iter()
                .map(|m| by_month.get(m).map_or(Cell::Empty, |p| (*p).into())),
        );
        row.push(trend);
        row.push(if said.is_empty() {
            Cell::Empty
        } else {
            said.into()
        });
        table.push(row);
    }
    let chart = Chart {
        section: "disk_trend",
        title: tr(lang, "ディスク使用率の推移(%)", "Disk usage (%)"),
        name_columns: (0, 1),
        values: (2, 1 + MONTHS),
    };
    let explained = tr(
        lang,
        &format!(
            "各月の点検で最も高かった使用率(%)です。直線回帰で {THRESHOLD_PERCENT}% に {HORIZON_MONTHS} か月以内に達する見込みのものを「予測」に示します。"
        ),
        &format!(
            "The highest usage (%) inspected each month; a straight-line fit that reaches {THRESHOLD_PERCENT}% within {HORIZON_MONTHS} months is shown as a prediction."
        ),
    );
    let section = Section::of_table(
        "disk_trend",
        tr(lang, "ディスク使用率の推移", "Disk usage trend"),
        table,
        vec![explained],
    )
    .when_empty(
        lang,
        "この期間の点検記録はありません。",
        "No inspections in these months.",
    );
    (section, chart, problems)
}

/// Version (and file) drift in the month's latest inspection of each terminal.
pub(crate) fn drift_section(facts: &[Facts], month: Month, lang: Language) -> Section {
    let mut table = Table::new(
        lang,
        &[
            text("端末", "Terminal"),
            text("種別", "Kind"),
            text("対象", "Package or file"),
            text("期待値", "Expected"),
            text("実際", "Found"),
            text("実行ID", "Run"),
        ],
    );
    let mut latest: BTreeMap<&str, &Facts> = BTreeMap::new();
    for f in facts.iter().filter(|f| f.month() == month) {
        let slot = latest.entry(&f.terminal).or_insert(f);
        if f.collected_at > slot.collected_at {
            *slot = f;
        }
    }
    for (terminal, f) in latest {
        for finding in f.findings.iter().filter(|x| x.kind != "disk") {
            table.push(vec![
                terminal.into(),
                match finding.kind.as_str() {
                    "package" => tr(lang, "パッケージ", "package"),
                    "file" => tr(lang, "ファイル", "file"),
                    other => other.to_string(),
                }
                .into(),
                finding
                    .name
                    .as_ref()
                    .or(finding.path.as_ref())
                    .map_or(Cell::Empty, Cell::from),
                finding.expected.as_ref().map_or(Cell::Empty, Cell::from),
                finding.found.as_ref().map_or(Cell::Empty, Cell::from),
                Cell::from(&f.run_id),
            ]);
        }
    }
    Section::of_table(
        "drift",
        tr(lang, "バージョン差異", "Version drift"),
        table,
        Vec::new(),
    )
    .when_empty(
        lang,
        "当月の最新の点検で期待値との差異はありません。",
        "The month's latest inspections found no drift from the expected versions.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rising_line_predicts_when_it_crosses() {
        // 50, 55, 60, 65: five points a month; 80 is three months after the last.
        let points = [(0.0, 50.0), (1.0, 55.0), (2.0, 60.0), (3.0, 65.0)];
        let line = fit(&points).expect("a line");
        assert!((line.slope - 5.0).abs() < 1e-9 && (line.intercept - 50.0).abs() < 1e-9);
        assert_eq!(predict(&points, 3.0, 80.0, 6.0), Prediction::InMonths(3.0));
        assert_eq!(predict(&points, 3.0, 80.0, 2.0), Prediction::NotSoon);
        // Flat or falling usage predicts nothing; one reading has no trend.
        assert_eq!(
            predict(&[(0.0, 70.0), (1.0, 70.0)], 1.0, 80.0, 6.0),
            Prediction::NotSoon
        );
        assert_eq!(predict(&[(0.0, 70.0)], 0.0, 80.0, 6.0), Prediction::NotSoon);
        assert_eq!(
            predict(&[(0.0, 70.0), (1.0, 85.0)], 1.0, 80.0, 6.0),
            Prediction::Now
        );
        assert!(fit(&[(1.0, 1.0), (1.0, 2.0)]).is_none());
    }
}
