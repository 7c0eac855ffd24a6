//! Batching jobs into visits and placing visits into office-hour windows, on the cases the
//! city cares about: the October batch, urgent patches, Silver Week, the year end, sites that
//! cannot finish in three business days and what would make them fit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;
use jiff::civil::{Date, date, time};
use seibi::calendar::Calendar;
use seibi::inventory::{Hours, Inventory, Platform, Site, SiteKind, Terminal};
use seibi::language::Language;
use seibi::playbook::{Job, JobKind, Urgency};
use seibi::schedule::{
    BatchJob, BatchOptions, Batching, Calendars, Canary, DeadlineStatus, Estimates, History,
    PlaceInput, PlaceOptions, Rule, Schedule, ScheduleError, Slot, Targets, VisitKind, batch,
    batch_jobs, place, render_markdown, render_text,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PATCH: &str = "openssl-patch-2026-09";
const SETTINGS: &str = "settings-2026-10";
const ROTATION: &str = "password-rotation-2026";

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schedule"
    ))
}

/// The fixture inventory and the October jobs, loaded as a user's files would be.
fn october() -> Result<(Inventory, Vec<Job>), Box<dyn std::error::Error>> {
    let (inventory, diags) = seibi::inventory::load(&fixtures().join("inventory"));
    assert!(!diags.has_errors(), "{diags}");
    let (loaded, diags) = seibi::playbook::load(&fixtures().join("october"));
    let jobs = loaded.jobs;
    assert!(!diags.has_errors(), "{diags}");
    assert_eq!(jobs.len(), 3);
    Ok((inventory, jobs))
}

fn batch_october(jobs: &[Job], today: Date) -> Result<Batching, Box<dyn std::error::Error>> {
    let (inventory, _) = october()?;
    let targets = Targets::compute(jobs, &inventory);
    let calendars = Calendars::from_inventory(&inventory)?;
    Ok(batch_jobs(
        jobs,
        &targets.jobs_by_site(),
        &calendars,
        &BatchOptions::new(today),
    )?)
}

fn job_mut<'a>(jobs: &'a mut [Job], id: &str) -> &'a mut Job {
    match jobs.iter_mut().find(|j| j.id == id) {
        Some(job) => job,
        None => panic!("no job {id}"),
    }
}

/// The reason of `job`'s visit day at `site`, in English.
fn reason_of(batching: &Batching, site: &str, job: &str) -> String {
    batching
        .visits_at(site)
        .find_map(|v| {
            let j = v.jobs.iter().find(|j| j.job == job)?;
            Some(v.reason(j, Language::En))
        })
        .unwrap_or_default()
}

/// The rule that put `job` on its visit's day at `site`.
fn rule_of(batching: &Batching, site: &str, job: &str) -> Option<Rule> {
    batching
        .visits_at(site)
        .flat_map(|v| &v.jobs)
        .find(|j| j.job == job)
        .map(|j| j.reason.rule)
}

#[test]
fn october_jobs_share_one_visit_with_reasons() -> TestResult {
    let (_, jobs) = october()?;
    let result = batch_october(&jobs, date(2026, 9, 25))?;
    let chuo: Vec<_> = result.visits_at("chuo").collect();
    assert_eq!(chuo.len(), 1, "{chuo:#?}");
    assert_eq!(chuo[0].date, date(2026, 10, 1));
    assert_eq!(chuo[0].kind, VisitKind::Batched);
    // Ordered by kind: patch, settings change, password rotation.
    assert_eq!(chuo[0].job_ids(), [PATCH, SETTINGS, ROTATION]);
    assert_eq!(rule_of(&result, "chuo", PATCH), Some(Rule::Batched));
    assert_eq!(
        reason_of(&result, "chuo", PATCH),
        "deferred from 2026-09-28 to 2026-10-01 to share one visit with the other jobs (city \
         approval required for batching)"
    );
    assert_eq!(
        reason_of(&result, "chuo", SETTINGS),
        "on the earliest business day 2026-10-01"
    );
    // Said once for the jobs that share it, in either language.
    assert_eq!(
        chuo[0].reasons(Language::Ja),
        [
            (
                vec![PATCH],
                "他の作業とまとめて実施するため 2026-09-28 から 2026-10-01 に延期（まとめて実施には市の承認が必要）"
                    .to_string()
            ),
            (
                vec![SETTINGS, ROTATION],
                "最早の開庁日 2026-10-01 に実施".to_string()
            ),
        ]
    );
    // kita is closed on 2026-10-01: its single visit is the next business day.
    let kita: Vec<_> = result.visits_at("kita").collect();
    assert_eq!(kita.len(), 1);
    assert_eq!(kita[0].date, date(2026, 10, 2));
    assert_eq!(kita[0].job_ids(), [PATCH, SETTINGS, ROTATION]);
    let closed = &kita[0].jobs[1].reason;
    assert_eq!(
        (closed.requested, closed.closed.as_deref()),
        (date(2026, 10, 1), Some("拠点休業日"))
    );
    assert_eq!(
        reason_of(&result, "kita", SETTINGS),
        "on the earliest business day 2026-10-02 (2026-10-01 is closed: 拠点休業日)"
    );
    assert!(result.late.is_empty());
    Ok(())
}

