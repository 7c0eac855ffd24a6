//! Crews: who goes where, when, and the proof that every site of a round finishes within the
//! business-day limit with the people there are.
//!
//! # Model
//! * A [`Crew`] is one or more people (from the roster) who work at one site at a time. It
//!   starts the round at the base office; moving to an on-site site costs the travel time of
//!   the [`TravelTable`] (office time: a crew free after closing travels the next morning; a
//!   journey the table lacks goes by way of the base office when it has both legs, else takes
//!   [`DEFAULT_TRAVEL_MINUTES`], and the plan notes it).
//!   Work at a `remote` site costs no travel and leaves the crew where it is, but takes its
//!   time. A crew works only on days all its members are available.
//! * A *task* is one site's wave of the placement (its terminals' work on one visit day, see
//!   [`mod@super::place`]); all the waves of one site go to the same crew. At the site the crew
//!   works on up to `capacity` terminals at once, a terminal's work never crossing the end of
//!   a window; the windows are the site's office hours on its business days, joined with the
//!   out-of-hours windows the city approved ([`crate::inventory::ApprovedWindow`]).
//! * A *round* is every wave of one visit day: its day 1 is the first business day on or after
//!   that day (city calendar) and **all** its sites must finish by the close of business day N.
//!
//! # Search
//! Tasks are given out longest-first, each to the crew that would finish it first (a list
//! scheduler); with at most [`EXACT_TASKS`] tasks every assignment and order is tried instead,
//! so small cases are exact. [`CrewPlan::crews_needed`] is the smallest number of
//! always-available crews with which the same scheduler meets every deadline: counted up from
//! a lower bound (the crew-time the work needs over the time one crew has), each count
//! scheduled for real. For a site that misses even with a crew of its own, the smallest
//! capacity that would let it finish is searched the same way.

mod days;
mod exact;
pub mod render;
mod travel;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use self::days::{DayTable, HORIZON_DAYS};
use self::exact::Exact;
use super::{Calendars, SiteSchedule};
use crate::calendar::Calendar;
use crate::inventory::{Inventory, WorkMode};
use crate::roster::Availability;

pub use render::{
    Table, crew_label, crew_lines, crew_markdown, crew_table, hint_text, markdown_table, miss_text,
    note_text, site_table, summary, verdict,
};
pub use travel::TravelTable;

/// Up to this many tasks, every assignment of tasks to crews and every order is tried.
pub const EXACT_TASKS: usize = 5;

/// Travel minutes assumed when the inventory gives none for a journey.
pub const DEFAULT_TRAVEL_MINUTES: u32 = 30;

/// Which crews a plan names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CrewRequest {
    /// This many crews, always available.
    Count(u32),
    /// Named crews: each entry is roster ids joined by `+` (`tanaka` or `tanaka+sato`).
    Named(Vec<String>),
}

/// Someone on a crew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrewMember {
    /// Roster id.
    pub id: String,
    /// Full name from the roster.
    pub name: String,
}

/// People who travel and work together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crew {
    /// `crew-1` or the members' ids joined by `+`.
    pub id: String,
    /// Who is on it (empty for a crew given only by number).
    pub members: Vec<CrewMember>,
    /// The days all of them can be sent.
    pub availability: Availability,
}

impl Crew {
    /// `count` crews nobody is named for, always available.
    pub fn anonymous(count: u32) -> Vec<Crew> {
        (1..=count)
            .map(|n| Crew {
                id: format!("crew-{n}"),
                members: Vec::new(),
                availability: Availability::always(),
            })
            .collect()
    }
}

/// Remarks on a crew plan, as data (each document renders them in its language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "note", deny_unknown_fields)]
pub enum CrewNote {
    /// No crews were named: the plan uses the number needed.
    CrewsNotGiven {
        /// Crews used.
        crews: u32,
    },
    /// Journeys the travel table does not give: the default was assumed.
    TravelAssumed {
        /// `from -> to` (`base` for the base office) of the journeys taken.
        journeys: Vec<String>,
        /// Minutes assumed for each.
        minutes: u32,
    },
    /// The travel table names sites the inventory does not have.
    UnknownTravelSites {
        /// Their ids.
        sites: Vec<String>,
    },
    /// The plan asks for a global limit or canary work, which the crews' timetable does not
    /// apply (the timetable with a crew at every site does): with them, the crews may need
    /// more time than it shows.
    LimitsNotApplied {
        /// `--global-limit`.
        global_limit: Option<u32>,
        /// Whether `--canary` was given.
        canary: bool,
    },
}

