//! Who is asking. The same extraction serves HTTP (`Authorization: Bearer …`) and the websocket
//! `connection_init` payload (`{"authorization": "Bearer …"}` or `{"token": "…"}`). A bad token
//! does not fail the request by itself: public fields (ingest) still work, and guarded fields
//! answer with the precise code.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use entity::dashboard_user;
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use super::{JwtKeys, Role, TokenType, jwt::CLOCK_LEEWAY_SECS};
use crate::{
    error::{AppError, AppResult},
    services,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Expired,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    /// `expires_at` (unix seconds) is checked at every use: a websocket outlives its token.
    User {
        user_id: i64,
        expires_at: i64,
        /// The session version the token was issued in.
        version: i32,
        /// The login the token belongs to (none in tokens from before logins were named).
        family: Option<String>,
    },
    Rejected(TokenProblem),
}

impl Viewer {
    /// From an `Authorization` header value.
    pub fn from_authorization(header: Option<&str>, keys: &JwtKeys) -> Self {
        let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
            return Self::Anonymous;
        };
        match header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
        {
            Some(token) => Self::from_token(token.trim(), keys),
            None => Self::Rejected(TokenProblem::Invalid),
        }
    }

    /// From a websocket `connection_init` payload.
    pub fn from_init_payload(payload: &serde_json::Value, keys: &JwtKeys) -> Self {
        let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
        if let Some(header) = field("authorization").or_else(|| field("Authorization")) {
            return Self::from_authorization(Some(header), keys);
        }
        match field("token") {
            Some(token) => Self::from_token(token, keys),
            None => Self::Anonymous,
        }
    }

    fn from_token(token: &str, keys: &JwtKeys) -> Self {
        match keys.verify(token, TokenType::Access) {
            Ok(claims) => Self::User {
                user_id: claims.sub,
                expires_at: claims.exp,
                version: claims.ver,
                family: claims.fam,
            },
            Err(AppError::TokenExpired) => Self::Rejected(TokenProblem::Expired),
            Err(_) => Self::Rejected(TokenProblem::Invalid),
        }
    }

    /// The last second (unix) the token is accepted, leeway included; `None` without a token.
    pub fn valid_until(&self) -> Option<i64> {
        match self {
            Self::User { expires_at, .. } => Some(expires_at.saturating_add(CLOCK_LEEWAY_SECS)),
            Self::Anonymous | Self::Rejected(_) => None,
        }
    }

    pub fn user_id(&self) -> AppResult<i64> {
        match self {
            Self::User {
                user_id,
                expires_at,
                ..
            } => {
                if chrono::Utc::now().timestamp() > *expires_at + CLOCK_LEEWAY_SECS {
                    Err(AppError::TokenExpired)
                } else {
                    Ok(*user_id)
                }
            }
            Self::Anonymous => Err(AppError::Unauthenticated("log in to use this field")),
            Self::Rejected(TokenProblem::Expired) => Err(AppError::TokenExpired),
            Self::Rejected(TokenProblem::Invalid) => {
                Err(AppError::Unauthenticated("invalid access token"))
            }
        }
    }
}

/// The viewer of one request plus what guards learned about it, so a query touching many guarded
/// fields reads the user and each notebook's authorization once.
pub struct RequestAuth {
    viewer: Viewer,
    /// Off for websocket connections: they live for hours, and a revoked role or notebook must
    /// take effect at the next operation, not at reconnect.
    caching: bool,
    user: OnceCell<Arc<dashboard_user::Model>>,
    notebook_access: Mutex<HashMap<String, bool>>,
}

impl RequestAuth {
    /// For one HTTP request: the user and notebook answers are read once and reused.
    pub fn new(viewer: Viewer) -> Self {
        Self {
            viewer,
            caching: true,
            user: OnceCell::new(),
            notebook_access: Mutex::new(HashMap::new()),
        }
    }

    /// For a websocket connection: every operation reads the current user and grants.
    pub fn for_connection(viewer: Viewer) -> Self {
        Self {
            caching: false,
            ..Self::new(viewer)
        }
    }

    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// The logged-in user as stored now (a revoked role takes effect at once, not at token
    /// expiry).
    pub async fn current_user(
        &self,
        db: &DatabaseConnection,
    ) -> AppResult<Arc<dashboard_user::Model>> {
        let user_id = self.viewer.user_id()?;
        let (version, family) = match &self.viewer {
            Viewer::User {
                version, family, ..
            } => (*version, family.as_deref()),
            _ => (0, None),
        };
        let load = || async {
            let user = services::users::find_by_id(db, user_id)
                .await?
                .ok_or(AppError::Unauthenticated("this user no longer exists"))?;
            if user.disabled_at.is_some() {
                return Err(AppError::Unauthenticated(super::sessions::ACCOUNT_DISABLED));
            }
            // Ending a user's sessions bumps the version: their access tokens stop at once.
            if user.session_version != version {
                return Err(AppError::Unauthenticated(super::sessions::SESSION_ENDED));
            }
            // Ending one login (logout, a reused refresh token) ends its access tokens too.
            if let Some(family) = family
                && !services::sessions::is_login_active(db, family).await?
            {
                return Err(AppError::Unauthenticated(super::sessions::SESSION_ENDED));
            }
            Ok(Arc::new(user))
        };
        if !self.caching {
            return load().await;
        }
        self.user.get_or_try_init(load).await.cloned()
    }

    pub async fn require_role(
        &self,
        db: &DatabaseConnection,
        role: Role,
    ) -> AppResult<Arc<dashboard_user::Model>> {
        let user = self.current_user(db).await?;
        if user.role >= role {
            Ok(user)
        } else {
            Err(AppError::forbidden(format!(
                "requires the {} role",
                format!("{role:?}").to_lowercase()
            )))
        }
    }

    /// Admins see every notebook; others only those granted to them. An unknown notebook is
    /// `FORBIDDEN` for non-admins, so ids cannot be probed.
    pub async fn require_notebook(
        &self,
        db: &DatabaseConnection,
        notebook_id: &str,
    ) -> AppResult<Arc<dashboard_user::Model>> {
        let user = self.current_user(db).await?;
        if user.role == Role::Admin {
            return Ok(user);
        }
        let cached = match self.caching {
            true => self.lock_access().get(notebook_id).copied(),
            false => None,
        };
        let allowed = match cached {
            Some(allowed) => allowed,
            None => {
                let allowed =
                    services::authorizations::is_authorized(db, user.id, notebook_id).await?;
                self.lock_access().insert(notebook_id.to_owned(), allowed);
                allowed
            }
        };
        if allowed {
            Ok(user)
        } else {
            Err(AppError::forbidden("not authorized for this notebook"))
        }
    }

    fn lock_access(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.notebook_access
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_whose_token_expired_since_it_connected_is_token_expired() {
        let expired = Viewer::User {
            user_id: 1,
            expires_at: chrono::Utc::now().timestamp() - CLOCK_LEEWAY_SECS - 1,
            version: 0,
            family: None,
        };
        assert!(matches!(expired.user_id(), Err(AppError::TokenExpired)));
        let valid = Viewer::User {
            user_id: 1,
            expires_at: chrono::Utc::now().timestamp() + 60,
            version: 0,
            family: None,
        };
        assert!(matches!(valid.user_id(), Ok(1)));
    }
}