#[test]
fn an_urgent_patch_is_not_held_back() -> TestResult {
    let (_, mut jobs) = october()?;
    job_mut(&mut jobs, PATCH).urgency = Urgency::Urgent;
    let result = batch_october(&jobs, date(2026, 9, 25))?;
    let chuo: Vec<_> = result.visits_at("chuo").collect();
    let summary: Vec<(Date, VisitKind, Vec<&str>)> =
        chuo.iter().map(|v| (v.date, v.kind, v.job_ids())).collect();
    assert_eq!(
        summary,
        vec![
            (date(2026, 9, 28), VisitKind::Urgent, vec![PATCH]),
            (
                date(2026, 10, 1),
                VisitKind::Batched,
                vec![SETTINGS, ROTATION]
            ),
        ]
    );
    assert_eq!(rule_of(&result, "chuo", PATCH), Some(Rule::Urgent));
    assert_eq!(
        reason_of(&result, "chuo", PATCH),
        "urgent: on the earliest business day 2026-09-28, not held back"
    );
    Ok(())
}

#[test]
fn others_join_an_urgent_visit_when_their_window_allows() -> TestResult {
    let (_, mut jobs) = october()?;
    let patch = job_mut(&mut jobs, PATCH);
    patch.urgency = Urgency::Urgent;
    patch.earliest_start = Some(date(2026, 10, 2));
    let result = batch_october(&jobs, date(2026, 9, 25))?;
    let chuo: Vec<_> = result.visits_at("chuo").collect();
    assert_eq!(chuo.len(), 1);
    assert_eq!(chuo[0].date, date(2026, 10, 2));
    assert_eq!(chuo[0].kind, VisitKind::Urgent);
    assert_eq!(chuo[0].job_ids(), [PATCH, SETTINGS, ROTATION]);
    assert_eq!(rule_of(&result, "chuo", SETTINGS), Some(Rule::JoinedUrgent));
    assert_eq!(
        reason_of(&result, "chuo", SETTINGS),
        "deferred from 2026-10-01 to 2026-10-02 to join the urgent visit for \
         openssl-patch-2026-09 (city approval required for batching)"
    );
    Ok(())
}

#[test]
fn a_job_that_is_not_batchable_gets_its_own_visit() -> TestResult {
    let (_, mut jobs) = october()?;
    job_mut(&mut jobs, ROTATION).batchable = false;
    let result = batch_october(&jobs, date(2026, 9, 25))?;
    let chuo: Vec<_> = result.visits_at("chuo").collect();
    let summary: Vec<(&str, VisitKind, Vec<&str>)> = chuo
        .iter()
        .map(|v| (v.id.as_str(), v.kind, v.job_ids()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "chuo:2026-10-01:1",
                VisitKind::Batched,
                vec![PATCH, SETTINGS]
            ),
            ("chuo:2026-10-01:2", VisitKind::Own, vec![ROTATION]),
        ]
    );
    assert_eq!(rule_of(&result, "chuo", ROTATION), Some(Rule::Own));
    assert_eq!(
        reason_of(&result, "chuo", ROTATION),
        "not batchable: own visit on the earliest business day 2026-10-01"
    );
    Ok(())
}

fn one_job(id: &str, earliest: Date, deadline: Option<Date>) -> BatchJob {
    BatchJob {
        id: id.to_string(),
        kind: JobKind::OsPatch,
        urgency: Urgency::Normal,
        earliest_start: Some(earliest),
        deadline,
        batchable: true,
        notified: None,
    }
}

fn batch_at_one_site(jobs: &[BatchJob], today: Date) -> Result<Batching, ScheduleError> {
    let ids: BTreeSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
    batch(
        jobs,
        &BTreeMap::from([("chuo".to_string(), ids)]),
        &Calendars::city(Calendar::new()),
        &BatchOptions::new(today),
    )
}

