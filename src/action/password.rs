//! The `password` action: rotating a local account's password on a terminal so that a crash at
//! any moment loses nothing, and the store in `secrets/passwords/` always ends up knowing the
//! password the terminal really has.
//!
//! **Query** (never writes anything, here or on the terminal): reads the account's hash from the
//! terminal (`getent shadow USER`, second field) and compares its SHA-256 with what the
//! [`PasswordStore`] recorded. A rotation is needed when seibi never set this account's
//! password, when the current one is older than `policy.max_age_days`, or when the terminal's
//! hash is not the current one (someone changed it by hand). A rotation left *pending* by an
//! earlier run that stopped halfway is reported with what applying will do about it: commit it
//! (the terminal has it), drop it (the terminal still has the current one), or, when the terminal
//! has neither, say that the live password is unknown to the store and that rotating sets a
//! known one. Check mode therefore reconciles nothing; it only says what would happen. (The
//! query cannot tell check mode from a real run, so it never writes; applying settles the
//! pending entry first. A unit that records a pending rotation the terminal already has
//! completes that rotation: it reports `changed`, with the facts for the journal's `rotation`
//! record naming the run that began it, and rotates nothing more.) Within one run an account is
//! rotated once: a password this run already set is not rotated again, whatever
//! `max_age_days` says (a resumed run keeps its run id).
//!
//! **Apply**, in two phases: (0) settle a pending rotation as above; (1) generate a password per
//! policy and [`PasswordStore::begin`] it (the encrypted value and the pending record are fsynced
//! before anything is sent); (2) send `USER:$6$...` to `chpasswd -e` on **stdin**, so neither the
//! value nor its hash appears in any command line, and the plaintext never leaves this machine;
//! (3) read the hash back and compare; (4) [`PasswordStore::commit`], keeping `policy.keep` old
//! versions. A crash before (2) leaves a pending entry the terminal does not have (dropped next
//! time); a crash after (2) leaves one the terminal has (committed next time, with no new
//! rotation). If the read-back shows the old hash, the new version is dropped at once; if it shows
//! something else, the entry stays pending for the next run to reconcile.
//!
//! [`reconcile_terminal`] settles every pending rotation of one terminal without rotating
//! anything; the coordinator may call it when it first connects to a terminal, so that pending
//! entries of accounts no task touches any more do not wait for a person.
//!
//! Neither a value nor a hash ever appears in a summary or error: the hashes read from the
//! terminal stay in [`Secret`]s and are compared by digest.

use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroize as _;

use super::{ActionContext, ActionError, Applied, ApplyEnv, Query};
use crate::playbook::{PasswordArgs, PasswordPolicy};
use crate::secrets::{
    Account, PasswordState, PasswordStore, Provenance, Reconciliation, Secret, SecretsError,
    generate_password,
};
use crate::transport::{Transport, shell_quote};

const SECONDS_PER_DAY: i64 = 86_400;

/// Exit status of the read command when the account does not exist.
const NO_SUCH_ACCOUNT: u32 = 10;
/// Exit status of the read command when `/etc/shadow` cannot be read.
const SHADOW_UNREADABLE: u32 = 11;

/// What the query found.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args: PasswordArgs = ctx.args()?;
    let account = account_of(&ctx.terminal.id, &args.user)?;
    let store = open_store(ctx.env)?;
    let state = store.state(&account).map_err(local)?;
    let live = read_live_hash(ctx.transport, &account).await?;
    let assessment = assess_in_run(
        &state,
        &Observed::of(&live),
        &args.policy,
        Timestamp::now(),
        &ctx.env.run_id,
    );
    let mut parts = Vec::new();
    if let Some(settle) = &assessment.settle {
        parts.push(settle.would());
    }
    match &assessment.rotate {
        Some(reason) => parts.push(format!("rotate the password of {account}: {reason}")),
        None if !assessment.status.is_empty() => parts.push(assessment.status.clone()),
        None => {}
    }
    let summary = parts.join("; ");
    Ok(
        if assessment.settle.is_some() || assessment.rotate.is_some() {
            Query::change(summary)
        } else {
            Query::unchanged(summary)
        },
    )
}

