//! A worker: one per terminal, holding its connection (and lease) for the visit. It runs the
//! units the coordinator sends, one at a time, and sends back what happened as [`Event`]s. It
//! decides nothing about the run: what runs next, what is skipped and what is journaled are
//! the coordinator's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::connector::{ConnectError, Connector};
use super::reason::Lost;
use crate::action::password::{Settled, SettledOutcome, reconcile_terminal};
use crate::action::{ActionContext, ApplyEnv, Status, TaskOutcome, run_task};
use crate::plan::{Plan, PlannedSite, PlannedTerminal};
use crate::transport::Transport;

/// What a worker tells the coordinator.
pub(crate) enum Event {
    /// Connected (and leased); units may be sent.
    Connected(usize),
    /// Could not start: unreachable, login refused, or busy with another run.
    ConnectFailed {
        /// The terminal's index.
        terminal: usize,
        /// Why, for the terminal's units.
        lost: Lost,
        /// The error, for people.
        error: String,
    },
    /// Pending rotations of earlier runs settled when connecting, before any unit.
    Settled(usize, Vec<Settled>),
    /// A note for people.
    Note(String),
    /// A unit ended.
    Finished(usize, usize, Box<TaskOutcome>),
    /// The worker is done; its connection is closed.
    Closed(usize),
}

/// What a worker needs to know about its terminal and run.
pub(crate) struct WorkerSpec {
    /// The terminal's index in the coordinator.
    pub id: usize,
    /// Site index in the plan.
    pub site: usize,
    /// Terminal index in the site.
    pub index: usize,
    /// Query only.
    pub check: bool,
}

/// Runs one terminal's units as the coordinator sends them.
pub(crate) async fn worker(
    spec: WorkerSpec,
    plan: Arc<Plan>,
    env: Arc<ApplyEnv>,
    connector: Arc<dyn Connector>,
    mut units: mpsc::UnboundedReceiver<usize>,
    events: mpsc::UnboundedSender<Event>,
) {
    let id = spec.id;
    let site = &plan.sites[spec.site];
    let terminal = &site.terminals[spec.index];
    let mut transport = match connector.connect(site, terminal).await {
        Ok(t) => t,
        Err(err) => {
            let lost = match &err {
                ConnectError::Transport(e) if e.is_connection_failure() => Lost::Unreachable,
                ConnectError::Transport(_) => Lost::LoginRefused,
                ConnectError::Lease(refused) if refused.is_busy() => Lost::Busy,
                ConnectError::Lease(_) => Lost::LoginRefused,
            };
            let _ = events.send(Event::ConnectFailed {
                terminal: id,
                lost,
                error: err.to_string(),
            });
            // The coordinator sends no units to a terminal it could not reach.
            while units.recv().await.is_some() {}
            let _ = events.send(Event::Closed(id));
            return;
        }
    };
    if !spec.check {
        settle_interrupted_rotations(id, transport.as_ref(), terminal, &env, &events).await;
    }
    let _ = events.send(Event::Connected(id));
    while let Some(unit) = units.recv().await {
        let ctx = ActionContext {
            transport: transport.as_ref(),
            terminal,
            task: &terminal.tasks[unit],
            env: &env,
        };
        let mut outcome = run_task(&ctx, spec.check).await;
        if let Some(limit) = outcome.reconnect {
            // The terminal is rebooting: wait for it to go away and come back, on a new
            // connection (and lease), before its next unit.
            let _ = transport.close().await;
            match reconnect(
                connector.as_ref(),
                site,
                terminal,
                limit,
                outcome.facts.as_ref(),
            )
            .await
            {
                Ok(fresh) => transport = fresh,
                Err(why) => {
                    outcome.status = Status::Failed;
                    outcome.error = Some(why);
                    let _ = events.send(Event::Finished(id, unit, Box::new(outcome)));
                    // Nothing more can run here; the coordinator skips the rest.
                    while units.recv().await.is_some() {}
                    let _ = events.send(Event::Closed(id));
                    return;
                }
            }
        }
        if events
            .send(Event::Finished(id, unit, Box::new(outcome)))
            .is_err()
        {
            break;
        }
    }
    let _ = transport.close().await;
    if debug_transport() {
        let _ = events.send(Event::Note(format!(
            "{}: {} over {}",
            terminal.id,
            transport.counts(),
            transport.how()
        )));
    }
    let _ = events.send(Event::Closed(id));
}

