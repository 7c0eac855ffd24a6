//! The crew scheduler on cities built in code: eleven sites with one to four crews, a crew's day
//! off, Silver Week and the year end inside a round, approved out-of-hours windows, remote
//! sites, and the number of crews needed checked against trying every assignment.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use jiff::civil::{Date, Time, date};

use super::*;
use crate::inventory::{ApprovedWindow, Inventory, Platform, Site, SiteKind, Terminal, Travel};
use crate::playbook::{JobKind, Urgency};
use crate::schedule::{
    BatchJob, BatchOptions, Estimates, PlaceInput, PlaceOptions, Schedule, Targets, batch, place,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct City {
    inventory: Inventory,
    targets: Targets,
}

fn site(id: &str, capacity: u32) -> Site {
    Site {
        id: id.to_string(),
        name: format!("{id}区役所"),
        name_en: None,
        kind: SiteKind::Ward,
        jump: None,
        capacity,
        closed_days: Vec::new(),
        hours: None,
        bandwidth_mbps: None,
        vars: Default::default(),
        work: WorkMode::OnSite,
        travel: Travel::default(),
        approved_windows: Vec::new(),
    }
}

/// `sites` (site, terminals), every terminal reached by job `work`.
fn city(sites: Vec<(Site, usize)>) -> City {
    let mut inventory = Inventory::default();
    let mut targets = Targets::default();
    let mut map = IndexMap::new();
    for (site, count) in sites {
        for n in 1..=count {
            let id = format!("{}-t{n:02}", site.id);
            targets.insert("work", &site.id, &id);
            inventory.terminals.insert(
                id.clone(),
                Terminal {
                    id,
                    site: site.id.clone(),
                    address: "127.0.0.1".into(),
                    port: 22,
                    user: "admin".into(),
                    become_method: Default::default(),
                    platform: Platform::Linux,
                    tags: BTreeSet::new(),
                    groups: Vec::new(),
                    vars: Default::default(),
                },
            );
        }
        map.insert(site.id.clone(), site);
    }
    inventory.sites = map;
    City { inventory, targets }
}

/// `n` sites of `terminals` terminals, capacity `capacity`, travel `minutes` everywhere.
fn uniform(n: usize, capacity: u32, terminals: usize) -> City {
    city(
        (1..=n)
            .map(|i| (site(&format!("s{i:02}"), capacity), terminals))
            .collect(),
    )
}

/// Places job `work` (`minutes` per terminal) from `day` on.
fn placed(city: &City, minutes: u32, day: Date) -> Result<Schedule, Box<dyn std::error::Error>> {
    let calendars = Calendars::from_inventory(&city.inventory)?;
    let jobs = [BatchJob {
        id: "work".to_string(),
        kind: JobKind::SettingsChange,
        urgency: Urgency::Normal,
        earliest_start: Some(day),
        deadline: None,
        batchable: true,
        notified: None,
    }];
    let batching = batch(
        &jobs,
        &city.targets.jobs_by_site(),
        &calendars,
        &BatchOptions::new(day),
    )?;
    let estimates = Estimates::from_minutes([("work", minutes)]);
    Ok(place(
        &PlaceInput {
            visits: &batching.visits,
            inventory: &city.inventory,
            targets: &city.targets,
            estimates: &estimates,
            calendars: &calendars,
            artifact_bytes: &BTreeMap::new(),
        },
        &PlaceOptions::default(),
    )?)
}

fn crews_for(
    city: &City,
    schedule: &Schedule,
    travel: &TravelTable,
    crews: Option<&[Crew]>,
) -> Result<CrewPlan, Box<dyn std::error::Error>> {
    crews_due(city, schedule, travel, crews, &BTreeMap::new())
}

/// [`crews_for`] with the jobs' own deadlines.
fn crews_due(
    city: &City,
    schedule: &Schedule,
    travel: &TravelTable,
    crews: Option<&[Crew]>,
    job_deadlines: &BTreeMap<String, Date>,
) -> Result<CrewPlan, Box<dyn std::error::Error>> {
    let calendars = Calendars::from_inventory(&city.inventory)?;
    Ok(plan_crews(
        &CrewInput {
            waves: &schedule.sites,
            inventory: &city.inventory,
            calendars: &calendars,
            travel,
            deadline_business_days: 3,
            job_deadlines,
        },
        crews,
    )?)
}

fn hm(z: &Zoned) -> String {
    z.strftime("%Y-%m-%d %H:%M").to_string()
}

/// No two stints of a crew overlap, and each on-site stint starts after its journey.
fn assert_consistent(plan: &CrewPlan) {
    for timetable in &plan.crews {
        for pair in timetable.stints.windows(2) {
            assert!(
                pair[0].finish <= pair[1].depart,
                "crew {} is at two sites at once: {pair:?}",
                timetable.crew.id
            );
        }
        for stint in &timetable.stints {
            let first = stint.days.first().map(|d| d.start.clone());
            assert!(first.is_some_and(|f| f >= stint.arrive), "{stint:?}");
        }
    }
}

#[test]
fn eleven_sites_need_more_crews_as_travel_grows() -> TestResult {
    // 11 sites of 30 terminals, capacity 2, 20 min each: 5 h of crew time per site, 55 h in
    // all; a crew has 25.5 office hours in three business days.
    let city = uniform(11, 2, 30);
    let schedule = placed(&city, 20, date(2026, 10, 1))?;
    let short = TravelTable::new(15);
    let long = TravelTable::new(90);
    let mut verdicts = Vec::new();
    for crews in 1..=4 {
        let plan = crews_for(&city, &schedule, &short, Some(&Crew::anonymous(crews)))?;
        assert_consistent(&plan);
        verdicts.push(plan.feasible);
        assert_eq!(plan.crews_needed, Some(3), "short journeys: 3 crews");
    }
    assert_eq!(verdicts, [false, false, true, true]);
    let plan = crews_for(&city, &schedule, &long, Some(&Crew::anonymous(3)))?;
    assert!(
        !plan.feasible,
        "with 90-minute journeys 3 crews are not enough"
    );
    assert_eq!(plan.crews_needed, Some(4));
    assert!(plan.hints.contains(&CrewHint::Crews { have: 3, need: 4 }));
    let miss = &plan.misses[0];
    assert!(
        miss.business_days_late >= 1 || miss.minutes_late > 0,
        "{miss:?}"
    );
    // One crew: every site after the third day is named, with how late it is.
    let one = crews_for(&city, &schedule, &short, Some(&Crew::anonymous(1)))?;
    assert!(one.misses.len() >= 11 - 4, "{:?}", one.misses);
    assert!(one.misses.iter().all(|m| m.finish > m.deadline));
    Ok(())
}

/// A job due before the round's last day binds every site whose wave holds it: the crews
/// must finish there by the job's own deadline (a plan that met the three days but patched
/// three ward offices after the patch's deadline was once called feasible).
#[test]
fn a_jobs_own_deadline_before_the_rounds_last_day_binds_the_crews() -> TestResult {
    // 11 sites of 30 terminals (5 h of crew time each): 3 crews fit three business days.
    let city = uniform(11, 2, 30);
    let schedule = placed(&city, 20, date(2026, 10, 1))?;
    let travel = TravelTable::new(15);
    let within_round = crews_for(&city, &schedule, &travel, Some(&Crew::anonymous(3)))?;
    assert!(within_round.feasible, "{:?}", within_round.misses);
    // The same work due on day 2 (Friday 2026-10-02): three crews no longer fit.
    let due: BTreeMap<String, Date> = [("work".to_string(), date(2026, 10, 2))].into();
    let plan = crews_due(&city, &schedule, &travel, Some(&Crew::anonymous(3)), &due)?;
    assert_consistent(&plan);
    assert!(!plan.feasible, "three crews cannot finish 55 h by day 2");
    assert!(
        plan.misses
            .iter()
            .all(|m| m.deadline_job.as_deref() == Some("work")
                && hm(&m.deadline) == "2026-10-02 17:15"
                && m.finish > m.deadline)
    );
    for stint in plan.crews.iter().flat_map(|c| &c.stints) {
        assert_eq!(stint.deadline_job.as_deref(), Some("work"));
        assert_eq!(stint.met, stint.finish <= stint.deadline, "{stint:?}");
    }
    let need = plan.crews_needed.ok_or("some number of crews fits")?;
    assert!(need > 3, "more than three crews are needed: {need}");
    let enough = crews_due(
        &city,
        &schedule,
        &travel,
        Some(&Crew::anonymous(need)),
        &due,
    )?;
    assert!(enough.feasible, "{:?}", enough.misses);
    assert!(plan.hints.contains(&CrewHint::Crews { have: 3, need }));
    // A job due after the round's last day changes nothing.
    let late: BTreeMap<String, Date> = [("work".to_string(), date(2026, 10, 30))].into();
    let relaxed = crews_due(&city, &schedule, &travel, Some(&Crew::anonymous(3)), &late)?;
    assert!(relaxed.feasible);
    assert!(
        relaxed
            .crews
            .iter()
            .flat_map(|c| &c.stints)
            .all(|s| s.deadline_job.is_none())
    );
    Ok(())
}

#[test]
fn travel_is_taken_from_the_table_and_missing_journeys_are_noted() -> TestResult {
    let mut city = uniform(2, 2, 2);
    city.inventory.sites["s01"].travel = Travel {
        base: Some(40),
        sites: [("s02".to_string(), 25)].into(),
    };
    let schedule = placed(&city, 30, date(2026, 10, 1))?;
    let travel = TravelTable::from_inventory(&city.inventory);
    let plan = crews_for(&city, &schedule, &travel, Some(&Crew::anonymous(1)))?;
    let stints = &plan.crews[0].stints;
    assert_eq!(stints.len(), 2);
    // Longest first is a tie: s01 by site order. From the base 40 min, then 25 min to s02.
    assert_eq!(
        (stints[0].site.as_str(), stints[0].travel_minutes),
        ("s01", 40)
    );
    assert_eq!(hm(&stints[0].arrive), "2026-10-01 09:25");
    assert_eq!(
        (stints[1].from.as_deref(), stints[1].travel_minutes),
        (Some("s01"), 25)
    );
    assert_eq!(hm(&stints[1].arrive), "2026-10-01 10:20");
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    // Without a table every journey is assumed, and the plan says which.
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(30),
        Some(&Crew::anonymous(1)),
    )?;
    assert!(
        matches!(
            &plan.notes[..],
            [CrewNote::TravelAssumed { journeys, minutes: 30 }] if journeys == &["base -> s01", "s01 -> s02"]
        ),
        "{:?}",
        plan.notes
    );
    Ok(())
}

