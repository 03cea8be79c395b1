//! Login, token refresh, signup and `me`.
//!
//! Usernames are stored only as pseudonyms, so the server cannot tell anyone their username:
//! `username` on `Me` is filled only in the answer to the request that sent it.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::dashboard_user;

use super::{context::app, context::request_auth, notebooks::Notebook};
use crate::{
    AppState,
    auth::{
        Role, TokenType,
        login::{authenticate, check_credentials_shape, signup},
    },
    error::{AppError, AppResult},
    services,
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

#[derive(SimpleObject)]
pub struct RefreshPayload {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
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
        check_credentials_shape(&username, &password, 1)?;
        let user = authenticate(app, &username, password).await?;
        Ok(session(app, &user, username).await?)
    }

    /// Exchanges a refresh token for a new access token.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<RefreshPayload> {
        let app = app(ctx)?;
        let claims = app.jwt.verify(&refresh_token, TokenType::Refresh)?;
        if services::users::find_by_id(&app.db, claims.sub)
            .await?
            .is_none()
        {
            return Err(AppError::Unauthenticated("this user no longer exists").into());
        }
        let access = app.jwt.issue(claims.sub, TokenType::Access)?;
        Ok(RefreshPayload {
            access_token: access.token,
            access_token_expires_at: access.expires_at,
        })
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
        let user = signup(app, &username, password).await?;
        Ok(session(app, &user, username).await?)
    }
}

async fn session(
    app: &AppState,
    user: &dashboard_user::Model,
    username: String,
) -> AppResult<AuthPayload> {
    let access = app.jwt.issue(user.id, TokenType::Access)?;
    let refresh = app.jwt.issue(user.id, TokenType::Refresh)?;
    Ok(AuthPayload {
        access_token: access.token,
        access_token_expires_at: access.expires_at,
        refresh_token: refresh.token,
        refresh_token_expires_at: refresh.expires_at,
        user: me(app, user, Some(username)).await?,
    })
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
        role: user.role.into(),
        notebooks: Notebook::load_many(app, notebooks).await?,
    })
}
