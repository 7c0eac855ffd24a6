//! Office-hour windows during `apply`: the clock the coordinator reads, and the rule that a run
//! works on a site only while the site is open.
//!
//! With a [`WindowPolicy`], the coordinator (see [`super::execute`]):
//! * starts a terminal's visit only if the site is open now and the visit can finish before the
//!   site closes (the estimate is the sum of the minutes of its jobs that still have work left:
//!   the schedule's estimate when the plan has one, else the declared `minutes_per_terminal`);
//!   a terminal that does not fit is *held* and waits for the next window;
//! * at closing time lets the unit in progress finish, starts nothing more at that site, and
//!   stops cleanly: what is left is recorded as skipped, and the summary says how to resume in
//!   the next window (`seibi apply --resume RUN`, which skips what finished).
//!
//! The [`Clock`] is a trait so that tests run a whole day of office hours in milliseconds with a
//! [`ManualClock`] they move forward themselves; real runs use [`SystemClock`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp, Zoned};

use super::Finished;
use crate::calendar::Window;
use crate::plan::{Plan, PlannedTerminal, PlannedWindow};
use crate::schedule::Calendars;

/// Where the coordinator reads the time from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until it is set or moved forward (tests, rehearsals).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time forward by `by` (saturating at the end of time).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keep to the sites' office hours (and the out-of-hours windows the plan's approval covers).
#[derive(Debug, Clone)]
pub struct WindowPolicy {
    /// Each site's business days and hours.
    pub calendars: Calendars,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Approved out-of-hours windows by site: instants `[start, end)`.
    approved: BTreeMap<String, Vec<(Timestamp, Timestamp)>>,
}

/// Where a site stands with its office hours right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteWindow {
    /// Open, with this much time left before closing.
    Open {
        /// Time until closing.
        left: Duration,
        /// The closing time.
        closes: Zoned,
    },
    /// Closed now, for this reason (for people).
    Closed(String),
}

impl SiteWindow {
    /// Why a visit at `site` that takes `needed` (asked only when the site is open) cannot
    /// start now (`None`: it can).
    pub fn refuse(&self, site: &str, needed: impl FnOnce() -> Duration) -> Option<String> {
        match self {
            SiteWindow::Closed(why) => Some(why.clone()),
            SiteWindow::Open { left, closes } => {
                let needed = needed();
                (needed > *left).then(|| {
                    format!(
                        "needs about {} min, but office hours at {site} end at {} ({} min left)",
                        needed.as_secs().div_ceil(60),
                        closes.strftime("%H:%M"),
                        left.as_secs() / 60
                    )
                })
            }
        }
    }
}

impl WindowPolicy {
    /// Office hours from the site calendars, on the system clock.
    pub fn new(calendars: Calendars) -> Self {
        Self {
            calendars,
            clock: Arc::new(SystemClock),
            approved: BTreeMap::new(),
        }
    }

    /// Office hours from the site calendars, on `clock`.
    pub fn with_clock(calendars: Calendars, clock: Arc<dyn Clock>) -> Self {
        Self {
            calendars,
            clock,
            approved: BTreeMap::new(),
        }
    }

