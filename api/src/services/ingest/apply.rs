//! The rollup applier: adds committed code executions, cell focus events and markdown
//! executions to the rollups after their commit, many commits at a time, and moves each
//! table's watermark past them in the same transaction. Ingest only inserts events; readers
//! take the rows above the watermarks from the events, so what they answer never depends on
//! how far this has got.
//!
//! Exactness needs one thing: no row at or below a new watermark may commit after it. SQLite
//! has one writer, so in any snapshot every id up to the table's maximum is committed: a pass
//! reads its rows in a read transaction first, so that SQLite's single write lock, which
//! ingest waits for, is held only to write their sums ([`read`]). On PostgreSQL ids are taken
//! before commit, so a transaction holding a lower id can commit after a higher one: the
//! applier first waits for the writers in flight (a `SHARE` lock of the event tables, taken and
//! released at once, which new inserts queue behind for that moment), and only then reads the
//! maximum ids it may apply up to.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use tokio::time::Instant;

mod read;

pub use read::ReadAhead;

use read::{Ahead, Read, read_ahead};

use super::{rebuild::flush, transaction::EventTransaction, writer::WriteTurns};
use crate::services::{
    pacing::Pacing,
    rollups::{
        RolledTable, Watermarks, fold,
        watermarks::{self, Unapplied},
    },
};

/// Events one pass adds at most on SQLite: one transaction's worth, so a catch-up (after the
/// upgrade that introduced the applier, or a long outage) never holds its write lock for long.
const SQLITE_EVENTS_PER_PASS: u64 = 20_000;

/// Events one pass adds at most on PostgreSQL, where a pass holds no lock that ingest waits
/// for: the more events a pass sums, the more of them share a rollup row, and an upsert costs
/// per row. Bounded so that the sums of a catch-up stay a few tens of megabytes.
const POSTGRES_EVENTS_PER_PASS: u64 = 100_000;

/// The applier is busy at most a quarter of the time: after passes that took more than a
/// quarter of the interval, it waits three times as long as they took. Under a bulk load it so
/// applies larger batches less often, which sum more events into each row it writes (readers
/// stay exact: they take the rows above the watermarks from the events).
const APPLIER_SHARE: u32 = 4;

/// The longest wait between two starts on PostgreSQL, in intervals: what readers take from
/// the events stays a few seconds' worth under any load. (Without it a sustained load that
/// costs the applier more than a quarter of the time would stretch the waits without end.)
/// Under a saturating load every pass rewrites each (student, cell) row of the hour, so longer
/// passes cost less per event: `bench ingest` batches, 15 s runs counted until the rollups
/// held every event, did 19 % more events per second with 8 than with 4 (BENCHMARKS.md,
/// twenty-third session).
const POSTGRES_LONGEST_WAIT: u32 = 8;

/// The longest wait on SQLite, shorter: a pass holds the one write lock that ingest waits
/// for, and a longer wait makes a longer pass.
const SQLITE_LONGEST_WAIT: u32 = 4;

/// Events one pass adds at most on `backend`.
fn events_per_pass(backend: DbBackend) -> u64 {
    match backend {
        DbBackend::Postgres => POSTGRES_EVENTS_PER_PASS,
        _ => SQLITE_EVENTS_PER_PASS,
    }
}

/// The longest wait between two starts on `backend`, in intervals.
fn longest_wait(backend: DbBackend) -> u32 {
    match backend {
        DbBackend::Postgres => POSTGRES_LONGEST_WAIT,
        _ => SQLITE_LONGEST_WAIT,
    }
}

/// How long the applier waits for PostgreSQL writers in flight before it tries again later (a
/// long transaction, such as a retention run, must not hold ingest behind the applier's lock).
const LOCK_TIMEOUT: &str = "50ms";

