//! Strict host-key checking against an OpenSSH `known_hosts` file.
//!
//! This module owns the trust decision for every SSH hop: it parses `known_hosts` (plain and
//! hashed host fields, `[host]:port`, comma lists, `*`/`?` patterns with `!` negation,
//! `@revoked`), answers whether an offered [`HostKey`] is known, unknown, changed or revoked, and
//! turns every answer but "known" into an error a user can act on. Nothing is ever trusted
//! silently: there is no "accept new keys" mode here; adding a key is an explicit act
//! (`seibi hosts scan`, `seibi hosts trust`) that uses [`format_line`].
//!
//! `@cert-authority` lines are parsed and kept but not used: host certificates are not supported,
//! so a host known only through a certificate authority is reported as unknown, with a hint.
//!
//! Keys are compared as raw SSH wire blobs, so entries for key types this build cannot use (RSA,
//! DSA) still parse and still count as "this host is known with another key".

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{KeyInit as _, Mac as _};
use sha2::Digest as _;

/// A public host key as offered by a server or written in `known_hosts`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HostKey {
    algorithm: String,
    blob: Vec<u8>,
}

impl HostKey {
    /// Builds a key from its algorithm name (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...) and its
    /// SSH wire encoding (the bytes that `known_hosts` stores in base64).
    pub fn from_wire(algorithm: impl Into<String>, blob: Vec<u8>) -> Self {
        HostKey {
            algorithm: algorithm.into(),
            blob,
        }
    }

    /// Parses the `algorithm base64 [comment]` form of an OpenSSH public key (a `.pub` file).
    pub fn from_openssh(text: &str) -> Result<Self, KeyFormatError> {
        let mut fields = text.split_whitespace();
        let algorithm = fields.next().ok_or(KeyFormatError::Empty)?;
        let encoded = fields.next().ok_or(KeyFormatError::MissingKeyData)?;
        decode_key(algorithm, encoded)
    }

    /// The algorithm name, e.g. `ssh-ed25519`.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// The SSH wire encoding of the key.
    pub fn wire(&self) -> &[u8] {
        &self.blob
    }

    /// The OpenSSH SHA-256 fingerprint, `SHA256:` followed by unpadded base64, as `ssh-keygen -l`
    /// prints it.
    pub fn fingerprint(&self) -> String {
        let digest = sha2::Sha256::digest(&self.blob);
        format!("SHA256:{}", STANDARD_NO_PAD.encode(digest))
    }

    /// The `algorithm base64` form, as in a `.pub` file without a comment.
    pub fn to_openssh(&self) -> String {
        format!("{} {}", self.algorithm, STANDARD.encode(&self.blob))
    }
}

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostKey({} {})", self.algorithm, self.fingerprint())
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.fingerprint())
    }
}

/// Why a public key text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// Nothing but whitespace.
    #[error("empty key")]
    Empty,
    /// An algorithm name without the base64 key data after it.
    #[error("the key data (base64) is missing after the key type")]
    MissingKeyData,
    /// The key data is not valid base64.
    #[error("the key data is not valid base64")]
    Base64,
    /// The key data names another algorithm than the line does.
    #[error("the key data is for `{inner}` but the line says `{outer}`")]
    AlgorithmMismatch {
        /// The algorithm written on the line.
        outer: String,
        /// The algorithm inside the key data.
        inner: String,
    },
}

fn decode_key(algorithm: &str, encoded: &str) -> Result<HostKey, KeyFormatError> {
    let blob = STANDARD
        .decode(encoded)
        .map_err(|_| KeyFormatError::Base64)?;
    // The wire encoding starts with the algorithm name as an SSH string (u32 length + bytes).
    let inner = blob
        .get(..4)
        .and_then(|len| {
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            blob.get(4..4usize.checked_add(len)?)
        })
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .ok_or(KeyFormatError::Base64)?;
    if inner != algorithm {
        return Err(KeyFormatError::AlgorithmMismatch {
            outer: algorithm.to_string(),
            inner,
        });
    }
    Ok(HostKey::from_wire(algorithm, blob))
}

