//! `POST /notebook/upload` (superusers; the old multipart form) and
//! `POST /dashboard_interaction/add` (a logged-in dashboard's own UI events), over the same
//! upload and ingest services as GraphQL. The download alias is the `/notebooks` handler.

use axum::{
    Json,
    body::Bytes,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use entity::enums::ClickType;
use serde::Deserialize;
use serde_json::Value;

use super::{
    filter::parse_time,
    guard::{Bearer, LegacyError, LegacyResult, parse_json},
};
use crate::{
    auth::Role,
    error::AppError,
    http::HttpState,
    services::{
        ingest::DashboardInteractionInput,
        notebooks::{self, NotebookUpload},
    },
};

/// The two fields of the dashboard's form.
#[derive(Default)]
struct UploadForm {
    notebook_content: Option<Bytes>,
    name: Option<String>,
}

/// `POST /notebook/upload` (multipart `notebook_content`, `name`) → the tagged notebook JSON.
/// Not a superuser: 403 `{"error"}` (a 401 would make the dashboard try a token refresh).
pub async fn upload(
    State(state): State<HttpState>,
    bearer: Bearer,
    multipart: Result<Multipart, MultipartRejection>,
) -> LegacyResult<Json<Value>> {
    let user = bearer
        .with_role(&state, Role::Superuser)
        .await
        .map_err(|error| match error {
            LegacyError::App(AppError::Forbidden(_)) => LegacyError::refused(
                StatusCode::FORBIDDEN,
                "The dashboard user does not have rights to upload notebooks",
            ),
            other => other,
        })?;
    let multipart =
        multipart.map_err(|rejection| LegacyError::bad_request(rejection.body_text()))?;
    let form = read_form(multipart).await?;
    let bytes = form
        .notebook_content
        .ok_or_else(|| LegacyError::bad_request("notebook_content is missing"))?;
    let file_name = form.name.unwrap_or_else(|| "notebook.ipynb".to_owned());
    let upload = NotebookUpload {
        bytes: &bytes,
        file_name: &file_name,
        name: None,
        uploader: Some(&user),
    };
    let uploaded = notebooks::upload(&state.app.db, &state.app.storage, upload).await?;
    Ok(Json(uploaded.tagged))
}

async fn read_form(mut multipart: Multipart) -> LegacyResult<UploadForm> {
    let mut form = UploadForm::default();
    let bad = |error: axum::extract::multipart::MultipartError| {
        LegacyError::refused(error.status(), error.body_text())
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("notebook_content") => {
                form.notebook_content = Some(field.bytes().await.map_err(bad)?)
            }
            Some("name") => form.name = Some(field.text().await.map_err(bad)?),
            _ => {}
        }
    }
    Ok(form)
}

#[derive(Deserialize)]
struct InteractionBody {
    click_type: ClickType,
    signal_origin: String,
    time: String,
    #[serde(default)]
    notebook_id: Option<String>,
}

/// `POST /dashboard_interaction/add` → 200 `"Dashboard Interaction OK"`, stored with the
/// dashboard user's pseudonym.
pub async fn interaction(
    State(state): State<HttpState>,
    bearer: Bearer,
    body: Bytes,
) -> LegacyResult<Json<&'static str>> {
    let user = bearer.user(&state).await?;
    let body: InteractionBody = parse_json(&body)?;
    let time: DateTime<Utc> = parse_time("time", Some(&body.time))?
        .ok_or_else(|| LegacyError::bad_request("time is missing"))?;
    let input = DashboardInteractionInput {
        notebook_id: body.notebook_id.filter(|id| !id.is_empty()),
        click_type: body.click_type,
        signal_origin: body.signal_origin,
        time,
        event_id: None,
    };
    state
        .app
        .ingest
        .record_dashboard_interaction(&user, input)
        .await?;
    Ok(Json("Dashboard Interaction OK"))
}
