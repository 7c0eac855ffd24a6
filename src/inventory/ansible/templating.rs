//! Templates in a host's connection variables, resolved as Ansible resolves them to connect.
//!
//! `ansible-inventory --list` shows `ansible_host: "{{ ip }}"` as written, but Ansible templates
//! the value with the host's variables before it connects, so `ansible_host: "{{
//! inventory_hostname }}.city.local"` or `ansible_user: "{{ admin_user }}"` in `group_vars/` are
//! common and mean a real address and user. seibi resolves the variables it takes from a host
//! (see [`super::connection`]) the same way: with the host's own effective variables (a
//! variable that refers to another is resolved in turn, as Ansible's lazy templating does),
//! `inventory_hostname`, `inventory_hostname_short` and `group_names`. A template that is one
//! expression keeps its type (`"{{ base_port + 2 }}"` is a number), as in Ansible.
//!
//! A value tagged `!unsafe` is taken as written, as Ansible takes it. What cannot be resolved
//! is an error at the variable's place: an undefined name (with a "did
//! you mean"), a loop, a filter seibi's engine lacks, a syntax error. A `{{` never reaches an
//! address or a user name. The variables shown by `seibi inventory show` stay as written, as
//! `ansible-inventory` shows them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

use super::model::SourcedVars;

/// Why a variable's template could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The template names variables the host does not have.
    Undefined {
        /// The names, in order.
        names: Vec<String>,
        /// A defined variable close to the first of them.
        suggestion: Option<String>,
    },
    /// The variable refers to itself, through the chain shown.
    Loop(Vec<String>),
    /// The template is not valid Jinja, or fails when rendered (an unknown filter, a type error).
    Invalid(String),
}

