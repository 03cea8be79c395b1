//! What the pending-update statistics read: the notebook's recorded pushes, the first answer
//! of every update answered in the window (of any student: a push is dated by it), and the
//! window's interactions of the scope's students that can count for the latest updates.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::{PendingUpdateAction, SenderType};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult, Statement,
};
use serde_json::json;

use super::super::{
    Scope,
    sql::{Sql, array_column},
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

/// Per (cell, update id) answered in the window, its first answer to a teacher's push, of any
/// student: the date of an update never recorded.
pub(super) struct FirstAnswer {
    pub cell_id: String,
    pub update_id: String,
    pub time: DateTime<Utc>,
}

pub(super) async fn first_answers(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> AppResult<Vec<FirstAnswer>> {
    let rows = txn
        .query_all_raw(first_answers_statement(txn.get_database_backend(), scope))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FirstAnswer {
                cell_id: row.try_get("", "cell_id")?,
                update_id: row.try_get("", "update_id")?,
                time: row.try_get("", "first_answer")?,
            })
        })
        .collect()
}

/// The statement [`first_answers`] runs: the one that reads every interaction of the window.
/// Answers to a teacher's push only: teammates share cells too, and an `OVERRIDE` is the
/// server's record of the update a push replaced (it names the old update, never a push).
pub(super) fn first_answers_statement(backend: DbBackend, scope: &Scope) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push(
        "SELECT cell_id, update_id, MIN(time) AS first_answer FROM pending_update_interactions \
         WHERE cell_id IS NOT NULL AND update_id IS NOT NULL AND action <> ",
    )
    .bind(PendingUpdateAction::Override.to_value())
    .push(" AND (sender_type IS NULL OR sender_type <> ")
    .bind(SenderType::Teammate.to_value())
    .push(") AND notebook_id = ")
    .bind(scope.notebook_id)
    .window(scope, "time")
    .push(" GROUP BY cell_id, update_id");
    sql.build()
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
    let backend = txn.get_database_backend();
    let places: Vec<_> = latest
        .iter()
        .enumerate()
        .map(|(place, (cell, update))| json!({ "cell": cell, "upd": update, "place": place }))
        .collect();
    let mut sql = Sql::new(backend);
    sql.push(match backend {
        DbBackend::Postgres => AS_ARRAYS,
        _ => "SELECT user_id, COALESCE(l.place, -1) AS target, action, time",
    })
    .push(" FROM pending_update_interactions LEFT JOIN ")
    .push(match backend {
        DbBackend::Postgres => "json_to_recordset(",
        _ => "(SELECT value ->> 'cell' AS cell, value ->> 'upd' AS upd, value ->> 'place' AS place FROM json_each(",
    })
    .bind(json!(places).to_string())
    .push(match backend {
        DbBackend::Postgres => "::json) AS l(cell text, upd text, place int)",
        _ => ")) AS l",
    })
    .push(" ON l.cell = cell_id AND l.upd = update_id WHERE ")
    .scope(scope, "time")
    .push(" AND (cell_id IS NULL OR l.place IS NOT NULL)")
    .push(match backend {
        DbBackend::Postgres => "",
        // The (notebook, user, time) index gives this order.
        _ => " ORDER BY user_id, time, id",
    });
    let rows = txn.query_all_raw(sql.build()).await?;
    match backend {
        DbBackend::Postgres => students_from_arrays(&rows),
        _ => students_from_rows(&rows),
    }
}

/// One student's interactions, by time then arrival.
pub(super) struct StudentInteractions {
    pub user_id: String,
    pub interactions: Vec<Interaction>,
}

/// PostgreSQL: the interactions as one row of arrays, gathered by student and put in order
/// here. A whole course of 15 M events counts 18 000 of them: as rows in order, they took the
/// database longer to sort and the server longer to decode than the database took to read
/// them; grouped by student in the database, its sort of the pseudonyms took longer than the
/// rest of the statement. The arrays agree (one aggregate pass fills them all) and hold no
/// null (the decoder takes none).
const AS_ARRAYS: &str = "SELECT array_agg(user_id) AS user_ids, array_agg(id) AS ids, \
     array_agg(COALESCE(l.place, -1)) AS targets, array_agg(action) AS actions, \
     array_agg(time) AS times";

fn students_from_arrays(rows: &[QueryResult]) -> AppResult<Vec<StudentInteractions>> {
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let user_ids: Vec<String> = array_column(row, "user_ids", DbBackend::Postgres)?;
    let ids: Vec<i64> = array_column(row, "ids", DbBackend::Postgres)?;
    let targets: Vec<i32> = array_column(row, "targets", DbBackend::Postgres)?;
    let actions: Vec<String> = array_column(row, "actions", DbBackend::Postgres)?;
    let times: Vec<DateTime<Utc>> = array_column(row, "times", DbBackend::Postgres)?;
    if [ids.len(), targets.len(), actions.len(), times.len()] != [user_ids.len(); 4] {
        return Err(AppError::internal(anyhow::anyhow!(
            "the arrays of interactions differ in length"
        )));
    }
    let mut by_student: HashMap<String, Vec<(i64, Interaction)>> = HashMap::new();
    let each = user_ids.into_iter().zip(ids).zip(targets);
    for (((user_id, id), target), (action, time)) in each.zip(actions.into_iter().zip(times)) {
        let interaction = interaction(target.into(), &action, time)?;
        by_student
            .entry(user_id)
            .or_default()
            .push((id, interaction));
    }
    Ok(by_student
        .into_iter()
        .map(|(user_id, mut interactions)| {
            interactions.sort_unstable_by_key(|(id, interaction)| (interaction.time, *id));
            StudentInteractions {
                user_id,
                interactions: interactions
                    .into_iter()
                    .map(|(_, interaction)| interaction)
                    .collect(),
            }
        })
        .collect())
}

/// SQLite: rows by student, time and arrival, each student's run gathered.
fn students_from_rows(rows: &[QueryResult]) -> AppResult<Vec<StudentInteractions>> {
    let mut students: Vec<StudentInteractions> = Vec::new();
    for row in rows {
        let user_id: String = row.try_get("", "user_id")?;
        let action: String = row.try_get("", "action")?;
        let interaction = interaction(
            row.try_get("", "target")?,
            &action,
            row.try_get("", "time")?,
        )?;
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

/// An interaction from its target (the place of the latest update it answers, or −1 for the
/// whole notebook), action and time.
fn interaction(target: i64, action: &str, time: DateTime<Utc>) -> AppResult<Interaction> {
    let target = match usize::try_from(target) {
        Ok(place) => Target::Latest(place),
        Err(_) => Target::NotebookWide,
    };
    let action = PendingUpdateAction::try_from_value(&action.to_owned())
        .map_err(|_| AppError::internal(anyhow::anyhow!("action `{action}`")))?;
    Ok(Interaction {
        target,
        action,
        time,
    })
}