/// Settles a pending rotation, then rotates if still needed.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let args: PasswordArgs = ctx.args()?;
    let account = account_of(&ctx.terminal.id, &args.user)?;
    let store = open_store(ctx.env)?;
    // The terminal is read again: the query may be minutes old (a whole visit's queries run
    // first), and nothing below may rest on what it saw.
    let before = read_live_hash(ctx.transport, &account).await?;
    let mut notes = Vec::new();
    if store.state(&account).map_err(local)?.pending.is_some() {
        let settled = settle(&store, &account, &before, args.policy.keep)?;
        match settled.outcome {
            // The terminal has the password a rotation begun earlier set: that rotation is
            // done now, in this unit, and counts as this unit's (a resumed run never rotates
            // the account twice, whatever `max_age_days` says). Journaled like any rotation,
            // naming the run that began it.
            SettledOutcome::Committed => {
                return Ok(Applied {
                    changed: true,
                    facts: Some(rotation_facts(
                        &account,
                        settled.version,
                        "completed a rotation that had reached the terminal",
                        Some(&settled.began_in),
                    )),
                    summary: settled.summary,
                    ..Applied::default()
                });
            }
            // The terminal has neither the pending nor the current password, so the pending
            // value is not live anywhere: drop it, and the rotation below sets a known one.
            SettledOutcome::LeftPending => {
                notes.push(settled.summary);
                store.abandon(&account).map_err(local)?;
            }
            SettledOutcome::Abandoned => notes.push(settled.summary),
        }
    }
    let state = store.state(&account).map_err(local)?;
    let assessment = assess_in_run(
        &state,
        &Observed::of(&before),
        &args.policy,
        Timestamp::now(),
        &ctx.env.run_id,
    );
    let Some(reason) = assessment.rotate else {
        notes.push(assessment.status);
        return Ok(Applied {
            changed: false,
            summary: notes.join("; "),
            ..Applied::default()
        });
    };
    let provenance = provenance(ctx.env)?;
    let version = rotate(ctx, &store, &account, &args.policy, &before, &provenance).await?;
    notes.push(format!(
        "set a new password for {account} (version {version}; the store keeps {} previous): {reason}",
        args.policy.keep
    ));
    Ok(Applied {
        changed: true,
        summary: notes.join("; "),
        facts: Some(rotation_facts(&account, version, &reason, None)),
        ..Applied::default()
    })
}

/// The facts the coordinator turns into the journal's `rotation` record (see `crate::run`):
/// which secret now holds the password, which version, why, and the run that began the
/// rotation when it was not this one.
pub fn rotation_facts(
    account: &Account,
    version: u64,
    reason: &str,
    began_in: Option<&str>,
) -> serde_json::Value {
    let mut rotation = serde_json::json!({
        "account": account.user(),
        "secret": account.secret_name(),
        "version": version,
        "reason": reason,
    });
    if let Some(run) = began_in {
        rotation["began_in"] = run.into();
    }
    serde_json::json!({ "rotation": rotation })
}

