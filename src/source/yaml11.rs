//! How YAML 1.1 (the version Ansible's loader, PyYAML, speaks) reads an unquoted scalar.
//!
//! seibi's own files are YAML 1.2, where `yes` is a string and `0755` is 755. Ansible inventories
//! are read the way Ansible reads them: `yes`/`no`/`on`/`off` are booleans, `0755` is octal,
//! `1_000` is 1000, `1:30` is 90 (base 60), `1e3` is a string (a float needs a dot). Dates stay
//! text, as Ansible prints them. Only plain (unquoted, untagged) scalars go through here.

use serde_json::Value;

/// The value of a plain scalar under YAML 1.1's implicit resolvers.
pub fn resolve(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if let Some(f) = float(text) {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string()));
    }
    if let Some(n) = int(text) {
        return Value::Number(n.into());
    }
    Value::String(text.to_string())
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn all(text: &str, ok: impl Fn(u8) -> bool) -> bool {
    !text.is_empty() && text.bytes().all(ok)
}

/// `[-+]?` then binary `0b..`, octal `0..`, decimal, hex `0x..` or base 60 `1:30`.
fn int(text: &str) -> Option<i64> {
    let (negative, body) = split_sign(text);
    let digits = |s: &str, radix: u32| i64::from_str_radix(&s.replace('_', ""), radix).ok();
    let value = if let Some(bin) = body.strip_prefix("0b") {
        all(bin, |b| matches!(b, b'0' | b'1' | b'_')).then(|| digits(bin, 2))??
    } else if let Some(hex) = body.strip_prefix("0x") {
        all(hex, |b| b.is_ascii_hexdigit() || b == b'_').then(|| digits(hex, 16))??
    } else if body == "0" {
        0
    } else if let Some(oct) = body.strip_prefix('0') {
        let oct = oct.replace('_', "");
        if !all(body, |b| matches!(b, b'0'..=b'7' | b'_')) {
            return None;
        }
        if oct.is_empty() {
            0
        } else {
            i64::from_str_radix(&oct, 8).ok()?
        }
    } else if body.contains(':') {
        sexagesimal(body)? as i64
    } else {
        let first_ok = body
            .as_bytes()
            .first()
            .is_some_and(|b| (b'1'..=b'9').contains(b));
        (first_ok && all(body, |b| b.is_ascii_digit() || b == b'_')).then(|| digits(body, 10))??
    };
    Some(if negative { -value } else { value })
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+` (the integer part may be given to `float` with a fraction).
fn sexagesimal(body: &str) -> Option<f64> {
    let mut parts = body.split(':');
    let head = parts.next()?;
    if !head
        .as_bytes()
        .first()
        .is_some_and(|b| (b'1'..=b'9').contains(b))
        || !all(head, |b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let mut value: f64 = head.replace('_', "").parse().ok()?;
    let mut any = false;
    for part in parts {
        let ok = (1..=2).contains(&part.len())
            && all(part, |b| b.is_ascii_digit())
            && (part.len() == 1 || part.as_bytes()[0] <= b'5');
        if !ok {
            return None;
        }
        value = value * 60.0 + part.parse::<f64>().ok()?;
        any = true;
    }
    any.then_some(value)
}

/// YAML 1.1 floats: `1.5`, `1.`, `.5`, `1.0e+3` (the exponent needs a sign), `.inf`, `.nan`,
/// `1:30.5`.
fn float(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let sign = if negative { -1.0 } else { 1.0 };
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(sign * f64::INFINITY);
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(exp) = exponent {
        let (_, digits) = match exp.as_bytes().first() {
            Some(b'-' | b'+') => split_sign(exp),
            _ => return None,
        };
        if !all(digits, |b| b.is_ascii_digit()) {
            return None;
        }
    }
    let (int_part, frac) = mantissa.split_once('.')?;
    if frac.contains('.') || !frac.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    let value = if int_part.contains(':') {
        exponent.is_none().then_some(())?;
        sexagesimal(int_part)? + format!("0.{}", frac.replace('_', "")).parse::<f64>().ok()?
    } else if int_part.is_empty() {
        // `.5` needs a digit first and takes no sign in PyYAML's pattern.
        if negative || text.starts_with('+') || !frac.as_bytes().first()?.is_ascii_digit() {
            return None;
        }
        let e = exponent.map(|e| format!("e{e}")).unwrap_or_default();
        format!("0.{}{e}", frac.replace('_', "")).parse().ok()?
    } else {
        if !int_part.as_bytes()[0].is_ascii_digit()
            || !all(int_part, |b| b.is_ascii_digit() || b == b'_')
        {
            return None;
        }
        let e = exponent.map(|e| format!("e{e}")).unwrap_or_default();
        let frac = frac.replace('_', "");
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{}.{frac}{e}", int_part.replace('_', ""))
            .parse()
            .ok()?
    };
    Some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_scalars() {
        for (text, expected) in [
            ("yes", json!(true)),
            ("Off", json!(false)),
            ("y", json!("y")),
            ("~", json!(null)),
            ("0755", json!(493)),
            ("0o17", json!("0o17")),
            ("1_000", json!(1000)),
            ("-0x1F", json!(-31)),
            ("0b101", json!(5)),
            ("1:30", json!(90)),
            ("08", json!("08")),
            ("1e3", json!("1e3")),
            ("1.0e+3", json!(1000.0)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("2001-12-14", json!("2001-12-14")),
            ("22", json!(22)),
            ("10.0.0.1", json!("10.0.0.1")),
        ] {
            assert_eq!(resolve(text), expected, "{text}");
        }
    }
}
