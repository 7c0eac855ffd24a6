//! [`PasswordStore`]: local account passwords per terminal, with a two-phase rotation that
//! survives a crash at any point.
//!
//! Layout under `secrets/passwords/<terminal>/<user>/`:
//! - `v<N>.age`: one password version, the bare value encrypted to the current recipients (so
//!   in an emergency `age -d -i KEY v7.age` recovers it without seibi);
//! - `state.yml`: plaintext metadata, never a value: which version is `current` (set when, by
//!   which run and operator), which is `pending`, and the `history`, each with the SHA-256 of
//!   the exact `$6$` hash sent to the terminal.
//!
//! Writing needs only the public recipients, so an operator can rotate without being able to
//! read old passwords; reading ([`PasswordStore::reveal`]) needs an identity and is logged in
//! `secrets/reveals.jsonl` (which identity read which version, who, when, why; no values).
//! `seibi secrets reveal` also records each reveal in a signed journal of its own.
//!
//! The executor's protocol: [`PasswordStore::begin`] durably records the new value as pending
//! and returns the hash to send (`chpasswd -e`, over stdin); once the terminal has it,
//! [`PasswordStore::commit`] makes it current (the old one goes to history, trimmed to the
//! policy's `keep`); if setting failed, [`PasswordStore::abandon`]. After a crash,
//! [`PasswordStore::pending`] lists what is unresolved and [`PasswordStore::reconcile`] compares
//! the hash the terminal actually has with the recorded ones and commits or abandons.

use std::fmt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::atomic_file::{append_line_durable, create_dir_durable, remove_durable, write_atomic};
use super::shadow_hash::sha512_crypt;
use super::store::{RECIPIENTS_FILE, decrypt_file, encrypt_for, sha256_hex};
use super::{Identity, PublicKey, Recipients, Secret, SecretsError};
use crate::source::{self, SourceFile, YamlDocument};

/// The password store's directory inside the secrets directory.
pub const PASSWORDS_DIR: &str = "passwords";
/// The reveal log inside the secrets directory.
pub const REVEALS_FILE: &str = "reveals.jsonl";
const STATE_FILE: &str = "state.yml";

/// A local account on a terminal, e.g. `admin@chuo-t01`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account {
    terminal: String,
    user: String,
}

impl Account {
    /// Names an account. Both names become directory names, so they are restricted to
    /// letters, digits, `.`, `_` and `-`, not starting with `.` or `-`.
    pub fn new(terminal: &str, user: &str) -> Result<Self, SecretsError> {
        check_path_name("terminal name", terminal)?;
        check_path_name("account name", user)?;
        Ok(Self {
            terminal: terminal.to_string(),
            user: user.to_string(),
        })
    }

    /// The terminal.
    pub fn terminal(&self) -> &str {
        &self.terminal
    }

    /// The local user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Its name in the store, as journals record it: `passwords/<terminal>/<user>`.
    pub fn secret_name(&self) -> String {
        format!("passwords/{}/{}", self.terminal, self.user)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.terminal)
    }
}

/// Who is changing a password, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The run (journal) id.
    pub run: String,
    /// The operator from the roster.
    pub operator: String,
}

/// The password the terminal has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentEntry {
    /// Version number (the `v<N>.age` file).
    pub version: u64,
    /// When it was committed.
    pub set_at: Timestamp,
    /// The run that set it.
    pub run: String,
    /// The operator of that run.
    pub operator: String,
    /// SHA-256 of the `$6$` hash sent to the terminal.
    pub hash_sha256: String,
}

/// A password recorded before it was sent, not yet confirmed on the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingEntry {
    /// Version number (the `v<N>.age` file).
    pub version: u64,
    /// When `begin` recorded it.
    pub created_at: Timestamp,
    /// The run that began the rotation.
    pub run: String,
    /// The operator of that run.
    pub operator: String,
    /// SHA-256 of the `$6$` hash to be sent.
    pub hash_sha256: String,
}

/// A past password, kept so that a failed rotation can be recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// Version number (the `v<N>.age` file).
    pub version: u64,
    /// When it became current.
    pub set_at: Timestamp,
    /// When it was replaced.
    pub retired_at: Timestamp,
    /// The run that set it.
    pub run: String,
    /// The operator of that run.
    pub operator: String,
    /// SHA-256 of its `$6$` hash.
    pub hash_sha256: String,
}

