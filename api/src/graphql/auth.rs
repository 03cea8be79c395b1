//! Login, token refresh, signup and `me`.
//!
//! Usernames are stored only as pseudonyms, so the server cannot tell anyone their username:
//! `username` on `Me` is filled only in the answer to the request that sent it.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::dashboard_user;

use super::{
    context::app, context::client_ip, context::request_auth, guards::RoleGuard, notebooks::Notebook,
};
use crate::{
    auth::{
        Role,
        login::{MIN_NEW_PASSWORD_LEN, authenticate, check_credentials_shape, signup},
        password::{self, PasswordCheck},
        sessions::{self, Rotation, SessionTokens},
    },
    error::{AppError, AppResult},
    services,
    state::AppState,
};

#[derive(Default)]
pub struct AuthQuery;

#[derive(Default)]
pub struct AuthMutation;

/// The logged-in dashboard user.
#[derive(SimpleObject)]
pub struct Me {
    /// The username's pseudonym, as stored.
    pub pseudonym: String,
    /// The username, only in the answer to `login`/`signup` (it is never stored).
    pub username: Option<String>,
    pub role: Role,
    /// Notebooks this user may see (all of them for admins).
    pub notebooks: Vec<Notebook>,
}

/// Tokens for a session: send `accessToken` as `Authorization: Bearer …`; when a request fails
/// with `TOKEN_EXPIRED`, call `refreshToken` with `refreshToken`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: Me,
}

/// A refreshed session: the presented refresh token is used up (presenting it again ends the
/// login), so keep the new `refreshToken`.
#[derive(SimpleObject)]
pub struct RefreshPayload {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
}

#[Object]
impl AuthQuery {
    /// The user of the access token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let app = app(ctx)?;
        let user = request_auth(ctx)?.current_user(&app.db).await?;
        Ok(me(app, &user, None).await?)
    }
}

#[Object]
impl AuthMutation {
    /// Logs in: a 30-minute access token and a 30-day refresh token.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let app = app(ctx)?;
        count_credential_attempt(ctx, app, &username).await?;
        check_credentials_shape(&username, &password, 1)?;
        let user = authenticate(&app.accounts, &username, password, client_ip(ctx)).await?;
        Ok(session(app, &user, Some(username)).await?)
    }

    /// Exchanges a refresh token for a new access token and a new refresh token. A refresh
    /// token works once: presented again, it ends its whole login (it was copied).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<RefreshPayload> {
        let app = app(ctx)?;
        let (access, refresh) =
            sessions::refresh(&app.accounts, &refresh_token, Rotation::Rotate).await?;
        let refresh = refresh.ok_or_else(|| AppError::internal(anyhow::anyhow!("no rotation")))?;
        Ok(RefreshPayload {
            access_token: access.token,
            access_token_expires_at: access.expires_at,
            refresh_token: refresh.token,
            refresh_token_expires_at: refresh.expires_at,
        })
    }

    /// Ends the login of `refreshToken` (its access tokens run out within their 30 minutes),
    /// or with `everywhere` every session of the user, access tokens included, at once.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
        #[graphql(default = false)] everywhere: bool,
    ) -> async_graphql::Result<bool> {
        let app = app(ctx)?;
        sessions::logout(&app.accounts, &refresh_token, everywhere).await?;
        Ok(true)
    }

    /// Changes the logged-in user's password: every session ends, and a new one starts.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let app = app(ctx)?;
        let user = request_auth(ctx)?.current_user(&app.db).await?;
        let user = change_password(app, &user, current_password, new_password).await?;
        Ok(session(app, &user, None).await?)
    }

    /// Ends every session of `username` at once (a lost laptop, a departed TA). Superusers may
    /// do it for plain users, admins for anyone.
    #[graphql(guard = "RoleGuard::new(Role::Superuser)")]
    async fn revoke_sessions(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<bool> {
        let app = app(ctx)?;
        let actor = request_auth(ctx)?.current_user(&app.db).await?;
        let target = services::users::find_by_username_hash(
            &app.db,
            &app.pseudonyms.pseudonymize(&username),
        )
        .await?
        .ok_or_else(|| AppError::not_found("no such user"))?;
        if actor.role != Role::Admin && target.role >= actor.role {
            return Err(
                AppError::forbidden("only an admin may end the sessions of this user").into(),
            );
        }
        services::sessions::revoke_all(&app.db, target.id, Some(actor.id), "revoked").await?;
        services::sessions::announce_ended(app.broker.as_ref(), target.id).await;
        Ok(true)
    }

    /// Creates a plain user and logs them in (only when the server runs with
    /// `SIGNUP_ENABLED=true`; `FORBIDDEN` otherwise).
    async fn signup(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let app = app(ctx)?;
        count_credential_attempt(ctx, app, &username).await?;
        let user = signup(&app.accounts, &username, password).await?;
        Ok(session(app, &user, Some(username)).await?)
    }
}

/// Counts a `login` or `signup` per login name and per client address before anything else
/// (an attempt costs Argon2 work, and a signup an account): over the limit the field fails with
/// `RATE_LIMITED` and `retryAfter`, no password hashed or checked. Every path to these fields
/// runs this (HTTP, the websocket, each alias repeating a field in one document).
async fn count_credential_attempt(
    ctx: &Context<'_>,
    app: &AppState,
    username: &str,
) -> AppResult<()> {
    app.rate_limits.login(client_ip(ctx), Some(username)).await
}

async fn session(
    app: &AppState,
    user: &dashboard_user::Model,
    username: Option<String>,
) -> AppResult<AuthPayload> {
    let SessionTokens { access, refresh } = sessions::start(&app.accounts, user).await?;
    Ok(AuthPayload {
        access_token: access.token,
        access_token_expires_at: access.expires_at,
        refresh_token: refresh.token,
        refresh_token_expires_at: refresh.expires_at,
        user: me(app, user, username).await?,
    })
}

/// Checks `current`, stores `new` hashed, and ends every session; the user as stored now.
async fn change_password(
    app: &AppState,
    user: &dashboard_user::Model,
    current: String,
    new: String,
) -> AppResult<dashboard_user::Model> {
    check_credentials_shape(&user.username_hash, &new, MIN_NEW_PASSWORD_LEN)?;
    if password::verify(user.password_hash.clone(), current).await? == PasswordCheck::Invalid {
        return Err(AppError::forbidden("the current password is wrong"));
    }
    let hash = password::hash(new).await?;
    services::users::set_password_hash(&app.db, user.clone(), hash).await?;
    services::sessions::revoke_all(&app.db, user.id, Some(user.id), "password changed").await?;
    services::sessions::announce_ended(app.broker.as_ref(), user.id).await;
    services::users::find_by_id(&app.db, user.id)
        .await?
        .ok_or(AppError::Unauthenticated("this user no longer exists"))
}

async fn me(
    app: &AppState,
    user: &dashboard_user::Model,
    username: Option<String>,
) -> AppResult<Me> {
    let notebooks = services::authorizations::notebooks_of(&app.db, user).await?;
    Ok(Me {
        pseudonym: user.username_hash.clone(),
        username,
        role: user.role,
        notebooks: Notebook::load_many(app, notebooks).await?,
    })
}
