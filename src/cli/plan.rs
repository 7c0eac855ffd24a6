//! `seibi plan`: the dry run, as text, JSON or a markdown procedure document.
//!
//! With `--start DAY` the plan also carries the schedule: the jobs batched into visits, the
//! estimates (refined by the finished runs' journals in `logs/`), and the timetable with the
//! deadline check. A schedule that misses the business-day limit or a job's deadline is still
//! printed (or saved) in full, so that the city sees it, and the exit status is then 3 so that
//! scripts notice; the misses and what would fit are repeated on standard error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Printer;
use super::{ProjectArgs, print_diagnostics};
use crate::inventory::Selector;
use crate::plan::{self, DEFAULT_DEADLINE_BUSINESS_DAYS, Language, PlanRequest, ScheduleRequest};
use crate::project::Project;
use crate::schedule::Canary;
use crate::schedule::crew::CrewRequest;
use crate::source::Diagnostics;

/// Output format of a plan.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// For people at a terminal.
    Text,
    /// For machines: the documented `seibi.plan/v1` schema.
    Json,
    /// A procedure document for approval.
    Markdown,
}

impl Format {
    /// The format a file name asks for: a saved plan is JSON, a procedure document Markdown.
    fn for_output(path: Option<&std::path::Path>) -> Format {
        match path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            Some(ext) if ext.eq_ignore_ascii_case("md") => Format::Markdown,
            _ => Format::Text,
        }
    }
}

/// Document language.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// Japanese.
    Ja,
}

/// Which terminals: narrows every selected job's targets.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectionArgs {
    /// Only these jobs (repeatable) [default: all].
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<String>,
    /// Only terminals in these sites (repeatable).
    #[arg(long = "site", value_name = "ID")]
    pub sites: Vec<String>,
    /// Only terminals in these groups (repeatable).
    #[arg(long = "group", value_name = "ID")]
    pub groups: Vec<String>,
    /// Only terminals with these tags (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only these terminals (repeatable).
    #[arg(long = "terminal", value_name = "ID")]
    pub terminals: Vec<String>,
    /// Leave out these terminals (repeatable).
    #[arg(long = "exclude", value_name = "ID")]
    pub exclude: Vec<String>,
}

impl SelectionArgs {
    /// The plan request these arguments describe.
    pub fn request(&self) -> PlanRequest {
        PlanRequest {
            jobs: self.jobs.clone(),
            limit: Selector {
                sites: self.sites.clone(),
                groups: self.groups.clone(),
                tags: self.tags.clone(),
                terminals: self.terminals.clone(),
                exclude: self.exclude.clone(),
            },
            schedule: None,
            period: None,
        }
    }
}

/// Arguments of `seibi plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    /// Output format [default: by the extension of -o: `.json` json (the plan to approve and
    /// apply), `.md` markdown; else text].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Language of the markdown document.
    #[arg(long, value_enum, default_value = "en")]
    lang: Lang,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Text: every terminal with every step (by default terminals with the same steps are
    /// listed once).
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// The period the plan is for (2026-10, or 2026-10-01..2026-10-15): recurring jobs stand in
    /// it as their occurrences due then; the schedule starts on its first day unless --start
    /// says otherwise [default with --start: from that day to the end of its month].
    #[arg(long, value_name = "PERIOD")]
    period: Option<crate::playbook::DateRange>,
}

/// Exit status of `seibi plan` when the plan was made but its schedule misses the business-day
/// limit or a job's deadline.
pub const EXIT_INFEASIBLE: u8 = 3;

/// Scheduling: batch the jobs into visits and place them into the sites' office hours.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScheduleArgs {
    /// Add the schedule: visits and a timetable from this day on (YYYY-MM-DD).
    #[arg(long, value_name = "DAY")]
    pub start: Option<jiff::civil::Date>,
    /// Business days each site's work must finish within (day 1 = its start day) [default: 3].
    #[arg(long, value_name = "N", requires = "start")]
    pub deadline_days: Option<u32>,
    /// On each visit day, this site's terminals go first and the others wait for them.
    #[arg(
        long,
        value_name = "SITE",
        requires = "start",
        conflicts_with = "canary_terminals"
    )]
    pub canary: Option<String>,
    /// On each visit day, the first N terminals go first and the others wait for them.
    #[arg(long, value_name = "N", requires = "start")]
    pub canary_terminals: Option<u32>,
    /// At most this many terminals at once, all sites together.
    #[arg(long, value_name = "N", requires = "start")]
    pub global_limit: Option<u32>,
    /// This many crews do the work [default: as many as are needed, which the plan says].
    #[arg(long, value_name = "N", requires = "start", conflicts_with = "crew")]
    pub crews: Option<u32>,
    /// A crew of operators from the roster (repeatable; `tanaka+sato` is one crew of two).
    #[arg(long = "crew", value_name = "NAME", requires = "start")]
    pub crew: Vec<String>,
}

