//! Recurring duties, due and missed: per occurrence of every recurring job and per terminal it
//! targets, whether the journals show it done (by which run, on which day), or whether it is
//! upcoming, due, overdue or missed, as of a day.
//!
//! Only what a journal that verifies shows counts ([`Evidence::from_journals`] leaves out, and
//! names, every journal with a problem), and a run counts for an occurrence on a terminal only
//! when every task of the job ran there (ok or changed, not a check-only run, the last result
//! of each task) and every one of those results falls inside the occurrence's window, in Japan
//! time, by the as-of day. A run outside the window is not counted, however complete.
//!
//! Statuses: *done*; *upcoming* (the window has not opened); *due* (in the window); *overdue*
//! (the deadline passed, the period has not ended: it can still be made up); *missed* (the
//! period ended without it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Serialize;

use super::{AsOf, japan_date};
use crate::calendar::Calendar;
use crate::inventory::Inventory;
use crate::journal::record::{CHECK_ONLY_CHANGE, Status};
use crate::journal::{EXTENSION, read_run, verify};
use crate::playbook::Job;
use crate::playbook::recurrence::{DateRange, base_job_id, occurrence_id};
use crate::roster::Roster;

/// The schema identifier of the JSON form.
pub const SCHEMA: &str = "seibi.duties/v1";

/// Where an occurrence stands on one terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DutyStatus {
    /// A verified run did every task of the job in the window.
    Done,
    /// The window has not opened yet.
    Upcoming,
    /// The window is open and it is not done.
    Due,
    /// The deadline passed; the period has not ended, so it can still be made up.
    Overdue,
    /// The period ended without it.
    Missed,
}

impl DutyStatus {
    /// The word for people, in `lang`.
    pub fn label(self, lang: crate::language::Language) -> &'static str {
        match self {
            DutyStatus::Done => lang.pick("実施済", "done"),
            DutyStatus::Upcoming => lang.pick("予定", "upcoming"),
            DutyStatus::Due => lang.pick("実施期間中", "due"),
            DutyStatus::Overdue => lang.pick("期限超過", "overdue"),
            DutyStatus::Missed => lang.pick("未実施", "missed"),
        }
    }

    /// Whether this needs attention (exit status 3).
    pub fn is_late(self) -> bool {
        matches!(self, DutyStatus::Overdue | DutyStatus::Missed)
    }
}

/// One task result on one terminal, from a verified journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The run.
    pub run: String,
    /// The job as recorded (`monthly-inspection@2026-10` or `monthly-inspection`).
    pub job: String,
    /// The task id.
    pub task: String,
    /// The terminal.
    pub terminal: String,
    /// How it ended.
    pub status: Status,
    /// Whether the run only queried (`apply --check`).
    pub check_only: bool,
    /// The day of the result, in Japan.
    pub day: Date,
    /// Its position in the journal (later results of the same task win).
    pub seq: u64,
}

/// A journal left out of the evidence, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCounted {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl Evidence {
    /// The task results of every journal in `logs` that verifies against `roster`, and the
    /// journals left out. A missing directory has no evidence.
    pub fn from_journals(logs: &Path, roster: &Roster) -> (Vec<Evidence>, Vec<NotCounted>) {
        let mut evidence = Vec::new();
        let mut not_counted = Vec::new();
        let Ok(entries) = std::fs::read_dir(logs) else {
            return (evidence, not_counted);
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
            .collect();
        paths.sort();
        for path in paths {
            let report = verify(&path, roster);
            if let Some(problem) = report.problems.first() {
                not_counted.push(NotCounted {
                    path,
                    reason: problem.to_string(),
                });
                continue;
            }
            let run = match read_run(&path) {
                Ok(run) => run,
                Err(err) => {
                    not_counted.push(NotCounted {
                        path,
                        reason: err.to_string(),
                    });
                    continue;
                }
            };
            let run_id = run.run_id().unwrap_or_default().to_string();
            for (terminal, steps) in &run.terminals {
                for step in steps {
                    let Some(result) = &step.result else { continue };
                    let Ok(at) = result.time.parse::<jiff::Timestamp>() else {
                        continue;
                    };
                    evidence.push(Evidence {
                        run: run_id.clone(),
                        job: step.job.clone(),
                        task: step.task.clone(),
                        terminal: terminal.clone(),
                        status: result.status,
                        check_only: step.change.as_deref() == Some(CHECK_ONLY_CHANGE),
                        day: japan_date(at),
                        seq: result.seq,
                    });
                }
            }
        }
        (evidence, not_counted)
    }
}

