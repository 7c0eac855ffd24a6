//! [`Secret`]: a value that must not leak. It prints as `****` (so it cannot end up in a log, a
//! panic message or a plan document by accident), has no `Serialize`, is zeroized when dropped,
//! and hands out its value only through an explicit [`Secret::expose`] call that is easy to find
//! in review.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroize;

/// What a secret shows instead of its value.
pub const REDACTED: &str = "****";

/// A secret value: redacted in `Debug` and `Display`, zeroized on drop, exposed only by
/// [`Secret::expose`].
///
/// ```
/// use seibi::secrets::Secret;
/// let token = Secret::new(String::from("hunter2"));
/// assert_eq!(format!("{token} {token:?}"), "**** ****");
/// assert_eq!(token.expose(), "hunter2");
/// ```
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a value. The caller should not keep other copies of it.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself. Every call is a place where the secret leaves its wrapper: keep the
    /// borrow short and never format it into a message.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> zeroize::ZeroizeOnDrop for Secret<T> {}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

/// Secrets can be read from decrypted documents; they can never be written by serde (there is
/// deliberately no `Serialize`).
impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

impl Secret<String> {
    /// Compares two secret strings in time independent of where they first differ.
    pub fn ct_eq(&self, other: &Secret<String>) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new(String::from("correct horse"));
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:?}"), "****");
        assert_eq!(format!("{:?}", Some(&s)), "Some(****)");
        assert_eq!(s.expose(), "correct horse");
    }

    #[test]
    // The point is what `unwrap()` prints when a secret is the error.
    #[allow(clippy::unwrap_used, clippy::unnecessary_literal_unwrap)]
    fn panic_messages_show_no_value() {
        let result = std::panic::catch_unwind(|| {
            let err: Result<(), Secret<String>> = Err(Secret::from("sesame-open-42"));
            err.unwrap();
        });
        let payload = result.expect_err("unwrap on Err panics");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("****"), "{message}");
        assert!(!message.contains("sesame"), "{message}");
    }

    #[test]
    fn constant_time_equality() {
        let a = Secret::from("abc");
        assert!(a.ct_eq(&Secret::from("abc")));
        assert!(!a.ct_eq(&Secret::from("abd")));
        assert!(!a.ct_eq(&Secret::from("abcd")));
    }

    #[test]
    fn deserializes_from_documents() {
        let s: Secret<String> = serde_json::from_str("\"tok\"").expect("json string");
        assert_eq!(s.expose(), "tok");
    }
}
