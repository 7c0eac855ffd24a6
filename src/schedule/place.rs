//! Placement: putting each terminal's share of each visit into office-hour windows, and the
//! proof (or disproof) that every site finishes within the allowed business days.
//!
//! # Model
//! * A *unit* is one terminal's part of one visit: every job of the visit that reaches the
//!   terminal, one after the other. A unit runs inside one office-hours window of its site and
//!   is never started when it cannot finish before closing; a unit longer than a whole window is
//!   an error ([`ScheduleError::WorkLongerThanWindow`]). One terminal runs one unit at a time.
//! * The visits of one site on one day form that site's *wave* ([`SiteSchedule`]). A wave
//!   starts when the site opens on the visit's day (or at [`PlaceOptions::not_before`], if
//!   later). When the site has a bandwidth and the wave's jobs ship artifacts, sending them
//!   takes office time first (bytes × 8 / bandwidth; it may pause overnight and resume) and
//!   needs no terminal capacity.
//! * At most `capacity` units run at once at a site, and at most the global limit across all
//!   sites. A terminal is started whenever a slot is free and its unit fits in what is left of
//!   the window (later units may overtake one that does not fit). When the global limit binds,
//!   the site with the most work left gets the next slot (longest remaining work first keeps
//!   the sites' finishes close together).
//! * Canary: on each visit day, either one named site's units or the first N units (sites in
//!   inventory order) run first; every other unit of that day starts only after the last canary
//!   unit has finished.
//!
//! # The deadline check
//! A wave's day 1 is its start day; it must finish by the close of business day
//! `deadline_business_days` of its site's calendar (a site's extra closed days are not business
//! days for it). For each wave that misses, [`SiteMiss`] says by how many business days and how
//! much office time, and the smallest capacity that would let the site fit on its own (found by
//! bisection over simulated capacities, the global limit left aside); when a global limit is
//! set, [`Feasibility::global_limit_needed`] is the smallest limit that makes every wave fit
//! with those capacities. Each job's own deadline is checked against its wave's finish too.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::batch::Visit;
use super::{Calendars, ScheduleError, Targets, did_you_mean, estimate::Estimates};
use crate::calendar::{Calendar, TIME_ZONE_NAME};
use crate::inventory::Inventory;

/// Which work runs first, alone, on each visit day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Canary {
    /// All of this site's terminals.
    Site(String),
    /// The first N terminals of the day (sites in inventory order).
    Terminals(u32),
}

/// Knobs of the placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOptions {
    /// No work before this instant (e.g. now); by default each visit starts when its day opens.
    pub not_before: Option<Timestamp>,
    /// At most this many terminals worked on at once across all sites.
    pub global_limit: Option<u32>,
    /// A site's work must finish within this many business days, its start day being day 1.
    pub deadline_business_days: u32,
    /// Work that runs first on each visit day.
    pub canary: Option<Canary>,
    /// Whether to search for the capacities and global limit that would fit when something
    /// misses (a few more simulations).
    pub suggest: bool,
}

impl Default for PlaceOptions {
    fn default() -> Self {
        PlaceOptions {
            not_before: None,
            global_limit: None,
            deadline_business_days: 3,
            canary: None,
            suggest: true,
        }
    }
}

/// What placement works from.
#[derive(Debug, Clone, Copy)]
pub struct PlaceInput<'a> {
    /// The visits to place (from [`super::batch()`]).
    pub visits: &'a [Visit],
    /// Sites (capacity, bandwidth, names) and terminal order.
    pub inventory: &'a Inventory,
    /// Which terminals each job reaches at each site.
    pub targets: &'a Targets,
    /// Time per job and terminal.
    pub estimates: &'a Estimates,
    /// Business days and hours of each site.
    pub calendars: &'a Calendars,
    /// Bytes of artifacts each job ships (jobs absent ship nothing).
    pub artifact_bytes: &'a BTreeMap<String, u64>,
}

/// A terminal's visit that cannot fit in one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlongWork {
    /// The terminal.
    pub terminal: String,
    /// Its site.
    pub site: String,
    /// The visit.
    pub visit: String,
    /// The visit's jobs on this terminal.
    pub jobs: Vec<String>,
    /// Minutes the terminal's work takes (rounded up).
    pub needed_minutes: i64,
    /// Minutes the site is open a day.
    pub window_minutes: i64,
}

/// One terminal's work in one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// The terminal.
    pub terminal: String,
    /// The visit.
    pub visit: String,
    /// The jobs done, in order.
    pub jobs: Vec<String>,
    /// When the work starts.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When it ends.
    #[schemars(with = "String")]
    pub end: Zoned,
}

/// One business day of a site's wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteDay {
    /// The day.
    #[schemars(with = "String")]
    pub date: Date,
    /// Which business day of the wave it is (1 = the start day).
    pub business_day: u32,
    /// When work (or sending artifacts) starts that day.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When it ends that day.
    #[schemars(with = "String")]
    pub end: Zoned,
    /// Terminals worked on that day.
    pub terminals: usize,
}

/// Sending a wave's artifacts to its site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Bytes sent.
    pub bytes: u64,
    /// The site's bandwidth.
    pub bandwidth_mbps: f64,
    /// When sending starts.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When it ends (terminals start from then).
    #[schemars(with = "String")]
    pub end: Zoned,
}

/// Whether a wave finishes within the allowed business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "status", deny_unknown_fields)]
pub enum DeadlineStatus {
    /// Finished on this business day (1-based), within the limit.
    Met {
        /// The business day of the finish.
        business_day: u32,
    },
    /// Finished after the deadline day's close.
    Missed {
        /// Business days after the deadline day on which the work ends.
        business_days_late: i32,
        /// Office time from the deadline's close to the finish, in minutes (rounded up).
        office_minutes_late: i64,
    },
}

