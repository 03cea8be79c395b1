//! `/groups/*`: the students' lookups (no credentials, as the telemetry extension sends them:
//! raw ids in, pseudonyms out) and the teachers' group changes and reads, which the old server
//! left open and which here need a bearer token authorized for the notebook. Changes go
//! through the groups service, with its audit rows; locations through the live service, which
//! also tells teammates. Raw ids are never logged: the router's spans hold route templates.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    filter::{by_groups, group_names},
    guard::{Bearer, LegacyError, LegacyResult, parse_json},
};
use crate::{
    broker::presence::Location,
    http::HttpState,
    services::{groups, identity::NotebookRef},
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentQuery {
    notebook_id: Option<String>,
    user_id: Option<String>,
}

/// The notebook and the student's pseudonym: 400 `{"error"}` when one is missing, 404 when
/// the notebook is not registered.
async fn student(
    state: &HttpState,
    notebook_id: Option<&str>,
    raw_user: Option<&str>,
) -> LegacyResult<(NotebookRef, String)> {
    let (Some(notebook_id), Some(raw_user)) = (
        notebook_id.filter(|id| !id.is_empty()),
        raw_user.filter(|id| !id.is_empty()),
    ) else {
        return Err(LegacyError::bad_request("Missing required fields"));
    };
    let student = state.app.identity.student(notebook_id, raw_user).await?;
    Ok((student.notebook, student.pseudonym))
}

/// `GET /groups/users/{user}/groups/names?notebookId=` →
/// `[{"group_name","group_pk","notebook_id"}]`.
pub async fn names_of_student(
    State(state): State<HttpState>,
    Path(user): Path<String>,
    Query(query): Query<StudentQuery>,
) -> LegacyResult<Json<Vec<Value>>> {
    let (notebook, me) = student(&state, query.notebook_id.as_deref(), Some(&user)).await?;
    let list = groups::groups_of_student(&state.app.db, notebook.row_id, &me).await?;
    let nb = &notebook.public_id;
    Ok(Json(
        list.into_iter()
            .map(|group| {
                json!({
                    "group_name": group.name,
                    "group_pk": format!("{}-{nb}", group.name),
                    "notebook_id": nb,
                })
            })
            .collect(),
    ))
}

/// `GET /groups/users/{user}/teammates?notebookId=` → `[pseudonym…]`.
pub async fn teammates(
    State(state): State<HttpState>,
    Path(user): Path<String>,
    Query(query): Query<StudentQuery>,
) -> LegacyResult<Json<Vec<String>>> {
    let (notebook, me) = student(&state, query.notebook_id.as_deref(), Some(&user)).await?;
    Ok(Json(
        groups::teammates(&state.app.db, notebook.row_id, &me).await?,
    ))
}

/// `GET /groups/users/{user}/teammates/connected?notebookId=` → `[pseudonym…]`.
pub async fn connected_teammates(
    State(state): State<HttpState>,
    Path(user): Path<String>,
    Query(query): Query<StudentQuery>,
) -> LegacyResult<Json<Vec<String>>> {
    let (notebook, me) = student(&state, query.notebook_id.as_deref(), Some(&user)).await?;
    let live = state.app.live();
    Ok(Json(live.connected_teammates(&notebook, &me).await?))
}

/// `GET /groups/location/teammates?userId=&notebookId=` →
/// `[{"userId","cellId","cellIndex","updatedAt"}]`, connected teammates seen in 5 minutes.
pub async fn teammate_locations(
    State(state): State<HttpState>,
    Query(query): Query<StudentQuery>,
) -> LegacyResult<Json<Vec<Value>>> {
    let (notebook, me) = student(
        &state,
        query.notebook_id.as_deref(),
        query.user_id.as_deref(),
    )
    .await?;
    let live = state.app.live();
    let list = live.teammate_locations(&notebook, &me).await?;
    Ok(Json(
        list.into_iter()
            .map(|(user, location)| {
                json!({
                    "userId": user,
                    "cellId": location.cell_id,
                    "cellIndex": location.cell_index,
                    "updatedAt": location.updated_at.to_rfc3339(),
                })
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationBody {
    user_id: Option<String>,
    notebook_id: Option<String>,
    cell_id: Option<String>,
    cell_index: Option<i32>,
}

/// `POST /groups/location/update` `{"userId","notebookId","cellId","cellIndex"}` →
/// `{"status":"success"}`; teammates are told.
pub async fn update_location(
    State(state): State<HttpState>,
    body: Bytes,
) -> LegacyResult<Json<Value>> {
    let body: LocationBody = parse_json(&body)?;
    let (Some(cell_id), Some(cell_index)) =
        (body.cell_id.filter(|c| !c.is_empty()), body.cell_index)
    else {
        return Err(LegacyError::bad_request("Missing required fields"));
    };
    let (notebook, me) =
        student(&state, body.notebook_id.as_deref(), body.user_id.as_deref()).await?;
    let location = Location {
        cell_id,
        cell_index,
        updated_at: Utc::now(),
    };
    state
        .app
        .live()
        .set_location(&notebook, &me, Some(location))
        .await?;
    Ok(Json(json!({ "status": "success" })))
}

/// `DELETE /groups/location/clear?userId=&notebookId=` → `{"status":"success"}`.
pub async fn clear_location(
    State(state): State<HttpState>,
    Query(query): Query<StudentQuery>,
) -> LegacyResult<Json<Value>> {
    let (notebook, me) = student(
        &state,
        query.notebook_id.as_deref(),
        query.user_id.as_deref(),
    )
    .await?;
    state.app.live().set_location(&notebook, &me, None).await?;
    Ok(Json(json!({ "status": "success" })))
}

#[derive(Deserialize)]
struct GroupBody {
    group_name: String,
    notebook_id: String,
    #[serde(default)]
    user_ids: Vec<String>,
}

/// `POST /groups/add` `{"group_name","notebook_id","user_ids":[raw…]}` → `"Group <name> added"`;
/// a taken name is 409 `{"error"}`.
pub async fn add(
    State(state): State<HttpState>,
    bearer: Bearer,
    body: Bytes,
) -> LegacyResult<Json<String>> {
    let body: GroupBody = parse_json(&body)?;
    let (user, _) = bearer.teacher_of(&state, &body.notebook_id).await?;
    let name = groups::checked_name(&body.group_name)?;
    let members = groups::pseudonymized_members(&state.app.pseudonyms, &body.user_ids)?;
    let group = groups::create(&state.app.db, user.id, &body.notebook_id, name, &members).await?;
    Ok(Json(format!("Group {} added", group.name)))
}

/// `PUT /groups/update` (same body) replaces the members → `"Group <name> updated"`.
pub async fn update(
    State(state): State<HttpState>,
    bearer: Bearer,
    body: Bytes,
) -> LegacyResult<Json<String>> {
    let body: GroupBody = parse_json(&body)?;
    let (user, notebook) = bearer.teacher_of(&state, &body.notebook_id).await?;
    let group = named_group(&state, notebook.id, &body.group_name).await?;
    let members = groups::pseudonymized_members(&state.app.pseudonyms, &body.user_ids)?;
    let group = groups::set_members(&state.app.db, user.id, group.id, &members).await?;
    Ok(Json(format!("Group {} updated", group.name)))
}

#[derive(Deserialize)]
struct GroupRef {
    group_name: String,
    notebook_id: String,
}

/// `DELETE /groups/delete` `{"group_name","notebook_id"}` → `"Group <name> deleted"`.
pub async fn remove(
    State(state): State<HttpState>,
    bearer: Bearer,
    body: Bytes,
) -> LegacyResult<Json<String>> {
    let body: GroupRef = parse_json(&body)?;
    let (user, notebook) = bearer.teacher_of(&state, &body.notebook_id).await?;
    let group = named_group(&state, notebook.id, &body.group_name).await?;
    groups::delete(&state.app.db, user.id, group.id).await?;
    Ok(Json(format!("Group {} deleted", group.name)))
}

/// The notebook's group called `name`, or 404 `{"error":"Group not found"}`.
async fn named_group(
    state: &HttpState,
    notebook_row_id: i64,
    name: &str,
) -> LegacyResult<entity::student_group::Model> {
    let name = name.trim();
    groups::list(&state.app.db, notebook_row_id)
        .await?
        .into_iter()
        .find(|group| group.name == name)
        .ok_or_else(|| LegacyError::refused(StatusCode::NOT_FOUND, "Group not found"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersQuery {
    notebook_id: Option<String>,
    selected_groups: Option<String>,
}

/// `GET /groups/getusers?notebookId=&selectedGroups=` → the members of the named groups
/// (every student of a group when none is named), teacher only.
pub async fn users_of_groups(
    State(state): State<HttpState>,
    bearer: Bearer,
    Query(query): Query<UsersQuery>,
) -> LegacyResult<Json<Vec<String>>> {
    let notebook_id = query
        .notebook_id
        .ok_or_else(|| LegacyError::bad_request("Missing notebookId"))?;
    let (_, notebook) = bearer.teacher_of(&state, &notebook_id).await?;
    let names = group_names(query.selected_groups.as_deref())?;
    let mut scope = by_groups(&state, &notebook, &names).await?;
    if scope.students.is_some() {
        return Ok(Json(Vec::new()));
    }
    if scope.groups.is_empty() {
        scope.groups = groups::list(&state.app.db, notebook.id)
            .await?
            .iter()
            .map(|group| group.id)
            .collect();
    }
    let members = groups::members_of(&state.app.db, &scope.groups).await?;
    let mut all: Vec<String> = members.into_values().flatten().collect();
    all.sort_unstable();
    all.dedup();
    Ok(Json(all))
}

/// `GET /groups/notebook/{id}/getgroups` → `[{"group_name","group_pk","user_count"}]`.
pub async fn notebook_groups(
    State(state): State<HttpState>,
    bearer: Bearer,
    Path(notebook_id): Path<String>,
) -> LegacyResult<Json<Vec<Value>>> {
    let (_, notebook) = bearer.teacher_of(&state, &notebook_id).await?;
    let list = groups::list(&state.app.db, notebook.id).await?;
    let ids: Vec<i64> = list.iter().map(|group| group.id).collect();
    let members = groups::members_of(&state.app.db, &ids).await?;
    Ok(Json(
        list.into_iter()
            .map(|group| {
                let count = members.get(&group.id).map_or(0, Vec::len);
                json!({
                    "group_name": group.name,
                    "group_pk": format!("{}-{notebook_id}", group.name),
                    "user_count": count,
                })
            })
            .collect(),
    ))
}
