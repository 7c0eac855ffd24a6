//! New passwords per [`PasswordPolicy`], from the operating system's CSPRNG (`OsRng`).
//!
//! Random style: `length` characters from the chosen classes minus `avoid`, with at least one
//! character of every chosen class (one is drawn from each class, the rest from their union, and
//! the whole is shuffled). Passphrase style: `words` words drawn uniformly from the EFF large
//! word list (7,772 words, about 12.9 bits each; the four hyphenated entries were dropped because
//! words are joined with `-`). The list is by the Electronic Frontier Foundation, CC BY 3.0 US:
//! <https://www.eff.org/dice>.

use rand::Rng as _;
use rand::rngs::OsRng;
use rand::seq::SliceRandom as _;
use zeroize::Zeroizing;

use super::{Secret, SecretsError};
use crate::playbook::{CharClass, PasswordPolicy, PasswordStyle};

/// The embedded word list, one lowercase word per line.
const WORD_LIST: &str = include_str!("eff_large_wordlist.txt");

/// Punctuation for the symbol class: no quotes, backslash, backtick or space, so a password can
/// be typed at a console and pasted into a shell without surprises.
pub const SYMBOLS: &str = "!#$%&*+-=?@^_~.:,;";

/// The characters of a class.
pub fn class_chars(class: CharClass) -> &'static str {
    match class {
        CharClass::Lower => "abcdefghijklmnopqrstuvwxyz",
        CharClass::Upper => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        CharClass::Digit => "0123456789",
        CharClass::Symbol => SYMBOLS,
    }
}

/// The words passphrases are made of.
pub fn word_list() -> impl Iterator<Item = &'static str> {
    WORD_LIST.lines().filter(|w| !w.is_empty())
}

/// Generates a password that satisfies `policy`.
pub fn generate_password(policy: &PasswordPolicy) -> Result<Secret<String>, SecretsError> {
    match policy.style {
        PasswordStyle::Random => random_password(policy),
        PasswordStyle::Passphrase => passphrase(policy),
    }
}

fn random_password(policy: &PasswordPolicy) -> Result<Secret<String>, SecretsError> {
    let length = usize::try_from(policy.length)
        .map_err(|_| SecretsError::Policy("length is too large".to_string()))?;
    let mut classes = policy.classes.clone();
    classes.dedup();
    if classes.is_empty() {
        return Err(SecretsError::Policy(
            "no character classes chosen".to_string(),
        ));
    }
    if classes.len() > length {
        return Err(SecretsError::Policy(format!(
            "{} classes must each appear but the length is {length}",
            classes.len()
        )));
    }
    let mut pools: Vec<Vec<u8>> = Vec::new();
    for class in &classes {
        let pool: Vec<u8> = class_chars(*class)
            .bytes()
            .filter(|b| !policy.avoid.as_bytes().contains(b))
            .collect();
        if pool.is_empty() {
            return Err(SecretsError::Policy(format!(
                "`avoid` removes every character of the {class:?} class"
            )));
        }
        pools.push(pool);
    }
    let union: Vec<u8> = pools.iter().flatten().copied().collect();
    let mut rng = OsRng;
    let mut chars = Zeroizing::new(Vec::with_capacity(length));
    for pool in &pools {
        chars.push(pool[rng.gen_range(0..pool.len())]);
    }
    while chars.len() < length {
        chars.push(union[rng.gen_range(0..union.len())]);
    }
    chars.shuffle(&mut rng);
    let text = String::from_utf8(chars.to_vec())
        .map_err(|_| SecretsError::Policy("non-ASCII character in a class".to_string()))?;
    Ok(Secret::new(text))
}

fn passphrase(policy: &PasswordPolicy) -> Result<Secret<String>, SecretsError> {
    let words: Vec<&str> = word_list().collect();
    if policy.words == 0 {
        return Err(SecretsError::Policy(
            "a passphrase needs at least one word".to_string(),
        ));
    }
    let mut rng = OsRng;
    let mut out = String::new();
    for i in 0..policy.words {
        if i > 0 {
            out.push('-');
        }
        out.push_str(words[rng.gen_range(0..words.len())]);
    }
    Ok(Secret::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_list_is_clean() {
        let words: Vec<&str> = word_list().collect();
        assert_eq!(words.len(), 7772);
        assert!(
            words
                .iter()
                .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
        );
        let unique: std::collections::BTreeSet<_> = words.iter().collect();
        assert_eq!(unique.len(), words.len());
    }

    #[test]
    fn impossible_policies_are_refused() {
        let policy = PasswordPolicy {
            classes: vec![CharClass::Digit],
            avoid: "0123456789".to_string(),
            ..PasswordPolicy::default()
        };
        assert!(generate_password(&policy).is_err());
    }
}
