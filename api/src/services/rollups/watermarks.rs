//! How far the rollups go: per event table, the applied watermark. Every row of the table with
//! an id at or below it is summed in the rollups and none above it is; a reader takes the rows
//! above it from the events (a handful: what arrived since the applier's last pass), so its
//! answer is exact whatever the applier's progress.
//!
//! Whoever changes rollups other than by applying new rows (a rebuild, an erasure, a retention
//! run, a notebook's deletion) [`lock`]s the watermarks first, in its own transaction: the
//! applier takes the same lock, so it never sums rows read before such a change after it.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::placeholder;

/// The event tables the rollups sum, by the name their watermark is stored under.
pub const EXECUTIONS: &str = "code_executions";
pub const FOCUS: &str = "cell_focus_events";
pub const MARKDOWN: &str = "markdown_executions";

/// The applied watermark of each summed event table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub executions: i64,
    pub focus: i64,
    pub markdown: i64,
}

impl Watermarks {
    /// The watermark of event table `table` (0 for a table the rollups do not sum).
    pub fn of(&self, table: &str) -> i64 {
        match table {
            EXECUTIONS => self.executions,
            FOCUS => self.focus,
            MARKDOWN => self.markdown,
            _ => 0,
        }
    }

    pub fn set(&mut self, table: &str, id: i64) {
        match table {
            EXECUTIONS => self.executions = id,
            FOCUS => self.focus = id,
            MARKDOWN => self.markdown = id,
            _ => {}
        }
    }
}

/// The event rows the rollups do not hold yet, per table: `Some(mark)` when rows above the
/// watermark `mark` exist, `None` when the table is fully applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unapplied {
    pub executions: Option<i64>,
    pub focus: Option<i64>,
    pub markdown: Option<i64>,
}

/// What a reader must take from the events besides the rollups, as its snapshot sees it.
pub async fn unapplied(db: &impl ConnectionTrait) -> Result<Unapplied, DbErr> {
    let (marks, newest) = (read(db).await?, newest(db).await?);
    let above = |mark: i64, newest: i64| (newest > mark).then_some(mark);
    Ok(Unapplied {
        executions: above(marks.executions, newest.executions),
        focus: above(marks.focus, newest.focus),
        markdown: above(marks.markdown, newest.markdown),
    })
}

/// The highest id of each summed table that the caller sees (0 for an empty table).
pub async fn newest(db: &impl ConnectionTrait) -> Result<Watermarks, DbErr> {
    let sql = format!(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM {EXECUTIONS}) AS executions, \
         (SELECT COALESCE(MAX(id), 0) FROM {FOCUS}) AS focus, \
         (SELECT COALESCE(MAX(id), 0) FROM {MARKDOWN}) AS markdown"
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the newest event ids".to_owned()))?;
    Ok(Watermarks {
        executions: row.try_get("", "executions")?,
        focus: row.try_get("", "focus")?,
        markdown: row.try_get("", "markdown")?,
    })
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
    let marks = [
        (EXECUTIONS, marks.executions),
        (FOCUS, marks.focus),
        (MARKDOWN, marks.markdown),
    ];
    for (table, id) in marks {
        let sql = format!(
            "UPDATE rollup_watermarks SET applied_id = {first} WHERE event_table = {second}"
        );
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [id.into(), table.into()],
        ))
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
        let table: String = row.try_get("", "event_table")?;
        marks.set(&table, row.try_get("", "applied_id")?);
    }
    Ok(marks)
}
