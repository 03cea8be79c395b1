//! How background work that repeats paces itself by its own cost: the next run may start one
//! interval after the last one started, or later when the last one took long, so that the work
//! takes at most a set share of the time (unless that would wait longer than a set number of
//! intervals). The live analytics' feeds and the rollup applier both follow it, each with its
//! own share.

use std::time::Duration;

use tokio::time::Instant;

/// At most one run per `interval`, and busy at most `1 / share` of the time, or more when
/// keeping to that share would wait longer than `longest` intervals between two starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub interval: Duration,
    pub share: u32,
    pub longest: Option<u32>,
}

impl Pacing {
    /// When the run after one that `started` and `took` may start: the interval after that
    /// start, or `took × (share − 1)` after its end if that is later, but no later than
    /// `longest` intervals after that start.
    pub fn next_start(self, started: Instant, took: Duration) -> Instant {
        let wait = self.interval.max(took.saturating_mul(self.share));
        let wait = match self.longest {
            Some(intervals) => wait.min(self.interval.saturating_mul(intervals)),
            None => wait,
        };
        started + wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_starts_an_interval_after_the_last_start_or_later_by_the_share_of_its_cost() {
        let started = Instant::now();
        let half = Pacing {
            interval: Duration::from_millis(200),
            share: 2,
            longest: None,
        };
        let gap = |pacing: Pacing, took_ms| {
            pacing.next_start(started, Duration::from_millis(took_ms)) - started
        };
        assert_eq!(gap(half, 5), Duration::from_millis(200));
        assert_eq!(gap(half, 100), Duration::from_millis(200));
        assert_eq!(gap(half, 101), Duration::from_millis(202));
        assert_eq!(gap(half, 900), Duration::from_millis(1800));
        let quarter = Pacing {
            share: 4,
            longest: Some(4),
            ..half
        };
        assert_eq!(gap(quarter, 50), Duration::from_millis(200));
        assert_eq!(gap(quarter, 150), Duration::from_millis(600));
        // Four intervals at most, however long the run took.
        assert_eq!(gap(quarter, 300), Duration::from_millis(800));
        assert_eq!(gap(quarter, 5000), Duration::from_millis(800));
    }
}
