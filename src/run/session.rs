//! `seibi apply` as one library call: [`Session::run`] takes the project lock, opens the
//! journal (a new run, a resumed one, or seals a finished one that died before its last
//! signature), runs the [`Coordinator`] and ends the journal the way the run ended.
//!
//! Everything that can refuse the run (the plan, approvals, the operator, secrets, keys,
//! `known_hosts`) is decided by the caller before, so a refused run leaves no journal behind;
//! the lock is taken before any journal is touched, so two runs (or two resumes of one run) in
//! one project never write at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::ApplyOptions;
use super::connector::{Connector, SshConnector, SshSettings};
use super::coordinator::Coordinator;
use super::lease::LeaseRequest;
use super::lock::{Holder, LockError, ProjectLock};
use super::reason::StopReason;
use super::resume::Resume;
use super::summary::RunSummary;
use crate::action::ApplyEnv;
use crate::approval::Authorization;
use crate::journal::record::{LockTakeOver, OutsideWindow, Record, RunEnd, Selection, Tally};
use crate::journal::{JournalError, JournalWriter, Seq, Signer, read_run};
use crate::plan::Plan;
use crate::report::Reporter;

/// Whether the run is new or continues an interrupted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    /// A new run with this id.
    New(String),
    /// `--resume RUN`.
    Resume(String),
}

impl RunKind {
    /// The run id.
    pub fn id(&self) -> &str {
        match self {
            RunKind::New(id) | RunKind::Resume(id) => id,
        }
    }
}

/// Everything a session needs, decided by the caller.
pub struct SessionRequest {
    /// The project directory (its lock).
    pub project_root: PathBuf,
    /// Where journals are.
    pub logs: PathBuf,
    /// The plan, or the part of it this run applies (same digest as the approved plan).
    pub plan: Plan,
    /// The selectors of the part, recorded in `run_start` (`None`: the whole plan).
    pub selection: Option<Selection>,
    /// Why the plan may be applied.
    pub authorization: Authorization,
    /// New or resumed.
    pub kind: RunKind,
    /// `--outside-window --reason`: recorded in the journal before any unit.
    pub outside_window: Option<String>,
    /// How to run.
    pub options: ApplyOptions,
    /// The world outside the terminals (its `run_id` and `operator` are set here).
    pub env: ApplyEnv,
    /// SSH settings (the lease is set here, except for `--check`).
    pub ssh: SshSettings,
    /// How long to wait for another run's lease on a terminal.
    pub lease_wait: Duration,
    /// How long to wait for commands of an interrupted run on a terminal.
    pub commands_wait: Duration,
    /// Signs the journal (taken by [`Session::run`]).
    pub signer: Option<Signer>,
    /// The operator's roster name.
    pub operator: String,
}

/// How a session ended.
#[derive(Debug)]
pub enum SessionEnd {
    /// The run ran (to its end, or paused, or stopped).
    Ran {
        /// What happened.
        summary: RunSummary,
        /// The run id.
        run: String,
        /// The journal.
        journal: PathBuf,
        /// Whether the journal was left open for a resume (paused, or its writing failed).
        left_open: bool,
    },
    /// `--resume` of a run that had ended but died before its last signature: sealed.
    Sealed {
        /// The run id.
        run: String,
        /// The journal.
        journal: PathBuf,
        /// The sealing checkpoint's seq.
        seq: Seq,
    },
}

/// Why a session did not run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Another process holds the project.
    #[error(transparent)]
    Locked(#[from] Box<LockError>),
    /// The journal could not be created, resumed, sealed or finished.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The run to resume cannot be resumed.
    #[error("{0}")]
    Resume(String),
}

/// One `seibi apply`. See the module docs.
pub struct Session;

