//! The old telemetry extension's REST routes (`/send/*`), kept for the versions already
//! installed on students' machines: thin adapters over the same ingest service as the GraphQL
//! mutations. 200 on success, 400 malformed body (the old server answered 500), 404 unknown
//! notebook, 413 too large, always with a JSON body.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

use super::HttpState;
use crate::{
    error::AppError,
    ratelimit::ClientIp,
    services::ingest::{
        CellAlteration, CellFocus, CodeExecution, Event, MarkdownExecution, NotebookFocus,
        PendingUpdateInteraction,
    },
};

pub fn routes(event_body_limit: usize) -> Router<HttpState> {
    // Students' notebooks run on any JupyterHub origin; these routes carry no credentials.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(86_400));
    Router::new()
        .route("/send/exec/code", post(receive::<CodeExecution>))
        .route("/send/exec/markdown", post(receive::<MarkdownExecution>))
        .route("/send/clickevent/cell", post(receive::<CellFocus>))
        .route("/send/clickevent/notebook", post(receive::<NotebookFocus>))
        .route("/send/alter", post(receive::<CellAlteration>))
        .route(
            "/send/pending_update_interaction",
            post(receive::<PendingUpdateInteraction>),
        )
        .layer(DefaultBodyLimit::max(event_body_limit))
        .layer(cors)
}

/// One handler for every route: parse the body whatever its content type (old clients do not
/// all send one) straight into the event type, then store it through the ingest service.
async fn receive<E: DeserializeOwned + Into<Event>>(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let event: Event = match parse::<E>(body) {
        Ok(event) => event.into(),
        Err(error) => return error.into_response(),
    };
    let source = event.source();
    let pair = (source.notebook_id.as_str(), source.user_id.as_str());
    if let Err(error) = state.app.rate_limits.ingest(client, [pair]).await {
        return error.into_response();
    }
    match state.app.ingest.record_events(vec![event]).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response(),
        Err(error) => error.into_response(),
    }
}

fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, AppError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge("event body over the size limit".into())
        } else {
            AppError::bad_input(rejection.body_text())
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|error| AppError::bad_input(format!("malformed event body: {error}")))
}