    /// Also works in these approved out-of-hours windows (a plan's
    /// [`crate::plan::PlanSchedule::approved_windows`], which its approval covers): a site is
    /// open in them as in its office hours, and a window that touches the office hours extends
    /// them. `apply --plan` passes the plan's own:
    /// `WindowPolicy::new(calendars).with_approved_windows(plan.approved_windows())`.
    pub fn with_approved_windows<'a>(
        mut self,
        windows: impl IntoIterator<Item = &'a PlannedWindow>,
    ) -> Self {
        for w in windows {
            let tz = self.calendars.for_site(&w.site).time_zone().clone();
            let at = |time| {
                w.window
                    .date
                    .to_datetime(time)
                    .to_zoned(tz.clone())
                    .map(|z| z.timestamp())
            };
            if let (Ok(start), Ok(end)) = (at(w.window.start), at(w.window.end))
                && start < end
            {
                self.approved
                    .entry(w.site.clone())
                    .or_default()
                    .push((start, end));
            }
        }
        self
    }

    /// The approved window containing `now` at `site`, joined with the office hours and other
    /// approved windows it touches: `(start, end)`.
    fn approved_span(&self, site: &str, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let approved = self.approved.get(site)?;
        let calendar = self.calendars.for_site(site);
        let mut spans: Vec<(Timestamp, Timestamp)> = approved.clone();
        let today = now.to_zoned(calendar.time_zone().clone()).date();
        for day in [today.yesterday().ok(), Some(today), today.tomorrow().ok()]
            .into_iter()
            .flatten()
        {
            if let Some(w) = calendar.window(day) {
                spans.push((w.start().timestamp(), w.end().timestamp()));
            }
        }
        spans.sort();
        let mut joined: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (a, b) in spans {
            match joined.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => joined.push((a, b)),
            }
        }
        // Only a span that includes an approved window counts (office hours alone are checked
        // as before).
        joined.into_iter().find(|&(a, b)| {
            a <= now
                && now < b
                && approved
                    .iter()
                    .any(|&(x, y)| a <= x && y <= b && x < b && now < b)
        })
    }

    /// Whether `site` is open now, and for how long.
    pub fn site_window(&self, site: &str) -> SiteWindow {
        let now = self.clock.now();
        let calendar = self.calendars.for_site(site);
        if let Some((_, end)) = self.approved_span(site, now) {
            return SiteWindow::Open {
                left: Duration::try_from(now.duration_until(end)).unwrap_or_default(),
                closes: end.to_zoned(calendar.time_zone().clone()),
            };
        }
        let today = now.to_zoned(calendar.time_zone().clone()).date();
        let Some(window) = calendar.window(today) else {
            let why = calendar
                .why_closed(today)
                .map_or_else(String::new, |r| format!(" ({r})"));
            return SiteWindow::Closed(format!("site {site} is closed today, {today}{why}"));
        };
        if now < window.start().timestamp() {
            return SiteWindow::Closed(format!(
                "office hours at {site} begin at {}",
                window.start().strftime("%H:%M")
            ));
        }
        if now >= window.end().timestamp() {
            return SiteWindow::Closed(format!(
                "office hours at {site} ended at {}",
                window.end().strftime("%H:%M")
            ));
        }
        let left = now.duration_until(window.end().timestamp());
        SiteWindow::Open {
            left: Duration::try_from(left).unwrap_or_default(),
            closes: window.end().clone(),
        }
    }

    /// The next window of `site` that has not ended yet and does not contain now (the window
    /// work can resume in): the next office hours or the next approved out-of-hours window,
    /// whichever starts first, joined with the office hours and approved windows it touches
    /// (an approved evening extends that day's hours; an approved early start opens the day
    /// earlier).
    pub fn next_window(&self, site: &str) -> Option<Window> {
        let now = self.clock.now();
        let calendar = self.calendars.for_site(site);
        let tz = calendar.time_zone().clone();
        let mut after = now;
        // A joined span can hold now (an approved evening after today's open hours): then look
        // past its end. Each round moves past one span, and spans do not nest.
        for _ in 0..16 {
            let office = calendar
                .windows_from(after)
                .find(|w| w.start().timestamp() > after);
            let approved = self
                .approved
                .get(site)
                .into_iter()
                .flatten()
                .map(|&(start, _)| start)
                .filter(|&start| start > after)
                .min();
            let start = match (&office, approved) {
                (Some(o), Some(a)) => a.min(o.start().timestamp()),
                (Some(o), None) => o.start().timestamp(),
                (None, Some(a)) => a,
                (None, None) => return None,
            };
            let Some((from, to)) = self.approved_span(site, start) else {
                return office;
            };
            if from <= now {
                after = to;
                continue;
            }
            let from = from.to_zoned(tz.clone());
            return Some(Window::new(from.date(), from, to.to_zoned(tz)));
        }
        None
    }

    /// Why a visit needing `needed` cannot start now at `site` (`None`: it can).
    pub fn refuse_start(&self, site: &str, needed: Duration) -> Option<String> {
        self.site_window(site).refuse(site, || needed)
    }

    /// Why nothing more may start at `site` now (`None`: the site is open).
    pub fn closed(&self, site: &str) -> Option<String> {
        match self.site_window(site) {
            SiteWindow::Closed(why) => Some(why),
            SiteWindow::Open { .. } => None,
        }
    }
}

