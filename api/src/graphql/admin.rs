//! Administration: superusers grant and revoke notebook access, admins grant and revoke the
//! superuser role. Each call is one transaction with its audit record.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::context::{app, request_auth};
use crate::{
    auth::Role,
    error::{AppError, AppResult},
    graphql::guards::RoleGuard,
    services::{
        self,
        authorizations::{GrantAction, GrantChange},
    },
};

/// Most users or notebooks one call may name.
const MAX_NAMES_PER_CALL: usize = 1000;

#[derive(Default)]
pub struct AdminMutation;

/// The outcome of a grant or revoke.
#[derive(SimpleObject)]
pub struct AuthorizationChange {
    /// (user, notebook) pairs added or removed; pairs already in the asked state count 0.
    pub changed_count: u64,
}

/// A dashboard user's role after a change.
#[derive(SimpleObject)]
pub struct UserRole {
    pub pseudonym: String,
    pub role: Role,
}

#[Object]
impl AdminMutation {
    /// Lets `username` see `notebookIds` (superuser; only notebooks the caller may see).
    #[graphql(guard = "RoleGuard::new(Role::Superuser)")]
    async fn grant_notebooks_to_user(
        &self,
        ctx: &Context<'_>,
        username: String,
        notebook_ids: Vec<ID>,
    ) -> async_graphql::Result<AuthorizationChange> {
        Ok(apply(ctx, GrantAction::Grant, vec![username], notebook_ids).await?)
    }

    /// Takes `notebookIds` away from `username` (superuser).
    #[graphql(guard = "RoleGuard::new(Role::Superuser)")]
    async fn revoke_notebooks_from_user(
        &self,
        ctx: &Context<'_>,
        username: String,
        notebook_ids: Vec<ID>,
    ) -> async_graphql::Result<AuthorizationChange> {
        Ok(apply(ctx, GrantAction::Revoke, vec![username], notebook_ids).await?)
    }

    /// Lets `usernames` see `notebookId` (superuser).
    #[graphql(guard = "RoleGuard::new(Role::Superuser)")]
    async fn grant_users_to_notebook(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        usernames: Vec<String>,
    ) -> async_graphql::Result<AuthorizationChange> {
        Ok(apply(ctx, GrantAction::Grant, usernames, vec![notebook_id]).await?)
    }

    /// Takes `notebookId` away from `usernames` (superuser).
    #[graphql(guard = "RoleGuard::new(Role::Superuser)")]
    async fn revoke_users_from_notebook(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        usernames: Vec<String>,
    ) -> async_graphql::Result<AuthorizationChange> {
        Ok(apply(ctx, GrantAction::Revoke, usernames, vec![notebook_id]).await?)
    }

    /// Makes `username` a superuser (admin).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn grant_superuser(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<UserRole> {
        Ok(set_superuser(ctx, &username, true).await?)
    }

    /// Makes superuser `username` a plain user again (admin).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn revoke_superuser(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<UserRole> {
        Ok(set_superuser(ctx, &username, false).await?)
    }
}

async fn apply(
    ctx: &Context<'_>,
    action: GrantAction,
    usernames: Vec<String>,
    notebook_ids: Vec<ID>,
) -> AppResult<AuthorizationChange> {
    if usernames.len() > MAX_NAMES_PER_CALL || notebook_ids.len() > MAX_NAMES_PER_CALL {
        return Err(AppError::bad_input(format!(
            "at most {MAX_NAMES_PER_CALL} users and notebooks per call"
        )));
    }
    let app = app(ctx)?;
    let actor = request_auth(ctx)?
        .require_role(&app.db, Role::Superuser)
        .await?;
    let change = GrantChange {
        action,
        usernames: usernames
            .iter()
            .map(|name| app.pseudonyms.pseudonymize(name))
            .collect(),
        notebook_ids: notebook_ids.into_iter().map(|id| id.0).collect(),
    };
    let changed_count = services::authorizations::change(&app.db, &actor, change).await?;
    Ok(AuthorizationChange { changed_count })
}

async fn set_superuser(ctx: &Context<'_>, username: &str, superuser: bool) -> AppResult<UserRole> {
    let app = app(ctx)?;
    let actor = request_auth(ctx)?
        .require_role(&app.db, Role::Admin)
        .await?;
    let username_hash = app.pseudonyms.pseudonymize(username);
    let user =
        services::authorizations::set_superuser(&app.db, &actor, &username_hash, superuser).await?;
    Ok(UserRole {
        pseudonym: user.username_hash,
        role: user.role,
    })
}
