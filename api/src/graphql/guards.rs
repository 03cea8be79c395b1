//! async-graphql guards. They sit on the field definitions, so they run on every path that
//! reaches a field: direct selection, fragments, aliases and nesting.

use async_graphql::{Context, Guard};

use super::context::{app, request_auth};
use crate::auth::Role;

/// Allows the field to viewers with at least `role`.
pub struct RoleGuard {
    role: Role,
}

impl RoleGuard {
    pub fn new(role: Role) -> Self {
        Self { role }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let db = &app(ctx)?.db;
        request_auth(ctx)?.require_role(db, self.role).await?;
        Ok(())
    }
}

/// Allows the field only to viewers authorized for `notebook_id` (admins for all).
pub struct NotebookGuard {
    notebook_id: String,
}

impl NotebookGuard {
    pub fn new(notebook_id: &str) -> Self {
        Self {
            notebook_id: notebook_id.to_owned(),
        }
    }
}

impl Guard for NotebookGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let db = &app(ctx)?.db;
        request_auth(ctx)?
            .require_notebook(db, &self.notebook_id)
            .await?;
        Ok(())
    }
}
