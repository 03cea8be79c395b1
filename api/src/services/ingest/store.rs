//! Bulk inserts at the database's own speed: on PostgreSQL one statement per table per commit
//! (`INSERT … SELECT * FROM UNNEST($1::type[], …)`, so the statement text and its plan never
//! change with the number of rows); on SQLite multi-row `VALUES` statements of a fixed size,
//! prepared once per connection. Both go through the pool SeaORM opened, with sqlx directly:
//! binding whole columns (and borrowed strings) is what SeaORM's value layer cannot do.
//!
//! Every insert is `ON CONFLICT DO NOTHING` against the unique (notebook, student, event id):
//! when a table's rows carry event ids, the statement returns the keys it inserted, so the
//! writer can tell each request how many of its events were duplicates (and the legacy import
//! how many of its rows were new).

use std::collections::HashSet;

use std::sync::Arc;

use sea_orm::{
    DbErr, RuntimeErr,
    sqlx::{
        self, AssertSqlSafe, PgConnection, Postgres, Row, Sqlite, SqliteConnection,
        postgres::PgArguments, query::Query, sqlite::SqliteArguments,
    },
};

use uuid::Uuid;

use super::{
    super::rollups::{self, Deltas},
    columns::{Table, Values},
    rows::EventKey,
};

/// SQLite's bind-parameter limit (since 3.32).
const SQLITE_MAX_BINDS: usize = 32_766;
/// Rows per SQLite statement: large enough to amortize the statement, small enough that the
/// few distinct statement texts stay in the connection's prepared-statement cache.
const SQLITE_ROWS_PER_STATEMENT: usize = 256;

/// The backend's own transaction.
pub enum Connection {
    Postgres(sqlx::Transaction<'static, Postgres>),
    Sqlite(sqlx::Transaction<'static, Sqlite>),
}

pub fn exec_error(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error)))
}

/// What an insert stored.
#[derive(Default)]
pub struct Inserted {
    /// Rows inserted (not skipped as already stored).
    pub rows: u64,
    /// The keys of the inserted rows that carry an event id.
    pub keys: HashSet<EventKey>,
}

