//! The read transactions of the rolled-up aggregates: one snapshot for every statement of a
//! read, and on PostgreSQL a second connection on that same snapshot, so a long read can be
//! split in two and run on both of the machine's cores.

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    IsolationLevel, TransactionTrait,
};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{AppError, AppResult};

/// A read transaction whose statements all see one snapshot (PostgreSQL `REPEATABLE READ`, a
/// SQLite read transaction).
pub(in super::super) async fn snapshot(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = begin_repeatable_read(db).await?;
            txn.execute_unprepared(PLANNER_SETTINGS).await?;
            txn
        }
        _ => db.begin().await?,
    };
    Ok(txn)
}

/// How many reads may hold a second connection at once: far fewer than the pool's
/// connections (32 on PostgreSQL), so a read waiting for its second connection always waits
/// on others that need only one, and the pool cannot run dry of them all.
static SECOND_READERS: Semaphore = Semaphore::const_new(4);

/// A second transaction on another read's snapshot. Dropped, it rolls back and lets another
/// read take its place.
pub(in super::super) struct SecondReader {
    pub txn: DatabaseTransaction,
    _place: SemaphorePermit<'static>,
}

/// PostgreSQL: a second read transaction on `txn`'s snapshot (which must be `snapshot`'s), on
/// another connection of the pool; `None` on SQLite (whose connections cannot share a
/// snapshot), or while the pool could only give one by waiting for another request, or while
/// [`SECOND_READERS`] reads hold one: the caller then reads alone.
pub(in super::super) async fn second_reader(
    db: &DatabaseConnection,
    txn: &DatabaseTransaction,
) -> AppResult<Option<SecondReader>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let pool = db.get_postgres_connection_pool();
    let opens_more = pool.size() < pool.options().get_max_connections();
    if pool.num_idle() == 0 && !opens_more {
        return Ok(None);
    }
    let Ok(place) = SECOND_READERS.try_acquire() else {
        return Ok(None);
    };
    let exported = txn
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_export_snapshot() AS id",
        ))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no snapshot was exported")))?;
    let id: String = exported.try_get("", "id")?;
    // `SET TRANSACTION SNAPSHOT` takes no parameter; the id is PostgreSQL's own
    // (`00000003-0000001B-1`), checked all the same before it is written into the statement.
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(AppError::internal(anyhow::anyhow!(
            "unexpected snapshot id {id:?}"
        )));
    }
    let second = begin_repeatable_read(db).await?;
    second
        .execute_unprepared(&format!(
            "SET TRANSACTION SNAPSHOT '{id}'; {PLANNER_SETTINGS}"
        ))
        .await?;
    Ok(Some(SecondReader {
        txn: second,
        _place: place,
    }))
}

async fn begin_repeatable_read(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let (isolation, access) = (IsolationLevel::RepeatableRead, AccessMode::ReadOnly);
    Ok(db.begin_with_config(Some(isolation), Some(access)).await?)
}

/// Bounds and watermarks move with every read: a plan made for their values finds the handful
/// of unapplied rows by id, where a generic plan may not. JIT compiling takes longer than
/// these statements run (it starts at a cost that a join over a JSON parameter's rows reaches
/// on the planner's default estimate).
///
/// A page read at random costs the planner four sequential ones by default, a disk's ratio:
/// then a whole course's read of the all-time tier (18 000 of a 1.5 M-event class's 207 000
/// `cell_rollups` rows, spread over 1 400 of its 10 600 pages) scanned the whole table in
/// 29 ms rather than take those pages through the key in 8. Rollups are read often enough
/// to stay in memory, and servers keep their data on SSDs, for which 1.1 is the usual figure.
const PLANNER_SETTINGS: &str = "SET LOCAL plan_cache_mode = force_custom_plan; \
     SET LOCAL jit = off; SET LOCAL random_page_cost = 1.1";
