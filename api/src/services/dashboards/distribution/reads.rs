//! The duration summary's two reads: per cell and tenth of a second, the durations' count and
//! sum (from the rollups for the whole class, from the events for some students); then the
//! durations at the ranks the summary reads, each found in its tenth.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult};
use serde_json::json;

use super::CellTenths;
use crate::{
    error::{AppError, AppResult},
    services::{
        dashboards::{Scope, arrays::number_array_column, cells::kept_durations, rolled, sql::Sql},
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
    // Not grouped by tenth: a tenth has a row per bucket read (the whole course reads mostly
    // the all-time tier's one) and per event of the edges, and PostgreSQL took longer to hash
    // them than to read them; [`cell_tenths`] adds them up.
    let backend = txn.get_database_backend();
    let shape = (per_cell_arrays(backend), " GROUP BY cell");
    let sql = rolled::summed(txn, (scope, progress), rolled::Sums::Tenths, shape).await?;
    let rows = txn.query_all_raw(sql.build()).await?;
    Ok(cell_tenths(parts_from_arrays(&rows, backend)?))
}

/// Each cell's parts as one row of three arrays, `tenths`, `n` and `total`, from parts of
/// `cell, tenths, kept_count, kept_sum`: decoding 16 000 rows (the last session at 1.5 M
/// events) took the server longer than the database took to read them. PostgreSQL sends them
/// binary (`int8[]`, `float8[]`); SQLite, which has no arrays, as JSON text, each sum with 17
/// significant digits so that it reads back as the same double.
fn per_cell_arrays(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "SELECT cell AS orig_cell_id, array_agg(CAST(tenths AS BIGINT)) AS tenths, \
             array_agg(CAST(kept_count AS BIGINT)) AS n, \
             array_agg(CAST(kept_sum AS DOUBLE PRECISION)) AS total"
        }
        _ => {
            "SELECT cell AS orig_cell_id, '[' || group_concat(tenths) || ']' AS tenths, \
             '[' || group_concat(kept_count) || ']' AS n, \
             '[' || group_concat(printf('%!.17g', kept_sum)) || ']' AS total"
        }
    }
}

/// For some students: per cell and tenth, the count and sum of the window's durations (the
/// rows of 30 students' whole course, 13 900 tenths, took the server 10 ms to decode as rows).
pub(super) async fn scanned_tenths(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> AppResult<BTreeMap<String, CellTenths>> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push(per_cell_arrays(backend))
        .push(
            " FROM (SELECT orig_cell_id AS cell, tenths, COUNT(*) AS kept_count, \
             SUM(click_duration) AS kept_sum FROM (SELECT orig_cell_id, ",
        )
        .tenths("click_duration")
        .push(" AS tenths, click_duration FROM (");
    kept_durations(&mut sql, scope);
    sql.push(") AS kept) AS tenths GROUP BY orig_cell_id, tenths) AS parts GROUP BY cell");
    let rows = txn.query_all_raw(sql.build()).await?;
    Ok(cell_tenths(parts_from_arrays(&rows, backend)?))
}

/// Per cell, its `(tenths, count, sum)` parts.
type PartsByCell = BTreeMap<String, Vec<(i64, i64, f64)>>;

/// A row per cell, `orig_cell_id` and its parts' `tenths`, `n` and `total` as arrays of one
/// length (PostgreSQL's own, or SQLite's JSON text), in the same order (one aggregate pass
/// fills the three).
fn parts_from_arrays(rows: &[QueryResult], backend: DbBackend) -> AppResult<PartsByCell> {
    let mut parts: PartsByCell = BTreeMap::new();
    for row in rows {
        let tenths: Vec<i64> = number_array_column(row, "tenths", backend)?;
        let counts: Vec<i64> = number_array_column(row, "n", backend)?;
        let totals: Vec<f64> = number_array_column(row, "total", backend)?;
        if tenths.len() != counts.len() || tenths.len() != totals.len() {
            return Err(AppError::internal(anyhow::anyhow!(
                "a cell's arrays of tenths differ in length"
            )));
        }
        let cell = tenths.into_iter().zip(counts).zip(totals);
        parts
            .entry(row.try_get("", "orig_cell_id")?)
            .or_default()
            .extend(cell.map(|((tenths, n), total)| (tenths, n, total)));
    }
    Ok(parts)
}