#[test]
fn silver_week_and_the_year_end_are_never_visit_days() -> TestResult {
    // 2026-09-19..23: Saturday, Sunday, 敬老の日, 国民の休日, 秋分の日.
    let result = batch_at_one_site(
        &[one_job(
            "silver",
            date(2026, 9, 19),
            Some(date(2026, 10, 9)),
        )],
        date(2026, 9, 1),
    )?;
    assert_eq!(result.visits[0].date, date(2026, 9, 24));
    assert_eq!(
        reason_of(&result, "chuo", "silver"),
        "on the earliest business day 2026-09-24 (2026-09-19 is closed: 週末)"
    );

    // Work asked for during the year-end closure waits for 2027-01-04.
    let result = batch_at_one_site(
        &[one_job(
            "year-end",
            date(2026, 12, 29),
            Some(date(2027, 1, 29)),
        )],
        date(2026, 12, 1),
    )?;
    assert_eq!(result.visits[0].date, date(2027, 1, 4));
    assert_eq!(
        result.visits[0].jobs[0].reason.closed.as_deref(),
        Some("年末年始")
    );

    // A window with no business day at all is late, done on the first business day after.
    let result = batch_at_one_site(
        &[one_job(
            "closed",
            date(2026, 9, 19),
            Some(date(2026, 9, 23)),
        )],
        date(2026, 9, 1),
    )?;
    assert_eq!(result.visits[0].date, date(2026, 9, 24));
    assert_eq!(result.late.len(), 1);
    assert_eq!(result.late[0].deadline, date(2026, 9, 23));
    Ok(())
}

#[test]
fn every_visit_is_on_a_business_day_inside_its_jobs_windows() -> TestResult {
    // Windows starting on every day from September to January, two weeks long, batched together.
    let calendar = Calendar::new();
    let mut jobs = Vec::new();
    let mut day = date(2026, 9, 1);
    while day <= date(2027, 1, 31) {
        let id = format!("job-{day}");
        jobs.push(one_job(
            &id,
            day,
            Some(day.checked_add(jiff::ToSpan::days(14))?),
        ));
        day = day.tomorrow()?;
    }
    let result = batch_at_one_site(&jobs, date(2026, 9, 1))?;
    assert!(result.late.is_empty());
    let mut seen = 0;
    for visit in &result.visits {
        assert!(calendar.is_business_day(visit.date), "{}", visit.date);
        for job in &visit.jobs {
            seen += 1;
            assert!(job.earliest <= visit.date, "{} {}", job.job, visit.date);
            assert!(
                job.latest.is_none_or(|l| visit.date <= l),
                "{} {}",
                job.job,
                visit.date
            );
        }
    }
    assert_eq!(seen, jobs.len());
    // Fewer visits than jobs: two-week windows overlap a lot.
    assert!(
        result.visits.len() * 4 < jobs.len(),
        "{}",
        result.visits.len()
    );
    Ok(())
}

