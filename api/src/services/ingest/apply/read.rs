//! What a pass of the applier adds: the committed rows above the watermarks, summed into
//! deltas. On SQLite they are read ahead, in a read transaction that does not hold the single
//! write lock (a pass of a few thousand rows spends about as long reading them as writing the
//! sums), and the write transaction keeps them only if nothing changed them meanwhile
//! ([`ReadAhead::unchanged`]); otherwise it reads them again under the lock.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};

use super::super::{rebuild::add_range, transaction::EventTransaction};
use crate::services::rollups::{Deltas, RolledTable, Watermarks, fold, watermarks};

/// The rows of a pass, summed.
pub(in crate::services::ingest) struct Read {
    /// The newest ids the reading could see: every row up to them is committed.
    pub horizon: Watermarks,
    /// Up to where the rows are read (the horizon, or less when the budget ran out).
    pub to: Watermarks,
    /// Rows read per table, by [`RolledTable::index`].
    counts: [u64; RolledTable::COUNT],
    pub deltas: Deltas,
}

impl Read {
    /// Sums up to `max_events` rows above `from` and at or below `horizon`, with the all-time
    /// tier holding the hours before `folded_before`.
    pub async fn rows(
        txn: &mut EventTransaction,
        (from, horizon): (Watermarks, Watermarks),
        folded_before: Option<i64>,
        max_events: u64,
    ) -> Result<Self, DbErr> {
        let mut read = Self {
            horizon,
            to: from,
            counts: [0; RolledTable::COUNT],
            deltas: Deltas::new(folded_before),
        };
        for table in RolledTable::ALL {
            let range = (from.of(table), horizon.of(table));
            // No flush: a read-ahead's transaction only reads, and a pass's budget is small.
            let budget = (max_events.saturating_sub(read.events()), None);
            let (count, reached) =
                add_range(txn, (table, None), range, budget, &mut read.deltas).await?;
            read.counts[table.index()] = count;
            read.to.set(table, reached);
        }
        Ok(read)
    }

    /// How many rows were read.
    pub fn events(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Rows read before the write lock (SQLite), with what they were read against.
pub struct ReadAhead {
    from: Watermarks,
    folded_before: Option<i64>,
    read: Read,
}

/// What a pass of SQLite finds before it takes the write lock.
pub(in crate::services::ingest) enum Ahead {
    /// Every row is applied and no closed hour waits to be folded.
    Idle,
    /// Closed hours wait to be folded: the fold moves the start of the hourly tier, which
    /// decides the tier each row is summed in, so the rows are read after it, under the lock.
    AfterFold,
    Read(Box<ReadAhead>),
}

/// SQLite: reads up to `max_events` rows above the watermarks in a read transaction (its
/// snapshot's rows are all committed: SQLite has one writer).
pub(in crate::services::ingest) async fn read_ahead(
    db: &DatabaseConnection,
    max_events: u64,
    now: DateTime<Utc>,
) -> Result<Ahead, DbErr> {
    // SQLite's deferred `BEGIN`: one snapshot from the first read, and no lock that keeps
    // the writer out.
    let mut txn = EventTransaction::begin(db).await?;
    let folded_before = fold::folded_before(&txn).await?;
    if fold::is_due_after(folded_before, now) {
        return Ok(Ahead::AfterFold);
    }
    let from = watermarks::read(&txn).await?;
    let horizon = watermarks::newest(&txn).await?;
    // At or below: a deletion (erasure, retention) can leave a table's newest id below its mark.
    let applied = RolledTable::ALL
        .into_iter()
        .all(|table| horizon.of(table) <= from.of(table));
    if applied {
        return Ok(Ahead::Idle);
    }
    let read = Read::rows(&mut txn, (from, horizon), folded_before, max_events).await?;
    txn.commit().await?;
    Ok(Ahead::Read(Box::new(ReadAhead {
        from,
        folded_before,
        read,
    })))
}

impl ReadAhead {
    /// The rows read ahead, if they are still what the write transaction `txn` (holding the
    /// watermarks at `from`, and having folded up to `folded_before`) would read: no other
    /// pass moved the watermarks, no fold moved the hourly tier's start (the deltas put each
    /// row in its tier), and no row read was deleted since (an erasure, a retention run, a
    /// notebook's deletion). Ids are never reused and rows never change, so equal counts
    /// between the same ids are the same rows.
    pub(in crate::services::ingest) async fn unchanged(
        self,
        txn: &EventTransaction,
        (from, folded_before): (Watermarks, Option<i64>),
    ) -> Result<Option<Read>, DbErr> {
        if self.from != from || self.folded_before != folded_before {
            return Ok(None);
        }
        let counts = watermarks::rows_between(txn, (from, self.read.to)).await?;
        Ok((counts == self.read.counts).then_some(self.read))
    }
}
