//! SSH public keys, private keys and SSHSIG signatures: the only file in seibi that names the
//! `ssh-key` crate.
//!
//! [`PublicKey`] is a key as written on the roster (an OpenSSH `authorized_keys` line), compared
//! by key material only (the comment does not matter). [`SigningKey`] is an operator's private key
//! read from a file (decrypted with a passphrase when it is protected). [`Signature`] is an
//! OpenSSH SSHSIG signature (`-----BEGIN SSH SIGNATURE-----`), the format `ssh-keygen -Y sign`
//! writes and `ssh-keygen -Y verify` checks, so anything seibi signs can be checked with stock
//! OpenSSH. Signatures always hash the message with SHA-512, as `ssh-keygen` does by default.
//!
//! Only Ed25519 and ECDSA (NIST P-256/P-384/P-521) keys are accepted: RSA would pull in a crate with
//! an unfixed timing advisory, DSA is obsolete, and FIDO (`sk-*`) keys cannot be verified here yet.

use std::fmt;
use std::path::{Path, PathBuf};

use ssh_key::{Algorithm, HashAlg, LineEnding, SshSig};

/// Problems with keys and signatures. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Text that is not an OpenSSH public key line.
    #[error(
        "not an OpenSSH public key ({reason}); expected one line like `ssh-ed25519 AAAAC3... name@host`, as in a `.pub` file"
    )]
    InvalidPublicKey {
        /// What the parser said.
        reason: String,
    },
    /// A key type seibi does not sign or verify with.
    #[error(
        "{algorithm} keys are not supported; use an Ed25519 key (`ssh-keygen -t ed25519`) or ECDSA"
    )]
    UnsupportedAlgorithm {
        /// The key's algorithm name (`ssh-rsa`, ...).
        algorithm: String,
    },
    /// A key file that could not be read.
    #[error("cannot read key file {}: {reason}", path.display())]
    ReadKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A passphrase-protected key and no passphrase.
    #[error(
        "the private key {} is protected by a passphrase; give the passphrase, or load the key into ssh-agent (`ssh-add`) and sign through the agent",
        path.display()
    )]
    PassphraseNeeded {
        /// The file.
        path: PathBuf,
    },
    /// Decryption failed, almost always a wrong passphrase.
    #[error("cannot decrypt the private key {}: wrong passphrase?", path.display())]
    Decrypt {
        /// The file.
        path: PathBuf,
    },
    /// Text that is not an armored SSHSIG signature.
    #[error(
        "not an SSH signature ({reason}); expected an armored `-----BEGIN SSH SIGNATURE-----` block"
    )]
    InvalidSignature {
        /// What the parser said.
        reason: String,
    },
    /// The signature was made for another purpose (namespace).
    #[error("the signature is for namespace `{found}`, expected `{expected}`")]
    WrongNamespace {
        /// The namespace required.
        expected: String,
        /// The namespace in the signature.
        found: String,
    },
    /// The signature does not match the message.
    #[error(
        "the signature does not match the signed message (it was altered, or made over other data)"
    )]
    BadSignature,
    /// Signing failed inside the crypto library.
    #[error("signing failed: {reason}")]
    Sign {
        /// What the library said.
        reason: String,
    },
}

fn check_algorithm(algorithm: &Algorithm) -> Result<(), KeyError> {
    match algorithm {
        Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => Ok(()),
        other => Err(KeyError::UnsupportedAlgorithm {
            algorithm: other.as_str().to_string(),
        }),
    }
}

/// An SSH public key, as on the roster. Equal when the key material is equal.
#[derive(Clone)]
pub struct PublicKey {
    inner: ssh_key::PublicKey,
}

impl PublicKey {
    /// Parses one OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
    pub fn from_openssh(line: &str) -> Result<Self, KeyError> {
        let inner = ssh_key::PublicKey::from_openssh(line.trim()).map_err(|err| {
            KeyError::InvalidPublicKey {
                reason: err.to_string(),
            }
        })?;
        check_algorithm(&inner.algorithm())?;
        Ok(Self { inner })
    }

    /// Decodes a key in SSH wire encoding (as ssh-agent lists them).
    pub fn from_wire(blob: &[u8]) -> Result<Self, KeyError> {
        let inner =
            ssh_key::PublicKey::from_bytes(blob).map_err(|err| KeyError::InvalidPublicKey {
                reason: err.to_string(),
            })?;
        check_algorithm(&inner.algorithm())?;
        Ok(Self { inner })
    }

