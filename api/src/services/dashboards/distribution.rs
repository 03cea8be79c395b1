//! The distribution of the counted focus durations per cell, summarised on the server: count,
//! extremes, quartiles (the exclusive method of the progress series), mean, and a histogram
//! with fixed bucket edges. A dashboard draws a box plot or a histogram from it without
//! fetching every raw duration (`focusDurationsPerCell`, which a whole course makes large).
//!
//! Two statements: one aggregate per cell (count, extremes, sum, bucket counts), and the few
//! order statistics the quartiles need (at most eight rows per cell, picked by rank with window
//! functions, so no cell's durations are loaded).

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::{Scope, cells::kept_durations, progress::quartiles_exclusive, round_micro, sql::Sql};
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
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Vec<DurationSummary>> {
    let mut cells = aggregates(db, scope).await?;
    let ranks = order_statistics(db, scope).await?;
    for cell in cells.values_mut() {
        let Some(by_rank) = ranks.get(&cell.cell_id) else {
            continue;
        };
        let nth = |k: i64| by_rank.get(&k).copied().unwrap_or(f64::NAN);
        let (q1, median, q3) = quartiles_exclusive(cell.count, nth);
        (cell.first_quartile, cell.median, cell.third_quartile) = (q1, median, q3);
    }
    Ok(cells.into_values().collect())
}

async fn aggregates(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<BTreeMap<String, DurationSummary>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("WITH kept AS (");
    kept_durations(&mut sql, scope);
    sql.push("), summed AS (SELECT orig_cell_id, COUNT(*) AS n, MIN(click_duration) AS low, MAX(click_duration) AS high, SUM(click_duration) AS total");
    let buckets = HISTOGRAM_EDGES.len() - 1;
    for (index, pair) in HISTOGRAM_EDGES.windows(2).enumerate() {
        let upper = match index + 1 == buckets {
            true => "<=",
            false => "<",
        };
        sql.push(&format!(
            ", CAST(SUM(CASE WHEN click_duration >= {} AND click_duration {upper} {} THEN 1 ELSE 0 END) AS BIGINT) AS b{index}",
            pair[0], pair[1]
        ));
    }
    sql.push(" FROM kept GROUP BY orig_cell_id) SELECT * FROM summed");
    let mut cells = BTreeMap::new();
    for row in db.query_all_raw(sql.build()).await? {
        let cell_id: String = row.try_get("", "orig_cell_id")?;
        let count: i64 = row.try_get("", "n")?;
        let total: f64 = row.try_get("", "total")?;
        let histogram = (0..buckets)
            .map(|index| row.try_get("", &format!("b{index}")))
            .collect::<Result<Vec<i64>, _>>()?;
        let summary = DurationSummary {
            cell_id: cell_id.clone(),
            count,
            min: row.try_get("", "low")?,
            first_quartile: f64::NAN,
            median: f64::NAN,
            third_quartile: f64::NAN,
            max: row.try_get("", "high")?,
            mean: round_micro(total / count as f64),
            histogram,
        };
        cells.insert(cell_id, summary);
    }
    Ok(cells)
}

/// Per cell, the durations at the ranks (0-based, ascending) the exclusive quartiles read:
/// the middle one or two, and the two around each quartile's position.
async fn order_statistics(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<BTreeMap<String, BTreeMap<i64, f64>>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("WITH kept AS (");
    kept_durations(&mut sql, scope);
    // j = clamp(i (n + 1) / 4, 1, n - 1) for the quartile i: ranks j - 1 and j are read.
    let j = |i: i64| {
        format!(
            "(CASE WHEN n < 2 THEN 1 WHEN {i} * (n + 1) / 4 < 1 THEN 1 WHEN {i} * (n + 1) / 4 > n - 1 THEN n - 1 ELSE {i} * (n + 1) / 4 END)"
        )
    };
    sql.push(&format!(
        "), ranked AS (SELECT orig_cell_id, click_duration, \
         ROW_NUMBER() OVER (PARTITION BY orig_cell_id ORDER BY click_duration) - 1 AS k, \
         COUNT(*) OVER (PARTITION BY orig_cell_id) AS n FROM kept) \
         SELECT orig_cell_id, k, click_duration FROM ranked WHERE k = n / 2 OR k = n / 2 - 1 \
         OR k = {j1} - 1 OR k = {j1} OR k = {j3} - 1 OR k = {j3}",
        j1 = j(1),
        j3 = j(3),
    ));
    let mut cells: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for row in db.query_all_raw(sql.build()).await? {
        let cell: String = row.try_get("", "orig_cell_id")?;
        let rank: i64 = row.try_get("", "k")?;
        cells
            .entry(cell)
            .or_default()
            .insert(rank, row.try_get("", "click_duration")?);
    }
    Ok(cells)
}
