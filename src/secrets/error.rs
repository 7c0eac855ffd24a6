//! [`SecretsError`]: everything that can go wrong with secrets, each message naming the file and
//! saying what to do next. No variant ever carries a secret value.

use std::io;
use std::path::PathBuf;

use crate::source::Diagnostic;

/// A failure in the secrets store or the password store.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The file was encrypted, but not to any key in the identity.
    #[error(
        "{} is not encrypted to the identity in {}; ask someone who can read it to run `seibi secrets recipients add` and `seibi secrets rekey`",
        path.display(),
        identity.display()
    )]
    NotForIdentity {
        /// The encrypted file.
        path: PathBuf,
        /// The identity file that was tried.
        identity: PathBuf,
    },

    /// The file is damaged or is not an age file.
    #[error(
        "{} is corrupted ({reason}); restore it from version control, e.g. `git checkout -- {}`",
        path.display(),
        path.display()
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What was wrong, without any plaintext.
        reason: String,
    },

    /// The recipients list does not exist.
    #[error(
        "{} does not exist; run `seibi secrets init --name YOUR-NAME` to create it",
        path.display()
    )]
    MissingRecipients {
        /// Where it was expected.
        path: PathBuf,
    },

    /// The recipients list exists but names nobody.
    #[error(
        "{} lists no recipients, so nothing could ever be decrypted; add one with `seibi secrets recipients add NAME KEY`",
        path.display()
    )]
    NoRecipients {
        /// The recipients file.
        path: PathBuf,
    },

    /// A problem in a plaintext file seibi reads (recipients list, index, password state).
    #[error("{0}")]
    Invalid(Diagnostic),

    /// Decrypting was needed but no identity was given.
    #[error(
        "reading {} needs an identity; pass `--identity FILE` or set SEIBI_IDENTITY (an age identity file or an ed25519 SSH private key)",
        path.display()
    )]
    NoIdentity {
        /// The file that had to be decrypted.
        path: PathBuf,
    },

    /// The identity file could not be used.
    #[error("cannot use identity {}: {reason}", path.display())]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },

    /// No secret has this name.
    #[error("no secret named `{key}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| "; `seibi secrets list` shows the names".to_string()))]
    UnknownKey {
        /// The name asked for.
        key: String,
        /// A close existing name.
        suggestion: Option<String>,
    },

    /// A name was refused (a secret key, recipient name, terminal or account).
    #[error("invalid {what} `{name}`: {reason}")]
    InvalidName {
        /// What kind of name.
        what: &'static str,
        /// The name.
        name: String,
        /// Why, and what is allowed.
        reason: String,
    },

    /// A request that conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),

    /// A password policy that cannot be met.
    #[error("password policy cannot be met: {0}")]
    Policy(String),

    /// Encryption failed.
    #[error("cannot encrypt {}: {reason}", path.display())]
    Encrypt {
        /// The file being written.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// The editor failed or the edited text was unusable; the encrypted file was left as it was.
    #[error("{0}")]
    Edit(String),

    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", ...).
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl SecretsError {
    /// An I/O error on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        SecretsError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
