//! The distribution of the counted focus durations per cell, summarised on the server: count,
//! extremes, quartiles (the exclusive method of the progress series), mean, and a histogram
//! with fixed bucket edges. A dashboard draws a box plot or a histogram from it without
//! fetching every raw duration (`focusDurationsPerCell`, which a whole course makes large).
//!
//! Two statements in one snapshot, and no sort of the durations in the database (sorting every
//! duration of a window by cell was most of the cost):
//! 1. per cell and whole second (`Sql::whole_seconds`), the count, sum and extremes:
//!    the histogram's edges are whole seconds, so its buckets are sums of these; so are the
//!    cell's count, sum and extremes; and they tell in which second each rank lies;
//! 2. the durations of the few seconds that hold the ranks the quartiles read (at most six
//!    per cell), sorted here.
//!
//! Durations are never negative (ingest rejects them), so a duration's second is its floor.

use std::{cell::RefCell, collections::BTreeMap};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

use super::{
    Scope, cells::kept_durations, progress::quartiles_exclusive, rolled, round_micro, sql::Sql,
};
use crate::error::AppResult;

/// Bucket edges in seconds: a bucket holds durations from its edge up to the next (the last,
/// up to the 5000 s outlier limit, inclusive).
pub const HISTOGRAM_EDGES: [f64; 12] = [
    0.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 5000.0,
];

#[derive(Debug, Clone, PartialEq)]
pub struct DurationSummary {
    pub cell_id: String,
    pub count: i64,
    pub min: f64,
    pub first_quartile: f64,
    pub median: f64,
    pub third_quartile: f64,
    pub max: f64,
    /// Rounded to the microsecond.
    pub mean: f64,
    /// Durations per bucket of [`HISTOGRAM_EDGES`] (one fewer than the edges).
    pub histogram: Vec<i64>,
}

/// Per original cell (by id), the summary of its counted durations in the scope.
pub async fn duration_summaries(
    db: &DatabaseConnection,
    scope: &Scope,
) -> AppResult<Vec<DurationSummary>> {
    let txn = rolled::snapshot(db).await?;
    let cells = per_second(&txn, scope).await?;
    let wanted: Vec<(&str, Vec<i64>)> = cells
        .iter()
        .map(|(cell_id, cell)| (cell_id.as_str(), cell.seconds_of(&ranks_read(cell.count))))
        .collect();
    let mut values = values_in(&txn, scope, &wanted).await?;
    txn.commit().await?;
    for durations in values.values_mut() {
        durations.sort_by(f64::total_cmp);
    }
    Ok(cells
        .into_iter()
        .map(|(cell_id, cell)| cell.summary(cell_id, &values))
        .collect())
}

/// The ranks (0-based, ascending) [`quartiles_exclusive`] reads for `count` values.
fn ranks_read(count: i64) -> Vec<i64> {
    let ranks = RefCell::new(Vec::new());
    quartiles_exclusive(count, |rank| {
        ranks.borrow_mut().push(rank);
        0.0
    });
    ranks.into_inner()
}

/// One cell's durations, by whole second.
#[derive(Default)]
struct CellSeconds {
    count: i64,
    total: f64,
    min: f64,
    max: f64,
    /// (second, durations in it), ascending.
    seconds: Vec<(i64, i64)>,
}

impl CellSeconds {
    /// The second holding each rank, and the rank's position among that second's durations.
    fn locate(&self, rank: i64) -> Option<(i64, i64)> {
        let mut before = 0;
        for &(second, count) in &self.seconds {
            if rank < before + count {
                return Some((second, rank - before));
            }
            before += count;
        }
        None
    }

    fn seconds_of(&self, ranks: &[i64]) -> Vec<i64> {
        let mut seconds: Vec<i64> = ranks
            .iter()
            .filter_map(|&rank| self.locate(rank).map(|(second, _)| second))
            .collect();
        seconds.sort_unstable();
        seconds.dedup();
        seconds
    }

