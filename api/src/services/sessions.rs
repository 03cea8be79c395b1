//! Refresh-token rows and session versions. A refresh token is good once: using it rotates it
//! (its successor joins the same family, the login it came from); a rotated token presented
//! again means it was copied, so the whole family is revoked. Ending every session of a user
//! bumps their session version, which every access and refresh token carries.

use chrono::{DateTime, Utc};
use entity::{dashboard_user, refresh_token};
use futures::{StreamExt, stream::BoxStream};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use crate::{
    broker::{Broker, BrokerEvent, Topic},
    error::AppResult,
    services::audit,
};

/// What a presented refresh token turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// Active: rotated now (or, for the old non-rotating route, left as it is).
    Active { family: String },
    /// Rotated before: a copy in the wrong hands, or a client replaying it. Its family is
    /// revoked now.
    Reused,
    /// Revoked, unknown, or past its expiry.
    Inactive,
}

/// Records a new refresh token `jti` (a new family for a login, else `family`).
pub async fn record(
    db: &impl ConnectionTrait,
    jti: &str,
    user_id: i64,
    family: &str,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::ActiveModel {
        id: Set(jti.to_owned()),
        user_id: Set(user_id),
        family: Set(family.to_owned()),
        issued_at: Set(Utc::now()),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Marks `jti` used if it is active, in one conditional update (two concurrent uses cannot
/// both win: the loser sees a reuse).
pub async fn rotate(db: &DatabaseConnection, jti: &str) -> AppResult<Presented> {
    let txn = db.begin().await?;
    let Some(row) = refresh_token::Entity::find_by_id(jti).one(&txn).await? else {
        return Ok(Presented::Inactive);
    };
    if row.revoked_at.is_some() || row.expires_at < Utc::now() {
        return Ok(Presented::Inactive);
    }
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::Id.eq(jti))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 1 {
        txn.commit().await?;
        return Ok(Presented::Active { family: row.family });
    }
    revoke_family_in(&txn, &row.family).await?;
    txn.commit().await?;
    tracing::warn!(
        user_id = row.user_id,
        "a rotated refresh token was presented again; its login is revoked"
    );
    Ok(Presented::Reused)
}

/// Whether `jti` is active, without rotating it (the old `/jwt/refresh`, whose client keeps
/// one refresh token for its whole life).
pub async fn check(db: &DatabaseConnection, jti: &str) -> AppResult<Presented> {
    let row = refresh_token::Entity::find_by_id(jti).one(db).await?;
    Ok(match row {
        Some(row) if row.revoked_at.is_none() && row.expires_at >= Utc::now() => {
            match row.rotated_at {
                Some(_) => Presented::Reused,
                None => Presented::Active { family: row.family },
            }
        }
        _ => Presented::Inactive,
    })
}

/// Whether the login `family` still has a refresh token that is not revoked (a logout or a
/// reused refresh token revokes them all).
pub async fn is_login_active(db: &impl ConnectionTrait, family: &str) -> AppResult<bool> {
    let active = refresh_token::Entity::find()
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .count(db)
        .await?;
    Ok(active > 0)
}

/// Ends the login `jti` belongs to (logout). Unknown tokens are ignored.
pub async fn revoke_family_of(db: &DatabaseConnection, jti: &str) -> AppResult<()> {
    if let Some(row) = refresh_token::Entity::find_by_id(jti).one(db).await? {
        revoke_family_in(db, &row.family).await?;
    }
    Ok(())
}

async fn revoke_family_in(db: &impl ConnectionTrait, family: &str) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of `user_id`: the version bump refuses their access tokens at once, and
/// their refresh tokens are revoked. Audited with `actor` and `reason`. The caller announces it
/// ([`announce_ended`]) once committed.
pub async fn revoke_all(
    db: &DatabaseConnection,
    user_id: i64,
    actor: Option<i64>,
    reason: &str,
) -> AppResult<()> {
    let txn = db.begin().await?;
    end_all_in(&txn, user_id).await?;
    let details = json!({ "user_id": user_id, "reason": reason });
    audit::record(&txn, actor, "revoke_sessions", details).await?;
    txn.commit().await?;
    Ok(())
}

/// The version bump and refresh-token revocation of [`revoke_all`], inside the caller's
/// transaction (disabling a user, resetting a password).
pub async fn end_all_in(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    dashboard_user::Entity::update_many()
        .col_expr(
            dashboard_user::Column::SessionVersion,
            Expr::col(dashboard_user::Column::SessionVersion).add(1),
        )
        .filter(dashboard_user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Tells every instance that `user_id`'s sessions ended, so their open websockets and Socket.IO
/// sockets close now. Called after the commit. A broker failure is logged, not returned: the
/// change is already made, HTTP refuses the tokens at once, and each socket re-checks its user
/// at its next keep-alive tick anyway.
pub async fn announce_ended(broker: &dyn Broker, user_id: i64) {
    let event = BrokerEvent::UserRevoked { user_id };
    if let Err(error) = broker.publish(&Topic::user_sessions(user_id), event).await {
        tracing::warn!(%error, user.id = user_id, "could not announce ended sessions");
    }
}

/// The announcements that `user_id`'s sessions ended, for a live connection to close on
/// (never, for `None`: an anonymous or untrusted peer). If the broker cannot be subscribed,
/// nothing arrives and the connection relies on its own periodic check.
pub async fn endings(broker: &dyn Broker, user_id: Option<i64>) -> BoxStream<'static, BrokerEvent> {
    let Some(user_id) = user_id else {
        return futures::stream::pending().boxed();
    };
    match broker.subscribe(&Topic::user_sessions(user_id)).await {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(%error, user.id = user_id, "cannot listen for ended sessions");
            futures::stream::pending().boxed()
        }
    }
}
