//! The duration summary's two reads: per cell and tenth of a second, the durations' count and
//! sum (from the rollups for the whole class, from the events for some students); then the
//! durations of the tenths that hold the ranks the summary reads.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};
use serde_json::json;

use super::CellTenths;
use crate::{
    error::AppResult,
    services::{
        dashboards::{Scope, cells::kept_durations, rolled, sql::Sql},
        rollups::{RolledTable, duration_tenths},
    },
};

/// Fetched around each run of tenths: the SQL range and [`duration_tenths`] may disagree on a
/// duration within a rounding error of a tenth's edge, so the range takes a little more and
/// each duration is filed under its own tenth.
const MARGIN_SECS: f64 = 0.01;

/// For the whole class: per cell and tenth, its durations' count and sum, from the duration
/// rollups (and the events of the window's partial hours and of the unapplied rows).
pub(super) async fn rolled_tenths(
    txn: &DatabaseTransaction,
    scope: &Scope,
    progress: &rolled::Progress,
) -> AppResult<BTreeMap<String, CellTenths>> {
    // Not grouped: a tenth has a row per bucket read (the whole course reads mostly the
    // all-time tier's one) and per event of the edges, and PostgreSQL took longer to hash
    // them than to read them; [`cell_tenths`] adds them up.
    let shape = (
        "SELECT cell AS orig_cell_id, tenths, kept_count AS n, kept_sum AS total",
        "",
    );
    let sql = rolled::summed(txn, (scope, progress), rolled::Sums::Tenths, shape).await?;
    cell_tenths(txn, sql).await
}

/// For some students: per cell and tenth, the count and sum of the window's durations.
pub(super) async fn scanned_tenths(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> AppResult<BTreeMap<String, CellTenths>> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push(
        "SELECT orig_cell_id, tenths, COUNT(*) AS n, SUM(click_duration) AS total FROM \
         (SELECT orig_cell_id, ",
    )
    .tenths("click_duration")
    .push(" AS tenths, click_duration FROM (");
    kept_durations(&mut sql, scope);
    sql.push(") AS kept) AS tenths GROUP BY orig_cell_id, tenths");
    cell_tenths(txn, sql).await
}

/// Rows of `orig_cell_id, tenths, n, total`, by cell, those of one tenth added up (a tenth may
/// have several: rollup tiers, a window's edges, and rows taken away). A tenth whose durations
/// all lie outside the window sums to none and is left out, as is a cell left with none.
async fn cell_tenths(
    txn: &DatabaseTransaction,
    sql: Sql,
) -> AppResult<BTreeMap<String, CellTenths>> {
    let mut rows_by_cell: BTreeMap<String, Vec<(i64, i64, f64)>> = BTreeMap::new();
    for row in txn.query_all_raw(sql.build()).await? {
        let part = (
            row.try_get("", "tenths")?,
            row.try_get("", "n")?,
            row.try_get("", "total")?,
        );
        rows_by_cell
            .entry(row.try_get("", "orig_cell_id")?)
            .or_default()
            .push(part);
    }
    let mut cells = BTreeMap::new();
    for (cell_id, mut rows) in rows_by_cell {
        rows.sort_unstable_by_key(|&(tenths, ..)| tenths);
        let mut cell = CellTenths::default();
        for same_tenth in rows.chunk_by(|a, b| a.0 == b.0) {
            let count: i64 = same_tenth.iter().map(|&(_, n, _)| n).sum();
            if count > 0 {
                cell.count += count;
                cell.total += same_tenth.iter().map(|&(.., total)| total).sum::<f64>();
                cell.tenths.push((same_tenth[0].0, count));
            }
        }
        if cell.count > 0 {
            cells.insert(cell_id, cell);
        }
    }
    Ok(cells)
}