impl Unresolved {
    /// The problem, said after "`var` is `TEMPLATE`: ".
    pub fn problem(&self) -> String {
        match self {
            Unresolved::Undefined { names, .. } => {
                let list = names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if names.len() == 1 {
                    format!("{list} is undefined for this host")
                } else {
                    format!("{list} are undefined for this host")
                }
            }
            Unresolved::Loop(chain) => format!("it refers to itself ({})", chain.join(" -> ")),
            Unresolved::Invalid(message) => message.clone(),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Unresolved::Undefined {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            Unresolved::Undefined { .. } => "connection variables are templated with the host's own variables, `inventory_hostname`, `inventory_hostname_short` and `group_names` (not `hostvars`, `groups` or lookups)".to_string(),
            Unresolved::Loop(_) => "give one of the variables in the chain a value without a template".to_string(),
            Unresolved::Invalid(_) => "seibi templates connection variables with Jinja expressions and the common filters (`default`, `lower`, `upper`, `replace`, `int`, `string`, `trim`, `join`, `ternary`, `bool`)".to_string(),
        }
    }
}

/// Whether `text` holds Jinja syntax that Ansible would template.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Resolves one host's variables on demand, each at most once.
pub struct Resolver<'a> {
    env: Arc<Environment<'static>>,
    vars: &'a SourcedVars,
    magic: [(&'static str, Value); 3],
    done: HashMap<String, Result<serde_json::Value, Unresolved>>,
    resolving: Vec<String>,
}

impl<'a> Resolver<'a> {
    /// A resolver for host `host`, in the groups `group_names` (without `all`), with its
    /// effective variables `vars`.
    pub fn new(host: &str, group_names: Vec<String>, vars: &'a SourcedVars) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // A connection variable is one short string: bound the work a template may do.
        env.set_fuel(Some(100_000));
        env.add_filter("ternary", ternary);
        env.add_filter("bool", to_bool);
        let short = host.split('.').next().unwrap_or(host).to_string();
        let mut group_names = group_names;
        group_names.sort();
        Self {
            env: Arc::new(env),
            vars,
            magic: [
                ("inventory_hostname", Value::from(host)),
                ("inventory_hostname_short", Value::from(short)),
                ("group_names", Value::from(group_names)),
            ],
            done: HashMap::new(),
            resolving: Vec::new(),
        }
    }

    /// The value of variable `name` with its templates resolved; `None` if the host has no
    /// such variable.
    pub fn get(&mut self, name: &str) -> Option<Result<serde_json::Value, Unresolved>> {
        let sourced = self.vars.get(name)?;
        if let Some(done) = self.done.get(name) {
            return Some(done.clone());
        }
        if let Some(start) = self.resolving.iter().position(|n| n == name) {
            let mut chain = self.resolving[start..].to_vec();
            chain.push(name.to_string());
            return Some(Err(Unresolved::Loop(chain)));
        }
        if sourced.literal {
            return Some(Ok(sourced.value.clone()));
        }
        self.resolving.push(name.to_string());
        let result = self.resolve_value(&sourced.value);
        self.resolving.pop();
        self.done.insert(name.to_string(), result.clone());
        Some(result)
    }

    /// `vars` with the variables in `names` resolved (each keeps its place), and what could not
    /// be resolved, by variable.
    pub fn resolved(&mut self, names: &[&str]) -> (SourcedVars, Vec<(String, Unresolved)>) {
        let mut out = self.vars.clone();
        let mut problems = Vec::new();
        for &name in names {
            match self.get(name) {
                None => {}
                Some(Ok(value)) => {
                    if let Some(slot) = out.get_mut(name) {
                        slot.value = value;
                    }
                }
                Some(Err(problem)) => problems.push((name.to_string(), problem)),
            }
        }
        (out, problems)
    }

    fn resolve_value(
        &mut self,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, Unresolved> {
        match value {
            serde_json::Value::String(s) if is_template(s) => self.render(s),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| self.resolve_value(v))
                .collect::<Result<Vec<_>, _>>()
                .map(serde_json::Value::Array),
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve_value(v)?)))
                .collect::<Result<serde_json::Map<_, _>, _>>()
                .map(serde_json::Value::Object),
            other => Ok(other.clone()),
        }
    }

    /// Renders one template string: a lone `{{ expression }}` keeps the expression's type.
    fn render(&mut self, source: &str) -> Result<serde_json::Value, Unresolved> {
        let invalid = |e: minijinja::Error| Unresolved::Invalid(describe(&e));
        let env = Arc::clone(&self.env);
        let template = env.template_from_str(source).map_err(invalid)?;
        let referenced: BTreeSet<String> =
            template.undeclared_variables(false).into_iter().collect();
        let mut context = serde_json::Map::new();
        for name in &referenced {
            if let Some(value) = self.get(name) {
                context.insert(name.clone(), value?);
            }
        }
        let mut ctx: HashMap<&str, Value> = context
            .iter()
            .map(|(k, v)| (k.as_str(), Value::from_serialize(v)))
            .collect();
        for (name, value) in &self.magic {
            ctx.entry(name).or_insert_with(|| value.clone());
        }
        let undefined = || {
            let names: Vec<String> = referenced
                .iter()
                .filter(|n| !ctx.contains_key(n.as_str()))
                .cloned()
                .collect();
            let candidates = self
                .vars
                .keys()
                .map(String::as_str)
                .chain(self.magic.iter().map(|(n, _)| *n));
            let suggestion = names
                .first()
                .and_then(|n| crate::source::closest(n, candidates))
                .map(str::to_string);
            Unresolved::Undefined { names, suggestion }
        };
        let rendered = match lone_expression(source) {
            Some(expr) => {
                let compiled = env.compile_expression(expr).map_err(invalid)?;
                match compiled.eval(&ctx) {
                    Ok(v) if v.is_undefined() => return Err(undefined()),
                    Ok(v) => {
                        serde_json::to_value(&v).map_err(|e| Unresolved::Invalid(e.to_string()))?
                    }
                    Err(e) if e.kind() == ErrorKind::UndefinedError => return Err(undefined()),
                    Err(e) => return Err(invalid(e)),
                }
            }
            None => match template.render(&ctx) {
                Ok(text) => serde_json::Value::String(text),
                Err(e) if e.kind() == ErrorKind::UndefinedError => return Err(undefined()),
                Err(e) => return Err(invalid(e)),
            },
        };
        Ok(rendered)
    }
}

/// The expression of a template that is exactly one `{{ ... }}` (surrounding spaces aside).
fn lone_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{")
        && !inner.contains("}}")
        && !inner.contains("{%")
        && !inner.contains("{#"))
    .then_some(inner)
}

/// minijinja's message without its "(in <string>:1)" tail.
fn describe(err: &minijinja::Error) -> String {
    let text = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    format!("cannot be templated ({text})")
}

