//! Rollups of the per-cell dashboards: per notebook, original cell, student and time bucket,
//! the code and markdown executions, focus events and counted focus durations, and the
//! latest code execution (a maximum, for the latest attempts). The ingest's
//! rollup applier adds stored events to them after their commit, in large batches, up to a
//! watermark per event table ([`watermarks`]); the dashboards read whole buckets from here,
//! and from the events only a window's partial edges and the rows above the watermark, so
//! answers are exact while the work stays off the acknowledgement path.
//!
//! A rollup row per student is what lets a group or "live only" filter read rollups too, and
//! what keeps "time per cell" (a mean over students of each one's mean) exact: each student's
//! sum and count add up across buckets.
//!
//! This module holds the model (tiers, buckets, the cover of a window, the deltas of stored
//! events and their upsert, the watermarks, the event tables summed: [`RolledTable`]); it imports
//! nothing from the services that use it, only the event catalogue its tables are entries of.

mod cover;
mod deltas;
mod durations;
pub mod fold;
mod progress;
mod tables;
mod upsert;
pub mod watermarks;

pub use cover::{Cover, EdgeRange, TierRange, cover, cover_for_sums, hour_ending, rests_for_sums};
pub use deltas::{CellCounts, Deltas, Latest, LocationKey, ProgressKey, RollupKey, SortedDeltas};
pub use durations::{
    DURATIONS_TABLE, DurationCounts, DurationKey, duration_tenths, second_of_tenths,
    upsert_durations_postgres, upsert_durations_sqlite,
};
pub use progress::{upsert_progress_postgres, upsert_progress_sqlite};
pub use tables::RolledTable;
pub use upsert::{
    upsert_locations_postgres, upsert_locations_sqlite, upsert_postgres, upsert_sqlite,
};
pub use watermarks::Watermarks;

use chrono::{DateTime, Utc};
use sea_orm::DbBackend;

/// The table the per-cell rollups live in.
pub const TABLE: &str = "cell_rollups";
/// The table of each student's latest location per bucket.
pub const LOCATIONS_TABLE: &str = "location_rollups";
/// The table of each student's latest code execution per minute, for the progress series.
pub const PROGRESS_TABLE: &str = "progress_rollups";

/// OFF durations above this many seconds are outliers (a tab left open overnight): they are
/// not counted in time per cell.
pub const MAX_DURATION_SECS: f64 = 5000.0;

/// Bucket sizes. Every rollup row written costs the database an upsert, so there are two: hours
/// (aligned on the Unix epoch; a window of a class session reads a few of them) and all time
/// (the whole course, read as one bucket, folded from closed hours once an hour: [`fold`]).
/// Coarser tiers (days, 30 days) were measured when the rollups were written in the events'
/// transaction: each one cost ingest about a tenth of its throughput, for windows that
/// teachers rarely ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Hour = 0,
    /// One bucket (0) for all time: the hours before the fold.
    All = 3,
}

impl Tier {
    /// Seconds per bucket; `None` for the all-time tier.
    pub const fn width(self) -> Option<i64> {
        match self {
            Self::Hour => Some(3600),
            Self::All => None,
        }
    }

    pub const fn id(self) -> i16 {
        self as i16
    }

    /// The start (Unix seconds) of the bucket holding `time`.
    pub fn bucket(self, time: DateTime<Utc>) -> i64 {
        match self.width() {
            Some(width) => time.timestamp().div_euclid(width) * width,
            None => 0,
        }
    }
}

/// The start of the UTC minute holding `time`: the key of a progress rollup row, and the
/// minute of the progress series a time counts in (the two must agree).
pub fn floor_minute(time: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = time.timestamp().div_euclid(60) * 60;
    DateTime::from_timestamp(seconds, 0).unwrap_or(time)
}

/// The `index`-th (1-based) bound value's placeholder in the backend's statement text.
pub fn placeholder(backend: DbBackend, index: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${index}"),
        _ => "?".to_owned(),
    }
}

/// Whether a focus event's duration counts towards time per cell.
pub fn kept_duration(click_type_off: bool, duration: Option<f64>) -> Option<f64> {
    duration.filter(|&seconds| click_type_off && seconds <= MAX_DURATION_SECS)
}