/// What to change when the round does not fit, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "hint", deny_unknown_fields)]
pub enum CrewHint {
    /// This many always-available crews would meet every deadline.
    Crews {
        /// Crews now.
        have: u32,
        /// Crews that fit.
        need: u32,
    },
    /// No number of crews is enough: at least one site misses even with a crew of its own.
    NoCrewCountFits,
    /// A site would fit with a crew of its own and this capacity.
    Capacity {
        /// The site.
        site: String,
        /// Its capacity now.
        have: u32,
        /// The capacity that fits.
        need: u32,
    },
    /// Not even every terminal at once lets the site fit.
    NoCapacityFits {
        /// The site.
        site: String,
    },
}

/// One business day of a crew's work at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StintDay {
    /// The day.
    #[schemars(with = "String")]
    pub date: Date,
    /// First terminal started.
    #[schemars(with = "String")]
    pub start: Zoned,
    /// Last terminal finished.
    #[schemars(with = "String")]
    pub end: Zoned,
    /// Terminals started that day.
    pub terminals: usize,
    /// Whether some of the work is outside office hours (in an approved window).
    pub out_of_hours: bool,
}

/// A crew's work at one site: from where it came, how long the journey took, and its days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stint {
    /// The crew.
    pub crew: String,
    /// The site.
    pub site: String,
    /// Its display name.
    pub name: String,
    /// On site or remote.
    pub work: WorkMode,
    /// The visit day (the round).
    #[schemars(with = "String")]
    pub round: Date,
    /// Where the crew came from (`None`: the base office, or no journey for remote work).
    pub from: Option<String>,
    /// That site's display name.
    pub from_name: Option<String>,
    /// Travel minutes before the work.
    pub travel_minutes: u32,
    /// When the journey starts (equal to `arrive` without one).
    #[schemars(with = "String")]
    pub depart: Zoned,
    /// When the crew is there.
    #[schemars(with = "String")]
    pub arrive: Zoned,
    /// When the last terminal finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
    /// Terminals worked on.
    pub terminals: usize,
    /// The business days with work.
    pub days: Vec<StintDay>,
    /// The site's deadline in the round: the round's last business day, or a job's own
    /// deadline when that comes first.
    #[schemars(with = "String")]
    pub deadline: Zoned,
    /// The job whose own deadline it is (`None`: the round's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_job: Option<String>,
    /// Whether it finishes by then.
    pub met: bool,
}

/// One crew and its stints, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrewTimetable {
    /// The crew.
    pub crew: Crew,
    /// Its work, in order.
    pub stints: Vec<Stint>,
}

/// A site that misses its round's deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrewMiss {
    /// The site.
    pub site: String,
    /// The round.
    #[schemars(with = "String")]
    pub round: Date,
    /// When it finishes.
    #[schemars(with = "String")]
    pub finish: Zoned,
    /// The deadline.
    #[schemars(with = "String")]
    pub deadline: Zoned,
    /// The job whose own deadline it is (`None`: the round's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_job: Option<String>,
    /// Business days after the deadline day on which it finishes.
    pub business_days_late: i32,
    /// Working time (office hours and approved windows) from the deadline to the finish.
    pub minutes_late: i64,
}

/// One round: its visit day, day 1 and last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// The visit day.
    #[schemars(with = "String")]
    pub date: Date,
    /// Business day 1.
    #[schemars(with = "String")]
    pub start_day: Date,
    /// The last business day allowed.
    #[schemars(with = "String")]
    pub deadline_day: Date,
    /// Sites in it.
    pub sites: usize,
}

/// The crews' timetable and the verdict on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrewPlan {
    /// Business days a round has.
    pub deadline_business_days: u32,
    /// The rounds.
    pub rounds: Vec<Round>,
    /// Per crew, its stints.
    pub crews: Vec<CrewTimetable>,
    /// Every site of every round by its deadline.
    pub feasible: bool,
    /// Sites that miss.
    pub misses: Vec<CrewMiss>,
    /// The smallest number of always-available crews that meets every deadline (`None`: no
    /// number does).
    pub crews_needed: Option<u32>,
    /// What to change.
    pub hints: Vec<CrewHint>,
    /// Remarks.
    pub notes: Vec<CrewNote>,
}

