//! The age file format: the only file in seibi that names the `age` crate.
//!
//! It owns public keys ([`PublicKey`]: age X25519 `age1...` or `ssh-ed25519 ...`), identities
//! ([`Identity`]: an age identity file or an unencrypted ed25519 OpenSSH private key),
//! encryption to a list of public keys, decryption, and a reading of the header's recipient
//! stanzas so that `seibi secrets lint` can tell, without any private key, whether a file was
//! encrypted to the current recipients. Files are written in the plain binary age format, so the
//! `age` CLI reads them (`age -d -i KEY FILE`); armored input is accepted too.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::markers::{AGE_SECRET, OPENSSH_BEGIN, OPENSSH_END};
use super::{Secret, SecretsError};

/// The first line of every binary age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";
/// The first line of an armored age file.
const AGE_ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
const SSH_ED25519: &str = "ssh-ed25519";

/// Which sort of public key a recipient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// An age X25519 key, `age1...`.
    X25519,
    /// An OpenSSH ed25519 key, `ssh-ed25519 AAAA...`.
    SshEd25519,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::X25519 => "X25519",
            KeyKind::SshEd25519 => "ssh-ed25519",
        })
    }
}

/// A public key that files can be encrypted to. Its text is normalized: an SSH key loses its
/// trailing comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    text: String,
    kind: KeyKind,
}

