//! The transaction every event row is written in, whoever writes it: the ingest writer's
//! commits, the demo class, the legacy import and the server's own `OVERRIDE` records. It is a
//! sqlx transaction on the pool SeaORM opened, because the store binds whole columns of
//! borrowed values, which SeaORM's value layer cannot; and it is a SeaORM connection too
//! (`ConnectionTrait`), so a caller can read and write its own rows with SeaORM in the same
//! transaction as its events (the OVERRIDE check, the import's count of stored rows).

use std::{collections::HashSet, sync::Arc};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
    sqlx::{self, AssertSqlSafe},
};
use sea_query_sqlx::SqlxValues;
use tokio::{sync::Mutex, time::Instant};

use super::{
    EventRows,
    columns::{Table, tables},
    rows::EventKey,
    store::{self, Connection, exec_error, insert},
};

pub enum WriteError {
    /// The deadline passed before the commit: nothing was committed.
    PastDeadline,
    Failed(DbErr),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        Self::Failed(exec_error(error))
    }
}

impl From<DbErr> for WriteError {
    fn from(error: DbErr) -> Self {
        Self::Failed(error)
    }
}

/// The writer's commit: inserts `tables` in a transaction of their own, committed only if
/// `deadline` has not passed. Returns the keys of the inserted rows that carry an event id.
pub async fn write(
    db: &DatabaseConnection,
    tables: &[Table<'_>],
    deadline: Option<Instant>,
) -> Result<HashSet<EventKey>, WriteError> {
    let past = || deadline.is_some_and(|deadline| Instant::now() >= deadline);
    let mut txn = EventTransaction::begin(db).await?;
    let inserted = insert(txn.connection(), tables).await?;
    // Dropping the transaction rolls it back.
    if past() {
        return Err(WriteError::PastDeadline);
    }
    txn.commit().await?;
    Ok(inserted.keys)
}

/// A transaction event rows can be inserted in. Dropped without [`commit`](Self::commit), it
/// rolls back.
pub struct EventTransaction {
    backend: DatabaseBackend,
    // `ConnectionTrait` takes `&self`, as SeaORM's own transaction does (it also holds its
    // connection in a mutex); the store's inserts take `&mut self` and never lock.
    connection: Mutex<Connection>,
}

impl EventTransaction {
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Self::begin_with(db, None).await
    }

    /// On SQLite, takes the write lock at once (`BEGIN IMMEDIATE`), so a check made in the
    /// transaction still holds when its insert runs; PostgreSQL callers lock rows instead.
    pub async fn begin_immediate(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Self::begin_with(db, Some("BEGIN IMMEDIATE")).await
    }

    async fn begin_with(
        db: &DatabaseConnection,
        sqlite_begin: Option<&'static str>,
    ) -> Result<Self, DbErr> {
        let backend = db.get_database_backend();
        let connection = match backend {
            DatabaseBackend::Postgres => Connection::Postgres(
                db.get_postgres_connection_pool()
                    .begin()
                    .await
                    .map_err(exec_error)?,
            ),
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                let txn = match sqlite_begin {
                    Some(statement) => pool.begin_with(statement).await,
                    None => pool.begin().await,
                };
                Connection::Sqlite(txn.map_err(exec_error)?)
            }
            other => {
                return Err(DbErr::Custom(format!(
                    "events cannot be stored on {other:?}"
                )));
            }
        };
        Ok(Self {
            backend,
            connection: Mutex::new(connection),
        })
    }

    /// Inserts `rows`, whose students are pseudonyms already; a row whose (notebook, student,
    /// event id) is stored already is skipped. Returns how many rows were inserted.
    pub async fn insert(&mut self, rows: &EventRows) -> Result<u64, DbErr> {
        let inserted = store::insert(self.connection(), &tables(&[rows]))
            .await
            .map_err(exec_error)?;
        Ok(inserted.rows)
    }

    /// The transaction itself, for the store.
    pub(super) fn connection(&mut self) -> &mut Connection {
        self.connection.get_mut()
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        match self.connection.into_inner() {
            Connection::Postgres(txn) => txn.commit().await,
            Connection::Sqlite(txn) => txn.commit().await,
        }
        .map_err(exec_error)
    }
}

fn query_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
}

/// A SeaORM statement as sqlx runs it.
fn parts(statement: Statement) -> (AssertSqlSafe<String>, SqlxValues) {
    let values = statement
        .values
        .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
    (AssertSqlSafe(statement.sql), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for EventTransaction {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.backend
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        let (sql, values) = parts(statement);
        match &mut *self.connection.lock().await {
            Connection::Postgres(txn) => {
                let done = sqlx::query_with(sql, values).execute(&mut **txn).await;
                done.map(Into::into).map_err(exec_error)
            }
            Connection::Sqlite(txn) => {
                let done = sqlx::query_with(sql, values).execute(&mut **txn).await;
                done.map(Into::into).map_err(exec_error)
            }
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let sql = AssertSqlSafe(sql.to_owned());
        match &mut *self.connection.lock().await {
            Connection::Postgres(txn) => {
                sqlx::raw_sql(sql).execute(&mut **txn).await.map(Into::into)
            }
            Connection::Sqlite(txn) => sqlx::raw_sql(sql).execute(&mut **txn).await.map(Into::into),
        }
        .map_err(exec_error)
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        let (sql, values) = parts(statement);
        match &mut *self.connection.lock().await {
            Connection::Postgres(txn) => {
                let row = sqlx::query_with(sql, values)
                    .fetch_optional(&mut **txn)
                    .await;
                row.map(|row| row.map(Into::into)).map_err(query_error)
            }
            Connection::Sqlite(txn) => {
                let row = sqlx::query_with(sql, values)
                    .fetch_optional(&mut **txn)
                    .await;
                row.map(|row| row.map(Into::into)).map_err(query_error)
            }
        }
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let (sql, values) = parts(statement);
        match &mut *self.connection.lock().await {
            Connection::Postgres(txn) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **txn).await;
                rows.map(|rows| rows.into_iter().map(Into::into).collect())
                    .map_err(query_error)
            }
            Connection::Sqlite(txn) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **txn).await;
                rows.map(|rows| rows.into_iter().map(Into::into).collect())
                    .map_err(query_error)
            }
        }
    }
}