impl CrewPlan {
    /// Every stint, by site (inventory order as placed), then round.
    pub fn stints_by_site(&self) -> Vec<&Stint> {
        let mut all: Vec<&Stint> = self.crews.iter().flat_map(|c| &c.stints).collect();
        all.sort_by(|a, b| (a.round, &a.arrive).cmp(&(b.round, &b.arrive)));
        all
    }

    /// The crew of `id`.
    pub fn crew(&self, id: &str) -> Option<&Crew> {
        self.crews.iter().map(|c| &c.crew).find(|c| c.id == id)
    }
}

/// What the crew scheduler works from.
#[derive(Debug, Clone, Copy)]
pub struct CrewInput<'a> {
    /// The placement's waves (per site and visit day, with each terminal's work).
    pub waves: &'a [SiteSchedule],
    /// Sites (capacity, work mode, approved windows).
    pub inventory: &'a Inventory,
    /// Business days and hours.
    pub calendars: &'a Calendars,
    /// Travel times.
    pub travel: &'a TravelTable,
    /// Business days per round.
    pub deadline_business_days: u32,
    /// Each job's own deadline (jobs without one are absent): a site whose wave holds a job
    /// due before the round's last day must finish by that job's deadline.
    pub job_deadlines: &'a BTreeMap<String, Date>,
}

/// Errors of the crew scheduler.
#[derive(Debug, thiserror::Error)]
pub enum CrewError {
    /// No crews at all.
    #[error("no crews: give at least one (`--crews N` or `--crew NAME`)")]
    NoCrews,
    /// A site's work cannot be placed within the horizon (no working day for the crew).
    #[error(
        "crew `{crew}` has no working day for site `{site}` within ten years; check the crew's \
         availability and the site's closed days"
    )]
    NoWorkingDay {
        /// The crew.
        crew: String,
        /// The site.
        site: String,
    },
}

/// Assigns the waves to crews (`crews`; the number needed when `None`) and checks every round.
pub fn plan_crews(input: &CrewInput<'_>, crews: Option<&[Crew]>) -> Result<CrewPlan, CrewError> {
    let problem = Problem::build(input);
    let mut table = problem.day_table();
    let needed = problem.crews_needed(&mut table)?;
    let mut notes = Vec::new();
    let crews: Vec<Crew> = match crews {
        Some(crews) => crews.to_vec(),
        None => {
            // A plan with nothing to place still names one crew (with nothing to do).
            let count = needed.unwrap_or(problem.crew_limit()).max(1);
            notes.push(CrewNote::CrewsNotGiven { crews: count });
            Crew::anonymous(count)
        }
    };
    if crews.is_empty() {
        return Err(CrewError::NoCrews);
    }
    let solution = problem.schedule(&crews, &mut table)?;
    let have = u32::try_from(crews.len()).unwrap_or(u32::MAX);
    let mut hints = Vec::new();
    let misses = problem.misses(&solution, &mut table);
    if !misses.is_empty() {
        match needed {
            Some(need) => hints.push(CrewHint::Crews { have, need }),
            None => hints.push(CrewHint::NoCrewCountFits),
        }
        let mut seen = Vec::new();
        for m in &misses {
            let Some(t) = problem
                .tasks
                .iter()
                .position(|t| problem.sites[t.site].id == m.site && t.round == m.round)
            else {
                continue;
            };
            let site = problem.tasks[t].site;
            if seen.contains(&site) {
                continue;
            }
            seen.push(site);
            let info = &problem.sites[site];
            match problem.capacity_that_fits(site, &mut table)? {
                Some(need) if need > info.capacity => hints.push(CrewHint::Capacity {
                    site: info.id.clone(),
                    have: info.capacity,
                    need,
                }),
                Some(_) => {}
                None => hints.push(CrewHint::NoCapacityFits {
                    site: info.id.clone(),
                }),
            }
        }
    }
    notes.extend(problem.travel_notes(&solution, input.travel));
    Ok(problem.into_plan(crews, solution, misses, needed, hints, notes, &mut table))
}

struct SiteInfo<'a> {
    id: String,
    name: String,
    mode: WorkMode,
    capacity: u32,
    calendar: &'a Calendar,
    approved: Vec<(Date, jiff::civil::Time, jiff::civil::Time)>,
}

struct Task {
    site: usize,
    round: Date,
    /// Day index of the round's visit day.
    release: usize,
    /// Terminal work in seconds, longest first.
    units: Vec<i64>,
    /// Deadline instant.
    deadline: i64,
    deadline_day: Date,
    /// The job whose own deadline `deadline` is (`None`: the round's).
    deadline_job: Option<String>,
}

