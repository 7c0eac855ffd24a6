//! Who signs a journal's checkpoints, and with what: a private key file or a key held by
//! ssh-agent.
//!
//! A [`Signer`] pairs the operator's roster id (written as `operator` on every line) with a way
//! to make SSHSIG signatures in the [`JOURNAL_NAMESPACE`]. The caller decides the id, normally
//! from [`crate::roster::Roster::authorize_operator`] on the signer's public key, so a journal is
//! only ever started by someone the roster allows.

use std::fmt;
use std::path::Path;

use super::agent::{Agent, AgentError};
use crate::roster::key::sshsig_signed_data;
use crate::roster::{JOURNAL_NAMESPACE, KeyError, PublicKey, Signature, SigningKey};

/// Problems making a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The key (file) could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// ssh-agent could not be used.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The agent does not hold the wanted key.
    #[error(
        "ssh-agent at {socket} does not hold the key {key}; add it with `ssh-add`, or sign with the key file"
    )]
    KeyNotInAgent {
        /// The agent's socket.
        socket: String,
        /// The wanted key.
        key: String,
    },
}

enum Backend {
    // Boxed: a private key is several times larger than an agent handle.
    Key(Box<SigningKey>),
    Agent { agent: Agent, key: PublicKey },
}

/// Makes checkpoint signatures for one operator.
pub struct Signer {
    operator: String,
    backend: Backend,
}

impl Signer {
    /// Signs with a private key already read.
    pub fn from_key(operator: impl Into<String>, key: SigningKey) -> Self {
        Self {
            operator: operator.into(),
            backend: Backend::Key(Box::new(key)),
        }
    }

    /// Signs with a private key file; a passphrase-protected key needs `passphrase`.
    pub fn from_key_file(
        operator: impl Into<String>,
        path: &Path,
        passphrase: Option<&[u8]>,
    ) -> Result<Self, SignerError> {
        Ok(Self::from_key(
            operator,
            SigningKey::read_file(path, passphrase)?,
        ))
    }

    /// Signs through `agent` with `key`, which the agent must hold (checked now, so a missing key
    /// stops the run before it starts).
    pub fn from_agent(
        operator: impl Into<String>,
        agent: Agent,
        key: PublicKey,
    ) -> Result<Self, SignerError> {
        let blob = key.wire_blob()?;
        if !agent.identities()?.iter().any(|id| id.blob == blob) {
            return Err(SignerError::KeyNotInAgent {
                socket: agent.socket().display().to_string(),
                key: key.to_string(),
            });
        }
        Ok(Self {
            operator: operator.into(),
            backend: Backend::Agent { agent, key },
        })
    }

    /// The operator's roster id.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The key signatures are made with.
    pub fn public_key(&self) -> &PublicKey {
        match &self.backend {
            Backend::Key(k) => k.public_key(),
            Backend::Agent { key, .. } => key,
        }
    }

    /// Signs `message` for the journal namespace.
    pub fn sign(&self, message: &[u8]) -> Result<Signature, SignerError> {
        self.sign_for(JOURNAL_NAMESPACE, message)
    }

    /// Signs `message` for `namespace`.
    pub fn sign_for(&self, namespace: &str, message: &[u8]) -> Result<Signature, SignerError> {
        match &self.backend {
            Backend::Key(k) => Ok(k.sign(namespace, message)?),
            Backend::Agent { agent, key } => {
                let data = sshsig_signed_data(namespace, message)?;
                let raw = agent.sign(&key.wire_blob()?, &data)?;
                let signature = Signature::from_agent_response(key, namespace, &raw)?;
                // An agent answering with a signature by another key, or over other data, is
                // caught here rather than by the next verifier.
                signature.verify(namespace, message)?;
                Ok(signature)
            }
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let via = match &self.backend {
            Backend::Key(_) => "key file".to_string(),
            Backend::Agent { agent, .. } => format!("ssh-agent {}", agent.socket().display()),
        };
        write!(
            f,
            "Signer({} with {} via {via})",
            self.operator,
            self.public_key()
        )
    }
}
