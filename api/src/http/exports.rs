//! Streaming CSV exports beside GraphQL: a notebook's events for teachers authorized for it,
//! and every dashboard interaction for superusers (the old route was public). The bearer token
//! is checked like on `/graphql`; refusals are JSON errors with the GraphQL codes.

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::HttpState;
use crate::{
    auth::{RequestAuth, Role, Viewer},
    error::{AppError, AppResult},
    services::{
        catalogue::EventKind,
        exports::{self, CsvChunks, Window},
        notebooks::{self, archive::safe_file_name},
    },
    validation::storable_time,
};

#[derive(Deserialize)]
pub struct EventsQuery {
    /// Comma-separated kinds (`code_execution,cell_focus,…`); default all.
    kinds: Option<String>,
    after: Option<String>,
    until: Option<String>,
}

#[derive(Deserialize)]
pub struct WindowQuery {
    after: Option<String>,
    until: Option<String>,
}

pub async fn notebook_events(
    State(state): State<HttpState>,
    Path(public_id): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let app = &state.app;
    let window = window(query.after.as_deref(), query.until.as_deref())?;
    let kinds = match query.kinds.as_deref() {
        Some(list) => exports::parse_kinds(list)?,
        None => EventKind::ALL.to_vec(),
    };
    request_auth(&headers, &state)
        .require_notebook(&app.db, &public_id)
        .await?;
    let notebook = notebooks::get_by_public_id(&app.db, &public_id).await?;
    let chunks = exports::events_csv(app.db.clone(), notebook.id, kinds, window);
    let file_name = format!("events_{}.csv", safe_file_name(&notebook.public_id));
    Ok(csv_response(&file_name, chunks))
}

pub async fn dashboard_interactions(
    State(state): State<HttpState>,
    Query(query): Query<WindowQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let app = &state.app;
    let window = window(query.after.as_deref(), query.until.as_deref())?;
    request_auth(&headers, &state)
        .require_role(&app.db, Role::Superuser)
        .await?;
    let chunks = exports::dashboard_interactions_csv(app.db.clone(), window);
    Ok(csv_response("dashboard_interactions.csv", chunks))
}

fn request_auth(headers: &HeaderMap, state: &HttpState) -> RequestAuth {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    RequestAuth::new(Viewer::from_authorization(
        authorization,
        &state.app.accounts.jwt,
    ))
}

fn window(after: Option<&str>, until: Option<&str>) -> AppResult<Window> {
    let parse = |name: &str, value: Option<&str>| -> AppResult<Option<DateTime<Utc>>> {
        value
            .filter(|value| !value.is_empty())
            .map(|value| {
                let time = DateTime::parse_from_rfc3339(value)
                    .map(|time| time.with_timezone(&Utc))
                    .map_err(|_| AppError::bad_input(format!("{name} must be an RFC 3339 time")))?;
                storable_time(name, &time).map(|()| time)
            })
            .transpose()
    };
    Ok(Window {
        after: parse("after", after)?,
        until: parse("until", until)?,
    })
}

fn csv_response(file_name: &str, chunks: CsvChunks) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition)
                .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
        ),
        (
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Content-Disposition"),
        ),
    ];
    (headers, Body::from_stream(chunks)).into_response()
}