/// PostgreSQL's `lock_not_available`: [`LOCK_TIMEOUT`] passed.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub events: u64,
    /// Whether every row committed when the pass started is now applied.
    pub caught_up: bool,
    /// Whether a long transaction writing events kept the pass from starting (PostgreSQL); the
    /// next tick tries again.
    pub blocked: bool,
}

impl Pass {
    const IDLE: Self = Self {
        events: 0,
        caught_up: true,
        blocked: false,
    };
    const BLOCKED: Self = Self {
        events: 0,
        caught_up: false,
        blocked: true,
    };
}

/// Applies up to `max_events` committed rows above the watermarks, in one transaction, after
/// folding the hours that closed into the all-time tier.
pub async fn apply_rollups(db: &DatabaseConnection, max_events: u64) -> Result<Pass, DbErr> {
    apply_rollups_at(db, max_events, Utc::now()).await
}

/// [`apply_rollups`] as if the clock read `now`: the hours before `now`'s are closed.
pub async fn apply_rollups_at(
    db: &DatabaseConnection,
    max_events: u64,
    now: DateTime<Utc>,
) -> Result<Pass, DbErr> {
    let start = match start_pass(db, max_events, now).await? {
        Ok(start) => start,
        Err(pass) => return Ok(pass),
    };
    write_pass(db, (start, None), max_events, now).await
}

/// How a pass begins, before its write transaction.
pub enum Start {
    /// PostgreSQL: every row up to these ids is committed (or rolled back).
    Committed(Watermarks),
    /// SQLite: the rows were read ahead, outside the write lock ([`read_ahead`]).
    ReadAhead(Box<ReadAhead>),
    /// SQLite: a fold is due, and the rows are read after it, in the write transaction.
    UnderLock,
}

/// The first half of a pass, which takes no write lock: [`Start`], or the pass itself when
/// there is nothing to do (or, on PostgreSQL, it cannot start yet).
pub async fn start_pass(
    db: &DatabaseConnection,
    max_events: u64,
    now: DateTime<Utc>,
) -> Result<Result<Start, Pass>, DbErr> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => match committed_on_postgres(db, now).await? {
            Committed::Nothing => Err(Pass::IDLE),
            Committed::Unknown => Err(Pass::BLOCKED),
            Committed::UpTo(ids) => Ok(Start::Committed(ids)),
        },
        _ => match read_ahead(db, max_events, now).await? {
            Ahead::Idle => Err(Pass::IDLE),
            Ahead::AfterFold => Ok(Start::UnderLock),
            Ahead::Read(ahead) => Ok(Start::ReadAhead(ahead)),
        },
    })
}

/// The second half of a pass: in one write transaction (taken in its turn at SQLite's write
/// lock when `turns` is given), folds the closed hours, adds the rows read ahead if nothing
/// changed them meanwhile (or else reads them now), and moves the watermarks past them.
pub async fn write_pass(
    db: &DatabaseConnection,
    (start, turns): (Start, Option<&WriteTurns>),
    max_events: u64,
    now: DateTime<Utc>,
) -> Result<Pass, DbErr> {
    let _turn = match turns {
        Some(turns) => Some(turns.lock().await),
        None => None,
    };
    let mut txn = EventTransaction::begin_immediate(db).await?;
    let from = watermarks::lock(&txn).await?;
    let folded_before = fold::fold_closed_hours(&txn, now).await?;
    let (ahead, committed) = match start {
        Start::ReadAhead(ahead) => (ahead.unchanged(&txn, (from, folded_before)).await?, None),
        Start::UnderLock => (None, None),
        Start::Committed(ids) => (None, Some(ids)),
    };
    let mut read = match ahead {
        Some(read) => read,
        None => {
            // SQLite: this transaction is the only writer, so every row it sees is committed.
            let horizon = match committed {
                Some(ids) => ids,
                None => watermarks::newest(&txn).await?,
            };
            Read::rows(&mut txn, (from, horizon), folded_before, max_events).await?
        }
    };
    flush(&mut txn, &mut read.deltas).await?;
    watermarks::advance(&txn, read.to).await?;
    txn.commit().await?;
    let events = read.events();
    metrics::counter!("rollups_applied_events_total").increment(events);
    // At or past: a deletion (erasure, retention) can leave a table's newest id below its mark.
    let caught_up = RolledTable::ALL
        .into_iter()
        .all(|table| read.to.of(table) >= read.horizon.of(table));
    Ok(Pass {
        events,
        caught_up,
        blocked: false,
    })
}

