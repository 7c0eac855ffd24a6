//! Templating with minijinja: every string argument of a task and every `template:` file.
//!
//! Undefined variables are errors (strict mode), never empty strings: a typo in a variable name
//! must not push an empty setting to a hundred terminals. The error names the variable and
//! suggests the closest defined one. Secrets are referenced by name with `{{ secret("name") }}`;
//! while planning they render as the placeholder [`secret_placeholder`] so that no value can
//! reach a plan, a document or a log, and the names used are recorded (a plan pins them).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

/// How a secret reference renders while planning.
pub fn secret_placeholder(name: &str) -> String {
    format!("[[secret:{name}]]")
}

thread_local! {
    /// Secret names referenced by the render in progress on this thread.
    static SECRETS_SEEN: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// What went wrong, for people.
    pub message: String,
    /// Variables that were used but not defined (dotted paths such as `site.adress`).
    pub undefined: Vec<String>,
    /// Line within the template, when known.
    pub line: Option<usize>,
}

/// The result of rendering: the text, and the secrets it referenced.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Text with secrets replaced by placeholders.
    pub text: String,
    /// Names of referenced secrets.
    pub secrets: BTreeSet<String>,
}

/// The variables of many renders: a JSON object (for error messages and hints) and the same
/// converted once to the engine's values (converting it for every render is where planning a
/// large fleet spent its time).
#[derive(Debug)]
pub struct Context {
    json: serde_json::Value,
    value: Value,
}

impl Context {
    /// A context over `json` (an object).
    pub fn new(json: serde_json::Value) -> Self {
        let value = Value::from_serialize(&json);
        Self { json, value }
    }

    /// The variables as JSON.
    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }
}

