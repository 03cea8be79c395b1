//! What the pending-update statistics read besides the first answers: the notebook's recorded
//! pushes, and the window's interactions of the scope's students that count for the latest
//! updates.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::PendingUpdateAction;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult};
use serde_json::json;

use super::super::{
    Scope,
    arrays::{array_column, number_array_column},
    sql::Sql,
};
use crate::error::{AppError, AppResult};

/// An update id the live push recorded for a cell.
pub(super) struct Push {
    pub cell_id: String,
    pub update_id: String,
    /// Its first push in the window, if it was pushed there.
    pub first_in_window: Option<DateTime<Utc>>,
}

/// A pending-update interaction of one of the scope's students in the window, that counts
/// for a cell's latest update.
pub(super) struct Interaction {
    pub target: Target,
    pub action: PendingUpdateAction,
    pub time: DateTime<Utc>,
}

/// What an interaction is about.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Target {
    /// The latest update of the cell at this place.
    Latest(usize),
    /// The whole notebook (no cell).
    NotebookWide,
}

/// Every update id recorded for the notebook (at any time: an id recorded outside the window
/// is still not dated by its answers), with its first push in `scope`'s window.
pub(super) async fn pushes(txn: &DatabaseTransaction, scope: &Scope) -> AppResult<Vec<Push>> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT cell_id, update_id, MIN(CASE WHEN 1 = 1")
        .window(scope, "pushed_at")
        .push(" THEN pushed_at END) AS first_in_window FROM pushed_updates WHERE notebook_id = ")
        .bind(scope.notebook_id)
        .push(" GROUP BY cell_id, update_id");
    let rows = txn.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok(Push {
                cell_id: row.try_get("", "cell_id")?,
                update_id: row.try_get("", "update_id")?,
                first_in_window: row.try_get("", "first_in_window")?,
            })
        })
        .collect()
}

/// The window's interactions of the scope's students that count for the cells' latest
/// updates, `latest` (cell, update id) by place: those answering one of them (with its cell),
/// and the notebook-wide ones (no cell). Per student, each student's by time, then arrival;
/// the statistics are per student, so the students come in no particular order.
pub(super) async fn for_latest(
    txn: &DatabaseTransaction,
    scope: &Scope,
    latest: &[(&str, &str)],
) -> AppResult<Vec<StudentInteractions>> {
    if latest.is_empty() {
        return Ok(Vec::new());
    }
    match txn.get_database_backend() {
        DbBackend::Postgres => joined_to_latest(txn, scope, latest).await,
        _ => naming_latest(txn, scope, latest).await,
    }
}

/// PostgreSQL: the interactions hash-joined to the latest updates, each with its target's
/// place (−1 for the whole notebook), as a row of arrays per student ([`PER_STUDENT`]).
async fn joined_to_latest(
    txn: &DatabaseTransaction,
    scope: &Scope,
    latest: &[(&str, &str)],
) -> AppResult<Vec<StudentInteractions>> {
    let places: Vec<_> = latest
        .iter()
        .enumerate()
        .map(|(place, (cell, update))| json!({ "cell": cell, "upd": update, "place": place }))
        .collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push(PER_STUDENT)
        .push(" FROM pending_update_interactions LEFT JOIN json_to_recordset(")
        .bind(json!(places).to_string())
        .push("::json) AS l(cell text, upd text, place int) ON l.cell = cell_id AND l.upd = update_id WHERE ")
        .scope(scope, "time")
        .push(" AND (cell_id IS NULL OR l.place IS NOT NULL) GROUP BY user_id");
    // The default 4 MB makes the planner price a hash of the students' arrays above a sort of
    // every interaction by pseudonym (18 000 of them for a 15 M-event class's whole course: 10
    // ms); a hash of 300 students holds a few MB.
    txn.execute_unprepared("SET LOCAL work_mem = '32MB'")
        .await?;
    let rows = txn.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| student_from_arrays(row, latest.len()))
        .collect()
}

