//! Plan approval: approvers on the roster sign a plan's digest; `apply` runs only approved plans.
//!
//! This module owns the approvals file that sits next to a saved plan (`PLAN.json.approvals`),
//! the message an approver signs, the checks `seibi apply --plan` makes before anything runs
//! ([`check`]), and the decision whether a run may go ahead at all ([`authorize_apply`]):
//! approved, deliberately unapproved (`--unapproved --reason`, recorded in the journal's
//! `run_start`), or a dry run that needs no approval.
//!
//! # The approvals file
//! One JSON object per line (JSON lines, so that approvers can add their line independently and
//! a second approval never rewrites the first), each an [`ApprovalEntry`]:
//! `plan_digest`, `approver` (roster id), `name`, `key` (fingerprint), `time` (RFC 3339 UTC),
//! `signature` (armored SSHSIG). The signature is made by the approver's SSH key in the
//! namespace [`PLAN_NAMESPACE`] (`seibi-plan@seibi`) over [`approval_message`]:
//! ```text
//! seibi-plan v1 <plan_digest> approver=<approver> time=<time>\n
//! ```
//! so it can be checked with `ssh-keygen -Y verify -n seibi-plan@seibi` and an allowed_signers
//! file exported from the roster (`docs/approval.md`).
//!
//! # What makes a plan approved
//! Every line must be good: for this plan's digest, a signature that verifies over the rebuilt
//! message, by a key on the roster whose entry has the approver role and is valid on the
//! approval's day (Japan time), naming the person the key belongs to, and not dated in the
//! future. One bad line refuses the plan (an approvals file someone tampered with is not
//! trusted in part). Then at least [`Roster::approvals_required`] *different* people must have
//! approved (`approval: { required: N }` in `roster.yml`, default 1).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::journal::{
    Agent, AgentError, Approval, JournalError, JournalWriter, Record, RunStart, Signer,
    SignerError, format_time,
};
use crate::plan::Plan;
use crate::roster::{
    KeyError, Person, PublicKey, Roster, RosterError, RosterLoadError, Signature, SigningKey,
    japan_time_zone,
};

/// The SSHSIG namespace of plan approvals.
pub const PLAN_NAMESPACE: &str = "seibi-plan@seibi";

/// What is appended to a plan's file name to name its approvals file.
pub const APPROVALS_SUFFIX: &str = ".approvals";

/// How far in the future an approval may be dated (clocks differ a little between machines).
const CLOCK_SLACK: SignedDuration = SignedDuration::from_secs(300);

/// The approvals file of the plan at `plan_path`: `PLAN.json` -> `PLAN.json.approvals`.
pub fn approvals_path(plan_path: &Path) -> PathBuf {
    let mut name = plan_path.as_os_str().to_os_string();
    name.push(APPROVALS_SUFFIX);
    PathBuf::from(name)
}

/// The exact message an approver signs, final newline included.
pub fn approval_message(plan_digest: &str, approver: &str, time: &str) -> String {
    format!("seibi-plan v1 {plan_digest} approver={approver} time={time}\n")
}

/// One line of an approvals file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalEntry {
    /// Digest of the approved plan (`sha256:...`).
    pub plan_digest: String,
    /// Roster id of the approver (the principal in allowed_signers).
    pub approver: String,
    /// The approver's name, for people (not signed; the roster is the authority).
    pub name: String,
    /// Fingerprint of the signing key (`SHA256:...`), for people.
    pub key: String,
    /// When the approval was signed: RFC 3339, UTC, milliseconds.
    pub time: String,
    /// Armored SSHSIG signature over [`approval_message`].
    pub signature: String,
}

/// An approval that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalInfo {
    /// Roster id.
    pub approver: String,
    /// Name from the roster.
    pub name: String,
    /// Organisation from the roster.
    pub organisation: String,
    /// Fingerprint of the key that signed.
    pub key: String,
    /// When it was signed.
    pub time: Timestamp,
    /// The armored signature.
    pub signature: String,
}

