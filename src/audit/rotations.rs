//! The password-rotation audit (`seibi audit rotations`): per terminal and account, when the
//! password was last rotated, by which operator, in which run, how many past versions the store
//! keeps, whether a rotation is unfinished, and whether the account is overdue.
//!
//! The inputs are data: the accounts in scope ([`scope`] derives them from a plan of the
//! `password_rotation` jobs, so a templated `user:` and a `when:` are honoured exactly as
//! `apply` would), the password store's metadata ([`recorded_states`]; never a value) and the
//! [`AsOf`] moment. [`audit`] is pure; [`render_text`] and the [`RotationAudit`]'s
//! `Serialize` (the JSON shape, [`SCHEMA`]) present it.
//!
//! # When an account is overdue
//! - `never_rotated`: no rotation recorded on or before the as-of moment;
//! - `older_than_max_age`: the last rotation is more than the policy's `max_age_days` days old
//!   (calendar days in Japan; exactly `max_age_days` is still on time);
//! - `not_rotated_this_fiscal_year`: the last rotation was before April 1 of the as-of day's
//!   fiscal year (年度, April to March);
//! - `pending_rotation`: a rotation was begun and never committed or abandoned: the store does
//!   not know which password the terminal has until it is reconciled.
//!
//! An account rotated by several jobs gets the strictest `max_age_days` and the largest `keep`.
//! For an as-of moment in the past the last rotation is looked up in the recorded history
//! (current and kept past versions); the versions kept are always the store's present count.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Serialize, Serializer};

use super::{AsOf, FiscalYear, japan, japan_date};
use crate::columns::align_columns;
use crate::inventory::Inventory;
use crate::plan::Plan;
use crate::playbook::{JobKind, PasswordArgs};
use crate::secrets::{PasswordState, PasswordStore, SecretsError};

/// The `schema` value of the JSON report.
pub const SCHEMA: &str = "seibi.audit.rotations/v1";

/// Why the scope of the audit could not be derived from a plan.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    /// A planned `password` task's arguments are not what the playbook loader accepts.
    #[error(
        "task `{key}` on {terminal}: its rendered password arguments do not parse ({reason}); run `seibi check`"
    )]
    BadArguments {
        /// `job/task`.
        key: String,
        /// The terminal.
        terminal: String,
        /// The parse error.
        reason: String,
    },
}

/// An account that a `password_rotation` job rotates, with the policy it is held to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedAccount {
    /// Site id.
    pub site: String,
    /// Terminal id.
    pub terminal: String,
    /// Local account.
    pub user: String,
    /// The jobs that rotate it, sorted.
    pub jobs: Vec<String>,
    /// Days after which its password is overdue.
    pub max_age_days: u32,
    /// Past versions the store keeps.
    pub keep: u32,
}

