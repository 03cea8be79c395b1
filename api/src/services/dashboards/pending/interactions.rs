//! What the pending-update statistics read: the notebook's recorded pushes, the first answer
//! of every update answered in the window (of any student: a push is dated by it), and the
//! window's interactions that can count for the latest updates, each marked with whether the
//! scope's student filter keeps it (only the filtered answers are counted).

use chrono::{DateTime, Utc};
use entity::enums::{PendingUpdateAction, SenderType};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult, Statement,
};

use super::super::{Scope, sql::Sql};
use crate::error::AppResult;

/// An update id the live push recorded for a cell.
pub(super) struct Push {
    pub cell_id: String,
    pub update_id: String,
    /// Its first push in the window, if it was pushed there.
    pub first_in_window: Option<DateTime<Utc>>,
}

/// A student's pending-update interaction in the window.
pub(super) struct Interaction {
    pub user_id: String,
    pub cell_id: Option<String>,
    pub update_id: Option<String>,
    pub action: String,
    pub time: DateTime<Utc>,
    /// Whether the scope's group and student filter keeps the student.
    pub in_scope: bool,
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

/// The window's interactions of every student that may count for the updates `update_ids`:
/// those naming one of them, and the notebook-wide ones (no cell); by time, then arrival.
pub(super) async fn for_updates(
    txn: &DatabaseTransaction,
    scope: &Scope,
    update_ids: &[String],
) -> AppResult<Vec<Interaction>> {
    if update_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT user_id, cell_id, update_id, action, time, CASE WHEN 1 = 1")
        .students(scope)
        .push(
            " THEN 1 ELSE 0 END AS in_scope FROM pending_update_interactions WHERE notebook_id = ",
        )
        .bind(scope.notebook_id)
        .window(scope, "time")
        .push(" AND (cell_id IS NULL OR update_id IN ")
        .bind_list(update_ids.iter().cloned())
        .push(") ORDER BY time, id");
    let rows = txn.query_all_raw(sql.build()).await?;
    rows.iter().map(interaction).collect()
}

fn interaction(row: &QueryResult) -> AppResult<Interaction> {
    Ok(Interaction {
        user_id: row.try_get("", "user_id")?,
        cell_id: row.try_get("", "cell_id")?,
        update_id: row.try_get("", "update_id")?,
        action: row.try_get("", "action")?,
        time: row.try_get("", "time")?,
        in_scope: row.try_get::<i32>("", "in_scope")? != 0,
    })
}
