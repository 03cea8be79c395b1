//! The loop every old table is copied with: read a page by ascending old id, convert it,
//! insert it in one transaction with a target-less `ON CONFLICT DO NOTHING` (rows already
//! imported collide on their natural key or deterministic event id), then count how many of
//! the page's rows are now present. A killed import loses at most the batch in flight; a
//! re-run reads everything again and inserts only what is missing. How a page is inserted is
//! the table's: events go through the ingest store, rows with a natural key through SeaORM.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};

use super::{
    Batches, Progress, TableReport,
    convert::{Context, get},
    source::{self, OldQuery},
};

/// Rows per `INSERT` and keys per count: far below the bind-parameter limits (SQLite 32766,
/// PostgreSQL 65535) whatever the batch size.
pub const ROWS_PER_STATEMENT: usize = 1000;

/// One old table (or kind of row in it) and where its rows go.
pub trait OldTable {
    type Model: Send;
    /// What tells whether a converted row is stored (its natural key, or its event key).
    type Key;

    /// The name in the report: the old table (and kind).
    fn name(&self) -> &'static str;
    /// Our table.
    fn target(&self) -> &'static str;
    fn query(&self) -> &OldQuery;
    /// The row to insert and its key; `None` (with a warning in `ctx`) when it cannot be.
    fn convert(
        &self,
        ctx: &mut Context,
        row: &QueryResult,
    ) -> anyhow::Result<Option<(Self::Model, Self::Key)>>;
    /// How many of `keys` (at most [`ROWS_PER_STATEMENT`]) are stored in our table.
    async fn count_stored(
        &self,
        db: &impl ConnectionTrait,
        keys: &[Self::Key],
    ) -> anyhow::Result<u64>;
    /// Inserts one page in one transaction, skipping rows already stored, and counts (with
    /// [`count_present`], in the same transaction) how many of `keys` are stored then.
    /// Returns (inserted, now present).
    async fn insert_batch(
        &self,
        db: &DatabaseConnection,
        models: Vec<Self::Model>,
        keys: &[Self::Key],
    ) -> anyhow::Result<(u64, u64)>;
}

/// Everything one table's copy needs besides the table.
pub struct Run<'a> {
    pub old: &'a DatabaseConnection,
    pub db: &'a DatabaseConnection,
    pub scope: &'a source::Scope,
    pub ctx: &'a mut Context,
    pub batches: &'a mut Batches,
    pub progress: &'a mut dyn Progress,
    pub dry_run: bool,
}

/// Copies `table` batch by batch and reports its counts.
pub async fn copy<T: OldTable>(run: Run<'_>, table: T) -> anyhow::Result<TableReport> {
    let name = table.name();
    let mut report = TableReport::new(name);
    report.in_old = source::count(run.old, table.query(), run.scope).await?;
    run.progress.start(name, report.in_old);
    let mut after = 0;
    loop {
        let rows = source::page(run.old, table.query(), run.scope, after, run.batches.size).await?;
        let Some(last) = rows.last() else { break };
        after = get(last, "id").with_context(|| format!("old id of {name}"))?;
        let mut models = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some((model, key)) = table.convert(run.ctx, row)? {
                models.push(model);
                keys.push(key);
            }
        }
        let read = rows.len() as u64;
        let (inserted, present) = match run.dry_run || models.is_empty() {
            true => {
                let present = count_present(run.db, &table, &keys).await?;
                ((keys.len() as u64).saturating_sub(present), present)
            }
            false => table.insert_batch(run.db, models, &keys).await?,
        };
        report.add(read, inserted, present);
        run.progress.advance(read);
        run.batches.committed(name)?;
    }
    run.progress.finish();
    Ok(report)
}

/// How many of `keys` are stored in `table`'s target, counted in chunks.
pub async fn count_present<T: OldTable>(
    db: &impl ConnectionTrait,
    table: &T,
    keys: &[T::Key],
) -> anyhow::Result<u64> {
    let mut present = 0;
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        present += table
            .count_stored(db, chunk)
            .await
            .with_context(|| format!("counting imported rows in {}", table.target()))?;
    }
    Ok(present)
}

/// The count a statement of `SELECT COUNT(*) AS n …` answered.
pub fn count_of(row: Option<QueryResult>) -> anyhow::Result<u64> {
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or_default())
}