impl ApprovalInfo {
    /// The signing time in Japan time, `2026-10-01 10:00`.
    pub fn time_jst(&self) -> String {
        self.time
            .to_zoned(japan_time_zone().clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// The journal record of this approval.
    pub fn journal_record(&self, plan_digest: &str) -> Record {
        Record::Approval(Approval {
            plan_digest: plan_digest.to_string(),
            approver: self.approver.clone(),
            reason: None,
            approved_at: Some(format_time(self.time)),
            key: Some(self.key.clone()),
            signature: Some(self.signature.clone()),
        })
    }
}

/// One line of an approvals file and what the checks made of it.
#[derive(Debug, Clone)]
pub struct ReviewedApproval {
    /// Line number in the approvals file, from 1.
    pub line: usize,
    /// The entry, when the line could be read.
    pub entry: Option<ApprovalEntry>,
    /// The checked approval, or why it is not accepted.
    pub outcome: Result<ApprovalInfo, String>,
}

/// Why a plan is not (or cannot be) approved, or may not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The approvals file cannot be read.
    #[error("cannot read the approvals {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The approvals file cannot be written.
    #[error("cannot add the approval to {}: {source}; check that the directory is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Nobody approved the plan.
    #[error(
        "the plan {} is not approved: {} has no approvals ({required} required)\nhint: an approver on the roster signs it with `seibi approve {}`; emergency work without approval is `seibi apply --unapproved --reason \"...\"`, which the journal records",
        plan.display(),
        approvals.display(),
        plan.display()
    )]
    NotApproved {
        /// The plan file.
        plan: PathBuf,
        /// Its approvals file.
        approvals: PathBuf,
        /// Approvals the roster requires.
        required: usize,
    },
    /// Some approval line fails a check.
    #[error(
        "the approvals in {} cannot be accepted:\n{}\nhint: remove the bad lines (or the whole file) and have the plan approved again with `seibi approve`",
        approvals.display(),
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Invalid {
        /// The approvals file.
        approvals: PathBuf,
        /// One message per bad line.
        problems: Vec<String>,
    },
    /// Fewer different approvers than required.
    #[error(
        "the plan {} needs approvals by {required} different approvers (`approval: required:` in the roster) but has {} ({})\nhint: another approver on the roster signs it with `seibi approve {}`",
        plan.display(),
        approvers.len(),
        approvers.join(", "),
        plan.display()
    )]
    TooFew {
        /// The plan file.
        plan: PathBuf,
        /// Approvals the roster requires.
        required: usize,
        /// Who approved (names and ids).
        approvers: Vec<String>,
    },
    /// `apply` without a saved plan.
    #[error(
        "nothing was approved: `seibi apply` without `--plan` would run a plan made just now\nhint: save the plan (`seibi plan --format json -o plan.json`), have it approved (`seibi approve plan.json`), then `seibi apply --plan plan.json`; emergency work without approval is `--unapproved --reason \"...\"`"
    )]
    NoSavedPlan,
    /// `--unapproved` with an empty reason.
    #[error(
        "`--unapproved` needs a `--reason` saying why the work cannot wait for approval; it is written into the journal and every report"
    )]
    EmptyReason,
    /// The same person approved already.
    #[error("{name} ({approver}) already approved this plan on {time} (JST); nothing was added")]
    AlreadyApproved {
        /// Roster id.
        approver: String,
        /// Name.
        name: String,
        /// When, JST.
        time: String,
    },
    /// The approvals file holds approvals of another plan.
    #[error(
        "{} holds approvals of another plan ({other}), not of this one ({digest}): the plan file was replaced after it was approved\nhint: if the new plan is the one to approve, remove {} first",
        approvals.display(),
        approvals.display()
    )]
    OtherPlan {
        /// The approvals file.
        approvals: PathBuf,
        /// The digest found there.
        other: String,
        /// This plan's digest.
        digest: String,
    },
    /// The roster cannot be loaded.
    #[error("{0}")]
    RosterLoad(#[from] RosterLoadError),
    /// The key is not an approver's today.
    #[error("{0}\nnothing was signed: only approvers on the roster may approve plans")]
    Roster(#[from] RosterError),
    /// The key file cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignerError),
    /// ssh-agent cannot be used.
    #[error("{0}: pass --key FILE (the approver's key on the roster) or start ssh-agent")]
    Agent(#[from] AgentError),
    /// No agent key belongs to an approver.
    #[error(
        "no key in ssh-agent belongs to an approver on the roster {} who may approve today{}",
        roster.display(),
        if refusals.is_empty() { String::new() } else { format!(":\n  {}", refusals.join("\n  ")) }
    )]
    NoApproverKey {
        /// The roster file.
        roster: PathBuf,
        /// Why each agent key was refused.
        refusals: Vec<String>,
    },
}