/// The run that did an occurrence on a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoneBy {
    /// The run id.
    pub run: String,
    /// The day its last task for the job ended, in Japan.
    pub date: Date,
}

/// One occurrence on one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DutyRow {
    /// The recurring job.
    pub job: String,
    /// The occurrence's id (`monthly-inspection@2026-10`).
    pub occurrence: String,
    /// Its key (`2026-10`).
    pub key: String,
    /// The job's title.
    pub title: String,
    /// How often it comes back, in words (`every month, from business day 1 by business day 10`).
    pub recurrence: String,
    /// The time the duty belongs to.
    pub period: DateRange,
    /// When it may be done.
    pub window: DateRange,
    /// The terminal.
    pub terminal: String,
    /// Its site.
    pub site: String,
    /// Where it stands.
    pub status: DutyStatus,
    /// The run that did it, when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<DoneBy>,
}

/// The duties as of a day.
#[derive(Debug, Clone, Serialize)]
pub struct DutiesReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The day, in Japan.
    pub as_of: Date,
    /// The days whose occurrences are listed.
    pub period: DateRange,
    /// One row per occurrence and terminal, by job, occurrence, terminal.
    pub rows: Vec<DutyRow>,
    /// Journals whose runs were not counted.
    pub not_counted: Vec<NotCounted>,
}

impl DutiesReport {
    /// Whether something is overdue or missed.
    pub fn has_late(&self) -> bool {
        self.rows.iter().any(|r| r.status.is_late())
    }

