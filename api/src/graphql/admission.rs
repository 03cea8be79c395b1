//! Whether an operation may start, whichever transport carried it (POST or GET `/graphql`, or a
//! websocket `subscribe`): not while the database is known to be down, then an authenticated
//! dashboard user is counted against the per-user rate limit, then the introspection policy is
//! applied. Anonymous requests (ingest, login) are
//! counted by their resolvers, per student and per address. The caller shapes a refusal for its
//! transport (a 429/403 response, or an `error` message on the socket).

use async_graphql::Request;
use sea_orm::DatabaseConnection;

use super::introspection;
use crate::{
    auth::{RequestAuth, Viewer},
    config::Introspection,
    db::DbHealth,
    error::AppResult,
    ratelimit::RateLimiter,
    state::AppState,
};

pub struct Admission<'a> {
    db_health: &'a DbHealth,
    rate_limits: &'a RateLimiter,
    db: &'a DatabaseConnection,
    introspection: Introspection,
}

impl<'a> Admission<'a> {
    pub fn of(app: &'a AppState) -> Self {
        Self {
            db_health: &app.db_health,
            rate_limits: &app.rate_limits,
            db: &app.db,
            introspection: app.config.introspection(),
        }
    }

    /// `UNAVAILABLE` (the database is known to be down: refused at once rather than after the
    /// pool's timeout), `RATE_LIMITED` or `FORBIDDEN` when the operation may not start.
    pub async fn admit(&self, auth: &RequestAuth, request: &Request) -> AppResult<()> {
        self.db_health.check()?;
        if let Viewer::User { user_id, .. } = auth.viewer() {
            self.rate_limits.user(*user_id).await?;
        }
        introspection::check_policy(self.introspection, self.db, auth, &request.query).await
    }
}
