//! Every rotation in a journal: the rotations the password store holds that no journal records.
//!
//! A run records a `rotation` after the password action committed it. A run killed between the
//! commit and that record leaves a password the store has and no journal names. At its start
//! (under the project lock, so no other run is between a commit and its record) each run looks
//! for such rotations, made by runs whose journals are in `logs/`, and records them in its own
//! journal, naming the run that made them (`began_in`). `audit rotations`, the 作業報告書 and the
//! store then agree.

use std::collections::BTreeSet;
use std::path::Path;

use crate::journal::record::{Line, Record, Rotation};
use crate::secrets::PasswordStore;

/// The rotations in the store at `secrets_dir` made by runs that have a journal in `logs` and
/// recorded in none, oldest first.
pub fn unrecorded(logs: &Path, secrets_dir: &Path) -> Vec<Rotation> {
    let Ok(store) = PasswordStore::open(secrets_dir) else {
        return Vec::new();
    };
    let Ok(accounts) = store.accounts() else {
        return Vec::new();
    };
    let (runs, recorded) = journaled(logs);
    let mut out = Vec::new();
    for account in accounts {
        let Ok(state) = store.state(&account) else {
            continue;
        };
        let made = state
            .history
            .iter()
            .map(|h| (h.set_at, h.run.clone(), h.version))
            .chain(
                state
                    .current
                    .iter()
                    .map(|c| (c.set_at, c.run.clone(), c.version)),
            );
        for (set_at, run, version) in made {
            let key = (
                run.clone(),
                account.terminal().to_string(),
                account.user().to_string(),
            );
            if runs.contains(&run) && !recorded.contains(&key) {
                out.push((
                    set_at,
                    Rotation {
                        terminal: account.terminal().to_string(),
                        account: account.user().to_string(),
                        secret: account.secret_name(),
                        reason: Some(format!(
                            "version {version} was set by run {run}, which was interrupted before it could record it"
                        )),
                        began_in: Some(run),
                    },
                ));
            }
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, r)| r).collect()
}

/// The runs with a journal in `logs`, and the (run, terminal, account) of every rotation their
/// journals record (a record with `began_in` stands for that run's rotation).
fn journaled(logs: &Path) -> (BTreeSet<String>, BTreeSet<(String, String, String)>) {
    let mut runs = BTreeSet::new();
    let mut recorded = BTreeSet::new();
    for path in crate::journal::files_in(logs) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut run = None;
        for line in text.lines() {
            match serde_json::from_str::<Line>(line).map(|l| l.record) {
                Ok(Record::RunStart(start)) => {
                    runs.insert(start.run.clone());
                    run = Some(start.run);
                }
                Ok(Record::Rotation(r)) => {
                    if let Some(by) = r.began_in.clone().or_else(|| run.clone()) {
                        recorded.insert((by, r.terminal, r.account));
                    }
                }
                _ => {}
            }
        }
    }
    (runs, recorded)
}
