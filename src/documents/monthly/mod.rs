//! 月次報告書 (monthly report): every run of a month, from the journals in `logs/`.
//!
//! A run belongs to the month its `run_start` falls in (Japan time). The report lists the runs
//! (with approval and verification), the jobs done, the terminals touched, password rotations,
//! failures and whether they were put right (by a later run, in any month), inspection results
//! (the inspect steps and, when the collect directory is given, how many files each collected),
//! and the month against the one before. [`monthly()`] reads and puts the document together
//! (the only reading: journals and their verification, collected files, inspection facts);
//! each section is one function in [`sections`] over what was read; [`stats`] counts the
//! numbers compared.

mod sections;
mod stats;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use jiff::Timestamp;

use super::journals::{self, Journal, Verifications};
use super::words::jst;
use super::{Document, DocumentError, Language, tr};
use crate::roster::{Roster, japan_time_zone};

/// A calendar month (`2026-10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    /// Year.
    pub year: i16,
    /// Month, 1 to 12.
    pub month: i8,
}

impl Month {
    /// The month before.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Whether `at` falls in this month, Japan time.
    pub fn contains(self, at: Timestamp) -> bool {
        let d = at.to_zoned(japan_time_zone().clone()).date();
        d.year() == self.year && d.month() == self.month
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a month: write it as YYYY-MM, e.g. 2026-10");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

/// Files collected per (terminal, run) for the month's inspect steps, under `collected`.
fn collected_files(here: &[&Journal], collected: &Path) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for j in here {
        let id = j.run_id();
        for (terminal, s) in j.steps() {
            if s.action.as_deref() == Some("inspect") {
                let files = stats::count_files(&collected.join(terminal).join(&id));
                out.insert((terminal.to_string(), id.clone()), files);
            }
        }
    }
    out
}

/// The 月次報告書 of `month` from the journals in `logs`. `collected` is where fetched logs and
/// inspection facts are stored (`<collected>/<terminal>/<run>/`), if known; `generated` is the
/// time the report is made.
pub fn monthly(
    logs: &Path,
    month: Month,
    roster: &Roster,
    job_titles: &BTreeMap<String, String>,
    collected: Option<&Path>,
    lang: Language,
    generated: Timestamp,
) -> Result<Document, DocumentError> {
    let all = journals::read_dir(logs).map_err(|source| DocumentError::Read {
        path: logs.to_path_buf(),
        source,
    })?;
    let in_month = |m: Month| -> Vec<&Journal> {
        all.iter()
            .filter(|j| j.start().is_some_and(|t| m.contains(t)))
            .collect()
    };
    let here = in_month(month);
    let now = stats::stats(&here, &all);
    let before = stats::stats(&in_month(month.previous()), &all);
    let files = collected.map(|dir| collected_files(&here, dir));
    let facts = collected.map(super::trends::Facts::read_dir);

    let mut doc = Document::new(
        lang,
        tr(
            lang,
            &format!("月次報告書（{}年{}月）", month.year, month.month),
            &format!("Monthly report {month}"),
        ),
    );
    let work = super::work::entries(&all, month);
    let verified = Verifications::of(
        here.iter().copied().chain(work.iter().map(|(j, _, _)| *j)),
        roster,
    );
    let bad_journals = verified.failing(here.iter().copied());
    let (runs, unapproved) = sections::runs(&here, &verified, roster, lang);
    doc.flags = unapproved;
    if bad_journals > 0 {
        doc.flags.push(tr(
            lang,
            &format!(
                "検証で問題が見つかった作業記録が {bad_journals} 件あります（「実行一覧」を参照）。"
            ),
            &format!("{bad_journals} journal(s) do not verify (see Runs)."),
        ));
    }
    summary(&mut doc, month, &now, &work, bad_journals, generated);
    let (jobs, terminals) = sections::jobs_and_terminals(&here, job_titles, lang);
    doc.sections = vec![
        runs,
        super::work::section(&work, &verified, roster, lang),
        jobs,
        terminals,
        sections::rotations_section(&here, roster, lang),
        sections::failures(&here, &all, lang),
        sections::inspections(&here, files.as_ref(), lang),
        sections::trend(&now, &before, month.previous(), lang),
    ];
    if let Some(facts) = facts {
        let (disks, chart, problems) = super::trends::disk_section(&facts, month, lang);
        doc.flags.extend(problems);
        doc.sections.push(disks);
        doc.sections
            .push(super::trends::drift_section(&facts, month, lang));
        doc.charts.push(chart);
    }
    Ok(doc)
}

/// 概要: the month, its runs, the work not on a machine and the month's numbers.
fn summary(
    doc: &mut Document,
    month: Month,
    now: &stats::Stats,
    work: &[(&Journal, &str, &crate::journal::WorkLog)],
    bad_journals: usize,
    generated: Timestamp,
) {
    let lang = doc.lang;
    let minutes: u32 = work.iter().map(|(_, _, w)| w.minutes).sum();
    doc.summarise(tr(lang, "文書", "Document"), doc.title.clone());
    doc.summarise(tr(lang, "対象月", "Month"), month.to_string());
    doc.summarise(
        tr(lang, "作成日時", "Generated"),
        format!("{} JST", jst(generated)),
    );
    doc.summarise(tr(lang, "実行数", "Runs"), now.runs.to_string());
    doc.summarise(
        tr(lang, "端末作業以外の業務", "Work not on a machine"),
        tr(
            lang,
            &format!("{} 件（{minutes} 分）", work.len()),
            &format!("{} entries ({minutes} min)", work.len()),
        ),
    );
    doc.summarise(
        tr(lang, "作業", "Jobs"),
        now.jobs.iter().cloned().collect::<Vec<_>>().join(", "),
    );
    doc.summarise(
        tr(lang, "作業した端末数", "Terminals worked on"),
        now.terminals.len().to_string(),
    );
    doc.summarise(
        tr(lang, "変更したタスク", "Tasks that changed something"),
        now.changed.to_string(),
    );
    doc.summarise(
        tr(lang, "失敗（うち回復）", "Failures (recovered)"),
        format!("{} ({})", now.failures, now.recovered),
    );
    doc.summarise(
        tr(lang, "パスワード変更", "Password rotations"),
        now.rotations.to_string(),
    );
    doc.summarise(
        tr(lang, "未承認の実行", "Unapproved runs"),
        now.unapproved.to_string(),
    );
    doc.summarise(
        tr(lang, "記録の検証", "Journal verification"),
        super::words::journals_verified(bad_journals, lang),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_step_back() {
        let m: Month = "2026-01".parse().expect("month");
        assert_eq!(
            m,
            Month {
                year: 2026,
                month: 1
            }
        );
        assert_eq!(m.previous().to_string(), "2025-12");
        assert!("2026-13".parse::<Month>().is_err());
        assert!("26-01".parse::<Month>().is_err());
        // 2026-01-31T15:00Z is 2026-02-01 00:00 in Japan.
        let t: Timestamp = "2026-01-31T15:00:00Z".parse().expect("time");
        assert!(!m.contains(t));
        assert!(
            Month {
                year: 2026,
                month: 2
            }
            .contains(t)
        );
    }
}