/// The work at one site that starts on one visit day: its timetable and deadline check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteSchedule {
    /// The site.
    pub site: String,
    /// Its display name.
    pub name: String,
    /// Terminals at once.
    pub capacity: u32,
    /// The visits' day.
    #[schemars(with = "String")]
    pub date: Date,
    /// The visits placed.
    pub visits: Vec<String>,
    /// Their jobs, in visit order.
    pub jobs: Vec<String>,
    /// Whether this is canary work.
    pub canary: bool,
    /// Day 1 of the deadline count.
    #[schemars(with = "String")]
    pub start_day: Date,
    /// The last business day allowed.
    #[schemars(with = "String")]
    pub deadline_day: Date,
    /// The deadline day's closing time.
    #[schemars(with = "String")]
    pub deadline: Zoned,
    /// Sending artifacts, when the site has a bandwidth and the jobs ship any.
    pub transfer: Option<Transfer>,
    /// The business days with work.
    pub days: Vec<SiteDay>,
    /// Each terminal's work, in start order.
    pub slots: Vec<Slot>,
    /// When the first work starts.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// When the last terminal finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
    /// Whether that is in time.
    pub status: DeadlineStatus,
}

impl SiteSchedule {
    /// Whether the site finishes within the allowed business days.
    pub fn is_met(&self) -> bool {
        matches!(self.status, DeadlineStatus::Met { .. })
    }
}

/// A wave that misses the deadline, by how much, and what would fit. Its start day and last
/// allowed day are in the [`SiteSchedule`] of the same site and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteMiss {
    /// The site.
    pub site: String,
    /// The visits' day.
    #[schemars(with = "String")]
    pub date: Date,
    /// When it finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
    /// Business days after the deadline day.
    pub business_days_late: i32,
    /// Office time past the deadline's close, in minutes.
    pub office_minutes_late: i64,
    /// The site's capacity.
    pub capacity: u32,
    /// The smallest capacity with which the site fits on its own; equal to `capacity` when the
    /// site would fit but the global limit or the canary holds it back; `None` when no capacity
    /// is enough.
    pub capacity_that_fits: Option<u32>,
    /// What to change, for people.
    pub suggestion: String,
}

/// A job that a wave finishes after the job's own deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobDeadlineMiss {
    /// The site.
    pub site: String,
    /// The job.
    pub job: String,
    /// Its deadline.
    #[schemars(with = "String")]
    pub deadline: Date,
    /// When the site's wave finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
}

/// The verdict on the whole schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feasibility {
    /// Every wave within the business-day limit and every job by its deadline.
    pub feasible: bool,
    /// Waves past the business-day limit.
    pub misses: Vec<SiteMiss>,
    /// Jobs finished after their deadline.
    pub job_deadline_misses: Vec<JobDeadlineMiss>,
    /// The smallest global limit that lets every wave fit with the suggested capacities, when
    /// the current one is too low.
    pub global_limit_needed: Option<u32>,
    /// What to change overall, for people.
    pub suggestions: Vec<String>,
}

/// Where and when every terminal is worked on, and whether that is in time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// The time zone of every time (Asia/Tokyo).
    pub time_zone: String,
    /// The business-day limit per site.
    pub deadline_business_days: u32,
    /// The global limit used.
    pub global_limit: Option<u32>,
    /// The canary used.
    pub canary: Option<Canary>,
    /// Waves by site (inventory order), then day.
    pub sites: Vec<SiteSchedule>,
    /// The verdict.
    pub feasibility: Feasibility,
    /// Remarks (a canary site without a visit on some day, an unusable bandwidth).
    pub notes: Vec<String>,
}

impl Schedule {
    /// The first wave at a site.
    pub fn site(&self, site: &str) -> Option<&SiteSchedule> {
        self.sites.iter().find(|s| s.site == site)
    }

    /// When the last terminal of all finishes.
    pub fn finish(&self) -> Option<&Zoned> {
        self.sites.iter().map(|s| &s.finish).max()
    }
}