    /// Reads a `.pub` file.
    pub fn read_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|err| KeyError::ReadKeyFile {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
        Self::from_openssh(&text)
    }

    /// The key as an OpenSSH line without its comment (`ssh-ed25519 AAAA...`).
    pub fn to_openssh(&self) -> String {
        let mut bare = self.inner.clone();
        bare.set_comment("");
        // Encoding a key that was decoded (or derived from a decoded private key) cannot fail:
        // every supported key type has a fixed, valid encoding.
        bare.to_openssh()
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|err| format!("<unencodable key: {err}>"))
    }

    /// The SHA-256 fingerprint as `ssh-keygen -l` prints it (`SHA256:...`).
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The algorithm name (`ssh-ed25519`, `ecdsa-sha2-nistp256`).
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().as_str().to_string()
    }

    /// The comment of the key line (often `user@host`), possibly empty.
    pub fn comment(&self) -> &str {
        self.inner.comment()
    }

    /// The key in SSH wire encoding, as ssh-agent names keys.
    pub(crate) fn wire_blob(&self) -> Result<Vec<u8>, KeyError> {
        self.inner
            .to_bytes()
            .map_err(|err| KeyError::InvalidPublicKey {
                reason: err.to_string(),
            })
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.inner.key_data() == other.inner.key_data()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm(), self.fingerprint())
    }
}

impl fmt::Display for PublicKey {
    /// Algorithm and fingerprint, the way people compare keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm(), self.fingerprint())
    }
}

/// A private key that can sign. Never printed; zeroized on drop by the underlying crate.
pub struct SigningKey {
    inner: ssh_key::PrivateKey,
    public: PublicKey,
}