/// A place in a `known_hosts` file, printed as `path:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line number.
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// A malformed `known_hosts` file.
#[derive(Debug, thiserror::Error)]
pub enum KnownHostsError {
    /// The file could not be read.
    #[error("cannot read known_hosts file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line could not be parsed.
    #[error(
        "{place}: {message}\n  | {text}\nhint: fix or delete this line; seibi never skips a known_hosts line it cannot read"
    )]
    Parse {
        /// Where.
        place: Place,
        /// The offending line.
        text: String,
        /// What is wrong with it.
        message: String,
    },
}

/// What a `known_hosts` line says about the keys on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A plain entry: this key is the host's key.
    None,
    /// `@revoked`: this key must never be accepted.
    Revoked,
    /// `@cert-authority`: this key signs host certificates (not supported; kept for messages).
    CertAuthority,
}

#[derive(Debug, Clone)]
enum HostPattern {
    /// `|1|salt|hash`: HMAC-SHA1 of the host name, keyed with the salt.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// A comma list of patterns, some perhaps negated with `!`.
    Patterns(Vec<(bool, String)>),
}

impl HostPattern {
    fn matches(&self, name: &str) -> bool {
        match self {
            HostPattern::Hashed { salt, hash } => hashed_name(name, salt).as_slice() == hash,
            HostPattern::Patterns(patterns) => {
                let name = name.to_ascii_lowercase();
                let mut positive = false;
                for (negated, pattern) in patterns {
                    if glob_match(pattern.as_bytes(), name.as_bytes()) {
                        if *negated {
                            // A negated match rejects the whole line, whatever else matched.
                            return false;
                        }
                        positive = true;
                    }
                }
                positive
            }
        }
    }
}

/// One parsed line of a `known_hosts` file.
#[derive(Debug, Clone)]
struct Entry {
    marker: Marker,
    hosts: HostPattern,
    key: HostKey,
    place: Place,
}

/// A key that `known_hosts` expected instead of the offered one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedKey {
    /// The key type on that line.
    pub algorithm: String,
    /// Its SHA-256 fingerprint.
    pub fingerprint: String,
    /// Where it is written.
    pub place: Place,
}

/// The answer of [`KnownHosts::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// The offered key is on a plain line for this host.
    Match {
        /// The line that matched.
        place: Place,
    },
    /// No line names this host (certificate-authority lines aside).
    Unknown {
        /// Fingerprint of the offered key.
        offered: String,
        /// Whether some `@cert-authority` line names this host (unsupported, so it did not help).
        cert_authority_only: bool,
    },
    /// The host is known, but with other keys: possibly a reinstall, possibly an attack.
    Changed {
        /// Fingerprint of the offered key.
        offered: String,
        /// The keys `known_hosts` has for this host.
        expected: Vec<ExpectedKey>,
    },
    /// The offered key is on an `@revoked` line.
    Revoked {
        /// Fingerprint of the offered key.
        offered: String,
        /// The `@revoked` line.
        place: Place,
    },
}

/// The parsed contents of one or more `known_hosts` files.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    sources: Vec<PathBuf>,
}

impl KnownHosts {
    /// No entries at all: every host is unknown.
    pub fn empty() -> Self {
        KnownHosts::default()
    }

