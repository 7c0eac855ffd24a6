//! Benchmark of planning and scheduling at city scale: 200 sites, 10,000 terminals, 6 jobs.
//!
//! Writes an inventory and six playbooks to a temporary directory, loads them as `seibi`
//! does, then times the planning (targets, batching, estimates) and the placement (with a
//! global limit and a canary site), and prints the time of each step and the peak resident
//! memory (VmHWM from /proc/self/status). Run it in release mode:
//!
//! ```text
//! cargo run --release --example schedule_bench
//! ```
//!
//! The goal is under 2 s and 500 MB for planning, placement and crews together.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use jiff::civil::date;
use seibi::language::Language;
use seibi::schedule::crew::{Crew, CrewInput, TravelTable, plan_crews};
use seibi::schedule::{
    BatchOptions, Calendars, Canary, Estimates, PlaceInput, PlaceOptions, Targets, batch_jobs,
    place, render_markdown, render_text,
};

const SITES: usize = 200;
const TERMINALS_PER_SITE: usize = 50;

/// (id, kind, earliest start, deadline, minutes per terminal)
const JOBS: [(&str, &str, &str, &str, u32); 6] = [
    ("patch", "os_patch", "2026-09-28", "2026-10-30", 10),
    ("update", "software_update", "2026-10-01", "2026-10-30", 8),
    ("settings", "settings_change", "2026-10-01", "2027-03-31", 5),
    (
        "rotation",
        "password_rotation",
        "2026-10-01",
        "2026-10-31",
        3,
    ),
    ("inspection", "inspection", "2026-10-05", "2026-11-30", 5),
    ("logs", "log_collection", "2026-09-01", "2026-12-25", 2),
];

fn write_inputs(dir: &Path) -> std::io::Result<()> {
    let inventory = dir.join("inventory");
    let playbooks = dir.join("playbooks");
    std::fs::create_dir_all(&inventory)?;
    std::fs::create_dir_all(&playbooks)?;
    let mut sites = String::from("defaults:\n  user: admin\nsites:\n");
    let mut terminals = String::from("terminals:\n");
    for s in 0..SITES {
        let _ = writeln!(sites, "  site{s:03}: {{ name: 拠点{s}, capacity: 5 }}");
        for t in 0..TERMINALS_PER_SITE {
            let _ = writeln!(
                terminals,
                "  site{s:03}-t{t:02}: {{ site: site{s:03}, address: 10.{}.{}.{t}, tags: [integrated] }}",
                s / 250,
                s % 250
            );
        }
    }
    std::fs::write(inventory.join("sites.yml"), sites)?;
    std::fs::write(inventory.join("terminals.yml"), terminals)?;
    for (id, kind, earliest, deadline, minutes) in JOBS {
        let job = format!(
            "id: {id}\ntitle: {id}\nkind: {kind}\n\
             provenance: {{ source: contract, reference: bench }}\n\
             earliest_start: {earliest}\ndeadline: {deadline}\n\
             minutes_per_terminal: {minutes}\ntargets: {{ tags: [integrated] }}\n\
             tasks:\n  - name: work\n    command: \"true\"\n"
        );
        std::fs::write(playbooks.join(format!("{id}.yml")), job)?;
    }
    Ok(())
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_inputs(dir.path())?;

    let clock = Instant::now();
    let (inventory, diags) = seibi::inventory::load(&dir.path().join("inventory"));
    anyhow::ensure!(!diags.has_errors(), "inventory: {diags}");
    let (loaded, diags) = seibi::playbook::load(&dir.path().join("playbooks"));
    let jobs = loaded.jobs;
    anyhow::ensure!(!diags.has_errors(), "playbooks: {diags}");
    let load = clock.elapsed();

    let clock = Instant::now();
    let targets = Targets::compute(&jobs, &inventory);
    let calendars = Calendars::from_inventory(&inventory)?;
    let batching = batch_jobs(
        &jobs,
        &targets.jobs_by_site(),
        &calendars,
        &BatchOptions::new(date(2026, 9, 25)),
    )?;
    let estimates = Estimates::from_jobs(&jobs, None);
    let planning = clock.elapsed();

    let clock = Instant::now();
    let options = PlaceOptions {
        global_limit: Some(600),
        canary: Some(Canary::Site("site000".into())),
        ..PlaceOptions::default()
    };
    let schedule = place(
        &PlaceInput {
            visits: &batching.visits,
            inventory: &inventory,
            targets: &targets,
            estimates: &estimates,
            calendars: &calendars,
            artifact_bytes: &BTreeMap::new(),
        },
        &options,
    )?;
    let placement = clock.elapsed();

    // Crews: the smallest number that meets every round's deadline (searched with the real
    // scheduler), then the timetable with 20 named-by-number crews and its verdict.
    let clock = Instant::now();
    let travel = TravelTable::new(30);
    let job_deadlines = BTreeMap::new();
    let crew_input = CrewInput {
        waves: &schedule.sites,
        inventory: &inventory,
        calendars: &calendars,
        travel: &travel,
        deadline_business_days: 3,
        job_deadlines: &job_deadlines,
    };
    let needed = plan_crews(&crew_input, None)?;
    let twenty = plan_crews(&crew_input, Some(&Crew::anonymous(20)))?;
    let crews = clock.elapsed();

    let clock = Instant::now();
    let json = schedule.to_json()?;
    let text = render_text(&schedule.view());
    let markdown = render_markdown(&schedule.view(), Language::En);
    let rendering = clock.elapsed();

    // The same city with a global limit far too low: every site misses, and the search for
    // the capacities and the global limit that fit runs (one simulation per site and step).
    let clock = Instant::now();
    let tight = place(
        &PlaceInput {
            visits: &batching.visits,
            inventory: &inventory,
            targets: &targets,
            estimates: &estimates,
            calendars: &calendars,
            artifact_bytes: &BTreeMap::new(),
        },
        &PlaceOptions {
            global_limit: Some(50),
            ..PlaceOptions::default()
        },
    )?;
    let infeasible = clock.elapsed();

    let slots: usize = schedule.sites.iter().map(|s| s.slots.len()).sum();
    println!(
        "{} sites, {} terminals, {} jobs -> {} visits, {slots} terminal slots",
        inventory.sites.len(),
        inventory.terminals.len(),
        jobs.len(),
        batching.visits.len()
    );
    println!(
        "last finish: {}; feasible: {}",
        schedule
            .finish()
            .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        schedule.feasibility.feasible
    );
    println!("load (YAML, not part of the goal): {load:.2?}");
    println!("planning (targets, batching, estimates): {planning:.2?}");
    println!("placement (global limit 600, canary): {placement:.2?}");
    println!(
        "crews (search for the number needed: {:?}; 20 crews feasible: {}, {} sites late): \
         {crews:.2?}",
        needed.crews_needed,
        twenty.feasible,
        twenty.misses.len()
    );
    println!(
        "plan + schedule + crews: {:.2?}",
        planning + placement + crews
    );
    println!(
        "infeasible placement with suggestions (global limit 50): {infeasible:.2?}; {} site \
         waves miss, global limit needed: {:?}",
        tight.feasibility.misses.len(),
        tight.feasibility.global_limit_needed
    );
    println!(
        "rendering (json {} KiB, text {} KiB, markdown {} KiB): {rendering:.2?}",
        json.len() / 1024,
        text.len() / 1024,
        markdown.len() / 1024
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS: unknown (no /proc/self/status)"),
    }
    Ok(())
}