/// Per cell, its parts added up by tenth (a tenth may have several: rollup tiers, a window's
/// edges, and rows taken away). A tenth whose durations all lie outside the window sums to
/// none and is left out, as is a cell left with none.
fn cell_tenths(parts: PartsByCell) -> BTreeMap<String, CellTenths> {
    let mut cells = BTreeMap::new();
    for (cell_id, mut rows) in parts {
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
    cells
}

/// The durations at `wanted` places, `(cell, tenths, index)`: the `index`-th (0-based,
/// ascending) duration of the cell's tenth, in the scope.
pub(super) async fn values_at(
    txn: &DatabaseTransaction,
    scope: &Scope,
    wanted: &[(&str, i64, i64)],
) -> AppResult<BTreeMap<(String, i64, i64), f64>> {
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    match txn.get_database_backend() {
        DbBackend::Postgres => positions_joined(txn, scope, wanted).await,
        _ => positions_in_tenths(txn, scope, wanted).await,
    }
}

/// SQLite: the wanted tenths' durations, sorted here, read at the wanted positions.
async fn positions_in_tenths(
    txn: &DatabaseTransaction,
    scope: &Scope,
    wanted: &[(&str, i64, i64)],
) -> AppResult<BTreeMap<(String, i64, i64), f64>> {
    let mut tenths_by_cell: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for &(cell, tenths, _) in wanted {
        tenths_by_cell.entry(cell).or_default().push(tenths);
    }
    let mut values = values_in(txn, scope, tenths_by_cell).await?;
    for durations in values.values_mut() {
        durations.sort_by(f64::total_cmp);
    }
    Ok(wanted
        .iter()
        .filter_map(|&(cell, tenths, index)| {
            let durations = values.get(&(cell.to_owned(), tenths))?;
            let value = durations.get(usize::try_from(index).ok()?)?;
            Some(((cell.to_owned(), tenths, index), *value))
        })
        .collect())
}

/// PostgreSQL: each place as a row of one JSON parameter, joined to its tenth's range of the
/// `OFF` focus index (cell, duration, time) in duration order and stepped to its position
/// there, so no duration but the wanted ones leaves the database: a 15 M-event class's tenths
/// hold thousands each. The unmapped cell (null in the events) has a branch per place.
///
/// The places read no outlier limit: with it, PostgreSQL could also read the partial index of
/// kept durations by time, walking the cell's whole window for every place and sorting it. It
/// chose that on some samples of `ANALYZE` (the newest times are the ones its statistics know
/// least), and took 36 ms instead of 10 for the last session of a 15 M-event class. No outlier
/// is ever read: the only tenth that holds both kinds (5000.0 to 5000.1 s) has its kept
/// duration (5000 s) first, and a place's position is below its tenth's count of kept
/// durations.
async fn positions_joined(
    txn: &DatabaseTransaction,
    scope: &Scope,
    wanted: &[(&str, i64, i64)],
) -> AppResult<BTreeMap<(String, i64, i64), f64>> {
    let rows: Vec<_> = wanted
        .iter()
        .filter(|(cell, ..)| !cell.is_empty())
        .map(|&(cell, tenths, index)| {
            let (low, high) = tenth_range(tenths);
            json!({ "cell": cell, "low": low, "high": high, "tenths": tenths, "skip": index })
        })
        .collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT w.cell AS orig_cell_id, w.tenths, w.skip, e.click_duration FROM ")
        .push("json_to_recordset(")
        .bind(json!(rows).to_string())
        .push("::json) AS w(cell text, low float8, high float8, tenths bigint, skip bigint) ")
        .push("CROSS JOIN LATERAL (");
    duration_at(&mut sql, scope, Place::Joined);
    sql.push(") AS e");
    for &(_, tenths, index) in wanted.iter().filter(|(cell, ..)| cell.is_empty()) {
        sql.push(" UNION ALL SELECT '', ")
            .bind(tenths)
            .push(", ")
            .bind(index)
            .push(", click_duration FROM (");
        duration_at(&mut sql, scope, Place::Unmapped { tenths, index });
        sql.push(") AS e");
    }
    let mut values = BTreeMap::new();
    for row in txn.query_all_raw(sql.build()).await? {
        let place = (
            row.try_get("", "orig_cell_id")?,
            row.try_get("", "tenths")?,
            row.try_get("", "skip")?,
        );
        values.insert(place, row.try_get("", "click_duration")?);
    }
    Ok(values)
}

/// Where [`duration_at`] finds its cell, tenth and position.
enum Place {
    /// The columns of the joined JSON rows (`w`).
    Joined,
    /// The unmapped cell, with the tenth and position bound.
    Unmapped { tenths: i64, index: i64 },
}

/// `SELECT click_duration` of the place's duration: the `OFF` durations of its cell in the
/// scope (no outlier limit: see [`positions_joined`]), within its tenth's range and of its
/// tenth, ascending, stepped to its position.
fn duration_at(sql: &mut Sql, scope: &Scope, place: Place) {
    sql.push("SELECT click_duration FROM ")
        .push(RolledTable::Focus.name())
        .push(" WHERE ")
        .scope(scope, "time");
    match place {
        Place::Joined => sql.push(" AND orig_cell_id = w.cell"),
        Place::Unmapped { .. } => sql.unmapped_or_cell(""),
    };
    sql.push(" AND click_type = 'OFF' AND click_duration >= ");
    match place {
        Place::Joined => sql
            .push("w.low AND click_duration < w.high AND ")
            .tenths("click_duration")
            .push(" = w.tenths ORDER BY click_duration LIMIT 1 OFFSET w.skip"),
        Place::Unmapped { tenths, index } => {
            let (low, high) = tenth_range(tenths);
            sql.bind(low)
                .push(" AND click_duration < ")
                .bind(high)
                .push(" AND ")
                .tenths("click_duration")
                .push(" = ")
                .bind(tenths)
                .push(" ORDER BY click_duration LIMIT 1 OFFSET ")
                .bind(index)
        }
    };
}

/// Seconds around a tenth, a little wide ([`MARGIN_SECS`]): the index's range, inside which
/// the tenth's own formula picks its durations.
fn tenth_range(tenths: i64) -> (f64, f64) {
    (
        tenths as f64 / 10.0 - MARGIN_SECS,
        (tenths + 1) as f64 / 10.0 + MARGIN_SECS,
    )
}

/// SQLite: the durations of each cell's tenths, by (cell, tenths); a few of the next tenths'
/// may come too ([`MARGIN_SECS`]). Each run of consecutive tenths is one range of the `OFF`
/// focus index (cell, duration, time), whose time filters the window without the rows.
async fn values_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    tenths_by_cell: BTreeMap<&str, Vec<i64>>,
) -> AppResult<BTreeMap<(String, i64), Vec<f64>>> {
    let ranges: Vec<(&str, f64, f64)> = tenths_by_cell
        .into_iter()
        .flat_map(|(cell, mut tenths)| {
            tenths.sort_unstable();
            tenths.dedup();
            runs(&tenths)
                .into_iter()
                .map(move |(first, last)| (cell, tenth_range(first).0, tenth_range(last).1))
        })
        .collect();
    let mut values: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
    let sql = ranges_joined(scope, &ranges);
    for row in txn.query_all_raw(sql.build()).await? {
        let duration: f64 = row.try_get("", "click_duration")?;
        let key = (row.try_get("", "orig_cell_id")?, duration_tenths(duration));
        values.entry(key).or_default().push(duration);
    }
    Ok(values)
}

