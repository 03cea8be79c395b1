//! One error type for everything a request can fail with. Each variant has a stable
//! `extensions.code`; internal details are logged once, here at the boundary, and masked for
//! clients.

use async_graphql::ErrorExtensions;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

pub type AppResult<T> = Result<T, AppError>;

/// What an `UNAVAILABLE` answer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    /// The broker and presence store (Redis, when configured).
    Broker,
}

///
/// Deliberately not `Display`: async-graphql converts any `Display` error into a plain error
/// without a code, so `?` in a resolver must go through our `From` instead.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(&'static str),
    TokenExpired,
    Forbidden(String),
    NotFound(String),
    BadUserInput(String),
    Conflict(String),
    /// `NOTEBOOK_ARCHIVED` (409): the notebook is archived, read-only: its dashboards answer,
    /// but it takes no more events. Its own code, so the extensions can tell it from a
    /// transient failure and stop sending.
    NotebookArchived,
    RateLimited {
        retry_after_secs: u64,
    },
    PayloadTooLarge(String),
    /// The operation is over a configured limit (depth, complexity, aliases, root fields).
    QueryTooComplex(String),
    /// The operation ran past the execution timeout and was stopped.
    Timeout {
        limit_ms: u64,
    },
    /// A database statement ran past the database's statement timeout and was cancelled
    /// (PostgreSQL's `query_canceled`): the same `TIMEOUT` to the client.
    StatementTimeout,
    /// A dependency cannot be reached right now; retrying later may succeed.
    Unavailable {
        dependency: Dependency,
        retry_after_secs: u64,
    },
    /// The error of one element of a batch; the whole batch was refused.
    InBatch {
        index: usize,
        error: Box<AppError>,
    },
    Internal(anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::NotebookArchived => "NOTEBOOK_ARCHIVED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            Self::Timeout { .. } | Self::StatementTimeout => "TIMEOUT",
            Self::Unavailable { .. } => "UNAVAILABLE",
            Self::InBatch { error, .. } => error.code(),
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadUserInput(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) | Self::NotebookArchived => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::QueryTooComplex(_) => StatusCode::BAD_REQUEST,
            Self::Timeout { .. } | Self::StatementTimeout | Self::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::InBatch { error, .. } => error.status(),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// Marks this error as belonging to element `index` of a batch.
    pub fn at_index(self, index: usize) -> Self {
        Self::InBatch {
            index,
            error: Box::new(self),
        }
    }

    /// The text a client may see: internal causes are never shown.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(reason) => format!("authentication required: {reason}"),
            Self::TokenExpired => "access token expired".into(),
            Self::NotebookArchived => "this notebook is archived and takes no more events".into(),
            Self::Forbidden(message)
            | Self::NotFound(message)
            | Self::BadUserInput(message)
            | Self::Conflict(message)
            | Self::PayloadTooLarge(message)
            | Self::QueryTooComplex(message) => message.clone(),
            Self::Timeout { limit_ms } => {
                format!("the operation ran longer than {limit_ms} ms and was stopped")
            }
            Self::StatementTimeout => "a database statement ran past its time limit and was \
                stopped; a narrower filter (a shorter window, fewer students) reads less"
                .into(),
            Self::RateLimited { retry_after_secs } => {
                format!("too many requests; retry in {retry_after_secs} s")
            }
            Self::Unavailable {
                dependency,
                retry_after_secs,
            } => {
                let what = match dependency {
                    Dependency::Database => "the database",
                    Dependency::Broker => "the live service (broker)",
                };
                format!("{what} is unavailable; retry in {retry_after_secs} s")
            }
            Self::InBatch { index, error } => format!("event {index}: {}", error.message()),
            Self::Internal(_) => "internal error".into(),
        }
    }

    /// The client-facing message, logging an internal cause once on the way out.
    pub fn public_message(&self) -> String {
        if let Self::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        self.message()
    }
}

impl From<AppError> for anyhow::Error {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal(cause) => cause,
            other => anyhow::anyhow!("{} ({})", other.message(), other.code()),
        }
    }
}

impl AppError {
    /// The seconds a client should wait before retrying, for the codes that have one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs }
            | Self::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::InBatch { error, .. } => error.retry_after(),
            _ => None,
        }
    }

    /// The database cannot be reached.
    pub fn unavailable() -> Self {
        Self::Unavailable {
            dependency: Dependency::Database,
            retry_after_secs: 2,
        }
    }

    /// The broker or presence store cannot be reached (live features, presence).
    pub fn broker_unavailable() -> Self {
        Self::Unavailable {
            dependency: Dependency::Broker,
            retry_after_secs: 2,
        }
    }
}

