//! What a set of stored events adds to the rollups: one entry per (tier, bucket, cell,
//! student), summed in memory, so a commit of many events upserts each row once. An event adds
//! to its hour, and to the all-time bucket only when its hour is already folded
//! ([`fold`](super::fold)): the fold sums later hours itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{
    Tier,
    durations::{DurationCounts, DurationKey, duration_tenths},
    floor_minute, kept_duration,
};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub notebook_id: i64,
    pub tier: i16,
    pub bucket: i64,
    /// `""` for events without an original cell.
    pub cell: String,
    pub user: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellCounts {
    pub executions: i64,
    pub ok_executions: i64,
    pub focus: i64,
    pub focus_on: i64,
    pub kept_count: i64,
    pub kept_sum: f64,
    pub markdown_executions: i64,
    /// The latest code execution: its finish time and row id (the later-recorded of a tie).
    /// Kept as a maximum, not a sum, so the latest attempts read one candidate per bucket.
    pub latest_execution: Option<(DateTime<Utc>, i64)>,
}

impl CellCounts {
    fn add(&mut self, other: &CellCounts) {
        self.executions += other.executions;
        self.ok_executions += other.ok_executions;
        self.focus += other.focus;
        self.focus_on += other.focus_on;
        self.kept_count += other.kept_count;
        self.kept_sum += other.kept_sum;
        self.markdown_executions += other.markdown_executions;
        self.latest_execution = self.latest_execution.max(other.latest_execution);
    }
}

/// A student's bucket in the location rollups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationKey {
    pub notebook_id: i64,
    pub tier: i16,
    pub bucket: i64,
    pub user: String,
}

/// A student's minute in the progress rollups ([`PROGRESS_TABLE`](super::PROGRESS_TABLE)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgressKey {
    pub notebook_id: i64,
    /// The minute's start, in Unix seconds.
    pub minute: i64,
    pub user: String,
}

/// The latest `ON` focus of a student in a bucket, or their latest code execution in a
/// minute: by time, then row id (the later-recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub time: DateTime<Utc>,
    pub id: i64,
    /// `""` for a cell without an original id.
    pub cell: String,
}

/// [`Deltas`] as rows to upsert, in key order.
pub struct SortedDeltas {
    pub cells: Vec<(RollupKey, CellCounts)>,
    pub locations: Vec<(LocationKey, Latest)>,
    pub durations: Vec<(DurationKey, DurationCounts)>,
    pub progress: Vec<(ProgressKey, Latest)>,
}

/// The rollup changes of some stored events.
#[derive(Debug)]
pub struct Deltas {
    rows: HashMap<RollupKey, CellCounts>,
    locations: HashMap<LocationKey, Latest>,
    durations: HashMap<DurationKey, DurationCounts>,
    progress: HashMap<ProgressKey, Latest>,
    /// The fold the rollups are at ([`fold::folded_before`](super::fold::folded_before)).
    folded_before: Option<i64>,
}

impl Deltas {
    /// No changes yet, for rollups folded up to `folded_before`.
    pub fn new(folded_before: Option<i64>) -> Self {
        Self {
            rows: HashMap::new(),
            locations: HashMap::new(),
            durations: HashMap::new(),
            progress: HashMap::new(),
            folded_before,
        }
    }

    /// The changes summed so far, leaving none (and the same fold) behind.
    pub fn take(&mut self) -> Self {
        std::mem::replace(self, Self::new(self.folded_before))
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
            && self.locations.is_empty()
            && self.durations.is_empty()
            && self.progress.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rows.len() + self.locations.len() + self.durations.len() + self.progress.len()
    }

    /// A stored code execution (row `id`), at its finish time.
    pub fn execution(
        &mut self,
        (notebook_id, user): (i64, &str),
        (cell, id): (Option<&str>, i64),
        finished: DateTime<Utc>,
        ok: bool,
    ) {
        let counts = CellCounts {
            executions: 1,
            ok_executions: i64::from(ok),
            latest_execution: Some((finished, id)),
            ..CellCounts::default()
        };
        self.add((notebook_id, user), cell, finished, &counts);
        // An execution of a cell without an original id has no place in a cell order.
        if cell.is_some() {
            let key = ProgressKey {
                notebook_id,
                minute: floor_minute(finished).timestamp(),
                user: user.to_owned(),
            };
            keep_latest(&mut self.progress, key, (finished, id), cell);
        }
    }

    /// A stored markdown execution (a render).
    pub fn markdown(
        &mut self,
        (notebook_id, user): (i64, &str),
        cell: Option<&str>,
        time: DateTime<Utc>,
    ) {
        let counts = CellCounts {
            markdown_executions: 1,
            ..CellCounts::default()
        };
        self.add((notebook_id, user), cell, time, &counts);
    }