/// What PostgreSQL has committed that the rollups lack.
enum Committed {
    /// Every row is applied and no closed hour is left to fold: no lock was taken.
    Nothing,
    /// A long transaction writing events is in flight: try at the next tick.
    Unknown,
    /// Every row up to these ids is committed (or rolled back).
    UpTo(Watermarks),
}

async fn committed_on_postgres(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Committed, DbErr> {
    let idle = watermarks::unapplied(db).await? == Unapplied::default();
    if idle && !fold::is_due(db, now).await? {
        return Ok(Committed::Nothing);
    }
    match committed_ids(db).await {
        Err(error) if crate::error::sqlstate(&error).as_deref() == Some(LOCK_NOT_AVAILABLE) => {
            Ok(Committed::Unknown)
        }
        ids => Ok(Committed::UpTo(ids?)),
    }
}

/// Applies every committed row, pass after pass (or until a pass is blocked); returns how many
/// were applied.
pub async fn apply_all_rollups(db: &DatabaseConnection) -> Result<u64, DbErr> {
    apply_all_in_turn(db, None).await
}

/// [`apply_all_rollups`], each pass in its turn at SQLite's write lock when `turns` is given.
async fn apply_all_in_turn(
    db: &DatabaseConnection,
    turns: Option<&WriteTurns>,
) -> Result<u64, DbErr> {
    let (mut total, max_events) = (0, events_per_pass(db.get_database_backend()));
    loop {
        let now = Utc::now();
        let pass = match start_pass(db, max_events, now).await? {
            Ok(start) => write_pass(db, (start, turns), max_events, now).await?,
            Err(pass) => pass,
        };
        total += pass.events;
        if pass.caught_up || pass.blocked {
            return Ok(total);
        }
    }
}

/// Applies committed rows every `interval` (less often when that takes long, up to eight
/// times the interval on PostgreSQL and four on SQLite: [`APPLIER_SHARE`], [`longest_wait`])
/// until `stop` completes, taking its turn at SQLite's write lock with the ingest writer
/// (`turns`).
pub async fn run_rollup_applier(
    db: DatabaseConnection,
    interval: Duration,
    turns: Option<WriteTurns>,
    stop: impl Future<Output = ()>,
) {
    let pacing = Pacing {
        interval,
        share: APPLIER_SHARE,
        longest: Some(longest_wait(db.get_database_backend())),
    };
    // The first pass after one interval (a test that applies by hand sets an interval longer
    // than itself).
    let mut next = Instant::now() + interval;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep_until(next) => {}
        }
        let started = Instant::now();
        if let Err(error) = apply_all_in_turn(&db, turns.as_ref()).await {
            // Tried again at the next pass; readers stay exact meanwhile.
            tracing::warn!(%error, "applying rollups failed");
        }
        next = pacing.next_start(started, started.elapsed());
    }
}

/// PostgreSQL: the highest ids below which every row is committed (or rolled back). The
/// `SHARE` lock waits for every transaction that inserts into the tables and is released at
/// once; later inserts take higher ids.
async fn committed_ids(db: &DatabaseConnection) -> Result<Watermarks, DbErr> {
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .await?;
    let tables = RolledTable::ALL.map(RolledTable::name).join(", ");
    txn.execute_unprepared(&format!("LOCK TABLE {tables} IN SHARE MODE"))
        .await?;
    let ids = watermarks::newest(&txn).await?;
    txn.commit().await?;
    Ok(ids)
}