impl ScheduleArgs {
    /// The schedule request, with the finished runs in `logs` as the estimates' history.
    pub fn request(&self, logs: &std::path::Path) -> Option<ScheduleRequest> {
        let start = self.start?;
        Some(ScheduleRequest {
            start,
            deadline_business_days: self.deadline_days.unwrap_or(DEFAULT_DEADLINE_BUSINESS_DAYS),
            canary: match (&self.canary, self.canary_terminals) {
                (Some(site), _) => Some(Canary::Site(site.clone())),
                (None, Some(n)) => Some(Canary::Terminals(n)),
                (None, None) => None,
            },
            global_limit: self.global_limit,
            history: plan::finished_runs(logs),
            crews: match (self.crews, self.crew.is_empty()) {
                (Some(n), _) => Some(CrewRequest::Count(n)),
                (None, false) => Some(CrewRequest::Named(self.crew.clone())),
                (None, true) => None,
            },
        })
    }
}

/// What [`Project::load`] reports of a project [`Project::load_unrendered`] loaded with
/// `diags`, when rendering every job as written finds an error (None: it finds none).
fn unrendered_report(diags: Diagnostics, loaded: &Project) -> Option<Diagnostics> {
    let render_diags = plan::validate(loaded).err()?;
    let mut all = diags;
    all.extend(render_diags);
    all.sort();
    Some(all)
}

/// Builds and prints (or saves) the plan.
pub fn run(args: PlanArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let mut request = args.selection.request();
    // A plan of everything renders every task for every terminal, as the check does: the
    // check's rendering is left to it, and its errors are the check's.
    let unrendered = request.jobs.is_empty() && request.limit.is_everything();
    let (loaded, diags) = if unrendered {
        Project::load_unrendered(project.paths())
    } else {
        Project::load(project.paths())
    };
    let Some(loaded) = loaded else {
        print_diagnostics(&diags);
        Printer::get().error(format_args!("hint: run `seibi check` for the same report"));
        return Ok(ExitCode::from(1));
    };
    let mut schedule = args.schedule.clone();
    schedule.start = schedule.start.or(args.period.map(|p| p.first));
    request.schedule = schedule.request(&loaded.paths.root.join("logs"));
    request.period = plan::period_for(&loaded, args.period, schedule.start);
    // With a period, the plan has the occurrences of recurring jobs instead of the jobs as
    // written: these are rendered here as the check renders them.
    let built = if unrendered && request.period.is_some() {
        plan::validate_recurring(&loaded).and_then(|()| plan::build(&loaded, &request))
    } else {
        plan::build(&loaded, &request)
    };
    let plan = match built {
        Ok(plan) => plan,
        Err(build_diags) => {
            // Left unrendered, the project reports what `Project::load` would have, if the
            // rendering finds an error; else the plan's own errors.
            let load_diags = if unrendered {
                unrendered_report(diags, &loaded)
            } else {
                None
            };
            match load_diags {
                Some(all) => {
                    print_diagnostics(&all);
                    Printer::get()
                        .error(format_args!("hint: run `seibi check` for the same report"));
                }
                None => print_diagnostics(&build_diags),
            }
            return Ok(ExitCode::from(1));
        }
    };
    let lang = match args.lang {
        Lang::En => Language::En,
        Lang::Ja => Language::Ja,
    };
    let format = args
        .format
        .unwrap_or_else(|| Format::for_output(args.output.as_deref()));
    let text = match format {
        Format::Text if args.verbose => plan::render_text(&plan),
        Format::Text => plan::render_text_grouped(&plan),
        // Written as it is serialized: a large plan's JSON is not held in memory as well.
        Format::Json => String::new(),
        Format::Markdown => plan::render_markdown(&plan, lang),
    };
    match &args.output {
        Some(path) => {
            let written = match format {
                Format::Json => std::fs::File::create(path).and_then(|f| plan.write_json(f)),
                _ => std::fs::write(path, text),
            };
            written.with_context(|| format!("cannot write the plan to {}", path.display()))?;
            Printer::get().status(format_args!(
                "plan {} written to {}",
                plan.digest,
                path.display()
            ));
            if let Some(crews) = plan.schedule.as_ref().and_then(|s| s.crews.as_ref()) {
                Printer::get().status(crate::schedule::crew::verdict(
                    crews,
                    crate::language::Language::En,
                ));
            }
        }
        None if matches!(format, Format::Json) => plan
            .write_json(Printer::get().stdout())
            .context("cannot write the plan")?,
        None => Printer::get().out_str(format_args!("{text}")),
    }
    if let Some(schedule) = plan.schedule.as_ref().filter(|s| !s.is_feasible()) {
        // The plan is shown in full (the city must see the timetable); the status says that
        // it cannot be carried out as it stands.
        Printer::get().error(format_args!("error: the schedule is not feasible:"));
        for problem in schedule.problems() {
            Printer::get().error(format_args!("  - {problem}"));
        }
        for late in &schedule.late {
            Printer::get().error(format_args!(
                "  - job {} at site {} is late before it starts: deadline {}, first business day {}",
                late.job, late.site, late.deadline, late.earliest
            ));
        }
        Printer::get().error(format_args!(
            "hint: add crews or raise the capacities or the global limit as suggested, start earlier \
             (--start), or ask the city for more business days (--deadline-days)"
        ));
        return Ok(ExitCode::from(EXIT_INFEASIBLE));
    }
    Ok(ExitCode::SUCCESS)
}