    /// Reads and parses a `known_hosts` file. Every malformed line is an error with its place.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KnownHostsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| KnownHostsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `known_hosts` text; `path` is only used to name places in messages.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<Self, KnownHostsError> {
        let path = path.as_ref();
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let place = Place {
                path: path.to_path_buf(),
                line: index + 1,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry =
                parse_line(line, place.clone()).map_err(|message| KnownHostsError::Parse {
                    place,
                    text: raw.to_string(),
                    message,
                })?;
            entries.push(entry);
        }
        Ok(KnownHosts {
            entries,
            sources: vec![path.to_path_buf()],
        })
    }

    /// Adds the entries of another file after these (both are consulted, like OpenSSH's
    /// `UserKnownHostsFile` list).
    pub fn extend(&mut self, other: KnownHosts) {
        self.entries.extend(other.entries);
        self.sources.extend(other.sources);
    }

    /// The files these entries came from, for messages.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// The key types `known_hosts` has (non-revoked, plain lines) for `host` on `port`, in file
    /// order without repeats. A client should offer only these host-key algorithms when the list
    /// is not empty, so that a host known by its ECDSA key is not asked for an ed25519 one.
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<String> {
        let name = host_field_name(host, port);
        let mut algorithms: Vec<String> = Vec::new();
        for entry in &self.entries {
            if entry.marker == Marker::None
                && entry.hosts.matches(&name)
                && !algorithms.iter().any(|a| a == entry.key.algorithm())
            {
                algorithms.push(entry.key.algorithm().to_string());
            }
        }
        algorithms
    }

    /// Fingerprints of the keys pinned for `host`/`port` on plain lines, in file order (what a
    /// journal records as the terminal's identity).
    pub fn fingerprints(&self, host: &str, port: u16) -> Vec<String> {
        let name = host_field_name(host, port);
        self.entries
            .iter()
            .filter(|e| e.marker == Marker::None && e.hosts.matches(&name))
            .map(|e| e.key.fingerprint())
            .collect()
    }

    /// Decides whether `offered` is the right key for `host` on `port`.
    ///
    /// Revocation wins over everything; then a plain line with the same key is a match; then any
    /// plain line for the host (with another key, of any type) makes the key "changed"; else the
    /// host is unknown.
    pub fn check(&self, host: &str, port: u16, offered: &HostKey) -> HostKeyCheck {
        let name = host_field_name(host, port);
        let fingerprint = offered.fingerprint();
        let for_host = || self.entries.iter().filter(|e| e.hosts.matches(&name));

        if let Some(revoked) = for_host().find(|e| e.marker == Marker::Revoked && &e.key == offered)
        {
            return HostKeyCheck::Revoked {
                offered: fingerprint,
                place: revoked.place.clone(),
            };
        }
        if let Some(known) = for_host().find(|e| e.marker == Marker::None && &e.key == offered) {
            return HostKeyCheck::Match {
                place: known.place.clone(),
            };
        }
        let expected: Vec<ExpectedKey> = for_host()
            .filter(|e| e.marker == Marker::None)
            .map(|e| ExpectedKey {
                algorithm: e.key.algorithm().to_string(),
                fingerprint: e.key.fingerprint(),
                place: e.place.clone(),
            })
            .collect();
        if expected.is_empty() {
            HostKeyCheck::Unknown {
                offered: fingerprint,
                cert_authority_only: for_host().any(|e| e.marker == Marker::CertAuthority),
            }
        } else {
            HostKeyCheck::Changed {
                offered: fingerprint,
                expected,
            }
        }
    }

    /// [`check`](Self::check), turned into `Ok` for a match and an actionable error otherwise.
    /// `name` is the terminal's name (used in the suggested command), `target` the human label
    /// of the hop, e.g. `chuo-t01 (127.0.1.3:22)`.
    pub fn verify(
        &self,
        name: &str,
        target: &str,
        host: &str,
        port: u16,
        offered: &HostKey,
    ) -> Result<Place, HostKeyError> {
        let algorithm = offered.algorithm().to_string();
        match self.check(host, port, offered) {
            HostKeyCheck::Match { place } => Ok(place),
            HostKeyCheck::Unknown {
                offered,
                cert_authority_only,
            } => Err(HostKeyError::Unknown {
                target: target.to_string(),
                algorithm,
                offered,
                files: self.sources.clone(),
                cert_authority_only,
            }),
            HostKeyCheck::Changed { offered, expected } => Err(HostKeyError::Changed {
                name: name.to_string(),
                target: target.to_string(),
                algorithm,
                offered,
                expected,
            }),
            HostKeyCheck::Revoked { offered, place } => Err(HostKeyError::Revoked {
                target: target.to_string(),
                algorithm,
                offered,
                place,
            }),
        }
    }
}

