//! `/dashboard/{id}/…` reports in the old shapes: the execution progress series, each
//! student's latest attempt at a cell, the pending-update statistics and the CSV export.
//! Timestamps follow what the dashboard parses: progress points and pending updates naive UTC,
//! as the old backend sent them (the dashboard appends `Z`: a time with an offset becomes
//! "Invalid Date"), attempts `…SS.ffffffZ`.

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use entity::enums::PendingUpdateAction;
use sea_orm::ActiveEnum;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    filter::{DashboardQuery, by_groups, parse_time},
    guard::{Bearer, LegacyError, LegacyResult, NotebookTeacher, parse_json},
};
use crate::{
    auth::Role,
    http::HttpState,
    services::{
        catalogue::EventKind,
        dashboards::{self as svc, Attempt, AttemptSort, AttemptsRequest, ProgressRequest},
        exports::{self, Window},
        notebooks::{self, archive::safe_file_name},
    },
};

#[derive(Deserialize)]
struct ProgressBody {
    time_start: String,
    time_end: String,
    #[serde(default)]
    cell_order: Option<Vec<String>>,
    #[serde(default)]
    selected_groups: Option<Vec<String>>,
}

/// `POST /cell_execution_progress` → `{"timestamps","mean","median","q1","q3","n_users"}`.
/// A window that starts at or after its end (or now) has no points: six empty lists, as the
/// dashboard asks for 10:00–12:00 of today even before 10:00.
pub async fn progress(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    body: Bytes,
) -> LegacyResult<Json<Value>> {
    let body: ProgressBody = parse_json(&body)?;
    let start = parse_time("time_start", Some(&body.time_start))?;
    let end = parse_time("time_end", Some(&body.time_end))?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(LegacyError::bad_request(
            "time_start and time_end are required",
        ));
    };
    let now = Utc::now();
    if start >= end.min(now) {
        return Ok(Json(series(&[])));
    }
    let notebook = &teacher.notebook;
    let scope = by_groups(&state, notebook, &body.selected_groups.unwrap_or_default()).await?;
    let cell_order = match body.cell_order.filter(|order| !order.is_empty()) {
        Some(order) => order,
        None => notebooks::current_cell_order(&state.app.db, notebook.id).await?,
    };
    let request = ProgressRequest {
        start,
        end,
        cell_order,
        now,
    };
    let points = svc::execution_progress(&state.app.db, &scope, &request).await?;
    Ok(Json(series(&points)))
}

fn series(points: &[svc::ProgressPoint]) -> Value {
    let list = |read: fn(&svc::ProgressPoint) -> Value| -> Vec<Value> {
        points.iter().map(read).collect()
    };
    json!({
        "timestamps": list(|p| json!(p.minute.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string())),
        "mean": list(|p| json!(p.mean)),
        "median": list(|p| json!(p.median)),
        "q1": list(|p| json!(p.first_quartile)),
        "q3": list(|p| json!(p.third_quartile)),
        "n_users": list(|p| json!(p.student_count)),
    })
}

#[derive(Deserialize)]
pub struct CellQuery {
    limit: Option<String>,
    offset: Option<String>,
    #[serde(flatten)]
    filter: DashboardQuery,
}

/// `GET /cell/{cell_id}?limit=&offset=&sortBy=…`: each student's latest execution of the
/// teacher's cell, as `[{"exec_id","user_id","cell_type":"CodeExecution","cell_input",
/// "t_finish","language_mimetype","status","cell_output_model","cell_output_length"}]`; for
/// a markdown cell their latest render, `[{"exec_id","user_id","cell_type":
/// "MarkdownExecution","cell_input","t_finish"}]` (`t_finish` = the render time).
pub async fn cell_attempts(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Path((_, cell_id)): Path<(String, String)>,
    Query(query): Query<CellQuery>,
) -> LegacyResult<Json<Vec<Value>>> {
    let number = |name: &str, raw: Option<&str>, default: u64| -> LegacyResult<u64> {
        raw.map_or(Ok(default), |raw| {
            raw.trim().parse().map_err(|_| {
                LegacyError::bad_request(format!("{name} must be a non-negative integer"))
            })
        })
    };
    let limit = number("limit", query.limit.as_deref(), 20)?;
    let offset = number("offset", query.offset.as_deref(), 0)?;
    let (sort, descending) = sort_by(query.filter.sort_by.as_deref());
    let scope = query.filter.scope(&state, &teacher.notebook).await?;
    let request = AttemptsRequest {
        orig_cell_id: cell_id,
        sort,
        descending,
        limit,
        offset,
    };
    let page = svc::latest_attempts(&state.app.db, &scope, &request).await?;
    // A cell nobody executed is a markdown cell (or untouched): list its renders instead.
    if page.total_count > 0 {
        return Ok(Json(page.attempts.into_iter().map(attempt).collect()));
    }
    let renders = svc::latest_renders(&state.app.db, &scope, &request).await?;
    Ok(Json(renders.into_iter().map(render).collect()))
}

fn render(render: svc::Render) -> Value {
    json!({
        "exec_id": render.id,
        "user_id": render.user_id,
        "cell_type": "MarkdownExecution",
        "cell_input": render.content,
        "t_finish": micros_z(render.time),
    })
}