/// Whether a database error means the database could not be reached (pool timeout, refused or
/// broken connection, or the server shutting down), as opposed to a statement it refused.
pub fn is_connection_failure(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, sqlx::Error as Sqlx};
    if matches!(error, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match sqlx_error(error) {
        Some(
            Sqlx::Io(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_),
        ) => true,
        Some(Sqlx::Database(_)) => sqlstate(error).is_some_and(|code| is_outage_state(&code)),
        _ => false,
    }
}

/// The SQLSTATE of a statement the database refused (`None` for other errors).
pub fn sqlstate(error: &sea_orm::DbErr) -> Option<String> {
    Some(sqlx_error(error)?.as_database_error()?.code()?.into_owned())
}

/// The driver's error inside a statement's error.
fn sqlx_error(error: &sea_orm::DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error)) => {
            Some(error)
        }
        _ => None,
    }
}

/// PostgreSQL's `query_canceled`: the statement timeout passed (or an administrator cancelled
/// the statement).
const QUERY_CANCELED: &str = "57014";

/// SQLSTATEs of a server going away rather than refusing a statement: an administrator's or a
/// crash's shutdown (57P01 to 57P03: `admin_shutdown`, `crash_shutdown`, `cannot_connect_now`)
/// and every connection exception (class 08).
pub fn is_outage_state(sqlstate: &str) -> bool {
    matches!(sqlstate, "57P01" | "57P02" | "57P03") || sqlstate.starts_with("08")
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        if is_connection_failure(&error) {
            tracing::warn!(error = %error, "database unreachable");
            Self::unavailable()
        } else if sqlstate(&error).as_deref() == Some(QUERY_CANCELED) {
            tracing::warn!(error = %error, "database statement cancelled");
            Self::StatementTimeout
        } else {
            Self::Internal(error.into())
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        let code = error.code();
        let index = match &error {
            AppError::InBatch { index, .. } => Some(*index),
            _ => None,
        };
        let retry_after = error.retry_after();
        async_graphql::Error::new(error.public_message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(index) = index {
                ext.set("eventIndex", index as u64);
            }
            if let Some(secs) = retry_after {
                ext.set("retryAfter", secs);
            }
        })
    }
}

/// REST routes answer `{"error": {"code", "message"}}` with the matching status, and
/// `Retry-After` when waiting helps.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after();
        let body = json!({ "error": { "code": self.code(), "message": self.public_message() } });
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graphql_code(error: AppError) -> Option<String> {
        let error: async_graphql::Error = error.into();
        let value = error.extensions?.get("code")?.clone();
        match value {
            async_graphql::Value::String(code) => Some(code),
            _ => None,
        }
    }

    #[test]
    fn every_variant_carries_its_stable_code_and_status() {
        let cases = [
            (
                AppError::Unauthenticated("no token"),
                "UNAUTHENTICATED",
                401,
            ),
            (AppError::TokenExpired, "TOKEN_EXPIRED", 401),
            (AppError::forbidden("no"), "FORBIDDEN", 403),
            (AppError::not_found("gone"), "NOT_FOUND", 404),
            (AppError::bad_input("bad"), "BAD_USER_INPUT", 400),
            (AppError::conflict("twice"), "CONFLICT", 409),
            (
                AppError::RateLimited {
                    retry_after_secs: 3,
                },
                "RATE_LIMITED",
                429,
            ),
            (
                AppError::PayloadTooLarge("big".into()),
                "PAYLOAD_TOO_LARGE",
                413,
            ),
            (AppError::unavailable(), "UNAVAILABLE", 503),
            (
                AppError::internal(anyhow::anyhow!("db down")),
                "INTERNAL",
                500,
            ),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{code}");
            assert_eq!(graphql_code(error).as_deref(), Some(code));
        }
    }

    #[test]
    fn internal_errors_hide_their_cause_from_clients() {
        let error: async_graphql::Error =
            AppError::internal(anyhow::anyhow!("password=hunter2 at db")).into();
        assert_eq!(error.message, "internal error");
    }

    #[test]
    fn batch_errors_keep_the_inner_code_and_name_the_index() {
        let error: async_graphql::Error = AppError::not_found("notebook").at_index(7).into();
        let ext = error.extensions.unwrap_or_default();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("NOT_FOUND"))
        );
        assert_eq!(ext.get("eventIndex"), Some(&async_graphql::Value::from(7)));
        assert!(error.message.starts_with("event 7: "));
    }
}