/// SQLite: the interactions naming a latest update id or no cell, by student, time and
/// arrival (the order of its (notebook, user, time) index), each student's run gathered and
/// each interaction's target found here. Joined to the latest updates, SQLite scanned them
/// for every interaction.
async fn naming_latest(
    txn: &DatabaseTransaction,
    scope: &Scope,
    latest: &[(&str, &str)],
) -> AppResult<Vec<StudentInteractions>> {
    let mut sql = Sql::new(DbBackend::Sqlite);
    sql.push(
        "SELECT user_id, cell_id, update_id, action, time FROM pending_update_interactions WHERE ",
    )
    .scope(scope, "time")
    .push(" AND (cell_id IS NULL OR update_id IN ")
    .bind_list(latest.iter().map(|(_, update)| update.to_string()))
    .push(") ORDER BY user_id, time, id");
    let places: HashMap<(&str, &str), usize> = latest
        .iter()
        .enumerate()
        .map(|(place, &pair)| (pair, place))
        .collect();
    let mut students: Vec<StudentInteractions> = Vec::new();
    for row in txn.query_all_raw(sql.build()).await? {
        let cell_id: Option<String> = row.try_get("", "cell_id")?;
        let target = match cell_id {
            None => Target::NotebookWide,
            Some(cell_id) => {
                let update_id: Option<String> = row.try_get("", "update_id")?;
                let place = update_id.and_then(|update_id| {
                    places.get(&(cell_id.as_str(), update_id.as_str())).copied()
                });
                // An update id that is another cell's latest counts for nothing here.
                let Some(place) = place else { continue };
                Target::Latest(place)
            }
        };
        let (user_id, action): (String, String) =
            (row.try_get("", "user_id")?, row.try_get("", "action")?);
        let interaction = interaction(target, action, row.try_get("", "time")?)?;
        match students.last_mut() {
            Some(student) if student.user_id == user_id => student.interactions.push(interaction),
            _ => students.push(StudentInteractions {
                user_id,
                interactions: vec![interaction],
            }),
        }
    }
    Ok(students)
}

/// One student's interactions, by time then arrival.
pub(super) struct StudentInteractions {
    pub user_id: String,
    pub interactions: Vec<Interaction>,
}

/// PostgreSQL: a student's interactions as a row of arrays, put in order here. A whole course
/// of 15 M events counts 18 000 of them: as rows in order, they took the database longer to
/// sort and the server longer to decode than the database took to read them; as one row of
/// arrays for every student, each interaction carried its student's 64-character pseudonym
/// (1.9 MB to send, and 18 000 strings to decode and group). The arrays agree (one aggregate
/// pass fills them all) and hold no null (the decoder takes none).
const PER_STUDENT: &str = "SELECT user_id, array_agg(id) AS ids, \
     array_agg(COALESCE(l.place, -1)) AS targets, array_agg(action) AS actions, \
     array_agg(time) AS times";

/// `places`: how many latest updates the statement was given.
fn student_from_arrays(row: &QueryResult, places: usize) -> AppResult<StudentInteractions> {
    let ids: Vec<i64> = number_array_column(row, "ids", DbBackend::Postgres)?;
    let targets: Vec<i32> = number_array_column(row, "targets", DbBackend::Postgres)?;
    let actions: Vec<String> = array_column(row, "actions", DbBackend::Postgres)?;
    let times: Vec<DateTime<Utc>> = array_column(row, "times", DbBackend::Postgres)?;
    if [targets.len(), actions.len(), times.len()] != [ids.len(); 3] {
        return Err(AppError::internal(anyhow::anyhow!(
            "the arrays of interactions differ in length"
        )));
    }
    let mut interactions = Vec::with_capacity(ids.len());
    for ((id, target), (action, time)) in ids
        .into_iter()
        .zip(targets)
        .zip(actions.into_iter().zip(times))
    {
        interactions.push((id, interaction(target_of(target, places)?, action, time)?));
    }
    interactions.sort_unstable_by_key(|(id, interaction)| (interaction.time, *id));
    Ok(StudentInteractions {
        user_id: row.try_get("", "user_id")?,
        interactions: interactions
            .into_iter()
            .map(|(_, interaction)| interaction)
            .collect(),
    })
}

/// The target of the statement's `place` (−1 for the whole notebook) among `places` latest
/// updates.
fn target_of(place: i32, places: usize) -> AppResult<Target> {
    match usize::try_from(place) {
        Ok(place) if place < places => Ok(Target::Latest(place)),
        Ok(place) => Err(AppError::internal(anyhow::anyhow!(
            "place {place} of {places} latest updates"
        ))),
        Err(_) => Ok(Target::NotebookWide),
    }
}

/// `action` as stored (`try_from_value` reads a `&String`, so it is taken as decoded).
fn interaction(target: Target, action: String, time: DateTime<Utc>) -> AppResult<Interaction> {
    let action = PendingUpdateAction::try_from_value(&action)
        .map_err(|_| AppError::internal(anyhow::anyhow!("action `{action}`")))?;
    Ok(Interaction {
        target,
        action,
        time,
    })
}