/// Phases one to four: begin, `chpasswd -e` over stdin, read back, commit. Returns the version.
async fn rotate(
    ctx: &ActionContext<'_>,
    store: &PasswordStore,
    account: &Account,
    policy: &PasswordPolicy,
    before: &Secret<String>,
    provenance: &Provenance,
) -> Result<u64, ActionError> {
    let new = generate_password(policy).map_err(local)?;
    let begun = store.begin(account, new, provenance).map_err(local)?;
    let version = begun.version;
    let line = Secret::new(format!(
        "{}:{}\n",
        account.user(),
        begun.shadow_hash.expose()
    ));
    let sent = ctx
        .exec("chpasswd -e", Some(line.expose().as_bytes()))
        .await;
    drop(line);
    let output = match sent {
        Ok(output) => output,
        Err(err) => {
            return Err(failed(format!(
                "setting the password of {account} was interrupted ({err}); version {version} stays pending and the next run finds out whether the terminal has it"
            )));
        }
    };
    let after = match read_live_hash(ctx.transport, account).await {
        Ok(after) => after,
        Err(err) => {
            return Err(failed(format!(
                "cannot read back the password of {account} after `chpasswd -e` ({err}); version {version} stays pending and the next run finds out whether the terminal has it"
            )));
        }
    };
    if after.ct_eq(&begun.shadow_hash) {
        store.commit(account, policy.keep).map_err(|e| {
            failed(format!(
                "the terminal has the new password of {account} (version {version}) but recording it failed: {e}; it stays pending and the next run records it"
            ))
        })?;
        return Ok(version);
    }
    // Nothing of the hash or the value goes into messages; chpasswd does not echo its input, but
    // its stderr is scrubbed of the hash all the same.
    let stderr = scrub(&output.stderr_text(), &[begun.shadow_hash.expose()]);
    let chpasswd = if output.success() {
        "`chpasswd -e` reported success".to_string()
    } else {
        format!(
            "`chpasswd -e` exited with status {}: {}",
            output.exit_status,
            ctx.redact(stderr.trim())
        )
    };
    if after.ct_eq(before) {
        store.abandon(account).map_err(local)?;
        Err(ActionError::Failed {
            message: format!(
                "{chpasswd}, and the terminal kept the previous password of {account}; the new version {version} was dropped and nothing changed"
            ),
            output: Some(output),
        })
    } else {
        Err(ActionError::Failed {
            message: format!(
                "{chpasswd}, but the password of {account} is now neither the new one nor the previous one; version {version} stays pending: the next run reconciles it and, if the terminal's password is still unknown, sets a known one"
            ),
            output: Some(output),
        })
    }
}

/// How a pending rotation was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettledOutcome {
    /// The terminal has the pending password: it was recorded as current.
    Committed,
    /// The terminal still has the current password: the pending one was dropped.
    Abandoned,
    /// The terminal has neither: the live password is unknown to the store. The entry stays
    /// pending; the account's next rotation drops it and sets a known password.
    LeftPending,
}

/// One pending rotation settled from what the terminal has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The account.
    pub account: Account,
    /// The pending version.
    pub version: u64,
    /// The run that began the rotation.
    pub began_in: String,
    /// What was done.
    pub outcome: SettledOutcome,
    /// One line for people (no value, no hash).
    pub summary: String,
}

/// Settles every pending rotation of `terminal` from the hashes it actually has, rotating
/// nothing: a pending password the terminal has is committed (history trimmed to `keep`), one
/// it does not have while it still has the current one is dropped, and one where it has
/// neither is left pending with a summary saying the live password is unknown to the store
/// (the account's next `password` task sets a known one).
///
/// For the coordinator, once per terminal at the start of a visit, before any task runs: the
/// `password` action settles its own account anyway, but this also settles accounts that no
/// task of the plan touches. `keep` is the history length to keep when committing (the
/// terminal's `password` task policy, or the policy default of 5). Needs root on the terminal
/// (`/etc/shadow`).
pub async fn reconcile_terminal(
    transport: &dyn Transport,
    secrets_dir: &Path,
    terminal: &str,
    keep_for: &(dyn Fn(&str) -> u32 + Sync),
) -> Result<Vec<Settled>, ActionError> {
    let store = PasswordStore::open(secrets_dir).map_err(local)?;
    let mut out = Vec::new();
    for (account, _) in store.pending().map_err(local)? {
        if account.terminal() != terminal {
            continue;
        }
        let live = read_live_hash(transport, &account).await?;
        out.push(settle(&store, &account, &live, keep_for(account.user()))?);
    }
    Ok(out)
}