/// The durations of each cell's `wanted` tenths, by (cell, tenths); a few of the next tenths'
/// may come too ([`MARGIN_SECS`]). Each run of consecutive tenths is one range of the `OFF`
/// focus index (cell, duration, time), whose time filters the window without the rows.
pub(super) async fn values_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    wanted: &[(&str, Vec<i64>)],
) -> AppResult<BTreeMap<(String, i64), Vec<f64>>> {
    let ranges: Vec<(&str, f64, f64)> = wanted
        .iter()
        .flat_map(|(cell, tenths)| {
            runs(tenths).into_iter().map(|(first, last)| {
                let low = first as f64 / 10.0 - MARGIN_SECS;
                (*cell, low, (last + 1) as f64 / 10.0 + MARGIN_SECS)
            })
        })
        .collect();
    let mut values: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
    if ranges.is_empty() {
        return Ok(values);
    }
    let sql = match txn.get_database_backend() {
        DbBackend::Postgres => ranges_joined(scope, &ranges),
        backend => ranges_in_branches(backend, scope, &ranges),
    };
    for row in txn.query_all_raw(sql.build()).await? {
        let duration: f64 = row.try_get("", "click_duration")?;
        let key = (row.try_get("", "orig_cell_id")?, duration_tenths(duration));
        values.entry(key).or_default().push(duration);
    }
    Ok(values)
}

/// PostgreSQL: the ranges as rows of one JSON parameter, each joined to its index range, so
/// the statement is planned once (a branch per range took longer to plan than to run). The
/// unmapped cell (null in the events) has a branch of its own.
fn ranges_joined(scope: &Scope, ranges: &[(&str, f64, f64)]) -> Sql {
    type Range<'a> = &'a (&'a str, f64, f64);
    let (unmapped, mapped): (Vec<Range>, Vec<Range>) =
        ranges.iter().partition(|(cell, ..)| cell.is_empty());
    let rows: Vec<_> = mapped
        .iter()
        .map(|(cell, low, high)| json!({ "cell": cell, "low": low, "high": high }))
        .collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT w.cell AS orig_cell_id, e.click_duration FROM json_to_recordset(")
        .bind(json!(rows).to_string())
        .push("::json) AS w(cell text, low float8, high float8) CROSS JOIN LATERAL (")
        .push("SELECT click_duration FROM ")
        .push(RolledTable::Focus.name())
        .push(" WHERE ")
        .scope(scope, "time")
        .push(" AND orig_cell_id = w.cell AND ")
        .kept_duration()
        .push(" AND click_duration >= w.low AND click_duration < w.high) AS e");
    if !unmapped.is_empty() {
        sql.push(" UNION ALL ");
        branch(&mut sql, scope, &unmapped);
    }
    sql
}

/// SQLite: one branch per cell, a range each (its planner is quick).
fn ranges_in_branches(backend: DbBackend, scope: &Scope, ranges: &[(&str, f64, f64)]) -> Sql {
    let mut by_cell: BTreeMap<&str, Vec<&(&str, f64, f64)>> = BTreeMap::new();
    for range in ranges {
        by_cell.entry(range.0).or_default().push(range);
    }
    let mut sql = Sql::new(backend);
    for (index, cell_ranges) in by_cell.values().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        branch(&mut sql, scope, cell_ranges);
    }
    sql
}

/// `SELECT orig_cell_id, click_duration` of one cell's kept durations in `ranges`.
fn branch(sql: &mut Sql, scope: &Scope, ranges: &[&(&str, f64, f64)]) {
    let Some((cell, ..)) = ranges.first() else {
        return;
    };
    sql.push("SELECT COALESCE(orig_cell_id, '') AS orig_cell_id, click_duration FROM ")
        .push(RolledTable::Focus.name())
        .push(" WHERE ")
        .scope(scope, "time")
        .unmapped_or_cell(cell)
        .push(" AND ")
        .kept_duration()
        .push(" AND (");
    for (index, (_, low, high)) in ranges.iter().enumerate() {
        if index > 0 {
            sql.push(" OR ");
        }
        sql.push("(click_duration >= ")
            .bind(*low)
            .push(" AND click_duration < ")
            .bind(*high)
            .push(")");
    }
    sql.push(")");
}

/// Ascending tenths as runs of consecutive ones, `(first, last)`.
fn runs(tenths: &[i64]) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &tenth in tenths {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == tenth => *last = tenth,
            _ => runs.push((tenth, tenth)),
        }
    }
    runs
}
