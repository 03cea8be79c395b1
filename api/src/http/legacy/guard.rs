//! Who calls a legacy route, and the old server's error shapes. Flask-JWT-Extended answered
//! token problems as: missing header 401 `{"msg"}`, expired access token 401
//! `{"status":"expired_token"}` (the dashboard refreshes on exactly that), anything else
//! wrong with the token 422 `{"msg"}`; a teacher not authorized for the notebook got 403
//! `{"status":"no_user_permission"}`. Every other failure is our `AppError`, answered as the
//! old `{"error": message}` with its status.

use std::sync::Arc;

use axum::{
    Json,
    extract::{FromRequestParts, Path},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use entity::{dashboard_user, notebook};
use serde_json::json;

use crate::{
    auth::{RequestAuth, Role, Viewer, viewer::TokenProblem},
    error::AppError,
    http::HttpState,
    services,
};

/// What a legacy route can fail with, in the old shapes.
#[derive(Debug)]
pub enum LegacyError {
    MissingToken,
    ExpiredToken,
    InvalidToken(&'static str),
    /// The token names a user that no longer exists.
    UnknownUser,
    NoPermission,
    NotebookNotFound,
    /// The old `{"error": message}` with this status.
    Refused(StatusCode, String),
    App(AppError),
}

impl LegacyError {
    pub fn refused(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Refused(status, message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::refused(StatusCode::BAD_REQUEST, message)
    }
}

pub type LegacyResult<T> = Result<T, LegacyError>;

impl From<AppError> for LegacyError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::TokenExpired => Self::ExpiredToken,
            other => Self::App(other),
        }
    }
}

impl From<sea_orm::DbErr> for LegacyError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::App(error.into())
    }
}

impl IntoResponse for LegacyError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::MissingToken => (
                StatusCode::UNAUTHORIZED,
                json!({ "msg": "Missing Authorization Header" }),
            ),
            Self::ExpiredToken => (
                StatusCode::UNAUTHORIZED,
                json!({ "status": "expired_token" }),
            ),
            Self::InvalidToken(reason) => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!({ "msg": reason }))
            }
            Self::UnknownUser => (
                StatusCode::UNAUTHORIZED,
                json!({ "msg": "Error loading the user" }),
            ),
            Self::NoPermission => (
                StatusCode::FORBIDDEN,
                json!({ "status": "no_user_permission" }),
            ),
            Self::NotebookNotFound => (StatusCode::NOT_FOUND, json!({ "status": "not_found" })),
            Self::Refused(status, message) => (status, json!({ "error": message })),
            // Our error's own response logs an internal cause once and keeps Retry-After.
            Self::App(error) => return app_error(error),
        };
        (status, Json(body)).into_response()
    }
}

/// `AppError` as the old `{"error": message}`, with our stable `code` beside it.
pub fn app_error(error: AppError) -> Response {
    if let AppError::Internal(cause) = &error {
        tracing::error!(error = format!("{cause:#}"), "internal error");
    }
    let body = json!({ "error": error.message(), "code": error.code() });
    let mut response = (error.status(), Json(body)).into_response();
    if let Some(secs) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// The bearer token of a request, not yet checked against the database. Never fails: each
/// route decides what it needs.
pub struct Bearer(RequestAuth);

impl FromRequestParts<HttpState> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let viewer = Viewer::from_authorization(header, &state.app.accounts.jwt);
        Ok(Self(RequestAuth::new(viewer)))
    }
}

impl Bearer {
    /// The raw token problem, before any database read.
    fn check_token(&self) -> LegacyResult<()> {
        match self.0.viewer() {
            Viewer::Anonymous => Err(LegacyError::MissingToken),
            Viewer::Rejected(TokenProblem::Expired) => Err(LegacyError::ExpiredToken),
            Viewer::Rejected(TokenProblem::Invalid) => {
                Err(LegacyError::InvalidToken("Invalid token"))
            }
            Viewer::User { .. } => Ok(()),
        }
    }

    /// The logged-in user as stored now.
    pub async fn user(&self, state: &HttpState) -> LegacyResult<Arc<dashboard_user::Model>> {
        self.check_token()?;
        self.0.current_user(&state.app.db).await.map_err(user_error)
    }

    /// The user, if at least `role`; else 403 `{"error"}`.
    pub async fn with_role(
        &self,
        state: &HttpState,
        role: Role,
    ) -> LegacyResult<Arc<dashboard_user::Model>> {
        self.user(state).await?;
        self.0
            .require_role(&state.app.db, role)
            .await
            .map_err(user_error)
    }

    /// The user, authorized for notebook `public_id` (admins for all, as `NotebookGuard`),
    /// and the notebook: token problems first, then 403 `no_user_permission`, then 404.
    pub async fn teacher_of(
        &self,
        state: &HttpState,
        public_id: &str,
    ) -> LegacyResult<(Arc<dashboard_user::Model>, notebook::Model)> {
        self.user(state).await?;
        let user = self
            .0
            .require_notebook(&state.app.db, public_id)
            .await
            .map_err(|error| match error {
                AppError::Forbidden(_) => LegacyError::NoPermission,
                other => user_error(other),
            })?;
        let notebook = services::notebooks::find_by_public_id(&state.app.db, public_id)
            .await?
            .ok_or(LegacyError::NotebookNotFound)?;
        Ok((user, notebook))
    }
}

fn user_error(error: AppError) -> LegacyError {
    match error {
        AppError::Unauthenticated(_) => LegacyError::UnknownUser,
        other => other.into(),
    }
}

/// The notebook `{id}` of the path, once the bearer is a teacher authorized for it.
pub struct NotebookTeacher {
    pub notebook: notebook::Model,
}

impl FromRequestParts<HttpState> for NotebookTeacher {
    type Rejection = LegacyError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(bearer) = Bearer::from_request_parts(parts, state).await;
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| LegacyError::NotebookNotFound)?;
        let id = params.get("id").ok_or(LegacyError::NotebookNotFound)?;
        let (_, notebook) = bearer.teacher_of(state, id).await?;
        Ok(Self { notebook })
    }
}

/// A JSON body, whatever its content type (old clients do not all send one); a malformed body
/// is 400 `{"error"}`, never a 500.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> LegacyResult<T> {
    serde_json::from_slice(body)
        .map_err(|error| LegacyError::bad_request(format!("malformed body: {error}")))
}