/// Reconciles the pending rotation of `account` against `live`.
fn settle(
    store: &PasswordStore,
    account: &Account,
    live: &Secret<String>,
    keep: u32,
) -> Result<Settled, ActionError> {
    let pending = store
        .state(account)
        .map_err(local)?
        .pending
        .ok_or_else(|| failed(format!("no rotation of {account} is pending")))?;
    let begun_by = format!(
        "the rotation begun {} by {} (run {}, version {})",
        day(pending.created_at),
        pending.operator,
        pending.run,
        pending.version
    );
    let (outcome, summary) = match store
        .reconcile(account, live.expose(), keep)
        .map_err(local)?
    {
        Reconciliation::Committed(_) => (
            SettledOutcome::Committed,
            format!(
                "{begun_by} had reached the terminal: recorded it as the current password of {account}"
            ),
        ),
        Reconciliation::Abandoned(_) => (
            SettledOutcome::Abandoned,
            format!(
                "{begun_by} never reached the terminal, which still has the current password of {account}: dropped it"
            ),
        ),
        Reconciliation::NothingPending => {
            return Err(failed(format!(
                "the pending rotation of {account} disappeared while it was being reconciled; is another run working on it?"
            )));
        }
        Reconciliation::Unrecognized { matches_history } => (
            SettledOutcome::LeftPending,
            format!(
                "{begun_by} is unresolved: the terminal has neither it nor the current password ({}), so the live password of {account} is unknown to the store; the next rotation sets a known one",
                match matches_history {
                    Some(v) => format!("it has the older version {v} again"),
                    None => "changed by hand, or never set by seibi".to_string(),
                }
            ),
        ),
    };
    Ok(Settled {
        account: account.clone(),
        version: pending.version,
        began_in: pending.run.clone(),
        outcome,
        summary,
    })
}

/// What reconciling a pending entry would do (query side, nothing written).
#[derive(Debug, Clone, PartialEq, Eq)]
struct WouldSettle {
    outcome: SettledOutcome,
    version: u64,
    run: String,
    operator: String,
    created_at: Timestamp,
}

impl WouldSettle {
    fn would(&self) -> String {
        let begun_by = format!(
            "the rotation begun {} by {} (run {}, version {})",
            day(self.created_at),
            self.operator,
            self.run,
            self.version
        );
        match self.outcome {
            SettledOutcome::Committed => {
                format!("{begun_by} reached the terminal: record it as current")
            }
            SettledOutcome::Abandoned => {
                format!("{begun_by} never reached the terminal: drop it")
            }
            SettledOutcome::LeftPending => format!(
                "{begun_by} is unresolved: the terminal has neither it nor the current password, so the live password is unknown to the store"
            ),
        }
    }
}

/// The terminal's hash, by digest (never by value).
struct Observed {
    digest: String,
    /// The digest of the hash without a leading `!` (a locked account), if it had one.
    unlocked_digest: Option<String>,
}

impl Observed {
    fn of(live: &Secret<String>) -> Self {
        let hash = live.expose().trim();
        Observed {
            digest: digest(hash),
            unlocked_digest: hash.strip_prefix('!').map(digest),
        }
    }
}

/// The query's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assessment {
    /// What reconciling a pending rotation would do.
    settle: Option<WouldSettle>,
    /// Why a rotation is needed, if it is.
    rotate: Option<String>,
    /// How the account stands when nothing is needed.
    status: String,
}

/// Compares the store's records with the terminal's hash under `policy` at `now`.
/// [`assess`] within a run: an account whose current password this same run set (a rotation
/// it began, settled on resume or earlier in the visit) is not rotated again, whatever
/// `max_age_days` says: a run applies a rotation once.
fn assess_in_run(
    state: &PasswordState,
    observed: &Observed,
    policy: &PasswordPolicy,
    now: Timestamp,
    run: &str,
) -> Assessment {
    let mut assessment = assess(state, observed, policy, now);
    if assessment.settle.is_none()
        && assessment.rotate.is_some()
        && let Some(current) = &state.current
        && current.hash_sha256 == observed.digest
        && current.run == run
    {
        assessment.rotate = None;
        assessment.status = format!(
            "password of {}@{} set by this run (version {}): not rotated again",
            state.user, state.terminal, current.version
        );
    }
    assessment
}

