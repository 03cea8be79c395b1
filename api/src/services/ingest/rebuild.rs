//! Recomputing the rollups from the events, with the same code that keeps them at insert: for
//! `api rollups rebuild`, after a retention run deleted old events, and once after the
//! migration that created them (rows stored before it).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};

use super::{
    super::{
        catalogue,
        rollups::{self, Deltas},
    },
    store::{self, exec_error},
    transaction::EventTransaction,
};

/// Events read per statement.
const PAGE: i64 = 20_000;
/// Rollup rows summed in memory before they are written.
const FLUSH_AT: usize = 200_000;

/// Recomputes the rollups of notebook `notebook_id` (all notebooks for `None`) in one
/// transaction; returns how many events were read.
pub async fn rebuild_rollups(
    db: &DatabaseConnection,
    notebook_id: Option<i64>,
) -> Result<u64, DbErr> {
    let mut txn = EventTransaction::begin_immediate(db).await?;
    let events = rebuild_in(&mut txn, notebook_id).await?;
    txn.commit().await?;
    Ok(events)
}

/// The rebuild inside the caller's transaction. On PostgreSQL the rollups are locked first, so
/// a writer that commits meanwhile adds its rows after the rebuild (whose reads do not see
/// them) instead of being counted twice or lost.
pub async fn rebuild_in(
    txn: &mut EventTransaction,
    notebook_id: Option<i64>,
) -> Result<u64, DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE cell_rollups, location_rollups IN EXCLUSIVE MODE")
            .await?;
    }
    for table in [rollups::TABLE, rollups::LOCATIONS_TABLE] {
        let mut delete = format!("DELETE FROM {table}");
        let mut values = Vec::new();
        if let Some(id) = notebook_id {
            delete.push_str(&placeholder(backend, " WHERE notebook_id = ", 1));
            values.push(Value::from(id));
        }
        txn.execute_raw(Statement::from_sql_and_values(backend, delete, values))
            .await?;
    }
    let mut read = 0;
    let mut deltas = Deltas::default();
    for execution in [true, false] {
        let mut after_id = 0;
        loop {
            let rows = txn
                .query_all_raw(page(backend, execution, notebook_id, after_id))
                .await?;
            let Some(last) = rows.last() else { break };
            after_id = last.try_get("", "id")?;
            for row in &rows {
                add_row(&mut deltas, row, execution)?;
            }
            read += rows.len() as u64;
            if deltas.len() >= FLUSH_AT {
                flush(txn, &mut deltas).await?;
            }
        }
    }
    flush(txn, &mut deltas).await?;
    Ok(read)
}

/// Writes the rollups of the rows stored before they existed, once (`rollup_state` says
/// whether that was done); a no-op afterwards.
pub async fn backfill_rollups(db: &DatabaseConnection) -> Result<Option<u64>, DbErr> {
    let state = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT backfilled_at FROM rollup_state WHERE id = 1",
        ))
        .await?;
    let done = match state {
        Some(row) => row
            .try_get::<Option<DateTime<Utc>>>("", "backfilled_at")?
            .is_some(),
        None => true,
    };
    if done {
        return Ok(None);
    }
    let mut txn = EventTransaction::begin_immediate(db).await?;
    let events = rebuild_in(&mut txn, None).await?;
    let backend = txn.get_database_backend();
    let mark =
        placeholder(backend, "UPDATE rollup_state SET backfilled_at = ", 1) + " WHERE id = 1";
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        mark,
        [Utc::now().into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(Some(events))
}

async fn flush(txn: &mut EventTransaction, deltas: &mut Deltas) -> Result<(), DbErr> {
    store::add_to_rollups(txn.connection(), std::mem::take(deltas))
        .await
        .map_err(exec_error)
}

fn placeholder(backend: DbBackend, text: &str, index: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("{text}${index}"),
        _ => format!("{text}?"),
    }
}

/// The next page of one table's events, by row id.
fn page(backend: DbBackend, execution: bool, notebook_id: Option<i64>, after_id: i64) -> Statement {
    let (table, columns) = match execution {
        true => (
            catalogue::CODE_EXECUTIONS.name,
            "t_finish AS time, status AS word, NULL AS duration",
        ),
        false => (
            catalogue::CELL_FOCUS_EVENTS.name,
            "time, click_type AS word, click_duration AS duration",
        ),
    };
    let mut sql = format!(
        "SELECT id, notebook_id, user_id, orig_cell_id, {columns} FROM {table} WHERE id > {}",
        placeholder(backend, "", 1)
    );
    let mut values = vec![Value::from(after_id)];
    if let Some(id) = notebook_id {
        sql.push_str(&placeholder(backend, " AND notebook_id = ", 2));
        values.push(Value::from(id));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {PAGE}"));
    Statement::from_sql_and_values(backend, sql, values)
}

fn add_row(deltas: &mut Deltas, row: &sea_orm::QueryResult, execution: bool) -> Result<(), DbErr> {
    let notebook_id: i64 = row.try_get("", "notebook_id")?;
    let user: String = row.try_get("", "user_id")?;
    let cell: Option<String> = row.try_get("", "orig_cell_id")?;
    let time: DateTime<Utc> = row.try_get("", "time")?;
    let word: Option<String> = row.try_get("", "word")?;
    let student = (notebook_id, user.as_str());
    if execution {
        deltas.execution(
            student,
            cell.as_deref(),
            time,
            word.as_deref() == Some("ok"),
        );
    } else {
        let duration: Option<f64> = row.try_get("", "duration")?;
        let id: i64 = row.try_get("", "id")?;
        let on = word.as_deref() == Some("ON");
        deltas.focus(student, (cell.as_deref(), id), time, (on, duration));
    }
    Ok(())
}
