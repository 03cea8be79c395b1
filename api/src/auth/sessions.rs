//! Sessions over tokens: a login starts one (an access token and a refresh token of a new
//! family), a refresh rotates its refresh token, a logout ends the login, and ending every
//! session of a user is a version bump (`services::sessions`).

use entity::dashboard_user;

use super::{
    Accounts, TokenType,
    jwt::{Claims, IssuedToken},
};
use crate::{
    error::{AppError, AppResult},
    services::{self, sessions::Presented},
};

/// Why a refresh token or an access token of an ended session is refused.
pub const SESSION_ENDED: &str = "this session has ended; log in again";
/// Why a disabled user's login, token or socket is refused.
pub const ACCOUNT_DISABLED: &str = "this account is disabled";
const REUSED: &str = "this refresh token was already used; log in again";

pub struct SessionTokens {
    pub access: IssuedToken,
    pub refresh: IssuedToken,
}

/// Whether a refresh hands out a new refresh token (and retires the presented one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Rotate,
    /// The old `/jwt/refresh`: its client stores only the access token it gets back, so the
    /// refresh token stays as it is (still revocable, and refused once rotated elsewhere).
    Keep,
}

/// Starts a session for `user` (a login or a signup).
pub async fn start(accounts: &Accounts, user: &dashboard_user::Model) -> AppResult<SessionTokens> {
    let family = uuid::Uuid::new_v4().to_string();
    issue(accounts, user, &family).await
}

async fn issue(
    accounts: &Accounts,
    user: &dashboard_user::Model,
    family: &str,
) -> AppResult<SessionTokens> {
    let version = user.session_version;
    let jti = uuid::Uuid::new_v4().to_string();
    let refresh =
        accounts
            .jwt
            .issue_versioned(user.id, TokenType::Refresh, version, Some(jti.clone()))?;
    services::sessions::record(&accounts.db, &jti, user.id, family, refresh.expires_at).await?;
    let access = accounts.jwt.issue_access(user.id, version, family)?;
    Ok(SessionTokens { access, refresh })
}

/// Exchanges a refresh token: new tokens (`Rotate`), or a new access token only (`Keep`).
pub async fn refresh(
    accounts: &Accounts,
    refresh_token: &str,
    rotation: Rotation,
) -> AppResult<(IssuedToken, Option<IssuedToken>)> {
    let (claims, jti, user) = presented(accounts, refresh_token).await?;
    let outcome = match rotation {
        Rotation::Rotate => services::sessions::rotate(&accounts.db, &jti).await?,
        Rotation::Keep => services::sessions::check(&accounts.db, &jti).await?,
    };
    let family = match outcome {
        Presented::Active { family } => family,
        Presented::Reused => return Err(AppError::Unauthenticated(REUSED)),
        Presented::Inactive => return Err(AppError::Unauthenticated(SESSION_ENDED)),
    };
    match rotation {
        Rotation::Rotate => {
            let tokens = issue(accounts, &user, &family).await?;
            Ok((tokens.access, Some(tokens.refresh)))
        }
        Rotation::Keep => {
            let access = accounts.jwt.issue_access(claims.sub, claims.ver, &family)?;
            Ok((access, None))
        }
    }
}

/// Ends the login of `refresh_token`, or every session of its user (`everywhere`).
pub async fn logout(accounts: &Accounts, refresh_token: &str, everywhere: bool) -> AppResult<()> {
    let (_claims, jti, user) = presented(accounts, refresh_token).await?;
    match everywhere {
        true => {
            services::sessions::revoke_all(&accounts.db, user.id, Some(user.id), "logout").await
        }
        false => services::sessions::revoke_family_of(&accounts.db, &jti).await,
    }
}

/// A verified refresh token of a current session: its claims, id and user.
async fn presented(
    accounts: &Accounts,
    refresh_token: &str,
) -> AppResult<(Claims, String, dashboard_user::Model)> {
    let claims = accounts.jwt.verify(refresh_token, TokenType::Refresh)?;
    let jti = claims
        .jti
        .clone()
        .ok_or(AppError::Unauthenticated(SESSION_ENDED))?;
    let user = services::users::find_by_id(&accounts.db, claims.sub)
        .await?
        .ok_or(AppError::Unauthenticated("this user no longer exists"))?;
    if user.disabled_at.is_some() {
        return Err(AppError::Unauthenticated(ACCOUNT_DISABLED));
    }
    if user.session_version != claims.ver {
        return Err(AppError::Unauthenticated(SESSION_ENDED));
    }
    Ok((claims, jti, user))
}