#[test]
fn estimates_use_the_median_of_past_runs_per_task() -> TestResult {
    let (_, jobs) = october()?;
    let min = |m: u64| Duration::from_secs(m * 60);
    let mut history = History::new();
    history.insert(
        (PATCH.into(), "record".into()),
        vec![min(1), min(3), min(2)],
    );
    history.insert(
        (PATCH.into(), "install".into()),
        vec![min(10), min(4), min(6), min(30)],
    );
    history.insert((PATCH.into(), "reboot".into()), vec![min(3)]);
    // settings: no history; rotation: none of its task ids.
    history.insert((ROTATION.into(), "other".into()), vec![min(99)]);
    let estimates = Estimates::from_jobs(&jobs, Some(&history));
    // 2 (median of 1,2,3) + 8 (mean of 6 and 10) + 3 (the reboot handler).
    assert_eq!(estimates.for_terminal(PATCH, "chuo-t01"), Some(min(13)));
    assert_eq!(estimates.for_terminal(SETTINGS, "chuo-t01"), Some(min(15)));
    assert_eq!(estimates.for_terminal(ROTATION, "chuo-t01"), Some(min(5)));

    // Only one of the two tasks known: the other counts for half of the declared 20 minutes.
    let mut partial = History::new();
    partial.insert((PATCH.into(), "install".into()), vec![min(4)]);
    let estimates = Estimates::from_jobs(&jobs, Some(&partial));
    assert_eq!(estimates.for_terminal(PATCH, "kita-t01"), Some(min(14)));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Placement: inventories built in code.

struct City {
    inventory: Inventory,
    targets: Targets,
    calendars: Calendars,
}

fn site(id: &str, capacity: u32) -> Site {
    Site {
        id: id.to_string(),
        name: format!("{id} office"),
        name_en: None,
        kind: SiteKind::Ward,
        jump: None,
        capacity,
        closed_days: Vec::new(),
        hours: None,
        bandwidth_mbps: None,
        vars: Default::default(),
        work: Default::default(),
        travel: Default::default(),
        approved_windows: Vec::new(),
    }
}

/// Sites with `terminals` terminals each; `job` reaches every terminal.
fn build_city(sites: Vec<(Site, usize)>, jobs: &[&str]) -> Result<City, ScheduleError> {
    let mut inventory = Inventory::default();
    let mut targets = Targets::default();
    let mut site_map = IndexMap::new();
    for (site, count) in sites {
        for n in 1..=count {
            let id = format!("{}-t{n:02}", site.id);
            for job in jobs {
                targets.insert(*job, &site.id, &id);
            }
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
        site_map.insert(site.id.clone(), site);
    }
    inventory.sites = site_map;
    let calendars = Calendars::from_inventory(&inventory)?;
    Ok(City {
        inventory,
        targets,
        calendars,
    })
}

fn uniform(count: usize, capacity: u32, terminals: usize) -> Vec<(Site, usize)> {
    (1..=count)
        .map(|n| (site(&format!("s{n:02}"), capacity), terminals))
        .collect()
}

/// Batches `jobs` (all in one window from `day`) and places them.
fn plan(
    city: &City,
    jobs: &[(&str, u32)],
    day: Date,
    options: &PlaceOptions,
    bytes: &BTreeMap<String, u64>,
) -> Result<Schedule, ScheduleError> {
    let batch_jobs: Vec<BatchJob> = jobs
        .iter()
        .map(|(id, _)| BatchJob {
            id: id.to_string(),
            kind: JobKind::SettingsChange,
            urgency: Urgency::Normal,
            earliest_start: Some(day),
            deadline: None,
            batchable: true,
            notified: None,
        })
        .collect();
    let batching = batch(
        &batch_jobs,
        &city.targets.jobs_by_site(),
        &city.calendars,
        &BatchOptions::new(day),
    )?;
    let estimates = Estimates::from_minutes(jobs.iter().copied());
    place(
        &PlaceInput {
            visits: &batching.visits,
            inventory: &city.inventory,
            targets: &city.targets,
            estimates: &estimates,
            calendars: &city.calendars,
            artifact_bytes: bytes,
        },
        options,
    )
}

fn hm(z: &jiff::Zoned) -> String {
    z.strftime("%Y-%m-%d %H:%M").to_string()
}

/// The most units running at any instant, from the slots.
fn peak_of<'a>(slots: impl IntoIterator<Item = &'a Slot>) -> usize {
    let mut events: Vec<(i64, i32)> = Vec::new();
    for slot in slots {
        events.push((slot.start.timestamp().as_second(), 1));
        events.push((slot.end.timestamp().as_second(), -1));
    }
    // Ends before starts at the same instant.
    events.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, delta) in events {
        now += delta;
        peak = peak.max(now);
    }
    usize::try_from(peak).unwrap_or(0)
}

fn peak_concurrency(schedule: &Schedule) -> usize {
    peak_of(schedule.sites.iter().flat_map(|s| &s.slots))
}

#[test]
fn eleven_sites_of_eight_terminals_finish_in_two_hours() -> TestResult {
    let city = build_city(uniform(11, 2, 8), &["work"])?;
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )?;
    assert!(schedule.feasibility.feasible);
    assert_eq!(schedule.sites.len(), 11);
    for site in &schedule.sites {
        // 8 terminals / capacity 2 = 4 rounds of 30 minutes from 08:45.
        assert_eq!(hm(&site.start), "2026-10-01 08:45");
        assert_eq!(hm(&site.finish), "2026-10-01 10:45", "{}", site.site);
        assert_eq!(site.status, DeadlineStatus::Met { business_day: 1 });
        assert_eq!(site.deadline_day, date(2026, 10, 5));
        assert_eq!(site.days.len(), 1);
        assert_eq!(site.days[0].terminals, 8);
        let starts: BTreeSet<String> = site.slots.iter().map(|s| hm(&s.start)).collect();
        assert_eq!(
            starts.into_iter().collect::<Vec<_>>(),
            [
                "2026-10-01 08:45",
                "2026-10-01 09:15",
                "2026-10-01 09:45",
                "2026-10-01 10:15"
            ]
        );
    }
    assert_eq!(peak_concurrency(&schedule), 22);
    Ok(())
}