/// Places the visits into windows; see the module documentation.
pub fn place(input: &PlaceInput<'_>, options: &PlaceOptions) -> Result<Schedule, ScheduleError> {
    if options.global_limit == Some(0) {
        return Err(ScheduleError::ZeroGlobalLimit);
    }
    let problem = Problem::build(input, options)?;
    let mut tables: Vec<WindowTable<'_>> = problem
        .sites
        .iter()
        .map(|s| WindowTable::new(s.calendar, problem.base_date))
        .collect();
    let mut notes = problem.notes.clone();
    let prepared = problem.prepare(&mut tables, options, &mut notes)?;
    let caps: Vec<u32> = problem.sites.iter().map(|s| s.capacity).collect();
    let times = simulate(&prepared.sim, &caps, options.global_limit, &mut tables)?;
    let verdicts = problem.verdicts(&prepared, &times, options, &mut tables)?;

    let mut feasibility = Feasibility {
        feasible: true,
        misses: Vec::new(),
        job_deadline_misses: Vec::new(),
        global_limit_needed: None,
        suggestions: Vec::new(),
    };
    let tz = tokyo(problem.sites.first().map(|s| s.calendar));
    // Suggestions: capacities per missing site, then the global limit.
    let missing_sites: BTreeSet<usize> = verdicts
        .iter()
        .zip(&problem.waves)
        .filter(|(v, _)| !v.met)
        .map(|(_, w)| w.site)
        .collect();
    let mut fits: BTreeMap<usize, Option<u32>> = BTreeMap::new();
    if options.suggest {
        for &s in &missing_sites {
            let fit = problem.capacity_that_fits(s, &prepared, &times, &verdicts, &mut tables)?;
            fits.insert(s, fit);
        }
        if let Some(limit) = options.global_limit
            && !missing_sites.is_empty()
        {
            let caps2: Vec<u32> = caps
                .iter()
                .enumerate()
                .map(|(s, &c)| fits.get(&s).copied().flatten().unwrap_or(c).max(c))
                .collect();
            match problem.global_limit_that_fits(limit, &caps2, &prepared, options, &mut tables)? {
                Some(needed) if needed > limit => {
                    feasibility.global_limit_needed = Some(needed);
                    feasibility.suggestions.push(format!(
                        "raise the global limit from {limit} to {needed} terminals at a time"
                    ));
                }
                Some(_) => {}
                None => feasibility.suggestions.push(
                    "no global limit is enough with the suggested capacities: see each site"
                        .to_string(),
                ),
            }
        }
    }

    let mut sites = Vec::with_capacity(problem.waves.len());
    for (w, (wave, verdict)) in problem.waves.iter().zip(&verdicts).enumerate() {
        let site = &problem.sites[wave.site];
        let schedule = problem.site_schedule(w, &prepared, &times, verdict, &tz)?;
        if let DeadlineStatus::Missed {
            business_days_late,
            office_minutes_late,
        } = schedule.status
        {
            let fit = fits.get(&wave.site).copied().flatten();
            let suggestion = match fit {
                _ if !options.suggest => String::new(),
                Some(c) if c > site.capacity => format!(
                    "raise the capacity of `{}` from {} to {c} terminals at a time",
                    site.id, site.capacity
                ),
                Some(_) => format!(
                    "capacity {} is enough for `{}` on its own: the global limit or the wait \
                     for the canary holds it back",
                    site.capacity, site.id
                ),
                None => format!(
                    "no capacity is enough for `{}`: even with every terminal at once it ends \
                     after the deadline; start earlier, shorten the jobs or ask the city for \
                     more business days",
                    site.id
                ),
            };
            if options.suggest {
                feasibility
                    .suggestions
                    .push(format!("{} ({}): {suggestion}", site.id, wave.date));
            }
            feasibility.misses.push(SiteMiss {
                site: site.id.clone(),
                date: wave.date,
                finish: schedule.finish.clone(),
                business_days_late,
                office_minutes_late,
                capacity: site.capacity,
                capacity_that_fits: fit,
                suggestion,
            });
        }
        for &v in &wave.visits {
            for job in &problem.visits[v].jobs {
                if let Some(deadline) = job.deadline
                    && schedule.finish.date() > deadline
                {
                    feasibility.job_deadline_misses.push(JobDeadlineMiss {
                        site: site.id.clone(),
                        job: job.job.clone(),
                        deadline,
                        finish: schedule.finish.clone(),
                    });
                }
            }
        }
        sites.push(schedule);
    }
    feasibility.feasible =
        feasibility.misses.is_empty() && feasibility.job_deadline_misses.is_empty();
    Ok(Schedule {
        time_zone: TIME_ZONE_NAME.to_string(),
        deadline_business_days: options.deadline_business_days,
        global_limit: options.global_limit,
        canary: options.canary.clone(),
        sites,
        feasibility,
        notes,
    })
}

fn tokyo(calendar: Option<&Calendar>) -> TimeZone {
    calendar.map_or_else(
        || Calendar::new().time_zone().clone(),
        |c| c.time_zone().clone(),
    )
}

/// A timestamp in seconds as a zoned time. Every second here comes from a window of a civil
/// date, so it is in jiff's range; the fallback cannot be reached.
fn zoned(second: i64, tz: &TimeZone) -> Zoned {
    Timestamp::from_second(second)
        .unwrap_or(Timestamp::MAX)
        .to_zoned(tz.clone())
}

/// Minutes, rounded up.
fn minutes_up(seconds: i64) -> i64 {
    (seconds + 59).div_euclid(60)
}

struct SiteInfo<'a> {
    id: String,
    name: String,
    capacity: u32,
    bandwidth_mbps: Option<f64>,
    calendar: &'a Calendar,
}

struct WaveInfo {
    site: usize,
    date: Date,
    visits: Vec<usize>,
    /// Unit indices, in order.
    units: Vec<usize>,
}

struct UnitInfo {
    wave: usize,
    visit: usize,
    terminal: usize,
    jobs: Vec<usize>,
    duration: i64,
}

/// The placement problem, independent of capacities and the global limit.
struct Problem<'a> {
    visits: &'a [Visit],
    sites: Vec<SiteInfo<'a>>,
    waves: Vec<WaveInfo>,
    units: Vec<UnitInfo>,
    terminals: Vec<String>,
    base_date: Date,
    notes: Vec<String>,
    artifact_bytes: &'a BTreeMap<String, u64>,
}

/// Per-wave data that depends on the calendars: release, transfer, canary gates.
struct Prepared {
    sim: SimProblem,
    wave_start_day: Vec<Date>,
    wave_start: Vec<i64>,
    transfers: Vec<Option<SentArtifacts>>,
    canary_units: Vec<bool>,
}

/// Bytes, bandwidth and the office-time segments spent sending them.
struct SentArtifacts {
    bytes: u64,
    mbps: f64,
    segments: Vec<(i64, i64)>,
}