impl Task {
    fn work(&self) -> i64 {
        self.units.iter().sum()
    }
}

/// Where a crew is and from when it is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CrewState {
    free: i64,
    at: Option<usize>,
}

/// A task done by a crew.
#[derive(Debug, Clone)]
struct Done {
    task: usize,
    crew: usize,
    from: Option<usize>,
    travel: u32,
    depart: i64,
    arrive: i64,
    units: Vec<(i64, i64)>,
    finish: i64,
}

struct Solution {
    done: Vec<Done>,
}

struct Problem<'a> {
    sites: Vec<SiteInfo<'a>>,
    tasks: Vec<Task>,
    rounds: Vec<Round>,
    travel: &'a TravelTable,
    first: Date,
    tz: TimeZone,
    deadline_business_days: u32,
}

impl<'a> Problem<'a> {
    fn build(input: &CrewInput<'a>) -> Self {
        let city = input.calendars.city_calendar();
        let tz = city.time_zone().clone();
        let mut site_index: HashMap<&str, usize> = HashMap::new();
        let mut sites = Vec::new();
        for (id, site) in &input.inventory.sites {
            site_index.insert(id.as_str(), sites.len());
            sites.push(SiteInfo {
                id: id.clone(),
                name: site.name.clone(),
                mode: site.work,
                capacity: site.capacity.max(1),
                calendar: input.calendars.for_site(id),
                approved: site
                    .approved_windows
                    .iter()
                    .map(|w| (w.date, w.start, w.end))
                    .collect(),
            });
        }
        let first = input.waves.iter().map(|w| w.date).min().unwrap_or_default();
        let n = input.deadline_business_days.max(1);
        let mut rounds: BTreeMap<Date, Round> = BTreeMap::new();
        let mut tasks = Vec::new();
        for wave in input.waves {
            let Some(&site) = site_index.get(wave.site.as_str()) else {
                continue;
            };
            let start_day = city
                .business_day_on_or_after(wave.date)
                .unwrap_or(wave.date);
            let deadline_day = city
                .add_business_days(start_day, n - 1)
                .unwrap_or(start_day);
            let round = rounds.entry(wave.date).or_insert(Round {
                date: wave.date,
                start_day,
                deadline_day,
                sites: 0,
            });
            round.sites += 1;
            let info = &sites[site];
            let mut units = terminal_units(wave, info.calendar);
            units.sort_unstable_by_key(|&d| Reverse(d));
            let (task_deadline_day, deadline_job) =
                binding_deadline(wave, deadline_day, input.job_deadlines);
            let close = deadline_close(info, task_deadline_day, &tz);
            tasks.push(Task {
                site,
                round: wave.date,
                release: (wave.date - first).get_days().max(0) as usize,
                units,
                deadline: close,
                deadline_day: task_deadline_day,
                deadline_job,
            });
        }
        Problem {
            sites,
            tasks,
            rounds: rounds.into_values().collect(),
            travel: input.travel,
            first,
            tz,
            deadline_business_days: n,
        }
    }