/// Reads and checks every line of the approvals file of `plan_path` against `plan` and
/// `roster`, as of `now` (for the future-date check). A missing file is no approvals.
pub fn review(
    plan_path: &Path,
    plan: &Plan,
    roster: &Roster,
    now: Timestamp,
) -> Result<Vec<ReviewedApproval>, ApprovalError> {
    let path = approvals_path(plan_path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ApprovalError::Read { path, source }),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let reviewed = match serde_json::from_str::<ApprovalEntry>(line) {
            Ok(entry) => ReviewedApproval {
                line: i + 1,
                outcome: check_entry(&entry, plan, roster, now),
                entry: Some(entry),
            },
            Err(e) => ReviewedApproval {
                line: i + 1,
                entry: None,
                outcome: Err(format!("not an approval line: {e}")),
            },
        };
        out.push(reviewed);
    }
    Ok(out)
}

fn check_entry(
    entry: &ApprovalEntry,
    plan: &Plan,
    roster: &Roster,
    now: Timestamp,
) -> Result<ApprovalInfo, String> {
    if entry.plan_digest != plan.digest {
        return Err(format!(
            "the approval by {} is for plan {}, not for this plan {}",
            entry.approver, entry.plan_digest, plan.digest
        ));
    }
    let time: Timestamp = entry
        .time
        .parse()
        .map_err(|e| format!("time `{}` is not an RFC 3339 instant: {e}", entry.time))?;
    let signature = Signature::from_armored(&entry.signature)
        .map_err(|e| format!("the signature of {} is unreadable: {e}", entry.approver))?;
    let message = approval_message(&entry.plan_digest, &entry.approver, &entry.time);
    signature
        .verify(PLAN_NAMESPACE, message.as_bytes())
        .map_err(|e| {
            format!(
                "the signature of {} does not verify over `{}`: {e} (the line was edited, or signed for something else)",
                entry.approver,
                message.trim_end()
            )
        })?;
    let person = roster
        .authorize_approver(signature.public_key(), time)
        .map_err(|e| format!("approval dated {}: {e}", entry.time))?;
    if person.id != entry.approver {
        return Err(format!(
            "the line names approver {} but the key {} belongs to {} ({})",
            entry.approver,
            signature.public_key().fingerprint(),
            person.id,
            person.name
        ));
    }
    if time > now.saturating_add(CLOCK_SLACK).unwrap_or(now) {
        return Err(format!(
            "the approval by {} is dated {}, in the future",
            entry.approver, entry.time
        ));
    }
    Ok(ApprovalInfo {
        approver: person.id.clone(),
        name: person.name.clone(),
        organisation: person.organisation.clone(),
        key: signature.public_key().fingerprint(),
        time,
        signature: entry.signature.clone(),
    })
}

/// Whether the plan read from `plan_path` may be applied: every approval line passes (see the
/// module docs) and at least `required` different approvers approved. Returns the approvals,
/// one per approver (the earliest).
pub fn check(
    plan_path: &Path,
    plan: &Plan,
    roster: &Roster,
    required: usize,
) -> Result<Vec<ApprovalInfo>, ApprovalError> {
    check_at(plan_path, plan, roster, required, Timestamp::now())
}