/// The template environment.
pub struct Templates {
    env: Environment<'static>,
    /// Sources parsed once by [`Templates::prepare`], by source, with the name the
    /// environment holds each under: a plan renders the same strings for thousands of
    /// terminals, and parsing them again for each was much of its time.
    prepared: HashMap<String, String>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// A strict environment with the `secret()` function.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        // Bound the work a template can do, so a runaway loop fails instead of hanging a plan.
        env.set_fuel(Some(1_000_000));
        env.add_function(
            "secret",
            |name: String| -> Result<Value, minijinja::Error> {
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    return Err(minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("invalid secret name {name:?}"),
                    ));
                }
                SECRETS_SEEN.with(|s| s.borrow_mut().insert(name.clone()));
                Ok(Value::from(secret_placeholder(&name)))
            },
        );
        Self {
            env,
            prepared: HashMap::new(),
        }
    }

    /// Parses `source` once for every later render of it, and returns the variables it uses
    /// (dotted paths such as `terminal.id`, or a bare name where it is used otherwise): what
    /// it renders to depends on their values only. A plain string uses none.
    pub fn prepare(&mut self, source: &str) -> Result<BTreeSet<String>, TemplateError> {
        if is_plain(source) {
            return Ok(BTreeSet::new());
        }
        if !self.prepared.contains_key(source) {
            let name = format!("#{}", self.prepared.len());
            self.env
                .add_template_owned(name.clone(), source.to_string())
                .map_err(|e| syntax_error(&e))?;
            self.prepared.insert(source.to_string(), name);
        }
        let template = self
            .env
            .get_template(&self.prepared[source])
            .map_err(|e| syntax_error(&e))?;
        Ok(template.undeclared_variables(true).into_iter().collect())
    }

    /// The variables a `when:` expression uses (as [`Templates::prepare`] says them).
    pub fn condition_variables(&self, expr: &str) -> Result<BTreeSet<String>, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| syntax_error(&e))?;
        Ok(compiled.undeclared_variables(true).into_iter().collect())
    }

    /// Renders `source` with the variables in `context` (a JSON object).
    pub fn render(
        &self,
        source: &str,
        context: &serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        if is_plain(source) {
            return Ok(Rendered {
                text: source.to_string(),
                secrets: BTreeSet::new(),
            });
        }
        self.render_in(source, context, &Value::from_serialize(context))
    }

    /// Renders `source` in a [`Context`] (its variables converted once for many renders).
    pub fn render_with(&self, source: &str, context: &Context) -> Result<Rendered, TemplateError> {
        self.render_in(source, &context.json, &context.value)
    }

    fn render_in(
        &self,
        source: &str,
        context: &serde_json::Value,
        value: &Value,
    ) -> Result<Rendered, TemplateError> {
        if is_plain(source) {
            return Ok(Rendered {
                text: source.to_string(),
                secrets: BTreeSet::new(),
            });
        }
        SECRETS_SEEN.with(|s| s.borrow_mut().clear());
        let template = match self.prepared.get(source) {
            Some(name) => self.env.get_template(name),
            None => self.env.template_from_str(source),
        }
        .map_err(|e| syntax_error(&e))?;
        let result = template.render(value);
        let secrets = SECRETS_SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()));
        match result {
            Ok(text) => Ok(Rendered { text, secrets }),
            Err(err) => Err(render_error(
                &err,
                template.undeclared_variables(true),
                context,
            )),
        }
    }

    /// Evaluates a `when:` expression to true or false.
    pub fn condition(
        &self,
        expr: &str,
        context: &serde_json::Value,
    ) -> Result<bool, TemplateError> {
        self.condition_in(expr, context, &Value::from_serialize(context))
    }

    /// Evaluates a `when:` expression in a [`Context`].
    pub fn condition_with(&self, expr: &str, context: &Context) -> Result<bool, TemplateError> {
        self.condition_in(expr, &context.json, &context.value)
    }

    fn condition_in(
        &self,
        expr: &str,
        context: &serde_json::Value,
        value: &Value,
    ) -> Result<bool, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| syntax_error(&e))?;
        match compiled.eval(value) {
            // A bare undefined name evaluates to undefined rather than failing; strict means
            // strict here too.
            Ok(value) if value.is_undefined() => Err(render_error(
                &minijinja::Error::new(ErrorKind::UndefinedError, "undefined value"),
                compiled.undeclared_variables(true),
                context,
            )),
            Ok(value) => Ok(value.is_true()),
            Err(err) => Err(render_error(
                &err,
                compiled.undeclared_variables(true),
                context,
            )),
        }
    }

    /// Checks syntax only (no variables needed).
    pub fn check_syntax(&self, source: &str) -> Result<(), TemplateError> {
        self.env
            .template_from_str(source)
            .map(|_| ())
            .map_err(|e| syntax_error(&e))
    }
}

/// Whether `source` has no template syntax (it renders as itself).
fn is_plain(source: &str) -> bool {
    !source.contains("{{") && !source.contains("{%") && !source.contains("{#")
}

fn syntax_error(err: &minijinja::Error) -> TemplateError {
    TemplateError {
        message: format!(
            "template syntax error: {}",
            err.detail().unwrap_or("invalid template")
        ),
        undefined: Vec::new(),
        line: err.line(),
    }
}

fn render_error(
    err: &minijinja::Error,
    used: std::collections::HashSet<String>,
    context: &serde_json::Value,
) -> TemplateError {
    let mut undefined: Vec<String> = used
        .into_iter()
        .filter(|path| !defined(context, path))
        .collect();
    undefined.sort();
    // `a.b` is only interesting when `a` itself is defined.
    let shortest: Vec<String> = undefined
        .iter()
        .filter(|p| {
            !undefined
                .iter()
                .any(|q| q != *p && p.starts_with(&format!("{q}.")))
        })
        .cloned()
        .collect();
    let message = if err.kind() == ErrorKind::UndefinedError && !shortest.is_empty() {
        let names: Vec<String> = shortest.iter().map(|n| format!("`{n}`")).collect();
        format!("undefined variable {}", names.join(", "))
    } else {
        match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        }
    };
    TemplateError {
        message,
        undefined: shortest,
        line: err.line(),
    }
}

/// Whether a dotted path resolves in a JSON object.
fn defined(context: &serde_json::Value, path: &str) -> bool {
    let mut value = context;
    for part in path.split('.') {
        match value.get(part) {
            Some(v) => value = v,
            None => return part == "secret" && std::ptr::eq(value, context),
        }
    }
    true
}