/// A host key that was refused. Each message says what was offered, what was expected and what
/// to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostKeyError {
    /// No `known_hosts` line names the host.
    #[error(
        "host key for {target} is not in known_hosts ({files}): offered {algorithm} {offered}; \
         run `seibi hosts scan` and review{ca_hint}",
        files = display_paths(files),
        ca_hint = if *cert_authority_only {
            "\nhint: this host is only named on @cert-authority lines; host certificates are not supported"
        } else {
            ""
        }
    )]
    Unknown {
        /// Label of the hop.
        target: String,
        /// Type of the offered key.
        algorithm: String,
        /// Fingerprint of the offered key.
        offered: String,
        /// The files consulted.
        files: Vec<PathBuf>,
        /// Whether only `@cert-authority` lines name the host.
        cert_authority_only: bool,
    },
    /// The host is known with other keys.
    #[error(
        "host key for {target} has CHANGED: offered {algorithm} {offered}, {expected_list}; \
         if the terminal was reinstalled, compare the offered fingerprint with the one at its \
         console, then pin it: `seibi hosts scan --terminal {name}` and \
         `seibi hosts trust {name} --replace`",
        expected_list = expected
            .iter()
            .map(|e| format!("{} has {} {}", e.place, e.algorithm, e.fingerprint))
            .collect::<Vec<_>>()
            .join(", ")
    )]
    Changed {
        /// The terminal's name.
        name: String,
        /// Label of the hop.
        target: String,
        /// Type of the offered key.
        algorithm: String,
        /// Fingerprint of the offered key.
        offered: String,
        /// What `known_hosts` has instead.
        expected: Vec<ExpectedKey>,
    },
    /// The host is known only by keys of other types than the one it offers (the handshake
    /// found no host-key type in common): a changed key as far as anyone can tell. Boxed: the
    /// other variants stay small.
    #[error("{0}")]
    KeyTypeMismatch(Box<KeyTypeMismatch>),
    /// The key is revoked.
    #[error(
        "host key for {target} is REVOKED ({place}): offered {algorithm} {offered}; refusing to connect"
    )]
    Revoked {
        /// Label of the hop.
        target: String,
        /// Type of the offered key.
        algorithm: String,
        /// Fingerprint of the offered key.
        offered: String,
        /// The `@revoked` line.
        place: Place,
    },
    /// The server presented a host certificate.
    #[error(
        "{target} presented a host certificate; host certificates (@cert-authority) are not \
         supported: add its plain host key to known_hosts"
    )]
    Certificate {
        /// Label of the hop.
        target: String,
    },
}

/// A terminal that offers only a host-key type of which `known_hosts` pins none for it; see
/// [`HostKeyError::KeyTypeMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTypeMismatch {
    /// The terminal's name.
    pub name: String,
    /// Label of the hop.
    pub target: String,
    /// Type of the key the terminal offers.
    pub algorithm: String,
    /// Fingerprint of that key.
    pub offered: String,
    /// What `known_hosts` has instead.
    pub expected: Vec<ExpectedKey>,
}

impl fmt::Display for KeyTypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = self
            .expected
            .iter()
            .map(|e| format!("{} has {} {}", e.place, e.algorithm, e.fingerprint))
            .collect::<Vec<_>>()
            .join(", ");
        write!(
            f,
            "host key for {target} does not match known_hosts: the terminal offers only \
             {algorithm} {offered}, but {expected} (no {algorithm} key is pinned); \
             if the terminal was reinstalled or its keys changed, compare the offered fingerprint \
             with the one at its console, then pin it: `seibi hosts scan --terminal {name}` and \
             `seibi hosts trust {name} --replace`",
            target = self.target,
            algorithm = self.algorithm,
            offered = self.offered,
            name = self.name,
        )
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no file loaded".to_string();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key a `known_hosts` line pins for the host field name `name` (`host`, or `[host]:port`;
/// see [`host_field_name`]): `Some` for an unmarked line naming it, hashed (`|1|salt|hash`) or
/// plain, `None` for other hosts, `@revoked` and `@cert-authority` lines, comments and lines
/// that do not parse. `seibi hosts trust` uses it to treat both forms alike.
pub fn pinned_key(line: &str, name: &str) -> Option<HostKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let place = Place {
        path: PathBuf::new(),
        line: 0,
    };
    let entry = parse_line(line, place).ok()?;
    (entry.marker == Marker::None && entry.hosts.matches(name)).then_some(entry.key)
}

