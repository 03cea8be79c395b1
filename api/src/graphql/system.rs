//! Service-level fields: health and version.

use async_graphql::{Context, Object, SimpleObject};

use super::context::app;

#[derive(Default)]
pub struct SystemQuery;

/// Whether the server's dependencies answer.
#[derive(SimpleObject)]
pub struct Health {
    /// `ok` when everything answers, else `degraded`.
    status: String,
    database: bool,
    broker: bool,
}

#[Object]
impl SystemQuery {
    /// Whether the database and the broker answer right now.
    async fn health(&self, ctx: &Context<'_>) -> async_graphql::Result<Health> {
        let app = app(ctx)?;
        let database = app.db.ping().await.is_ok();
        let broker = app.broker.ping().await.is_ok();
        let status = if database && broker { "ok" } else { "degraded" };
        Ok(Health {
            status: status.into(),
            database,
            broker,
        })
    }

    /// The server's version.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
