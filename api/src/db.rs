//! Database connection and migrations, for SQLite and PostgreSQL alike (chosen by the URL), and
//! the breaker that refuses requests at once while the database is unreachable (`health`).

mod health;

pub use health::DbHealth;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// How long requests wait for the database, and how long the start keeps trying.
#[derive(Debug, Clone, Copy)]
pub struct DbTimeouts {
    pub acquire: Duration,
    pub statement: Duration,
    pub connect_retry: Duration,
}

impl DbTimeouts {
    pub fn from_limits(limits: &crate::config::Limits) -> Self {
        Self {
            acquire: Duration::from_millis(limits.db_acquire_timeout_ms),
            statement: Duration::from_millis(limits.db_statement_timeout_ms),
            connect_retry: Duration::from_secs(limits.db_connect_retry_secs),
        }
    }
}

impl Default for DbTimeouts {
    fn default() -> Self {
        Self::from_limits(&crate::config::Config::defaults().limits)
    }
}

/// Connects, retrying with backoff for `timeouts.connect_retry` while the database cannot be
/// reached (a server starting beside its database, or a short outage), logging each failure.
pub async fn connect_with_retry(
    url: &str,
    timeouts: DbTimeouts,
) -> anyhow::Result<DatabaseConnection> {
    let started = std::time::Instant::now();
    let mut backoff = Duration::from_millis(200);
    loop {
        match connect(url, timeouts).await {
            Ok(db) => return Ok(db),
            Err(error) if started.elapsed() + backoff < timeouts.connect_retry => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    retry_in_ms = backoff.as_millis() as u64,
                    "database unreachable at start"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error.context("the database stayed unreachable")),
        }
    }
}

/// The committing connection checkpoints once the WAL holds this many pages (40 MiB), not
/// SQLite's default 1 000: with group commit that connection is the ingest writer, whose
/// waiting events wait for the copy too, and the index pages every batch dirties are copied
/// once per checkpoint however often they were rewritten. `bench ingest` on SQLite, 20 s
/// runs: 16-22 % more events per second than with 1 000 (BENCHMARKS.md, eleventh session).
const WAL_PAGES_BEFORE_CHECKPOINT: &str = "10000";

/// After a checkpoint has emptied the WAL, its file is cut back to this size (64 MiB): a WAL
/// that grew while a long read held its frames would otherwise keep its largest size on disk.
const WAL_FILE_LIMIT_BYTES: &str = "67108864";

/// Reads map the database file (its first 2 GiB; SQLite caps it there) instead of copying
/// each page through a `read` call into a 2 MiB cache that a dashboard's index walks overflow
/// (and that any write by another connection empties): `bench dashboards --backend sqlite` at
/// 1.5 M events, last session: duration pages 248 → 134-138 ms, the summary 134 → 95-103;
/// CSV export 28 → 35 MB/s. Mapped pages are the OS page cache, shared and reclaimable,
/// though `VmRSS` counts them.
const MAPPED_BYTES: &str = "2147418112";

pub async fn connect(url: &str, timeouts: DbTimeouts) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(timeouts.acquire)
        .connect_timeout(timeouts.acquire);
    if is_sqlite_memory(url) {
        // The whole database lives in the one connection: never let the pool drop it.
        options
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>);
    } else if url.starts_with("sqlite:") {
        // WAL lets readers proceed during writes; FULL sync makes every acknowledged commit
        // survive power loss (group commit keeps the fsyncs few), and waiting on a busy lock
        // beats failing a request.
        options.max_connections(8).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
                .pragma("wal_autocheckpoint", WAL_PAGES_BEFORE_CHECKPOINT)
                .pragma("mmap_size", MAPPED_BYTES)
                .pragma("journal_size_limit", WAL_FILE_LIMIT_BYTES)
        });
    } else {
        // A statement that outlives the timeout is cancelled by the server itself, so a hung
        // query never holds a connection (and a request) forever.
        // 0 disables it (PostgreSQL's own meaning).
        let statement_timeout = format!("{}ms", timeouts.statement.as_millis());
        options
            .max_connections(32)
            .min_connections(2)
            .map_sqlx_postgres_opts(move |opts| {
                opts.options([("statement_timeout", statement_timeout.as_str())])
            });
    }
    Ok(Database::connect(options).await?)
}

fn is_sqlite_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && url.contains(":memory:")
}

pub async fn migrate_up(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Applies pending migrations. On PostgreSQL they run on a connection of their own without the
/// statement timeout (an index over millions of rows takes longer than a request may);
/// SQLite has no statement timeout, and an in-memory database exists only in `db`.
pub async fn migrate(
    url: &str,
    db: &DatabaseConnection,
    timeouts: DbTimeouts,
) -> anyhow::Result<()> {
    if !url.starts_with("postgres") {
        return migrate_up(db).await;
    }
    let unbounded = DbTimeouts {
        statement: Duration::ZERO,
        ..timeouts
    };
    let migrations = connect(url, unbounded).await?;
    let result = migrate_up(&migrations).await;
    migrations.close().await.ok();
    result
}