impl Session {
    /// Runs the request: lock, journal, coordinator, end.
    pub async fn run(
        mut request: SessionRequest,
        reporter: &mut dyn Reporter,
    ) -> Result<SessionEnd, SessionError> {
        let run_id = request.kind.id().to_string();
        let doing = match request.kind {
            RunKind::New(_) if request.options.check => "apply --check",
            RunKind::New(_) => "apply",
            RunKind::Resume(_) => "apply --resume",
        };
        let lock = ProjectLock::acquire(
            &request.project_root,
            &Holder::this_process(&run_id, &request.operator, doing),
        )
        .map_err(Box::new)?;
        let signer = request.signer.take().ok_or_else(|| {
            SessionError::Resume("no signer for the journal was given".to_string())
        })?;
        let opened = open_journal(&request, &run_id, signer)?;
        let (mut journal, resume) = match opened {
            Opened::Journal(journal, resume) => (*journal, resume),
            Opened::Sealed(path, seq) => {
                return Ok(SessionEnd::Sealed {
                    run: run_id,
                    journal: path,
                    seq,
                });
            }
        };
        if let Some(dead) = lock.took_over() {
            journal.append(Record::LockTakeOver(LockTakeOver {
                previous: dead.clone(),
            }))?;
            reporter.message(&format!(
                "took over the project lock of {dead}: that process had died (recorded in the journal)"
            ));
        }
        if !request.options.check
            && let Some(dir) = &request.env.secrets_dir
        {
            for rotation in super::rotations::unrecorded(&request.logs, dir) {
                reporter.message(&format!(
                    "{}: recorded the rotation of `{}` that run {} made but could not record",
                    rotation.terminal,
                    rotation.account,
                    rotation.began_in.as_deref().unwrap_or("?")
                ));
                journal.append(Record::Rotation(rotation))?;
            }
        }
        if let Some(reason) = &request.outside_window {
            journal.append(Record::OutsideWindow(OutsideWindow {
                reason: reason.clone(),
            }))?;
            reporter.message(&format!("working outside office hours: {reason}"));
        }
        let resume = resume.with_earlier_runs(&request.logs, &request.plan.digest);
        request.env.run_id = run_id.clone();
        request.env.operator = request.operator.clone();
        if !request.options.check {
            request.ssh.lease = Some(LeaseRequest {
                run: run_id.clone(),
                operator: request.operator.clone(),
                host: crate::journal::record::local_host_name(),
                since: crate::journal::format_time(jiff::Timestamp::now()),
                wait: request.lease_wait,
                commands_wait: request.commands_wait,
            });
        }
        let connector: Arc<dyn Connector> = Arc::new(SshConnector::new(request.ssh));
        let summary = Coordinator::new(
            Arc::new(request.plan),
            Arc::new(request.env),
            connector,
            &request.options,
            reporter,
            Some(&mut journal),
            &resume,
        )
        .run()
        .await;
        let path = journal.path().to_path_buf();
        let left_open = end_journal(journal, &summary)?;
        drop(lock);
        Ok(SessionEnd::Ran {
            summary,
            run: run_id,
            journal: path,
            left_open,
        })
    }
}

enum Opened {
    Journal(Box<JournalWriter>, Resume),
    Sealed(PathBuf, Seq),
}

/// Creates the journal of a new run, continues an interrupted one, or seals an ended one whose
/// last records no checkpoint covered.
fn open_journal(
    request: &SessionRequest,
    run_id: &str,
    signer: Signer,
) -> Result<Opened, SessionError> {
    match &request.kind {
        RunKind::New(_) => Ok(Opened::Journal(
            Box::new(request.authorization.start_journal(
                &request.logs,
                run_id,
                &request.plan.digest,
                request.selection.clone(),
                signer,
            )?),
            Resume::default(),
        )),
        RunKind::Resume(run) => {
            let path = journal_path(&request.logs, run);
            let interrupted = read_run(&path).map_err(|e| {
                SessionError::Resume(format!("cannot read the journal {}: {e}", path.display()))
            })?;
            if let Some((_, start)) = &interrupted.start
                && start.plan_digest != request.plan.digest
            {
                return Err(SessionError::Resume(format!(
                    "run {run} applied plan {}, but the current plan is {}: the inputs changed since; resume with the same plan (`--plan FILE`) or start a new run",
                    start.plan_digest, request.plan.digest
                )));
            }
            if interrupted.end.is_some() {
                return match JournalWriter::seal(&path, signer) {
                    Ok(seq) => Ok(Opened::Sealed(path, seq)),
                    Err(JournalError::NothingToSeal { .. }) => Err(SessionError::Resume(format!(
                        "run {run} finished and its journal is signed; there is nothing to resume"
                    ))),
                    Err(e) => Err(e.into()),
                };
            }
            let resume = Resume::from_interrupted(&interrupted);
            Ok(Opened::Journal(
                Box::new(JournalWriter::open_for_resume(&path, signer)?),
                resume,
            ))
        }
    }
}

/// The journal file of `run` in `logs`.
pub fn journal_path(logs: &Path, run: &str) -> PathBuf {
    logs.join(format!("{run}.{}", crate::journal::EXTENSION))
}

/// Ends the journal as the run ended: finished and signed, or left open (signed so far) for a
/// resume when office hours paused the run. A run whose journal could not be written cannot
/// end it either; it is resumable. Returns whether the journal was left open.
fn end_journal(mut journal: JournalWriter, summary: &RunSummary) -> Result<bool, SessionError> {
    if matches!(summary.stopped, Some(StopReason::Journal(_))) {
        return Ok(true);
    }
    if summary.paused.is_some() {
        journal.checkpoint()?;
        return Ok(true);
    }
    let mut tally = Tally::default();
    for t in &summary.terminals {
        for u in &t.units {
            tally.add(u.outcome.status);
        }
    }
    journal.finish(RunEnd {
        tally,
        stopped: summary.stopped.as_ref().map(ToString::to_string),
    })?;
    Ok(false)
}