/// How long a terminal's remaining work takes: the per-terminal estimate of each of its jobs
/// that has a unit not yet finished (from the plan's schedule when it has one, else the
/// declared minutes).
pub fn work_left(plan: &Plan, terminal: &PlannedTerminal, finished: &Finished) -> Duration {
    let mut seconds = 0u64;
    for job in &terminal.jobs {
        let open = terminal.tasks.iter().any(|t| {
            t.job == *job && !finished.contains_key(&(terminal.id.clone(), t.key.clone()))
        });
        if !open {
            continue;
        }
        let scheduled = plan
            .schedule
            .as_ref()
            .and_then(|s| s.seconds_per_terminal(job));
        let declared = plan
            .jobs
            .iter()
            .find(|j| j.id == *job)
            .map(|j| u64::from(j.minutes_per_terminal) * 60);
        seconds = seconds.saturating_add(scheduled.or(declared).unwrap_or(0));
    }
    Duration::from_secs(seconds)
}

/// Work an office-hours window left undone at one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PausedSite {
    /// Site id.
    pub site: String,
    /// Terminals with work left, in plan order.
    pub terminals: Vec<String>,
    /// Why, for people (the first reason met).
    pub why: String,
    /// The next window, when the calendar has one.
    pub next_window: Option<Window>,
}

/// A run that stopped because of office hours, with work left for the next window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WindowPause {
    /// Per site with work left, in plan order.
    pub sites: Vec<PausedSite>,
    /// The run to resume (when the run has a journal).
    pub run: Option<String>,
}

impl WindowPause {
    /// Terminals with work left.
    pub fn terminals(&self) -> usize {
        self.sites.iter().map(|s| s.terminals.len()).sum()
    }

    /// What happened and how to go on, for people.
    pub fn message(&self) -> String {
        let mut out = format!(
            "paused for office hours: {} terminal(s) at {} site(s) have work left",
            self.terminals(),
            self.sites.len()
        );
        for s in &self.sites {
            let next = s.next_window.as_ref().map_or_else(
                || "no next window in the calendar".to_string(),
                |w| {
                    format!(
                        "next window {} {}-{}",
                        w.date().strftime("%Y-%m-%d %a"),
                        w.start().strftime("%H:%M"),
                        w.end().strftime("%H:%M")
                    )
                },
            );
            let shown: Vec<&str> = s.terminals.iter().take(5).map(String::as_str).collect();
            let more = s.terminals.len().saturating_sub(shown.len());
            out.push_str(&format!(
                "\n  {}: {}{} ({}); {next}",
                s.site,
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                },
                s.why
            ));
        }
        match &self.run {
            Some(run) => out.push_str(&format!(
                "\nresume in the next window with the same plan options: seibi apply --resume {run}"
            )),
            None => out.push_str("\nrun `seibi apply` again in the next window"),
        }
        out
    }
}

/// Collects, per site, the terminals an office-hours window left with work.
#[derive(Debug, Default)]
pub(super) struct PauseBuilder {
    sites: BTreeMap<usize, (String, Vec<String>, String)>,
}

impl PauseBuilder {
    /// Notes that `terminal` (at site number `index`, id `site`) has work left, because `why`.
    pub(super) fn note(&mut self, index: usize, site: &str, terminal: &str, why: &str) {
        let entry = self
            .sites
            .entry(index)
            .or_insert_with(|| (site.to_string(), Vec::new(), why.to_string()));
        if !entry.1.iter().any(|t| t == terminal) {
            entry.1.push(terminal.to_string());
        }
    }

    /// The pause, if any terminal has work left.
    pub(super) fn finish(self, policy: &WindowPolicy, run: Option<String>) -> Option<WindowPause> {
        if self.sites.is_empty() {
            return None;
        }
        Some(WindowPause {
            sites: self
                .sites
                .into_values()
                .map(|(site, terminals, why)| PausedSite {
                    next_window: policy.next_window(&site),
                    site,
                    terminals,
                    why,
                })
                .collect(),
            run,
        })
    }
}

#[cfg(test)]
mod tests;
