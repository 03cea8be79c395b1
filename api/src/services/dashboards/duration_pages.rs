//! A page of each cell's kept durations (`focusDurationsPerCell`), in event order. Numbering
//! every duration of the window per cell to cut a page from it read and sorted the whole
//! window; instead, in one snapshot:
//! 1. each cell's total, summed from the rollups (`Sums::KeptDurations`, per student, so a
//!    group filter reads them too);
//! 2. each cell's page, walked in time order on the partial index of kept durations by
//!    (notebook, cell, time) and stopped after the page: `offset + limit` durations per cell,
//!    not the window.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend};
use serde_json::json;

use super::{
    Scope,
    cells::{CellDurations, DurationPage},
    rolled,
    sql::{Sql, array_column},
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
    let reachable: Vec<&str> = totals
        .iter()
        .filter(|(_, total)| **total > page.offset)
        .map(|(cell, _)| cell.as_str())
        .collect();
    let pages = match reachable.is_empty() {
        true => Vec::new(),
        false => pages_as_arrays(&txn, scope, &reachable, page).await?,
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

/// A row per cell, its page as one array of its durations: 60 000 durations as rows took
/// longer to send, sort and decode than to read. PostgreSQL sends a `float8[]`, each double as
/// its 8 bytes (writing them as JSON text took 3 ms of the statement's 20 for a 1.5 M-event
/// class's whole course, and the server parsed that text back); SQLite, which has no arrays, a
/// JSON array of text that reads back as the same doubles (17 significant digits: its JSON
/// functions write 15).
async fn pages_as_arrays(
    txn: &DatabaseTransaction,
    scope: &Scope,
    cells: &[&str],
    page: DurationPage,
) -> AppResult<Vec<(String, Vec<f64>)>> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => pages_joined(scope, cells, page),
        _ => pages_in_branches(scope, cells, page),
    };
    let mut pages = Vec::with_capacity(cells.len());
    for row in txn.query_all_raw(sql.build()).await? {
        let cell: String = row.try_get("", "orig_cell_id")?;
        pages.push((cell, array_column(&row, "durations", backend)?));
    }
    pages.sort_unstable_by(|a, b| a.0.cmp(&b.0));
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
/// the statement is planned once (and no step sorts every cell's rows together). `ARRAY(…)`
/// keeps its subquery's order, which an aggregate would sort again (and is an empty array, not
/// null, for an empty page). The unmapped cell (null in the events) has a branch of its own.
fn pages_joined(scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mapped: Vec<_> = cells.iter().filter(|cell| !cell.is_empty()).collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT w.cell AS orig_cell_id, ARRAY(");
    page_of_cell(&mut sql, scope, (DURATIONS, Cell::Joined), page);
    sql.push(") AS durations FROM json_to_recordset(")
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
        sql.push(" UNION ALL SELECT '' AS orig_cell_id, ARRAY(");
        page_of_cell(&mut sql, scope, (DURATIONS, Cell::Named("")), page);
        sql.push(") AS durations");
    }
    sql
}

/// SQLite: one branch per cell, its page as a JSON array written by hand (see
/// [`pages_as_arrays`]).
fn pages_in_branches(scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mut sql = Sql::new(DbBackend::Sqlite);
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT ").bind(cell.to_string()).push(
            " AS orig_cell_id, '[' || group_concat(printf('%!.17g', click_duration), ',' \
                 ORDER BY time, id) || ']' AS durations FROM (",
        );
        page_of_cell(&mut sql, scope, (IN_ORDER, Cell::Named(cell)), page);
        sql.push(") AS page");
    }
    sql
}

/// Which cell a page is of.
#[derive(Clone, Copy)]
enum Cell<'a> {
    /// The joined JSON row's (`w.cell`).
    Joined,
    /// This one (`""`: the unmapped cell).
    Named(&'a str),
}

/// What a page selects: its durations alone (for `ARRAY(…)`), or with their order (for an
/// aggregate, which may take its rows in any order).
const DURATIONS: &str = "SELECT click_duration FROM ";
const IN_ORDER: &str = "SELECT click_duration, time, id FROM ";

/// `<select> <focus events> WHERE …`: one cell's page of kept durations, on the partial index
/// of kept durations by (notebook, cell, time).
fn page_of_cell(sql: &mut Sql, scope: &Scope, (select, cell): (&str, Cell), page: DurationPage) {
    sql.push(select).push(RolledTable::Focus.name());
    if sql.backend() == DbBackend::Sqlite {
        sql.push(" INDEXED BY ")
            .push(migration::KEPT_DURATIONS_BY_TIME);
    }
    sql.push(" WHERE ").scope(scope, "time");
    match cell {
        Cell::Joined => sql.push(" AND orig_cell_id = w.cell"),
        Cell::Named(cell) => sql.unmapped_or_cell(cell),
    };
    sql.push(" AND ").kept_duration();
    limit(sql, page);
}

/// ` ORDER BY time, id LIMIT … OFFSET …`: the page, in event order then arrival.
fn limit(sql: &mut Sql, page: DurationPage) {
    sql.push(" ORDER BY time, id LIMIT ")
        .bind(page.limit)
        .push(" OFFSET ")
        .bind(page.offset);
}
