//! Deleting, or counting for a dry run, the rows of a table that match a condition: what an
//! erasure, the retention and a notebook's deletion do to each table they touch, written once.

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, Query, SimpleExpr},
};

use crate::error::{AppError, AppResult};

/// Deletes the rows of `table` matching `condition` (with `dry_run`, only counts them);
/// returns how many.
pub async fn delete_or_count(
    db: &impl ConnectionTrait,
    table: &str,
    condition: SimpleExpr,
    dry_run: bool,
) -> AppResult<u64> {
    match dry_run {
        true => count(db, table, condition).await,
        false => delete(db, table, condition).await,
    }
}

/// Deletes the rows of `table` matching `condition`; returns how many.
pub async fn delete(
    db: &impl ConnectionTrait,
    table: &str,
    condition: SimpleExpr,
) -> AppResult<u64> {
    let statement = Query::delete()
        .from_table(Alias::new(table))
        .and_where(condition)
        .to_owned();
    Ok(db.execute(&statement).await?.rows_affected())
}

async fn count(db: &impl ConnectionTrait, table: &str, condition: SimpleExpr) -> AppResult<u64> {
    let statement = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(Alias::new(table))
        .and_where(condition)
        .to_owned();
    let row = db
        .query_one(&statement)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a count returned no row")))?;
    let n: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}