fn assess(
    state: &PasswordState,
    observed: &Observed,
    policy: &PasswordPolicy,
    now: Timestamp,
) -> Assessment {
    let account = format!("{}@{}", state.user, state.terminal);
    let current_matches = state
        .current
        .as_ref()
        .is_some_and(|c| c.hash_sha256 == observed.digest);
    let settle = state.pending.as_ref().map(|p| WouldSettle {
        outcome: if p.hash_sha256 == observed.digest {
            SettledOutcome::Committed
        } else if current_matches {
            SettledOutcome::Abandoned
        } else {
            SettledOutcome::LeftPending
        },
        version: p.version,
        run: p.run.clone(),
        operator: p.operator.clone(),
        created_at: p.created_at,
    });
    if settle
        .as_ref()
        .is_some_and(|s| s.outcome == SettledOutcome::Committed)
    {
        // Committing makes the pending password current, set now: nothing more to do.
        return Assessment {
            settle,
            rotate: None,
            status: String::new(),
        };
    }
    let Some(current) = &state.current else {
        return Assessment {
            settle,
            rotate: Some(format!("seibi has not set a password for {account} yet")),
            status: String::new(),
        };
    };
    let age_seconds = now.as_second().saturating_sub(current.set_at.as_second());
    let set = format!(
        "set {} by {}, {}",
        day(current.set_at),
        current.operator,
        ago(age_seconds)
    );
    if !current_matches {
        if observed.unlocked_digest.as_deref() == Some(current.hash_sha256.as_str()) {
            return Assessment {
                settle,
                rotate: None,
                status: format!(
                    "{account} is locked on the terminal (`passwd -l`); a locked account is not rotated (password {set}, version {})",
                    current.version
                ),
            };
        }
        let older = state
            .history
            .iter()
            .find(|h| h.hash_sha256 == observed.digest)
            .map(|h| format!(" (it has the older version {} again)", h.version))
            .unwrap_or_default();
        return Assessment {
            settle,
            rotate: Some(format!(
                "the terminal's password is not the one seibi {set}{older}; it was changed on the terminal, so the store does not know it"
            )),
            status: String::new(),
        };
    }
    let max_age_seconds = i64::from(policy.max_age_days) * SECONDS_PER_DAY;
    // Due once it is `max_age_days` old, so `max_age_days: 0` rotates on every run (even one in
    // the same second as the last rotation).
    if age_seconds >= max_age_seconds {
        return Assessment {
            settle,
            rotate: Some(format!(
                "{set}; the policy rotates after {} days",
                policy.max_age_days
            )),
            status: String::new(),
        };
    }
    Assessment {
        settle,
        rotate: None,
        status: format!(
            "password of {account} {set} (version {}); due after {} days",
            current.version, policy.max_age_days
        ),
    }
}

/// The command that prints `user`'s shadow line (exit 10: no such account; 11: unreadable).
fn read_command(account: &Account) -> String {
    let user = shell_quote(account.user());
    format!(
        "getent passwd {user} >/dev/null || exit {NO_SUCH_ACCOUNT}; getent shadow {user} || exit {SHADOW_UNREADABLE}"
    )
}

/// Reads the second field of `user`'s `/etc/shadow` line. No stdin; no secret in the command.
async fn read_live_hash(
    transport: &dyn Transport,
    account: &Account,
) -> Result<Secret<String>, ActionError> {
    let mut output = transport.exec(&read_command(account), None).await?;
    let text = Secret::new(String::from_utf8_lossy(&output.stdout).into_owned());
    output.stdout.zeroize();
    match output.exit_status {
        0 => {}
        NO_SUCH_ACCOUNT => {
            return Err(failed(format!(
                "{} has no local account `{}`; create it first (the password action rotates existing accounts only)",
                account.terminal(),
                account.user()
            )));
        }
        SHADOW_UNREADABLE => {
            return Err(failed(format!(
                "cannot read the shadow entry of `{}` on {}: reading /etc/shadow needs root, so log in as root (terminal `user: root`) or set `become: sudo` for the terminal (with NOPASSWD sudo for its login user)",
                account.user(),
                account.terminal()
            )));
        }
        status => {
            return Err(ActionError::Failed {
                message: format!(
                    "reading the shadow entry of `{}` on {} failed with status {status}: {}",
                    account.user(),
                    account.terminal(),
                    output.stderr_text().trim()
                ),
                output: Some(output),
            });
        }
    }
    let hash = text
        .expose()
        .lines()
        .next()
        .and_then(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let hash = fields.next()?;
            (name == account.user()).then(|| Secret::new(hash.to_string()))
        })
        .ok_or_else(|| {
            failed(format!(
                "`getent shadow` on {} printed something that is not a shadow line for `{}`; is the name service set up oddly?",
                account.terminal(),
                account.user()
            ))
        })?;
    Ok(hash)
}

