//! `seibi secrets`: the age-encrypted secrets store, its recipients and the password reveal.
//!
//! Thin: every subcommand parses its arguments and calls [`crate::secrets`]. Secret values come
//! in on standard input only (never argv, which other users can read in `ps`) and go out only
//! for `show` and `reveal`, which say so.

use crate::run::lock::{Holder as LockHolder, ProjectLock};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use zeroize::Zeroizing;

use super::Printer;
use super::operator;
use crate::journal::{Record, Reveal};
use crate::secrets::{
    Account, EditOutcome, Identity, PasswordStore, PublicKey, Secret, SecretsStore, lint,
};

/// `seibi secrets ...`
#[derive(Debug, clap::Args)]
pub struct SecretsArgs {
    /// Identity to decrypt with: an age identity file or an unencrypted ed25519 SSH private key.
    #[arg(long, short = 'i', env = "SEIBI_IDENTITY", global = true)]
    pub identity: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: SecretsCommand,
}

/// The `seibi secrets` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Create secrets/recipients.txt (listing you) and an empty index.
    Init {
        /// Your name or role, as it should appear in the recipients list.
        #[arg(long)]
        name: String,
        /// Public key to list (default: the public key of --identity).
        #[arg(long, conflicts_with = "new_identity")]
        recipient: Option<String>,
        /// Create a new age identity file here (mode 0600; keep it outside the project) and
        /// list its public key.
        #[arg(long)]
        new_identity: Option<PathBuf>,
    },
    /// Edit an encrypted file in $VISUAL or $EDITOR; re-encrypts only if the text changed.
    Edit {
        /// The file (`prod` or `prod.age`); optional when there is only one.
        file: Option<String>,
    },
    /// Print one secret's value on standard output.
    Show {
        /// The secret's name.
        key: String,
    },
    /// Set a secret; the value is read from standard input, never from the command line.
    Set {
        /// The secret's name.
        key: String,
        /// The file for a new secret (`prod` or `prod.age`).
        #[arg(long)]
        file: Option<String>,
    },
    /// List secret names, files and versions (no identity needed).
    List,
    /// Add or remove people who can read the secrets.
    Recipients {
        /// What to do.
        #[command(subcommand)]
        action: RecipientsCommand,
    },
    /// Re-encrypt every file to the current recipients and rebuild the index.
    Rekey,
    /// Find files not encrypted to the current recipients, and plaintext secrets.
    Lint,
    /// Show the current password of a terminal account; the reveal is logged with your reason.
    Reveal {
        /// The terminal.
        terminal: String,
        /// The local account (default: the only one recorded for the terminal).
        #[arg(long)]
        user: Option<String>,
        /// Why you need it (recorded in the signed journal).
        #[arg(long)]
        reason: String,
        /// Your SSH key on the roster, which signs the journal of the reveal [default:
        /// ~/.ssh/id_ed25519, else ssh-agent].
        #[arg(long, value_name = "FILE")]
        sign_key: Option<PathBuf>,
        /// Where the roster and the journals are.
        #[command(flatten)]
        journal: operator::JournalArgs,
    },
}

/// `seibi secrets recipients ...`
#[derive(Debug, clap::Subcommand)]
pub enum RecipientsCommand {
    /// Add a recipient; then run `seibi secrets rekey`.
    Add {
        /// Person or role, e.g. "山田 (operator)".
        name: String,
        /// `age1...`, `ssh-ed25519 AAAA...`, or a file holding the public key (e.g. ~/.ssh/id_ed25519.pub).
        #[arg(required = true, num_args = 1..)]
        key: Vec<String>,
    },
    /// Remove a recipient; then run `seibi secrets rekey`.
    Remove {
        /// The name as listed.
        name: String,
    },
    /// Show the list.
    List,
}

