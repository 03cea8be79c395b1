//! An administrator's hold on dashboard accounts: list, disable, enable, delete, reset a
//! password. Each change is one transaction with its audit row (pseudonyms only, never a raw
//! username), and ending a user's sessions is announced on the broker after the commit so every
//! instance closes that user's sockets at once. The last active admin cannot be disabled or
//! deleted: nobody could administer the deployment afterwards.

use chrono::{DateTime, Utc};
use entity::{dashboard_user, enums::Role, notebook, notebook_authorization, notebook_version};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};
use serde_json::json;

use super::get_by_username_hash;
use crate::{
    broker::Broker,
    error::{AppError, AppResult},
    services::{audit, sessions},
};

/// Why the last admin stays; a stable text clients may show (the code is `CONFLICT`).
pub const LAST_ADMIN: &str = "the last active admin cannot be disabled or deleted";

/// One row of the user list.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub id: i64,
    pub pseudonym: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Public ids of the notebooks granted to the user.
    pub notebooks: Vec<String>,
}

/// A page of users, oldest first, and how many there are.
pub async fn list(
    db: &DatabaseConnection,
    limit: u64,
    offset: u64,
) -> AppResult<(Vec<UserSummary>, u64)> {
    let total = dashboard_user::Entity::find().count(db).await?;
    let users = dashboard_user::Entity::find()
        .order_by_asc(dashboard_user::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((summaries(db, users).await?, total))
}

/// `users` with the notebooks granted to each (one query for all of them, not one per user).
pub async fn summaries(
    db: &DatabaseConnection,
    users: Vec<dashboard_user::Model>,
) -> AppResult<Vec<UserSummary>> {
    let ids: Vec<i64> = users.iter().map(|user| user.id).collect();
    let grants: Vec<(i64, String)> = notebook_authorization::Entity::find()
        .inner_join(notebook::Entity)
        .filter(notebook_authorization::Column::UserId.is_in(ids))
        .order_by_asc(notebook::Column::PublicId)
        .select_only()
        .column(notebook_authorization::Column::UserId)
        .column(notebook::Column::PublicId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(users
        .into_iter()
        .map(|user| UserSummary {
            notebooks: grants
                .iter()
                .filter(|(user_id, _)| *user_id == user.id)
                .map(|(_, public_id)| public_id.clone())
                .collect(),
            id: user.id,
            pseudonym: user.username_hash,
            role: user.role,
            created_at: user.created_at,
            last_login_at: user.last_login_at,
            disabled_at: user.disabled_at,
        })
        .collect())
}

/// Who acts: the database, the broker that carries "sessions ended", and the acting dashboard
/// user (`None` for the command line).
pub struct UserAdmin<'a> {
    pub db: &'a DatabaseConnection,
    pub broker: &'a dyn Broker,
    pub actor: Option<i64>,
}

impl UserAdmin<'_> {
    /// Disables `username_hash` and ends every session they hold.
    pub async fn disable(&self, username_hash: &str) -> AppResult<dashboard_user::Model> {
        let txn = self.db.begin().await?;
        let user = get_by_username_hash(&txn, username_hash).await?;
        self.not_myself(&user)?;
        keep_an_admin(&txn, &user).await?;
        sessions::end_all_in(&txn, user.id).await?;
        let user = set_disabled(&txn, user.id, Some(Utc::now())).await?;
        self.audit(&txn, "disable_user", username_hash).await?;
        txn.commit().await?;
        sessions::announce_ended(self.broker, user.id).await;
        Ok(user)
    }

    /// Lets a disabled user log in again (their old tokens stay ended).
    pub async fn enable(&self, username_hash: &str) -> AppResult<dashboard_user::Model> {
        let txn = self.db.begin().await?;
        let user = get_by_username_hash(&txn, username_hash).await?;
        let user = set_disabled(&txn, user.id, None).await?;
        self.audit(&txn, "enable_user", username_hash).await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Deletes the user with their refresh tokens and notebook grants; notebooks and versions
    /// they uploaded stay, without an uploader. Their audit rows stay too (actor cleared by the
    /// foreign key), with this deletion recorded by pseudonym.
    pub async fn delete(&self, username_hash: &str) -> AppResult<u64> {
        let txn = self.db.begin().await?;
        let user = get_by_username_hash(&txn, username_hash).await?;
        self.not_myself(&user)?;
        keep_an_admin(&txn, &user).await?;
        let grants = notebook_authorization::Entity::delete_many()
            .filter(notebook_authorization::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?
            .rows_affected;
        clear_uploader(&txn, user.id).await?;
        let details = json!({ "user": username_hash, "notebook_grants": grants });
        audit::record(&txn, self.actor, "delete_user", details).await?;
        entity::refresh_token::Entity::delete_many()
            .filter(entity::refresh_token::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?;
        dashboard_user::Entity::delete_by_id(user.id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        sessions::announce_ended(self.broker, user.id).await;
        Ok(grants)
    }

    /// Stores a new password hash and ends every session (whoever knew the old one is out).
    pub async fn reset_password(
        &self,
        username_hash: &str,
        password_hash: String,
    ) -> AppResult<dashboard_user::Model> {
        let txn = self.db.begin().await?;
        let user = get_by_username_hash(&txn, username_hash).await?;
        let mut active: dashboard_user::ActiveModel = user.into();
        active.password_hash = Set(password_hash);
        let user = active.update(&txn).await?;
        sessions::end_all_in(&txn, user.id).await?;
        self.audit(&txn, "reset_password", username_hash).await?;
        txn.commit().await?;
        sessions::announce_ended(self.broker, user.id).await;
        Ok(user)
    }

    /// An admin's own account is changed by another admin or the command line, so nobody locks
    /// themselves out by a slip.
    fn not_myself(&self, user: &dashboard_user::Model) -> AppResult<()> {
        match self.actor == Some(user.id) {
            true => Err(AppError::conflict(
                "you cannot disable or delete your own account",
            )),
            false => Ok(()),
        }
    }

    async fn audit(&self, txn: &DatabaseTransaction, action: &str, user: &str) -> AppResult<()> {
        audit::record(txn, self.actor, action, json!({ "user": user })).await
    }
}

/// `CONFLICT` when `user` is the only active admin. The active admins are read with a row lock
/// (PostgreSQL), so two admins disabling each other at once cannot both succeed; SQLite runs
/// one writing transaction at a time anyway.
async fn keep_an_admin(txn: &DatabaseTransaction, user: &dashboard_user::Model) -> AppResult<()> {
    if user.role != Role::Admin || user.disabled_at.is_some() {
        return Ok(());
    }
    let others = dashboard_user::Entity::find()
        .filter(dashboard_user::Column::Role.eq(Role::Admin))
        .filter(dashboard_user::Column::DisabledAt.is_null())
        .filter(dashboard_user::Column::Id.ne(user.id))
        .select_only()
        .column(dashboard_user::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .all(txn)
        .await?;
    match others.is_empty() {
        true => Err(AppError::conflict(LAST_ADMIN)),
        false => Ok(()),
    }
}

async fn set_disabled(
    txn: &DatabaseTransaction,
    user_id: i64,
    disabled_at: Option<DateTime<Utc>>,
) -> AppResult<dashboard_user::Model> {
    dashboard_user::ActiveModel {
        id: Set(user_id),
        disabled_at: Set(disabled_at),
        ..Default::default()
    }
    .update(txn)
    .await
    .map_err(Into::into)
}

/// The foreign keys would clear these too; done explicitly so it does not depend on SQLite's
/// foreign-key enforcement being on.
async fn clear_uploader(txn: &DatabaseTransaction, user_id: i64) -> AppResult<()> {
    notebook::Entity::update_many()
        .col_expr(notebook::Column::UploadedBy, Expr::value(None::<i64>))
        .filter(notebook::Column::UploadedBy.eq(user_id))
        .exec(txn)
        .await?;
    notebook_version::Entity::update_many()
        .col_expr(
            notebook_version::Column::UploadedBy,
            Expr::value(None::<i64>),
        )
        .filter(notebook_version::Column::UploadedBy.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}