/// The metadata of one account (`state.yml`): never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordState {
    /// The terminal.
    pub terminal: String,
    /// The local user.
    pub user: String,
    /// The number the next version will get.
    pub next_version: u64,
    /// The password the terminal has, once one was set by seibi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentEntry>,
    /// A rotation begun and not yet committed or abandoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingEntry>,
    /// Past passwords, newest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

impl PasswordState {
    fn new(account: &Account) -> Self {
        Self {
            terminal: account.terminal.clone(),
            user: account.user.clone(),
            next_version: 1,
            current: None,
            pending: None,
            history: Vec::new(),
        }
    }
}

/// What `begin` hands the executor.
#[derive(Debug)]
pub struct Begun {
    /// The pending version.
    pub version: u64,
    /// The `$6$` hash to send with `chpasswd -e` (over stdin).
    pub shadow_hash: Secret<String>,
}

/// What `reconcile` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciliation {
    /// The terminal has the pending password: it is now current.
    Committed(u64),
    /// The terminal still has the current password: the pending one was dropped.
    Abandoned(u64),
    /// Nothing was pending.
    NothingPending,
    /// The terminal's hash matches neither; the pending entry is kept for a person to decide.
    Unrecognized {
        /// A history version it matches, if any (the terminal was rolled back).
        matches_history: Option<u64>,
    },
}

/// One line of `secrets/reveals.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealRecord {
    /// When.
    pub at: Timestamp,
    /// Which terminal.
    pub terminal: String,
    /// Which account.
    pub user: String,
    /// Which version was shown.
    pub version: u64,
    /// Who asked.
    pub operator: String,
    /// Why (required).
    pub reason: String,
    /// The identity's public key that decrypted it.
    pub identity: String,
}

/// The password store of a secrets directory.
#[derive(Debug, Clone)]
pub struct PasswordStore {
    secrets_dir: PathBuf,
    recipients: Vec<PublicKey>,
}

impl PasswordStore {
    /// Opens the store in `secrets_dir` (the directory holding `recipients.txt`).
    pub fn open(secrets_dir: &Path) -> Result<Self, SecretsError> {
        let recipients = Recipients::load(&secrets_dir.join(RECIPIENTS_FILE))?;
        Ok(Self {
            secrets_dir: secrets_dir.to_path_buf(),
            recipients: recipients.keys(),
        })
    }

    fn account_dir(&self, account: &Account) -> PathBuf {
        self.secrets_dir
            .join(PASSWORDS_DIR)
            .join(&account.terminal)
            .join(&account.user)
    }

    fn version_path(&self, account: &Account, version: u64) -> PathBuf {
        self.account_dir(account).join(format!("v{version}.age"))
    }

    /// The metadata of an account (a fresh state if nothing was recorded yet).
    pub fn state(&self, account: &Account) -> Result<PasswordState, SecretsError> {
        let path = self.account_dir(account).join(STATE_FILE);
        if !path.exists() {
            return Ok(PasswordState::new(account));
        }
        let file = SourceFile::read(&path).map_err(SecretsError::Invalid)?;
        let doc = YamlDocument::parse(file).map_err(SecretsError::Invalid)?;
        let state: PasswordState = doc.root().deserialize().map_err(SecretsError::Invalid)?;
        if state.terminal != account.terminal || state.user != account.user {
            return Err(SecretsError::Conflict(format!(
                "{} is for {}@{}, not {account}; was the directory moved?",
                path.display(),
                state.user,
                state.terminal
            )));
        }
        Ok(state)
    }

    fn save_state(&self, account: &Account, state: &PasswordState) -> Result<(), SecretsError> {
        let dir = self.account_dir(account);
        create_dir_durable(&dir)?;
        let path = dir.join(STATE_FILE);
        let body = source::yaml::to_yaml_string(state).map_err(|reason| SecretsError::Encrypt {
            path: path.clone(),
            reason,
        })?;
        let text = format!(
            "# seibi password state for {account}: metadata only; the values are the v*.age files beside it.\n{body}"
        );
        write_atomic(&path, text.as_bytes())
    }

