//! `/dashboard/{id}/…` charts in the old shapes: registration check, executions and time per
//! cell, the table of contents, connected students and the group names. Every route is behind
//! the notebook guard (`NotebookTeacher`); the numbers are the corrected ones of the services
//! (cells executed but never focused kept, durations over 5000 s left out, averages of
//! per-student averages), keyed by the teacher's (original) cell ids.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Query, State},
};
use serde_json::{Value, json};

use super::{
    filter::{DashboardQuery, by_groups, group_names},
    guard::{LegacyResult, NotebookTeacher},
};
use crate::{
    http::HttpState,
    services::{dashboards as svc, groups},
};

/// `GET /check` → `{"status":"success"}` (the guard answers the other statuses).
pub async fn check(_teacher: NotebookTeacher) -> Json<Value> {
    Json(json!({ "status": "success" }))
}

/// `GET /user_code_execution` → `[{"cell","cell_click_pct","code_exec_pct","code_exec_ok_pct"}]`.
/// The `_pct` fields are counts, as they always were (only the old names say otherwise):
/// focus events (ON and OFF), executions, executions with status ok.
pub async fn code_execution(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<DashboardQuery>,
) -> LegacyResult<Json<Value>> {
    let scope = query.scope(&state, &teacher.notebook).await?;
    let cells = svc::executions_per_cell(&state.app.db, &scope).await?;
    let list: Vec<Value> = cells
        .into_iter()
        .map(|cell| {
            json!({
                "cell": cell.cell_id,
                "cell_click_pct": cell.focus_count,
                "code_exec_pct": cell.execution_count,
                "code_exec_ok_pct": cell.ok_execution_count,
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /user_cell_time` → `[{"cell","durations":[seconds…]}]` (kept durations only).
pub async fn cell_time(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<DashboardQuery>,
) -> LegacyResult<Json<Value>> {
    let scope = query.scope(&state, &teacher.notebook).await?;
    // The old extension draws its box plots from every value: unpaged, as it always was.
    let cells = svc::focus_durations(&state.app.db, &scope).await?;
    let list: Vec<Value> = cells
        .into_iter()
        .map(|cell| json!({ "cell": cell.cell_id, "durations": cell.durations }))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /user_cell_duration_time` →
/// `{"durations":[{"average_duration","cell","user_count"}],"total_user_count"}`.
pub async fn cell_duration(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<DashboardQuery>,
) -> LegacyResult<Json<Value>> {
    let scope = query.scope(&state, &teacher.notebook).await?;
    let time = svc::time_per_cell(&state.app.db, &scope).await?;
    let durations: Vec<Value> = time
        .cells
        .into_iter()
        .map(|cell| {
            json!({
                "average_duration": cell.average_duration,
                "cell": cell.cell_id,
                "user_count": cell.student_count,
            })
        })
        .collect();
    Ok(Json(json!({
        "durations": durations,
        "total_user_count": time.total_student_count,
    })))
}

/// `GET /toc` → `{"status":"success","data":{"location_count":{cell: students}}}`.
pub async fn toc(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<DashboardQuery>,
) -> LegacyResult<Json<Value>> {
    let scope = query.scope(&state, &teacher.notebook).await?;
    let cells = svc::student_locations(&state.app.db, &scope).await?;
    let counts: BTreeMap<String, i64> = cells
        .into_iter()
        .map(|cell| (cell.cell_id, cell.student_count))
        .collect();
    Ok(Json(json!({
        "status": "success",
        "data": { "location_count": counts },
    })))
}

/// `GET /connectedstudents` → `[pseudonym…]`, the students connected now (in the selected
/// groups, when some are).
pub async fn connected(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
    Query(query): Query<DashboardQuery>,
) -> LegacyResult<Json<Vec<String>>> {
    let names = group_names(query.selected_groups.as_deref())?;
    let scope = by_groups(&state, &teacher.notebook, &names).await?;
    let app = &state.app;
    let connected = scope
        .connected_students(&app.db, app.presence.as_ref(), &teacher.notebook.public_id)
        .await?;
    Ok(Json(connected))
}

/// `GET /getgroups` → `["group name"…]`, by name.
pub async fn getgroups(
    State(state): State<HttpState>,
    teacher: NotebookTeacher,
) -> LegacyResult<Json<Vec<String>>> {
    let list = groups::list(&state.app.db, teacher.notebook.id).await?;
    Ok(Json(list.into_iter().map(|group| group.name).collect()))
}
