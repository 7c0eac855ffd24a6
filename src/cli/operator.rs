//! Who is at the keyboard: the operator's signing key (a file or one in ssh-agent) checked
//! against the roster, the passphrases of protected key files, run ids, and the journal of a
//! single record. Shared by the commands that write a signed journal: `apply`, `secrets
//! reveal`, `journal seal` and `log work`.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::journal::{Agent, Signer};
use crate::roster::{KeyError, PublicKey, Roster, SigningKey};
use crate::transport::Passphrase;

/// Where the roster and the journals are, for the commands that write a signed journal.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JournalArgs {
    /// The roster of operators [default: PROJECT/roster.yml].
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// Where journals are written [default: PROJECT/logs].
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
}

impl JournalArgs {
    /// The roster file of the project at `root`.
    pub fn roster_path(&self, root: &Path) -> PathBuf {
        self.roster
            .clone()
            .unwrap_or_else(|| root.join(crate::roster::ROSTER_FILE))
    }

    /// The journal directory of the project at `root`.
    pub fn logs_dir(&self, root: &Path) -> PathBuf {
        self.logs.clone().unwrap_or_else(|| root.join("logs"))
    }
}

/// Passphrases typed for protected key files, by path; wiped on drop.
pub type Passphrases = BTreeMap<PathBuf, Passphrase>;

/// Asks, on the controlling terminal, for the passphrase of each protected key file among
/// `paths`: once per file, before anything connects. Without a terminal (CI, cron) a protected
/// key is refused with the hint to use ssh-agent instead; a passphrase never comes from the
/// command line or the environment.
pub fn ask_passphrases<'a>(
    paths: impl Iterator<Item = &'a PathBuf>,
) -> anyhow::Result<Passphrases> {
    let mut out = Passphrases::new();
    for path in paths {
        if out.contains_key(path) {
            continue;
        }
        match SigningKey::read_file(path, None) {
            Err(KeyError::PassphraseNeeded { .. }) => {}
            // Unreadable or unusable keys are reported where they are used.
            _ => continue,
        }
        if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
            bail!(
                "the key {} is protected by a passphrase and there is no terminal to ask it on: load it into ssh-agent (`ssh-add {}`) and run with SSH_AUTH_SOCK set",
                path.display(),
                path.display()
            );
        }
        let typed = rpassword::prompt_password(format!("passphrase for {}: ", path.display()))
            .with_context(|| format!("cannot read the passphrase for {}", path.display()))?;
        let passphrase = Passphrase::new(typed);
        SigningKey::read_file(path, Some(passphrase.expose().as_bytes()))
            .with_context(|| format!("the key {}", path.display()))?;
        out.insert(path.clone(), passphrase);
    }
    Ok(out)
}

/// The operator's signer and name: their key (`key_file`, else `~/.ssh/id_ed25519` when no
/// ssh-agent runs, else the agent's keys) must belong to an operator on the roster at
/// `roster_path` who is valid today, or nothing happens. `doing` names what they want to do,
/// for the refusal ("apply", "reveal passwords").
pub fn operator_signer(
    roster_path: &Path,
    key_file: Option<PathBuf>,
    passphrases: &Passphrases,
    doing: &str,
) -> anyhow::Result<(Signer, String)> {
    let roster = Roster::load(roster_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = jiff::Timestamp::now();
    let key_file = key_file.or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from)?;
        let default = home.join(".ssh/id_ed25519");
        (default.is_file() && std::env::var_os("SSH_AUTH_SOCK").is_none()).then_some(default)
    });
    if let Some(path) = key_file {
        let passphrase = passphrases.get(&path).map(|p| p.expose().as_bytes());
        let key = SigningKey::read_file(&path, passphrase)
            .with_context(|| format!("cannot read the signing key {}", path.display()))?;
        let person = roster
            .authorize_operator(key.public_key(), now)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{e}\nnothing was changed: only operators on the roster ({}) may {doing}",
                    roster_path.display()
                )
            })?;
        let name = person.name.clone();
        return Ok((Signer::from_key(person.id.clone(), key), name));
    }
    let agent = Agent::from_env().map_err(|e| {
        anyhow::anyhow!(
            "{e}: pass --sign-key FILE (the operator's key on the roster) or start ssh-agent"
        )
    })?;
    let mut refusals = Vec::new();
    for identity in agent.identities()? {
        let Ok(key) = PublicKey::from_wire(&identity.blob) else {
            continue;
        };
        match roster.authorize_operator(&key, now) {
            Ok(person) => {
                let name = person.name.clone();
                let signer = Signer::from_agent(person.id.clone(), agent, key)?;
                return Ok((signer, name));
            }
            Err(e) => refusals.push(e.to_string()),
        }
    }
    bail!(
        "no key in ssh-agent belongs to an operator on the roster ({}) who may {doing} today{}\nnothing was changed",
        roster_path.display(),
        if refusals.is_empty() {
            String::new()
        } else {
            format!(":\n  {}", refusals.join("\n  "))
        }
    )
}

/// A run id: UTC time to the second plus the process id, sortable and unique enough per
/// controller.
pub fn run_id() -> String {
    let now = jiff::Timestamp::now();
    format!("{}-{}", now.strftime("%Y%m%dT%H%M%SZ"), std::process::id())
}

/// Writes a journal of its own for one record that belongs to no plan (a reveal, a work entry):
/// start (plan `none`), the record, end, signed. The caller holds the project lock.
pub fn single_record_journal(
    logs: &Path,
    run: &str,
    signer: crate::journal::Signer,
    record: crate::journal::Record,
) -> anyhow::Result<PathBuf> {
    use crate::journal::{JournalWriter, NO_PLAN, RunEnd, RunStart, Tally};
    let mut journal = JournalWriter::create(logs, RunStart::new(run, NO_PLAN), signer)?;
    journal.append(record)?;
    let path = journal.path().to_path_buf();
    journal.finish(RunEnd {
        tally: Tally::default(),
        stopped: None,
    })?;
    Ok(path)
}