    /// Every account with recorded state, sorted.
    pub fn accounts(&self) -> Result<Vec<Account>, SecretsError> {
        let root = self.secrets_dir.join(PASSWORDS_DIR);
        let mut out = Vec::new();
        for terminal in sorted_dirs(&root)? {
            for user in sorted_dirs(&root.join(&terminal))? {
                if root.join(&terminal).join(&user).join(STATE_FILE).is_file()
                    && let Ok(account) = Account::new(&terminal, &user)
                {
                    out.push(account);
                }
            }
        }
        Ok(out)
    }

    /// Phase one: records `new` as the pending password of `account`, durably (the encrypted
    /// value and then the state are fsynced before this returns), and returns the hash to send.
    /// Refused while another rotation of the account is pending: reconcile that one first.
    pub fn begin(
        &self,
        account: &Account,
        new: Secret<String>,
        provenance: &Provenance,
    ) -> Result<Begun, SecretsError> {
        self.begin_at(account, new, provenance, Timestamp::now())
    }

    /// [`PasswordStore::begin`], recording `at` as the time the rotation began (imports of
    /// rotations done elsewhere, and tests that control the clock).
    pub fn begin_at(
        &self,
        account: &Account,
        new: Secret<String>,
        provenance: &Provenance,
        at: Timestamp,
    ) -> Result<Begun, SecretsError> {
        let mut state = self.state(account)?;
        if let Some(p) = &state.pending {
            return Err(SecretsError::Conflict(format!(
                "a rotation of {account} (version {}, run {}, begun {}) is still pending; reconcile it first: commit if the terminal has the new password, abandon if not",
                p.version, p.run, p.created_at
            )));
        }
        let version = state.next_version.max(1);
        let shadow_hash = sha512_crypt(&new)?;
        let path = self.version_path(account, version);
        let ciphertext = encrypt_for(&path, new.expose().as_bytes(), &self.recipients)?;
        create_dir_durable(&self.account_dir(account))?;
        // The value first: a crash before the state is written leaves an unreferenced file that
        // the next begin overwrites, and the terminal untouched (begin had not returned).
        write_atomic(&path, &ciphertext)?;
        state.pending = Some(PendingEntry {
            version,
            created_at: at,
            run: provenance.run.clone(),
            operator: provenance.operator.clone(),
            hash_sha256: sha256_hex(shadow_hash.expose().as_bytes()),
        });
        state.next_version = version + 1;
        self.save_state(account, &state)?;
        Ok(Begun {
            version,
            shadow_hash,
        })
    }

    /// Phase two: the terminal has the pending password. The current one moves to the front of
    /// the history, which keeps the newest `keep` entries; versions no longer kept are deleted.
    pub fn commit(&self, account: &Account, keep: u32) -> Result<CurrentEntry, SecretsError> {
        self.commit_at(account, keep, Timestamp::now())
    }

    /// [`PasswordStore::commit`], recording `at` as the time the password became current (and
    /// the old one was retired).
    pub fn commit_at(
        &self,
        account: &Account,
        keep: u32,
        at: Timestamp,
    ) -> Result<CurrentEntry, SecretsError> {
        let mut state = self.state(account)?;
        let Some(pending) = state.pending.take() else {
            return Err(SecretsError::Conflict(format!(
                "no rotation of {account} is pending; nothing to commit"
            )));
        };
        let now = at;
        if let Some(old) = state.current.take() {
            state.history.insert(
                0,
                HistoryEntry {
                    version: old.version,
                    set_at: old.set_at,
                    retired_at: now,
                    run: old.run,
                    operator: old.operator,
                    hash_sha256: old.hash_sha256,
                },
            );
        }
        state
            .history
            .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
        let current = CurrentEntry {
            version: pending.version,
            set_at: now,
            run: pending.run,
            operator: pending.operator,
            hash_sha256: pending.hash_sha256,
        };
        state.current = Some(current.clone());
        self.save_state(account, &state)?;
        self.remove_unreferenced(account, &state)?;
        Ok(current)
    }

    /// The pending password was not set on the terminal: forget it.
    pub fn abandon(&self, account: &Account) -> Result<PendingEntry, SecretsError> {
        let mut state = self.state(account)?;
        let Some(pending) = state.pending.take() else {
            return Err(SecretsError::Conflict(format!(
                "no rotation of {account} is pending; nothing to abandon"
            )));
        };
        self.save_state(account, &state)?;
        self.remove_unreferenced(account, &state)?;
        Ok(pending)
    }