fn open_store(env: &ApplyEnv) -> Result<PasswordStore, ActionError> {
    let dir = env.secrets_dir.as_deref().ok_or_else(|| {
        ActionError::Local(
            "password rotation keeps every password in the project's secrets store, and this project has none: run `seibi secrets init` first".to_string(),
        )
    })?;
    PasswordStore::open(dir).map_err(local)
}

fn account_of(terminal: &str, user: &str) -> Result<Account, ActionError> {
    Account::new(terminal, user).map_err(|e| ActionError::Args(e.to_string()))
}

fn provenance(env: &ApplyEnv) -> Result<Provenance, ActionError> {
    if env.operator.trim().is_empty() || env.run_id.trim().is_empty() {
        return Err(ActionError::Local(
            "a password rotation is recorded with the operator and the run that made it, and this run has no operator or run id; apply through `seibi apply` as an operator on the roster".to_string(),
        ));
    }
    Ok(Provenance {
        run: env.run_id.clone(),
        operator: env.operator.clone(),
    })
}

/// SHA-256 of a `$6$` hash as the store records it.
fn digest(hash: &str) -> String {
    hex::encode(Sha256::digest(hash.trim().as_bytes()))
}

/// The calendar day of `at` in Japan.
fn day(at: Timestamp) -> String {
    let zone = TimeZone::get(crate::calendar::TIME_ZONE_NAME).unwrap_or(TimeZone::UTC);
    at.to_zoned(zone).date().to_string()
}

fn ago(seconds: i64) -> String {
    match seconds / SECONDS_PER_DAY {
        i64::MIN..=0 => "today".to_string(),
        1 => "1 day ago".to_string(),
        days => format!("{days} days ago"),
    }
}

fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, crate::secrets::REDACTED);
    }
    out
}

fn local(err: SecretsError) -> ActionError {
    ActionError::Local(err.to_string())
}