impl PublicKey {
    /// Parses `age1...` or `ssh-ed25519 AAAA... [comment]`. The error says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mut words = text.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first.starts_with("age1") {
            return match age::x25519::Recipient::from_str(first) {
                Ok(r) => Ok(Self {
                    text: r.to_string(),
                    kind: KeyKind::X25519,
                }),
                Err(e) => Err(format!("not a valid age public key ({e})")),
            };
        }
        if first == SSH_ED25519 {
            let Some(blob) = words.next() else {
                return Err("`ssh-ed25519` must be followed by the base64 key".to_string());
            };
            let normalized = format!("{SSH_ED25519} {blob}");
            return match age::ssh::Recipient::from_str(&normalized) {
                Ok(_) => Ok(Self {
                    text: normalized,
                    kind: KeyKind::SshEd25519,
                }),
                Err(_) => Err("not a valid ssh-ed25519 public key".to_string()),
            };
        }
        if first.starts_with(AGE_SECRET) {
            return Err(
                "this is a PRIVATE key; give the public key instead (`age-keygen -y FILE` prints it)"
                    .to_string(),
            );
        }
        if first.starts_with("ssh-") || first.starts_with("ecdsa-") {
            return Err(format!(
                "`{first}` keys are not accepted; use an ed25519 key (`ssh-keygen -t ed25519`) or an age key (`age-keygen`)"
            ));
        }
        Err("expected an age public key (`age1...`) or an SSH ed25519 public key (`ssh-ed25519 AAAA...`)"
            .to_string())
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The normalized text (`age1...` or `ssh-ed25519 AAAA...`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn from_ssh_blob(blob: &[u8]) -> Result<Self, String> {
        Self::parse(&format!("{SSH_ED25519} {}", STANDARD.encode(blob)))
    }

    fn to_age(&self) -> Result<Box<dyn age::Recipient + Send>, String> {
        match self.kind {
            KeyKind::X25519 => age::x25519::Recipient::from_str(&self.text)
                .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
                .map_err(str::to_string),
            KeyKind::SshEd25519 => age::ssh::Recipient::from_str(&self.text)
                .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
                .map_err(|_| "invalid ssh-ed25519 key".to_string()),
        }
    }

    /// For an SSH key, the 4-byte tag that age writes in the key's header stanza (the start of
    /// SHA-256 over the key's wire encoding), base64 without padding.
    fn ssh_tag(&self) -> Option<String> {
        if self.kind != KeyKind::SshEd25519 {
            return None;
        }
        let blob = STANDARD.decode(self.text.split_whitespace().nth(1)?).ok()?;
        let digest = Sha256::digest(&blob);
        Some(STANDARD_NO_PAD.encode(&digest[..4]))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for PublicKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

/// Private keys that can decrypt: from an age identity file (one or more age identity lines,
/// as `age-keygen` writes them, and `#` comments) or an unencrypted ed25519 OpenSSH private key.
pub struct Identity {
    path: PathBuf,
    x25519: Vec<age::x25519::Identity>,
    ssh: Option<age::ssh::Identity>,
    public: Vec<PublicKey>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("path", &self.path)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Reads an identity file. Errors never quote the file's lines.
    pub fn from_file(path: &Path) -> Result<Self, SecretsError> {
        let fail = |reason: String| SecretsError::Identity {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(
                "the file does not exist; pass `--identity FILE` or set SEIBI_IDENTITY".to_string(),
            ),
            _ => fail(e.to_string()),
        })?);
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(fail(
                "the file is not text (expected an age identity file or an OpenSSH private key)"
                    .to_string(),
            ));
        };
        if text.contains(OPENSSH_BEGIN) {
            return Self::from_openssh(path, text).map_err(fail);
        }
        let mut x25519 = Vec::new();
        let mut public = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match age::x25519::Identity::from_str(line) {
                Ok(identity) => {
                    public.push(PublicKey {
                        text: identity.to_public().to_string(),
                        kind: KeyKind::X25519,
                    });
                    x25519.push(identity);
                }
                Err(_) => {
                    return Err(fail(format!(
                        "line {} is not an age identity (expected `{AGE_SECRET}...`, or an OpenSSH private key file)",
                        n + 1
                    )));
                }
            }
        }
        if x25519.is_empty() {
            return Err(fail(
                "the file contains no identity; create one with `age-keygen -o FILE`".to_string(),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            x25519,
            ssh: None,
            public,
        })
    }

    fn from_openssh(path: &Path, text: &str) -> Result<Self, String> {
        let blob = openssh_public_blob(text)
            .ok_or_else(|| "the OpenSSH private key is damaged".to_string())?;
        let key_type = read_ssh_string(&blob)
            .and_then(|(t, _)| std::str::from_utf8(t).ok())
            .unwrap_or("unknown");
        if key_type != SSH_ED25519 {
            return Err(format!(
                "it is a `{key_type}` key; seibi accepts ed25519 SSH keys (`ssh-keygen -t ed25519`) or age identities (`age-keygen`)"
            ));
        }
        let identity =
            age::ssh::Identity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
                .map_err(|e| format!("cannot parse the OpenSSH private key: {e}"))?;
        match identity {
            age::ssh::Identity::Unencrypted(_) => {}
            age::ssh::Identity::Encrypted(_) => {
                return Err("the SSH key is protected by a passphrase, which seibi cannot ask for; use an age identity file (`age-keygen -o FILE`) or an unencrypted ed25519 key kept on an encrypted disk".to_string());
            }
            age::ssh::Identity::Unsupported(_) => {
                return Err("this kind of SSH key is not supported; use an ed25519 key".to_string());
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            x25519: Vec::new(),
            ssh: Some(identity),
            public: vec![PublicKey::from_ssh_blob(&blob)?],
        })
    }

    /// Makes a new X25519 identity: the identity file's text (with a comment line naming the
    /// public key, as `age-keygen` writes it) and the public key.
    pub fn generate_x25519() -> (Secret<String>, PublicKey) {
        let identity = age::x25519::Identity::generate();
        let public = PublicKey {
            text: identity.to_public().to_string(),
            kind: KeyKind::X25519,
        };
        let secret = identity.to_string();
        use age::secrecy::ExposeSecret as _;
        let text = format!(
            "# created by seibi: {}\n# public key: {}\n{}\n",
            jiff::Timestamp::now(),
            public,
            secret.expose_secret()
        );
        (Secret::new(text), public)
    }

    /// The file the identity came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public keys of this identity: a file encrypted to any of them can be decrypted.
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.public
    }

    fn age_identities(&self) -> Vec<&dyn age::Identity> {
        let mut out: Vec<&dyn age::Identity> = self
            .x25519
            .iter()
            .map(|i| i as &dyn age::Identity)
            .collect();
        if let Some(ssh) = &self.ssh {
            out.push(ssh as &dyn age::Identity);
        }
        out
    }
}

/// Why a file could not be decrypted.
#[derive(Debug)]
pub(crate) enum DecryptFailure {
    /// A good file, for someone else.
    NotForIdentity,
    /// Not a readable age file; the reason names no plaintext.
    Corrupt(String),
}

