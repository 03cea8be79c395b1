//! Recomputing the rollups from the events, with the same code the applier adds new rows with:
//! for `api rollups rebuild` and after a retention run deleted old events. A rebuild recomputes
//! the rows up to the watermarks (it holds them locked, so the applier waits); rows above them
//! are the applier's, as always. It keeps the fold where it is: the all-time tier gets the
//! hours before it.

use futures::TryStreamExt;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, Statement, Value,
    sqlx::{self, AssertSqlSafe},
};

use super::{
    super::rollups::{self, Deltas, RolledTable, fold, watermarks},
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

/// The rebuild inside the caller's transaction (whose first statement on SQLite, or first
/// write, this should be).
pub async fn rebuild_in(
    txn: &mut EventTransaction,
    notebook_id: Option<i64>,
) -> Result<u64, DbErr> {
    let marks = watermarks::lock(&*txn).await?;
    let backend = txn.get_database_backend();
    for table in [
        rollups::TABLE,
        rollups::LOCATIONS_TABLE,
        rollups::DURATIONS_TABLE,
        rollups::PROGRESS_TABLE,
    ] {
        let mut delete = format!("DELETE FROM {table}");
        let mut values = Vec::new();
        if let Some(id) = notebook_id {
            delete.push_str(" WHERE notebook_id = ");
            delete.push_str(&rollups::placeholder(backend, 1));
            values.push(Value::from(id));
        }
        txn.execute_raw(Statement::from_sql_and_values(backend, delete, values))
            .await?;
    }
    let mut read = 0;
    let mut deltas = Deltas::new(fold::folded_before(&*txn).await?);
    for table in RolledTable::ALL {
        let range = (0, marks.of(table));
        let rows = (table, notebook_id);
        let budget = (u64::MAX, Some(FLUSH_AT));
        read += add_range(txn, rows, range, budget, &mut deltas).await?.0;
    }
    flush(txn, &mut deltas).await?;
    Ok(read)
}

/// Takes a student's applied focus events (up to the focus watermark `applied`) out of the
/// duration rollups, which are per notebook and so are not deleted with the student's other
/// rollup rows; the rows this empties go. Runs in the erasure's transaction, which holds the
/// watermarks locked, before it deletes the events.
pub async fn take_out_durations(
    txn: &mut EventTransaction,
    (user, notebook_id): (&str, Option<i64>),
    applied: i64,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let mark = |index| rollups::placeholder(backend, index);
    let mut sql = format!(
        "SELECT notebook_id, orig_cell_id, time, click_duration FROM {} WHERE user_id = {} \
         AND id <= {} AND click_type = 'OFF'",
        RolledTable::Focus.name(),
        mark(1),
        mark(2)
    );
    let mut values = vec![Value::from(user), Value::from(applied)];
    let mut empty_rows = format!(
        "DELETE FROM {} WHERE kept_count = 0",
        rollups::DURATIONS_TABLE
    );
    if let Some(id) = notebook_id {
        sql.push_str(&format!(" AND notebook_id = {}", mark(3)));
        values.push(Value::from(id));
        empty_rows.push_str(&format!(" AND notebook_id = {}", mark(1)));
    }
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut deltas = Deltas::new(fold::folded_before(&*txn).await?);
    for row in rows {
        let duration: Option<f64> = row.try_get("", "click_duration")?;
        if let Some(seconds) = rollups::kept_duration(true, duration) {
            let cell: Option<String> = row.try_get("", "orig_cell_id")?;
            let time = row.try_get("", "time")?;
            deltas.erased_duration(
                row.try_get("", "notebook_id")?,
                cell.as_deref(),
                time,
                seconds,
            );
        }
    }
    flush(txn, &mut deltas).await?;
    let values: Vec<Value> = notebook_id.into_iter().map(Value::from).collect();
    txn.execute_raw(Statement::from_sql_and_values(backend, empty_rows, values))
        .await?;
    Ok(())
}

/// Adds up to `budget` rows of `table` (of one notebook or all) with an id in
/// `after < id ≤ up_to`, page by page, writing the sums out whenever they reach `flush_at`
/// rows (never for `None`: a read-only transaction's, whose deltas are written elsewhere);
/// returns how many rows were read and the id up to which every row is added.
pub(super) async fn add_range(
    txn: &mut EventTransaction,
    rows: (RolledTable, Option<i64>),
    (mut after, up_to): (i64, i64),
    (budget, flush_at): (u64, Option<usize>),
    deltas: &mut Deltas,
) -> Result<(u64, i64), DbErr> {
    let mut read = 0;
    while after < up_to && read < budget {
        let limit = i64::try_from(budget - read).unwrap_or(i64::MAX);
        let page = add_page(txn, rows, (after, up_to), limit, deltas)
            .await
            .map_err(exec_error)?;
        read += page.rows;
        if flush_at.is_some_and(|rows| deltas.len() >= rows) {
            flush(txn, deltas).await?;
        }
        after = page.next_after.unwrap_or(up_to);
    }
    Ok((read, after))
}

pub(super) async fn flush(txn: &mut EventTransaction, deltas: &mut Deltas) -> Result<(), DbErr> {
    store::add_to_rollups(txn.connection(), deltas.take())
        .await
        .map_err(exec_error)
}

/// One page of rows read.
struct Page {
    rows: u64,
    /// The last id read when the page was full (more may follow); `None` when the range is
    /// exhausted.
    next_after: Option<i64>,
}

/// Adds to `deltas` the next `limit` (at most [`PAGE`]) rows of `table` with an id in
/// `after < id ≤ up_to` (of one notebook or all), read with [`rollup_rows::select_list`] and
/// decoded by [`rollup_rows::add`].
async fn add_page(
    txn: &mut EventTransaction,
    (table, notebook_id): (RolledTable, Option<i64>),
    (after, up_to): (i64, i64),
    limit: i64,
    deltas: &mut Deltas,
) -> Result<Page, sqlx::Error> {
    let limit = limit.clamp(1, PAGE);
    let backend = txn.get_database_backend();
    let columns = rollup_rows::select_list(table);
    let mut sql = format!(
        "SELECT {columns} FROM {} WHERE id > {} AND id <= {}",
        table.name(),
        rollups::placeholder(backend, 1),
        rollups::placeholder(backend, 2)
    );
    if notebook_id.is_some() {
        sql.push_str(" AND notebook_id = ");
        sql.push_str(&rollups::placeholder(backend, 3));
    }
    // The limit is bound too: one statement text, prepared once per connection.
    let index = if notebook_id.is_some() { 4 } else { 3 };
    sql.push_str(" ORDER BY id LIMIT ");
    sql.push_str(&rollups::placeholder(backend, index));
    let (mut rows, mut last_id) = (0, after);
    macro_rules! add_rows {
        ($conn:expr) => {
            let query = sqlx::query(AssertSqlSafe(sql)).bind(after).bind(up_to);
            let query = match notebook_id {
                Some(id) => query.bind(id),
                None => query,
            }
            .bind(limit);
            // Summed as they arrive: a page of rows is never held at once.
            let mut stream = query.fetch(&mut **$conn);
            while let Some(row) = stream.try_next().await? {
                last_id = rollup_rows::add(deltas, table, &row)?;
                rows += 1;
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
    let full = rows == limit as u64;
    Ok(Page {
        rows,
        next_after: full.then_some(last_id),
    })
}