#[test]
fn a_remote_site_costs_no_travel_and_the_crew_stays_where_it_was() -> TestResult {
    let mut city = uniform(3, 2, 2);
    city.inventory.sites["s02"].work = WorkMode::Remote;
    let schedule = placed(&city, 30, date(2026, 10, 1))?;
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(60),
        Some(&Crew::anonymous(1)),
    )?;
    let stints = &plan.crews[0].stints;
    let remote = stints.iter().find(|s| s.site == "s02").ok_or("no s02")?;
    assert_eq!(remote.travel_minutes, 0);
    assert_eq!(remote.depart, remote.arrive);
    let on_site: Vec<&Stint> = stints.iter().filter(|s| s.site != "s02").collect();
    assert_eq!(on_site[1].from.as_deref(), Some(on_site[0].site.as_str()));
    assert_consistent(&plan);
    Ok(())
}

#[test]
fn a_crew_does_not_work_on_its_day_off() -> TestResult {
    // One site, a full day of work for one crew (capacity 1, 16 x 30 min = 8 h).
    let city = uniform(1, 1, 16);
    let schedule = placed(&city, 30, date(2026, 10, 1))?;
    let off = Crew {
        id: "tanaka".into(),
        members: vec![CrewMember {
            id: "tanaka".into(),
            name: "田中 太郎".into(),
        }],
        availability: Availability::except([date(2026, 10, 1)]),
    };
    let plan = crews_for(&city, &schedule, &TravelTable::new(0), Some(&[off]))?;
    let days: Vec<Date> = plan.crews[0].stints[0]
        .days
        .iter()
        .map(|d| d.date)
        .collect();
    assert!(!days.contains(&date(2026, 10, 1)), "{days:?}");
    assert_eq!(days[0], date(2026, 10, 2));
    assert!(
        plan.feasible,
        "Fri and Mon are still within three business days"
    );
    Ok(())
}