/// The accounts the plan's `password_rotation` jobs rotate: every `password` task that runs on
/// a terminal (not skipped by `when:`), with its rendered `user`. Sorted by site, terminal and
/// user.
pub fn scope(plan: &Plan) -> Result<Vec<ScopedAccount>, ScopeError> {
    let rotation_jobs: BTreeSet<&str> = plan
        .jobs
        .iter()
        .filter(|j| j.kind == JobKind::PasswordRotation)
        .map(|j| j.id.as_str())
        .collect();
    let mut accounts: BTreeMap<(String, String, String), ScopedAccount> = BTreeMap::new();
    for site in &plan.sites {
        for terminal in &site.terminals {
            for task in &terminal.tasks {
                if task.action != "password"
                    || task.skip.is_some()
                    || !rotation_jobs.contains(task.job.as_str())
                {
                    continue;
                }
                let args: PasswordArgs =
                    serde_json::from_value(task.args.clone()).map_err(|e| {
                        ScopeError::BadArguments {
                            key: task.key.clone(),
                            terminal: terminal.id.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                let key = (site.id.clone(), terminal.id.clone(), args.user.clone());
                let entry = accounts.entry(key).or_insert_with(|| ScopedAccount {
                    site: site.id.clone(),
                    terminal: terminal.id.clone(),
                    user: args.user.clone(),
                    jobs: Vec::new(),
                    max_age_days: args.policy.max_age_days,
                    keep: args.policy.keep,
                });
                if !entry.jobs.contains(&task.job) {
                    entry.jobs.push(task.job.clone());
                    entry.jobs.sort();
                }
                entry.max_age_days = entry.max_age_days.min(args.policy.max_age_days);
                entry.keep = entry.keep.max(args.policy.keep);
            }
        }
    }
    Ok(accounts.into_values().collect())
}

/// Every account's metadata recorded in the password store, sorted by terminal and user. Reads
/// only `state.yml` files: no identity, no values.
pub fn recorded_states(store: &PasswordStore) -> Result<Vec<PasswordState>, SecretsError> {
    store
        .accounts()?
        .iter()
        .map(|account| store.state(account))
        .collect()
}

/// Which part of the audit to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Only these sites (empty: all).
    pub sites: Vec<String>,
    /// List only overdue accounts (summaries still count every account).
    pub overdue_only: bool,
}

/// Why an account is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverdueReason {
    /// No rotation recorded on or before the as-of moment.
    NeverRotated,
    /// The last rotation is before the current fiscal year.
    NotRotatedThisFiscalYear,
    /// The last rotation is more than `max_age_days` days old.
    OlderThanMaxAge,
    /// A rotation was begun and not reconciled.
    PendingRotation,
}

/// The policy an account is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Days after which the password is overdue.
    pub max_age_days: u32,
    /// Past versions to keep.
    pub keep: u32,
}

/// A recorded rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotation {
    /// When the new password became current (JSON: RFC 3339 in Japan time, `+09:00`).
    #[serde(serialize_with = "japan_time")]
    pub at: Timestamp,
    /// The store's version number.
    pub version: u64,
    /// The run (journal) id.
    pub run: String,
    /// The operator of that run.
    pub operator: String,
}

/// A rotation begun and not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRotation {
    /// When it was begun (JSON: RFC 3339 in Japan time).
    #[serde(serialize_with = "japan_time")]
    pub begun_at: Timestamp,
    /// The version it would become.
    pub version: u64,
    /// The run that began it.
    pub run: String,
    /// The operator of that run.
    pub operator: String,
}

/// One account's line of the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountAudit {
    /// Site id.
    pub site: String,
    /// Site display name.
    pub site_name: String,
    /// Terminal id.
    pub terminal: String,
    /// Local account.
    pub user: String,
    /// Jobs that rotate it.
    pub jobs: Vec<String>,
    /// The policy it is held to.
    pub policy: Policy,
    /// The last rotation on or before the as-of moment.
    pub last_rotation: Option<Rotation>,
    /// Calendar days (Japan) from the last rotation to the as-of day.
    pub age_days: Option<i64>,
    /// Whether the last rotation is in the as-of day's fiscal year.
    pub rotated_this_fiscal_year: bool,
    /// Past versions the store keeps now.
    pub versions_kept: usize,
    /// An unfinished rotation begun on or before the as-of moment.
    pub pending: Option<PendingRotation>,
    /// Whether any reason applies.
    pub overdue: bool,
    /// Why it is overdue (empty when it is not).
    pub reasons: Vec<OverdueReason>,
}

/// Counts for one site (or all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Terminals with at least one account in scope.
    pub terminals: usize,
    /// Accounts (terminal × user) in scope.
    pub accounts: usize,
    /// Accounts rotated in the current fiscal year.
    pub rotated_this_fiscal_year: usize,
    /// Overdue accounts.
    pub overdue: usize,
    /// Overdue terminals (with at least one overdue account).
    pub overdue_terminals: usize,
    /// Accounts with an unfinished rotation.
    pub pending: usize,
}

/// One site's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteSummary {
    /// Site id.
    pub site: String,
    /// Display name.
    pub name: String,
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A password-store record for an account that no `password_rotation` job rotates (a
/// decommissioned terminal, a renamed account, a job that was removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnscopedRecord {
    /// Terminal id.
    pub terminal: String,
    /// Local account.
    pub user: String,
    /// The terminal's site, when the inventory still has the terminal.
    pub site: Option<String>,
    /// The last rotation on or before the as-of moment.
    pub last_rotation: Option<Rotation>,
    /// Whether a rotation is unfinished.
    pub pending: bool,
}