struct Verdict {
    met: bool,
    finish: i64,
    deadline_day: Date,
    deadline_close: i64,
    status: DeadlineStatus,
}

impl<'a> Problem<'a> {
    fn build(input: &PlaceInput<'a>, options: &PlaceOptions) -> Result<Self, ScheduleError> {
        let inventory = input.inventory;
        let site_ids: Vec<&str> = inventory.sites.keys().map(String::as_str).collect();
        let sites: Vec<SiteInfo<'a>> = inventory
            .sites
            .values()
            .map(|s| SiteInfo {
                id: s.id.clone(),
                name: s.name.clone(),
                capacity: s.capacity.max(1),
                bandwidth_mbps: s.bandwidth_mbps,
                calendar: input.calendars.for_site(&s.id),
            })
            .collect();
        if let Some(Canary::Site(canary)) = &options.canary
            && !inventory.sites.contains_key(canary)
        {
            return Err(ScheduleError::UnknownSite {
                what: "the canary".to_string(),
                site: canary.clone(),
                hint: did_you_mean(canary, site_ids.iter().copied()),
            });
        }
        let mut wave_of: BTreeMap<(usize, Date), Vec<usize>> = BTreeMap::new();
        for (v, visit) in input.visits.iter().enumerate() {
            let Some(site) = inventory.sites.get_index_of(&visit.site) else {
                return Err(ScheduleError::UnknownSite {
                    what: format!("visit `{}`", visit.id),
                    site: visit.site.clone(),
                    hint: did_you_mean(&visit.site, site_ids.iter().copied()),
                });
            };
            wave_of.entry((site, visit.date)).or_default().push(v);
        }

        let mut terminal_index: HashMap<&str, usize> = HashMap::new();
        let mut terminals: Vec<String> = Vec::new();
        let mut waves = Vec::new();
        let mut units = Vec::new();
        let mut overlong = Vec::new();
        for ((site, date), visits) in wave_of {
            let info = &sites[site];
            let window = info.calendar.hours().duration().as_secs();
            let w = waves.len();
            let mut wave = WaveInfo {
                site,
                date,
                visits: visits.clone(),
                units: Vec::new(),
            };
            for v in visits {
                let visit = &input.visits[v];
                // Terminal (in inventory order, unknown ones last by id) -> (jobs, seconds).
                let mut work: BTreeMap<(usize, &str), (Vec<usize>, i64)> = BTreeMap::new();
                for (j, job) in visit.jobs.iter().enumerate() {
                    for terminal in input.targets.terminals(&job.job, &visit.site) {
                        let time = input
                            .estimates
                            .for_terminal(&job.job, terminal)
                            .ok_or_else(|| ScheduleError::NoEstimate {
                                job: job.job.clone(),
                            })?;
                        let order = inventory
                            .terminals
                            .get_index_of(terminal)
                            .unwrap_or(usize::MAX);
                        let entry = work
                            .entry((order, terminal.as_str()))
                            .or_insert((Vec::new(), 0));
                        entry.0.push(j);
                        entry.1 = entry
                            .1
                            .saturating_add(i64::try_from(time.as_secs()).unwrap_or(i64::MAX));
                        if time.subsec_nanos() > 0 {
                            entry.1 = entry.1.saturating_add(1);
                        }
                    }
                }
                for ((_, terminal), (jobs, duration)) in work {
                    if duration > window {
                        overlong.push(OverlongWork {
                            terminal: terminal.to_string(),
                            site: info.id.clone(),
                            visit: visit.id.clone(),
                            jobs: jobs.iter().map(|&j| visit.jobs[j].job.clone()).collect(),
                            needed_minutes: minutes_up(duration),
                            window_minutes: window / 60,
                        });
                        continue;
                    }
                    let t = *terminal_index.entry(terminal).or_insert_with(|| {
                        terminals.push(terminal.to_string());
                        terminals.len() - 1
                    });
                    wave.units.push(units.len());
                    units.push(UnitInfo {
                        wave: w,
                        visit: v,
                        terminal: t,
                        jobs,
                        duration,
                    });
                }
            }
            if !wave.units.is_empty() {
                waves.push(wave);
            }
        }
        if !overlong.is_empty() {
            return Err(ScheduleError::WorkLongerThanWindow(overlong));
        }
        let mut placed = vec![false; input.visits.len()];
        for unit in &units {
            placed[unit.visit] = true;
        }
        let notes = input
            .visits
            .iter()
            .zip(placed)
            .filter(|(_, placed)| !placed)
            .map(|(visit, _)| {
                format!(
                    "visit `{}` reaches no terminal at `{}`: nothing to place",
                    visit.id, visit.site
                )
            })
            .collect();
        let base_date = waves.iter().map(|w| w.date).min().unwrap_or_default();
        Ok(Problem {
            visits: input.visits,
            sites,
            waves,
            units,
            terminals,
            base_date,
            notes,
            artifact_bytes: input.artifact_bytes,
        })
    }