#[test]
fn silver_week_and_the_year_end_are_not_working_days() -> TestResult {
    // One crew, 3 sites of a day's work each: the round from Fri 2026-09-18 has its third
    // business day on Fri 25 (19-23: weekend, 敬老の日, 国民の休日, 秋分の日).
    let city = uniform(3, 1, 16);
    let schedule = placed(&city, 30, date(2026, 9, 18))?;
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(0),
        Some(&Crew::anonymous(1)),
    )?;
    assert_eq!(plan.rounds[0].deadline_day, date(2026, 9, 25));
    let days: Vec<Date> = plan.crews[0]
        .stints
        .iter()
        .flat_map(|s| s.days.iter().map(|d| d.date))
        .collect();
    assert!(
        days.iter()
            .all(|d| !(date(2026, 9, 19)..=date(2026, 9, 23)).contains(d)),
        "{days:?}"
    );
    assert_eq!(days.first(), Some(&date(2026, 9, 18)));
    assert!(days.contains(&date(2026, 9, 24)), "{days:?}");
    // The year end: a round from Mon 2026-12-28 has its third business day on 2027-01-05.
    let schedule = placed(&city, 30, date(2026, 12, 28))?;
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(0),
        Some(&Crew::anonymous(1)),
    )?;
    assert_eq!(plan.rounds[0].deadline_day, date(2027, 1, 5));
    let days: Vec<Date> = plan.crews[0]
        .stints
        .iter()
        .flat_map(|s| s.days.iter().map(|d| d.date))
        .collect();
    let days: BTreeSet<Date> = days.into_iter().collect();
    assert_eq!(
        days.into_iter().collect::<Vec<_>>(),
        [date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 5)]
    );
    assert!(plan.feasible);
    Ok(())
}