/// The audit. Its `Serialize` is the documented JSON shape ([`SCHEMA`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationAudit {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The as-of day (Japan).
    pub as_of: Date,
    /// Its fiscal year: `{label, start, end}`.
    pub fiscal_year: FiscalYear,
    /// What was selected.
    pub filter: Filter,
    /// Accounts, sorted by site, terminal and user (only overdue ones with `overdue_only`).
    pub accounts: Vec<AccountAudit>,
    /// Per site, sorted by id; over every account of the selected sites.
    pub sites: Vec<SiteSummary>,
    /// Over every account of the selected sites.
    pub totals: Counts,
    /// Terminals with an overdue account, sorted by site and terminal.
    pub overdue_terminals: Vec<String>,
    /// Store records outside the scope (in the selected sites; with no site filter, also
    /// terminals no longer in the inventory).
    pub unscoped: Vec<UnscopedRecord>,
}

impl RotationAudit {
    /// Whether any account in the selection is overdue.
    pub fn has_overdue(&self) -> bool {
        self.totals.overdue > 0
    }
}

/// The last rotation of `state` on or before `cutoff`: the current password if it was set by
/// then, otherwise the newest kept past version that was.
fn last_rotation(state: &PasswordState, cutoff: Timestamp) -> Option<Rotation> {
    let current = state.current.iter().map(|c| Rotation {
        at: c.set_at,
        version: c.version,
        run: c.run.clone(),
        operator: c.operator.clone(),
    });
    let past = state.history.iter().map(|h| Rotation {
        at: h.set_at,
        version: h.version,
        run: h.run.clone(),
        operator: h.operator.clone(),
    });
    current
        .chain(past)
        .filter(|r| r.at <= cutoff)
        .max_by_key(|r| (r.at, r.version))
}

fn pending_rotation(state: &PasswordState, cutoff: Timestamp) -> Option<PendingRotation> {
    state
        .pending
        .as_ref()
        .filter(|p| p.created_at <= cutoff)
        .map(|p| PendingRotation {
            begun_at: p.created_at,
            version: p.version,
            run: p.run.clone(),
            operator: p.operator.clone(),
        })
}

/// Calendar days in Japan from `from`'s day to `to`.
fn days_between(from: Date, to: Date) -> i64 {
    to.duration_since(from).as_secs().div_euclid(86_400)
}

