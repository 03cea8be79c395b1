//! Pending-update statistics: per cell, the teacher's latest pushed update, how many students
//! took it now or postponed it, and what those who postponed did afterwards.
//!
//! A push is read from `pushed_updates` (recorded by the live push, with its own time). An
//! update id answered in the interactions but never recorded there (imported data, pushes from
//! before the table existed) is dated by its earliest interaction in the window, of any
//! student: the push is the teacher's act, whatever the student filter.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::enums::PendingUpdateAction;
use sea_orm::{ActiveEnum, ConnectionTrait, QueryResult};

use super::{Scope, sql::Sql};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, PartialEq)]
pub struct PendingUpdate {
    pub cell_id: String,
    pub update_id: String,
    pub pushed_at: DateTime<Utc>,
    pub update_now_count: i64,
    pub update_later_count: i64,
    /// By student pseudonym.
    pub postponed: Vec<Postponement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Postponement {
    pub user_id: String,
    /// The student's first `UPDATE_LATER` of this update.
    pub postponed_at: DateTime<Utc>,
    /// By time, then arrival.
    pub later_actions: Vec<LaterAction>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaterAction {
    pub action: PendingUpdateAction,
    pub time: DateTime<Utc>,
}

/// The statement behind [`pending_updates`], for `EXPLAIN` in the benchmark.
pub fn pending_updates_statement(db: &impl ConnectionTrait, scope: &Scope) -> sea_orm::Statement {
    statement(db, scope)
}

/// Per cell (by id), its latest teacher update in the scope's window.
pub async fn pending_updates(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Vec<PendingUpdate>> {
    let rows = db.query_all_raw(statement(db, scope)).await?;
    let mut cells: BTreeMap<String, PendingUpdate> = BTreeMap::new();
    let mut students: BTreeMap<(String, String), Postponement> = BTreeMap::new();
    for row in &rows {
        let cell_id: String = row.try_get("", "cell_id")?;
        if !cells.contains_key(&cell_id) {
            cells.insert(cell_id.clone(), update(row, &cell_id)?);
        }
        let Some(user_id) = row.try_get::<Option<String>>("", "user_id")? else {
            continue;
        };
        let postponement = match students.entry((cell_id, user_id.clone())) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => entry.insert(Postponement {
                user_id,
                postponed_at: row.try_get("", "postponed_at")?,
                later_actions: Vec::new(),
            }),
        };
        if let Some(action) = row.try_get::<Option<String>>("", "action")? {
            postponement.later_actions.push(LaterAction {
                action: PendingUpdateAction::try_from_value(&action)
                    .map_err(|_| AppError::internal(anyhow::anyhow!("action `{action}`")))?,
                time: row.try_get("", "action_time")?,
            });
        }
    }
    for ((cell_id, _), postponement) in students {
        if let Some(cell) = cells.get_mut(&cell_id) {
            cell.postponed.push(postponement);
        }
    }
    Ok(cells.into_values().collect())
}

fn update(row: &QueryResult, cell_id: &str) -> AppResult<PendingUpdate> {
    Ok(PendingUpdate {
        cell_id: cell_id.to_owned(),
        update_id: row.try_get("", "update_id")?,
        pushed_at: row.try_get("", "pushed_at")?,
        update_now_count: row.try_get("", "now_count")?,
        update_later_count: row.try_get("", "later_count")?,
        postponed: Vec::new(),
    })
}

fn statement(db: &impl ConnectionTrait, scope: &Scope) -> sea_orm::Statement {
    let window = Scope {
        groups: Vec::new(),
        students: None,
        ..scope.clone()
    };
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("WITH w AS (SELECT * FROM pending_update_interactions WHERE ")
        .scope(&window, "time")
        .push("), answers AS (SELECT * FROM pending_update_interactions WHERE ")
        .scope(scope, "time")
        .push("), ");
    pushes(&mut sql, scope);
    // `counts` is computed once: the planner takes `latest` (one row per cell) for a single
    // row and would otherwise group the answers again for every postponing student (0.9 s
    // for a whole course of 3 000 answers on PostgreSQL).
    sql.push(
        "latest AS (SELECT cell_id, update_id, pushed_at FROM (SELECT cell_id, update_id, \
         pushed_at, ROW_NUMBER() OVER (PARTITION BY cell_id ORDER BY pushed_at DESC, ",
    )
    .bytewise("update_id")
    .push(
        " DESC) AS recency FROM pushes) AS ranked WHERE recency = 1), \
         counts AS MATERIALIZED (SELECT l.cell_id, \
         COUNT(DISTINCT CASE WHEN a.action = 'UPDATE_NOW' THEN a.user_id END) AS now_count, \
         COUNT(DISTINCT CASE WHEN a.action = 'UPDATE_LATER' THEN a.user_id END) AS later_count \
         FROM latest l LEFT JOIN answers a ON a.cell_id = l.cell_id AND a.update_id = l.update_id \
         GROUP BY l.cell_id), \
         postponed AS (SELECT a.cell_id, a.update_id, a.user_id, MIN(a.time) AS postponed_at \
         FROM answers a JOIN latest l ON a.cell_id = l.cell_id AND a.update_id = l.update_id \
         WHERE a.action = 'UPDATE_LATER' GROUP BY a.cell_id, a.update_id, a.user_id) \
         SELECT l.cell_id, l.update_id, l.pushed_at, c.now_count, c.later_count, p.user_id, \
         p.postponed_at, a.action, a.time AS action_time \
         FROM latest l JOIN counts c ON c.cell_id = l.cell_id \
         LEFT JOIN postponed p ON p.cell_id = l.cell_id \
         LEFT JOIN answers a ON a.user_id = p.user_id AND a.time > p.postponed_at \
         AND (a.cell_id IS NULL OR (a.cell_id = p.cell_id AND a.update_id = p.update_id)) \
         ORDER BY a.time, a.id",
    );
    sql.build()
}

/// `pushes AS (cell_id, update_id, pushed_at)`: recorded pushes in the window, and the update
/// ids that were answered (in the window `w`) but never recorded, dated by their first answer.
fn pushes(sql: &mut Sql, scope: &Scope) {
    sql.push(
        "pushes AS (SELECT cell_id, update_id, MIN(pushed_at) AS pushed_at \
         FROM pushed_updates WHERE notebook_id = ",
    )
    .bind(scope.notebook_id);
    if let Some(after) = scope.after {
        sql.push(" AND pushed_at > ").bind(after);
    }
    if let Some(until) = scope.until {
        sql.push(" AND pushed_at <= ").bind(until);
    }
    // Teammates share cells too; their updates are not the teacher's. An `OVERRIDE` is the
    // server's record of the update a push replaced, dated by that push: it names the old
    // update, never a push of its own.
    sql.push(
        " GROUP BY cell_id, update_id UNION ALL SELECT cell_id, update_id, MIN(time) FROM w \
         WHERE cell_id IS NOT NULL AND update_id IS NOT NULL AND action <> 'OVERRIDE' \
         AND (sender_type IS NULL OR sender_type <> 'teammate') AND NOT EXISTS (SELECT 1 FROM \
         pushed_updates p WHERE p.notebook_id = w.notebook_id AND p.cell_id = w.cell_id \
         AND p.update_id = w.update_id) GROUP BY cell_id, update_id), ",
    );
}
