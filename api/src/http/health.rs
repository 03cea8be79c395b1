//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database, and the
//! broker when one is configured, answer).

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::HttpState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<HttpState>) -> (StatusCode, Json<Value>) {
    let database = state.app.db.ping().await.is_ok();
    let broker = state.app.broker.ping().await.is_ok();
    let status = if database && broker {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ready" } else { "unavailable" },
        "database": database,
        "broker": broker,
    });
    (status, Json(body))
}