/// Encrypts `plaintext` to every key in `recipients` (binary age format).
pub(crate) fn encrypt(plaintext: &[u8], recipients: &[PublicKey]) -> Result<Vec<u8>, String> {
    if recipients.is_empty() {
        return Err("no recipients".to_string());
    }
    let boxed = recipients
        .iter()
        .map(PublicKey::to_age)
        .collect::<Result<Vec<_>, _>>()?;
    let encryptor =
        age::Encryptor::with_recipients(boxed.iter().map(|r| r.as_ref() as &dyn age::Recipient))
            .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut writer = encryptor.wrap_output(&mut out).map_err(|e| e.to_string())?;
    writer.write_all(plaintext).map_err(|e| e.to_string())?;
    // Without finish() the last chunk is never written and the file is silently truncated.
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decrypts an age file (binary or armored) with `identity`.
pub(crate) fn decrypt(
    ciphertext: &[u8],
    identity: &Identity,
) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    if !looks_like_age(ciphertext) {
        return Err(DecryptFailure::Corrupt(
            "it does not start like an age file".to_string(),
        ));
    }
    let reader = age::armor::ArmoredReader::new(ciphertext);
    let decryptor = age::Decryptor::new(reader).map_err(describe_decrypt_error)?;
    let mut stream = decryptor
        .decrypt(identity.age_identities().into_iter())
        .map_err(describe_decrypt_error)?;
    let mut plaintext = Zeroizing::new(Vec::new());
    stream.read_to_end(&mut plaintext).map_err(|_| {
        DecryptFailure::Corrupt(
            "its contents fail authentication: the file was truncated or modified".to_string(),
        )
    })?;
    Ok(plaintext)
}

fn describe_decrypt_error(error: age::DecryptError) -> DecryptFailure {
    use age::DecryptError as E;
    let reason = match error {
        E::NoMatchingKeys => return DecryptFailure::NotForIdentity,
        E::InvalidHeader => "its age header is damaged".to_string(),
        E::InvalidMac => "its header fails authentication (it was modified)".to_string(),
        E::DecryptionFailed => {
            "its contents fail authentication (truncated or modified)".to_string()
        }
        E::UnknownFormat => "it uses an unknown age format version".to_string(),
        E::KeyDecryptionFailed => "the key stanza for this identity cannot be opened".to_string(),
        E::ExcessiveWork { .. } => {
            "it is passphrase-encrypted, which seibi does not use".to_string()
        }
        E::Io(e) => format!("it cannot be read as age: {e}"),
    };
    DecryptFailure::Corrupt(reason)
}

/// Whether `bytes` start like an age file, binary or armored.
pub(crate) fn looks_like_age(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii_start();
    bytes.starts_with(AGE_MAGIC) || trimmed.starts_with(AGE_ARMOR_BEGIN)
}

/// The recipient stanzas of an age header: enough to compare against a recipients list without
/// any private key. X25519 stanzas are anonymous (only counted); SSH stanzas carry a tag derived
/// from the public key, so they are matched exactly. Other stanza types (the random "grease"
/// stanzas age adds, scrypt, plugins) are listed in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeaderStanzas {
    pub(crate) x25519: usize,
    pub(crate) ssh_ed25519_tags: Vec<String>,
    pub(crate) other: Vec<String>,
}

/// Reads the recipient stanzas of an age file.
pub(crate) fn header_stanzas(bytes: &[u8]) -> Result<HeaderStanzas, String> {
    if !looks_like_age(bytes) {
        return Err("it does not start like an age file".to_string());
    }
    let mut raw = Vec::new();
    age::armor::ArmoredReader::new(bytes)
        .read_to_end(&mut raw)
        .map_err(|e| format!("its armor is damaged: {e}"))?;
    let mut lines = raw.split(|b| *b == b'\n');
    if lines.next() != Some(b"age-encryption.org/v1".as_slice()) {
        return Err("it uses an unknown age format version".to_string());
    }
    let mut out = HeaderStanzas::default();
    for line in lines {
        if line.starts_with(b"--- ") {
            return Ok(out);
        }
        let Some(stanza) = line.strip_prefix(b"-> ") else {
            continue;
        };
        let text = String::from_utf8_lossy(stanza);
        let mut args = text.split(' ');
        match args.next().unwrap_or_default() {
            "X25519" => out.x25519 += 1,
            SSH_ED25519 => out
                .ssh_ed25519_tags
                .push(args.next().unwrap_or_default().to_string()),
            other => out.other.push(other.to_string()),
        }
    }
    Err("its age header has no end".to_string())
}

