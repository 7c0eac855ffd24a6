//! Jobs: one playbook file each, with metadata, a target selector, tasks and handlers.
//!
//! A job is one instance of upkeep work with its provenance (a vendor notice, a city
//! instruction), urgency, window (earliest start, deadline) and whether it may be batched with
//! other jobs into one visit. Its tasks each carry exactly one [`Action`]; handlers are tasks
//! that run at the end of the job on a terminal, only when a task that changed something
//! notified them (a reboot after a patch).
//!
//! [`load`] reads `playbooks/*.yml`; a [`Job`] that exists has valid arguments for every action,
//! unique task ids, known `notify:` targets and a verified artifact manifest.

mod action;
mod load;
pub mod recurrence;

use std::path::PathBuf;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::inventory::{Selector, Vars};
use crate::source::Location;

pub use action::{
    Action, CharClass, CommandArgs, FetchArgs, FileArgs, FileState, InspectArgs, InspectExpect,
    PackageArgs, PasswordArgs, PasswordPolicy, PasswordStyle, RebootArgs, TemplateArgs,
};
pub use load::{LoadedJobs, load};
pub use recurrence::{DateRange, Occurrence, Recurrence};

/// What sort of upkeep a job is; also the default order of jobs within one visit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// An OS security patch (vendor-notified).
    OsPatch,
    /// A software update (vendor-notified).
    SoftwareUpdate,
    /// A change of settings (city instruction).
    SettingsChange,
    /// The yearly admin password rotation.
    PasswordRotation,
    /// The yearly inspection of installation and settings, or the monthly check.
    Inspection,
    /// Collection of logs for failure recovery.
    LogCollection,
}

impl JobKind {
    /// Japanese name, for documents.
    pub fn name_ja(self) -> &'static str {
        match self {
            JobKind::OsPatch => "OSセキュリティパッチ適用",
            JobKind::SoftwareUpdate => "ソフトウェア更新",
            JobKind::SettingsChange => "設定変更",
            JobKind::PasswordRotation => "管理者パスワード変更",
            JobKind::Inspection => "点検",
            JobKind::LogCollection => "ログ収集",
        }
    }

    /// English name, for documents.
    pub fn name_en(self) -> &'static str {
        match self {
            JobKind::OsPatch => "OS security patch",
            JobKind::SoftwareUpdate => "software update",
            JobKind::SettingsChange => "settings change",
            JobKind::PasswordRotation => "admin password rotation",
            JobKind::Inspection => "inspection",
            JobKind::LogCollection => "log collection",
        }
    }
}

/// How soon a job must be done.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    Default,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Can wait for a convenient visit.
    Low,
    /// The usual case.
    #[default]
    Normal,
    /// Never held back for batching.
    Urgent,
}

impl Urgency {
    /// The word for people, in `lang`.
    pub fn label(self, lang: crate::language::Language) -> &'static str {
        match self {
            Urgency::Low => lang.pick("低", "low"),
            Urgency::Normal => lang.pick("通常", "normal"),
            Urgency::Urgent => lang.pick("緊急", "urgent"),
        }
    }
}

/// Where a job comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProvenanceSource {
    /// A vendor's notice (patch or update).
    VendorNotice,
    /// An instruction from the city.
    CityInstruction,
    /// A duty in the maintenance contract (yearly rotation, inspections).
    Contract,
    /// The contractor's own initiative (recovery work).
    Internal,
}

impl ProvenanceSource {
    /// The words for people, in `lang`.
    pub fn label(self, lang: crate::language::Language) -> &'static str {
        match self {
            ProvenanceSource::VendorNotice => lang.pick("ベンダー通知", "vendor notice"),
            ProvenanceSource::CityInstruction => lang.pick("市からの指示", "city instruction"),
            ProvenanceSource::Contract => lang.pick("契約", "contract"),
            ProvenanceSource::Internal => lang.pick("受託者判断", "internal"),
        }
    }
}

/// A job's provenance: the document that asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Kind of source.
    pub source: ProvenanceSource,
    /// Its reference number (`VN-2026-0917`).
    pub reference: String,
    /// When it was issued or notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A file shipped to terminals (a `.deb`), pinned by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Name used by `package:` and `patch:` tasks.
    pub name: String,
    /// Path as written in the job (relative to the playbook's directory).
    pub path: String,
    /// Where the file is on this machine.
    #[serde(skip)]
    pub resolved: PathBuf,
    /// Expected SHA-256 (hex) from the job's manifest; verified against the file at load.
    pub sha256: String,
    /// Package name it installs.
    pub package: String,
    /// Package version it installs.
    pub version: String,
    /// Whether the media must be virus-scanned before upload.
    pub scan: bool,
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Id used in `needs:` (the `id:` key, or the name when there is none).
    pub id: String,
    /// Human name.
    pub name: String,
    /// What it does.
    pub action: Action,
    /// Tasks it needs: `task-id` in the same job, `job-id/task-id` in another one.
    pub needs: Vec<String>,
    /// Whether `needs:` was written (otherwise the task follows the previous one).
    pub explicit_needs: bool,
    /// A template expression; the task is skipped on terminals where it is false.
    pub when: Option<String>,
    /// Handlers to run when this task changes something.
    pub notify: Vec<String>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Where the task is written.
    pub location: Location,
}

/// One playbook: a unit of upkeep work.
#[derive(Debug, Clone)]
pub struct Job {
    /// Unique id.
    pub id: String,
    /// Title for people.
    pub title: String,
    /// What sort of work.
    pub kind: JobKind,
    /// Who asked for it.
    pub provenance: Provenance,
    /// How soon.
    pub urgency: Urgency,
    /// Not before this day.
    pub earliest_start: Option<Date>,
    /// Done by this day.
    pub deadline: Option<Date>,
    /// Whether it may wait to be done with other jobs in one visit.
    pub batchable: bool,
    /// Estimated minutes of work per terminal.
    pub minutes_per_terminal: u32,
    /// Stop starting new terminals of this job when more than this share has failed.
    pub max_fail_percentage: Option<u8>,
    /// Which terminals.
    pub targets: Selector,
    /// Job variables (lowest precedence).
    pub vars: Vars,
    /// Files shipped by this job, by name.
    pub artifacts: Vec<Artifact>,
    /// Steps in order.
    pub tasks: Vec<Task>,
    /// Steps run at the end when notified.
    pub handlers: Vec<Task>,
    /// The playbook file.
    pub file: PathBuf,
    /// SHA-256 of the playbook file's bytes.
    pub file_sha256: String,
    /// Where the job's id is written.
    pub location: Location,
    /// Where the `targets:` key is written.
    pub targets_location: Location,
    /// When the job comes back (a recurring duty); none for one-off work.
    pub recurrence: Option<Recurrence>,
    /// The occurrence this job stands for in a plan (`2026-10`), when it is one.
    pub occurrence: Option<Occurrence>,
}

impl Job {
    /// A task or handler by id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().chain(&self.handlers).find(|t| t.id == id)
    }

    /// An artifact by name.
    pub fn artifact(&self, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }
}