/// Runs `seibi secrets` in `project`.
pub fn run(args: SecretsArgs, project: &Path) -> anyhow::Result<ExitCode> {
    let dir = project.join("secrets");
    let identity_path = args.identity.clone();
    let identity = || -> anyhow::Result<Option<Identity>> {
        match &identity_path {
            Some(path) => Ok(Some(Identity::from_file(path)?)),
            None => Ok(None),
        }
    };
    let mut stdout = Printer::get().stdout();
    match args.command {
        SecretsCommand::Init {
            name,
            recipient,
            new_identity,
        } => {
            let key = match (recipient, new_identity) {
                (Some(text), _) => PublicKey::parse(&text).map_err(anyhow::Error::msg)?,
                (None, Some(path)) => write_new_identity(&path)?,
                (None, None) => match identity()? {
                    Some(id) => id
                        .public_keys()
                        .first()
                        .cloned()
                        .context("the identity has no public key")?,
                    None => bail!(
                        "say whose key to list: --identity FILE (or SEIBI_IDENTITY), --recipient KEY, or --new-identity PATH"
                    ),
                },
            };
            SecretsStore::init(&dir, &name, key.clone())?;
            writeln!(
                stdout,
                "created {} listing {name} ({})",
                dir.join(crate::secrets::RECIPIENTS_FILE).display(),
                key.kind()
            )?;
        }
        SecretsCommand::Edit { file } => {
            let mut store = SecretsStore::open(&dir, identity()?)?;
            let file = match file {
                Some(f) => f,
                None => only_file(&store)?,
            };
            let editor = std::env::var("VISUAL")
                .or_else(|_| std::env::var("EDITOR"))
                .unwrap_or_else(|_| "vi".to_string());
            match store.edit(&file, &editor)? {
                EditOutcome::Unchanged => writeln!(stdout, "no change; nothing written")?,
                EditOutcome::Changed { bumped, removed } => {
                    writeln!(stdout, "re-encrypted {file}")?;
                    for name in bumped {
                        let version = store.version(&name).unwrap_or(1);
                        writeln!(stdout, "  {name}: now version {version}")?;
                    }
                    for name in removed {
                        writeln!(stdout, "  {name}: removed")?;
                    }
                }
            }
        }
        SecretsCommand::Show { key } => {
            let store = SecretsStore::open(&dir, identity()?)?;
            let value = store.get(&key)?;
            let mut line = Zeroizing::new(value.expose().clone());
            line.push('\n');
            stdout.write_all(line.as_bytes())?;
        }
        SecretsCommand::Set { key, file } => {
            let mut store = SecretsStore::open(&dir, identity()?)?;
            let value = read_value_from_stdin()?;
            let version = match file {
                Some(f) => store.set_in(&f, &key, value)?,
                None => store.set(&key, value)?,
            };
            let file = store.index().file_of(&key).unwrap_or_default().to_string();
            writeln!(stdout, "set {key} (version {version}) in {file}")?;
        }
        SecretsCommand::List => {
            let store = SecretsStore::open(&dir, None)?;
            for name in store.keys() {
                writeln!(stdout, "{}\tv{}\t{}", name.name, name.version, name.file)?;
            }
        }
        SecretsCommand::Recipients { action } => {
            let mut store = SecretsStore::open(&dir, None)?;
            match action {
                RecipientsCommand::Add { name, key } => {
                    let key = recipient_key(&key.join(" "))?;
                    store.recipients_mut().add(&name, key)?;
                    store.recipients().save()?;
                    writeln!(
                        stdout,
                        "added {name}; now run `seibi secrets rekey` so the existing files can be read with their key"
                    )?;
                }
                RecipientsCommand::Remove { name } => {
                    store.recipients_mut().remove(&name)?;
                    store.recipients().save()?;
                    writeln!(
                        stdout,
                        "removed {name}; now run `seibi secrets rekey` so new copies stop being readable with their key, and rotate any secret they knew (old copies stay in version control history)"
                    )?;
                }
                RecipientsCommand::List => {
                    for r in store.recipients().entries() {
                        writeln!(stdout, "{}: {}", r.name, r.key)?;
                    }
                }
            }
        }
        SecretsCommand::Rekey => {
            let mut store = SecretsStore::open(&dir, identity()?)?;
            let done = store.rekey()?;
            writeln!(
                stdout,
                "re-encrypted {} file(s) to {} recipient(s)",
                done.len(),
                store.recipients().entries().len()
            )?;
        }
        SecretsCommand::Lint => {
            let id = identity()?;
            let diagnostics = lint(project, &dir, id.as_ref())?;
            let errors = diagnostics.error_count();
            let warnings = diagnostics.iter().count() - errors;
            for d in diagnostics.iter() {
                write!(stdout, "{d}")?;
            }
            writeln!(
                stdout,
                "secrets lint: {errors} error(s), {warnings} warning(s)"
            )?;
            if errors > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        SecretsCommand::Reveal {
            terminal,
            user,
            reason,
            sign_key,
            journal,
        } => {
            let Some(id) = identity()? else {
                bail!(
                    "revealing a password needs an identity; pass --identity FILE or set SEIBI_IDENTITY"
                );
            };
            let store = PasswordStore::open(&dir)?;
            let account = match user {
                Some(u) => Account::new(&terminal, &u)?,
                None => only_account(&store, &terminal)?,
            };
            // Only an operator on the roster may see a password, and the journal they sign says
            // so before the value is shown: a reveal that cannot be journaled is not shown.
            let roster = journal.roster_path(project);
            let passphrases = operator::ask_passphrases(sign_key.iter())?;
            let (signer, name) =
                operator::operator_signer(&roster, sign_key, &passphrases, "reveal passwords")?;
            // The reveal writes the password store and a journal: one writer per project.
            let run = operator::run_id();
            let _lock = ProjectLock::acquire(
                project,
                &LockHolder::this_process(&run, &name, "secrets reveal"),
            )?;
            let value = store.reveal(&account, &id, &name, &reason)?;
            let reveal = Record::Reveal(Reveal {
                terminal: Some(account.terminal().to_string()),
                secret: account.secret_name(),
                reason: reason.clone(),
            });
            let journal =
                operator::single_record_journal(&journal.logs_dir(project), &run, signer, reveal)
                    .context("the reveal could not be journaled, so the password is not shown")?;
            let mut line = Zeroizing::new(value.expose().clone());
            line.push('\n');
            stdout.write_all(line.as_bytes())?;
            Printer::get().status(format_args!(
                "reveal of {account} by {name} recorded in {} (signed; check with `seibi journal verify`)",
                journal.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The one `.age` file, when `edit` is not told which.
fn only_file(store: &SecretsStore) -> anyhow::Result<String> {
    let files = store.files()?;
    match files.as_slice() {
        [only] => Ok(only.clone()),
        [] => Ok(crate::secrets::DEFAULT_FILE.to_string()),
        _ => bail!(
            "{} holds several files ({}); say which one to edit",
            store.dir().display(),
            files.join(", ")
        ),
    }
}

/// The one recorded account on `terminal`, when `reveal` is not told which.
fn only_account(store: &PasswordStore, terminal: &str) -> anyhow::Result<Account> {
    let mut on_terminal: Vec<Account> = store
        .accounts()?
        .into_iter()
        .filter(|a| a.terminal() == terminal)
        .collect();
    match on_terminal.len() {
        1 => Ok(on_terminal.remove(0)),
        0 => bail!("no password is recorded for terminal `{terminal}`"),
        _ => bail!(
            "terminal `{terminal}` has several accounts ({}); say which with --user",
            on_terminal
                .iter()
                .map(|a| a.user().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A public key given as text or as a file holding it.
fn recipient_key(arg: &str) -> anyhow::Result<PublicKey> {
    let path = Path::new(arg);
    if !arg.starts_with("age1") && !arg.starts_with("ssh-") && path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .with_context(|| format!("{} holds no public key", path.display()))?;
        return PublicKey::parse(line).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    PublicKey::parse(arg).map_err(anyhow::Error::msg)
}

/// Reads a secret from standard input; one trailing newline is dropped.
fn read_value_from_stdin() -> anyhow::Result<Secret<String>> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        Printer::get().error(format_args!("type the value, then Enter and Ctrl-D:"));
    }
    let mut text = Zeroizing::new(String::new());
    stdin
        .read_to_string(&mut text)
        .context("cannot read the value from standard input")?;
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        bail!("the value on standard input is empty; nothing was set");
    }
    Ok(Secret::new(trimmed.to_string()))
}

/// Writes a new age identity file (mode 0600, refusing to overwrite) and returns its public key.
fn write_new_identity(path: &Path) -> anyhow::Result<PublicKey> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let (text, public) = Identity::generate_x25519();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(text.expose().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Printer::get().status(format_args!(
        "wrote a new identity to {}; back it up and keep it out of the project",
        path.display()
    ));
    Ok(public)
}
