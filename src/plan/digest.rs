//! Canonical JSON and its SHA-256: object keys sorted, no insignificant white space, whole
//! numbers without a fraction, so the same content always hashes the same whatever order it was
//! built in, and `jq -cS` (docs/verify-plan-digest.sh) writes the same bytes.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the canonical JSON form of `value`.
pub fn canonical_sha256<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let mut out = String::new();
    write_canonical(&json, &mut out);
    hex::encode(Sha256::digest(out.as_bytes()))
}

/// Writes `value` in canonical form to `out`.
pub(super) fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        // A whole number held as a float (`20.0`) is written as an integer (`20`), as JSON
        // canonicalization (RFC 8785) and jq do, so `jq -cS` reproduces the digest.
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                out.push_str(&format!("{}", f as i64));
            }
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_matter_but_values_do() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#).expect("json");
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},"b":1}"#).expect("json");
        let c: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":"s","y":[2,1]},"b":1}"#).expect("json");
        assert_eq!(canonical_sha256(&a), canonical_sha256(&b));
        assert_ne!(canonical_sha256(&a), canonical_sha256(&c));
    }

    #[test]
    fn whole_floats_are_written_as_integers() {
        let mut out = String::new();
        write_canonical(
            &serde_json::json!({"b": 20.0, "a": [1.5, -3.0, 7]}),
            &mut out,
        );
        assert_eq!(out, r#"{"a":[1.5,-3,7],"b":20}"#);
    }
}