/// Compares a header with the public keys it should be encrypted to; `Err` says how they differ.
pub(crate) fn compare_stanzas(
    stanzas: &HeaderStanzas,
    recipients: &[PublicKey],
) -> Result<(), String> {
    let want_x25519 = recipients
        .iter()
        .filter(|r| r.kind == KeyKind::X25519)
        .count();
    let mut want_tags: Vec<String> = recipients.iter().filter_map(PublicKey::ssh_tag).collect();
    let mut have_tags = stanzas.ssh_ed25519_tags.clone();
    want_tags.sort();
    have_tags.sort();
    let mut problems = Vec::new();
    if stanzas.x25519 != want_x25519 {
        problems.push(format!(
            "it has {} X25519 recipient(s) but the list has {}",
            stanzas.x25519, want_x25519
        ));
    }
    if have_tags != want_tags {
        let missing = want_tags.iter().filter(|t| !have_tags.contains(t)).count();
        let extra = have_tags.iter().filter(|t| !want_tags.contains(t)).count();
        problems.push(format!(
            "{missing} listed ssh-ed25519 key(s) cannot read it and {extra} unlisted ssh-ed25519 key(s) can"
        ));
    }
    let passphrase = stanzas.other.iter().any(|t| t == "scrypt");
    if passphrase {
        problems.push("it is passphrase-encrypted".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The public key blob inside an `openssh-key-v1` private key file (stored unencrypted, even for
/// passphrase-protected keys).
fn openssh_public_blob(text: &str) -> Option<Vec<u8>> {
    let start = text.find(OPENSSH_BEGIN)? + OPENSSH_BEGIN.len();
    let end = start + text[start..].find(OPENSSH_END)?;
    let body: Zeroizing<String> =
        Zeroizing::new(text[start..end].split_whitespace().collect::<String>());
    let raw = Zeroizing::new(STANDARD.decode(body.as_bytes()).ok()?);
    let rest = raw.strip_prefix(b"openssh-key-v1\0".as_slice())?;
    let (_cipher, rest) = read_ssh_string(rest)?;
    let (_kdf, rest) = read_ssh_string(rest)?;
    let (_kdf_options, rest) = read_ssh_string(rest)?;
    let (count, rest) = rest.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*count) < 1 {
        return None;
    }
    let (blob, _) = read_ssh_string(rest)?;
    Some(blob.to_vec())
}

/// An SSH wire-format string: a big-endian u32 length, then the bytes.
fn read_ssh_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_file(dir: &Path) -> (PathBuf, PublicKey) {
        let (text, public) = Identity::generate_x25519();
        let path = dir.join("id.txt");
        std::fs::write(&path, text.expose()).expect("write identity");
        (path, public)
    }

    #[test]
    fn encrypt_then_decrypt_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, public) = identity_file(dir.path());
        let identity = Identity::from_file(&path).expect("identity");
        assert_eq!(identity.public_keys(), std::slice::from_ref(&public));
        let ciphertext = encrypt(b"a: b\n", std::slice::from_ref(&public)).expect("encrypt");
        assert!(looks_like_age(&ciphertext));
        let plain = decrypt(&ciphertext, &identity).expect("decrypt");
        assert_eq!(plain.as_slice(), b"a: b\n");
    }

    #[test]
    fn header_counts_recipients_and_ignores_grease() {
        let (_, a) = Identity::generate_x25519();
        let (_, b) = Identity::generate_x25519();
        let ciphertext = encrypt(b"x", &[a.clone(), b.clone()]).expect("encrypt");
        let stanzas = header_stanzas(&ciphertext).expect("header");
        assert_eq!(stanzas.x25519, 2);
        assert!(compare_stanzas(&stanzas, &[a.clone(), b]).is_ok());
        let err = compare_stanzas(&stanzas, &[a]).expect_err("one fewer recipient");
        assert!(err.contains("2 X25519"), "{err}");
    }

    #[test]
    fn public_key_parsing_explains_mistakes() {
        let (_, a) = Identity::generate_x25519();
        assert_eq!(PublicKey::parse(a.as_str()).expect("age key"), a);
        let err = PublicKey::parse(&format!("{AGE_SECRET}QQQ")).expect_err("private");
        assert!(err.contains("PRIVATE"), "{err}");
        let err = PublicKey::parse("ssh-rsa AAAAB3NzaC1yc2E").expect_err("rsa");
        assert!(err.contains("ed25519"), "{err}");
        assert!(PublicKey::parse("age1notakey").is_err());
    }

    #[test]
    fn garbage_is_corrupt_not_foreign() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, public) = identity_file(dir.path());
        let identity = Identity::from_file(&path).expect("identity");
        let mut ciphertext = encrypt(b"payload", &[public]).expect("encrypt");
        let last = ciphertext.len() - 1;
        ciphertext[last] ^= 1;
        assert!(matches!(
            decrypt(&ciphertext, &identity),
            Err(DecryptFailure::Corrupt(_))
        ));
        assert!(matches!(
            decrypt(b"hello", &identity),
            Err(DecryptFailure::Corrupt(_))
        ));
    }
}