fn failed(message: String) -> ActionError {
    ActionError::Failed {
        message,
        output: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{Status, run_task};
    use crate::inventory::Platform;
    use crate::plan::{PlannedTask, PlannedTerminal};
    use crate::secrets::{CurrentEntry, HistoryEntry, Identity, PendingEntry, SecretsStore};
    use crate::transport::ExecOutput;
    use crate::transport::fake::{Call, FakeTransport};

    const NOW: &str = "2026-10-17T03:00:00Z";

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn state(current: Option<(&str, &str)>, pending: Option<&str>) -> PasswordState {
        PasswordState {
            terminal: "chuo-t01".to_string(),
            user: "kanri".to_string(),
            next_version: 4,
            current: current.map(|(hash, set_at)| CurrentEntry {
                version: 2,
                set_at: at(set_at),
                run: "run-2".to_string(),
                operator: "山田".to_string(),
                hash_sha256: digest(hash),
            }),
            pending: pending.map(|hash| PendingEntry {
                version: 3,
                created_at: at("2026-10-16T01:00:00Z"),
                run: "run-3".to_string(),
                operator: "鈴木".to_string(),
                hash_sha256: digest(hash),
            }),
            history: vec![HistoryEntry {
                version: 1,
                set_at: at("2025-01-01T00:00:00Z"),
                retired_at: at("2026-10-05T00:00:00Z"),
                run: "run-1".to_string(),
                operator: "山田".to_string(),
                hash_sha256: digest("$6$old$one"),
            }],
        }
    }

    fn observed(hash: &str) -> Observed {
        Observed::of(&Secret::from(hash))
    }

    #[test]
    fn current_and_fresh_is_unchanged_with_who_and_when() {
        let a = assess(
            &state(Some(("$6$a$cur", "2026-10-05T01:00:00Z")), None),
            &observed("$6$a$cur\n"),
            &PasswordPolicy::default(),
            at(NOW),
        );
        assert_eq!(a.settle, None);
        assert_eq!(a.rotate, None);
        assert_eq!(
            a.status,
            "password of kanri@chuo-t01 set 2026-10-05 by 山田, 12 days ago (version 2); due after 365 days"
        );
    }

    #[test]
    fn overdue_never_set_and_hand_changed_rotate() {
        let policy = PasswordPolicy {
            max_age_days: 10,
            ..PasswordPolicy::default()
        };
        let overdue = assess(
            &state(Some(("$6$a$cur", "2026-10-05T01:00:00Z")), None),
            &observed("$6$a$cur"),
            &policy,
            at(NOW),
        );
        assert_eq!(
            overdue.rotate.as_deref(),
            Some("set 2026-10-05 by 山田, 12 days ago; the policy rotates after 10 days")
        );
        let always = PasswordPolicy {
            max_age_days: 0,
            ..PasswordPolicy::default()
        };
        let same_second = assess(
            &state(Some(("$6$a$cur", NOW)), None),
            &observed("$6$a$cur"),
            &always,
            at(NOW),
        );
        assert!(
            same_second.rotate.is_some(),
            "max_age_days 0 always rotates"
        );
        let never = assess(&state(None, None), &observed("!"), &policy, at(NOW));
        assert_eq!(
            never.rotate.as_deref(),
            Some("seibi has not set a password for kanri@chuo-t01 yet")
        );
        let by_hand = assess(
            &state(Some(("$6$a$cur", "2026-10-15T01:00:00Z")), None),
            &observed("$6$old$one"),
            &policy,
            at(NOW),
        );
        let reason = by_hand.rotate.expect("a hand-changed password is rotated");
        assert!(reason.contains("changed on the terminal"), "{reason}");
        assert!(reason.contains("older version 1 again"), "{reason}");
        let locked = assess(
            &state(Some(("$6$a$cur", "2026-10-15T01:00:00Z")), None),
            &observed("!$6$a$cur"),
            &policy,
            at(NOW),
        );
        assert_eq!(locked.rotate, None);
        assert!(locked.status.contains("locked"), "{}", locked.status);
    }

    #[test]
    fn pending_is_judged_by_what_the_terminal_has() {
        let policy = PasswordPolicy::default();
        let s = state(Some(("$6$a$cur", "2026-10-15T01:00:00Z")), Some("$6$b$new"));
        let commit = assess(&s, &observed("$6$b$new"), &policy, at(NOW));
        assert_eq!(
            commit.settle.as_ref().map(|w| w.outcome),
            Some(SettledOutcome::Committed)
        );
        assert_eq!(commit.rotate, None, "a committed rotation needs no new one");
        let abandon = assess(&s, &observed("$6$a$cur"), &policy, at(NOW));
        assert_eq!(
            abandon.settle.as_ref().map(|w| w.outcome),
            Some(SettledOutcome::Abandoned)
        );
        assert_eq!(abandon.rotate, None, "the current one is fresh");
        let unknown = assess(&s, &observed("$6$c$else"), &policy, at(NOW));
        let would = unknown.settle.as_ref().expect("pending").would();
        assert!(
            would.contains("live password is unknown to the store"),
            "{would}"
        );
        assert!(unknown.rotate.is_some());
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        env: ApplyEnv,
        terminal: PlannedTerminal,
        task: PlannedTask,
    }

    impl Fixture {
        /// Runs the task on `fake`, which must fail it; returns the error.
        async fn failure(&self, fake: &FakeTransport) -> String {
            let ctx = ActionContext {
                transport: fake,
                terminal: &self.terminal,
                task: &self.task,
                env: &self.env,
            };
            let outcome = run_task(&ctx, false).await;
            assert_eq!(outcome.status, Status::Failed, "{}", outcome.summary);
            outcome.error.expect("an error")
        }
    }

    fn fixture(with_store: bool) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets = dir.path().join("secrets");
        let (_, public) = Identity::generate_x25519();
        SecretsStore::init(&secrets, "tester", public).expect("init");
        let task = PlannedTask {
            key: "rotate/admin".to_string(),
            job: "rotate".to_string(),
            task: "admin".to_string(),
            name: "rotate the admin password".to_string(),
            action: "password".to_string(),
            args: serde_json::json!({"user": "kanri", "policy": {"max_age_days": 90}}),
            needs: vec![],
            notify: vec![],
            handler: false,
            skip: None,
        };
        Fixture {
            env: ApplyEnv {
                secrets_dir: with_store.then_some(secrets),
                operator: "山田".to_string(),
                run_id: "run-7".to_string(),
                ..ApplyEnv::default()
            },
            _dir: dir,
            terminal: PlannedTerminal {
                id: "chuo-t01".to_string(),
                address: "127.0.0.1".to_string(),
                port: 22,
                user: "root".to_string(),
                become_method: crate::inventory::Become::None,
                platform: Platform::Linux,
                key_file: None,
                jobs: vec!["rotate".to_string()],
                tasks: vec![task.clone()],
                estimated_minutes: 1,
            },
            task,
        }
    }

    fn account() -> Account {
        Account::new("chuo-t01", "kanri").expect("account")
    }

    #[tokio::test]
    async fn without_a_secrets_store_it_says_to_init_one() {
        let f = fixture(false);
        let fake = FakeTransport::new();
        let error = f.failure(&fake).await;
        assert!(error.contains("run `seibi secrets init` first"), "{error}");
        assert!(fake.calls().is_empty(), "nothing was run on the terminal");
    }

    #[tokio::test]
    async fn a_missing_account_or_unreadable_shadow_is_explained() {
        let f = fixture(true);
        for (status, expected) in [
            (
                NO_SUCH_ACCOUNT,
                "has no local account `kanri`; create it first",
            ),
            (SHADOW_UNREADABLE, "reading /etc/shadow needs root"),
        ] {
            let fake = FakeTransport::new().on(
                read_command(&account()),
                ExecOutput::failed(status, "getent: denied\n"),
            );
            let error = f.failure(&fake).await;
            assert!(error.contains(expected), "{error}");
        }
    }

    #[tokio::test]
    async fn a_refused_chpasswd_drops_the_new_version_and_sends_the_hash_on_stdin_only() {
        let f = fixture(true);
        let fake = FakeTransport::new()
            .on(
                read_command(&account()),
                ExecOutput::ok("kanri:!:20000:0:99999:7:::\n"),
            )
            .on(
                "chpasswd -e",
                ExecOutput::failed(1, "chpasswd: cannot lock /etc/shadow; try again later.\n"),
            );
        let error = f.failure(&fake).await;
        assert!(error.contains("cannot lock /etc/shadow"), "{error}");
        assert!(error.contains("kept the previous password"), "{error}");
        assert!(!error.contains("$6$"), "{error}");
        let store = PasswordStore::open(f.env.secrets_dir.as_deref().expect("dir")).expect("open");
        let state = store.state(&account()).expect("state");
        assert_eq!((state.pending, state.current), (None, None));
        let calls = fake.calls();
        let chpasswd = calls
            .iter()
            .find_map(|c| match c {
                Call::Exec { command, stdin } if command == "chpasswd -e" => stdin.clone(),
                _ => None,
            })
            .expect("chpasswd ran");
        let line = String::from_utf8(chpasswd).expect("utf-8");
        assert!(
            line.starts_with("kanri:$6$") && line.ends_with('\n'),
            "the hash went on stdin"
        );
        for call in &calls {
            if let Call::Exec { command, .. } = call {
                assert!(
                    !command.contains("$6$"),
                    "a hash in a command line: {command}"
                );
            }
        }
    }
}
