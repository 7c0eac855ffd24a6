//! Secrets: values that must never leak, and the stores that keep them encrypted.
//!
//! - [`Secret`] is the in-memory type for every secret value: `****` when printed, no
//!   `Serialize`, zeroized on drop, readable only through [`Secret::expose`].
//! - [`SecretsStore`] keeps named secrets in age-encrypted YAML maps (`secrets/*.age`), encrypted
//!   to the people and roles in `secrets/recipients.txt` ([`Recipients`]), with a plaintext
//!   `secrets/index.yml` of names and versions (never values) that needs no private key.
//! - [`PasswordStore`] keeps terminal account passwords with a crash-safe two-phase rotation
//!   (begin → set on the terminal → commit or abandon), history per policy and a reveal log.
//! - [`generate_password`] makes passwords per [`crate::playbook::PasswordPolicy`] and
//!   [`sha512_crypt`] hashes them for `chpasswd -e`.
//! - [`lint`] finds files not encrypted to the current recipients and plaintext secrets.
//!
//! The `age` crate is named only in `age_store.rs`; YAML goes through [`crate::source`].

mod age_store;
mod atomic_file;
mod editor;
mod error;
mod generator;
mod lint;
mod markers;
mod passwords;
mod recipients;
mod secret;
mod shadow_hash;
mod store;

pub use age_store::{Identity, KeyKind, PublicKey};
pub use error::SecretsError;
pub use generator::{SYMBOLS, class_chars, generate_password, word_list};
pub use lint::lint;
pub use passwords::{
    Account, Begun, CurrentEntry, HistoryEntry, PASSWORDS_DIR, PasswordState, PasswordStore,
    PendingEntry, Provenance, REVEALS_FILE, Reconciliation, RevealRecord,
};
pub use recipients::{Recipient, Recipients};
pub use secret::{REDACTED, Secret};
pub use shadow_hash::{sha512_crypt, sha512_crypt_matches, sha512_crypt_with_salt};
pub use store::{
    DEFAULT_FILE, EditOutcome, INDEX_FILE, Index, IndexedFile, RECIPIENTS_FILE, SecretMap,
    SecretName, SecretsStore, indexed_names,
};
