//! How far the rollups go: per event table, the applied watermark. Every row of the table with
//! an id at or below it is summed in the rollups and none above it is; a reader takes the rows
//! above it from the events (a handful: what arrived since the applier's last pass), so its
//! answer is exact whatever the applier's progress.
//!
//! Whoever changes rollups other than by applying new rows (a rebuild, an erasure, a retention
//! run, a notebook's deletion) [`lock`]s the watermarks first, in its own transaction: the
//! applier takes the same lock, so it never sums rows read before such a change after it.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::{RolledTable, placeholder};

/// The applied watermark of each summed event table, by [`RolledTable::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermarks([i64; RolledTable::COUNT]);

impl Watermarks {
    /// The watermark of `table`.
    pub fn of(&self, table: RolledTable) -> i64 {
        self.0[table.index()]
    }

    pub fn set(&mut self, table: RolledTable, id: i64) {
        self.0[table.index()] = id;
    }
}

/// The event rows the rollups do not hold yet, per table (by [`RolledTable::index`]):
/// `Some(mark)` when rows above the watermark `mark` exist, `None` when the table is fully
/// applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unapplied([Option<i64>; RolledTable::COUNT]);

impl Unapplied {
    /// The watermark above which `table` has rows the rollups lack, if it has any.
    pub fn of(&self, table: RolledTable) -> Option<i64> {
        self.0[table.index()]
    }
}

/// What a reader must take from the events besides the rollups, as its snapshot sees it.
pub async fn unapplied(db: &impl ConnectionTrait) -> Result<Unapplied, DbErr> {
    let (marks, newest) = (read(db).await?, newest(db).await?);
    Ok(Unapplied(RolledTable::ALL.map(|table| {
        let mark = marks.of(table);
        (newest.of(table) > mark).then_some(mark)
    })))
}

/// The highest id of each summed table that the caller sees (0 for an empty table).
pub async fn newest(db: &impl ConnectionTrait) -> Result<Watermarks, DbErr> {
    let columns = RolledTable::ALL.map(|table| {
        let (name, alias) = (table.name(), table.alias());
        format!("(SELECT COALESCE(MAX(id), 0) FROM {name}) AS {alias}")
    });
    let sql = format!("SELECT {}", columns.join(", "));
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the newest event ids".to_owned()))?;
    let mut ids = Watermarks::default();
    for table in RolledTable::ALL {
        ids.set(table, row.try_get("", table.alias())?);
    }
    Ok(ids)
}

/// How many rows of each summed table have an id above `after` and at or below `up_to`, as the
/// caller sees them (by [`RolledTable::index`]).
pub async fn rows_between(
    db: &impl ConnectionTrait,
    (after, up_to): (Watermarks, Watermarks),
) -> Result<[u64; RolledTable::COUNT], DbErr> {
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    let columns = RolledTable::ALL.map(|table| {
        values.extend([after.of(table).into(), up_to.of(table).into()]);
        let (lower, upper) = (
            placeholder(backend, values.len() - 1),
            placeholder(backend, values.len()),
        );
        format!(
            "(SELECT COUNT(*) FROM {} WHERE id > {lower} AND id <= {upper}) AS {}",
            table.name(),
            table.alias()
        )
    });
    let sql = format!("SELECT {}", columns.join(", "));
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the counts of event rows".to_owned()))?;
    let mut counts = [0; RolledTable::COUNT];
    for table in RolledTable::ALL {
        let count: i64 = row.try_get("", table.alias())?;
        counts[table.index()] = u64::try_from(count).unwrap_or(0);
    }
    Ok(counts)
}

const SELECT: &str = "SELECT event_table, applied_id FROM rollup_watermarks";

/// The watermarks as the caller's snapshot sees them.
pub async fn read(db: &impl ConnectionTrait) -> Result<Watermarks, DbErr> {
    select(db, SELECT).await
}

/// Reads the watermarks and holds them until the caller's transaction ends: PostgreSQL locks
/// their rows; SQLite takes its single write lock (a transaction's first statement should be
/// this one there, so its snapshot is not older than the lock).
pub async fn lock(db: &impl ConnectionTrait) -> Result<Watermarks, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => select(db, &format!("{SELECT} FOR UPDATE")).await,
        _ => {
            // An update (of nothing) is what makes a deferred SQLite transaction a writer.
            db.execute_unprepared("UPDATE rollup_watermarks SET applied_id = applied_id WHERE 0")
                .await?;
            select(db, SELECT).await
        }
    }
}

/// Records `marks` as applied (in the transaction that wrote the rollups up to them).
pub async fn advance(db: &impl ConnectionTrait, marks: Watermarks) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (first, second) = (placeholder(backend, 1), placeholder(backend, 2));
    for table in RolledTable::ALL {
        let sql = format!(
            "UPDATE rollup_watermarks SET applied_id = {first} WHERE event_table = {second}"
        );
        let values = [marks.of(table).into(), table.name().into()];
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

async fn select(db: &impl ConnectionTrait, sql: &str) -> Result<Watermarks, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let mut marks = Watermarks::default();
    for row in rows {
        let name: String = row.try_get("", "event_table")?;
        // A row of a table that is not rolled up has no watermark here (none today).
        if let Some(table) = RolledTable::of_table(&name) {
            marks.set(table, row.try_get("", "applied_id")?);
        }
    }
    Ok(marks)
}