/// Audits the accounts in `scope` (restricted to `filter.sites`) against the recorded
/// `states` as of `as_of`.
pub fn audit(
    inventory: &Inventory,
    scope: &[ScopedAccount],
    states: &[PasswordState],
    as_of: AsOf,
    filter: Filter,
) -> RotationAudit {
    let fiscal_year = as_of.fiscal_year();
    let by_account: BTreeMap<(&str, &str), &PasswordState> = states
        .iter()
        .map(|s| ((s.terminal.as_str(), s.user.as_str()), s))
        .collect();
    let in_sites = |site: &str| filter.sites.is_empty() || filter.sites.iter().any(|s| s == site);

    let mut rows: Vec<AccountAudit> = scope
        .iter()
        .filter(|a| in_sites(&a.site))
        .map(|a| {
            let state = by_account.get(&(a.terminal.as_str(), a.user.as_str()));
            let last = state.and_then(|s| last_rotation(s, as_of.cutoff()));
            let pending = state.and_then(|s| pending_rotation(s, as_of.cutoff()));
            let age_days = last
                .as_ref()
                .map(|r| days_between(japan_date(r.at), as_of.date()));
            let rotated_this_fiscal_year = last
                .as_ref()
                .is_some_and(|r| fiscal_year.contains(japan_date(r.at)));
            let mut reasons = Vec::new();
            match age_days {
                None => reasons.push(OverdueReason::NeverRotated),
                Some(age) => {
                    if !rotated_this_fiscal_year {
                        reasons.push(OverdueReason::NotRotatedThisFiscalYear);
                    }
                    if age > i64::from(a.max_age_days) {
                        reasons.push(OverdueReason::OlderThanMaxAge);
                    }
                }
            }
            if pending.is_some() {
                reasons.push(OverdueReason::PendingRotation);
            }
            AccountAudit {
                site: a.site.clone(),
                site_name: inventory
                    .sites
                    .get(&a.site)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                terminal: a.terminal.clone(),
                user: a.user.clone(),
                jobs: a.jobs.clone(),
                policy: Policy {
                    max_age_days: a.max_age_days,
                    keep: a.keep,
                },
                last_rotation: last,
                age_days,
                rotated_this_fiscal_year,
                versions_kept: state.map_or(0, |s| s.history.len()),
                pending,
                overdue: !reasons.is_empty(),
                reasons,
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.site, &a.terminal, &a.user).cmp(&(&b.site, &b.terminal, &b.user)));

    let mut sites: Vec<SiteSummary> = Vec::new();
    for row in &rows {
        if sites.last().is_none_or(|s| s.site != row.site) {
            let site_rows: Vec<&AccountAudit> =
                rows.iter().filter(|r| r.site == row.site).collect();
            sites.push(SiteSummary {
                site: row.site.clone(),
                name: row.site_name.clone(),
                counts: count(&site_rows),
            });
        }
    }
    let all: Vec<&AccountAudit> = rows.iter().collect();
    let totals = count(&all);
    let mut overdue_terminals: Vec<String> = Vec::new();
    for row in rows.iter().filter(|r| r.overdue) {
        if !overdue_terminals.contains(&row.terminal) {
            overdue_terminals.push(row.terminal.clone());
        }
    }

    let scoped: BTreeSet<(&str, &str)> = scope
        .iter()
        .map(|a| (a.terminal.as_str(), a.user.as_str()))
        .collect();
    let unscoped = states
        .iter()
        .filter(|s| !scoped.contains(&(s.terminal.as_str(), s.user.as_str())))
        .filter_map(|s| {
            let site = inventory.terminals.get(&s.terminal).map(|t| t.site.clone());
            let shown = match &site {
                Some(site) => in_sites(site),
                None => filter.sites.is_empty(),
            };
            shown.then(|| UnscopedRecord {
                terminal: s.terminal.clone(),
                user: s.user.clone(),
                site,
                last_rotation: last_rotation(s, as_of.cutoff()),
                pending: pending_rotation(s, as_of.cutoff()).is_some(),
            })
        })
        .collect();

    if filter.overdue_only {
        rows.retain(|r| r.overdue);
    }
    RotationAudit {
        schema: SCHEMA,
        as_of: as_of.date(),
        fiscal_year,
        filter,
        accounts: rows,
        sites,
        totals,
        overdue_terminals,
        unscoped,
    }
}

fn count(rows: &[&AccountAudit]) -> Counts {
    let terminals: BTreeSet<&str> = rows.iter().map(|r| r.terminal.as_str()).collect();
    let overdue_terminals: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.overdue)
        .map(|r| r.terminal.as_str())
        .collect();
    Counts {
        terminals: terminals.len(),
        accounts: rows.len(),
        rotated_this_fiscal_year: rows.iter().filter(|r| r.rotated_this_fiscal_year).count(),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        overdue_terminals: overdue_terminals.len(),
        pending: rows.iter().filter(|r| r.pending.is_some()).count(),
    }
}

fn japan_time<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(
        &at.to_zoned(japan().clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
    )
}

fn japan_minute(at: Timestamp) -> String {
    at.to_zoned(japan().clone())
        .strftime("%Y-%m-%d %H:%M JST")
        .to_string()
}

