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
    ratelimit::ClientIp,
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
    /// Null when the student's copy lacks the cell mapping: stored as "" (no original).
    orig_cell_id: Option<String>,
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
    /// Null when the student's copy lacks the cell mapping: stored as "" (no original).
    orig_cell_id: Option<String>,
    time: DateTime<Utc>,
    cell_content: String,
}

#[derive(Deserialize)]
struct CellClickBody {
    #[serde(flatten)]
    source: Source,
    cell_id: String,
    /// Null when the student's copy lacks the cell mapping: stored as "" (no original).
    orig_cell_id: Option<String>,
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
        .route("/send/exec/code", post(receive::<CodeExecutionBody>))
        .route(
            "/send/exec/markdown",
            post(receive::<MarkdownExecutionBody>),
        )
        .route("/send/clickevent/cell", post(receive::<CellClickBody>))
        .route(
            "/send/clickevent/notebook",
            post(receive::<NotebookClickBody>),
        )
        .route("/send/alter", post(receive::<AlterationBody>))
        .route(
            "/send/pending_update_interaction",
            post(receive::<PendingUpdateBody>),
        )
        .layer(DefaultBodyLimit::max(event_body_limit))
        .layer(cors)
}

/// An old client's body: the shared fields plus one kind's.
trait LegacyBody: DeserializeOwned {
    fn into_parts(self) -> (Source, EventKind);
}

/// One handler for every route: parse the body whatever its content type (old clients do not
/// all send one), then store it through the ingest service.
async fn receive<B: LegacyBody>(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (source, kind) = match parse::<B>(body) {
        Ok(body) => body.into_parts(),
        Err(error) => return error.into_response(),
    };
    let pair = (source.notebook_id.as_str(), source.user_id.as_str());
    if let Err(error) = state.app.rate_limits.ingest(client, [pair]).await {
        return error.into_response();
    }
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

impl LegacyBody for CodeExecutionBody {
    fn into_parts(self) -> (Source, EventKind) {
        let kind = EventKind::CodeExecution {
            cell_id: self.cell_id,
            orig_cell_id: self.orig_cell_id.unwrap_or_default(),
            t_start: self.t_start,
            t_finish: self.t_finish,
            status: self.status,
            cell_input: self.cell_input,
            cell_output_model: self.cell_output_model,
            cell_output_length: self.cell_output_length,
            language_mimetype: self.language_mimetype,
        };
        (self.source, kind)
    }
}

impl LegacyBody for MarkdownExecutionBody {
    fn into_parts(self) -> (Source, EventKind) {
        let kind = EventKind::MarkdownExecution {
            cell_id: self.cell_id,
            orig_cell_id: self.orig_cell_id.unwrap_or_default(),
            time: self.time,
            cell_content: self.cell_content,
        };
        (self.source, kind)
    }
}

impl LegacyBody for CellClickBody {
    fn into_parts(self) -> (Source, EventKind) {
        let kind = EventKind::CellFocus {
            cell_id: self.cell_id,
            orig_cell_id: self.orig_cell_id.unwrap_or_default(),
            click_type: self.click_type,
            time: self.time,
            click_duration: self.click_duration,
        };
        (self.source, kind)
    }
}

impl LegacyBody for NotebookClickBody {
    fn into_parts(self) -> (Source, EventKind) {
        let kind = EventKind::NotebookFocus {
            click_type: self.click_type,
            time: self.time,
            click_duration: self.click_duration,
        };
        (self.source, kind)
    }
}

impl LegacyBody for AlterationBody {
    fn into_parts(self) -> (Source, EventKind) {
        let kind = EventKind::CellAlteration {
            cell_id: self.cell_id,
            alteration_type: self.alteration_type,
            time: self.time,
        };
        (self.source, kind)
    }
}

impl LegacyBody for PendingUpdateBody {
    fn into_parts(self) -> (Source, EventKind) {
        let kind = EventKind::PendingUpdateInteraction {
            cell_id: self.cell_id,
            update_id: self.update_id,
            action: self.action,
            sender: self.sender,
            sender_type: self.sender_type,
            time: self.time,
        };
        (self.source, kind)
    }
}
