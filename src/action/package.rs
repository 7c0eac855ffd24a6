//! The `package` action (being implemented on its branch; this placeholder only keeps the crate
//! building while the executor is written).

use super::{ActionContext, ActionError, Applied, Query};

/// What would change.
pub async fn query(ctx: &ActionContext<'_>) -> Result<Query, ActionError> {
    Err(ActionError::Args(format!(
        "the `{}` action is not implemented yet",
        ctx.task.action
    )))
}

/// Makes the change.
pub async fn apply(ctx: &ActionContext<'_>, _query: &Query) -> Result<Applied, ActionError> {
    Err(ActionError::Args(format!(
        "the `{}` action is not implemented yet",
        ctx.task.action
    )))
}