    fn day_table(&self) -> DayTable<'a> {
        let mut table = DayTable::new(self.first, self.tz.clone());
        for site in &self.sites {
            table.add_site(site.calendar, &site.approved);
        }
        table
    }

    /// As many crews as it can ever help to have: one per site with work.
    fn crew_limit(&self) -> u32 {
        let mut sites: Vec<usize> = self.tasks.iter().map(|t| t.site).collect();
        sites.sort_unstable();
        sites.dedup();
        u32::try_from(sites.len().max(1)).unwrap_or(u32::MAX)
    }

    fn travel_seconds(&self, from: Option<usize>, to: usize) -> (u32, i64) {
        if self.sites[to].mode == WorkMode::Remote {
            return (0, 0);
        }
        let (minutes, _) = self
            .travel
            .minutes(from.map(|s| self.sites[s].id.as_str()), &self.sites[to].id);
        (minutes, i64::from(minutes) * 60)
    }

    /// `crew` does task `t` from `state`, with the site's capacity `capacity`.
    fn stint(
        &self,
        t: usize,
        crew: &Crew,
        crew_index: usize,
        state: CrewState,
        capacity: u32,
        table: &mut DayTable<'_>,
    ) -> Result<Done, CrewError> {
        let task = &self.tasks[t];
        let site = task.site;
        let no_day = || CrewError::NoWorkingDay {
            crew: crew.id.clone(),
            site: self.sites[site].id.clone(),
        };
        let (travel, seconds) = self.travel_seconds(state.at, site);
        // Depart in the first working instant of the site, on or after the round's day.
        let earliest = state.free;
        let depart =
            first_instant(table, site, crew, earliest, task.release, 0).ok_or_else(no_day)?;
        let arrive = depart + seconds;
        let lanes = (capacity as usize).min(task.units.len()).max(1);
        let mut free: BinaryHeap<Reverse<i64>> = (0..lanes).map(|_| Reverse(arrive)).collect();
        let mut units = Vec::with_capacity(task.units.len());
        let mut finish = arrive;
        for &duration in &task.units {
            let Reverse(t0) = free.pop().unwrap_or(Reverse(arrive));
            let start =
                first_instant(table, site, crew, t0, task.release, duration).ok_or_else(no_day)?;
            let end = start + duration;
            units.push((start, end));
            finish = finish.max(end);
            free.push(Reverse(end));
        }
        let from = match self.sites[site].mode {
            WorkMode::OnSite => state.at,
            WorkMode::Remote => None,
        };
        Ok(Done {
            task: t,
            crew: crew_index,
            from,
            travel,
            depart,
            arrive,
            units,
            finish,
        })
    }

    /// Where a crew is after a stint.
    fn after(&self, state: CrewState, done: &Done) -> CrewState {
        let site = self.tasks[done.task].site;
        CrewState {
            free: done.finish,
            at: match self.sites[site].mode {
                WorkMode::OnSite => Some(site),
                WorkMode::Remote => state.at,
            },
        }
    }

    /// Task order for the list scheduler: by round, then most crew-time first.
    fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.tasks.len()).collect();
        order.sort_by_key(|&t| {
            let task = &self.tasks[t];
            let cap = i64::from(self.sites[task.site].capacity);
            (task.release, Reverse(task.work() / cap), task.site)
        });
        order
    }

    fn schedule(&self, crews: &[Crew], table: &mut DayTable<'_>) -> Result<Solution, CrewError> {
        if crews.is_empty() {
            return Err(CrewError::NoCrews);
        }
        let greedy = self.greedy(crews, table)?;
        if self.tasks.len() <= EXACT_TASKS
            && !self.meets(&greedy)
            && let Some(exact) = self.exact(crews, table)?
        {
            return Ok(exact);
        }
        Ok(greedy)
    }

    /// Each crew does the tasks of its sequence, in that order (for brute-force checks).
    #[cfg(test)]
    fn run_sequences(
        &self,
        crews: &[Crew],
        sequences: &[Vec<usize>],
        table: &mut DayTable<'_>,
    ) -> Result<Solution, CrewError> {
        let mut done = Vec::new();
        for (c, sequence) in sequences.iter().enumerate() {
            let mut state = CrewState {
                free: i64::MIN,
                at: None,
            };
            for &t in sequence {
                let capacity = self.sites[self.tasks[t].site].capacity;
                let d = self.stint(t, &crews[c], c, state, capacity, table)?;
                state = self.after(state, &d);
                done.push(d);
            }
        }
        Ok(Solution { done })
    }

    fn meets(&self, solution: &Solution) -> bool {
        solution
            .done
            .iter()
            .all(|d| d.finish <= self.tasks[d.task].deadline)
    }

    fn greedy(&self, crews: &[Crew], table: &mut DayTable<'_>) -> Result<Solution, CrewError> {
        let init = CrewState {
            free: i64::MIN,
            at: None,
        };
        let mut states = vec![init; crews.len()];
        let mut owner: HashMap<usize, usize> = HashMap::new();
        let mut done = Vec::with_capacity(self.tasks.len());
        for t in self.order() {
            let site = self.tasks[t].site;
            let capacity = self.sites[site].capacity;
            let mut best: Option<Done> = None;
            let candidates: Vec<usize> = match owner.get(&site) {
                Some(&c) => vec![c],
                None => (0..crews.len()).collect(),
            };
            // A crew with no working day for the site (days off, the end of a contract) is
            // passed over; only when no crew can go is it an error.
            let mut failure = None;
            // Crews in the same place, free at the same time, with the same days would do the
            // task alike: the first of them stands for all (on a large fleet most crews wait
            // at the base office for most of the search).
            let mut tried: Vec<(CrewState, &Availability)> = Vec::new();
            for c in candidates {
                let key = (states[c], &crews[c].availability);
                if tried.contains(&key) {
                    continue;
                }
                tried.push(key);
                match self.stint(t, &crews[c], c, states[c], capacity, table) {
                    Ok(d) if best.as_ref().is_none_or(|b| d.finish < b.finish) => best = Some(d),
                    Ok(_) => {}
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            let Some(d) = best else {
                return Err(failure.unwrap_or(CrewError::NoCrews));
            };
            owner.insert(site, d.crew);
            states[d.crew] = self.after(states[d.crew], &d);
            done.push(d);
        }
        Ok(Solution { done })
    }

    /// Every assignment and order (small cases), the first that meets every deadline.
    fn exact(
        &self,
        crews: &[Crew],
        table: &mut DayTable<'_>,
    ) -> Result<Option<Solution>, CrewError> {
        let init = CrewState {
            free: i64::MIN,
            at: None,
        };
        let mut search = Exact {
            states: vec![init; crews.len()],
            used: vec![false; crews.len()],
            owner: HashMap::new(),
            left: (0..self.tasks.len()).collect(),
            done: Vec::new(),
        };
        if search.run(self, crews, table)? {
            return Ok(Some(Solution { done: search.done }));
        }
        Ok(None)
    }

    /// The smallest number of always-available crews that meets every deadline: counted up
    /// from [`Problem::lower_bound`] on small cases (where the search is exact), else found by
    /// doubling the step from the lower bound and then halving the gap, so that a fleet needing
    /// hundreds of crews takes a few dozen schedules, not hundreds (counting up took minutes at
    /// 100,000 terminals). Either way the answer meets every deadline and one crew fewer does not.
    fn crews_needed(&self, table: &mut DayTable<'_>) -> Result<Option<u32>, CrewError> {
        if self.tasks.is_empty() {
            return Ok(Some(0));
        }
        let limit = self.crew_limit();
        let first = self.lower_bound(table).clamp(1, limit);
        let fits = |k: u32, table: &mut DayTable<'_>| -> Result<bool, CrewError> {
            Ok(self.meets(&self.schedule(&Crew::anonymous(k), table)?))
        };
        if self.tasks.len() <= EXACT_TASKS {
            for k in first..=limit {
                if fits(k, table)? {
                    return Ok(Some(k));
                }
            }
            return Ok(None);
        }
        // `low` does not fit (the lower bound says so for `first - 1`); `high` does.
        let (mut low, mut high, mut step) = (first - 1, first, 1);
        while !fits(high, table)? {
            if high == limit {
                return Ok(None);
            }
            low = high;
            high = high.saturating_add(step).min(limit);
            step = step.saturating_mul(2);
        }
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if fits(mid, table)? {
                high = mid;
            } else {
                low = mid;
            }
        }
        Ok(Some(high))
    }

    /// No fewer crews can do it: the crew-time the work needs over the working time one crew
    /// has before the last deadline.
    fn lower_bound(&self, table: &mut DayTable<'_>) -> u32 {
        let need: i64 = self
            .tasks
            .iter()
            .map(|t| {
                let cap = i64::from(self.sites[t.site].capacity).max(1);
                let longest = t.units.first().copied().unwrap_or(0);
                ((t.work() + cap - 1) / cap).max(longest)
            })
            .sum();
        let last = self.tasks.iter().map(|t| t.deadline).max().unwrap_or(0);
        let mut have = 0i64;
        for site in 0..self.sites.len() {
            let mut total = 0i64;
            for i in 0..=HORIZON_DAYS {
                let Some(day) = table.day(site, i) else { break };
                if day.windows.first().is_some_and(|w| w.0 >= last) {
                    break;
                }
                total += day
                    .windows
                    .iter()
                    .map(|&(a, b)| b.min(last) - a.min(last))
                    .sum::<i64>();
            }
            have = have.max(total);
        }
        if have <= 0 {
            return 1;
        }
        u32::try_from((need + have - 1) / have).unwrap_or(u32::MAX)
    }

    /// The smallest capacity with which a crew of its own, from the base office, finishes every
    /// wave of `site` by its deadline.
    fn capacity_that_fits(
        &self,
        site: usize,
        table: &mut DayTable<'_>,
    ) -> Result<Option<u32>, CrewError> {
        let tasks: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| self.tasks[t].site == site)
            .collect();
        let most = tasks
            .iter()
            .map(|&t| self.tasks[t].units.len())
            .max()
            .unwrap_or(1);
        let most = u32::try_from(most.max(1)).unwrap_or(u32::MAX);
        let crew = &Crew::anonymous(1)[0];
        let fits = |capacity: u32, table: &mut DayTable<'_>| -> Result<bool, CrewError> {
            let mut state = CrewState {
                free: i64::MIN,
                at: None,
            };
            for &t in &tasks {
                let d = self.stint(t, crew, 0, state, capacity, table)?;
                if d.finish > self.tasks[t].deadline {
                    return Ok(false);
                }
                state = self.after(state, &d);
            }
            Ok(true)
        };
        if !fits(most, table)? {
            return Ok(None);
        }
        let (mut low, mut high) = (1, most);
        while low < high {
            let mid = low + (high - low) / 2;
            if fits(mid, table)? {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        Ok(Some(low))
    }

    fn misses(&self, solution: &Solution, table: &mut DayTable<'_>) -> Vec<CrewMiss> {
        let mut out = Vec::new();
        for d in &solution.done {
            let task = &self.tasks[d.task];
            if d.finish <= task.deadline {
                continue;
            }
            let finish = zoned(d.finish, &self.tz);
            let city = Calendar::new();
            out.push(CrewMiss {
                site: self.sites[task.site].id.clone(),
                round: task.round,
                business_days_late: city.business_days_between(task.deadline_day, finish.date()),
                minutes_late: (working_seconds(table, task.site, task.deadline, d.finish) + 59)
                    / 60,
                finish,
                deadline: zoned(task.deadline, &self.tz),
                deadline_job: task.deadline_job.clone(),
            });
        }
        out.sort_by(|a, b| (a.round, &a.site).cmp(&(b.round, &b.site)));
        out
    }

    fn travel_notes(&self, solution: &Solution, travel: &TravelTable) -> Vec<CrewNote> {
        let mut journeys = Vec::new();
        for d in &solution.done {
            let to = &self.sites[self.tasks[d.task].site];
            if to.mode == WorkMode::Remote {
                continue;
            }
            let from = d.from.map(|s| self.sites[s].id.as_str());
            if !travel.minutes(from, &to.id).1 {
                journeys.push(format!("{} -> {}", from.unwrap_or("base"), to.id));
            }
        }
        let mut notes = Vec::new();
        if !journeys.is_empty() {
            journeys.sort();
            journeys.dedup();
            notes.push(CrewNote::TravelAssumed {
                journeys,
                minutes: travel.default_minutes(),
            });
        }
        let ids: Vec<&str> = self.sites.iter().map(|s| s.id.as_str()).collect();
        let unknown = travel.unknown_sites(&ids);
        if !unknown.is_empty() {
            notes.push(CrewNote::UnknownTravelSites {
                sites: unknown.into_iter().map(str::to_string).collect(),
            });
        }
        notes
    }

    #[allow(clippy::too_many_arguments)]
    fn into_plan(
        self,
        crews: Vec<Crew>,
        solution: Solution,
        misses: Vec<CrewMiss>,
        crews_needed: Option<u32>,
        hints: Vec<CrewHint>,
        notes: Vec<CrewNote>,
        table: &mut DayTable<'_>,
    ) -> CrewPlan {
        let mut timetables: Vec<CrewTimetable> = crews
            .into_iter()
            .map(|crew| CrewTimetable {
                crew,
                stints: Vec::new(),
            })
            .collect();
        let mut done = solution.done;
        done.sort_by_key(|d| (d.crew, d.arrive));
        for d in &done {
            let task = &self.tasks[d.task];
            let site = &self.sites[task.site];
            let crew_id = timetables[d.crew].crew.id.clone();
            timetables[d.crew].stints.push(Stint {
                crew: crew_id,
                site: site.id.clone(),
                name: site.name.clone(),
                work: site.mode,
                round: task.round,
                from: d.from.map(|s| self.sites[s].id.clone()),
                from_name: d.from.map(|s| self.sites[s].name.clone()),
                travel_minutes: d.travel,
                depart: zoned(d.depart, &self.tz),
                arrive: zoned(d.arrive, &self.tz),
                finish: zoned(d.finish, &self.tz),
                terminals: d.units.len(),
                days: self.stint_days(task.site, &d.units, table),
                deadline: zoned(task.deadline, &self.tz),
                deadline_job: task.deadline_job.clone(),
                met: d.finish <= task.deadline,
            });
        }
        CrewPlan {
            deadline_business_days: self.deadline_business_days,
            rounds: self.rounds,
            crews: timetables,
            feasible: misses.is_empty(),
            misses,
            crews_needed,
            hints,
            notes,
        }
    }

    fn stint_days(
        &self,
        site: usize,
        units: &[(i64, i64)],
        table: &mut DayTable<'_>,
    ) -> Vec<StintDay> {
        let mut by_day: BTreeMap<usize, (i64, i64, usize)> = BTreeMap::new();
        for &(start, end) in units {
            let e = by_day
                .entry(table.index_at(start))
                .or_insert((start, end, 0));
            e.0 = e.0.min(start);
            e.1 = e.1.max(end);
            e.2 += 1;
        }
        let calendar = self.sites[site].calendar;
        by_day
            .into_iter()
            .map(|(_, (start, end, terminals))| {
                let start = zoned(start, &self.tz);
                let end = zoned(end, &self.tz);
                let office = calendar.window(start.date());
                let out_of_hours = office.is_none_or(|w| start < *w.start() || end > *w.end());
                StintDay {
                    date: start.date(),
                    start,
                    end,
                    terminals,
                    out_of_hours,
                }
            })
            .collect()
    }
}