    /// A stored cell focus event (row `id`); `on` for an ON event, else OFF.
    pub fn focus(
        &mut self,
        (notebook_id, user): (i64, &str),
        (cell, id): (Option<&str>, i64),
        time: DateTime<Utc>,
        (on, duration): (bool, Option<f64>),
    ) {
        if on {
            self.located((notebook_id, user), cell, time, id);
        }
        let kept = kept_duration(!on, duration);
        if let Some(seconds) = kept {
            let counts = DurationCounts {
                count: 1,
                sum: seconds,
            };
            self.add_duration(notebook_id, cell, time, (seconds, counts));
        }
        let counts = CellCounts {
            focus: 1,
            focus_on: i64::from(on),
            kept_count: i64::from(kept.is_some()),
            kept_sum: kept.unwrap_or(0.0),
            ..CellCounts::default()
        };
        self.add((notebook_id, user), cell, time, &counts);
    }

    /// Takes an erased student's applied focus event (with a counted duration of `seconds`)
    /// out of the duration rollups, which are per notebook. (Their other rollup rows are
    /// theirs alone, and are deleted.)
    pub fn erased_duration(
        &mut self,
        notebook_id: i64,
        cell: Option<&str>,
        time: DateTime<Utc>,
        seconds: f64,
    ) {
        let counts = DurationCounts {
            count: -1,
            sum: -seconds,
        };
        self.add_duration(notebook_id, cell, time, (seconds, counts));
    }

    fn add_duration(
        &mut self,
        notebook_id: i64,
        cell: Option<&str>,
        time: DateTime<Utc>,
        (seconds, counts): (f64, DurationCounts),
    ) {
        for tier in self.tiers(time) {
            let key = DurationKey {
                notebook_id,
                tier: tier.id(),
                bucket: tier.bucket(time),
                cell: cell.unwrap_or_default().to_owned(),
                tenths: duration_tenths(seconds),
            };
            let held = self.durations.entry(key).or_default();
            held.count += counts.count;
            held.sum += counts.sum;
        }
    }

    /// The tiers an event at `time` adds to: its hour, and all time if that hour is folded.
    fn tiers(&self, time: DateTime<Utc>) -> impl Iterator<Item = Tier> + use<> {
        let folded = self
            .folded_before
            .is_some_and(|before| Tier::Hour.bucket(time) < before);
        [Tier::Hour, Tier::All]
            .into_iter()
            .filter(move |tier| *tier == Tier::Hour || folded)
    }

    fn add(
        &mut self,
        (notebook_id, user): (i64, &str),
        cell: Option<&str>,
        time: DateTime<Utc>,
        counts: &CellCounts,
    ) {
        for tier in self.tiers(time) {
            let key = RollupKey {
                notebook_id,
                tier: tier.id(),
                bucket: tier.bucket(time),
                cell: cell.unwrap_or_default().to_owned(),
                user: user.to_owned(),
            };
            self.rows.entry(key).or_default().add(counts);
        }
    }

    fn located(
        &mut self,
        (notebook_id, user): (i64, &str),
        cell: Option<&str>,
        time: DateTime<Utc>,
        id: i64,
    ) {
        for tier in self.tiers(time) {
            let key = LocationKey {
                notebook_id,
                tier: tier.id(),
                bucket: tier.bucket(time),
                user: user.to_owned(),
            };
            keep_latest(&mut self.locations, key, (time, id), cell);
        }
    }

    /// The rows in key order: concurrent transactions then lock shared rows in the same order
    /// (no deadlock between two writers).
    pub fn sorted(self) -> SortedDeltas {
        let mut cells: Vec<_> = self.rows.into_iter().collect();
        cells.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut locations: Vec<_> = self.locations.into_iter().collect();
        locations.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut durations: Vec<_> = self.durations.into_iter().collect();
        durations.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut progress: Vec<_> = self.progress.into_iter().collect();
        progress.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        SortedDeltas {
            cells,
            locations,
            durations,
            progress,
        }
    }
}

/// Keeps in `held[key]` the later of what it holds and the row `id` at `time` on `cell` (by
/// time, then row id).
fn keep_latest<K: std::hash::Hash + Eq>(
    held: &mut HashMap<K, Latest>,
    key: K,
    (time, id): (DateTime<Utc>, i64),
    cell: Option<&str>,
) {
    held.entry(key)
        .and_modify(|latest| {
            if (time, id) > (latest.time, latest.id) {
                latest.time = time;
                latest.id = id;
                cell.unwrap_or_default().clone_into(&mut latest.cell);
            }
        })
        .or_insert_with(|| Latest {
            time,
            id,
            cell: cell.unwrap_or_default().to_owned(),
        });
}