/// `…SS.ffffffZ`, as the old server's `strftime("%Y-%m-%dT%H:%M:%S.%fZ")`.
fn micros_z(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The dashboard's `sortBy` keys; anything else is the default, latest first.
fn sort_by(key: Option<&str>) -> (AttemptSort, bool) {
    match key {
        Some("timeAsc") => (AttemptSort::Time, false),
        Some("inputAsc") => (AttemptSort::InputLength, false),
        Some("inputDesc") => (AttemptSort::InputLength, true),
        Some("outputAsc") => (AttemptSort::OutputLength, false),
        Some("outputDesc") => (AttemptSort::OutputLength, true),
        _ => (AttemptSort::Time, true),
    }
}

fn attempt(attempt: Attempt) -> Value {
    // The dashboard reads `.length` of the outputs: always a list.
    let outputs = match attempt.output {
        Value::Array(list) => Value::Array(list),
        Value::Null => json!([]),
        other => json!([other]),
    };
    json!({
        "exec_id": attempt.id,
        "user_id": attempt.user_id,
        "cell_type": "CodeExecution",
        "cell_input": attempt.input,
        "t_finish": micros_z(attempt.t_finish),
        "language_mimetype": attempt.language_mimetype,
        "status": attempt.status.to_value(),
        "cell_output_model": outputs,
        "cell_output_length": attempt.output_length,
    })
}

/// A UTC time as Python's `isoformat()` wrote the old backend's naive times: no offset, and
/// microseconds only when there are some.
fn naive_utc(time: DateTime<Utc>) -> String {
    let time = time.naive_utc();
    match time.and_utc().timestamp_subsec_micros() {
        0 => time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        _ => time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
    }
}

/// `GET /pending_updates_stats` → per cell, the latest teacher update: `[{"update_id",
/// "cell_id","timestamp","update_now","update_later","detailed_actions":[{"user_id",
/// "action","timestamp"}]}]`, latest push first. `timestamp` is the time of the push. The
/// server's own `OVERRIDE` records are left out, as the old backend's list had none (the
/// dashboard would draw them as a response its summary does not count).
pub async fn pending_updates(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<DashboardQuery>,
) -> LegacyResult<Json<Vec<Value>>> {
    let scope = query.scope(&state, &teacher.notebook).await?;
    let mut updates = svc::pending_updates(&state.app.db, &scope).await?;
    updates.sort_by_key(|update| std::cmp::Reverse(update.pushed_at));
    let list = updates
        .into_iter()
        .map(|update| {
            let actions: Vec<Value> = update
                .postponed
                .iter()
                .flat_map(|student| {
                    let answers = student
                        .later_actions
                        .iter()
                        .filter(|action| action.action != PendingUpdateAction::Override);
                    answers.map(|action| {
                        json!({
                            "user_id": student.user_id,
                            "action": action.action.to_value().to_lowercase(),
                            "timestamp": naive_utc(action.time),
                        })
                    })
                })
                .collect();
            json!({
                "update_id": update.update_id,
                "cell_id": update.cell_id,
                "timestamp": naive_utc(update.pushed_at),
                "update_now": update.update_now_count,
                "update_later": update.update_later_count,
                "detailed_actions": actions,
            })
        })
        .collect();
    Ok(Json(list))
}

#[derive(Deserialize)]
pub struct CsvQuery {
    t1: Option<String>,
    t2: Option<String>,
}

/// `GET /download_csv?t1=&t2=`: every event of the notebook in the window, streamed, with
/// `Content-Disposition: attachment; filename=log_<id>.csv` unquoted (the dashboard reads the
/// name with `/filename=(.+)/`).
pub async fn download_csv(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<CsvQuery>,
) -> LegacyResult<Response> {
    let window = Window {
        after: parse_time("t1", query.t1.as_deref())?,
        until: parse_time("t2", query.t2.as_deref())?,
    };
    let notebook = &teacher.notebook;
    let chunks = exports::events_csv(
        state.app.db.clone(),
        notebook.id,
        EventKind::ALL.to_vec(),
        window,
    );
    let file_name = format!("log_{}.csv", safe_file_name(&notebook.public_id)).replace(' ', "_");
    Ok(csv_response(&file_name, chunks))
}

/// `GET /dashboard_interaction/download_csv?t1=&t2=`: every dashboard interaction in the
/// window, for superusers (the old route was public).
pub async fn interactions_csv(
    State(state): State<HttpState>,
    bearer: Bearer,
    Query(query): Query<CsvQuery>,
) -> LegacyResult<Response> {
    bearer.with_role(&state, Role::Superuser).await?;
    let window = Window {
        after: parse_time("t1", query.t1.as_deref())?,
        until: parse_time("t2", query.t2.as_deref())?,
    };
    let chunks = exports::dashboard_interactions_csv(state.app.db.clone(), window);
    Ok(csv_response("dashboard_interactions.csv", chunks))
}

/// A streamed CSV with the unquoted `filename=` the dashboard's regex reads.
fn csv_response(file_name: &str, chunks: exports::CsvChunks) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename={file_name}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=log.csv"));
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    (headers, Body::from_stream(chunks)).into_response()
}
