//! YAML documents that remember where every node came from.
//!
//! The only file in seibi that names a YAML crate. `serde_yaml` parses values (and reports syntax
//! errors with a line and column); `yaml-rust2`'s event parser is run over the same text to build
//! an index from each node's path (`tasks[2].command.cmd`) to its line and column, because
//! serde_yaml's values carry no positions. Semantic checks done later (an unknown site, a
//! duplicate id, a `needs:` cycle) can then still point at the exact key in the file.
//!
//! Deserializing goes through [`Node::deserialize`], which tracks the path of any serde error and
//! turns "unknown field" and "missing field" into diagnostics with a caret and a "did you mean".

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_yaml::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{Diagnostic, Location, SourceFile};

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from the document root to a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodePath(Vec<Segment>);

impl NodePath {
    fn child(&self, segment: Segment) -> NodePath {
        let mut next = self.0.clone();
        next.push(segment);
        NodePath(next)
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

impl From<Marker> for Position {
    fn from(m: Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Position {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Span {
    key: Option<Position>,
    value: Position,
}

/// A parsed YAML document with a position for every node.
#[derive(Debug)]
pub struct YamlDocument {
    file: Arc<SourceFile>,
    root: Value,
    index: HashMap<NodePath, Span>,
    /// The text of every plain (unquoted, untagged) scalar value, for YAML 1.1 readings.
    plain: HashMap<NodePath, String>,
    /// Anchor ids to the node they name, and alias nodes to the anchor they repeat.
    anchors: HashMap<usize, NodePath>,
    aliases: HashMap<NodePath, usize>,
}

impl YamlDocument {
    /// Parses `file`'s text. A syntax error names the file, line and column. An empty file is an
    /// empty mapping.
    pub fn parse(file: Arc<SourceFile>) -> Result<Self, Diagnostic> {
        let mut root: Value = match serde_yaml::from_str(file.text()) {
            Ok(value) => value,
            Err(err) => {
                let location = err.location().map(|l| Location {
                    file: file.clone(),
                    line: l.line(),
                    column: l.column(),
                });
                let message = strip_location_suffix(&err.to_string());
                let tab = location
                    .as_ref()
                    .and_then(|l| file.line(l.line))
                    .is_some_and(|line| line.contains('\t'));
                let hint = if tab {
                    "YAML does not allow tabs for indentation: indent with spaces"
                } else if message.contains("repetition limit")
                    || message.contains("recursion limit")
                {
                    "the file repeats YAML aliases (`*name`) too many times or nests too deeply; write the values out"
                } else {
                    "check the indentation and that every `key: value` pair is well formed"
                };
                // Errors without a place (resource limits such as an alias bomb) still name
                // the file.
                let location = location.or_else(|| {
                    Some(Location {
                        file: file.clone(),
                        line: 1,
                        column: 1,
                    })
                });
                return Err(Diagnostic::error(format!("invalid YAML: {message}"))
                    .at(location)
                    .hint(hint));
            }
        };
        if root.is_null() {
            root = Value::Mapping(Default::default());
        }
        root.apply_merge().map_err(|err| {
            Diagnostic::error(format!("invalid YAML merge key (`<<`): {err}")).at(Some(Location {
                file: file.clone(),
                line: 1,
                column: 1,
            }))
        })?;
        let mut indexer = Indexer::default();
        // serde_yaml accepted the text, so yaml-rust2 will too; if it does not, positions just
        // fall back to the start of the file.
        let _ = Parser::new_from_str(file.text()).load(&mut indexer, false);
        Ok(Self {
            file,
            root,
            index: indexer.index,
            plain: indexer.plain,
            anchors: indexer.anchors,
            aliases: indexer.aliases,
        })
    }

    /// The document's root node.
    pub fn root(&self) -> Node<'_> {
        Node {
            doc: self,
            value: &self.root,
            path: NodePath::default(),
        }
    }

    /// The file the document came from.
    pub fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    fn span(&self, path: &NodePath) -> Option<Span> {
        // Nodes reached through aliases or merge keys have no entry of their own: use the
        // nearest ancestor that has one.
        let mut segments = path.0.as_slice();
        loop {
            if let Some(span) = self.index.get(&NodePath(segments.to_vec())) {
                return Some(*span);
            }
            segments = segments.split_last()?.1;
        }
    }

    /// The text of the plain scalar at `path`, following aliases and merge keys (`<<: *base`)
    /// back to where the scalar is written; `None` for quoted or tagged scalars.
    fn plain_text(&self, path: &NodePath, depth: usize) -> Option<&str> {
        if self.index.contains_key(path) {
            return self.plain.get(path).map(String::as_str);
        }
        if depth > 16 {
            return None;
        }
        for cut in (0..path.0.len()).rev() {
            let prefix = NodePath(path.0[..cut].to_vec());
            let rest = &path.0[cut..];
            let via = |alias: &NodePath| {
                let anchor = self.anchors.get(self.aliases.get(alias)?)?;
                let mut target = anchor.clone();
                target.0.extend_from_slice(rest);
                self.plain_text(&target, depth + 1)
            };
            if let Some(text) = via(&prefix) {
                return Some(text);
            }
            let merge = prefix.child(Segment::Key("<<".to_string()));
            if let Some(text) = via(&merge) {
                return Some(text);
            }
            for i in 0..16 {
                let item = merge.child(Segment::Index(i));
                if !self.aliases.contains_key(&item) {
                    break;
                }
                if let Some(text) = via(&item) {
                    return Some(text);
                }
            }
        }
        None
    }

    fn location(&self, pos: Position) -> Location {
        Location {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
        }
    }
}

/// A node in a [`YamlDocument`], with its path and therefore its place in the file.
#[derive(Clone)]
pub struct Node<'a> {
    doc: &'a YamlDocument,
    value: &'a Value,
    path: NodePath,
}

impl<'a> Node<'a> {
    fn child(&self, value: &'a Value, segment: Segment) -> Node<'a> {
        Node {
            doc: self.doc,
            value,
            path: self.path.child(segment),
        }
    }

    /// Where this node's value starts. For a mapping or a list that is where its first entry
    /// starts (yaml-rust2 marks a block mapping's start after its first key).
    pub fn location(&self) -> Location {
        let first = match self.value {
            Value::Mapping(m) => m.keys().next().and_then(Value::as_str).map(|k| {
                let path = self.path.child(Segment::Key(k.to_string()));
                self.doc.span(&path).and_then(|s| s.key)
            }),
            Value::Sequence(v) if !v.is_empty() => Some(
                self.doc
                    .span(&self.path.child(Segment::Index(0)))
                    .map(|s| s.value),
            ),
            _ => None,
        };
        if let Some(Some(pos)) = first {
            return self.doc.location(pos);
        }
        match self.doc.span(&self.path) {
            Some(span) => self.doc.location(span.value),
            None => self.doc.location(Position { line: 1, column: 1 }),
        }
    }

    /// Where this node's key starts (for a mapping entry), else its value.
    pub fn key_location(&self) -> Location {
        match self.doc.span(&self.path) {
            Some(Span { key: Some(k), .. }) => self.doc.location(k),
            _ => self.location(),
        }
    }

    /// The path from the document root, e.g. `terminals.chuo-t01.site`.
    pub fn path(&self) -> &NodePath {
        &self.path
    }

    /// Whether the node is null or absent.
    pub fn is_null(&self) -> bool {
        self.value.is_null()
    }

    /// The string, if this is a string scalar.
    pub fn as_str(&self) -> Option<&'a str> {
        self.value.as_str()
    }

    /// A short name of the node's type, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
            Value::Tagged(_) => "a tagged value",
        }
    }

    /// Deserializes this node into `T`; errors point into the file.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        match serde_path_to_error::deserialize::<_, T>(self.value) {
            Ok(v) => Ok(v),
            Err(err) => {
                let mut path = self.path.clone();
                for seg in err.path().iter() {
                    match seg {
                        serde_path_to_error::Segment::Seq { index } => {
                            path = path.child(Segment::Index(*index))
                        }
                        serde_path_to_error::Segment::Map { key } => {
                            path = path.child(Segment::Key(key.clone()))
                        }
                        _ => {}
                    }
                }
                Err(self.serde_diagnostic(path, &err.into_inner().to_string()))
            }
        }
    }

    fn serde_diagnostic(&self, path: NodePath, message: &str) -> Diagnostic {
        let message = strip_location_suffix(message);
        let at_path = |p: &NodePath| match self.doc.span(p) {
            Some(span) => self.doc.location(span.key.unwrap_or(span.value)),
            None => self.location(),
        };
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
            let candidates = backticked(expected);
            // serde_path_to_error's path already ends at the unknown key.
            let (key_path, parent) = match path.0.last() {
                Some(Segment::Key(k)) if k == field => {
                    (path.clone(), NodePath(path.0[..path.0.len() - 1].to_vec()))
                }
                _ => (path.child(Segment::Key(field.to_string())), path.clone()),
            };
            let mut d =
                Diagnostic::error(format!("unknown key `{field}` in {}", describe(&parent)))
                    .at(Some(at_path(&key_path)))
                    .did_you_mean(field, candidates.iter().map(String::as_str));
            if !candidates.is_empty() {
                d = d.hint(format!("expected one of: {}", candidates.join(", ")));
            }
            return d;
        }
        if let Some(rest) = message.strip_prefix("unknown variant `") {
            let (variant, expected) = rest.split_once('`').unwrap_or((rest, ""));
            let candidates = backticked(expected);
            let mut d =
                Diagnostic::error(format!("unknown value `{variant}` for {}", describe(&path)))
                    .at(Some(at_path(&path)))
                    .did_you_mean(variant, candidates.iter().map(String::as_str));
            if !candidates.is_empty() {
                d = d.hint(format!("expected one of: {}", candidates.join(", ")));
            }
            return d;
        }
        if let Some(rest) = message.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or(rest);
            return Diagnostic::error(format!("missing key `{field}` in {}", describe(&path)))
                .at(Some(at_path(&path)))
                .hint(format!("add `{field}:`"));
        }
        if let Some((wording, hint)) = reword(&message) {
            return Diagnostic::error(format!("{} {wording}", describe(&path)))
                .at(Some(at_path(&path)))
                .hint(hint);
        }
        Diagnostic::error(format!("{} at {}", message, describe(&path))).at(Some(at_path(&path)))
    }

    /// The entries of a mapping with string keys, in file order; `None` if not a mapping.
    /// Non-string keys are shown as their YAML text.
    pub fn entries(&self) -> Option<Vec<(String, Node<'a>)>> {
        let Value::Mapping(map) = self.value else {
            return None;
        };
        Some(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    let child = self.child(v, Segment::Key(key.clone()));
                    (key, child)
                })
                .collect(),
        )
    }

    /// The items of a sequence; `None` if not a sequence.
    pub fn items(&self) -> Option<Vec<Node<'a>>> {
        let Value::Sequence(seq) = self.value else {
            return None;
        };
        Some(
            seq.iter()
                .enumerate()
                .map(|(i, v)| self.child(v, Segment::Index(i)))
                .collect(),
        )
    }

    /// The child at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_mapping()?.get(key)?;
        Some(self.child(value, Segment::Key(key.to_string())))
    }

    /// Whether the node is tagged `!unsafe` (Ansible's mark for text it must never template).
    pub fn is_unsafe(&self) -> bool {
        matches!(self.value, Value::Tagged(tagged) if tagged.tag == "!unsafe")
    }

    /// The node as JSON read the way YAML 1.1 (Ansible's loader) reads it: unquoted `yes`, `off`,
    /// `0755`, `1_000` are a boolean and numbers (see [`super::yaml11`]). Mapping keys become
    /// strings. A tag other than `!unsafe` is an error naming it (`!vault` values cannot be read).
    pub fn to_json_yaml11(&self) -> Result<serde_json::Value, Diagnostic> {
        use serde_json::Value as Json;
        match self.value {
            Value::Mapping(_) => {
                let mut map = serde_json::Map::new();
                for (key, child) in self.entries().unwrap_or_default() {
                    map.insert(key, child.to_json_yaml11()?);
                }
                Ok(Json::Object(map))
            }
            Value::Sequence(_) => Ok(Json::Array(
                self.items()
                    .unwrap_or_default()
                    .iter()
                    .map(Node::to_json_yaml11)
                    .collect::<Result<_, _>>()?,
            )),
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                if tag == "!unsafe" {
                    return Ok(serde_json::to_value(&tagged.value).unwrap_or(Json::Null));
                }
                let mut d = Diagnostic::error(format!(
                    "the YAML tag `{tag}` at {} is not supported",
                    describe(&self.path)
                ))
                .at(Some(self.location()));
                if tag == "!vault" {
                    d = d.hint("Ansible Vault values cannot be read by seibi: keep secrets in seibi's age store (`seibi secrets`)");
                }
                Err(d)
            }
            _ => match self.doc.plain_text(&self.path, 0) {
                Some(text) => Ok(super::yaml11::resolve(text)),
                None => Ok(self.to_json()),
            },
        }
    }

    /// The node as JSON (for digests and display of raw arguments).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.value).unwrap_or(serde_json::Value::Null)
    }
}

