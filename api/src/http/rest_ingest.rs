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
use chrono::{DateTime, Utc};
use entity::enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, SenderType};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};
use uuid::Uuid;

use super::HttpState;
use crate::{
    error::AppError,
    services::ingest::{self, EventInput, EventKind},
};

/// Fields every old event body carries.
#[derive(Deserialize)]
struct Source {
    notebook_id: String,
    user_id: String,
    #[serde(default)]
    event_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct CodeExecutionBody {
    #[serde(flatten)]
    source: Source,
    cell_id: String,
    orig_cell_id: String,
    t_start: DateTime<Utc>,
    t_finish: DateTime<Utc>,
    status: ExecutionStatus,
    cell_input: String,
    cell_output_model: serde_json::Value,
    cell_output_length: i64,
    language_mimetype: String,
}

#[derive(Deserialize)]
struct MarkdownExecutionBody {
    #[serde(flatten)]
    source: Source,
    cell_id: String,
    orig_cell_id: String,
    time: DateTime<Utc>,
    cell_content: String,
}

#[derive(Deserialize)]
struct CellClickBody {
    #[serde(flatten)]
    source: Source,
    cell_id: String,
    orig_cell_id: String,
    click_type: ClickType,
    time: DateTime<Utc>,
    #[serde(default)]
    click_duration: Option<f64>,
}

#[derive(Deserialize)]
struct NotebookClickBody {
    #[serde(flatten)]
    source: Source,
    click_type: ClickType,
    time: DateTime<Utc>,
    #[serde(default)]
    click_duration: Option<f64>,
}

#[derive(Deserialize)]
struct AlterationBody {
    #[serde(flatten)]
    source: Source,
    cell_id: String,
    alteration_type: AlterationType,
    time: DateTime<Utc>,
}

#[derive(Deserialize)]
struct PendingUpdateBody {
    #[serde(flatten)]
    source: Source,
    #[serde(default)]
    cell_id: Option<String>,
    #[serde(default)]
    update_id: Option<String>,
    action: PendingUpdateAction,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    sender_type: Option<SenderType>,
    time: DateTime<Utc>,
}

pub fn routes(event_body_limit: usize) -> Router<HttpState> {
    // Students' notebooks run on any JupyterHub origin; these routes carry no credentials.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(86_400));
    Router::new()
        .route("/send/exec/code", post(code_execution))
        .route("/send/exec/markdown", post(markdown_execution))
        .route("/send/clickevent/cell", post(cell_click))
        .route("/send/clickevent/notebook", post(notebook_click))
        .route("/send/alter", post(alteration))
        .route("/send/pending_update_interaction", post(pending_update))
        .layer(DefaultBodyLimit::max(event_body_limit))
        .layer(cors)
}

/// Parses the body whatever its content type: old clients do not all send one.
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

async fn store(state: &HttpState, source: Source, kind: EventKind) -> Response {
    let event = EventInput {
        notebook_id: source.notebook_id,
        user_id: source.user_id,
        event_id: source.event_id,
        kind,
    };
    match ingest::record_events(&state.app, vec![event]).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn code_execution(
    State(state): State<HttpState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body: CodeExecutionBody = match parse(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let kind = EventKind::CodeExecution {
        cell_id: body.cell_id,
        orig_cell_id: body.orig_cell_id,
        t_start: body.t_start,
        t_finish: body.t_finish,
        status: body.status,
        cell_input: body.cell_input,
        cell_output_model: body.cell_output_model,
        cell_output_length: body.cell_output_length,
        language_mimetype: body.language_mimetype,
    };
    store(&state, body.source, kind).await
}

async fn markdown_execution(
    State(state): State<HttpState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body: MarkdownExecutionBody = match parse(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let kind = EventKind::MarkdownExecution {
        cell_id: body.cell_id,
        orig_cell_id: body.orig_cell_id,
        time: body.time,
        cell_content: body.cell_content,
    };
    store(&state, body.source, kind).await
}

async fn cell_click(
    State(state): State<HttpState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body: CellClickBody = match parse(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let kind = EventKind::CellFocus {
        cell_id: body.cell_id,
        orig_cell_id: body.orig_cell_id,
        click_type: body.click_type,
        time: body.time,
        click_duration: body.click_duration,
    };
    store(&state, body.source, kind).await
}

async fn notebook_click(
    State(state): State<HttpState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body: NotebookClickBody = match parse(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let kind = EventKind::NotebookFocus {
        click_type: body.click_type,
        time: body.time,
        click_duration: body.click_duration,
    };
    store(&state, body.source, kind).await
}

async fn alteration(
    State(state): State<HttpState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body: AlterationBody = match parse(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let kind = EventKind::CellAlteration {
        cell_id: body.cell_id,
        alteration_type: body.alteration_type,
        time: body.time,
    };
    store(&state, body.source, kind).await
}

async fn pending_update(
    State(state): State<HttpState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body: PendingUpdateBody = match parse(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let kind = EventKind::PendingUpdateInteraction {
        cell_id: body.cell_id,
        update_id: body.update_id,
        action: body.action,
        sender: body.sender,
        sender_type: body.sender_type,
        time: body.time,
    };
    store(&state, body.source, kind).await
}
