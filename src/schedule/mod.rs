//! Scheduling: when upkeep work is done, and a proof that it can be done in time.
//!
//! This module owns three steps, each a plain synchronous function over data:
//! 1. [`mod@batch`] groups a site's pending jobs into [`Visit`]s: as few visits as the jobs'
//!    windows allow, urgent jobs never held back, every job with a human reason for its date;
//! 2. [`mod@estimate`] says how long each job takes on a terminal (declared minutes, or the median
//!    of past runs per task);
//! 3. [`mod@place`] puts every terminal's share of each visit into office-hour windows under the
//!    sites' capacities, a global limit and an optional canary, and checks the city's rule that
//!    a site's work finishes within a number of business days (three by default), naming each
//!    site that misses, by how much, and the capacity or global limit that would fit;
//! 4. [`mod@crew`] gives the sites' work to crews (people who travel between the sites and work
//!    at one at a time) and checks that **every** site of a round finishes within the limit,
//!    with the smallest number of crews that would.
//!
//! The shared inputs live here: [`Calendars`] (the city calendar plus each site's own closed
//! days and hours) and [`Targets`] (which terminals of which site each job reaches). Output is
//! serde-serializable (a plan carries it as it is); [`render_text`] and [`render_markdown`]
//! print it for people, the timetable of a bare [`Schedule`] as well as a plan's whole schedule
//! section (through a [`ScheduleView`]).

pub mod batch;
pub mod crew;
pub mod estimate;
pub mod place;
mod render;

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time};

use crate::calendar::{Calendar, OfficeHours};
use crate::inventory::{Inventory, Site};
use crate::language::Language;
use crate::playbook::Job;

pub use batch::{
    BatchJob, BatchOptions, Batching, LateJob, Reason, Rule, Visit, VisitJob, VisitKind, batch,
    batch_jobs,
};
pub use estimate::{
    EstimateBasis, EstimateSummary, Estimates, History, JobEstimate, artifact_bytes, median,
};
pub use place::{
    Canary, DeadlineStatus, Feasibility, JobDeadlineMiss, OverlongWork, PlaceInput, PlaceOptions,
    Schedule, SiteDay, SiteMiss, SiteSchedule, Slot, Transfer, place,
};
pub use render::{ScheduleSettings, ScheduleView, banner, render_markdown, render_text};

/// Errors that stop batching or placement; each message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A site's office hours close before they open.
    #[error(
        "site `{site}` has office hours {open} to {close}, which contain no time; \
         fix `hours:` of the site so that `open` comes before `close`"
    )]
    InvalidHours {
        /// The site.
        site: String,
        /// Its opening time.
        open: Time,
        /// Its closing time.
        close: Time,
    },
    /// The site map names a job that was not given.
    #[error(
        "site `{site}` lists job `{job}`, which is not among the jobs given; \
         pass every job the site map names (load them from the same playbooks/)"
    )]
    UnknownJob {
        /// The site.
        site: String,
        /// The job id.
        job: String,
    },
    /// A site or canary names a site the inventory does not have.
    #[error("{what} names site `{site}`, which is not in the inventory{hint}")]
    UnknownSite {
        /// Who named it (`visit chuo:2026-10-01:1`, `the canary`).
        what: String,
        /// The site id.
        site: String,
        /// ` (did you mean `x`?)` or empty.
        hint: String,
    },
    /// No business day could be found (only past the end of the civil calendar).
    #[error("site `{site}` has no business day on or after {from}; check its closed days")]
    NoBusinessDay {
        /// The site.
        site: String,
        /// Where the search started.
        from: Date,
    },
    /// A visit's job has no estimate.
    #[error(
        "no time estimate for job `{job}`; build the estimates from the same jobs as the visits"
    )]
    NoEstimate {
        /// The job id.
        job: String,
    },
    /// A global limit of zero terminals allows no work at all.
    #[error("the global limit allows no terminal at all; set it to 1 or more, or leave it unset")]
    ZeroGlobalLimit,
    /// Some terminals' work in one visit is longer than a whole office-hours window.
    #[error("{}", overlong_message(.0))]
    WorkLongerThanWindow(Vec<OverlongWork>),
    /// The placement made no progress (a bug, or a calendar without business days).
    #[error(
        "could not place the work before {limit}: the sites' calendars leave no room; \
         check their closed days and hours"
    )]
    NoProgress {
        /// The instant the search gave up at.
        limit: String,
    },
    /// The schedule could not be written as JSON.
    #[error("cannot write the schedule as JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// An artifact's size could not be read.
    #[error(
        "cannot read the size of artifact `{artifact}` of job `{job}` at {path}: {source}; check that the media is in place"
    )]
    ArtifactUnreadable {
        /// The job.
        job: String,
        /// The artifact's name.
        artifact: String,
        /// Where it was looked for.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn overlong_message(over: &[OverlongWork]) -> String {
    let mut out = format!(
        "{} terminal visit(s) need more time than one office-hours window, and a terminal's \
         visit must fit inside one window:",
        over.len()
    );
    for o in over.iter().take(10) {
        out.push_str(&format!(
            "\n  terminal `{}` at site `{}` needs {} min for visit `{}` (jobs {}), the site is \
             open {} min a day",
            o.terminal,
            o.site,
            o.needed_minutes,
            o.visit,
            o.jobs.join(", "),
            o.window_minutes
        ));
    }
    if over.len() > 10 {
        out.push_str(&format!("\n  … and {} more", over.len() - 10));
    }
    out.push_str(
        "\nhint: split the jobs over separate visits (mark one `batchable: false`), shorten \
         them, or lengthen the site's hours",
    );
    out
}

