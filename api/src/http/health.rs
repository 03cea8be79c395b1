//! Probes that tell the truth. `/healthz`: the process serves (always 200 while it can answer).
//! `/readyz`: the database answers within a second (503 otherwise, so a load balancer sends
//! traffic elsewhere); the broker is reported too, but Redis being down only makes the
//! instance "degraded" (ingest and queries work without it), never unready: a Redis blip must
//! not pull every replica out at once. Both answer within about a second either way.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::HttpState;

const PROBE_TIMEOUT: Duration = Duration::from_millis(900);

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<HttpState>) -> (StatusCode, Json<Value>) {
    let app = &state.app;
    // First thing a stopping server does: load balancers stop sending it traffic while it
    // drains what it already has.
    if app.shutdown.is_cancelled() {
        let body = json!({ "status": "shutting_down" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    let (database, broker) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, app.db.ping()),
        tokio::time::timeout(PROBE_TIMEOUT, app.broker.ping()),
    );
    let database = matches!(database, Ok(Ok(())));
    let broker = matches!(broker, Ok(Ok(())));
    let writer = app.ingest.writer.is_running();
    let (status, word) = match (database && writer, broker) {
        (true, true) => (StatusCode::OK, "ready"),
        (true, false) => (StatusCode::OK, "degraded"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let state_of = |up: bool| if up { "up" } else { "down" };
    let body = json!({
        "status": word,
        "database": state_of(database),
        "broker": state_of(broker),
        "ingest_writer": state_of(writer),
        "ingest_writer_restarts": app.ingest.writer.restarts(),
    });
    (status, Json(body))
}

/// `GET /metrics`: the Prometheus text format; with `METRICS_TOKEN` set, only for
/// `Authorization: Bearer <METRICS_TOKEN>`.
pub async fn metrics(
    State(state): State<HttpState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(token) = &state.app.config.metrics_token {
        let expected = format!("Bearer {}", token.expose());
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .map(axum::http::HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(given, expected.as_bytes())) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let body = crate::metrics::render(state.app.ingest.writer.queue_depth(), &state.app.db);
    let content_type = "text/plain; version=0.0.4";
    ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
}
