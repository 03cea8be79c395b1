//! Database connection and migrations, for SQLite and PostgreSQL alike (chosen by the URL).

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
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
        });
    } else {
        options.max_connections(32).min_connections(2);
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
