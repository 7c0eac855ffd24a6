//! The values of an INI inventory, read as Ansible reads them: Python literals
//! (`ast.literal_eval`) when the text is one (`1`, `2.5`, `True`, `None`, `'text'`,
//! `[1, 2]`, `{'a': 1}`), the text itself otherwise (`true`, `yes`, `admin`, `01`).

use serde_json::{Map, Number, Value};

/// The value `text` stands for in an INI inventory.
pub fn value(text: &str) -> Value {
    let trimmed = text.trim_start_matches([' ', '\t']);
    let mut parser = Parser {
        text: trimmed,
        pos: 0,
    };
    match parser.expression() {
        Some(v) if parser.at_end() => v,
        _ => Value::String(text.to_string()),
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n']).len();
    }

    fn at_end(&mut self) -> bool {
        self.skip_space();
        self.pos == self.text.len()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expression(&mut self) -> Option<Value> {
        self.skip_space();
        let first = self.rest().chars().next()?;
        match first {
            '[' => self
                .sequence('[', ']')
                .map(|(items, _)| Value::Array(items)),
            '(' => {
                // `(1)` is 1 in Python; `(1,)` a tuple.
                let (mut items, comma) = self.sequence('(', ')')?;
                if items.len() == 1 && !comma {
                    items.pop()
                } else {
                    Some(Value::Array(items))
                }
            }
            '{' => self.dict(),
            '\'' | '"' => self.strings().map(Value::String),
            '-' | '+' => {
                self.pos += 1;
                let v = self.number()?;
                Some(if first == '-' { negate(v)? } else { v })
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => {
                let word: String = self
                    .rest()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                self.pos += word.len();
                match word.as_str() {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    _ => None,
                }
            }
        }
    }

    fn sequence(&mut self, open: char, close: char) -> Option<(Vec<Value>, bool)> {
        self.eat(open);
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.eat(close) {
                return Some((items, trailing_comma));
            }
            items.push(self.expression()?);
            trailing_comma = self.eat(',');
            if !trailing_comma {
                self.skip_space();
                if !self.rest().starts_with(close) {
                    return None;
                }
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        self.eat('{');
        let mut map = Map::new();
        loop {
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            let key = match self.expression()? {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_string(),
                _ => return None,
            };
            if !self.eat(':') {
                return None;
            }
            let value = self.expression()?;
            map.insert(key, value);
            if !self.eat(',') {
                self.skip_space();
                if !self.rest().starts_with('}') {
                    return None;
                }
            }
        }
    }

    /// One or more adjacent string literals (`'a' "b"` is `ab` in Python).
    fn strings(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            self.skip_space();
            let quote = match self.rest().chars().next() {
                Some(q @ ('\'' | '"')) => q,
                _ => return Some(out),
            };
            self.pos += 1;
            let mut chars = self.rest().char_indices();
            let mut closed = None;
            while let Some((i, c)) = chars.next() {
                if c == quote {
                    closed = Some(i);
                    break;
                }
                if c == '\\' {
                    let (_, next) = chars.next()?;
                    let escaped = match next {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        '\\' | '\'' | '"' => next,
                        other => {
                            out.push('\\');
                            other
                        }
                    };
                    out.push(escaped);
                } else {
                    out.push(c);
                }
            }
            self.pos += closed? + 1;
        }
    }

    fn number(&mut self) -> Option<Value> {
        let text: String = self
            .rest()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
            .collect();
        // A sign belongs to the number only right after an exponent.
        let mut end = 0;
        let bytes = text.as_bytes();
        while end < bytes.len() {
            if matches!(bytes[end], b'+' | b'-')
                && !(end > 0 && matches!(bytes[end - 1], b'e' | b'E'))
            {
                break;
            }
            end += 1;
        }
        let text = &text[..end];
        self.pos += text.len();
        if text.contains("__") || text.ends_with('_') || text.starts_with('_') {
            return None;
        }
        let clean = text.replace('_', "");
        let lower = clean.to_ascii_lowercase();
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(digits) = lower.strip_prefix(prefix) {
                return i64::from_str_radix(digits, radix).ok().map(Value::from);
            }
        }
        if lower.bytes().all(|b| b.is_ascii_digit()) {
            // Python refuses leading zeros in decimal literals (`01`), except zero itself.
            if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0') {
                return None;
            }
            return lower.parse::<i64>().ok().map(Value::from);
        }
        if lower.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e') {
            return None;
        }
        let f: f64 = lower.parse().ok()?;
        Number::from_f64(f).map(Value::Number)
    }
}

fn negate(v: Value) -> Option<Value> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(Value::from(-i));
    }
    Number::from_f64(-n.as_f64()?).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_literals_and_plain_text() {
        for (text, expected) in [
            ("1", json!(1)),
            ("-2", json!(-2)),
            ("2.5", json!(2.5)),
            ("1e3", json!(1000.0)),
            ("0x1F", json!(31)),
            ("1_000", json!(1000)),
            ("01", json!("01")),
            ("True", json!(true)),
            ("true", json!("true")),
            ("None", json!(null)),
            ("'x y'", json!("x y")),
            ("[1, 'a']", json!([1, "a"])),
            ("(1, 2)", json!([1, 2])),
            ("(1)", json!(1)),
            ("{'a': 1, 'b': [True]}", json!({"a": 1, "b": [true]})),
            ("10.0.0.1", json!("10.0.0.1")),
            ("admin", json!("admin")),
            ("'unclosed", json!("'unclosed")),
            ("x # c", json!("x # c")),
        ] {
            assert_eq!(value(text), expected, "{text}");
        }
    }
}
