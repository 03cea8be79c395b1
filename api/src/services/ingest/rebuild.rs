//! Recomputing the rollups from the events, with the same code that keeps them at insert: for
//! `api rollups rebuild`, after a retention run deleted old events, and once after the
//! migration that created them (rows stored before it).

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value,
    sqlx::{self, AssertSqlSafe},
};

use super::{
    super::{
        catalogue::EventTable,
        rollups::{self, Deltas},
    },
    rollup_rows,
    store::{self, Connection, exec_error},
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
    for table in rollup_rows::ROLLED {
        let mut after_id = 0;
        while let Some((rows, last_id)) = add_page(txn, table, notebook_id, after_id, &mut deltas)
            .await
            .map_err(exec_error)?
        {
            (read, after_id) = (read + rows, last_id);
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

/// Adds to `deltas` the next page of `table`'s rows after row `after_id` (of one notebook or
/// all), read with the columns and the decoding the insert uses; the rows read and the last
/// id, or `None` past the end.
async fn add_page(
    txn: &mut EventTransaction,
    table: &EventTable,
    notebook_id: Option<i64>,
    after_id: i64,
    deltas: &mut Deltas,
) -> Result<Option<(u64, i64)>, sqlx::Error> {
    let backend = txn.get_database_backend();
    let columns = rollup_rows::returning(table).unwrap_or("id");
    let mut sql = format!(
        "SELECT {columns} FROM {} WHERE id > {}",
        table.name,
        placeholder(backend, "", 1)
    );
    if notebook_id.is_some() {
        sql.push_str(&placeholder(backend, " AND notebook_id = ", 2));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {PAGE}"));
    let (mut read, mut last_id) = (0, None);
    macro_rules! add_rows {
        ($conn:expr) => {
            let query = sqlx::query(AssertSqlSafe(sql)).bind(after_id);
            let query = match notebook_id {
                Some(id) => query.bind(id),
                None => query,
            };
            for row in query.fetch_all(&mut **$conn).await? {
                last_id = Some(rollup_rows::add(deltas, table, &row)?);
                read += 1;
            }
        };
    }
    match txn.connection() {
        Connection::Postgres(conn) => {
            add_rows!(conn);
        }
        Connection::Sqlite(conn) => {
            add_rows!(conn);
        }
    }
    Ok(last_id.map(|id| (read, id)))
}
