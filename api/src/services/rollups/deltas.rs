//! What a set of stored events adds to the rollups: one entry per (tier, bucket, cell,
//! student), summed in memory, so a commit of many events upserts each row once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Tier, kept_duration};

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
}

impl CellCounts {
    fn add(&mut self, other: &CellCounts) {
        self.executions += other.executions;
        self.ok_executions += other.ok_executions;
        self.focus += other.focus;
        self.focus_on += other.focus_on;
        self.kept_count += other.kept_count;
        self.kept_sum += other.kept_sum;
    }
}

/// The rollup changes of some stored events.
#[derive(Debug, Default)]
pub struct Deltas {
    rows: HashMap<RollupKey, CellCounts>,
}

impl Deltas {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// A stored code execution, at its finish time.
    pub fn execution(
        &mut self,
        (notebook_id, user): (i64, &str),
        cell: Option<&str>,
        finished: DateTime<Utc>,
        ok: bool,
    ) {
        let counts = CellCounts {
            executions: 1,
            ok_executions: i64::from(ok),
            ..CellCounts::default()
        };
        self.add((notebook_id, user), cell, finished, &counts);
    }

    /// A stored cell focus event; `on` for an ON event, else OFF.
    pub fn focus(
        &mut self,
        (notebook_id, user): (i64, &str),
        cell: Option<&str>,
        time: DateTime<Utc>,
        (on, duration): (bool, Option<f64>),
    ) {
        let kept = kept_duration(!on, duration);
        let counts = CellCounts {
            focus: 1,
            focus_on: i64::from(on),
            kept_count: i64::from(kept.is_some()),
            kept_sum: kept.unwrap_or(0.0),
            ..CellCounts::default()
        };
        self.add((notebook_id, user), cell, time, &counts);
    }

    fn add(
        &mut self,
        (notebook_id, user): (i64, &str),
        cell: Option<&str>,
        time: DateTime<Utc>,
        counts: &CellCounts,
    ) {
        for tier in Tier::ALL {
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

    /// The rows in key order: concurrent transactions then lock shared rows in the same order
    /// (no deadlock between two writers).
    pub fn sorted(self) -> Vec<(RollupKey, CellCounts)> {
        let mut rows: Vec<_> = self.rows.into_iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}
