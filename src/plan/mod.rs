//! The plan: the dry-run document the city approves, and what `apply` will carry out.
//!
//! [`build`] turns a [`Project`](crate::project::Project) and a [`PlanRequest`] (which jobs, which terminals) into a
//! [`Plan`]: per site, per terminal, the ordered tasks of every selected job with their
//! arguments rendered for that terminal (secrets as placeholders), skipped tasks with the reason,
//! totals, the pinned inputs and a digest. The task order per terminal comes from [`TaskGraph`].
//!
//! With a [`ScheduleRequest`] in the request, the plan also carries a [`PlanSchedule`]: the jobs
//! batched into visits (with the reason for each job's day), estimates (from the journals of
//! past runs where there are any) and the timetable with its deadline check ([`mod@schedule`]).
//!
//! The JSON form of [`Plan`] is a stable, documented schema (`docs/plan.schema.json`,
//! `schema: "seibi.plan/v1"`); [`Plan::from_json`] reads it back and re-checks the digest.
//!
//! With a period in the [`PlanRequest`], recurring jobs stand in the plan as their occurrences
//! due in it (`occurrences.rs`, [`period_for`]).
//!
//! The document's types are in `document.rs`, the builder (and [`validate`], what `seibi
//! check` renders) in `build.rs`, and the staleness check [`changed_inputs`] in `staleness.rs`.

mod build;
mod digest;
mod document;
mod graph;
pub mod groups;
mod occurrences;
mod pretty;
mod render;
pub mod schedule;
mod scope;
mod staleness;
pub mod subset;
mod terminals;

pub use crate::language::Language;
pub(crate) use build::relative;
pub use build::{build, validate, validate_recurring};
pub use digest::canonical_sha256;
pub use document::{
    ArtifactPin, HostKeyPin, InputFile, Inputs, Plan, PlanRequest, PlannedJob, PlannedSite,
    PlannedTask, PlannedTerminal, SCHEMA, SecretPin, Totals,
};
pub use graph::{Priority, TaskGraph, TaskKey};
pub use occurrences::period_for;
pub use render::{render_markdown, render_text, render_text_grouped, task_summary};
pub use schedule::{
    DEFAULT_DEADLINE_BUSINESS_DAYS, PlanSchedule, PlannedWindow, ScheduleRequest, finished_runs,
};
pub use staleness::changed_inputs;
pub use terminals::{PlannedTerminalRef, TaskList, Terminals};