/// Why an account is overdue, in words.
fn describe(row: &AccountAudit, fiscal_year: FiscalYear) -> String {
    if row.reasons.is_empty() {
        return "ok".to_string();
    }
    let words: Vec<String> = row
        .reasons
        .iter()
        .map(|reason| match reason {
            OverdueReason::NeverRotated => "never rotated".to_string(),
            OverdueReason::NotRotatedThisFiscalYear => {
                format!("not rotated in {fiscal_year}")
            }
            OverdueReason::OlderThanMaxAge => format!(
                "{} days old (max {})",
                row.age_days.unwrap_or_default(),
                row.policy.max_age_days
            ),
            OverdueReason::PendingRotation => match &row.pending {
                Some(p) => format!(
                    "rotation to v{} pending since {} (run {}, {}): reconcile it",
                    p.version,
                    japan_minute(p.begun_at),
                    p.run,
                    p.operator
                ),
                None => "rotation pending: reconcile it".to_string(),
            },
        })
        .collect();
    format!("OVERDUE: {}", words.join("; "))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn counts_line(c: &Counts, fiscal_year: FiscalYear) -> String {
    format!(
        "{}, {}: {} rotated in {fiscal_year}, {} overdue ({}){}",
        plural(c.terminals, "terminal", "terminals"),
        plural(c.accounts, "account", "accounts"),
        c.rotated_this_fiscal_year,
        c.overdue,
        plural(c.overdue_terminals, "terminal", "terminals"),
        if c.pending > 0 {
            format!(", {} pending", c.pending)
        } else {
            String::new()
        }
    )
}

/// The audit for people: a heading, an aligned table, per-site summaries, the overdue
/// terminals and any store records outside the scope. Never contains a password.
pub fn render_text(report: &RotationAudit) -> String {
    let fy = report.fiscal_year;
    let mut out = format!(
        "Password rotations as of {} ({fy}: {} to {})\n",
        report.as_of,
        fy.start(),
        fy.end()
    );
    if !report.filter.sites.is_empty() {
        let _ = writeln!(out, "sites: {}", report.filter.sites.join(", "));
    }
    out.push('\n');

    let header = [
        "SITE",
        "TERMINAL",
        "USER",
        "LAST ROTATED",
        "AGE",
        "BY",
        "RUN",
        "KEPT",
        "STATUS",
    ];
    let table: Vec<[String; 9]> = report
        .accounts
        .iter()
        .map(|r| {
            let last = r.last_rotation.as_ref();
            [
                r.site.clone(),
                r.terminal.clone(),
                r.user.clone(),
                last.map_or_else(|| "never".to_string(), |l| japan_minute(l.at)),
                r.age_days
                    .map_or_else(|| "-".to_string(), |d| format!("{d}d")),
                last.map_or_else(|| "-".to_string(), |l| l.operator.clone()),
                last.map_or_else(|| "-".to_string(), |l| l.run.clone()),
                format!("{}/{}", r.versions_kept, r.policy.keep),
                describe(r, fy),
            ]
        })
        .collect();
    if table.is_empty() {
        out.push_str(if report.filter.overdue_only {
            "no overdue accounts\n"
        } else {
            "no accounts in scope: no password_rotation job rotates a terminal here\n"
        });
    } else {
        let rows: Vec<Vec<&str>> = std::iter::once(header.to_vec())
            .chain(
                table
                    .iter()
                    .map(|row| row.iter().map(String::as_str).collect()),
            )
            .collect();
        for line in align_columns(&rows, &[]) {
            out.push_str(&line);
            out.push('\n');
        }
    }

    out.push('\n');
    for site in &report.sites {
        let _ = writeln!(
            out,
            "{} ({}): {}",
            site.site,
            site.name,
            counts_line(&site.counts, fy)
        );
    }
    let _ = writeln!(out, "total: {}", counts_line(&report.totals, fy));
    if report.overdue_terminals.is_empty() {
        out.push_str("no overdue terminals\n");
    } else {
        let _ = writeln!(
            out,
            "overdue terminals ({}): {}",
            report.overdue_terminals.len(),
            report.overdue_terminals.join(", ")
        );
    }
    if !report.unscoped.is_empty() {
        out.push_str("\nrecorded in the password store but rotated by no password_rotation job:\n");
        for u in &report.unscoped {
            let _ = writeln!(
                out,
                "  {}@{} ({}): {}{}",
                u.user,
                u.terminal,
                u.site.as_deref().unwrap_or("not in the inventory"),
                u.last_rotation.as_ref().map_or_else(
                    || "never rotated".to_string(),
                    |l| format!(
                        "last rotated {} by {} (run {})",
                        japan_minute(l.at),
                        l.operator,
                        l.run
                    )
                ),
                if u.pending {
                    "; a rotation is pending"
                } else {
                    ""
                }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{CurrentEntry, HistoryEntry, PendingEntry};
    use jiff::civil::date;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn scoped(site: &str, terminal: &str) -> ScopedAccount {
        ScopedAccount {
            site: site.to_string(),
            terminal: terminal.to_string(),
            user: "admin".to_string(),
            jobs: vec!["rotation".to_string()],
            max_age_days: 365,
            keep: 3,
        }
    }

    fn state(terminal: &str, set_at: Option<&str>, history: &[&str]) -> PasswordState {
        PasswordState {
            terminal: terminal.to_string(),
            user: "admin".to_string(),
            next_version: 10,
            current: set_at.map(|at| CurrentEntry {
                version: 9,
                set_at: ts(at),
                run: format!("run-{at}"),
                operator: "yamada".to_string(),
                hash_sha256: "00".to_string(),
            }),
            pending: None,
            history: history
                .iter()
                .enumerate()
                .map(|(i, at)| HistoryEntry {
                    version: 8 - i as u64,
                    set_at: ts(at),
                    retired_at: ts(at),
                    run: format!("run-{at}"),
                    operator: "suzuki".to_string(),
                    hash_sha256: "00".to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn reasons_follow_fiscal_year_and_age() {
        let scope = vec![
            scoped("a", "a-1"),
            scoped("a", "a-2"),
            scoped("b", "b-1"),
            scoped("b", "b-2"),
        ];
        let states = vec![
            // 2026-04-01 00:30 JST: first hour of FY2026.
            state("a-1", Some("2026-03-31T15:30:00Z"), &[]),
            // 2026-03-31 23:30 JST: last hour of FY2025, 216 days before 2026-11-02.
            state("a-2", Some("2026-03-31T14:30:00Z"), &[]),
            // 2025-10-01: FY2025 and 397 days old.
            state("b-1", Some("2025-10-01T01:00:00Z"), &[]),
        ];
        let report = audit(
            &Inventory::default(),
            &scope,
            &states,
            AsOf::end_of(date(2026, 11, 2)),
            Filter::default(),
        );
        let got: Vec<(&str, Option<i64>, &[OverdueReason])> = report
            .accounts
            .iter()
            .map(|r| (r.terminal.as_str(), r.age_days, r.reasons.as_slice()))
            .collect();
        use OverdueReason::*;
        assert_eq!(
            got,
            vec![
                ("a-1", Some(215), &[][..]),
                ("a-2", Some(216), &[NotRotatedThisFiscalYear][..]),
                (
                    "b-1",
                    Some(397),
                    &[NotRotatedThisFiscalYear, OlderThanMaxAge][..]
                ),
                ("b-2", None, &[NeverRotated][..]),
            ]
        );
        assert_eq!(report.overdue_terminals, ["a-2", "b-1", "b-2"]);
        assert_eq!(
            (
                report.totals.rotated_this_fiscal_year,
                report.totals.overdue
            ),
            (1, 3)
        );
    }

    #[test]
    fn past_as_of_uses_history_and_ignores_later_records() {
        let scope = vec![scoped("a", "a-1")];
        let mut s = state(
            "a-1",
            Some("2026-10-01T01:00:00Z"),
            &["2025-10-01T01:00:00Z"],
        );
        s.pending = Some(PendingEntry {
            version: 10,
            created_at: ts("2026-12-01T01:00:00Z"),
            run: "later".to_string(),
            operator: "sato".to_string(),
            hash_sha256: "00".to_string(),
        });
        let states = vec![s];
        let report = audit(
            &Inventory::default(),
            &scope,
            &states,
            AsOf::end_of(date(2026, 3, 31)),
            Filter::default(),
        );
        let row = &report.accounts[0];
        assert_eq!(row.last_rotation.as_ref().map(|r| r.version), Some(8));
        assert!(row.pending.is_none());
        assert!(row.rotated_this_fiscal_year, "2025-10-01 is in FY2025");
        assert!(!row.overdue);
        let now = audit(
            &Inventory::default(),
            &scope,
            &states,
            AsOf::end_of(date(2026, 12, 1)),
            Filter::default(),
        );
        assert_eq!(now.accounts[0].reasons, [OverdueReason::PendingRotation]);
        assert_eq!(
            now.accounts[0].last_rotation.as_ref().map(|r| r.version),
            Some(9)
        );
    }
}