/// Ansible's `ternary(a, b)`: `a` when the value is true, else `b`.
fn ternary(value: Value, yes: Value, no: Value) -> Value {
    if value.is_true() { yes } else { no }
}

/// Ansible's `bool`: yes/no, true/false, on/off, 1/0 as a boolean.
fn to_bool(value: Value) -> Result<bool, minijinja::Error> {
    if let Some(s) = value.as_str() {
        return match s.trim().to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Ok(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "" => Ok(false),
            other => Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("`{other}` is not a boolean"),
            )),
        };
    }
    Ok(value.is_true())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::ansible::model::Sourced;
    use crate::source::Location;

    fn vars(pairs: &[(&str, serde_json::Value)]) -> SourcedVars {
        let file = crate::source::SourceFile::new("hosts.yml", "");
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    Sourced::new(
                        v.clone(),
                        Location {
                            file: file.clone(),
                            line: 1,
                            column: 1,
                        },
                    ),
                )
            })
            .collect()
    }

    #[test]
    fn a_chain_of_variables_resolves_and_a_lone_expression_keeps_its_type() {
        let vars = vars(&[
            (
                "ansible_host",
                "{{ inventory_hostname_short }}.{{ domain }}".into(),
            ),
            ("domain", "{{ ward }}.city.local".into()),
            ("ward", "kita".into()),
            ("base", 2200.into()),
            ("ansible_port", "{{ base + 2 }}".into()),
        ]);
        let mut r = Resolver::new("t01.example", vec![], &vars);
        assert_eq!(
            r.get("ansible_host").expect("defined").expect("resolved"),
            serde_json::json!("t01.kita.city.local")
        );
        assert_eq!(
            r.get("ansible_port").expect("defined").expect("resolved"),
            serde_json::json!(2202)
        );
        assert!(r.get("absent").is_none());
    }

    #[test]
    fn undefined_names_a_loop_and_a_bad_filter_are_reported_not_kept() {
        let vars = vars(&[
            ("ansible_user", "{{ admin_usr }}".into()),
            ("admin_user", "kanri".into()),
            ("a", "{{ b }}".into()),
            ("b", "x{{ a }}".into()),
            ("ansible_host", "{{ ip | ipaddr }}".into()),
            ("ip", "10.0.0.1".into()),
        ]);
        let mut r = Resolver::new("h1", vec![], &vars);
        assert_eq!(
            r.get("ansible_user").expect("defined"),
            Err(Unresolved::Undefined {
                names: vec!["admin_usr".into()],
                suggestion: Some("admin_user".into())
            })
        );
        assert_eq!(
            r.get("a").expect("defined"),
            Err(Unresolved::Loop(vec!["a".into(), "b".into(), "a".into()]))
        );
        let Err(Unresolved::Invalid(message)) = r.get("ansible_host").expect("defined") else {
            panic!("an unknown filter is invalid");
        };
        assert!(message.contains("ipaddr"), "{message}");
    }

    #[test]
    fn an_unsafe_value_is_taken_as_written() {
        let mut vars = vars(&[("ansible_user", "odd{{user".into())]);
        vars["ansible_user"].literal = true;
        let mut r = Resolver::new("h1", vec![], &vars);
        assert_eq!(
            r.get("ansible_user").expect("defined").expect("resolved"),
            serde_json::json!("odd{{user")
        );
    }

    #[test]
    fn defaults_tests_and_group_names_work_as_in_ansible() {
        let vars = vars(&[
            ("ansible_user", "{{ site_user | default('admin') }}".into()),
            ("ansible_become", "{{ 'servers' in group_names }}".into()),
            (
                "seibi_site",
                "{{ ward if ward is defined else 'chuo' }}".into(),
            ),
        ]);
        let mut r = Resolver::new("h1", vec!["servers".into(), "counter".into()], &vars);
        assert_eq!(
            r.get("ansible_user").expect("defined").expect("resolved"),
            serde_json::json!("admin")
        );
        assert_eq!(
            r.get("ansible_become").expect("defined").expect("resolved"),
            serde_json::json!(true)
        );
        assert_eq!(
            r.get("seibi_site").expect("defined").expect("resolved"),
            serde_json::json!("chuo")
        );
    }
}
