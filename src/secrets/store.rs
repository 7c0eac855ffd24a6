//! [`SecretsStore`]: named secrets in age-encrypted YAML files under `secrets/`.
//!
//! Each `secrets/<file>.age` decrypts to a YAML mapping of secret names to string values; names
//! are unique across all files, so templates can say `secrets.ntp_auth_key` without naming a
//! file. Beside them, the plaintext `secrets/index.yml` lists, per file, the names it holds,
//! each name's version counter (bumped whenever its value changes) and the SHA-256 of the
//! ciphertext. It never holds a value, so `seibi check` and `seibi plan` can validate secret
//! names and pin secret *versions* in a plan digest without any private key (the way SOPS keeps
//! keys in plaintext), and `lint` can notice a file changed behind seibi's back.
//!
//! Every write is atomic and durable (temp file, fsync, rename, fsync of the directory); the
//! `.age` file is written before the index, and `rekey` rebuilds the index from the files.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::age_store::{self, DecryptFailure};
use super::atomic_file::{create_dir_durable, write_atomic};
use super::editor;
use super::{Identity, PublicKey, Recipients, Secret, SecretsError};
use crate::source::{self, SourceFile, YamlDocument};

/// The recipients list inside the secrets directory.
pub const RECIPIENTS_FILE: &str = "recipients.txt";
/// The plaintext index of names and versions inside the secrets directory.
pub const INDEX_FILE: &str = "index.yml";
/// The file a new secret goes to when there is no other choice.
pub const DEFAULT_FILE: &str = "secrets.age";

const INDEX_HEADER: &str = "\
# Written by seibi: the names and versions of the secrets in each .age file, never values.
# Commit it with the .age files; `seibi secrets rekey` rebuilds it.
";

/// What the index records about one encrypted file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedFile {
    /// SHA-256 of the ciphertext as seibi last wrote or read it.
    pub sha256: String,
    /// Secret names and their versions, in file order.
    #[serde(default)]
    pub secrets: IndexMap<String, u64>,
}

/// The contents of `secrets/index.yml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Per `.age` file name (relative to the secrets directory).
    #[serde(default)]
    pub files: IndexMap<String, IndexedFile>,
}

impl Index {
    /// Reads the index; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let file = SourceFile::read(path).map_err(SecretsError::Invalid)?;
        let doc = YamlDocument::parse(file).map_err(SecretsError::Invalid)?;
        doc.root().deserialize().map_err(SecretsError::Invalid)
    }

    /// Writes the index atomically.
    pub fn save(&self, path: &Path) -> Result<(), SecretsError> {
        let body = source::yaml::to_yaml_string(self).map_err(|reason| SecretsError::Encrypt {
            path: path.to_path_buf(),
            reason,
        })?;
        write_atomic(path, format!("{INDEX_HEADER}{body}").as_bytes())
    }

    /// The file holding `key`, if any.
    pub fn file_of(&self, key: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(_, f)| f.secrets.contains_key(key))
            .map(|(name, _)| name.as_str())
    }
}

/// A secret's name and version, readable without any private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretName {
    /// The name, e.g. `ntp_auth_key`.
    pub name: String,
    /// The `.age` file that holds it.
    pub file: String,
    /// Bumped each time the value changes; starts at 1.
    pub version: u64,
}

/// What `edit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    /// The text was not changed; nothing was written.
    Unchanged,
    /// The file was re-encrypted; these names got a new version, these were removed.
    Changed {
        /// Names whose value is new or changed.
        bumped: Vec<String>,
        /// Names no longer in the file.
        removed: Vec<String>,
    },
}

/// The decrypted contents of one file: names to values, in file order.
pub type SecretMap = IndexMap<String, Secret<String>>;

/// The secrets directory: recipients, index and encrypted files.
#[derive(Debug)]
pub struct SecretsStore {
    dir: PathBuf,
    identity: Option<Identity>,
    recipients: Recipients,
    index: Index,
}

impl SecretsStore {
    /// Creates `dir` with a recipients list naming `name` with `key`, and an empty index. An
    /// existing recipients list is left alone (an error says so).
    pub fn init(dir: &Path, name: &str, key: PublicKey) -> Result<(), SecretsError> {
        create_dir_durable(dir)?;
        let path = dir.join(RECIPIENTS_FILE);
        if path.exists() {
            return Err(SecretsError::Conflict(format!(
                "{} already exists; use `seibi secrets recipients add NAME KEY` to add people",
                path.display()
            )));
        }
        let mut recipients = Recipients::new(&path);
        recipients.add(name, key)?;
        recipients.save()?;
        let index_path = dir.join(INDEX_FILE);
        if !index_path.exists() {
            Index::default().save(&index_path)?;
        }
        Ok(())
    }

