//! A page of each cell's kept durations (`focusDurationsPerCell`), in event order. Numbering
//! every duration of the window per cell to cut a page from it read and sorted the whole
//! window; instead, in one snapshot:
//! 1. each cell's total, summed from the rollups (`Sums::KeptDurations`, per student, so a
//!    group filter reads them too);
//! 2. each cell's page, walked in time order on the (notebook, cell, time) index of the focus
//!    events and stopped after the page: `offset + limit` durations per cell, not the window.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend};
use serde_json::json;

use super::{
    Scope,
    cells::{CellDurations, DurationPage},
    rolled,
    sql::Sql,
};
use crate::{
    error::{AppError, AppResult},
    services::rollups::RolledTable,
};

/// Per cell with a kept duration in the scope, `page` of its durations (by event time, then
/// arrival) and its total; a cell whose page is past its end is left out.
pub async fn focus_duration_pages(
    db: &DatabaseConnection,
    scope: &Scope,
    page: DurationPage,
) -> AppResult<Vec<CellDurations>> {
    let (txn, progress) = rolled::begin(db).await?;
    let totals = totals(&txn, scope, &progress).await?;
    let reachable: Vec<&str> = totals
        .iter()
        .filter(|(_, total)| **total > page.offset)
        .map(|(cell, _)| cell.as_str())
        .collect();
    let pages = match (reachable.is_empty(), db.get_database_backend()) {
        (true, _) => Vec::new(),
        (false, DbBackend::Postgres) => pages_as_arrays(&txn, scope, &reachable, page).await?,
        (false, backend) => pages_as_rows(&txn, backend, scope, &reachable, page).await?,
    };
    txn.commit().await?;
    Ok(pages
        .into_iter()
        .filter(|(_, durations)| !durations.is_empty())
        .map(|(cell_id, durations)| CellDurations {
            total_count: totals.get(&cell_id).copied().unwrap_or_default(),
            cell_id,
            durations,
        })
        .collect())
}

/// PostgreSQL: a row per cell, its page as one JSON array (60 000 durations as rows took
/// longer to send, sort and decode than to read). Numbers in PostgreSQL's JSON are the
/// shortest text that reads back as the same double, so the values are exact.
async fn pages_as_arrays(
    txn: &DatabaseTransaction,
    scope: &Scope,
    cells: &[&str],
    page: DurationPage,
) -> AppResult<Vec<(String, Vec<f64>)>> {
    let mut pages = Vec::with_capacity(cells.len());
    for row in txn
        .query_all_raw(pages_joined(scope, cells, page).build())
        .await?
    {
        let cell: String = row.try_get("", "orig_cell_id")?;
        let durations: Option<String> = row.try_get("", "durations")?;
        let durations = match durations {
            Some(array) => serde_json::from_str(&array).map_err(AppError::internal)?,
            None => Vec::new(),
        };
        pages.push((cell, durations));
    }
    pages.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(pages)
}

/// SQLite: a row per duration, in (cell, time, id) order, gathered per cell.
async fn pages_as_rows(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    scope: &Scope,
    cells: &[&str],
    page: DurationPage,
) -> AppResult<Vec<(String, Vec<f64>)>> {
    let sql = pages_in_branches(backend, scope, cells, page);
    let mut pages: Vec<(String, Vec<f64>)> = Vec::with_capacity(cells.len());
    for row in txn.query_all_raw(sql.build()).await? {
        let cell: String = row.try_get("", "orig_cell_id")?;
        let duration: f64 = row.try_get("", "click_duration")?;
        match pages.last_mut() {
            Some((last, durations)) if *last == cell => durations.push(duration),
            _ => pages.push((cell, vec![duration])),
        }
    }
    Ok(pages)
}

/// Per cell, how many kept durations the scope holds.
async fn totals(
    txn: &DatabaseTransaction,
    scope: &Scope,
    progress: &rolled::Progress,
) -> AppResult<BTreeMap<String, i64>> {
    let shape = (
        "SELECT cell, SUM(CAST(kept_count AS INTEGER)) AS n",
        " GROUP BY cell HAVING SUM(CAST(kept_count AS INTEGER)) > 0",
    );
    let sums = rolled::Sums::KeptDurations;
    let sql = rolled::summed(txn, (scope, progress), sums, shape).await?;
    let mut totals = BTreeMap::new();
    for row in txn.query_all_raw(sql.build()).await? {
        totals.insert(row.try_get("", "cell")?, row.try_get("", "n")?);
    }
    Ok(totals)
}

/// PostgreSQL: the cells as rows of one JSON parameter, each with its page as a subquery, so
/// the statement is planned once (and no step sorts every cell's rows together). The unmapped
/// cell (null in the events) has a branch of its own.
fn pages_joined(scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mapped: Vec<_> = cells.iter().filter(|cell| !cell.is_empty()).collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT w.cell AS orig_cell_id, ")
        .push(PAGE_AS_ARRAY)
        .push("SELECT click_duration, time, id FROM ")
        .push(RolledTable::Focus.name())
        .push(" WHERE ")
        .scope(scope, "time")
        .push(" AND orig_cell_id = w.cell AND ")
        .kept_duration_in_time_order();
    limit(&mut sql, page);
    sql.push(PAGE_AS_ARRAY_END)
        .push(" FROM json_to_recordset(")
        .bind(
            json!(
                mapped
                    .iter()
                    .map(|cell| json!({ "cell": cell }))
                    .collect::<Vec<_>>()
            )
            .to_string(),
        )
        .push("::json) AS w(cell text)");
    if cells.contains(&"") {
        sql.push(" UNION ALL SELECT '' AS orig_cell_id, ")
            .push(PAGE_AS_ARRAY);
        branch(&mut sql, scope, "", page);
        sql.push(PAGE_AS_ARRAY_END);
    }
    sql
}

/// Around a page's subquery (`click_duration, time, id`): its durations as a JSON array, in
/// the page's order, or null for an empty page.
const PAGE_AS_ARRAY: &str = "(SELECT json_agg(p.click_duration ORDER BY p.time, p.id) FROM (";
const PAGE_AS_ARRAY_END: &str = ") AS p)::text AS durations";

/// SQLite: one branch per cell.
fn pages_in_branches(backend: DbBackend, scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mut sql = Sql::new(backend);
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        branch(&mut sql, scope, cell, page);
    }
    sql.push(" ORDER BY orig_cell_id, time, id");
    sql
}

/// `SELECT * FROM (<one cell's page: orig_cell_id, click_duration, time, id>)`.
fn branch(sql: &mut Sql, scope: &Scope, cell: &str, page: DurationPage) {
    sql.push(
        "SELECT * FROM (SELECT COALESCE(orig_cell_id, '') AS orig_cell_id, click_duration, \
         time, id FROM ",
    )
    .push(RolledTable::Focus.name())
    .push(" WHERE ")
    .scope(scope, "time")
    .unmapped_or_cell(cell)
    .push(" AND ")
    .kept_duration_in_time_order();
    limit(sql, page);
    sql.push(") AS page");
}

/// ` ORDER BY time, id LIMIT … OFFSET …`: the page, in event order then arrival.
fn limit(sql: &mut Sql, page: DurationPage) {
    sql.push(" ORDER BY time, id LIMIT ")
        .bind(page.limit)
        .push(" OFFSET ")
        .bind(page.offset);
}
