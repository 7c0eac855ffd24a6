//! Ansible host patterns as inventory files write them: `www[01:50].example.com`, `db-[a:f]`,
//! `node[1:9:2]`, with an optional `:port` suffix (`host:2222`, `[2001:db8::1]:2222`).
//!
//! The rules follow ansible-core's `_expand_hostpattern`: a port is split off only when what
//! remains is a valid host name or address (otherwise the whole text is the name); every `[...]`
//! range is then expanded, leftmost first. A numeric range with a leading zero keeps its width
//! (`[01:10]`), an alphabetic one runs over `a..zA..Z`, and an optional third part is the step.

use std::fmt;

/// Why a host pattern cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `[` without a closing `]`.
    #[error("`[` without a closing `]`")]
    Unclosed,
    /// The range has not two or three parts.
    #[error("a host range is `[begin:end]` or `[begin:end:step]`, found `[{0}]`")]
    Parts(String),
    /// `[1:]`.
    #[error("the host range `[{0}]` has no end value")]
    NoEnd(String),
    /// `[01:100]`.
    #[error("the host range `[{0}]` starts with a zero, so begin and end must have the same width")]
    Width(String),
    /// `[f:a]`.
    #[error("the host range `[{0}]` begins after it ends")]
    Backwards(String),
    /// `[a:9]`, `[1:x]`, a zero or non-numeric step.
    #[error(
        "`[{0}]` is not a host range: use numbers (`[01:20]`) or letters (`[a:f]`), and a step of 1 or more"
    )]
    NotARange(String),
    /// More hosts than any inventory should hold.
    #[error("the host pattern expands to more than {MAX_HOSTS} hosts")]
    TooMany,
}

/// The most names one pattern may expand to (a guard against `[0:99999999]`).
pub const MAX_HOSTS: usize = 100_000;

/// The host names a pattern stands for and the port it gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// Host names, in range order.
    pub hosts: Vec<String>,
    /// The `:port` suffix, if any.
    pub port: Option<u16>,
}

impl fmt::Display for Expansion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.hosts.join(", "))
    }
}

/// Expands one host pattern.
pub fn expand(pattern: &str) -> Result<Expansion, PatternError> {
    let (name, port) = split_port(pattern).unwrap_or((pattern, None));
    let hosts = if name.contains('[') {
        let mut out = Vec::new();
        expand_ranges(name, &mut out)?;
        out
    } else {
        vec![name.to_string()]
    };
    Ok(Expansion { hosts, port })
}

/// Splits `host:port` or `[host]:port` when the host part is a valid name or address; `None`
/// when the text is not a recognisable address at all (Ansible then takes it as it is).
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    let mut host = text;
    let mut port = None;
    // `[address]:port`
    if let Some(rest) = host.strip_prefix('[')
        && let Some((inside, digits)) = rest.rsplit_once("]:")
        && !inside.is_empty()
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        host = inside;
        port = Some(digits);
    }
    // `name:port`, where the name has no `:` outside brackets.
    if let Some((name, digits)) = host.rsplit_once(':')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && no_colon_outside_brackets(name)
    {
        host = name;
        port = Some(digits);
    }
    if !(is_host_name(host) || host.parse::<std::net::Ipv6Addr>().is_ok()) {
        return None;
    }
    // Ansible takes the port with int(): a number too large for a port is its problem later;
    // seibi reports it when it reads ansible_port, so keep what fits and drop the split otherwise.
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

fn no_colon_outside_brackets(text: &str) -> bool {
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' if depth == 0 => depth = 1,
            '[' | ']' if depth == 0 => return false,
            ']' => depth = 0,
            ':' if depth == 0 => return false,
            _ => {}
        }
    }
    depth == 0
}

/// Ansible's host name rule: dot-separated labels of word characters, `-` and ranges, each
/// starting with a word character or a range and not ending with `-` or `_`.
fn is_host_name(text: &str) -> bool {
    text.split('.').all(|label| {
        let mut tokens = Vec::new();
        let mut chars = label.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '[' {
                let mut inside = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(c) => inside.push(c),
                        None => return false,
                    }
                }
                if !is_range_text(&inside) {
                    return false;
                }
                tokens.push(None);
            } else {
                tokens.push(Some(c));
            }
        }
        let word = |c: char| c.is_alphanumeric() || c == '_';
        match (tokens.first(), tokens.last()) {
            (None, _) | (_, None) => false,
            (Some(first), Some(last)) => {
                first.is_none_or(word)
                    && last.is_none_or(|c| c != '-' && c != '_')
                    && tokens.iter().all(|t| t.is_none_or(|c| word(c) || c == '-'))
            }
        }
    })
}

