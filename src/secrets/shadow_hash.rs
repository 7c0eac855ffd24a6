//! SHA-512-crypt (`$6$salt$hash`), the hash `/etc/shadow` keeps and `chpasswd -e` accepts.
//!
//! Computed on the controller, so a terminal only ever receives the hash (over stdin, never in
//! argv). Salts are 16 characters from the crypt alphabet drawn from the OS CSPRNG; the round
//! count is the default 5000, written without a `rounds=` field, exactly as `openssl passwd -6`
//! and glibc's `crypt(3)` write it.

use rand::Rng as _;
use rand::rngs::OsRng;
use sha_crypt::{Sha512Params, sha512_crypt_b64};

use super::{Secret, SecretsError};

/// The characters crypt(3) salts are made of.
const SALT_ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Salt length: the maximum SHA-crypt uses.
const SALT_LEN: usize = 16;
/// The default round count (implicit in the output).
const DEFAULT_ROUNDS: usize = 5000;

/// Hashes `password` with a fresh random salt.
pub fn sha512_crypt(password: &Secret<String>) -> Result<Secret<String>, SecretsError> {
    let mut rng = OsRng;
    let salt: String = (0..SALT_LEN)
        .map(|_| char::from(SALT_ALPHABET[rng.gen_range(0..SALT_ALPHABET.len())]))
        .collect();
    sha512_crypt_with_salt(password, &salt)
}

/// Hashes `password` with `salt` (at most 16 characters of `[./0-9A-Za-z]`).
pub fn sha512_crypt_with_salt(
    password: &Secret<String>,
    salt: &str,
) -> Result<Secret<String>, SecretsError> {
    if salt.is_empty() || salt.len() > SALT_LEN || !salt.bytes().all(|b| SALT_ALPHABET.contains(&b))
    {
        return Err(SecretsError::Policy(format!(
            "salt must be 1 to {SALT_LEN} characters of [./0-9A-Za-z]"
        )));
    }
    let params = Sha512Params::new(DEFAULT_ROUNDS)
        .map_err(|e| SecretsError::Policy(format!("SHA-crypt parameters: {e:?}")))?;
    let hash = sha512_crypt_b64(password.expose().as_bytes(), salt.as_bytes(), &params)
        .map_err(|e| SecretsError::Policy(format!("SHA-crypt failed: {e:?}")))?;
    Ok(Secret::new(format!("$6${salt}${hash}")))
}

/// Whether `hash` (as in `/etc/shadow`, default rounds) is the SHA-512-crypt of `password`.
pub fn sha512_crypt_matches(password: &Secret<String>, hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix("$6$") else {
        return false;
    };
    let Some((salt, _)) = rest.split_once('$') else {
        return false;
    };
    match sha512_crypt_with_salt(password, salt) {
        Ok(computed) => computed.ct_eq(&Secret::new(hash.to_string())),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_from_the_specification() {
        // From Drepper's SHA-crypt specification, test vector 1 (rounds implicit).
        let hash =
            sha512_crypt_with_salt(&Secret::from("Hello world!"), "saltstring").expect("hash");
        assert_eq!(
            hash.expose(),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
    }

    #[test]
    fn random_salts_differ_and_verify() {
        let pw = Secret::from("pässword");
        let a = sha512_crypt(&pw).expect("hash");
        let b = sha512_crypt(&pw).expect("hash");
        assert_ne!(a.expose(), b.expose());
        assert!(sha512_crypt_matches(&pw, a.expose()));
        assert!(!sha512_crypt_matches(&Secret::from("other"), a.expose()));
        assert_eq!(a.expose().len(), 3 + 16 + 1 + 86);
    }
}