/// The names one could have meant for an undefined dotted path: siblings at the same level.
pub fn candidates_for(context: &serde_json::Value, path: &str) -> Vec<String> {
    let mut value = context;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        match value.get(part) {
            Some(v) => value = v,
            None => return Vec::new(),
        }
    }
    let prefix = parts[..parts.len().saturating_sub(1)].join(".");
    value
        .as_object()
        .map(|o| {
            o.keys()
                .map(|k| {
                    if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_and_is_strict_about_undefined() {
        let t = Templates::new();
        let ctx = json!({"ntp_server": "ntp.city", "terminal": {"id": "chuo-t01", "address": "10.0.0.1"}});
        assert_eq!(
            t.render("server {{ ntp_server }} # {{ terminal.id }}\n", &ctx)
                .expect("renders")
                .text,
            "server ntp.city # chuo-t01\n"
        );
        let err = t.render("{{ ntp_sever }}", &ctx).expect_err("undefined");
        assert_eq!(err.message, "undefined variable `ntp_sever`");
        assert_eq!(err.undefined, ["ntp_sever"]);
        let err = t
            .render("{{ terminal.adress }}", &ctx)
            .expect_err("undefined");
        assert_eq!(err.undefined, ["terminal.adress"]);
        assert!(candidates_for(&ctx, "terminal.adress").contains(&"terminal.address".into()));
    }

    #[test]
    fn secrets_render_as_placeholders_and_are_recorded() {
        let t = Templates::new();
        let r = t
            .render("key={{ secret('ntp_key') }}", &json!({}))
            .expect("renders");
        assert_eq!(r.text, "key=[[secret:ntp_key]]");
        assert_eq!(r.secrets.into_iter().collect::<Vec<_>>(), ["ntp_key"]);
    }

    /// What the planner keys rendered tasks by: every variable a template can read, as a
    /// dotted path where it is read by attribute and as the bare name where it is read any
    /// other way (a subscript, a loop, a filter's argument).
    #[test]
    fn prepared_templates_say_which_variables_they_use() {
        let mut t = Templates::new();
        let used = t
            .prepare(
                "{{ terminal.id }} {{ site['name'] }} {% for s in servers %}{{ s }}{% endfor %} \
                 {{ a | default(b) }} {% set x = job %}{{ x.id }} {{ secret('k') }}",
            )
            .expect("parses");
        for name in ["terminal.id", "site", "servers", "a", "b", "job"] {
            assert!(used.contains(name), "{name} in {used:?}");
        }
        assert!(!used.iter().any(|u| u == "s" || u == "x"), "{used:?}");
        assert!(t.prepare("plain text").expect("plain").is_empty());
        assert!(t.prepare("{{ oops ").is_err());
        // A prepared template renders as one parsed for the render.
        let ctx = json!({"terminal": {"id": "t1"}, "site": {"name": "s"}, "servers": [1, 2],
            "a": "A", "b": "B", "job": {"id": "j"}});
        let prepared = t
            .render(
                "{{ terminal.id }} {{ site['name'] }} {% for s in servers %}{{ s }}{% endfor %} \
                 {{ a | default(b) }} {% set x = job %}{{ x.id }} {{ secret('k') }}",
                &ctx,
            )
            .expect("renders");
        assert_eq!(prepared.text, "t1 s 12 A j [[secret:k]]");
    }

    #[test]
    fn conditions_and_syntax_errors() {
        let t = Templates::new();
        let ctx = json!({"terminal": {"platform": "linux"}});
        assert!(
            t.condition("terminal.platform == 'linux'", &ctx)
                .expect("ok")
        );
        assert!(
            !t.condition("terminal.platform == 'windows'", &ctx)
                .expect("ok")
        );
        let err = t.condition("kiosk_mode", &ctx).expect_err("undefined");
        assert_eq!(err.undefined, ["kiosk_mode"]);
        let err = t.render("{{ oops ", &ctx).expect_err("syntax");
        assert!(
            err.message.starts_with("template syntax error"),
            "{}",
            err.message
        );
    }
}