/// [`check`] as of `now`.
pub fn check_at(
    plan_path: &Path,
    plan: &Plan,
    roster: &Roster,
    required: usize,
    now: Timestamp,
) -> Result<Vec<ApprovalInfo>, ApprovalError> {
    let reviewed = review(plan_path, plan, roster, now)?;
    if reviewed.is_empty() {
        return Err(ApprovalError::NotApproved {
            plan: plan_path.to_path_buf(),
            approvals: approvals_path(plan_path),
            required: required.max(1),
        });
    }
    let problems: Vec<String> = reviewed
        .iter()
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .err()
                .map(|e| format!("line {}: {e}", r.line))
        })
        .collect();
    if !problems.is_empty() {
        return Err(ApprovalError::Invalid {
            approvals: approvals_path(plan_path),
            problems,
        });
    }
    let mut approvals: Vec<ApprovalInfo> = Vec::new();
    for info in reviewed.into_iter().filter_map(|r| r.outcome.ok()) {
        if !approvals.iter().any(|a| a.approver == info.approver) {
            approvals.push(info);
        }
    }
    if approvals.len() < required.max(1) {
        return Err(ApprovalError::TooFew {
            plan: plan_path.to_path_buf(),
            required: required.max(1),
            approvers: approvals
                .iter()
                .map(|a| format!("{} ({})", a.name, a.approver))
                .collect(),
        });
    }
    Ok(approvals)
}

/// The approver's signer: the key in `key_file`, or the first ssh-agent key that belongs to an
/// approver valid at `now`.
pub fn approver_signer(
    roster: &Roster,
    key_file: Option<&Path>,
    now: Timestamp,
) -> Result<(Signer, Person), ApprovalError> {
    if let Some(path) = key_file {
        let key = SigningKey::read_file(path, None)?;
        let person = roster.authorize_approver(key.public_key(), now)?.clone();
        return Ok((Signer::from_key(person.id.clone(), key), person));
    }
    let agent = Agent::from_env()?;
    let mut refusals = Vec::new();
    for identity in agent.identities()? {
        let Ok(key) = PublicKey::from_wire(&identity.blob) else {
            continue;
        };
        match roster.authorize_approver(&key, now) {
            Ok(person) => {
                let person = person.clone();
                let signer = Signer::from_agent(person.id.clone(), agent, key)?;
                return Ok((signer, person));
            }
            Err(e) => refusals.push(e.to_string()),
        }
    }
    Err(ApprovalError::NoApproverKey {
        roster: roster.path().to_path_buf(),
        refusals,
    })
}

/// Signs the plan read from `plan_path` as `person` (whose key `signer` holds) at `now`, and
/// appends the approval to the plan's approvals file (written and synced before returning).
/// Refuses a second approval by the same person and a file holding another plan's approvals.
pub fn approve(
    plan_path: &Path,
    plan: &Plan,
    roster: &Roster,
    signer: &Signer,
    person: &Person,
    now: Timestamp,
) -> Result<ApprovalInfo, ApprovalError> {
    let path = approvals_path(plan_path);
    for r in review(plan_path, plan, roster, now)? {
        let Some(entry) = &r.entry else { continue };
        if entry.plan_digest != plan.digest {
            return Err(ApprovalError::OtherPlan {
                approvals: path,
                other: entry.plan_digest.clone(),
                digest: plan.digest.clone(),
            });
        }
        if let Ok(info) = &r.outcome
            && info.approver == person.id
        {
            return Err(ApprovalError::AlreadyApproved {
                approver: info.approver.clone(),
                name: info.name.clone(),
                time: info.time_jst(),
            });
        }
    }
    let time = format_time(now);
    let message = approval_message(&plan.digest, &person.id, &time);
    let signature = signer.sign_for(PLAN_NAMESPACE, message.as_bytes())?;
    signature.verify(PLAN_NAMESPACE, message.as_bytes())?;
    let entry = ApprovalEntry {
        plan_digest: plan.digest.clone(),
        approver: person.id.clone(),
        name: person.name.clone(),
        key: signature.public_key().fingerprint(),
        time: time.clone(),
        signature: signature.to_armored(),
    };
    // An entry holds only strings: serialization cannot fail.
    let mut line = serde_json::to_string(&entry).unwrap_or_default();
    line.push('\n');
    let write = |line: &str| -> std::io::Result<()> {
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(line.as_bytes())?;
        file.sync_all()
    };
    write(&line).map_err(|source| ApprovalError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(ApprovalInfo {
        approver: person.id.clone(),
        name: person.name.clone(),
        organisation: person.organisation.clone(),
        key: entry.key,
        time: now,
        signature: entry.signature,
    })
}

/// Why a run may go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// A saved plan with enough valid approvals.
    Approved {
        /// The plan's digest.
        plan_digest: String,
        /// The approvals, one per approver.
        approvals: Vec<ApprovalInfo>,
    },
    /// Emergency work without prior approval; the reason goes into the journal.
    Unapproved {
        /// Why it could not wait.
        reason: String,
    },
    /// A dry run (`--check`): nothing changes, so no approval is needed.
    CheckOnly {
        /// Why the plan could not be applied as it is, if it could not.
        note: Option<String>,
    },
}