    /// Opens the store. Without an identity, names and versions can still be read.
    pub fn open(dir: &Path, identity: Option<Identity>) -> Result<Self, SecretsError> {
        let recipients = Recipients::load(&dir.join(RECIPIENTS_FILE))?;
        let index = Index::load(&dir.join(INDEX_FILE))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            identity,
            recipients,
            index,
        })
    }

    /// The secrets directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The recipients list.
    pub fn recipients(&self) -> &Recipients {
        &self.recipients
    }

    /// The recipients list, to add or remove people; call [`Recipients::save`] and then
    /// [`SecretsStore::rekey`].
    pub fn recipients_mut(&mut self) -> &mut Recipients {
        &mut self.recipients
    }

    /// The identity, if one was given.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The index as loaded.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// All secret names with their files and versions, sorted by name; no identity needed.
    pub fn keys(&self) -> Vec<SecretName> {
        let mut out: Vec<SecretName> = self
            .index
            .files
            .iter()
            .flat_map(|(file, entry)| {
                entry.secrets.iter().map(|(name, version)| SecretName {
                    name: name.clone(),
                    file: file.clone(),
                    version: *version,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The version of `key`, if it exists; no identity needed.
    pub fn version(&self, key: &str) -> Option<u64> {
        self.index
            .files
            .values()
            .find_map(|f| f.secrets.get(key).copied())
    }

    /// The `.age` files directly in the directory, by name.
    pub fn files(&self) -> Result<Vec<String>, SecretsError> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| SecretsError::io("list", &self.dir, e))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.ends_with(".age"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        let file = self.index.file_of(key).ok_or_else(|| self.unknown(key))?;
        let mut map = self.read_file(file)?;
        map.shift_remove(key).ok_or_else(|| self.unknown(key))
    }

    /// Decrypts one file (`example.age` or `example`) into its names and values.
    pub fn read_file(&self, file: &str) -> Result<SecretMap, SecretsError> {
        let path = self.dir.join(file_name(file)?);
        let plaintext = self.decrypt_path(&path)?;
        parse_secret_map(&path, &plaintext)
    }

    /// Sets `key` (in the file that already holds it, else in the only `.age` file, else in
    /// `secrets.age`) and returns its new version.
    pub fn set(&mut self, key: &str, value: Secret<String>) -> Result<u64, SecretsError> {
        let file = match self.index.file_of(key) {
            Some(f) => f.to_string(),
            None => {
                let files = self.files()?;
                match files.as_slice() {
                    [] => DEFAULT_FILE.to_string(),
                    [only] => only.clone(),
                    _ => {
                        return Err(SecretsError::Conflict(format!(
                            "`{key}` is a new secret and {} holds several files ({}); say which with `--file NAME`",
                            self.dir.display(),
                            files.join(", ")
                        )));
                    }
                }
            }
        };
        self.set_in(&file, key, value)
    }

    /// Sets `key` in `file` (created if absent) and returns its new version. A name held by
    /// another file is refused.
    pub fn set_in(
        &mut self,
        file: &str,
        key: &str,
        value: Secret<String>,
    ) -> Result<u64, SecretsError> {
        check_key_name(key)?;
        let file = file_name(file)?;
        if let Some(other) = self.index.file_of(key)
            && other != file
        {
            return Err(SecretsError::Conflict(format!(
                "`{key}` already lives in {}; secret names are unique across files",
                self.dir.join(other).display()
            )));
        }
        let path = self.dir.join(&file);
        let mut map = if path.exists() {
            self.read_file(&file)?
        } else {
            SecretMap::new()
        };
        let unchanged = map.get(key).is_some_and(|old| old.ct_eq(&value));
        map.insert(key.to_string(), value);
        let text = serialize_secret_map(&path, &map)?;
        let versions = self.versions_for(&file, &map, |k| k == key && !unchanged);
        self.write_file(&file, text.as_bytes(), versions)?;
        Ok(self.version(key).unwrap_or(1))
    }

    /// Opens `editor` (a shell command, e.g. `$EDITOR`) on a plaintext copy of `file` in a
    /// private directory (mode 0700, removed afterwards even on error) and re-encrypts only if
    /// the text changed. Values that changed get a new version.
    pub fn edit(&mut self, file: &str, editor_command: &str) -> Result<EditOutcome, SecretsError> {
        let file = file_name(file)?;
        let path = self.dir.join(&file);
        let (old_text, old_map) = if path.exists() {
            let plain = self.decrypt_path(&path)?;
            let map = parse_secret_map(&path, &plain)?;
            let text = Zeroizing::new(String::from_utf8_lossy(&plain).into_owned());
            (text, map)
        } else {
            (
                Zeroizing::new(format!(
                    "# New secrets file {file}: one `name: value` per line.\n"
                )),
                SecretMap::new(),
            )
        };
        let new_text = editor::edit_in_private_dir(&old_text, &file, editor_command)?;
        if *new_text == *old_text {
            return Ok(EditOutcome::Unchanged);
        }
        let new_map = parse_secret_map(&path, new_text.as_bytes()).map_err(|e| {
            SecretsError::Edit(format!("{e}; {} was left unchanged", path.display()))
        })?;
        for key in new_map.keys() {
            check_key_name(key)?;
            if let Some(other) = self.index.file_of(key)
                && other != file
            {
                return Err(SecretsError::Edit(format!(
                    "`{key}` already lives in {}; {} was left unchanged",
                    self.dir.join(other).display(),
                    path.display()
                )));
            }
        }
        let changed = |key: &str| {
            !old_map
                .get(key)
                .is_some_and(|old| new_map.get(key).is_some_and(|new| old.ct_eq(new)))
        };
        let versions = self.versions_for(&file, &new_map, changed);
        let bumped: Vec<String> = new_map.keys().filter(|k| changed(k)).cloned().collect();
        let removed: Vec<String> = old_map
            .keys()
            .filter(|k| !new_map.contains_key(*k))
            .cloned()
            .collect();
        self.write_file(&file, new_text.as_bytes(), versions)?;
        Ok(EditOutcome::Changed { bumped, removed })
    }

    /// Re-encrypts every `.age` file under the directory (secrets and password versions) to the
    /// current recipients, and rebuilds the index. Returns the files rewritten. Stops at the
    /// first file the identity cannot read; files done so far stay done (each write is atomic),
    /// so running it again after fixing the problem finishes the job.
    pub fn rekey(&mut self) -> Result<Vec<PathBuf>, SecretsError> {
        let keys = self.recipients.keys();
        let mut done = Vec::new();
        let mut index = Index::default();
        for file in self.files()? {
            let path = self.dir.join(&file);
            let plaintext = self.decrypt_path(&path)?;
            let map = parse_secret_map(&path, &plaintext)?;
            let ciphertext = encrypt_for(&path, &plaintext, &keys)?;
            write_atomic(&path, &ciphertext)?;
            let old = self.index.files.get(&file);
            let secrets = map
                .keys()
                .map(|k| {
                    let v = old.and_then(|o| o.secrets.get(k).copied()).unwrap_or(1);
                    (k.clone(), v)
                })
                .collect();
            index.files.insert(
                file,
                IndexedFile {
                    sha256: sha256_hex(&ciphertext),
                    secrets,
                },
            );
            done.push(path);
        }
        for path in age_files_below(&self.dir.join(super::passwords::PASSWORDS_DIR))? {
            let plaintext = self.decrypt_path(&path)?;
            let ciphertext = encrypt_for(&path, &plaintext, &keys)?;
            write_atomic(&path, &ciphertext)?;
            done.push(path);
        }
        index.save(&self.dir.join(INDEX_FILE))?;
        self.index = index;
        Ok(done)
    }

    fn unknown(&self, key: &str) -> SecretsError {
        let names: Vec<String> = self.keys().into_iter().map(|k| k.name).collect();
        SecretsError::UnknownKey {
            key: key.to_string(),
            suggestion: source::closest(key, names.iter().map(String::as_str)).map(str::to_string),
        }
    }

    /// Versions to record for `file` holding `map`: a name seibi has not indexed yet starts at
    /// 1 (also one written by the `age` CLI), an indexed one keeps its version unless `changed`
    /// says its value changed, which bumps it.
    fn versions_for(
        &self,
        file: &str,
        map: &SecretMap,
        changed: impl Fn(&str) -> bool,
    ) -> IndexMap<String, u64> {
        let old = self.index.files.get(file);
        map.keys()
            .map(|k| {
                let version = match old.and_then(|o| o.secrets.get(k).copied()) {
                    Some(v) if changed(k) => v + 1,
                    Some(v) => v,
                    None => 1,
                };
                (k.clone(), version)
            })
            .collect()
    }

    fn write_file(
        &mut self,
        file: &str,
        plaintext: &[u8],
        versions: IndexMap<String, u64>,
    ) -> Result<(), SecretsError> {
        let path = self.dir.join(file);
        let ciphertext = encrypt_for(&path, plaintext, &self.recipients.keys())?;
        create_dir_durable(&self.dir)?;
        // The .age file first: a crash before the index is written leaves an index that `lint`
        // reports as stale and `rekey` rebuilds, never a value without its file.
        write_atomic(&path, &ciphertext)?;
        self.index.files.insert(
            file.to_string(),
            IndexedFile {
                sha256: sha256_hex(&ciphertext),
                secrets: versions,
            },
        );
        self.index.save(&self.dir.join(INDEX_FILE))
    }

    /// Decrypts a file with the store's identity, with errors that say what to do.
    pub(crate) fn decrypt_path(&self, path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        let identity = self
            .identity
            .as_ref()
            .ok_or_else(|| SecretsError::NoIdentity {
                path: path.to_path_buf(),
            })?;
        decrypt_file(path, identity)
    }
}

/// Reads and decrypts `path` with `identity`.
pub(crate) fn decrypt_file(
    path: &Path,
    identity: &Identity,
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    let ciphertext = std::fs::read(path).map_err(|e| SecretsError::io("read", path, e))?;
    age_store::decrypt(&ciphertext, identity).map_err(|failure| match failure {
        DecryptFailure::NotForIdentity => SecretsError::NotForIdentity {
            path: path.to_path_buf(),
            identity: identity.path().to_path_buf(),
        },
        DecryptFailure::Corrupt(reason) => SecretsError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
    })
}

/// Encrypts for `path` (only used in the error).
pub(crate) fn encrypt_for(
    path: &Path,
    plaintext: &[u8],
    keys: &[PublicKey],
) -> Result<Vec<u8>, SecretsError> {
    age_store::encrypt(plaintext, keys).map_err(|reason| SecretsError::Encrypt {
        path: path.to_path_buf(),
        reason,
    })
}

/// SHA-256 of bytes, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every `.age` file below `dir`, recursively, sorted; a missing directory has none.
pub(crate) fn age_files_below(dir: &Path) -> Result<Vec<PathBuf>, SecretsError> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| SecretsError::io("list", &d, e))? {
            let path = entry.map_err(|e| SecretsError::io("list", &d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "age") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `example` or `example.age` to `example.age`; paths and hidden names are refused.
fn file_name(file: &str) -> Result<String, SecretsError> {
    let name = if file.ends_with(".age") {
        file.to_string()
    } else {
        format!("{file}.age")
    };
    let stem = &name[..name.len() - 4];
    if stem.is_empty()
        || stem.starts_with('.')
        || !stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(SecretsError::InvalidName {
            what: "secrets file",
            name: file.to_string(),
            reason: "use letters, digits, `-`, `_` and `.` (e.g. `prod` or `prod.age`)".to_string(),
        });
    }
    Ok(name)
}

/// Secret names must be usable as template variables.
fn check_key_name(key: &str) -> Result<(), SecretsError> {
    let ok = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SecretsError::InvalidName {
            what: "secret name",
            name: key.to_string(),
            reason: "use letters, digits and `_`, starting with a letter (so templates can say `secrets.NAME`)".to_string(),
        })
    }
}

/// A decrypted value: any YAML scalar, kept as text inside a [`Secret`].
struct ScalarSecret(Secret<String>);

impl<'de> Deserialize<'de> for ScalarSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = ScalarSecret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarSecret, E> {
                Ok(ScalarSecret(Secret::new(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ScalarSecret, E> {
                Ok(ScalarSecret(Secret::new(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarSecret, E> {
                Ok(ScalarSecret(Secret::new(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarSecret, E> {
                Ok(ScalarSecret(Secret::new(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarSecret, E> {
                Ok(ScalarSecret(Secret::new(v.to_string())))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Parses decrypted text. Errors give only the place, never a value.
pub(crate) fn parse_secret_map(path: &Path, plaintext: &[u8]) -> Result<SecretMap, SecretsError> {
    let corrupt = |reason: String| SecretsError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::str::from_utf8(plaintext)
        .map_err(|_| corrupt("it decrypts to something that is not UTF-8 text".to_string()))?;
    let meaningful = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if !meaningful {
        return Ok(SecretMap::new());
    }
    let raw: IndexMap<String, ScalarSecret> =
        source::yaml::from_str_redacted(text).map_err(|e| {
            corrupt(format!(
                "it decrypts to text that is not a YAML mapping of names to strings ({e})"
            ))
        })?;
    Ok(raw.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// The plaintext to encrypt for a map. The only place a [`SecretMap`] is serialized, and the
/// text goes straight into the encryptor.
fn serialize_secret_map(path: &Path, map: &SecretMap) -> Result<Zeroizing<String>, SecretsError> {
    struct Exposed<'a>(&'a SecretMap);
    impl Serialize for Exposed<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut out = serializer.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                out.serialize_entry(k, v.expose())?;
            }
            out.end()
        }
    }
    if map.is_empty() {
        return Ok(Zeroizing::new(String::new()));
    }
    source::yaml::to_yaml_string(&Exposed(map))
        .map(Zeroizing::new)
        .map_err(|reason| SecretsError::Encrypt {
            path: path.to_path_buf(),
            reason,
        })
}

/// The names in every file of an index (for checks that a plan's secret names exist).
pub fn indexed_names(index: &Index) -> BTreeSet<String> {
    index
        .files
        .values()
        .flat_map(|f| f.secrets.keys().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_identity(dir: &Path) -> SecretsStore {
        let (text, public) = Identity::generate_x25519();
        let id_path = dir.join("id.txt");
        std::fs::write(&id_path, text.expose()).expect("identity");
        let secrets = dir.join("secrets");
        SecretsStore::init(&secrets, "tester", public).expect("init");
        SecretsStore::open(&secrets, Some(Identity::from_file(&id_path).expect("id")))
            .expect("open")
    }

    #[test]
    fn set_get_and_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = store_with_identity(dir.path());
        assert_eq!(
            store.set("ntp_auth_key", Secret::from("k1")).expect("set"),
            1
        );
        assert_eq!(
            store.set("ntp_auth_key", Secret::from("k1")).expect("same"),
            1
        );
        assert_eq!(
            store.set("ntp_auth_key", Secret::from("k2")).expect("new"),
            2
        );
        assert_eq!(
            store.set("syslog_token", Secret::from("t")).expect("set"),
            1
        );
        assert_eq!(store.get("ntp_auth_key").expect("get").expose(), "k2");
        let reopened = SecretsStore::open(store.dir(), None).expect("no identity");
        let names: Vec<(String, u64)> = reopened
            .keys()
            .into_iter()
            .map(|k| (k.name, k.version))
            .collect();
        assert_eq!(
            names,
            vec![
                ("ntp_auth_key".to_string(), 2),
                ("syslog_token".to_string(), 1)
            ]
        );
        let err = reopened.get("ntp_auth_key").expect_err("no identity");
        assert!(err.to_string().contains("--identity"), "{err}");
        let err = store.get("ntp_auth_kye").expect_err("typo").to_string();
        assert!(err.contains("did you mean `ntp_auth_key`"), "{err}");
    }

    #[test]
    fn numbers_and_odd_strings_survive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = store_with_identity(dir.path());
        for (k, v) in [
            ("a", "0123"),
            ("b", "yes"),
            ("c", "x: y # z"),
            ("d", "日本語"),
        ] {
            store.set(k, Secret::from(v)).expect("set");
        }
        for (k, v) in [
            ("a", "0123"),
            ("b", "yes"),
            ("c", "x: y # z"),
            ("d", "日本語"),
        ] {
            assert_eq!(store.get(k).expect("get").expose(), v);
        }
    }

    #[test]
    fn names_from_files_written_elsewhere_get_indexed_on_the_next_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = store_with_identity(dir.path());
        // A file encrypted by another tool: in no index yet.
        let plain = b"old_name: kept\n";
        let ciphertext = encrypt_for(Path::new("x"), plain, &store.recipients.keys()).expect("enc");
        std::fs::write(store.dir().join("prod.age"), ciphertext).expect("write");
        assert_eq!(store.set("new_name", Secret::from("n")).expect("set"), 1);
        assert_eq!(store.version("old_name"), Some(1));
        assert_eq!(store.get("old_name").expect("get").expose(), "kept");
    }

    #[test]
    fn bad_names_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = store_with_identity(dir.path());
        assert!(store.set("has space", Secret::from("x")).is_err());
        assert!(store.set_in("../up", "ok", Secret::from("x")).is_err());
    }
}
