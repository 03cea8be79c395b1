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
use crate::{error::AppResult, services::rollups::RolledTable};

/// Per cell with a kept duration in the scope, `page` of its durations (by event time, then
/// arrival) and its total; a cell whose page is past its end is left out.
pub async fn focus_duration_pages(
    db: &DatabaseConnection,
    scope: &Scope,
    page: DurationPage,
) -> AppResult<Vec<CellDurations>> {
    let (txn, progress) = rolled::begin(db).await?;
    let totals = totals(&txn, scope, &progress).await?;
    let mut cells: BTreeMap<String, CellDurations> = BTreeMap::new();
    let reachable: Vec<&str> = totals
        .iter()
        .filter(|(_, total)| **total > page.offset)
        .map(|(cell, _)| cell.as_str())
        .collect();
    if !reachable.is_empty() {
        let sql = match db.get_database_backend() {
            DbBackend::Postgres => pages_joined(scope, &reachable, page),
            backend => pages_in_branches(backend, scope, &reachable, page),
        };
        for row in txn.query_all_raw(sql.build()).await? {
            let cell_id: String = row.try_get("", "orig_cell_id")?;
            let total_count = totals.get(&cell_id).copied().unwrap_or_default();
            cells
                .entry(cell_id.clone())
                .or_insert_with(|| CellDurations {
                    cell_id,
                    durations: Vec::new(),
                    total_count,
                })
                .durations
                .push(row.try_get("", "click_duration")?);
        }
    }
    txn.commit().await?;
    Ok(cells.into_values().collect())
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

/// PostgreSQL: the cells as rows of one JSON parameter, each joined to its page, so the
/// statement is planned once. The unmapped cell (null in the events) has a branch of its own.
fn pages_joined(scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mapped: Vec<_> = cells.iter().filter(|cell| !cell.is_empty()).collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push(
        "SELECT w.cell AS orig_cell_id, p.click_duration, p.time, p.id FROM json_to_recordset(",
    )
    .bind(
        json!(
            mapped
                .iter()
                .map(|cell| json!({ "cell": cell }))
                .collect::<Vec<_>>()
        )
        .to_string(),
    )
    .push("::json) AS w(cell text) CROSS JOIN LATERAL (SELECT click_duration, time, id FROM ")
    .push(RolledTable::Focus.name())
    .push(" WHERE ")
    .scope(scope, "time")
    .push(" AND orig_cell_id = w.cell AND ")
    .kept_duration_in_time_order();
    limit(&mut sql, page);
    sql.push(") AS p");
    if cells.contains(&"") {
        sql.push(" UNION ALL ");
        branch(&mut sql, scope, "", page);
    }
    sql.push(" ORDER BY orig_cell_id, time, id");
    sql
}

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