    fn prepare(
        &self,
        tables: &mut [WindowTable<'_>],
        options: &PlaceOptions,
        notes: &mut Vec<String>,
    ) -> Result<Prepared, ScheduleError> {
        let mut sim_units: Vec<SimUnit> = self
            .units
            .iter()
            .map(|u| SimUnit {
                site: self.waves[u.wave].site,
                terminal: u.terminal,
                duration: u.duration,
                release: 0,
                gate: None,
                canary_of: None,
            })
            .collect();
        let mut wave_start_day = Vec::with_capacity(self.waves.len());
        let mut wave_start = Vec::with_capacity(self.waves.len());
        let mut transfers = Vec::with_capacity(self.waves.len());
        for wave in &self.waves {
            let site = &self.sites[wave.site];
            let table = &mut tables[wave.site];
            let mut i = 0;
            while table.get(i)?.date < wave.date {
                i += 1;
            }
            let open = table.get(i)?.start;
            let t0 = options
                .not_before
                .map_or(open, |nb| nb.as_second().max(open));
            let i = table.first_ending_after(t0, i)?;
            let window = table.get(i)?;
            let start = t0.max(window.start);
            wave_start_day.push(window.date);
            wave_start.push(start);

            let mut jobs: BTreeSet<&str> = BTreeSet::new();
            for &v in &wave.visits {
                jobs.extend(self.visits[v].jobs.iter().map(|j| j.job.as_str()));
            }
            let bytes: u64 = jobs
                .iter()
                .filter_map(|j| self.artifact_bytes.get(*j))
                .fold(0u64, |a, b| a.saturating_add(*b));
            let mut release = start;
            let mut transfer = None;
            match site.bandwidth_mbps {
                Some(mbps) if bytes > 0 && mbps.is_finite() && mbps > 0.0 => {
                    // Bytes to seconds at `mbps` megabits per second, rounded up.
                    let seconds = (bytes as f64 * 8.0 / (mbps * 1e6)).ceil();
                    let seconds = if seconds < i64::MAX as f64 {
                        seconds as i64
                    } else {
                        i64::MAX / 4
                    };
                    let segments = table.consume(start, i, seconds)?;
                    release = segments.last().map_or(start, |s| s.1);
                    transfer = Some(SentArtifacts {
                        bytes,
                        mbps,
                        segments,
                    });
                }
                Some(mbps) if bytes > 0 => notes.push(format!(
                    "site `{}` has bandwidth {mbps} Mbps, which cannot be used; the time to send \
                     artifacts is left out",
                    site.id
                )),
                _ => {}
            }
            transfers.push(transfer);
            for &u in &wave.units {
                sim_units[u].release = release;
            }
        }

        // Canary gates, one per visit day.
        let mut canary_units = vec![false; self.units.len()];
        let mut gate_sizes = Vec::new();
        if let Some(canary) = &options.canary {
            let days: BTreeSet<Date> = self.waves.iter().map(|w| w.date).collect();
            for day in days {
                let day_units: Vec<usize> = self
                    .waves
                    .iter()
                    .filter(|w| w.date == day)
                    .flat_map(|w| w.units.iter().copied())
                    .collect();
                let chosen: Vec<usize> = match canary {
                    Canary::Site(id) => day_units
                        .iter()
                        .copied()
                        .filter(|&u| self.sites[self.waves[self.units[u].wave].site].id == *id)
                        .collect(),
                    Canary::Terminals(n) => day_units
                        .iter()
                        .copied()
                        .take(usize::try_from(*n).unwrap_or(usize::MAX))
                        .collect(),
                };
                if chosen.is_empty() {
                    notes.push(match canary {
                        Canary::Site(id) => {
                            format!("no canary on {day}: site `{id}` has no visit that day")
                        }
                        Canary::Terminals(_) => {
                            format!("no canary on {day}: a canary of 0 terminals is none")
                        }
                    });
                    continue;
                }
                if chosen.len() == day_units.len() {
                    notes.push(format!(
                        "on {day} the canary is all the work of the day: nothing waits for it"
                    ));
                }
                let g = gate_sizes.len();
                gate_sizes.push(chosen.len());
                for &u in &chosen {
                    canary_units[u] = true;
                    sim_units[u].canary_of = Some(g);
                }
                for &u in &day_units {
                    if !canary_units[u] {
                        sim_units[u].gate = Some(g);
                    }
                }
            }
        }
        Ok(Prepared {
            sim: SimProblem {
                units: sim_units,
                sites: self.sites.len(),
                terminals: self.terminals.len(),
                gate_sizes,
            },
            wave_start_day,
            wave_start,
            transfers,
            canary_units,
        })
    }

    /// Deadline checks of every wave for placement `times`.
    fn verdicts(
        &self,
        prepared: &Prepared,
        times: &[(i64, i64)],
        options: &PlaceOptions,
        tables: &mut [WindowTable<'_>],
    ) -> Result<Vec<Verdict>, ScheduleError> {
        self.waves
            .iter()
            .enumerate()
            .map(|(w, _)| self.verdict(w, prepared, times, options, tables))
            .collect()
    }

    fn verdict(
        &self,
        w: usize,
        prepared: &Prepared,
        times: &[(i64, i64)],
        options: &PlaceOptions,
        tables: &mut [WindowTable<'_>],
    ) -> Result<Verdict, ScheduleError> {
        let wave = &self.waves[w];
        let calendar = self.sites[wave.site].calendar;
        let table = &mut tables[wave.site];
        let start_day = prepared.wave_start_day[w];
        let finish = wave
            .units
            .iter()
            .map(|&u| times[u].1)
            .max()
            .unwrap_or(prepared.wave_start[w]);
        let days = options.deadline_business_days.max(1);
        let deadline_day = calendar
            .add_business_days(start_day, days - 1)
            .ok_or_else(|| ScheduleError::NoBusinessDay {
                site: self.sites[wave.site].id.clone(),
                from: start_day,
            })?;
        let deadline_index = table.index_of(deadline_day)?;
        let deadline_close = table.get(deadline_index)?.end;
        let finish_index = table.first_ending_after(finish - 1, 0)?;
        let finish_day = table.get(finish_index)?.date;
        let status = if finish <= deadline_close {
            DeadlineStatus::Met {
                business_day: business_day_number(calendar, start_day, finish_day),
            }
        } else {
            let mut late = 0i64;
            let mut i = deadline_index + 1;
            loop {
                let window = table.get(i)?;
                if window.start >= finish {
                    break;
                }
                late += finish.min(window.end) - window.start;
                i += 1;
            }
            DeadlineStatus::Missed {
                business_days_late: calendar.business_days_between(deadline_day, finish_day),
                office_minutes_late: minutes_up(late),
            }
        };
        Ok(Verdict {
            met: finish <= deadline_close,
            finish,
            deadline_day,
            deadline_close,
            status,
        })
    }

    /// The smallest capacity with which site `s` meets every deadline on its own (no global
    /// limit, releases as in the placement, canary waits included).
    fn capacity_that_fits(
        &self,
        s: usize,
        prepared: &Prepared,
        times: &[(i64, i64)],
        verdicts: &[Verdict],
        tables: &mut [WindowTable<'_>],
    ) -> Result<Option<u32>, ScheduleError> {
        let mut gate_open = vec![i64::MIN; prepared.sim.gate_sizes.len()];
        for (u, unit) in prepared.sim.units.iter().enumerate() {
            if let Some(g) = unit.canary_of {
                gate_open[g] = gate_open[g].max(times[u].1);
            }
        }
        let mine: Vec<usize> = (0..self.units.len())
            .filter(|&u| prepared.sim.units[u].site == s)
            .collect();
        let sub = SimProblem {
            units: mine
                .iter()
                .map(|&u| {
                    let unit = &prepared.sim.units[u];
                    SimUnit {
                        release: unit
                            .gate
                            .map_or(unit.release, |g| unit.release.max(gate_open[g])),
                        gate: None,
                        canary_of: None,
                        ..*unit
                    }
                })
                .collect(),
            sites: prepared.sim.sites,
            terminals: prepared.sim.terminals,
            gate_sizes: Vec::new(),
        };
        let waves: Vec<usize> = (0..self.waves.len())
            .filter(|&w| self.waves[w].site == s)
            .collect();
        let deadlines: Vec<i64> = waves.iter().map(|&w| verdicts[w].deadline_close).collect();
        let meets = |capacity: u32, tables: &mut [WindowTable<'_>]| {
            let mut caps = vec![1; prepared.sim.sites];
            caps[s] = capacity;
            let sub_times = simulate(&sub, &caps, None, tables)?;
            let mut finish: BTreeMap<usize, i64> = BTreeMap::new();
            for (k, &u) in mine.iter().enumerate() {
                let f = finish.entry(self.units[u].wave).or_insert(i64::MIN);
                *f = (*f).max(sub_times[k].1);
            }
            Ok::<bool, ScheduleError>(
                waves
                    .iter()
                    .zip(&deadlines)
                    .all(|(w, &d)| finish.get(w).is_none_or(|&f| f <= d)),
            )
        };
        let current = self.sites[s].capacity;
        if meets(current, tables)? {
            return Ok(Some(current));
        }
        let most = self
            .waves
            .iter()
            .filter(|w| w.site == s)
            .map(|w| w.units.len())
            .max()
            .unwrap_or(1);
        let most = u32::try_from(most).unwrap_or(u32::MAX);
        if most <= current || !meets(most, tables)? {
            return Ok(None);
        }
        let (mut fails, mut fits) = (current, most);
        while fits - fails > 1 {
            let mid = fails + (fits - fails) / 2;
            if meets(mid, tables)? {
                fits = mid;
            } else {
                fails = mid;
            }
        }
        Ok(Some(fits))
    }

    /// The smallest global limit (at least `current`) with which every wave meets its deadline
    /// under `caps`; `None` when even no limit is not enough.
    fn global_limit_that_fits(
        &self,
        current: u32,
        caps: &[u32],
        prepared: &Prepared,
        options: &PlaceOptions,
        tables: &mut [WindowTable<'_>],
    ) -> Result<Option<u32>, ScheduleError> {
        let all_meet = |limit: Option<u32>, tables: &mut [WindowTable<'_>]| {
            let times = simulate(&prepared.sim, caps, limit, tables)?;
            let verdicts = self.verdicts(prepared, &times, options, tables)?;
            Ok::<bool, ScheduleError>(verdicts.iter().all(|v| v.met))
        };
        if !all_meet(None, tables)? {
            return Ok(None);
        }
        if all_meet(Some(current), tables)? {
            return Ok(Some(current));
        }
        let total: u32 = caps.iter().fold(0u32, |a, &c| a.saturating_add(c));
        let (mut fails, mut fits) = (current, total.max(current + 1));
        while fits - fails > 1 {
            let mid = fails + (fits - fails) / 2;
            if all_meet(Some(mid), tables)? {
                fits = mid;
            } else {
                fails = mid;
            }
        }
        Ok(Some(fits))
    }

    fn site_schedule(
        &self,
        w: usize,
        prepared: &Prepared,
        times: &[(i64, i64)],
        verdict: &Verdict,
        tz: &TimeZone,
    ) -> Result<SiteSchedule, ScheduleError> {
        let wave = &self.waves[w];
        let site = &self.sites[wave.site];
        let start_day = prepared.wave_start_day[w];
        let mut order: Vec<usize> = wave.units.clone();
        order.sort_by_key(|&u| (times[u].0, u));
        let mut days: BTreeMap<Date, (i64, i64, usize)> = BTreeMap::new();
        let mut add = |start: i64, end: i64, terminals: usize| {
            let date = zoned(start, tz).date();
            let day = days.entry(date).or_insert((start, end, 0));
            day.0 = day.0.min(start);
            day.1 = day.1.max(end);
            day.2 += terminals;
        };
        let transfer = match &prepared.transfers[w] {
            Some(SentArtifacts {
                bytes,
                mbps,
                segments,
            }) => {
                for &(a, b) in segments {
                    add(a, b, 0);
                }
                match (segments.first(), segments.last()) {
                    (Some(first), Some(last)) => Some(Transfer {
                        bytes: *bytes,
                        bandwidth_mbps: *mbps,
                        start: zoned(first.0, tz),
                        end: zoned(last.1, tz),
                    }),
                    _ => None,
                }
            }
            None => None,
        };
        let mut slots = Vec::with_capacity(order.len());
        for &u in &order {
            let unit = &self.units[u];
            let visit = &self.visits[unit.visit];
            add(times[u].0, times[u].1, 1);
            slots.push(Slot {
                terminal: self.terminals[unit.terminal].clone(),
                visit: visit.id.clone(),
                jobs: unit
                    .jobs
                    .iter()
                    .map(|&j| visit.jobs[j].job.clone())
                    .collect(),
                start: zoned(times[u].0, tz),
                end: zoned(times[u].1, tz),
            });
        }
        let days = days
            .into_iter()
            .map(|(date, (start, end, terminals))| SiteDay {
                date,
                business_day: business_day_number(site.calendar, start_day, date),
                start: zoned(start, tz),
                end: zoned(end, tz),
                terminals,
            })
            .collect::<Vec<_>>();
        let start = days
            .first()
            .map_or_else(|| zoned(prepared.wave_start[w], tz), |d| d.start.clone());
        let mut jobs: Vec<String> = Vec::new();
        for &v in &wave.visits {
            jobs.extend(self.visits[v].jobs.iter().map(|j| j.job.clone()));
        }
        Ok(SiteSchedule {
            site: site.id.clone(),
            name: site.name.clone(),
            capacity: site.capacity,
            date: wave.date,
            visits: wave
                .visits
                .iter()
                .map(|&v| self.visits[v].id.clone())
                .collect(),
            jobs,
            canary: wave.units.iter().any(|&u| prepared.canary_units[u]),
            start_day,
            deadline_day: verdict.deadline_day,
            deadline: zoned(verdict.deadline_close, tz),
            transfer,
            days,
            slots,
            start,
            finish: zoned(verdict.finish, tz),
            status: verdict.status,
        })
    }
}

/// 1 for `start_day`, 2 for the next business day, and so on.
fn business_day_number(calendar: &Calendar, start_day: Date, date: Date) -> u32 {
    u32::try_from(calendar.business_days_between(start_day, date) + 1).unwrap_or(0)
}

/// One business day's window in seconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct Win {
    date: Date,
    start: i64,
    end: i64,
}

/// A site's windows from a base date on, computed as needed.
struct WindowTable<'c> {
    calendar: &'c Calendar,
    windows: Vec<Win>,
    next_date: Option<Date>,
}

/// How far past the base date placement looks before giving up (about 30 years of days).
const HORIZON_DAYS: usize = 11_000;

impl<'c> WindowTable<'c> {
    fn new(calendar: &'c Calendar, from: Date) -> Self {
        WindowTable {
            calendar,
            windows: Vec::new(),
            next_date: Some(from),
        }
    }

    fn no_progress(&self) -> ScheduleError {
        ScheduleError::NoProgress {
            limit: self
                .next_date
                .map_or_else(|| "the end of the calendar".to_string(), |d| d.to_string()),
        }
    }

    /// The `i`-th window.
    fn get(&mut self, i: usize) -> Result<Win, ScheduleError> {
        while self.windows.len() <= i {
            if self.windows.len() > HORIZON_DAYS {
                return Err(self.no_progress());
            }
            let mut found = None;
            for _ in 0..HORIZON_DAYS {
                let Some(date) = self.next_date else { break };
                self.next_date = date.tomorrow().ok();
                if let Some(w) = self.calendar.window(date) {
                    found = Some(Win {
                        date,
                        start: w.start().timestamp().as_second(),
                        end: w.end().timestamp().as_second(),
                    });
                    break;
                }
            }
            match found {
                Some(w) => self.windows.push(w),
                None => return Err(self.no_progress()),
            }
        }
        Ok(self.windows[i])
    }

    /// The index of the first window, from `from` on, that ends after `t`.
    fn first_ending_after(&mut self, t: i64, from: usize) -> Result<usize, ScheduleError> {
        let mut i = from;
        while self.get(i)?.end <= t {
            i += 1;
        }
        Ok(i)
    }

    /// The index of the window of `date`, or of the first business day after it.
    fn index_of(&mut self, date: Date) -> Result<usize, ScheduleError> {
        let mut i = 0;
        while self.get(i)?.date < date {
            i += 1;
        }
        Ok(i)
    }

    /// Office time of `seconds` from `start` on (window `from` or later), as segments.
    fn consume(
        &mut self,
        start: i64,
        from: usize,
        seconds: i64,
    ) -> Result<Vec<(i64, i64)>, ScheduleError> {
        let mut segments = Vec::new();
        let (mut t, mut left, mut i) = (start, seconds, from);
        while left > 0 {
            i = self.first_ending_after(t, i)?;
            let w = self.get(i)?;
            let from = t.max(w.start);
            let take = left.min(w.end - from);
            segments.push((from, from + take));
            left -= take;
            t = w.end;
        }
        Ok(segments)
    }
}

/// A unit as the simulation sees it.
#[derive(Debug, Clone, Copy)]
struct SimUnit {
    site: usize,
    terminal: usize,
    duration: i64,
    /// Not before this instant.
    release: i64,
    /// Waits for this canary gate to open.
    gate: Option<usize>,
    /// Is part of this canary gate.
    canary_of: Option<usize>,
}

struct SimProblem {
    /// In each site's order of preference.
    units: Vec<SimUnit>,
    sites: usize,
    terminals: usize,
    /// Units in each canary gate.
    gate_sizes: Vec<usize>,
}

/// Event-driven list scheduling: start times and end times of every unit, in seconds.
fn simulate(
    p: &SimProblem,
    caps: &[u32],
    global: Option<u32>,
    tables: &mut [WindowTable<'_>],
) -> Result<Vec<(i64, i64)>, ScheduleError> {
    let units = &p.units;
    let n = units.len();
    let mut times = vec![(0i64, 0i64); n];
    let Some(first) = units.iter().map(|u| u.release).min() else {
        return Ok(times);
    };
    let mut pending: Vec<Vec<usize>> = vec![Vec::new(); p.sites];
    let mut remaining = vec![0i64; p.sites];
    for (i, u) in units.iter().enumerate() {
        pending[u.site].push(i);
        remaining[u.site] += u.duration;
    }
    for list in &mut pending {
        // Stable: units released together keep their order of preference.
        list.sort_by_key(|&i| units[i].release);
    }
    let mut head = vec![0usize; p.sites];
    let mut running = vec![0u32; p.sites];
    let mut cursor = vec![0usize; p.sites];
    let mut started = vec![false; n];
    let mut busy_until = vec![i64::MIN; p.terminals];
    let mut gate_left = p.gate_sizes.clone();
    let mut gate_open: Vec<Option<i64>> = vec![None; gate_left.len()];
    let mut gate_end = vec![i64::MIN; gate_left.len()];
    let mut running_now: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let mut future: BinaryHeap<Reverse<i64>> = units.iter().map(|u| Reverse(u.release)).collect();
    let global_cap = global.unwrap_or(u32::MAX);
    let mut global_running = 0u32;
    let mut done = 0usize;
    let mut order: Vec<usize> = (0..p.sites).filter(|&s| !pending[s].is_empty()).collect();
    let limit = first.saturating_add(i64::try_from(HORIZON_DAYS).unwrap_or(i64::MAX) * 86_400);
    let mut t = first;
    loop {
        while let Some(&Reverse((end, u))) = running_now.peek() {
            if end > t {
                break;
            }
            running_now.pop();
            let s = units[u].site;
            running[s] -= 1;
            global_running -= 1;
            done += 1;
            if let Some(g) = units[u].canary_of {
                gate_left[g] -= 1;
                gate_end[g] = gate_end[g].max(end);
                if gate_left[g] == 0 {
                    gate_open[g] = Some(gate_end[g]);
                    future.push(Reverse(gate_end[g]));
                }
            }
        }
        if done == n {
            break;
        }
        while future.peek().is_some_and(|r| r.0 <= t) {
            future.pop();
        }
        order.retain(|&s| head[s] < pending[s].len());
        if global.is_some() {
            order.sort_by_key(|&s| (Reverse(remaining[s]), s));
        }
        let mut wake: Option<i64> = None;
        for &s in &order {
            if global_running >= global_cap {
                break;
            }
            if running[s] >= caps[s] {
                continue;
            }
            let table = &mut tables[s];
            let i = table.first_ending_after(t, cursor[s])?;
            cursor[s] = i;
            let window = table.get(i)?;
            if window.start > t {
                wake = Some(wake.map_or(window.start, |w: i64| w.min(window.start)));
                continue;
            }
            let room = window.end - t;
            let mut unfit = false;
            let mut k = head[s];
            while k < pending[s].len() {
                if running[s] >= caps[s] || global_running >= global_cap {
                    break;
                }
                let u = pending[s][k];
                k += 1;
                if started[u] {
                    continue;
                }
                let unit = &units[u];
                if unit.release > t {
                    // A site's units are in release order: none after this one is released.
                    break;
                }
                let open = unit
                    .gate
                    .is_none_or(|g| gate_open[g].is_some_and(|o| o <= t));
                if !open || busy_until[unit.terminal] > t {
                    continue;
                }
                if unit.duration > room {
                    unfit = true;
                    continue;
                }
                started[u] = true;
                times[u] = (t, t + unit.duration);
                busy_until[unit.terminal] = t + unit.duration;
                running[s] += 1;
                global_running += 1;
                remaining[s] -= unit.duration;
                running_now.push(Reverse((t + unit.duration, u)));
            }
            while head[s] < pending[s].len() && started[pending[s][head[s]]] {
                head[s] += 1;
            }
            if unfit && running[s] < caps[s] && global_running < global_cap {
                let next = table.get(i + 1)?.start;
                wake = Some(wake.map_or(next, |w| w.min(next)));
            }
        }
        let candidates = [
            running_now.peek().map(|r| r.0.0),
            future.peek().map(|r| r.0),
            wake,
        ];
        match candidates.into_iter().flatten().min() {
            Some(next) if next > t && next <= limit => t = next,
            _ => {
                return Err(ScheduleError::NoProgress {
                    limit: zoned(t, &tokyo(None)).to_string(),
                });
            }
        }
    }
    Ok(times)
}