#[test]
fn an_approved_evening_window_makes_the_round_fit() -> TestResult {
    // One site of 54 terminals of 30 min (capacity 1), one crew an hour away: 15 + 17 + 17
    // terminals fit in three office days, not 54.
    let mut city = uniform(1, 1, 54);
    let schedule = placed(&city, 30, date(2026, 10, 1))?;
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(60),
        Some(&Crew::anonymous(1)),
    )?;
    assert!(!plan.feasible);
    for (id, day) in [("s01", date(2026, 10, 1)), ("s01", date(2026, 10, 2))] {
        city.inventory.sites[id]
            .approved_windows
            .push(ApprovedWindow {
                date: day,
                start: Time::constant(17, 15, 0, 0),
                end: Time::constant(20, 15, 0, 0),
                approval: Some("情報政策課 2026-09-20".into()),
            });
    }
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(60),
        Some(&Crew::anonymous(1)),
    )?;
    assert!(plan.feasible, "{:?}", plan.misses);
    let evening = plan.crews[0]
        .stints
        .iter()
        .flat_map(|s| &s.days)
        .find(|d| d.out_of_hours);
    assert!(evening.is_some_and(|d| d.end.time() > Time::constant(17, 15, 0, 0)));
    Ok(())
}

#[test]
fn a_site_that_misses_even_alone_gets_the_capacity_that_fits() -> TestResult {
    // 60 terminals of 30 min at capacity 1: 30 h. Capacity 4 fits in three days.
    let city = uniform(1, 1, 60);
    let schedule = placed(&city, 30, date(2026, 10, 1))?;
    let plan = crews_for(
        &city,
        &schedule,
        &TravelTable::new(0),
        Some(&Crew::anonymous(2)),
    )?;
    assert!(!plan.feasible);
    assert_eq!(plan.crews_needed, None);
    assert!(plan.hints.contains(&CrewHint::NoCrewCountFits));
    assert!(
        plan.hints.contains(&CrewHint::Capacity {
            site: "s01".into(),
            have: 1,
            need: 2
        }),
        "{:?}",
        plan.hints
    );
    Ok(())
}

/// Every assignment of tasks to `k` crews and every order: whether some meets every deadline.
fn brute_force_fits(
    problem: &Problem<'_>,
    k: u32,
    table: &mut DayTable<'_>,
) -> Result<bool, CrewError> {
    let n = problem.tasks.len();
    let crews = Crew::anonymous(k);
    let k = k as usize;
    let mut assignment = vec![0usize; n];
    loop {
        let mut sequences = vec![Vec::new(); k];
        for (t, &c) in assignment.iter().enumerate() {
            sequences[c].push(t);
        }
        if every_order(problem, &crews, &mut sequences, 0, table)? {
            return Ok(true);
        }
        // Next assignment (counting in base k).
        let mut i = 0;
        loop {
            if i == n {
                return Ok(false);
            }
            assignment[i] += 1;
            if assignment[i] < k {
                break;
            }
            assignment[i] = 0;
            i += 1;
        }
    }
}