    fn summary(
        self,
        cell_id: String,
        values: &BTreeMap<(String, i64), Vec<f64>>,
    ) -> DurationSummary {
        let nth = |rank: i64| {
            self.locate(rank)
                .and_then(|(second, index)| {
                    let durations = values.get(&(cell_id.clone(), second))?;
                    durations.get(usize::try_from(index).ok()?).copied()
                })
                .unwrap_or(f64::NAN)
        };
        let (first_quartile, median, third_quartile) = quartiles_exclusive(self.count, nth);
        let histogram = HISTOGRAM_EDGES
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let last = index + 2 == HISTOGRAM_EDGES.len();
                self.seconds
                    .iter()
                    .filter(|&&(second, _)| {
                        let second = second as f64;
                        second >= pair[0] && (second < pair[1] || (last && second == pair[1]))
                    })
                    .map(|&(_, count)| count)
                    .sum()
            })
            .collect();
        DurationSummary {
            mean: round_micro(self.total / self.count as f64),
            cell_id,
            count: self.count,
            min: self.min,
            first_quartile,
            median,
            third_quartile,
            max: self.max,
            histogram,
        }
    }
}

/// Statement 1: per cell, its durations' count, sum, extremes and seconds.
async fn per_second(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> AppResult<BTreeMap<String, CellSeconds>> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push(
        "SELECT orig_cell_id, second, COUNT(*) AS n, SUM(click_duration) AS total, \
              MIN(click_duration) AS low, MAX(click_duration) AS high FROM (",
    );
    seconds(&mut sql, scope);
    sql.push(") AS seconds GROUP BY orig_cell_id, second");
    let mut cells: BTreeMap<String, CellSeconds> = BTreeMap::new();
    for row in txn.query_all_raw(sql.build()).await? {
        let count: i64 = row.try_get("", "n")?;
        let (low, high): (f64, f64) = (row.try_get("", "low")?, row.try_get("", "high")?);
        let cell = cells
            .entry(row.try_get("", "orig_cell_id")?)
            .or_insert(CellSeconds {
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                ..CellSeconds::default()
            });
        cell.count += count;
        cell.total += row.try_get::<f64>("", "total")?;
        (cell.min, cell.max) = (cell.min.min(low), cell.max.max(high));
        cell.seconds.push((row.try_get("", "second")?, count));
    }
    for cell in cells.values_mut() {
        cell.seconds.sort_unstable();
    }
    Ok(cells)
}

/// Statement 2: the durations of each cell's `wanted` seconds, by (cell, second).
async fn values_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    wanted: &[(&str, Vec<i64>)],
) -> AppResult<BTreeMap<(String, i64), Vec<f64>>> {
    let mut values: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(values);
    }
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT orig_cell_id, second, click_duration FROM (");
    seconds(&mut sql, scope);
    sql.push(") AS seconds WHERE ");
    for (index, (cell_id, seconds)) in wanted.iter().enumerate() {
        if index > 0 {
            sql.push(" OR ");
        }
        sql.push("(orig_cell_id = ")
            .bind(cell_id.to_string())
            .push(" AND second IN ")
            .bind_list(seconds.iter().copied())
            .push(")");
    }
    for row in txn.query_all_raw(sql.build()).await? {
        let key = (row.try_get("", "orig_cell_id")?, row.try_get("", "second")?);
        values
            .entry(key)
            .or_default()
            .push(row.try_get("", "click_duration")?);
    }
    Ok(values)
}

/// `SELECT orig_cell_id, second, click_duration` of the kept durations.
fn seconds(sql: &mut Sql, scope: &Scope) {
    sql.push("SELECT orig_cell_id, ")
        .whole_seconds("click_duration")
        .push(" AS second, click_duration FROM (");
    kept_durations(sql, scope);
    sql.push(") AS kept");
}
