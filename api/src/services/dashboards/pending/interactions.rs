//! What the pending-update statistics read: the notebook's recorded pushes, and the window's
//! interactions of every student, each marked with whether the scope's student filter keeps it
//! (a push is dated by any student's first answer; only the filtered answers are counted).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult, Statement};

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
    pub sender_type: Option<String>,
    pub time: DateTime<Utc>,
    /// Whether the scope's group and student filter keeps the student.
    pub in_scope: bool,
}

impl Interaction {
    /// Whether it answers a teacher's push: teammates share cells too, and an `OVERRIDE` is the
    /// server's record of the update a push replaced (it names the old update, never a push).
    pub fn answers_a_teacher_push(&self) -> bool {
        self.action != "OVERRIDE" && self.sender_type.as_deref() != Some("teammate")
    }
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

/// The window's interactions of every student, by time, then arrival.
pub(super) async fn in_window(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> AppResult<Vec<Interaction>> {
    let rows = txn
        .query_all_raw(statement(txn.get_database_backend(), scope))
        .await?;
    rows.iter().map(interaction).collect()
}

/// The statement [`in_window`] runs.
pub(super) fn statement(backend: DbBackend, scope: &Scope) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push("SELECT user_id, cell_id, update_id, action, sender_type, time, CASE WHEN 1 = 1")
        .students(scope)
        .push(
            " THEN 1 ELSE 0 END AS in_scope FROM pending_update_interactions WHERE notebook_id = ",
        )
        .bind(scope.notebook_id)
        .window(scope, "time")
        .push(" ORDER BY time, id");
    sql.build()
}

fn interaction(row: &QueryResult) -> AppResult<Interaction> {
    Ok(Interaction {
        user_id: row.try_get("", "user_id")?,
        cell_id: row.try_get("", "cell_id")?,
        update_id: row.try_get("", "update_id")?,
        action: row.try_get("", "action")?,
        sender_type: row.try_get("", "sender_type")?,
        time: row.try_get("", "time")?,
        in_scope: row.try_get::<i32>("", "in_scope")? != 0,
    })
}