/// SQLite: the ranges as rows of a JSON parameter, `[cell, low, high]`, each joined to its
/// range of the `OFF` focus index by duration: one seek per range, and one statement text
/// (prepared once) whatever the ranges. A cell's ranges joined by `OR` were read as one, from
/// the lowest to the highest. The unmapped cell (null in the events) has a join of its own.
fn ranges_joined(scope: &Scope, ranges: &[(&str, f64, f64)]) -> Sql {
    let (unmapped, mapped): (Vec<_>, Vec<_>) =
        ranges.iter().partition(|(cell, ..)| cell.is_empty());
    let mut sql = Sql::new(DbBackend::Sqlite);
    for (index, (ranges, cell)) in [(mapped, " = w.value ->> 0"), (unmapped, " IS NULL")]
        .into_iter()
        .filter(|(ranges, _)| !ranges.is_empty())
        .enumerate()
    {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        let rows: Vec<_> = ranges
            .iter()
            .map(|(cell, low, high)| json!([cell, low, high]))
            .collect();
        // CROSS JOIN keeps the ranges as the outer loop; the range of durations comes before
        // the kept condition's own limit (see `Sql::kept_duration`).
        sql.push(
            "SELECT COALESCE(e.orig_cell_id, '') AS orig_cell_id, e.click_duration FROM json_each(",
        )
        .bind(json!(rows).to_string())
        .push(") AS w CROSS JOIN ")
        .push(RolledTable::Focus.name())
        .push(" AS e INDEXED BY ")
        .push(migration::OFF_DURATIONS)
        .push(" WHERE e.orig_cell_id")
        .push(cell)
        .push(" AND e.click_duration >= w.value ->> 1 AND e.click_duration < w.value ->> 2 AND ")
        .scope(scope, "e.time")
        .push(" AND ")
        .kept_duration();
    }
    sql
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