    /// Every pending rotation, for reconciliation at the start of a run.
    pub fn pending(&self) -> Result<Vec<(Account, PendingEntry)>, SecretsError> {
        let mut out = Vec::new();
        for account in self.accounts()? {
            if let Some(p) = self.state(&account)?.pending {
                out.push((account, p));
            }
        }
        Ok(out)
    }

    /// Settles a pending rotation from the hash the terminal actually has (the second field of
    /// its `/etc/shadow` line): the pending hash commits, the current hash abandons, anything
    /// else is left pending for a person.
    pub fn reconcile(
        &self,
        account: &Account,
        observed_hash: &str,
        keep: u32,
    ) -> Result<Reconciliation, SecretsError> {
        let state = self.state(account)?;
        let Some(pending) = &state.pending else {
            return Ok(Reconciliation::NothingPending);
        };
        let observed = sha256_hex(observed_hash.trim().as_bytes());
        if observed == pending.hash_sha256 {
            return self
                .commit(account, keep)
                .map(|c| Reconciliation::Committed(c.version));
        }
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.hash_sha256 == observed)
        {
            return self
                .abandon(account)
                .map(|p| Reconciliation::Abandoned(p.version));
        }
        Ok(Reconciliation::Unrecognized {
            matches_history: state
                .history
                .iter()
                .find(|h| h.hash_sha256 == observed)
                .map(|h| h.version),
        })
    }

    /// Decrypts one version of an account's password (pending, current or history).
    pub fn value(
        &self,
        account: &Account,
        version: u64,
        identity: &Identity,
    ) -> Result<Secret<String>, SecretsError> {
        let path = self.version_path(account, version);
        if !path.exists() {
            return Err(SecretsError::Conflict(format!(
                "version {version} of {account} is not stored ({} does not exist)",
                path.display()
            )));
        }
        let plain = decrypt_file(&path, identity)?;
        let text = std::str::from_utf8(&plain).map_err(|_| SecretsError::Corrupt {
            path: path.clone(),
            reason: "it decrypts to something that is not UTF-8 text".to_string(),
        })?;
        Ok(Secret::new(text.to_string()))
    }

    /// Shows the current password of `account` to a person. The reveal is appended to
    /// `secrets/reveals.jsonl` (and fsynced) before the value is returned; a reveal that cannot
    /// be logged does not happen.
    pub fn reveal(
        &self,
        account: &Account,
        identity: &Identity,
        operator: &str,
        reason: &str,
    ) -> Result<Secret<String>, SecretsError> {
        if reason.trim().is_empty() {
            return Err(SecretsError::Conflict(
                "a reveal needs a reason (`--reason \"...\"`); it is logged".to_string(),
            ));
        }
        let state = self.state(account)?;
        let Some(current) = state.current else {
            return Err(SecretsError::Conflict(format!(
                "seibi has not set a password for {account} yet{}",
                if state.pending.is_some() {
                    " (a rotation is pending: reconcile it first)"
                } else {
                    ""
                }
            )));
        };
        let value = self.value(account, current.version, identity)?;
        let record = RevealRecord {
            at: Timestamp::now(),
            terminal: account.terminal.clone(),
            user: account.user.clone(),
            version: current.version,
            operator: operator.to_string(),
            reason: reason.to_string(),
            identity: identity
                .public_keys()
                .first()
                .map(|k| k.to_string())
                .unwrap_or_default(),
        };
        let line = serde_json::to_string(&record)
            .map_err(|e| SecretsError::Conflict(format!("cannot write the reveal record: {e}")))?;
        append_line_durable(&self.secrets_dir.join(REVEALS_FILE), &line)?;
        Ok(value)
    }

    /// Deletes `v<N>.age` files that neither current, pending nor history refers to.
    fn remove_unreferenced(
        &self,
        account: &Account,
        state: &PasswordState,
    ) -> Result<(), SecretsError> {
        let keep: Vec<u64> = state
            .current
            .iter()
            .map(|c| c.version)
            .chain(state.pending.iter().map(|p| p.version))
            .chain(state.history.iter().map(|h| h.version))
            .collect();
        let dir = self.account_dir(account);
        let entries = std::fs::read_dir(&dir).map_err(|e| SecretsError::io("list", &dir, e))?;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(version) = name
                .to_str()
                .and_then(|n| n.strip_prefix('v'))
                .and_then(|n| n.strip_suffix(".age"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if !keep.contains(&version) {
                remove_durable(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn sorted_dirs(dir: &Path) -> Result<Vec<String>, SecretsError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| SecretsError::io("list", dir, e))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

fn check_path_name(what: &'static str, name: &str) -> Result<(), SecretsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(SecretsError::InvalidName {
            what,
            name: name.to_string(),
            reason: "use up to 64 letters, digits, `.`, `_` and `-`, starting with a letter, digit or `_`".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SecretsStore;

    fn setup(dir: &Path) -> (PasswordStore, Identity) {
        let (text, public) = Identity::generate_x25519();
        let id_path = dir.join("id.txt");
        std::fs::write(&id_path, text.expose()).expect("identity");
        let secrets = dir.join("secrets");
        SecretsStore::init(&secrets, "tester", public).expect("init");
        (
            PasswordStore::open(&secrets).expect("open"),
            Identity::from_file(&id_path).expect("id"),
        )
    }

    fn by() -> Provenance {
        Provenance {
            run: "run-1".to_string(),
            operator: "yamada".to_string(),
        }
    }

    #[test]
    fn begin_commit_abandon() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, identity) = setup(dir.path());
        let acct = Account::new("chuo-t01", "admin").expect("account");
        let begun = store
            .begin(&acct, Secret::from("first"), &by())
            .expect("begin");
        assert_eq!(begun.version, 1);
        assert!(begun.shadow_hash.expose().starts_with("$6$"));
        assert!(store.begin(&acct, Secret::from("again"), &by()).is_err());
        store.commit(&acct, 2).expect("commit");
        let b2 = store
            .begin(&acct, Secret::from("second"), &by())
            .expect("begin");
        store.abandon(&acct).expect("abandon");
        assert!(!store.version_path(&acct, b2.version).exists());
        let state = store.state(&acct).expect("state");
        assert_eq!(state.current.as_ref().map(|c| c.version), Some(1));
        assert!(state.pending.is_none());
        let shown = store
            .reveal(&acct, &identity, "suzuki", "console login")
            .expect("reveal");
        assert_eq!(shown.expose(), "first");
        let log =
            std::fs::read_to_string(dir.path().join("secrets").join(REVEALS_FILE)).expect("log");
        let record: RevealRecord = serde_json::from_str(log.trim()).expect("jsonl");
        assert_eq!(
            (record.operator.as_str(), record.reason.as_str()),
            ("suzuki", "console login")
        );
        assert!(!log.contains("first"));
    }

    #[test]
    fn reconcile_by_observed_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, _) = setup(dir.path());
        let acct = Account::new("kita-t02", "admin").expect("account");
        let one = store
            .begin(&acct, Secret::from("one"), &by())
            .expect("begin");
        assert_eq!(
            store
                .reconcile(&acct, one.shadow_hash.expose(), 3)
                .expect("reconcile"),
            Reconciliation::Committed(1)
        );
        let two = store
            .begin(&acct, Secret::from("two"), &by())
            .expect("begin");
        assert_eq!(
            store.reconcile(&acct, "$6$other$x", 3).expect("reconcile"),
            Reconciliation::Unrecognized {
                matches_history: None
            }
        );
        assert_eq!(store.pending().expect("pending").len(), 1);
        assert_eq!(
            store
                .reconcile(&acct, one.shadow_hash.expose(), 3)
                .expect("reconcile"),
            Reconciliation::Abandoned(two.version)
        );
        assert_eq!(
            store
                .reconcile(&acct, one.shadow_hash.expose(), 3)
                .expect("reconcile"),
            Reconciliation::NothingPending
        );
    }

    #[test]
    fn names_must_be_path_safe() {
        assert!(Account::new("../etc", "admin").is_err());
        assert!(Account::new("chuo-t01", "a/b").is_err());
        assert!(Account::new("chuo-t01", ".hidden").is_err());
    }
}