    /// The rows in `status`.
    pub fn count(&self, status: DutyStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

/// The duties of every recurring job in `jobs` on the terminals it targets, for the
/// occurrences whose period meets `period` and whose window opens by its last day.
pub fn duties(
    jobs: &[Job],
    inventory: &Inventory,
    evidence: &[Evidence],
    as_of: AsOf,
    period: DateRange,
) -> Vec<DutyRow> {
    let calendar = Calendar::new();
    let mut rows = Vec::new();
    for job in jobs {
        let Some(recurrence) = &job.recurrence else {
            continue;
        };
        let terminals = job.targets.select(inventory);
        for occurrence in recurrence.occurrences(&calendar, period) {
            if occurrence.window.first > period.last {
                continue;
            }
            for terminal in &terminals {
                let done = done_by(job, &terminal.id, occurrence.window, as_of, evidence);
                let today = as_of.date();
                let status = match &done {
                    Some(_) => DutyStatus::Done,
                    None if today < occurrence.window.first => DutyStatus::Upcoming,
                    None if today <= occurrence.window.last => DutyStatus::Due,
                    None if today <= occurrence.period.last => DutyStatus::Overdue,
                    None => DutyStatus::Missed,
                };
                rows.push(DutyRow {
                    job: job.id.clone(),
                    occurrence: occurrence_id(&job.id, &occurrence.key),
                    key: occurrence.key.clone(),
                    title: job.title.clone(),
                    recurrence: recurrence.describe(crate::language::Language::En),
                    period: occurrence.period,
                    window: occurrence.window,
                    terminal: terminal.id.clone(),
                    site: terminal.site.clone(),
                    status,
                    done,
                });
            }
        }
    }
    rows
}

/// The first run that did every task of `job` on `terminal` inside `window`, by the as-of day.
fn done_by(
    job: &Job,
    terminal: &str,
    window: DateRange,
    as_of: AsOf,
    evidence: &[Evidence],
) -> Option<DoneBy> {
    // The last result of each task, per run.
    let mut by_run: BTreeMap<&str, BTreeMap<&str, &Evidence>> = BTreeMap::new();
    for e in evidence {
        if e.terminal != terminal || base_job_id(&e.job) != job.id || e.day > as_of.date() {
            continue;
        }
        let tasks = by_run.entry(&e.run).or_default();
        if tasks.get(e.task.as_str()).is_none_or(|old| old.seq < e.seq) {
            tasks.insert(&e.task, e);
        }
    }
    by_run
        .into_iter()
        .filter_map(|(run, tasks)| {
            let mut last = None;
            for task in &job.tasks {
                let e = tasks.get(task.id.as_str())?;
                let ran = matches!(e.status, Status::Ok | Status::Changed);
                if !ran || e.check_only || !window.contains(e.day) {
                    return None;
                }
                last = last.max(Some(e.day));
            }
            Some(DoneBy {
                run: run.to_string(),
                date: last?,
            })
        })
        .min_by(|a, b| (a.date, &a.run).cmp(&(b.date, &b.run)))
}

/// The report for people: per occurrence a line with its window and counts, then the terminals
/// that are not done (and, with `all`, those that are).
pub fn render_text(report: &DutiesReport, all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Duties as of {} (occurrences in {})",
        report.as_of, report.period
    );
    let mut by_occurrence: BTreeMap<(&str, Date), Vec<&DutyRow>> = BTreeMap::new();
    for row in &report.rows {
        by_occurrence
            .entry((&row.occurrence, row.window.first))
            .or_default()
            .push(row);
    }
    let mut occurrences: Vec<_> = by_occurrence.into_iter().collect();
    occurrences.sort_by_key(|((id, first), _)| (base_job_id(id).to_string(), *first));
    for ((id, _), rows) in occurrences {
        let done = rows.iter().filter(|r| r.status == DutyStatus::Done).count();
        let worst = rows
            .iter()
            .map(|r| r.status)
            .filter(|s| *s != DutyStatus::Done)
            .max()
            .unwrap_or(DutyStatus::Done);
        let _ = writeln!(
            out,
            "\n{id}  ({})  window {}  {done}/{} done{}",
            rows[0].recurrence,
            rows[0].window,
            rows.len(),
            if worst == DutyStatus::Done {
                String::new()
            } else {
                format!("  [{}]", worst.label(crate::language::Language::En))
            }
        );
        // Terminals not done, grouped by status and site; done ones one by one with `all`.
        let mut grouped: BTreeMap<(DutyStatus, &str), Vec<&str>> = BTreeMap::new();
        for row in &rows {
            match &row.done {
                Some(d) if all => {
                    let _ = writeln!(
                        out,
                        "  {:<9} {:<12} run {} on {}",
                        row.status.label(crate::language::Language::En),
                        row.terminal,
                        d.run,
                        d.date
                    );
                }
                Some(_) => {}
                None => grouped
                    .entry((row.status, &row.site))
                    .or_default()
                    .push(&row.terminal),
            }
        }
        for ((status, site), terminals) in grouped {
            let _ = writeln!(
                out,
                "  {:<9} {site}: {}",
                status.label(crate::language::Language::En),
                terminals.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\nTotals: {} done, {} due, {} overdue, {} missed, {} upcoming",
        report.count(DutyStatus::Done),
        report.count(DutyStatus::Due),
        report.count(DutyStatus::Overdue),
        report.count(DutyStatus::Missed),
        report.count(DutyStatus::Upcoming)
    );
    for n in &report.not_counted {
        let _ = writeln!(
            out,
            "not counted: {} ({})",
            n.path.display(),
            n.reason.lines().next().unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::recurrence::{MonthlyDeadline, Recurrence, Rule};

    fn d(s: &str) -> Date {
        s.parse().expect("date")
    }

    fn project() -> crate::project::Project {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (project, diags) =
            crate::project::Project::load(crate::project::ProjectPaths::new(root));
        project.unwrap_or_else(|| panic!("{diags}"))
    }

    /// The example's annual inspection, made monthly (from business day 1 by business day 10).
    fn monthly_job(project: &crate::project::Project) -> Job {
        let mut job = project
            .jobs
            .iter()
            .find(|j| j.kind == crate::playbook::JobKind::Inspection)
            .expect("an inspection job")
            .clone();
        job.recurrence = Some(Recurrence {
            rule: Rule::Monthly {
                from_business_day: 1,
                by: MonthlyDeadline::BusinessDay(10),
            },
            since: None,
            until: None,
        });
        job
    }

    fn ran(job: &Job, run: &str, terminal: &str, day: &str, status: Status) -> Vec<Evidence> {
        job.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| Evidence {
                run: run.into(),
                job: format!("{}@x", job.id),
                task: t.id.clone(),
                terminal: terminal.into(),
                status,
                check_only: false,
                day: d(day),
                seq: i as u64 + 2,
            })
            .collect()
    }

    fn status_of(rows: &[DutyRow], key: &str, terminal: &str) -> DutyStatus {
        rows.iter()
            .find(|r| r.key == key && r.terminal == terminal)
            .map(|r| r.status)
            .expect("row")
    }

    #[test]
    fn a_month_without_a_run_is_missed_and_the_current_one_overdue() {
        let p = project();
        let job = monthly_job(&p);
        let t = &job.targets.select(&p.inventory)[0].id.clone();
        let mut evidence = ran(&job, "r-sep", t, "2026-09-03", Status::Changed);
        // October's run is a day past its window (the 10th business day is October 15).
        evidence.extend(ran(&job, "r-oct-late", t, "2026-10-16", Status::Ok));
        let rows = duties(
            std::slice::from_ref(&job),
            &p.inventory,
            &evidence,
            AsOf::end_of(d("2026-12-20")),
            "2026-08-01..2026-12-31".parse().expect("range"),
        );
        assert_eq!(status_of(&rows, "2026-08", t), DutyStatus::Missed);
        assert_eq!(status_of(&rows, "2026-09", t), DutyStatus::Done);
        assert_eq!(status_of(&rows, "2026-10", t), DutyStatus::Missed);
        assert_eq!(status_of(&rows, "2026-11", t), DutyStatus::Missed);
        assert_eq!(status_of(&rows, "2026-12", t), DutyStatus::Overdue);
        let sep = rows
            .iter()
            .find(|r| r.key == "2026-09" && r.terminal == *t)
            .expect("row");
        assert_eq!(
            sep.done,
            Some(DoneBy {
                run: "r-sep".into(),
                date: d("2026-09-03")
            })
        );
    }

    #[test]
    fn failed_partial_and_check_only_runs_do_not_count() {
        let p = project();
        let job = monthly_job(&p);
        let t = &job.targets.select(&p.inventory)[0].id.clone();
        let mut evidence = ran(&job, "r-failed", t, "2026-10-02", Status::Failed);
        let mut check = ran(&job, "r-check", t, "2026-10-02", Status::Ok);
        for e in &mut check {
            e.check_only = true;
        }
        evidence.extend(check);
        // Another terminal's run says nothing about this one.
        let other = &job.targets.select(&p.inventory)[1].id.clone();
        evidence.extend(ran(&job, "r-other", other, "2026-10-02", Status::Ok));
        let as_of = AsOf::end_of(d("2026-10-05"));
        let rows = duties(
            std::slice::from_ref(&job),
            &p.inventory,
            &evidence,
            as_of,
            "2026-10".parse().expect("range"),
        );
        assert_eq!(status_of(&rows, "2026-10", t), DutyStatus::Due);
        assert_eq!(status_of(&rows, "2026-10", other), DutyStatus::Done);
        // A run after the as-of day does not count yet.
        let rows = duties(
            std::slice::from_ref(&job),
            &p.inventory,
            &ran(&job, "r-later", t, "2026-10-06", Status::Ok),
            as_of,
            "2026-10".parse().expect("range"),
        );
        assert_eq!(status_of(&rows, "2026-10", t), DutyStatus::Due);
        // Upcoming before the window opens.
        let rows = duties(
            std::slice::from_ref(&job),
            &p.inventory,
            &[],
            AsOf::end_of(d("2026-10-20")),
            "2026-11".parse().expect("range"),
        );
        assert_eq!(status_of(&rows, "2026-11", t), DutyStatus::Upcoming);
    }
}