impl SigningKey {
    /// Reads an OpenSSH private key file (the format `ssh-keygen` writes). A
    /// passphrase-protected key needs `passphrase`.
    pub fn read_file(path: &Path, passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|err| KeyError::ReadKeyFile {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
        let mut key = ssh_key::PrivateKey::from_openssh(text.as_bytes()).map_err(|err| {
            KeyError::ReadKeyFile {
                path: path.to_path_buf(),
                reason: format!("not an OpenSSH private key: {err}"),
            }
        })?;
        if key.is_encrypted() {
            let Some(passphrase) = passphrase else {
                return Err(KeyError::PassphraseNeeded {
                    path: path.to_path_buf(),
                });
            };
            key = key.decrypt(passphrase).map_err(|_| KeyError::Decrypt {
                path: path.to_path_buf(),
            })?;
        }
        check_algorithm(&key.algorithm())?;
        let public = PublicKey {
            inner: key.public_key().clone(),
        };
        Ok(Self { inner: key, public })
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` in SSHSIG format for `namespace` (SHA-512), like
    /// `ssh-keygen -Y sign -n <namespace>`.
    pub fn sign(&self, namespace: &str, message: &[u8]) -> Result<Signature, KeyError> {
        let inner = self
            .inner
            .sign(namespace, HashAlg::Sha512, message)
            .map_err(|err| KeyError::Sign {
                reason: err.to_string(),
            })?;
        Ok(Signature {
            inner,
            public: self.public.clone(),
        })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public)
    }
}

/// The bytes an SSHSIG signature is computed over (the "signed data" blob of OpenSSH's
/// PROTOCOL.sshsig: magic, namespace, reserved, hash algorithm, SHA-512 of the message). An agent
/// is asked to sign exactly this.
pub(crate) fn sshsig_signed_data(namespace: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
    SshSig::signed_data(namespace, HashAlg::Sha512, message).map_err(|err| KeyError::Sign {
        reason: err.to_string(),
    })
}

/// An OpenSSH SSHSIG signature with the public key it names.
#[derive(Clone)]
pub struct Signature {
    inner: SshSig,
    public: PublicKey,
}

impl Signature {
    /// Parses an armored signature (`-----BEGIN SSH SIGNATURE-----` ...).
    pub fn from_armored(text: &str) -> Result<Self, KeyError> {
        let inner =
            SshSig::from_pem(text.trim().as_bytes()).map_err(|err| KeyError::InvalidSignature {
                reason: err.to_string(),
            })?;
        let public = PublicKey {
            inner: ssh_key::PublicKey::from(inner.public_key().clone()),
        };
        check_algorithm(&inner.algorithm())?;
        Ok(Self { inner, public })
    }

    /// Builds a signature from the raw signature an ssh-agent returned for
    /// [`sshsig_signed_data`]`(namespace, ..)`.
    pub(crate) fn from_agent_response(
        public: &PublicKey,
        namespace: &str,
        raw_signature: &[u8],
    ) -> Result<Self, KeyError> {
        let signature = ssh_key::Signature::try_from(raw_signature).map_err(|err| {
            KeyError::InvalidSignature {
                reason: format!("ssh-agent returned an unreadable signature: {err}"),
            }
        })?;
        let inner = SshSig::new(
            public.inner.key_data().clone(),
            namespace,
            HashAlg::Sha512,
            signature,
        )
        .map_err(|err| KeyError::Sign {
            reason: err.to_string(),
        })?;
        Ok(Self {
            inner,
            public: public.clone(),
        })
    }

    /// The armored text, with `\n` line endings and a final newline, as `ssh-keygen -Y sign`
    /// writes it.
    pub fn to_armored(&self) -> String {
        // Encoding a signature that was decoded or just made cannot fail: all its parts have
        // valid lengths.
        self.inner
            .to_pem(LineEnding::LF)
            .unwrap_or_else(|err| format!("<unencodable signature: {err}>"))
    }

    /// The key the signature claims to be made with.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The namespace it was made for.
    pub fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    /// Checks that this is a signature over `message` for `namespace` by the key it names.
    /// Whether that key is *trusted* is the caller's question (see the roster).
    pub fn verify(&self, namespace: &str, message: &[u8]) -> Result<(), KeyError> {
        if self.inner.namespace() != namespace {
            return Err(KeyError::WrongNamespace {
                expected: namespace.to_string(),
                found: self.inner.namespace().to_string(),
            });
        }
        self.public
            .inner
            .verify(namespace, message, &self.inner)
            .map_err(|_| KeyError::BadSignature)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature(namespace={}, key={})",
            self.inner.namespace(),
            self.public
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdU8NJAeswxoF946GivXy0dC+yGhLMXnFg/PWOH910V alice@pc";

    #[test]
    fn keys_compare_by_material_not_comment() {
        let a = PublicKey::from_openssh(ED25519).expect("parses");
        let without = ED25519.rsplit_once(' ').expect("has comment").0;
        let b = PublicKey::from_openssh(without).expect("parses");
        assert_eq!(a, b);
        assert_eq!(a.comment(), "alice@pc");
        assert_eq!(a.to_openssh(), without);
        assert!(
            a.fingerprint().starts_with("SHA256:"),
            "{}",
            a.fingerprint()
        );
    }

    #[test]
    fn rejects_garbage_and_rsa() {
        let err = PublicKey::from_openssh("hello").expect_err("garbage");
        assert!(matches!(err, KeyError::InvalidPublicKey { .. }), "{err}");
        // A real 1024-bit RSA key line made with `ssh-keygen -t rsa -b 1024`.
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCtjfEK1FPRU+Py/neigQAujozJsCzC/oezw4ILf4XOisNx7+pXdzKjpDbesks6uq757JUqS3dSPnyD+As8v/6k5Kd9vreepeRzA3MODujMcSd7XW9iT7FwjsLO5iODNwfCjruUQw1p1Q5Cbuxb0yIreNBKT+k0mDQGXn+XPwr7kw== r";
        match PublicKey::from_openssh(rsa) {
            Err(KeyError::UnsupportedAlgorithm { algorithm }) => assert_eq!(algorithm, "ssh-rsa"),
            other => panic!("RSA not refused as unsupported: {other:?}"),
        }
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDITakgerplBks11c4dx1WbeqCHuQT4+zG5iPJ23HDdBK3poY8OdDOg4UW9enLqQ9UI5vFbChBfzf0oxCu5DIZ8= e";
        assert_eq!(
            PublicKey::from_openssh(ecdsa)
                .expect("ECDSA accepted")
                .algorithm(),
            "ecdsa-sha2-nistp256"
        );
    }

    #[test]
    fn armored_garbage_is_an_invalid_signature() {
        let err = Signature::from_armored(
            "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
        )
        .expect_err("garbage");
        assert!(matches!(err, KeyError::InvalidSignature { .. }), "{err}");
    }
}
