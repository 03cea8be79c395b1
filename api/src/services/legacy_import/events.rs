//! Copying one kind of old event in batches: read a page by ascending old id, convert it,
//! insert it in one transaction with a target-less `ON CONFLICT DO NOTHING` (rows already
//! imported have the same deterministic event id, whatever the event table's unique key), then
//! count how many of the page's rows are now present. A killed import loses at most the batch
//! in flight; a re-run reads everything again and inserts only what is missing.

use std::collections::BTreeSet;

use anyhow::Context as _;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryResult, TransactionTrait,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, OnConflict, Query},
};

use super::{
    Batches, Progress, TableReport,
    convert::{Context, Converted, Key},
    source::{self, OldQuery},
};

/// One kind of old event and where it goes.
pub struct Kind<A> {
    /// The name in the report: the old table (and kind).
    pub name: &'static str,
    /// Our table.
    pub target: &'static str,
    pub query: OldQuery,
    pub convert: fn(&mut Context, &QueryResult) -> anyhow::Result<Option<Converted<A>>>,
}

/// Everything one table's copy needs besides the kind.
pub struct Run<'a> {
    pub old: &'a DatabaseConnection,
    pub db: &'a DatabaseConnection,
    pub scope: &'a source::Scope,
    pub ctx: &'a mut Context,
    pub batches: &'a mut Batches,
    pub progress: &'a mut dyn Progress,
    pub dry_run: bool,
}

pub async fn copy<A>(run: Run<'_>, kind: Kind<A>) -> anyhow::Result<TableReport>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    let mut report = TableReport::new(kind.name);
    report.in_old = source::count(run.old, &kind.query, run.scope).await?;
    run.progress.start(kind.name, report.in_old);
    let mut after = 0;
    loop {
        let rows = source::page(run.old, &kind.query, run.scope, after, run.batches.size).await?;
        let Some(last) = rows.last() else { break };
        after = last
            .try_get("", "id")
            .with_context(|| format!("old id of {}", kind.name))?;
        let mut models = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(converted) = (kind.convert)(run.ctx, row)? {
                models.push(converted.model);
                keys.push(converted.key);
            }
        }
        let read = rows.len() as u64;
        let (inserted, present) = match run.dry_run {
            true => {
                let present = count_present(run.db, kind.target, &keys).await?;
                ((keys.len() as u64).saturating_sub(present), present)
            }
            false => insert_batch(run.db, kind.target, models, &keys).await?,
        };
        report.add(read, inserted, present);
        run.progress.advance(read);
        run.batches.committed(kind.name)?;
    }
    run.progress.finish();
    Ok(report)
}

/// Inserts one batch in one transaction; returns (inserted, now present).
async fn insert_batch<A>(
    db: &DatabaseConnection,
    target: &str,
    models: Vec<A>,
    keys: &[Key],
) -> anyhow::Result<(u64, u64)>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    if models.is_empty() {
        return Ok((0, 0));
    }
    let txn = db.begin().await?;
    let inserted = insert_all(&txn, target, models).await?;
    let present = count_present(&txn, target, keys).await?;
    txn.commit().await?;
    Ok((inserted, present))
}

/// Rows per `INSERT` and keys per count: far below the bind-parameter limits (SQLite 32766,
/// PostgreSQL 65535) whatever the batch size.
pub const ROWS_PER_STATEMENT: usize = 1000;

/// Inserts `models` with `ON CONFLICT DO NOTHING` and no conflict target: whatever the table's
/// unique key, a row already there is skipped. Returns how many were inserted.
pub async fn insert_all<A>(
    txn: &impl ConnectionTrait,
    target: &str,
    mut models: Vec<A>,
) -> anyhow::Result<u64>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    let mut inserted = 0;
    while !models.is_empty() {
        let rest = models.split_off(models.len().min(ROWS_PER_STATEMENT));
        inserted += <A::Entity as EntityTrait>::insert_many(models)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(txn)
            .await
            .with_context(|| format!("inserting into {target}"))?;
        models = rest;
    }
    Ok(inserted)
}

/// How many of `keys` are stored in `target`.
async fn count_present(
    db: &impl ConnectionTrait,
    target: &str,
    keys: &[Key],
) -> anyhow::Result<u64> {
    let mut present = 0;
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        present += count_chunk(db, target, chunk).await?;
    }
    Ok(present)
}

async fn count_chunk(db: &impl ConnectionTrait, target: &str, keys: &[Key]) -> anyhow::Result<u64> {
    let users: BTreeSet<&str> = keys.iter().map(|key| key.user_id.as_str()).collect();
    let notebooks: BTreeSet<i64> = keys.iter().filter_map(|key| key.notebook_id).collect();
    let mut query = Query::select();
    query
        .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
        .from(Alias::new(target))
        .and_where(Expr::col(Alias::new("event_id")).is_in(keys.iter().map(|key| key.event_id)))
        .and_where(Expr::col(Alias::new("user_id")).is_in(users));
    // Leads with the notebook, as the event key index does (dashboard rows may have none).
    if keys.iter().all(|key| key.notebook_id.is_some()) {
        query.and_where(Expr::col(Alias::new("notebook_id")).is_in(notebooks));
    }
    let row = db
        .query_one(&query)
        .await
        .with_context(|| format!("counting imported rows in {target}"))?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or_default())
}
