//! Which dashboard user may see which notebook, and the superuser/admin changes to that.
//! Every change is one transaction with its audit record: all or nothing (the old backend
//! committed user by user).

use chrono::Utc;
use entity::{dashboard_user, enums::Role, notebook, notebook_authorization};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, sea_query::OnConflict,
};
use serde_json::json;

use super::{audit, notebooks, users};
use crate::error::{AppError, AppResult};

pub async fn is_authorized(
    db: &impl ConnectionTrait,
    user_id: i64,
    notebook_public_id: &str,
) -> AppResult<bool> {
    let found = notebook_authorization::Entity::find()
        .inner_join(notebook::Entity)
        .filter(notebook_authorization::Column::UserId.eq(user_id))
        .filter(notebook::Column::PublicId.eq(notebook_public_id))
        .select_only()
        .column(notebook_authorization::Column::NotebookId)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// The notebooks `user` may see: all of them for admins.
pub async fn notebooks_of(
    db: &impl ConnectionTrait,
    user: &dashboard_user::Model,
) -> AppResult<Vec<notebook::Model>> {
    let mut query = notebook::Entity::find().order_by_asc(notebook::Column::PublicId);
    if user.role != Role::Admin {
        query = query
            .inner_join(notebook_authorization::Entity)
            .filter(notebook_authorization::Column::UserId.eq(user.id));
    }
    Ok(query.all(db).await?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAction {
    Grant,
    Revoke,
}

/// A change to every (user, notebook) pair of `usernames × notebook_ids`.
#[derive(Debug, Clone)]
pub struct GrantChange {
    pub action: GrantAction,
    /// Username pseudonyms.
    pub usernames: Vec<String>,
    /// Public notebook ids.
    pub notebook_ids: Vec<String>,
}

/// Applies `change` for `actor` (a superuser, who may only hand out notebooks they see; or an
/// admin). Unknown users or notebooks fail the whole change. Returns the number of pairs added
/// or removed.
pub async fn change(
    db: &DatabaseConnection,
    actor: &dashboard_user::Model,
    change: GrantChange,
) -> AppResult<u64> {
    let txn = db.begin().await?;
    let mut user_ids = Vec::with_capacity(change.usernames.len());
    for username in &change.usernames {
        user_ids.push(users::get_by_username_hash(&txn, username).await?.id);
    }
    let mut notebook_ids = Vec::with_capacity(change.notebook_ids.len());
    for public_id in &change.notebook_ids {
        // Authorization first: an unknown notebook is then FORBIDDEN, like an unauthorized one,
        // so a superuser cannot probe which notebook ids exist.
        if actor.role != Role::Admin && !is_authorized(&txn, actor.id, public_id).await? {
            return Err(AppError::forbidden(
                "you can only grant or revoke notebooks you are authorized for",
            ));
        }
        notebook_ids.push(notebooks::get_by_public_id(&txn, public_id).await?.id);
    }
    let changed = match change.action {
        GrantAction::Grant => insert_pairs(&txn, &user_ids, &notebook_ids).await?,
        GrantAction::Revoke => {
            notebook_authorization::Entity::delete_many()
                .filter(notebook_authorization::Column::UserId.is_in(user_ids.clone()))
                .filter(notebook_authorization::Column::NotebookId.is_in(notebook_ids.clone()))
                .exec(&txn)
                .await?
                .rows_affected
        }
    };
    let action = match change.action {
        GrantAction::Grant => "grant_notebook_access",
        GrantAction::Revoke => "revoke_notebook_access",
    };
    let details =
        json!({ "users": change.usernames, "notebooks": change.notebook_ids, "changed": changed });
    audit::record(&txn, Some(actor.id), action, details).await?;
    txn.commit().await?;
    Ok(changed)
}

/// Grants one notebook to one user (the uploader, or a test fixture), outside any audit flow.
pub async fn grant_one(db: &impl ConnectionTrait, user_id: i64, notebook_id: i64) -> AppResult<()> {
    insert_pairs(db, &[user_id], &[notebook_id]).await?;
    Ok(())
}

async fn insert_pairs(
    db: &impl ConnectionTrait,
    user_ids: &[i64],
    notebook_ids: &[i64],
) -> AppResult<u64> {
    let now = Utc::now();
    let rows: Vec<notebook_authorization::ActiveModel> = user_ids
        .iter()
        .flat_map(|&user_id| {
            notebook_ids
                .iter()
                .map(move |&notebook_id| notebook_authorization::ActiveModel {
                    user_id: sea_orm::Set(user_id),
                    notebook_id: sea_orm::Set(notebook_id),
                    granted_at: sea_orm::Set(now),
                })
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let inserted = notebook_authorization::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                notebook_authorization::Column::UserId,
                notebook_authorization::Column::NotebookId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted)
}

/// Grants or revokes the superuser role (admins only; an admin's own role is changed with the
/// `api user set-role` command, so no admin can be demoted through the API by accident).
pub async fn set_superuser(
    db: &DatabaseConnection,
    actor: &dashboard_user::Model,
    username_hash: &str,
    superuser: bool,
) -> AppResult<dashboard_user::Model> {
    let txn = db.begin().await?;
    let user = users::get_by_username_hash(&txn, username_hash).await?;
    if user.role == Role::Admin {
        return Err(AppError::conflict(
            "this user is an admin; change admin roles with `api user set-role`",
        ));
    }
    let role = if superuser {
        Role::Superuser
    } else {
        Role::User
    };
    let user = users::set_role(&txn, user, role).await?;
    let action = if superuser {
        "grant_superuser"
    } else {
        "revoke_superuser"
    };
    audit::record(
        &txn,
        Some(actor.id),
        action,
        json!({ "user": username_hash }),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}
