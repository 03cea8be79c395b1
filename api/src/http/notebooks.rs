//! `GET /notebooks/{id}/download[?version=N]`: the public link students download a notebook
//! from (as with the old server), a zip holding the tagged `.ipynb`. Missing notebooks, versions
//! and files answer 404 with a JSON error, never 500.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::HttpState;
use crate::{
    error::{AppError, AppResult},
    services::notebooks::{
        self,
        archive::{percent_encode, safe_file_name},
    },
};

#[derive(Deserialize)]
pub struct DownloadQuery {
    version: Option<String>,
}

pub async fn download(
    State(state): State<HttpState>,
    Path(public_id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> AppResult<Response> {
    let version = match query.version.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<i32>()
                .ok()
                .filter(|number| *number >= 1)
                .ok_or_else(|| AppError::bad_input("version must be a positive integer"))?,
        ),
    };
    let app = &state.app;
    let (notebook, bytes) =
        notebooks::stored_file(&app.db, &app.storage, &public_id, version).await?;
    let file_name = format!(
        "{}_{}.zip",
        safe_file_name(&notebook.name),
        notebook.public_id
    );
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        ),
        (header::CONTENT_DISPOSITION, content_disposition(&file_name)),
        (
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Content-Disposition"),
        ),
    ];
    Ok((headers, bytes).into_response())
}

/// `attachment` with an ASCII `filename` for old clients and the exact UTF-8 name in
/// `filename*` (RFC 6266 / RFC 8187).
fn content_disposition(file_name: &str) -> HeaderValue {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(file_name);
    let value = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