/// Decides whether `apply` may run `plan`: with `unapproved_reason`, as unapproved emergency
/// work (the reason must not be empty); in `check` mode, always (noting whether the plan would
/// be accepted); otherwise only a saved plan (`saved_plan`) whose approvals pass [`check`]
/// against the roster at `roster_path`.
pub fn authorize_apply(
    plan: &Plan,
    saved_plan: Option<&Path>,
    roster_path: &Path,
    check_mode: bool,
    unapproved_reason: Option<&str>,
) -> Result<Authorization, ApprovalError> {
    if let Some(reason) = unapproved_reason {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ApprovalError::EmptyReason);
        }
        return Ok(Authorization::Unapproved {
            reason: reason.to_string(),
        });
    }
    let checked = saved_plan
        .ok_or(ApprovalError::NoSavedPlan)
        .and_then(|path| {
            let roster = Roster::load(roster_path)?;
            check(path, plan, &roster, roster.approvals_required())
        });
    match (checked, check_mode) {
        (Ok(approvals), _) => Ok(Authorization::Approved {
            plan_digest: plan.digest.clone(),
            approvals,
        }),
        // A dry run of a plan made on the spot: nothing to say about approval.
        (Err(ApprovalError::NoSavedPlan), true) => Ok(Authorization::CheckOnly { note: None }),
        (Err(e), true) => Ok(Authorization::CheckOnly {
            note: Some(e.to_string()),
        }),
        (Err(e), false) => Err(e),
    }
}

impl Authorization {
    /// One or two lines for the operator at the start of a run.
    pub fn describe(&self) -> String {
        match self {
            Authorization::Approved {
                plan_digest,
                approvals,
            } => format!(
                "plan {plan_digest} approved by {}",
                approvals
                    .iter()
                    .map(|a| format!("{} ({}) on {} JST", a.name, a.approver, a.time_jst()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Authorization::Unapproved { reason } => format!(
                "warning: UNAPPROVED run: applying without prior approval ({reason}); the journal and every report say so"
            ),
            Authorization::CheckOnly { note: None } => {
                "check mode: nothing is changed, no approval needed".to_string()
            }
            Authorization::CheckOnly { note: Some(note) } => format!(
                "check mode: nothing is changed, no approval needed; note that this plan could not be applied as it is:\n{note}"
            ),
        }
    }

    /// The `run_start` record of a new run: unapproved runs carry their reason.
    pub fn run_start(&self, run: impl Into<String>, plan_digest: &str) -> RunStart {
        let mut start = RunStart::new(run, plan_digest);
        if let Authorization::Unapproved { reason } = self {
            start.unapproved_reason = Some(reason.clone());
        }
        start
    }

    /// Creates the journal of a new run in `logs`: `run_start` (see [`Self::run_start`]), then
    /// one `approval` record per approval checked, so the journal alone shows who approved.
    pub fn start_journal(
        &self,
        logs: &Path,
        run: impl Into<String>,
        plan_digest: &str,
        selection: Option<crate::journal::record::Selection>,
        signer: Signer,
    ) -> Result<JournalWriter, JournalError> {
        let mut start = self.run_start(run, plan_digest);
        start.selection = selection;
        let mut journal = JournalWriter::create(logs, start, signer)?;
        if let Authorization::Approved { approvals, .. } = self {
            for a in approvals {
                journal.append(a.journal_record(plan_digest))?;
            }
        }
        Ok(journal)
    }
}
