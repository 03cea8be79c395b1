//! Dashboard users, found by id or by username pseudonym; `admin` holds the administrator's
//! changes to accounts (list, disable, enable, delete, reset a password).

pub mod admin;

use chrono::Utc;
use entity::{dashboard_user, enums::Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::is_unique_violation;
use crate::error::{AppError, AppResult};

pub async fn find_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> AppResult<Option<dashboard_user::Model>> {
    Ok(dashboard_user::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_by_username_hash(
    db: &impl ConnectionTrait,
    username_hash: &str,
) -> AppResult<Option<dashboard_user::Model>> {
    Ok(dashboard_user::Entity::find()
        .filter(dashboard_user::Column::UsernameHash.eq(username_hash))
        .one(db)
        .await?)
}

/// Like [`find_by_username_hash`], but a missing user is `NOT_FOUND`.
pub async fn get_by_username_hash(
    db: &impl ConnectionTrait,
    username_hash: &str,
) -> AppResult<dashboard_user::Model> {
    find_by_username_hash(db, username_hash)
        .await?
        .ok_or_else(|| AppError::not_found("no such user"))
}

/// Creates a user; a taken username is `CONFLICT`.
pub async fn create(
    db: &impl ConnectionTrait,
    username_hash: String,
    password_hash: String,
    role: Role,
) -> AppResult<dashboard_user::Model> {
    let user = dashboard_user::ActiveModel {
        username_hash: Set(username_hash),
        password_hash: Set(password_hash),
        role: Set(role),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    user.insert(db).await.map_err(|error| {
        if is_unique_violation(&error) {
            AppError::conflict("this username is taken")
        } else {
            error.into()
        }
    })
}

pub async fn set_role(
    db: &impl ConnectionTrait,
    user: dashboard_user::Model,
    role: Role,
) -> AppResult<dashboard_user::Model> {
    let mut user: dashboard_user::ActiveModel = user.into();
    user.role = Set(role);
    Ok(user.update(db).await?)
}

pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    user: dashboard_user::Model,
    password_hash: String,
) -> AppResult<dashboard_user::Model> {
    let mut user: dashboard_user::ActiveModel = user.into();
    user.password_hash = Set(password_hash);
    Ok(user.update(db).await?)
}

/// Stamps a successful login (the user list shows it, so stale accounts can be found).
pub async fn record_login(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    dashboard_user::Entity::update_many()
        .col_expr(
            dashboard_user::Column::LastLoginAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(dashboard_user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
