//! The plan document: what the city approves and `apply` carries out, as data.
//!
//! [`Plan`] and its parts are plain serde types; their JSON form is the documented schema
//! (`docs/plan.schema.json`, `schema: "seibi.plan/v1"`). [`Plan::from_json`] reads a plan back
//! and re-checks its digest.

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

#[cfg(doc)]
use super::canonical_sha256;
use super::schedule::{PlanSchedule, ScheduleRequest};
use super::terminals::{PlannedTerminalRef, TaskList, Terminals};
use crate::inventory::{Become, Platform, Selector};
use crate::playbook::{JobKind, Provenance, Urgency};
use std::collections::HashMap;

/// Bytes written into a SHA-256.
struct HashWriter(Sha256);

impl HashWriter {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// `value` in canonical form (as [`canonical_sha256`] writes it: objects sorted by key,
    /// written compactly, whole numbers without a fraction).
    fn write_canonical(&mut self, value: &serde_json::Value) {
        self.0.update(canonical(value).as_bytes());
    }

    /// A site in canonical form, each distinct task's canonical text made once (`tasks`, by
    /// the task's address: terminals that share a task write the same text). `false` when
    /// the canonical text of the site or of one of its terminals has no empty list to put
    /// its parts in (then nothing was written).
    fn write_site(
        &mut self,
        site: &PlannedSite,
        tasks: &mut HashMap<*const PlannedTask, String>,
    ) -> bool {
        let shell = site.without_terminals();
        let site_text = canonical(&serde_json::to_value(&shell).unwrap_or_default());
        let mut heads = Vec::with_capacity(site.terminals.len());
        for terminal in site.terminals.views() {
            let head = PlannedTerminalRef {
                tasks: TaskList::Owned(&[]),
                ..terminal
            };
            let text = canonical(&serde_json::to_value(head).unwrap_or_default());
            let Some(at) = key_position(&text, EMPTY_TASKS) else {
                return false;
            };
            heads.push((text, at, terminal.tasks));
        }
        let Some(at) = key_position(&site_text, EMPTY_TERMINALS) else {
            return false;
        };
        let (before, after) = site_text.split_at(at);
        self.write_bytes(before.as_bytes());
        self.write_bytes(b"\"terminals\":[");
        for (i, (text, at, list)) in heads.iter().enumerate() {
            if i > 0 {
                self.write_bytes(b",");
            }
            let (head_before, head_after) = text.split_at(*at);
            self.write_bytes(head_before.as_bytes());
            self.write_bytes(b"\"tasks\":[");
            for (j, task) in list.iter().enumerate() {
                if j > 0 {
                    self.write_bytes(b",");
                }
                let text = tasks
                    .entry(std::ptr::from_ref(task))
                    .or_insert_with(|| canonical(&serde_json::to_value(task).unwrap_or_default()));
                self.0.update(text.as_bytes());
            }
            self.write_bytes(b"]");
            self.write_bytes(&head_after.as_bytes()[EMPTY_TASKS.len()..]);
        }
        self.write_bytes(b"]");
        self.write_bytes(&after.as_bytes()[EMPTY_TERMINALS.len()..]);
        true
    }
}

/// Where a terminal's tasks go in its canonical text written without them.
const EMPTY_TASKS: &str = "\"tasks\":[]";
/// Where a site's terminals go in its canonical text written without them.
const EMPTY_TERMINALS: &str = "\"terminals\":[]";

/// Where `key` (`"name":[]`) is a key of the object `text` is, not text inside a string: in
/// canonical JSON a quote inside a string follows a backslash, and a key follows the `{` or
/// `,` of its object (the objects these are looked for in hold no other object).
fn key_position(text: &str, key: &str) -> Option<usize> {
    text.match_indices(key)
        .map(|(at, _)| at)
        .find(|&at| at > 0 && matches!(text.as_bytes()[at - 1], b'{' | b','))
}

/// `value` in canonical form.
fn canonical(value: &serde_json::Value) -> String {
    let mut out = String::new();
    super::digest::write_canonical(value, &mut out);
    out
}