/// Serializes a value as YAML text, for the plaintext files seibi writes itself (indexes,
/// state files) and for plaintext that is encrypted at once.
pub fn to_yaml_string<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| e.to_string())
}

/// Where a document whose text must never be shown failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactedYamlError {
    /// Line, from 1, when known.
    pub line: Option<usize>,
    /// Column, from 1, when known.
    pub column: Option<usize>,
}

impl fmt::Display for RedactedYamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "at line {line}, column {column}"),
            (Some(line), None) => write!(f, "at line {line}"),
            _ => f.write_str("somewhere in the document"),
        }
    }
}

/// Deserializes text whose content must never appear in a message (decrypted secrets): unlike
/// [`YamlDocument`], the error gives only the place, never a quoted line or value (serde's
/// messages embed the offending value).
pub fn from_str_redacted<T: DeserializeOwned>(text: &str) -> Result<T, RedactedYamlError> {
    serde_yaml::from_str(text).map_err(|err| RedactedYamlError {
        line: err.location().map(|l| l.line()),
        column: err.location().map(|l| l.column()),
    })
}

/// Describes a path for messages: "`tasks[2].command`", or "the document" for the root.
fn describe(path: &NodePath) -> String {
    if path.0.is_empty() {
        "the document".to_string()
    } else {
        format!("`{path}`")
    }
}

