//! The `template` action: the planner has already rendered the template for the terminal (its
//! arguments carry the text as `content`, secrets as placeholders, and its `content_sha256`);
//! carrying it out is exactly a `file` with `state: present` at `dest`, through
//! [`file::query_path`] and [`file::apply_path`].
//!
//! The one thing added here: the rendered text must match the digest the plan recorded for it,
//! so that a plan edited after it was made (and approved) cannot push other content.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::playbook::FileState;

use super::file::{self, DesiredPath};
use super::{ActionContext, ActionError, Applied, Query};

/// The template's arguments as the planner leaves them: the playbook's, plus the rendering.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderedTemplateArgs {
    /// Template file the text came from (for people).
    src: String,
    dest: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default = "yes")]
    backup: bool,
    /// The rendered text, secrets as placeholders.
    content: String,
    /// SHA-256 (hex) of `content`, as the planner computed it.
    content_sha256: String,
}

fn yes() -> bool {
    true
}

impl RenderedTemplateArgs {
    fn load(ctx: &ActionContext<'_>) -> Result<Self, ActionError> {
        let args: RenderedTemplateArgs = ctx.args()?;
        let actual = hex::encode(Sha256::digest(args.content.as_bytes()));
        if !actual.eq_ignore_ascii_case(&args.content_sha256) {
            return Err(ActionError::Args(format!(
                "the rendered `{}` for {} does not match the SHA-256 the plan recorded for it (the plan was changed after it was made); make the plan again",
                args.src, args.dest
            )));
        }
        Ok(args)
    }

    fn desired(&self) -> DesiredPath<'_> {
        DesiredPath {
            path: &self.dest,
            state: FileState::Present,
            content: Some(&self.content),
            mode: self.mode.as_deref(),
            owner: self.owner.as_deref(),
            group: self.group.as_deref(),
            backup: self.backup,
        }
    }
}

/// What would change at `dest`.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    let args = RenderedTemplateArgs::load(ctx)?;
    file::query_path(ctx, &args.desired()).await
}

/// Writes the rendered text to `dest` (with mode, owner, group, backup as for `file`).
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    let args = RenderedTemplateArgs::load(ctx)?;
    file::apply_path(ctx, &args.desired()).await
}

/// Query and apply in one request ([`file::converge_path`]).
pub async fn converge(
    ctx: &ActionContext<'_>,
) -> Result<Option<(Query, Option<Applied>)>, ActionError> {
    let args = RenderedTemplateArgs::load(ctx)?;
    file::converge_path(ctx, &args.desired()).await
}
