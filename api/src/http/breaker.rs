//! While the database breaker is open (`db::DbHealth`), the REST routes that need the database
//! answer `503 UNAVAILABLE` with `Retry-After` at once. `/graphql` is admitted by
//! `graphql::admission` instead (its refusals are GraphQL-shaped, and websocket operations go
//! through it too); probes, metrics and GraphiQL's assets never need the database.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::db::DbHealth;

/// Paths answered whatever the database's state.
fn without_database(path: &str) -> bool {
    matches!(path, "/graphql" | "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/graphiql/")
}

pub async fn refuse_while_down(
    State(health): State<DbHealth>,
    request: Request,
    next: Next,
) -> Response {
    if !without_database(request.uri().path())
        && let Err(error) = health.check()
    {
        return error.into_response();
    }
    next.run(request).await
}