/// seibi's own wording for the errors that serde and jiff word for programmers ("expected
/// u16", "failed to parse four digit integer as year"): what is wrong, and a hint.
fn reword(message: &str) -> Option<(String, String)> {
    if let Some(rest) = message.strip_prefix("invalid value: integer `") {
        let (number, expected) = rest.split_once("`, expected ")?;
        let max = match expected {
            "u8" => u64::from(u8::MAX),
            "u16" => u64::from(u16::MAX),
            "u32" => u64::from(u32::MAX),
            _ => return None,
        };
        return Some((
            format!("is {number}, which is out of range"),
            format!("use a whole number from 0 to {max} (a port is 1 to 65535)"),
        ));
    }
    if message.starts_with("invalid type: ") && message.contains("expected u") {
        return Some((
            format!(
                "is {}, not a whole number",
                message
                    .trim_start_matches("invalid type: ")
                    .split(", expected")
                    .next()?
            ),
            "use a whole number".to_string(),
        ));
    }
    let jiff = message.starts_with("failed to parse") || message.contains("parameter '");
    if jiff {
        let time = ["hour", "minute", "second", "time"]
            .iter()
            .any(|w| message.contains(w));
        return Some(if time {
            (
                "is not a valid time".to_string(),
                "write a time as HH:MM, e.g. 08:45 or 17:15".to_string(),
            )
        } else {
            (
                "is not a valid date".to_string(),
                "write a date as YYYY-MM-DD, e.g. 2026-10-16".to_string(),
            )
        });
    }
    None
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// serde_yaml appends " at line L column C"; the diagnostic shows the place itself.
fn strip_location_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[derive(Debug)]
enum Frame {
    Map {
        path: NodePath,
        pending_key: Option<(String, Position)>,
        /// Depth of a complex (non-scalar) key being skipped.
        skipping_key: bool,
    },
    Seq {
        path: NodePath,
        next: usize,
    },
    /// A non-scalar mapping key: its contents are not indexed.
    Skip,
}

#[derive(Debug, Default)]
struct Indexer {
    stack: Vec<Frame>,
    index: HashMap<NodePath, Span>,
    plain: HashMap<NodePath, String>,
    anchors: HashMap<usize, NodePath>,
    aliases: HashMap<NodePath, usize>,
}

impl Indexer {
    /// Places a node that starts at `pos`; returns its path, or `None` if it is a key (or inside
    /// a skipped key).
    fn place(&mut self, pos: Position, scalar: Option<&str>) -> Option<NodePath> {
        match self.stack.last_mut() {
            None => {
                let path = NodePath::default();
                self.index.insert(
                    path.clone(),
                    Span {
                        key: None,
                        value: pos,
                    },
                );
                Some(path)
            }
            Some(Frame::Skip) => None,
            Some(Frame::Seq { path, next }) => {
                let child = path.child(Segment::Index(*next));
                *next += 1;
                self.index.insert(
                    child.clone(),
                    Span {
                        key: None,
                        value: pos,
                    },
                );
                Some(child)
            }
            Some(Frame::Map {
                path,
                pending_key,
                skipping_key,
            }) => match pending_key.take() {
                Some((key, key_pos)) => {
                    let child = path.child(Segment::Key(key));
                    self.index.insert(
                        child.clone(),
                        Span {
                            key: Some(key_pos),
                            value: pos,
                        },
                    );
                    Some(child)
                }
                None => {
                    match scalar {
                        Some(s) => *pending_key = Some((s.to_string(), pos)),
                        None => {
                            *skipping_key = true;
                            *pending_key = Some(("?".to_string(), pos));
                        }
                    }
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Position::from(mark);
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                if let Some(path) = self.place(pos, Some(&value)) {
                    if anchor > 0 {
                        self.anchors.insert(anchor, path.clone());
                    }
                    if style == TScalarStyle::Plain && tag.is_none() {
                        self.plain.insert(path, value);
                    }
                }
            }
            Event::Alias(id) => {
                if let Some(path) = self.place(pos, Some("*alias")) {
                    self.aliases.insert(path, id);
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let in_skip = matches!(self.stack.last(), Some(Frame::Skip));
                let is_key = matches!(
                    self.stack.last(),
                    Some(Frame::Map {
                        pending_key: None,
                        ..
                    })
                );
                let anchor = match &ev {
                    Event::MappingStart(a, _) | Event::SequenceStart(a, _) => *a,
                    _ => 0,
                };
                let placed = self.place(pos, None);
                if let Some(path) = &placed
                    && anchor > 0
                {
                    self.anchors.insert(anchor, path.clone());
                }
                let frame = match placed {
                    Some(path) if is_map => Frame::Map {
                        path,
                        pending_key: None,
                        skipping_key: false,
                    },
                    Some(path) => Frame::Seq { path, next: 0 },
                    None => {
                        debug_assert!(in_skip || is_key);
                        Frame::Skip
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
                if let Some(Frame::Map { skipping_key, .. }) = self.stack.last_mut() {
                    // The end of a complex key: the pending "?" key now waits for its value.
                    *skipping_key = false;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> YamlDocument {
        YamlDocument::parse(SourceFile::new("t.yml", text)).expect("parses")
    }

    #[test]
    fn index_points_at_keys_and_values() {
        let d = doc("sites:\n  chuo:\n    name: 中央区\n    capacity: 4\nlist:\n  - a\n  - b: 1\n");
        let root = d.root();
        let sites = root.get("sites").expect("sites");
        let chuo = sites.get("chuo").expect("chuo");
        let cap = chuo.get("capacity").expect("capacity");
        assert_eq!((cap.key_location().line, cap.key_location().column), (4, 5));
        assert_eq!(cap.location().column, 15);
        let items = root.get("list").expect("list");
        let second = &items.items().expect("seq")[1];
        assert_eq!(second.location().line, 7);
        assert_eq!(second.path().to_string(), "list[1]");
    }

    #[test]
    fn unknown_key_gets_place_and_suggestion() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Site {
            name: String,
            capacity: u32,
        }
        let d = doc("chuo:\n  name: x\n  capacty: 3\n");
        let chuo = d.root().get("chuo").expect("chuo");
        let err = chuo.deserialize::<Site>().expect_err("unknown key");
        assert_eq!(err.message, "unknown key `capacty` in `chuo`");
        let loc = err.location.expect("location");
        assert_eq!((loc.line, loc.column), (3, 3));
        assert_eq!(err.hints[0], "did you mean `capacity`?");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = YamlDocument::parse(SourceFile::new("bad.yml", "a: [1, 2\nb: 3\n"))
            .expect_err("syntax error");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.location.is_some());
    }

    #[test]
    fn merge_keys_are_applied() {
        let d = doc("base: &b\n  x: 1\nthing:\n  <<: *b\n  y: 2\n");
        let thing = d.root().get("thing").expect("thing");
        let keys: Vec<String> = thing
            .entries()
            .expect("map")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(keys.contains(&"x".to_string()) && keys.contains(&"y".to_string()));
    }
}