#[test]
fn a_site_that_cannot_finish_in_three_days_is_named_with_the_capacity_that_fits() -> TestResult {
    let mut sites = uniform(2, 2, 8);
    sites.push((site("teine", 1), 40));
    let city = build_city(sites, &["work"])?;
    let schedule = plan(
        &city,
        &[("work", 60)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )?;
    let f = &schedule.feasibility;
    assert!(!f.feasible);
    assert_eq!(f.misses.len(), 1, "{:#?}", f.misses);
    let miss = &f.misses[0];
    assert_eq!(miss.site, "teine");
    // 8 one-hour terminals a day (8h30m open): 40 take five business days, Oct 1, 2, 5, 6, 7.
    assert_eq!(hm(&miss.finish), "2026-10-07 16:45");
    // The wave that misses says which day was the last allowed.
    let wave = schedule.site(&miss.site).expect("the wave that misses");
    assert_eq!(
        (wave.date, wave.deadline_day),
        (miss.date, date(2026, 10, 5))
    );
    assert_eq!(miss.business_days_late, 2);
    // All of Oct 6 (8h30m) and Oct 7 until 16:45 (8h).
    assert_eq!(miss.office_minutes_late, 16 * 60 + 30);
    // Capacity 2: 16 a day, 40 done on the third day.
    assert_eq!(miss.capacity_that_fits, Some(2));
    assert!(
        miss.suggestion.contains("from 1 to 2"),
        "{}",
        miss.suggestion
    );
    let text = render_text(&schedule.view());
    assert!(text.contains("NOT FEASIBLE: 1 site(s) past"), "{text}");
    assert!(
        text.contains("teine (2026-10-01): raise the capacity of `teine` from 1 to 2"),
        "{text}"
    );

    // The suggestion holds: with capacity 2 the site finishes on its third business day.
    let mut sites = uniform(2, 2, 8);
    sites.push((site("teine", 2), 40));
    let city = build_city(sites, &["work"])?;
    let schedule = plan(
        &city,
        &[("work", 60)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )?;
    assert!(schedule.feasibility.feasible);
    let teine = schedule.site("teine").ok_or("no teine")?;
    assert_eq!(teine.status, DeadlineStatus::Met { business_day: 3 });
    assert_eq!(hm(&teine.finish), "2026-10-05 12:45");
    Ok(())
}

#[test]
fn the_deadline_is_configurable() -> TestResult {
    let city = build_city(vec![(site("teine", 1), 40)], &["work"])?;
    let options = PlaceOptions {
        deadline_business_days: 5,
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 60)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    assert!(schedule.feasibility.feasible);
    assert_eq!(
        schedule.sites[0].status,
        DeadlineStatus::Met { business_day: 5 }
    );
    Ok(())
}

#[test]
fn a_low_global_limit_binds_and_the_needed_limit_is_found() -> TestResult {
    let city = build_city(uniform(11, 2, 8), &["work"])?;
    let options = PlaceOptions {
        global_limit: Some(4),
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    assert_eq!(peak_concurrency(&schedule), 4);
    // 88 half-hours, 4 at a time = 22 rounds; 17 fit in a day (8h30m), 5 more the next day.
    assert_eq!(
        schedule.finish().map(hm).as_deref(),
        Some("2026-10-02 11:15")
    );
    assert!(schedule.feasibility.feasible);

    // One at a time: 88 half-hours take six days; two at a time fit in three (3 x 17 x 2).
    let options = PlaceOptions {
        global_limit: Some(1),
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    assert_eq!(peak_concurrency(&schedule), 1);
    let f = &schedule.feasibility;
    assert!(!f.feasible);
    assert!(!f.misses.is_empty());
    assert!(f.misses.iter().all(|m| m.capacity_that_fits == Some(2)));
    assert_eq!(f.global_limit_needed, Some(2));
    assert!(
        f.suggestions
            .iter()
            .any(|s| s == "raise the global limit from 1 to 2 terminals at a time"),
        "{:?}",
        f.suggestions
    );
    Ok(())
}

#[test]
fn a_holiday_inside_the_span_moves_the_finish() -> TestResult {
    let city = build_city(vec![(site("chuo", 1), 20)], &["work"])?;
    // Friday 2026-09-18, then Silver Week closes Sep 19-23.
    let schedule = plan(
        &city,
        &[("work", 60)],
        date(2026, 9, 18),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )?;
    let chuo = &schedule.sites[0];
    let days: Vec<(Date, u32, usize)> = chuo
        .days
        .iter()
        .map(|d| (d.date, d.business_day, d.terminals))
        .collect();
    assert_eq!(
        days,
        vec![
            (date(2026, 9, 18), 1, 8),
            (date(2026, 9, 24), 2, 8),
            (date(2026, 9, 25), 3, 4),
        ]
    );
    assert_eq!(hm(&chuo.finish), "2026-09-25 12:45");
    assert_eq!(chuo.deadline_day, date(2026, 9, 25));
    assert_eq!(chuo.status, DeadlineStatus::Met { business_day: 3 });
    Ok(())
}

#[test]
fn a_site_with_a_closed_day_and_short_hours() -> TestResult {
    let mut short = site("minami", 1);
    short.hours = Some(Hours {
        open: time(9, 0, 0, 0),
        close: time(12, 0, 0, 0),
    });
    short.closed_days = vec![date(2026, 10, 2)];
    let city = build_city(vec![(short, 10), (site("chuo", 1), 10)], &["work"])?;
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )?;
    let minami = schedule.site("minami").ok_or("no minami")?;
    // Six half-hours fit in 09:00-12:00; the site is closed on Friday the 2nd.
    let days: Vec<(Date, String, String, usize)> = minami
        .days
        .iter()
        .map(|d| (d.date, hm(&d.start), hm(&d.end), d.terminals))
        .collect();
    assert_eq!(
        days,
        vec![
            (
                date(2026, 10, 1),
                "2026-10-01 09:00".into(),
                "2026-10-01 12:00".into(),
                6
            ),
            (
                date(2026, 10, 5),
                "2026-10-05 09:00".into(),
                "2026-10-05 11:00".into(),
                4
            ),
        ]
    );
    assert_eq!(minami.status, DeadlineStatus::Met { business_day: 2 });
    // Its own calendar counts: Oct 1, 5, 6.
    assert_eq!(minami.deadline_day, date(2026, 10, 6));
    // The other site works all day on the 1st: ten half-hours from 08:45.
    let chuo = schedule.site("chuo").ok_or("no chuo")?;
    assert_eq!(hm(&chuo.finish), "2026-10-01 13:45");
    Ok(())
}

#[test]
fn a_canary_site_goes_first_and_the_others_wait_for_it() -> TestResult {
    let city = build_city(uniform(3, 2, 8), &["work"])?;
    let options = PlaceOptions {
        canary: Some(Canary::Site("s02".into())),
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    let canary = schedule.site("s02").ok_or("no s02")?;
    assert!(canary.canary);
    assert_eq!(hm(&canary.start), "2026-10-01 08:45");
    assert_eq!(hm(&canary.finish), "2026-10-01 10:45");
    for id in ["s01", "s03"] {
        let s = schedule.site(id).ok_or("missing site")?;
        assert!(!s.canary);
        assert_eq!(hm(&s.start), "2026-10-01 10:45", "{id}");
        assert_eq!(hm(&s.finish), "2026-10-01 12:45", "{id}");
    }

    // The first three terminals of the day as the canary: s01-t01, s01-t02 then s01-t03.
    let options = PlaceOptions {
        canary: Some(Canary::Terminals(3)),
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    let first = schedule.site("s01").ok_or("no s01")?;
    let t03 = first
        .slots
        .iter()
        .find(|s| s.terminal == "s01-t03")
        .ok_or("no t03")?;
    assert_eq!(hm(&t03.start), "2026-10-01 09:15");
    let others_start = schedule
        .sites
        .iter()
        .flat_map(|s| &s.slots)
        .filter(|s| !["s01-t01", "s01-t02", "s01-t03"].contains(&s.terminal.as_str()))
        .map(|s| hm(&s.start))
        .min();
    assert_eq!(others_start.as_deref(), Some("2026-10-01 09:45"));
    Ok(())
}

#[test]
fn a_canary_site_without_a_visit_that_day_holds_nobody_back() -> TestResult {
    let mut sites = uniform(2, 2, 4);
    sites.push((site("empty", 1), 0));
    let city = build_city(sites, &["work"])?;
    let options = PlaceOptions {
        canary: Some(Canary::Site("empty".into())),
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    assert_eq!(
        schedule.notes,
        ["no canary on 2026-10-01: site `empty` has no visit that day"]
    );
    assert!(
        schedule
            .sites
            .iter()
            .all(|s| hm(&s.start) == "2026-10-01 08:45")
    );
    Ok(())
}

#[test]
fn an_unknown_canary_site_is_an_error_with_a_hint() -> TestResult {
    let city = build_city(uniform(2, 2, 2), &["work"])?;
    let options = PlaceOptions {
        canary: Some(Canary::Site("S01".into())),
        ..PlaceOptions::default()
    };
    let err = plan(
        &city,
        &[("work", 30)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )
    .err()
    .ok_or("expected an error")?;
    assert!(matches!(err, ScheduleError::UnknownSite { .. }));
    assert!(err.to_string().contains("did you mean `s01`?"), "{err}");
    Ok(())
}

#[test]
fn work_longer_than_a_window_is_an_error() -> TestResult {
    let city = build_city(vec![(site("chuo", 2), 2)], &["patch", "rotation"])?;
    let err = plan(
        &city,
        &[("patch", 300), ("rotation", 240)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )
    .err()
    .ok_or("expected an error")?;
    let ScheduleError::WorkLongerThanWindow(over) = &err else {
        return Err(format!("unexpected error {err}").into());
    };
    assert_eq!(over.len(), 2);
    assert_eq!(over[0].terminal, "chuo-t01");
    assert_eq!(over[0].needed_minutes, 540);
    assert_eq!(over[0].window_minutes, 510);
    let message = err.to_string();
    assert!(message.contains("terminal `chuo-t01`"), "{message}");
    assert!(message.contains("hint: split the jobs"), "{message}");
    Ok(())
}

#[test]
fn artifacts_are_sent_before_the_first_terminal() -> TestResult {
    let mut slow = site("kita", 2);
    slow.bandwidth_mbps = Some(8.0);
    let city = build_city(vec![(slow, 4), (site("chuo", 2), 4)], &["patch"])?;
    // 900 MB at 8 Mbps: 900 s.
    let bytes = BTreeMap::from([("patch".to_string(), 900_000_000u64)]);
    let schedule = plan(
        &city,
        &[("patch", 30)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &bytes,
    )?;
    let kita = schedule.site("kita").ok_or("no kita")?;
    let transfer = kita.transfer.as_ref().ok_or("no transfer")?;
    assert_eq!(hm(&transfer.start), "2026-10-01 08:45");
    assert_eq!(hm(&transfer.end), "2026-10-01 09:00");
    assert_eq!(hm(&kita.slots[0].start), "2026-10-01 09:00");
    assert_eq!(hm(&kita.finish), "2026-10-01 10:00");
    assert_eq!(hm(&kita.days[0].start), "2026-10-01 08:45");
    // No bandwidth given: no transfer.
    let chuo = schedule.site("chuo").ok_or("no chuo")?;
    assert!(chuo.transfer.is_none());
    assert_eq!(hm(&chuo.finish), "2026-10-01 09:45");
    Ok(())
}

#[test]
fn a_long_transfer_pauses_overnight() -> TestResult {
    let mut slow = site("kita", 1);
    slow.bandwidth_mbps = Some(1.0);
    let city = build_city(vec![(slow, 1)], &["patch"])?;
    // 4.5 GB at 1 Mbps: 36,000 s = 10 h of office time: 8h30m on Thursday, 1h30m on Friday.
    let bytes = BTreeMap::from([("patch".to_string(), 4_500_000_000u64)]);
    let schedule = plan(
        &city,
        &[("patch", 30)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &bytes,
    )?;
    let kita = &schedule.sites[0];
    let transfer = kita.transfer.as_ref().ok_or("no transfer")?;
    assert_eq!(hm(&transfer.end), "2026-10-02 10:15");
    assert_eq!(hm(&kita.slots[0].start), "2026-10-02 10:15");
    let days: Vec<(u32, String, String, usize)> = kita
        .days
        .iter()
        .map(|d| (d.business_day, hm(&d.start), hm(&d.end), d.terminals))
        .collect();
    assert_eq!(
        days,
        vec![
            (1, "2026-10-01 08:45".into(), "2026-10-01 17:15".into(), 0),
            (2, "2026-10-02 08:45".into(), "2026-10-02 10:45".into(), 1),
        ]
    );
    Ok(())
}

#[test]
fn work_starts_no_earlier_than_asked_and_does_not_cross_closing() -> TestResult {
    let city = build_city(vec![(site("chuo", 1), 3)], &["work"])?;
    let not_before: jiff::Timestamp = "2026-10-01T15:45:00+09:00".parse()?;
    let options = PlaceOptions {
        not_before: Some(not_before),
        ..PlaceOptions::default()
    };
    let schedule = plan(
        &city,
        &[("work", 60)],
        date(2026, 10, 1),
        &options,
        &BTreeMap::new(),
    )?;
    let slots: Vec<String> = schedule.sites[0]
        .slots
        .iter()
        .map(|s| hm(&s.start))
        .collect();
    // 15:45-16:45 fits; 16:45 + 1h would cross 17:15, so the rest wait for Friday.
    assert_eq!(
        slots,
        ["2026-10-01 15:45", "2026-10-02 08:45", "2026-10-02 09:45"]
    );
    assert_eq!(schedule.sites[0].start_day, date(2026, 10, 1));
    Ok(())
}

/// Batches the fixture's jobs from 2026-09-25 and places them with the default options.
fn schedule_from_sept_25(
    inventory: &Inventory,
    jobs: &[Job],
) -> Result<Schedule, Box<dyn std::error::Error>> {
    let targets = Targets::compute(jobs, inventory);
    let calendars = Calendars::from_inventory(inventory)?;
    let batching = batch_jobs(
        jobs,
        &targets.jobs_by_site(),
        &calendars,
        &BatchOptions::new(date(2026, 9, 25)),
    )?;
    let estimates = Estimates::from_jobs(jobs, None);
    Ok(place(
        &PlaceInput {
            visits: &batching.visits,
            inventory,
            targets: &targets,
            estimates: &estimates,
            calendars: &calendars,
            artifact_bytes: &BTreeMap::new(),
        },
        &PlaceOptions::default(),
    )?)
}

#[test]
fn the_october_batch_is_placed_with_per_terminal_jobs() -> TestResult {
    let (inventory, jobs) = october()?;
    let schedule = schedule_from_sept_25(&inventory, &jobs)?;
    // chuo: 3 terminals x (20 + 15 + 5) min at capacity 2: two at 08:45, the third at 09:25.
    let chuo = schedule.site("chuo").ok_or("no chuo")?;
    assert_eq!(hm(&chuo.finish), "2026-10-01 10:05");
    assert_eq!(chuo.slots[0].jobs, [PATCH, SETTINGS, ROTATION]);
    // kita: closed on the 1st, 2 terminals at capacity 1 on the 2nd.
    let kita = schedule.site("kita").ok_or("no kita")?;
    assert_eq!(hm(&kita.start), "2026-10-02 08:45");
    assert_eq!(hm(&kita.finish), "2026-10-02 10:05");
    assert!(schedule.feasibility.feasible);
    Ok(())
}

#[test]
fn a_terminal_in_two_visits_on_one_day_is_worked_on_one_visit_at_a_time() -> TestResult {
    let (inventory, mut jobs) = october()?;
    job_mut(&mut jobs, ROTATION).batchable = false;
    let schedule = schedule_from_sept_25(&inventory, &jobs)?;
    let chuo = schedule.site("chuo").ok_or("no chuo")?;
    assert_eq!(chuo.visits, ["chuo:2026-10-01:1", "chuo:2026-10-01:2"]);
    // Two slots per terminal (35 min batched, 5 min rotation), never overlapping.
    assert_eq!(chuo.slots.len(), 6);
    for terminal in ["chuo-t01", "chuo-t02", "chuo-t03"] {
        let mut mine: Vec<_> = chuo
            .slots
            .iter()
            .filter(|s| s.terminal == terminal)
            .collect();
        mine.sort_by_key(|s| s.start.timestamp());
        assert_eq!(mine.len(), 2, "{terminal}");
        assert!(mine[0].end <= mine[1].start, "{terminal} overlaps");
    }
    // Capacities hold across both visits: 2 at chuo, 1 at kita.
    assert_eq!(peak_of(&chuo.slots), 2);
    let kita = schedule.site("kita").ok_or("no kita")?;
    assert_eq!(peak_of(&kita.slots), 1);
    // kita: 2 terminals x (35 + 5) min, one at a time, from 08:45.
    assert_eq!(hm(&kita.finish), "2026-10-02 10:05");
    Ok(())
}

#[test]
fn a_job_deadline_before_the_finish_is_reported() -> TestResult {
    let city = build_city(vec![(site("chuo", 1), 12)], &["work"])?;
    let job = BatchJob {
        id: "work".into(),
        kind: JobKind::OsPatch,
        urgency: Urgency::Urgent,
        earliest_start: Some(date(2026, 10, 1)),
        deadline: Some(date(2026, 10, 1)),
        batchable: true,
        notified: None,
    };
    let batching = batch(
        &[job],
        &city.targets.jobs_by_site(),
        &city.calendars,
        &BatchOptions::new(date(2026, 10, 1)),
    )?;
    let estimates = Estimates::from_minutes([("work", 60)]);
    let schedule = place(
        &PlaceInput {
            visits: &batching.visits,
            inventory: &city.inventory,
            targets: &city.targets,
            estimates: &estimates,
            calendars: &city.calendars,
            artifact_bytes: &BTreeMap::new(),
        },
        &PlaceOptions::default(),
    )?;
    // Within three business days (12 hours over Oct 1-2), but after the job's own deadline.
    assert!(schedule.feasibility.misses.is_empty());
    assert!(!schedule.feasibility.feasible);
    let miss = &schedule.feasibility.job_deadline_misses;
    assert_eq!(miss.len(), 1);
    assert_eq!(miss[0].job, "work");
    assert_eq!(hm(&miss[0].finish), "2026-10-02 12:45");
    Ok(())
}

#[test]
fn schedules_print_as_json_text_and_markdown() -> TestResult {
    let mut sites = uniform(1, 2, 4);
    sites.push((site("teine", 1), 40));
    let city = build_city(sites, &["work"])?;
    let schedule = plan(
        &city,
        &[("work", 60)],
        date(2026, 10, 1),
        &PlaceOptions::default(),
        &BTreeMap::new(),
    )?;
    let json: serde_json::Value = serde_json::from_str(&schedule.to_json()?)?;
    assert_eq!(json["time_zone"], "Asia/Tokyo");
    assert_eq!(
        json["sites"][0]["slots"][0]["start"],
        "2026-10-01T08:45:00+09:00[Asia/Tokyo]"
    );
    assert_eq!(json["sites"][1]["status"]["status"], "missed");
    assert_eq!(json["feasibility"]["misses"][0]["capacity_that_fits"], 2);
    insta::assert_snapshot!(
        "markdown_with_a_miss",
        render_markdown(&schedule.view(), Language::En)
    );
    insta::assert_snapshot!("text_with_a_miss", render_text(&schedule.view()));
    Ok(())
}