/// The business-day calendars of the city and of each site (its own closed days and hours).
#[derive(Debug, Clone, Default)]
pub struct Calendars {
    city: Calendar,
    sites: BTreeMap<String, Calendar>,
}

impl Calendars {
    /// Only the city calendar: every site follows it.
    pub fn city(city: Calendar) -> Self {
        Calendars {
            city,
            sites: BTreeMap::new(),
        }
    }

    /// The city calendar plus each inventory site's closed days and hours.
    pub fn from_inventory(inventory: &Inventory) -> Result<Self, ScheduleError> {
        let mut calendars = Calendars::city(Calendar::new());
        for site in inventory.sites.values() {
            calendars
                .sites
                .insert(site.id.clone(), site_calendar(site)?);
        }
        Ok(calendars)
    }

    /// Sets one site's calendar.
    pub fn set_site(&mut self, site: impl Into<String>, calendar: Calendar) {
        self.sites.insert(site.into(), calendar);
    }

    /// The city calendar.
    pub fn city_calendar(&self) -> &Calendar {
        &self.city
    }

    /// A site's calendar (the city's when the site has none of its own).
    pub fn for_site(&self, site: &str) -> &Calendar {
        self.sites.get(site).unwrap_or(&self.city)
    }
}

/// A site's calendar: the city's rules, the site's closed days and its hours.
pub fn site_calendar(site: &Site) -> Result<Calendar, ScheduleError> {
    let hours =
        match site.hours {
            Some(h) => Some(OfficeHours::new(h.open, h.close).map_err(|_| {
                ScheduleError::InvalidHours {
                    site: site.id.clone(),
                    open: h.open,
                    close: h.close,
                }
            })?),
            None => None,
        };
    Ok(Calendar::for_site(site.closed_days.iter().copied(), hours))
}

/// Which terminals of which site each job reaches, in inventory order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    by_job: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Targets {
    /// Selects each job's terminals from the inventory (`job.targets.select`).
    pub fn compute(jobs: &[Job], inventory: &Inventory) -> Self {
        let mut targets = Targets::default();
        for job in jobs {
            let sites = targets.by_job.entry(job.id.clone()).or_default();
            for terminal in job.targets.select(inventory) {
                sites
                    .entry(terminal.site.clone())
                    .or_default()
                    .push(terminal.id.clone());
            }
        }
        targets
    }

    /// Records that `job` reaches `terminal` at `site` (for callers that select themselves).
    pub fn insert(
        &mut self,
        job: impl Into<String>,
        site: impl Into<String>,
        terminal: impl Into<String>,
    ) {
        self.by_job
            .entry(job.into())
            .or_default()
            .entry(site.into())
            .or_default()
            .push(terminal.into());
    }

    /// The terminals `job` reaches at `site` (empty when none).
    pub fn terminals(&self, job: &str, site: &str) -> &[String] {
        self.by_job
            .get(job)
            .and_then(|sites| sites.get(site))
            .map_or(&[], Vec::as_slice)
    }

    /// For each site, the jobs that reach at least one of its terminals: the input of
    /// [`batch()`].
    pub fn jobs_by_site(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (job, sites) in &self.by_job {
            for (site, terminals) in sites {
                if !terminals.is_empty() {
                    out.entry(site.clone()).or_default().insert(job.clone());
                }
            }
        }
        out
    }
}

/// ` (did you mean `x`?)` when a candidate is close to `wrong`, else empty.
fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::source::closest(wrong, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// `a`, `a and b`, `a, b and c` (`a、b、c` in Japanese).
fn join_names(names: &[&str], lang: Language) -> String {
    match (names, lang) {
        (_, Language::Ja) => names.join("、"),
        ([], _) => String::new(),
        ([one], _) => (*one).to_string(),
        ([rest @ .., last], _) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_joined_like_a_sentence() {
        assert_eq!(join_names(&[], Language::En), "");
        assert_eq!(join_names(&["a"], Language::En), "a");
        assert_eq!(join_names(&["a", "b"], Language::En), "a and b");
        assert_eq!(join_names(&["a", "b", "c"], Language::En), "a, b and c");
        assert_eq!(join_names(&["a", "b", "c"], Language::Ja), "a、b、c");
    }

    #[test]
    fn targets_list_jobs_by_site() {
        let mut t = Targets::default();
        t.insert("patch", "chuo", "chuo-t01");
        t.insert("patch", "chuo", "chuo-t02");
        t.insert("patch", "kita", "kita-t01");
        t.insert("rotation", "kita", "kita-t01");
        assert_eq!(t.terminals("patch", "chuo"), ["chuo-t01", "chuo-t02"]);
        assert!(t.terminals("rotation", "chuo").is_empty());
        let by_site = t.jobs_by_site();
        assert_eq!(by_site["chuo"].iter().collect::<Vec<_>>(), ["patch"]);
        assert_eq!(
            by_site["kita"].iter().collect::<Vec<_>>(),
            ["patch", "rotation"]
        );
    }
}