fn every_order(
    problem: &Problem<'_>,
    crews: &[Crew],
    sequences: &mut Vec<Vec<usize>>,
    crew: usize,
    table: &mut DayTable<'_>,
) -> Result<bool, CrewError> {
    if crew == sequences.len() {
        let solution = problem.run_sequences(crews, sequences, table)?;
        return Ok(problem.meets(&solution));
    }
    let mut order = sequences[crew].clone();
    let len = order.len();
    for perm in permutations(&mut order, len) {
        sequences[crew] = perm;
        if every_order(problem, crews, sequences, crew + 1, table)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn permutations(items: &mut [usize], len: usize) -> Vec<Vec<usize>> {
    if len <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..len {
        items.swap(i, len - 1);
        out.extend(permutations(items, len - 1));
        items.swap(i, len - 1);
    }
    out
}

/// A small pseudo-random generator (xorshift), so the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn the_crews_needed_match_brute_force_on_small_cities() -> TestResult {
    let mut rng = Rng(0x5eed_2026);
    let mut checked = 0;
    let mut needed_seen = BTreeSet::new();
    for case in 0..40 {
        let n = 2 + rng.below(4) as usize; // 2 to 5 sites
        let sites: Vec<(Site, usize)> = (1..=n)
            .map(|i| {
                (
                    site(&format!("s{i}"), 1 + rng.below(3) as u32),
                    2 + rng.below(14) as usize,
                )
            })
            .collect();
        let mut city = city(sites);
        let ids: Vec<String> = city.inventory.sites.keys().cloned().collect();
        let mut travel = TravelTable::new(30);
        for (i, a) in ids.iter().enumerate() {
            travel.set_base(a, 10 + 10 * rng.below(9) as u32);
            for b in &ids[i + 1..] {
                travel.set(a, b, 10 + 10 * rng.below(12) as u32);
            }
        }
        if case % 3 == 0 {
            let remote = ids[rng.below(n as u64) as usize].clone();
            city.inventory.sites[&remote].work = WorkMode::Remote;
        }
        let minutes = 20 + 10 * rng.below(5) as u32;
        let schedule = placed(&city, minutes, date(2026, 10, 1))?;
        let calendars = Calendars::from_inventory(&city.inventory)?;
        // Every fourth case, the job is due on day 1 or 2 (its own deadline may bind).
        let due: BTreeMap<String, Date> = if case % 4 == 1 {
            [("work".to_string(), date(2026, 10, 1 + rng.below(2) as i8))].into()
        } else {
            BTreeMap::new()
        };
        let input = CrewInput {
            waves: &schedule.sites,
            inventory: &city.inventory,
            calendars: &calendars,
            travel: &travel,
            deadline_business_days: 1 + rng.below(2) as u32,
            job_deadlines: &due,
        };
        let problem = Problem::build(&input);
        let mut table = problem.day_table();
        let brute = (1..=n as u32)
            .map(|k| brute_force_fits(&problem, k, &mut table).map(|fits| (k, fits)))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .find(|&(_, fits)| fits)
            .map(|(k, _)| k);
        let plan = plan_crews(&input, None)?;
        assert_eq!(plan.crews_needed, brute, "case {case}");
        needed_seen.insert(brute);
        checked += 1;
        // With the crews it says are needed, the plan is feasible; with one fewer it is not.
        if let Some(k) = brute {
            assert!(plan.feasible, "case {case}: {:?}", plan.misses);
            if k > 1 {
                let fewer = plan_crews(&input, Some(&Crew::anonymous(k - 1)))?;
                assert!(!fewer.feasible, "case {case}");
            }
        }
    }
    assert_eq!(checked, 40);
    assert!(
        needed_seen.len() >= 3,
        "the cases cover few answers: {needed_seen:?}"
    );
    Ok(())
}

#[test]
fn a_crew_whose_contract_ends_is_passed_over_and_a_crew_nobody_can_be_is_an_error() -> TestResult {
    let city = uniform(2, 2, 4);
    let schedule = placed(&city, 30, date(2026, 10, 1))?;
    let ended = Crew {
        id: "suzuki".into(),
        members: Vec::new(),
        availability: Availability {
            until: Some(date(2026, 3, 31)),
            ..Availability::always()
        },
    };
    let mut crews = Crew::anonymous(1);
    crews.insert(0, ended.clone());
    let plan = crews_for(&city, &schedule, &TravelTable::new(20), Some(&crews))?;
    assert!(plan.crews[0].stints.is_empty(), "suzuki gets no work");
    assert_eq!(plan.crews[1].stints.len(), 2);
    let err = crews_for(&city, &schedule, &TravelTable::new(20), Some(&[ended]));
    let message = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("crew `suzuki` has no working day"),
        "{message}"
    );
    Ok(())
}