/// The one place event rows become `INSERT`s, for every writer (the ingest writer's commits and
/// [`EventTransaction::insert`]): whatever must happen for each stored event belongs here. The
/// rollups are not written here: the rollup applier adds committed rows after the commit
/// (`apply`), off the acknowledgement path.
pub async fn insert(
    connection: &mut Connection,
    tables: &[Table<'_>],
) -> Result<Inserted, sqlx::Error> {
    let mut inserted = Inserted::default();
    match connection {
        Connection::Postgres(txn) => {
            for table in tables {
                insert_postgres(txn, table, &mut inserted).await?;
            }
        }
        Connection::Sqlite(txn) => {
            for table in tables {
                insert_sqlite(txn, table, &mut inserted).await?;
            }
        }
    }
    Ok(inserted)
}

/// Adds `deltas` to the rollups, in the caller's transaction.
pub async fn add_to_rollups(
    connection: &mut Connection,
    deltas: Deltas,
) -> Result<(), sqlx::Error> {
    if deltas.is_empty() {
        return Ok(());
    }
    let sorted = deltas.sorted();
    match connection {
        Connection::Postgres(txn) => {
            rollups::upsert_postgres(txn, &sorted.cells).await?;
            rollups::upsert_durations_postgres(txn, &sorted.durations).await?;
            rollups::upsert_locations_postgres(txn, &sorted.locations).await?;
            rollups::upsert_progress_postgres(txn, &sorted.progress).await
        }
        Connection::Sqlite(txn) => {
            rollups::upsert_sqlite(txn, &sorted.cells).await?;
            rollups::upsert_durations_sqlite(txn, &sorted.durations).await?;
            rollups::upsert_locations_sqlite(txn, &sorted.locations).await?;
            rollups::upsert_progress_sqlite(txn, &sorted.progress).await
        }
    }
}

fn insert_head(table: &Table<'_>) -> String {
    let names = table.table.columns.join(", ");
    format!("INSERT INTO {} ({names}) ", table.table.name)
}

fn conflict_tail(table: &Table<'_>) -> &'static str {
    if table.keyed {
        " ON CONFLICT DO NOTHING RETURNING notebook_id, user_id, event_id"
    } else {
        " ON CONFLICT DO NOTHING"
    }
}

/// Records one returned row's key (for duplicates).
fn returned<R: Row>(table: &Table<'_>, row: &R, inserted: &mut Inserted) -> Result<(), sqlx::Error>
where
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Uuid>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    inserted.rows += 1;
    inserted.keys.extend(key_of(table, row)?);
    Ok(())
}

fn key_of<R: Row>(table: &Table<'_>, row: &R) -> Result<Option<EventKey>, sqlx::Error>
where
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Uuid>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let event_id: Option<Uuid> = row.try_get("event_id")?;
    Ok(match event_id {
        Some(event_id) => Some(EventKey {
            table: table.table.name,
            notebook_id: row.try_get("notebook_id")?,
            user_id: row.try_get("user_id")?,
            event_id,
        }),
        None => None,
    })
}

async fn insert_postgres(
    conn: &mut PgConnection,
    table: &Table<'_>,
    inserted: &mut Inserted,
) -> Result<(), sqlx::Error> {
    let arrays: Vec<String> = (table.columns.iter().enumerate())
        .map(|(index, values)| format!("${}::{}", index + 1, values.pg_array_type()))
        .collect();
    let sql = format!(
        "{}SELECT * FROM UNNEST({}){}",
        insert_head(table),
        arrays.join(", "),
        conflict_tail(table)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for values in &table.columns {
        query = bind_column(query, values);
    }
    // Keyed rows come back for their keys.
    if !table.keyed {
        inserted.rows += query.execute(conn).await?.rows_affected();
        return Ok(());
    }
    for row in query.fetch_all(conn).await? {
        returned(table, &row, inserted)?;
    }
    Ok(())
}

fn bind_column<'q>(
    query: Query<'q, Postgres, PgArguments>,
    values: &Values<'_>,
) -> Query<'q, Postgres, PgArguments> {
    match values {
        Values::Uuid(column) => query.bind(column),
        Values::Key(column) => query.bind(column),
        Values::OptionalKey(column) => query.bind(column),
        Values::Int(column) => query.bind(column),
        Values::Text(column) => query.bind(column),
        Values::OptionalText(column) => query.bind(column),
        Values::Time(column) => query.bind(column),
        Values::OptionalFloat(column) => query.bind(column),
        Values::Json(column) => query.bind(column),
        Values::Words(column) => query.bind(column),
    }
}

async fn insert_sqlite(
    conn: &mut SqliteConnection,
    table: &Table<'_>,
    inserted: &mut Inserted,
) -> Result<(), sqlx::Error> {
    let width = table.columns.len();
    let per_statement = (SQLITE_MAX_BINDS / width).min(SQLITE_ROWS_PER_STATEMENT);
    let placeholders = format!("({})", vec!["?"; width].join(", "));
    let mut start = 0;
    while start < table.rows {
        let count = per_statement.min(table.rows - start);
        let sql = format!(
            "{}VALUES {}{}",
            insert_head(table),
            vec![placeholders.as_str(); count].join(", "),
            conflict_tail(table)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in start..start + count {
            for values in &table.columns {
                query = bind_value(query, values, row);
            }
        }
        if table.keyed {
            for row in query.fetch_all(&mut *conn).await? {
                returned(table, &row, inserted)?;
            }
        } else {
            inserted.rows += query.execute(&mut *conn).await?.rows_affected();
        }
        start += count;
    }
    Ok(())
}

fn bind_value<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    values: &Values<'_>,
    row: usize,
) -> Query<'q, Sqlite, SqliteArguments> {
    match values {
        Values::Uuid(column) => query.bind(column[row]),
        Values::Key(column) => query.bind(column[row]),
        Values::OptionalKey(column) => query.bind(column[row]),
        Values::Int(column) => query.bind(column[row]),
        Values::Text(column) => query.bind(column[row]),
        Values::OptionalText(column) => query.bind(column[row]),
        Values::Time(column) => query.bind(column[row]),
        Values::OptionalFloat(column) => query.bind(column[row]),
        Values::Json(column) => query.bind(column[row]),
        Values::Words(column) => query.bind(column[row].as_deref()),
    }
}