/// The schema identifier written in every plan.
pub const SCHEMA: &str = "seibi.plan/v1";

/// Which jobs and terminals to plan for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Job ids; empty means every job.
    pub jobs: Vec<String>,
    /// Narrows every job's targets.
    pub limit: Selector,
    /// Batch the jobs into visits and place them into office hours (absent: no schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRequest>,
    /// The days the plan is for: recurring jobs stand in it as their occurrences due then
    /// (absent: recurring jobs as they are written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<crate::playbook::DateRange>,
}

/// The plan document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `sha256:<hex>` over the canonical JSON of everything else in the plan.
    pub digest: String,
    /// The seibi version that made the plan.
    pub seibi_version: String,
    /// What was asked for.
    pub request: PlanRequest,
    /// Pinned inputs.
    pub inputs: Inputs,
    /// The selected jobs, in the order they run.
    pub jobs: Vec<PlannedJob>,
    /// Per site, the terminals and their tasks.
    pub sites: Vec<PlannedSite>,
    /// Counts.
    pub totals: Totals,
    /// Things worth knowing that do not stop the plan.
    pub warnings: Vec<String>,
    /// Visits, estimates and the timetable, when the request asked for a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<PlanSchedule>,
}

/// Inputs the plan depends on, pinned by digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// SHA-256 of the canonical form of the sites and terminals (with their effective
    /// variables and groups) that the plan touches.
    pub inventory_sha256: String,
    /// Playbook files.
    pub playbooks: Vec<InputFile>,
    /// Template files.
    pub templates: Vec<InputFile>,
    /// Artifacts (verified media).
    pub artifacts: Vec<ArtifactPin>,
    /// Secrets referenced, by name and version (never values).
    pub secrets: Vec<SecretPin>,
    /// The host keys pinned in the project's `known_hosts` for each planned terminal, as
    /// fingerprints: a changed pin makes the plan stale.
    pub host_keys: Vec<HostKeyPin>,
}

/// A terminal's pinned host keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostKeyPin {
    /// Terminal id.
    pub terminal: String,
    /// `SHA256:...` fingerprints pinned for its address and port (terminals without a pin are
    /// not listed).
    pub fingerprints: Vec<String>,
}

/// A file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Path relative to the project.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// A secret the plan uses: its name and the version the store had when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretPin {
    /// Secret name.
    pub name: String,
    /// Version in the store's index; `None` when the project has no secrets store.
    pub version: Option<u64>,
}

/// An artifact the plan ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPin {
    /// Job that ships it.
    pub job: String,
    /// Artifact name.
    pub name: String,
    /// Path relative to the project.
    pub path: String,
    /// Verified SHA-256.
    pub sha256: String,
    /// Package it installs.
    pub package: String,
    /// Version it installs.
    pub version: String,
    /// Whether it is virus-scanned before upload.
    pub scan: bool,
}

/// A job as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedJob {
    /// Job id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind of work.
    pub kind: JobKind,
    /// Who asked for it.
    pub provenance: Provenance,
    /// How soon.
    pub urgency: Urgency,
    /// Not before.
    #[schemars(with = "Option<String>")]
    pub earliest_start: Option<Date>,
    /// Done by.
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Date>,
    /// May be batched with other jobs.
    pub batchable: bool,
    /// Estimated minutes per terminal.
    pub minutes_per_terminal: u32,
    /// Failure share that stops new terminals.
    pub max_fail_percentage: Option<u8>,
    /// Terminals it runs on in this plan.
    pub terminals: usize,
    /// Sites it runs at.
    pub sites: Vec<String>,
}

/// A site as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedSite {
    /// Site id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Terminals worked on at once.
    pub capacity: u32,
    /// Jump host, `user@host:port`.
    pub jump: Option<String>,
    /// Terminals with work.
    // In memory, terminals whose tasks render the same share them (see `Terminals`).
    #[schemars(with = "Vec<PlannedTerminal>")]
    pub terminals: Terminals,
    /// Sum of the terminals' estimates.
    pub estimated_minutes: u64,
}