/// Each terminal's work in a wave, in seconds: a terminal in two visits of the day is one
/// unit (one terminal is worked on one visit at a time) unless together they are longer than
/// the site's office hours (then each visit is its own unit, as the placement has them).
fn terminal_units(wave: &SiteSchedule, calendar: &Calendar) -> Vec<i64> {
    let window = calendar.hours().duration().as_secs();
    let mut by_terminal: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for slot in &wave.slots {
        by_terminal
            .entry(slot.terminal.as_str())
            .or_default()
            .push(slot.start.duration_until(&slot.end).as_secs().max(0));
    }
    let mut units = Vec::with_capacity(by_terminal.len());
    for parts in by_terminal.into_values() {
        let total: i64 = parts.iter().sum();
        if total <= window {
            units.push(total);
        } else {
            units.extend(parts);
        }
    }
    units
}

/// The first instant from `t` (and not before day `from_day`) at which `seconds` of work fit in
/// one of the site's windows on a day the crew works.
fn first_instant(
    table: &mut DayTable<'_>,
    site: usize,
    crew: &Crew,
    t: i64,
    from_day: usize,
    seconds: i64,
) -> Option<i64> {
    let mut i = if t == i64::MIN {
        from_day
    } else {
        table.index_at(t).max(from_day)
    };
    loop {
        let day = table.day(site, i)?;
        if crew.availability.on(day.date) {
            for &(a, b) in &day.windows {
                let start = a.max(t);
                if start + seconds <= b && (seconds > 0 || start < b) {
                    return Some(start);
                }
            }
        }
        i += 1;
    }
}

