//! The distribution of the counted focus durations per cell, summarised on the server: count,
//! extremes, quartiles (the exclusive method of the progress series), mean, and a histogram
//! with fixed bucket edges. A dashboard draws a box plot or a histogram from it without
//! fetching every raw duration (`focusDurationsPerCell`, which a whole course makes large).
//!
//! Two statements in one snapshot ([`reads`]), and no sort of the durations in the database:
//! 1. per cell and tenth of a second (`rollups::duration_tenths`), the count and sum of its durations:
//!    for the whole class, the duration rollups'; filtered to some students, a scan of the
//!    window's durations (the rollups are per notebook). The histogram's edges are whole
//!    seconds, so its buckets are sums of these; so are the cell's count and sum; and they
//!    tell in which tenth each rank lies;
//! 2. the durations at the ranks read (the extremes and the quartiles', at most eight per
//!    cell), each found as its position among the durations of its tenth.
//!
//! Durations are never negative (ingest rejects them).

mod reads;

use std::{cell::RefCell, collections::BTreeMap};

use sea_orm::DatabaseConnection;

use super::{Scope, progress::quartiles_exclusive, rolled, round_micro};
use crate::{error::AppResult, services::rollups::second_of_tenths};

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
    // A scan for some students reads neither the watermarks nor the fold.
    let (txn, cells) = match scope.has_every_student() {
        true => {
            let (txn, progress) = rolled::begin(db).await?;
            let cells = reads::rolled_tenths(&txn, scope, &progress).await?;
            (txn, cells)
        }
        false => {
            let txn = rolled::snapshot(db).await?;
            let cells = reads::scanned_tenths(&txn, scope).await?;
            (txn, cells)
        }
    };
    let wanted: Vec<(&str, i64, i64)> = cells
        .iter()
        .flat_map(|(cell_id, cell)| {
            cell.places_of(&ranks_read(cell.count))
                .into_iter()
                .map(|(tenths, index)| (cell_id.as_str(), tenths, index))
        })
        .collect();
    let values = reads::values_at(&txn, scope, &wanted).await?;
    txn.commit().await?;
    Ok(cells
        .into_iter()
        .map(|(cell_id, cell)| cell.summary(cell_id, &values))
        .collect())
}

/// The ranks (0-based, ascending) the summary reads for `count` values: the extremes and
/// those [`quartiles_exclusive`] reads.
fn ranks_read(count: i64) -> Vec<i64> {
    let ranks = RefCell::new(vec![0, count - 1]);
    quartiles_exclusive(count, |rank| {
        ranks.borrow_mut().push(rank);
        0.0
    });
    ranks.into_inner()
}

/// One cell's durations, by tenth of a second (`rollups::duration_tenths`).
#[derive(Default)]
pub(super) struct CellTenths {
    count: i64,
    total: f64,
    /// (tenths, durations in it), ascending.
    tenths: Vec<(i64, i64)>,
}

impl CellTenths {
    /// The tenth holding each rank, and the rank's position among that tenth's durations.
    fn locate(&self, rank: i64) -> Option<(i64, i64)> {
        let mut before = 0;
        for &(tenths, count) in &self.tenths {
            if rank < before + count {
                return Some((tenths, rank - before));
            }
            before += count;
        }
        None
    }

    /// Where `ranks` lie: (tenths, position in the tenth), ascending and distinct.
    fn places_of(&self, ranks: &[i64]) -> Vec<(i64, i64)> {
        let mut places: Vec<(i64, i64)> =
            ranks.iter().filter_map(|&rank| self.locate(rank)).collect();
        places.sort_unstable();
        places.dedup();
        places
    }

    fn summary(
        self,
        cell_id: String,
        values: &BTreeMap<(String, i64, i64), f64>,
    ) -> DurationSummary {
        let nth = |rank: i64| {
            self.locate(rank)
                .and_then(|(tenths, index)| values.get(&(cell_id.clone(), tenths, index)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let (first_quartile, median, third_quartile) = quartiles_exclusive(self.count, nth);
        let histogram = HISTOGRAM_EDGES
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let last = index + 2 == HISTOGRAM_EDGES.len();
                // The edges are whole seconds, so each tenth lies in one bucket.
                self.tenths
                    .iter()
                    .filter(|&&(tenths, _)| {
                        let second = second_of_tenths(tenths) as f64;
                        second >= pair[0] && (second < pair[1] || (last && second == pair[1]))
                    })
                    .map(|&(_, count)| count)
                    .sum()
            })
            .collect();
        let (min, max) = (nth(0), nth(self.count - 1));
        DurationSummary {
            mean: round_micro(self.total / self.count as f64),
            cell_id,
            count: self.count,
            min,
            first_quartile,
            median,
            third_quartile,
            max,
            histogram,
        }
    }
}