/// How a host appears in a `known_hosts` host field: `host` on port 22, `[host]:port` otherwise.
pub fn host_field_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// A plain `known_hosts` line for `key` on `host`/`port`, without a trailing newline.
pub fn format_line(host: &str, port: u16, key: &HostKey) -> String {
    format!("{} {}", host_field_name(host, port), key.to_openssh())
}

/// A hashed `known_hosts` line (`|1|salt|hash`, as `ssh-keygen -H` writes) for `key` on
/// `host`/`port`. The caller supplies the salt (20 random bytes, like OpenSSH).
pub fn format_hashed_line(host: &str, port: u16, key: &HostKey, salt: &[u8; 20]) -> String {
    let hash = hashed_name(&host_field_name(host, port), salt);
    format!(
        "|1|{}|{} {}",
        STANDARD.encode(salt),
        STANDARD.encode(hash),
        key.to_openssh()
    )
}

fn hashed_name(name: &str, salt: &[u8]) -> Vec<u8> {
    match hmac::Hmac::<sha1::Sha1>::new_from_slice(salt) {
        Ok(mut mac) => {
            mac.update(name.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of any length; an empty result simply never matches.
        Err(_) => Vec::new(),
    }
}

fn parse_line(line: &str, place: Place) -> Result<Entry, String> {
    let mut fields = line.split_whitespace();
    let mut first = fields.next().ok_or("empty line")?;
    let marker = if let Some(marker) = first.strip_prefix('@') {
        let marker = match marker {
            "revoked" => Marker::Revoked,
            "cert-authority" => Marker::CertAuthority,
            other => return Err(format!("unknown marker `@{other}`")),
        };
        first = fields
            .next()
            .ok_or("the host patterns are missing after the marker")?;
        marker
    } else {
        Marker::None
    };
    let hosts = parse_hosts(first)?;
    let algorithm = fields
        .next()
        .ok_or("the key type is missing after the host patterns")?;
    let encoded = fields.next().ok_or("the key (base64) is missing")?;
    let key = decode_key(algorithm, encoded).map_err(|e| e.to_string())?;
    Ok(Entry {
        marker,
        hosts,
        key,
        place,
    })
}

fn parse_hosts(field: &str) -> Result<HostPattern, String> {
    if let Some(rest) = field.strip_prefix("|1|") {
        let (salt, hash) = rest
            .split_once('|')
            .ok_or("a hashed host must look like |1|salt|hash")?;
        let salt = STANDARD
            .decode(salt)
            .map_err(|_| "the salt of the hashed host is not valid base64")?;
        let hash = STANDARD
            .decode(hash)
            .map_err(|_| "the hash of the hashed host is not valid base64")?;
        if hash.len() != 20 {
            return Err("the hash of the hashed host is not 20 bytes (HMAC-SHA1)".to_string());
        }
        return Ok(HostPattern::Hashed { salt, hash });
    }
    if field.starts_with('|') {
        return Err("unsupported hashed host format (only |1| is known)".to_string());
    }
    let mut patterns = Vec::new();
    for pattern in field.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        if pattern.is_empty() {
            return Err(format!("empty host pattern in `{field}`"));
        }
        patterns.push((negated, pattern.to_ascii_lowercase()));
    }
    Ok(HostPattern::Patterns(patterns))
}

/// `*` matches any run of bytes, `?` any one byte; everything else matches itself.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and which name position it is currently standing for.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real keys, made with `ssh-keygen -t ed25519` and `-t ecdsa`.
    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFicZkxFMraHtFAt0mzoMzVjPF+M7xJqHgPb+sYc5Sal";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCgDYT7bcfGoE7MJLLmB9qv2233+m+aXsyDl/cjJAdB";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBANXidm0M8SB2njGot5PRZj+l4GIKqI3vYhAQwVeeciigIOoFL1xyD3EmxK3qogJYezkqMOZ9YFhVqiE/NpI608=";

    fn key(text: &str) -> HostKey {
        HostKey::from_openssh(text).expect("test key parses")
    }

    fn hosts(text: &str) -> KnownHosts {
        KnownHosts::parse("known_hosts", text).expect("test file parses")
    }

    #[test]
    fn plain_entry_matches_on_port_22_and_bracketed_on_others() {
        let kh = hosts(&format!(
            "chuo-t01,127.0.1.3 {ED_A}\n[127.0.1.4]:2222 {ED_A}\n"
        ));
        assert!(matches!(
            kh.check("127.0.1.3", 22, &key(ED_A)),
            HostKeyCheck::Match { place } if place.line == 1
        ));
        assert!(matches!(
            kh.check("CHUO-T01", 22, &key(ED_A)),
            HostKeyCheck::Match { .. }
        ));
        assert!(matches!(
            kh.check("127.0.1.4", 2222, &key(ED_A)),
            HostKeyCheck::Match { place } if place.line == 2
        ));
        // The same host on another port is another host.
        assert!(matches!(
            kh.check("127.0.1.3", 2222, &key(ED_A)),
            HostKeyCheck::Unknown { .. }
        ));
    }

    #[test]
    fn other_key_for_known_host_is_changed_with_places() {
        let kh = hosts(&format!("# comment\n\nchuo-t01 {ED_A}\nchuo-t01 {ECDSA}\n"));
        let offered = key(ED_B);
        match kh.check("chuo-t01", 22, &offered) {
            HostKeyCheck::Changed {
                offered: fp,
                expected,
            } => {
                assert_eq!(fp, offered.fingerprint());
                assert_eq!(expected.len(), 2);
                assert_eq!(expected[0].place.to_string(), "known_hosts:3");
                assert_eq!(expected[0].fingerprint, key(ED_A).fingerprint());
                assert_eq!(expected[1].algorithm, "ecdsa-sha2-nistp256");
            }
            other => panic!("expected Changed, got {other:?}"),
        }
        let message = kh
            .verify(
                "chuo-t01",
                "chuo-t01 (127.0.1.3:22)",
                "chuo-t01",
                22,
                &offered,
            )
            .expect_err("changed key is refused")
            .to_string();
        assert!(message.contains("has CHANGED"), "{message}");
        assert!(message.contains(&offered.fingerprint()), "{message}");
        assert!(message.contains(&key(ED_A).fingerprint()), "{message}");
        assert!(message.contains("known_hosts:3"), "{message}");
        assert!(
            message.contains(
                "`seibi hosts scan --terminal chuo-t01` and `seibi hosts trust chuo-t01 --replace`"
            ),
            "{message}"
        );
    }

    #[test]
    fn unknown_host_names_the_fingerprint_and_the_next_step() {
        let kh = hosts(&format!("other {ED_A}\n"));
        let error = kh
            .verify(
                "kita-t02",
                "kita-t02 (127.0.1.9:22)",
                "127.0.1.9",
                22,
                &key(ED_B),
            )
            .expect_err("unknown key is refused")
            .to_string();
        assert!(error.contains("not in known_hosts"), "{error}");
        assert!(error.contains(&key(ED_B).fingerprint()), "{error}");
        assert!(error.contains("seibi hosts scan"), "{error}");
    }

    #[test]
    fn revoked_wins_even_over_a_plain_match() {
        let kh = hosts(&format!("host1 {ED_A}\n@revoked * {ED_A}\n"));
        assert!(matches!(
            kh.check("host1", 22, &key(ED_A)),
            HostKeyCheck::Revoked { place, .. } if place.line == 2
        ));
        assert!(kh.known_algorithms("host1", 22) == vec!["ssh-ed25519".to_string()]);
    }

    #[test]
    fn patterns_and_negation() {
        let kh = hosts(&format!(
            "*.kita.example,!bad.kita.example,10.0.0.? {ED_A}\n"
        ));
        assert!(matches!(
            kh.check("t01.kita.example", 22, &key(ED_A)),
            HostKeyCheck::Match { .. }
        ));
        assert!(matches!(
            kh.check("10.0.0.7", 22, &key(ED_A)),
            HostKeyCheck::Match { .. }
        ));
        assert!(matches!(
            kh.check("10.0.0.17", 22, &key(ED_A)),
            HostKeyCheck::Unknown { .. }
        ));
        assert!(matches!(
            kh.check("bad.kita.example", 22, &key(ED_A)),
            HostKeyCheck::Unknown { .. }
        ));
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"*", b"anything"));
        assert!(glob_match(b"a*c*e", b"abcde"));
        assert!(glob_match(b"a*c*e", b"ace"));
        assert!(!glob_match(b"a*c*e", b"acd"));
        assert!(glob_match(b"?b?", b"abc"));
        assert!(!glob_match(b"?b?", b"abcd"));
        assert!(glob_match(b"**x", b"yyx"));
    }

    #[test]
    fn cert_authority_lines_do_not_make_a_host_known() {
        let kh = hosts(&format!("@cert-authority *.example {ED_A}\n"));
        assert!(matches!(
            kh.check("t.example", 22, &key(ED_A)),
            HostKeyCheck::Unknown {
                cert_authority_only: true,
                ..
            }
        ));
    }

    #[test]
    fn malformed_lines_are_errors_with_places() {
        let error = KnownHosts::parse("kh", "host ssh-ed25519 !!!notbase64\n")
            .expect_err("bad base64")
            .to_string();
        assert!(error.starts_with("kh:1: "), "{error}");
        let error = KnownHosts::parse("kh", &format!("\nhost ssh-rsa {}\n", &ED_A[12..]))
            .expect_err("type mismatch")
            .to_string();
        assert!(error.starts_with("kh:2: "), "{error}");
        assert!(error.contains("`ssh-ed25519`"), "{error}");
        assert!(KnownHosts::parse("kh", &format!("@trusted h {ED_A}")).is_err());
    }

    #[test]
    fn fingerprint_matches_ssh_keygen_format() {
        // `ssh-keygen -lf` printed this for ED_A.
        assert_eq!(
            key(ED_A).fingerprint(),
            "SHA256:dAe3fhlTOwVU9au16ENoJQZW0iJ2tMZqss37MaDZCQY"
        );
    }

    #[test]
    fn formatted_lines_round_trip() {
        let k = key(ECDSA);
        let plain = format_line("127.0.1.3", 2222, &k);
        assert!(plain.starts_with("[127.0.1.3]:2222 ecdsa-sha2-nistp256 AAAA"));
        let hashed = format_hashed_line("127.0.1.3", 22, &k, &[7; 20]);
        assert!(hashed.starts_with("|1|"));
        let kh = hosts(&format!("{plain}\n{hashed}\n"));
        assert!(matches!(
            kh.check("127.0.1.3", 2222, &k),
            HostKeyCheck::Match { place } if place.line == 1
        ));
        assert!(matches!(
            kh.check("127.0.1.3", 22, &k),
            HostKeyCheck::Match { place } if place.line == 2
        ));
        assert!(matches!(
            kh.check("127.0.1.4", 22, &k),
            HostKeyCheck::Unknown { .. }
        ));
    }

    /// Hashes a real file with `ssh-keygen -H` and checks that the hashed entries still match.
    #[test]
    fn entry_hashed_by_ssh_keygen_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        std::fs::write(
            &path,
            format!("chuo-t01 {ED_A}\n[127.0.1.3]:2222 {ECDSA}\n"),
        )
        .expect("write known_hosts");
        let status = std::process::Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success());
        let text = std::fs::read_to_string(&path).expect("read hashed file");
        assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
        assert!(!text.contains("chuo-t01"));
        let kh = KnownHosts::load(&path).expect("hashed file parses");
        assert!(matches!(
            kh.check("chuo-t01", 22, &key(ED_A)),
            HostKeyCheck::Match { .. }
        ));
        assert!(matches!(
            kh.check("127.0.1.3", 2222, &key(ECDSA)),
            HostKeyCheck::Match { .. }
        ));
        assert!(matches!(
            kh.check("chuo-t01", 22, &key(ED_B)),
            HostKeyCheck::Changed { .. }
        ));
        assert!(matches!(
            kh.check("chuo-t02", 22, &key(ED_A)),
            HostKeyCheck::Unknown { .. }
        ));
    }
}