/// Working time of `site` between two instants, in seconds.
fn working_seconds(table: &mut DayTable<'_>, site: usize, from: i64, to: i64) -> i64 {
    let mut total = 0;
    let mut i = table.index_at(from);
    while let Some(day) = table.day(site, i) {
        if day.windows.first().is_some_and(|w| w.0 >= to) {
            break;
        }
        for &(a, b) in &day.windows {
            let (a, b) = (a.max(from), b.min(to));
            if b > a {
                total += b - a;
            }
        }
        i += 1;
    }
    total
}

/// The day a site's wave must be done by: the round's last business day `round_last`, or the
/// earliest own deadline of the wave's jobs when that comes first (with that job).
fn binding_deadline(
    wave: &SiteSchedule,
    round_last: Date,
    job_deadlines: &BTreeMap<String, Date>,
) -> (Date, Option<String>) {
    wave.jobs
        .iter()
        .filter_map(|job| job_deadlines.get(job).map(|&day| (day, job)))
        .min()
        .filter(|&(day, _)| day < round_last)
        .map_or((round_last, None), |(day, job)| (day, Some(job.clone())))
}

/// The end of the site's working time on the deadline day (its office hours' close, or later
/// when an approved window runs past it).
fn deadline_close(site: &SiteInfo<'_>, day: Date, tz: &TimeZone) -> i64 {
    let at = |time: jiff::civil::Time| {
        day.to_datetime(time)
            .to_zoned(tz.clone())
            .map_or(0, |z| z.timestamp().as_second())
    };
    let mut close = at(site.calendar.hours().close());
    for &(date, _, end) in &site.approved {
        if date == day {
            close = close.max(at(end));
        }
    }
    close
}

fn zoned(second: i64, tz: &TimeZone) -> Zoned {
    Timestamp::from_second(second)
        .unwrap_or(Timestamp::MAX)
        .to_zoned(tz.clone())
}

#[cfg(test)]
mod tests;