impl PlannedSite {
    /// A copy of the site without its terminals.
    pub(super) fn without_terminals(&self) -> PlannedSite {
        // Every field named: a new one is not forgotten here.
        let PlannedSite {
            id,
            name,
            name_en,
            capacity,
            jump,
            terminals: _,
            estimated_minutes,
        } = self;
        PlannedSite {
            id: id.clone(),
            name: name.clone(),
            name_en: name_en.clone(),
            capacity: *capacity,
            jump: jump.clone(),
            terminals: Terminals::default(),
            estimated_minutes: *estimated_minutes,
        }
    }
}

/// A terminal as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTerminal {
    /// Terminal id.
    pub id: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// How commands gain root after logging in (absent: they run as `user`). Left out when
    /// none, so that plans made before `become` existed keep their digests.
    #[serde(rename = "become", default, skip_serializing_if = "Become::is_none")]
    pub become_method: Become,
    /// Platform.
    pub platform: Platform,
    /// The SSH private key this terminal logs in with (Ansible's
    /// `ansible_ssh_private_key_file`), tried before the keys given to `apply`; relative to the
    /// project directory, `~/` for the home directory. Left out when none, so that plans
    /// without one keep their digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Jobs that run here.
    pub jobs: Vec<String>,
    /// Tasks in the order they run.
    pub tasks: Vec<PlannedTask>,
    /// Sum of the jobs' per-terminal estimates.
    pub estimated_minutes: u64,
}

impl PlannedTerminal {
    /// What plans show after the login user: ` (sudo)` when commands run through sudo, else
    /// nothing.
    pub fn become_note(&self) -> String {
        if self.become_method.is_none() {
            String::new()
        } else {
            format!(" ({})", self.become_method)
        }
    }
}

/// One task on one terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTask {
    /// `job/task`.
    pub key: String,
    /// Job id.
    pub job: String,
    /// Task id.
    pub task: String,
    /// Task name.
    pub name: String,
    /// Action name.
    pub action: String,
    /// Arguments rendered for this terminal (secrets as placeholders).
    pub args: serde_json::Value,
    /// Tasks (`job/task`) this one needs on this terminal.
    pub needs: Vec<String>,
    /// Handlers it notifies.
    pub notify: Vec<String>,
    /// Whether this is a handler (runs only when notified).
    pub handler: bool,
    /// Why it will not run here, if it will not.
    pub skip: Option<String>,
}

impl PlannedTask {
    /// A string argument as rendered for the terminal, or `""` when the task has none by that
    /// name.
    pub fn arg(&self, key: &str) -> &str {
        self.args.get(key).and_then(|v| v.as_str()).unwrap_or("")
    }
}

/// Counts over the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Sites with work.
    pub sites: usize,
    /// Terminals with work.
    pub terminals: usize,
    /// Jobs selected.
    pub jobs: usize,
    /// Task instances (handlers included).
    pub tasks: usize,
    /// Task instances that will not run (`when:` false).
    pub skipped: usize,
    /// Terminal-minutes of work, before scheduling.
    pub estimated_minutes: u64,
}

impl Plan {
    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        // Plan holds only strings, numbers, maps and lists: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a plan written by [`Plan::to_json`], checking its schema and digest.
    pub fn from_json(text: &str) -> Result<Plan, String> {
        let plan: Plan =
            serde_json::from_str(text).map_err(|e| format!("not a seibi plan: {e}"))?;
        if plan.schema != SCHEMA {
            return Err(format!(
                "plan schema `{}` is not supported (expected `{SCHEMA}`)",
                plan.schema
            ));
        }
        let expected = plan.compute_digest();
        if plan.digest != expected {
            return Err(format!(
                "plan digest mismatch: the file says {}, its content hashes to {expected}; the plan was edited after it was made",
                plan.digest
            ));
        }
        Ok(plan)
    }

