//! The first answer of every update answered in the window, of any student: the date of an
//! update never recorded as pushed.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

use super::super::{Scope, sql::Sql};
use crate::error::AppResult;

/// An update answered in the window, with its first answer to a teacher's push there.
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

/// The statement [`first_answers`] runs, over the answers to a teacher's push only
/// ([`migration::ANSWER_TO_PUSH`]): teammates share cells too, and an `OVERRIDE` is the
/// server's record of the update a push replaced (it names the old update, never a push).
///
/// On PostgreSQL, a window with no start (the whole course) steps through the answered
/// updates on the partial index of answers (migration 19), one seek per update to the next
/// and one for its first answer, where grouping read every answer of the notebook (30 000
/// for a 15 M-event class: 8 ms against 2). A window with a start reads its own answers by
/// time instead, as SQLite does for any window: stepping would visit every update ever
/// answered.
pub(super) fn first_answers_statement(backend: DbBackend, scope: &Scope) -> Statement {
    let mut sql = Sql::new(backend);
    if backend == DbBackend::Postgres && scope.after.is_none() {
        step_through_updates(&mut sql, scope);
    } else {
        sql.push("SELECT cell_id, update_id, MIN(time) AS first_answer FROM ");
        answers(&mut sql, scope);
        sql.window(scope, "time")
            .push(" GROUP BY cell_id, update_id");
    }
    sql.build()
}

/// `pending_update_interactions WHERE notebook_id = … AND <an answer to a push>`.
fn answers(sql: &mut Sql, scope: &Scope) {
    sql.push("pending_update_interactions WHERE notebook_id = ")
        .bind(scope.notebook_id)
        .push(" AND ")
        .push(migration::ANSWER_TO_PUSH);
}

/// PostgreSQL: a recursive step from each answered (cell, update) to the next on the index,
/// then each one's first answer up to the window's end.
fn step_through_updates(sql: &mut Sql, scope: &Scope) {
    sql.push("WITH RECURSIVE answered AS ((SELECT cell_id, update_id FROM ");
    answers(sql, scope);
    sql.push(
        " ORDER BY cell_id, update_id LIMIT 1) UNION ALL SELECT next.cell_id, next.update_id \
         FROM answered CROSS JOIN LATERAL (SELECT cell_id, update_id FROM ",
    );
    answers(sql, scope);
    sql.push(
        " AND (cell_id, update_id) > (answered.cell_id, answered.update_id) \
         ORDER BY cell_id, update_id LIMIT 1) AS next) \
         SELECT answered.cell_id, answered.update_id, first.first_answer FROM answered \
         CROSS JOIN LATERAL (SELECT MIN(time) AS first_answer FROM ",
    );
    answers(sql, scope);
    sql.push(" AND cell_id = answered.cell_id AND update_id = answered.update_id")
        .window(scope, "time")
        .push(") AS first WHERE first.first_answer IS NOT NULL");
}

#[cfg(test)]
mod tests {
    use entity::enums::{PendingUpdateAction, SenderType};
    use sea_orm::ActiveEnum;

    #[test]
    fn the_answer_condition_names_the_override_action_and_the_teammate_sender() {
        let condition = migration::ANSWER_TO_PUSH;
        let override_action = format!("action <> '{}'", PendingUpdateAction::Override.to_value());
        let teammate = format!("sender_type <> '{}'", SenderType::Teammate.to_value());
        assert!(condition.contains(&override_action), "{condition}");
        assert!(condition.contains(&teammate), "{condition}");
    }
}