/// Whether `SEIBI_DEBUG` asks for what each terminal's transport did (`transport` or `all`):
/// connections, session channels and commands per terminal, and how commands were sent.
fn debug_transport() -> bool {
    std::env::var("SEIBI_DEBUG").is_ok_and(|v| {
        v.split(',')
            .any(|part| matches!(part.trim(), "transport" | "all"))
    })
}

/// Settles, before any task runs, the rotations of this terminal that an earlier run left
/// pending, so that the store knows the live password (a check run only reads). The lease is
/// held, so the run that began them is not working here any more. Each account is settled with
/// the history length of this plan's `password` task for it, else the policy default.
async fn settle_interrupted_rotations(
    id: usize,
    transport: &dyn Transport,
    terminal: &PlannedTerminal,
    env: &ApplyEnv,
    events: &mpsc::UnboundedSender<Event>,
) {
    let Some(dir) = &env.secrets_dir else {
        return;
    };
    let keep = password_history_lengths(terminal);
    let keep_for = |user: &str| {
        keep.get(user)
            .copied()
            .unwrap_or_else(|| crate::playbook::PasswordPolicy::default().keep)
    };
    match reconcile_terminal(transport, dir, &terminal.id, &keep_for).await {
        Ok(settled) => {
            for s in &settled {
                let _ = events.send(Event::Note(format!("{}: {}", terminal.id, s.summary)));
            }
            if settled
                .iter()
                .any(|s| s.outcome == SettledOutcome::Committed)
            {
                let _ = events.send(Event::Settled(id, settled));
            }
        }
        Err(e) => {
            let _ = events.send(Event::Note(format!(
                "{}: could not settle an interrupted password rotation: {e}",
                terminal.id
            )));
        }
    }
}

/// The `keep` of each account's `password` task on this terminal.
fn password_history_lengths(terminal: &PlannedTerminal) -> BTreeMap<String, u32> {
    terminal
        .tasks
        .iter()
        .filter(|t| t.action == "password")
        .filter_map(|t| {
            serde_json::from_value::<crate::playbook::PasswordArgs>(t.args.clone()).ok()
        })
        .map(|args| (args.user, args.policy.keep))
        .collect()
}

/// Connects again after a reboot, retrying until `limit`, and checks that the terminal really
/// came back (a new boot, unless the reboot command was a custom one).
async fn reconnect(
    connector: &dyn Connector,
    site: &PlannedSite,
    terminal: &PlannedTerminal,
    limit: Duration,
    facts: Option<&serde_json::Value>,
) -> Result<Box<dyn Transport>, String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = String::from("it did not answer");
    // Give the reboot command a moment to take the terminal down.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while tokio::time::Instant::now() < deadline {
        match connector.connect(site, terminal).await {
            Ok(t) => match crate::action::reboot::came_back(t.as_ref(), facts).await {
                Ok(true) => return Ok(t),
                Ok(false) => last = "it still runs the old boot".to_string(),
                Err(e) => last = e.to_string(),
            },
            Err(ConnectError::Transport(e)) if e.is_connection_failure() => {
                last = e.to_string();
            }
            // The previous connection's lease is released a moment after it closes.
            Err(ConnectError::Lease(e)) if e.is_busy() => last = e.to_string(),
            // A changed host key or refused login after a reboot is not something to wait out.
            Err(e) => return Err(format!("after the reboot: {e}")),
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    Err(format!(
        "the terminal did not come back within {}s after the reboot: {last}",
        limit.as_secs()
    ))
}
