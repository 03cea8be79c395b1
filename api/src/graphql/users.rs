//! Administration of dashboard accounts and notebooks' lives (admins only): the user list with
//! paging; disabling, enabling, deleting a user or resetting their password; archiving or
//! deleting a notebook. Users are named by their
//! username, pseudonymized on arrival as everywhere else; the list shows only pseudonyms.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{app, request_auth};
use crate::{
    auth::{
        Role,
        login::{MIN_NEW_PASSWORD_LEN, check_credentials_shape},
        password,
    },
    error::{AppError, AppResult},
    graphql::guards::RoleGuard,
    services::{
        notebooks::lifecycle::NotebookAdmin,
        users::admin::{self, UserAdmin, UserSummary},
    },
};

/// Most users one page may hold.
const MAX_PAGE: i32 = 500;

#[derive(Default)]
pub struct UserAdminQuery;

#[derive(Default)]
pub struct UserAdminMutation;

/// A dashboard user as an admin sees them (the username is never stored).
#[derive(SimpleObject)]
pub struct DashboardUser {
    pub id: ID,
    pub pseudonym: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was disabled; null while it is active.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Public ids of the notebooks granted to the user (admins see every notebook anyway).
    pub notebook_ids: Vec<ID>,
}

impl From<UserSummary> for DashboardUser {
    fn from(user: UserSummary) -> Self {
        Self {
            id: ID(user.id.to_string()),
            pseudonym: user.pseudonym,
            role: user.role,
            created_at: user.created_at,
            last_login_at: user.last_login_at,
            disabled_at: user.disabled_at,
            notebook_ids: user.notebooks.into_iter().map(ID).collect(),
        }
    }
}

/// One page of users, oldest first.
#[derive(SimpleObject)]
pub struct UserPage {
    pub total_count: u64,
    pub users: Vec<DashboardUser>,
}

/// What a deletion removed with the user.
#[derive(SimpleObject)]
pub struct DeletedUser {
    pub pseudonym: String,
    pub notebook_grant_count: u64,
}

/// A notebook's archive state after a change.
#[derive(SimpleObject)]
pub struct ArchivedNotebook {
    pub id: ID,
    /// Null when the notebook takes events.
    pub archived_at: Option<DateTime<Utc>>,
}

/// Rows deleted from one table (`stored files` counts files).
#[derive(SimpleObject)]
pub struct DeletedRows {
    pub table: String,
    pub count: u64,
}

#[Object]
impl UserAdminQuery {
    /// Every dashboard user, oldest first (`limit` 1 to 500, default 50; `offset` from 0).
    #[graphql(
        guard = "RoleGuard::new(Role::Admin)",
        complexity = "1 + child_complexity * (limit.clamp(1, 500) as usize)"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] limit: i32,
        #[graphql(default = 0)] offset: i32,
    ) -> async_graphql::Result<UserPage> {
        let (Ok(limit), Ok(offset)) = (u64::try_from(limit), u64::try_from(offset)) else {
            return Err(AppError::bad_input("limit and offset cannot be negative").into());
        };
        if limit == 0 || limit > MAX_PAGE as u64 {
            return Err(AppError::bad_input(format!("limit must be 1 to {MAX_PAGE}")).into());
        }
        let app = app(ctx)?;
        let (users, total_count) = admin::list(&app.db, limit, offset).await?;
        Ok(UserPage {
            total_count,
            users: users.into_iter().map(Into::into).collect(),
        })
    }
}

#[Object]
impl UserAdminMutation {
    /// Disables `username`: every session, token and live connection of theirs ends at once,
    /// on every instance. `CONFLICT` for the last active admin or your own account.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn disable_user(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<DashboardUser> {
        let (admin, hash) = acting(ctx, &username).await?;
        let user = admin.disable(&hash).await?;
        Ok(summary(ctx, user).await?)
    }

    /// Lets a disabled `username` log in again.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn enable_user(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<DashboardUser> {
        let (admin, hash) = acting(ctx, &username).await?;
        let user = admin.enable(&hash).await?;
        Ok(summary(ctx, user).await?)
    }

    /// Deletes `username` with their sessions and notebook grants (ending their live
    /// connections). `CONFLICT` for the last active admin or your own account.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<DeletedUser> {
        let (admin, hash) = acting(ctx, &username).await?;
        let notebook_grant_count = admin.delete(&hash).await?;
        Ok(DeletedUser {
            pseudonym: hash,
            notebook_grant_count,
        })
    }

    /// Archives notebook `notebookId` (read-only: ingest answers `NOTEBOOK_ARCHIVED`, dashboards
    /// still answer); `archived: false` makes it take events again.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn archive_notebook(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        #[graphql(default = true)] archived: bool,
    ) -> async_graphql::Result<ArchivedNotebook> {
        let row = notebook_admin(ctx)
            .await?
            .archive(&notebook_id, archived)
            .await?;
        Ok(ArchivedNotebook {
            id: ID(row.public_id),
            archived_at: row.archived_at,
        })
    }

    /// Deletes notebook `notebookId` with its events, interactions, groups, versions, files
    /// and grants, in one transaction; the rows deleted per table.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn delete_notebook(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
    ) -> async_graphql::Result<Vec<DeletedRows>> {
        let counts = notebook_admin(ctx)
            .await?
            .delete(&notebook_id, false)
            .await?;
        Ok(counts
            .into_iter()
            .map(|(table, count)| DeletedRows {
                table: table.to_owned(),
                count,
            })
            .collect())
    }

    /// Sets a new password for `username` (a forgotten one) and ends every session they hold.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        username: String,
        new_password: String,
    ) -> async_graphql::Result<DashboardUser> {
        check_credentials_shape(&username, &new_password, MIN_NEW_PASSWORD_LEN)?;
        let (admin, hash) = acting(ctx, &username).await?;
        let password_hash = password::hash(new_password).await?;
        let user = admin.reset_password(&hash, password_hash).await?;
        Ok(summary(ctx, user).await?)
    }
}

async fn notebook_admin<'c>(ctx: &Context<'c>) -> AppResult<NotebookAdmin<'c>> {
    let app = app(ctx)?;
    let actor = request_auth(ctx)?
        .require_role(&app.db, Role::Admin)
        .await?;
    Ok(NotebookAdmin {
        db: &app.db,
        storage: &app.storage,
        ids: &app.notebook_ids,
        actor: Some(actor.id),
    })
}

/// The acting admin's handle and the target's pseudonym.
async fn acting<'c>(ctx: &Context<'c>, username: &str) -> AppResult<(UserAdmin<'c>, String)> {
    let app = app(ctx)?;
    let actor = request_auth(ctx)?
        .require_role(&app.db, Role::Admin)
        .await?;
    let admin = UserAdmin {
        db: &app.db,
        broker: app.broker.as_ref(),
        actor: Some(actor.id),
    };
    Ok((admin, app.pseudonyms.pseudonymize(username)))
}

/// The changed user as the list shows them.
async fn summary(
    ctx: &Context<'_>,
    user: entity::dashboard_user::Model,
) -> AppResult<DashboardUser> {
    let app = app(ctx)?;
    let mut summaries = admin::summaries(&app.db, vec![user]).await?;
    summaries
        .pop()
        .map(Into::into)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a summary of one user was empty")))
}