/// `a:z` (one letter each) or `1:9`, with an optional numeric step.
fn is_range_text(inside: &str) -> bool {
    let parts: Vec<&str> = inside.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let letter = |s: &str| s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic());
    let bounds = match parts.as_slice() {
        [a, b] => (a, b),
        [a, b, step] if digits(step) => (a, b),
        _ => return false,
    };
    (digits(bounds.0) && digits(bounds.1)) || (letter(bounds.0) && letter(bounds.1))
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn expand_ranges(line: &str, out: &mut Vec<String>) -> Result<(), PatternError> {
    let Some((head, rest)) = line.split_once('[') else {
        out.push(line.to_string());
        return Ok(());
    };
    let Some((range, tail)) = rest.split_once(']') else {
        return Err(PatternError::Unclosed);
    };
    let bounds: Vec<&str> = range.split(':').collect();
    let (begin, end, step) = match bounds.as_slice() {
        [b, e] => (*b, *e, "1"),
        [b, e, s] => (*b, *e, *s),
        _ => return Err(PatternError::Parts(range.to_string())),
    };
    let begin = if begin.is_empty() { "0" } else { begin };
    if end.is_empty() {
        return Err(PatternError::NoEnd(range.to_string()));
    }
    let width = if begin.starts_with('0') && begin.len() > 1 {
        if begin.len() != end.len() {
            return Err(PatternError::Width(range.to_string()));
        }
        begin.len()
    } else {
        0
    };
    let not_a_range = || PatternError::NotARange(range.to_string());
    let step: usize = step.parse().map_err(|_| not_a_range())?;
    if step == 0 {
        return Err(not_a_range());
    }
    let items: Vec<String> = match (LETTERS.find(begin), LETTERS.find(end)) {
        (Some(b), Some(e)) => {
            if b > e {
                return Err(PatternError::Backwards(range.to_string()));
            }
            LETTERS[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let b: u64 = begin.parse().map_err(|_| not_a_range())?;
            let e: u64 = end.parse().map_err(|_| not_a_range())?;
            if e >= b && (e - b) as usize / step >= MAX_HOSTS {
                return Err(PatternError::TooMany);
            }
            (b..=e)
                .step_by(step)
                .map(|n| format!("{n:0width$}"))
                .collect()
        }
    };
    for item in items {
        expand_ranges(&format!("{head}{item}{tail}"), out)?;
        if out.len() > MAX_HOSTS {
            return Err(PatternError::TooMany);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(p: &str) -> Vec<String> {
        expand(p).expect(p).hosts
    }

    #[test]
    fn numeric_alphabetic_stepped_and_nested_ranges() {
        assert_eq!(hosts("www[01:03].ex"), ["www01.ex", "www02.ex", "www03.ex"]);
        assert_eq!(hosts("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(hosts("n[1:9:4]"), ["n1", "n5", "n9"]);
        assert_eq!(hosts("n[:2]"), ["n0", "n1", "n2"]);
        assert_eq!(hosts("[y:B]"), ["y", "z", "A", "B"]);
        assert_eq!(hosts("r[1:2]c[a:b]"), ["r1ca", "r1cb", "r2ca", "r2cb"]);
        assert_eq!(hosts("端末[1:2]"), ["端末1", "端末2"]);
    }

    #[test]
    fn ports_split_only_from_valid_addresses() {
        assert_eq!(expand("h1:2222").expect("port").port, Some(2222));
        assert_eq!(
            expand("www[1:2]:2222").expect("port").hosts,
            ["www1", "www2"]
        );
        assert_eq!(
            expand("[2001:db8::1]:22").expect("v6").hosts,
            ["2001:db8::1"]
        );
        assert_eq!(expand("2001:db8::1").expect("v6").port, None);
        assert_eq!(expand("bad-:22").expect("kept").hosts, ["bad-:22"]);
        assert_eq!(expand("h1").expect("plain").port, None);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            expand("w[01:100]"),
            Err(PatternError::Width("01:100".into()))
        );
        assert_eq!(expand("w[1:]"), Err(PatternError::NoEnd("1:".into())));
        assert_eq!(expand("w[f:a]"), Err(PatternError::Backwards("f:a".into())));
        assert_eq!(expand("w[1:2"), Err(PatternError::Unclosed));
        assert_eq!(
            expand("w[1:9:0]"),
            Err(PatternError::NotARange("1:9:0".into()))
        );
        assert_eq!(expand("w[0:9999999]"), Err(PatternError::TooMany));
    }
}
