//! `seibi plan`: the dry run, as text, JSON or a markdown procedure document.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{ProjectArgs, print_diagnostics};
use crate::inventory::Selector;
use crate::plan::{self, Language, PlanRequest};
use crate::project::Project;

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
        }
    }
}

/// Arguments of `seibi plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Language of the markdown document.
    #[arg(long, value_enum, default_value = "en")]
    lang: Lang,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Builds and prints (or saves) the plan.
pub fn run(args: PlanArgs, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    let (loaded, diags) = Project::load(project.paths());
    let Some(loaded) = loaded else {
        print_diagnostics(&diags);
        eprintln!("hint: run `seibi check` for the same report");
        return Ok(ExitCode::from(1));
    };
    let plan = match plan::build(&loaded, &args.selection.request()) {
        Ok(plan) => plan,
        Err(diags) => {
            print_diagnostics(&diags);
            return Ok(ExitCode::from(1));
        }
    };
    let lang = match args.lang {
        Lang::En => Language::En,
        Lang::Ja => Language::Ja,
    };
    let text = match args.format {
        Format::Text => plan::render_text(&plan),
        Format::Json => plan.to_json() + "\n",
        Format::Markdown => plan::render_markdown(&plan, lang),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write the plan to {}", path.display()))?;
            eprintln!("plan {} written to {}", plan.digest, path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