    /// The digest of everything but the digest field.
    ///
    /// The same as [`canonical_sha256`] of a copy with an empty digest, without the copy: the
    /// canonical form (objects sorted by key, no insignificant white space, which is compact
    /// JSON of key-sorted objects) is written straight into the hash, one site at a time, so a
    /// plan of 100,000 terminals is never held twice.
    pub fn compute_digest(&self) -> String {
        let shell = Plan {
            digest: String::new(),
            ..self.without_sites()
        };
        let mut hasher = HashWriter(Sha256::new());
        let serde_json::Value::Object(mut fields) =
            serde_json::to_value(&shell).unwrap_or_default()
        else {
            return String::new();
        };
        fields.sort_keys();
        hasher.write_bytes(b"{");
        for (i, (key, value)) in fields.into_iter().enumerate() {
            if i > 0 {
                hasher.write_bytes(b",");
            }
            let is_sites = key == "sites";
            hasher.write_canonical(&serde_json::Value::String(key));
            hasher.write_bytes(b":");
            if is_sites {
                hasher.write_bytes(b"[");
                let mut tasks = HashMap::new();
                for (j, site) in self.sites.iter().enumerate() {
                    if j > 0 {
                        hasher.write_bytes(b",");
                    }
                    // Should a site or terminal not have its list where it is looked for,
                    // the site is written whole.
                    if !hasher.write_site(site, &mut tasks) {
                        hasher.write_canonical(&serde_json::to_value(site).unwrap_or_default());
                    }
                }
                hasher.write_bytes(b"]");
            } else {
                hasher.write_canonical(&value);
            }
        }
        hasher.write_bytes(b"}");
        format!("sha256:{}", hex::encode(hasher.0.finalize()))
    }

    /// A copy of everything but the sites (the struct literal names every field: a new one is
    /// not forgotten here).
    pub(super) fn without_sites(&self) -> Plan {
        Plan {
            schema: self.schema.clone(),
            digest: self.digest.clone(),
            seibi_version: self.seibi_version.clone(),
            request: self.request.clone(),
            inputs: self.inputs.clone(),
            jobs: self.jobs.clone(),
            sites: Vec::new(),
            totals: self.totals.clone(),
            warnings: self.warnings.clone(),
            schedule: self.schedule.clone(),
        }
    }

    /// Writes the plan as pretty JSON (what [`Plan::to_json`] returns) to `out`, without
    /// holding the text in memory.
    pub fn write_json(&self, out: impl std::io::Write) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::BufWriter::new(out);
        super::pretty::write_pretty(self, &mut out)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    /// The JSON Schema of the plan document.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{build, canonical_sha256};
    use crate::project::{Project, ProjectPaths};

    /// The streamed digest is the canonical SHA-256 of the whole plan with an empty digest, as
    /// it was when the digest was computed over a copy; also for a scheduled plan of a period
    /// (recurring jobs' occurrences, and float bandwidths that the canonical form writes as
    /// whole numbers).
    #[test]
    fn streamed_digest_is_the_canonical_digest_of_a_copy() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (project, diags) = Project::load(ProjectPaths::new(root));
        let project = project.unwrap_or_else(|| panic!("the example loads: {diags:?}"));
        let start = jiff::civil::date(2026, 10, 1);
        let scheduled = PlanRequest {
            schedule: Some(ScheduleRequest {
                start,
                deadline_business_days: super::super::DEFAULT_DEADLINE_BUSINESS_DAYS,
                canary: None,
                global_limit: None,
                history: Vec::new(),
                crews: None,
            }),
            period: super::super::period_for(&project, None, Some(start)),
            ..PlanRequest::default()
        };
        assert!(
            scheduled.period.is_some(),
            "the example has a recurring job"
        );
        for request in [PlanRequest::default(), scheduled] {
            let mut plan = build(&project, &request).expect("the example plans");
            assert!(plan.sites.len() > 1 && !plan.inputs.templates.is_empty());
            let mut copy = plan.clone();
            copy.digest = String::new();
            let expected = format!("sha256:{}", canonical_sha256(&copy));
            assert_eq!(plan.digest, expected);
            // A change in one site's task changes it.
            plan.sites[1].terminals[0].tasks[0].name.push('!');
            assert_ne!(plan.compute_digest(), expected);
        }
    }
}
