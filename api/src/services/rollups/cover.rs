//! How a window of event times is read: whole buckets from the rollups (the all-time bucket
//! for the whole course, else whole hours; `fill` takes the coarsest tier that fits, finer
//! ones towards the ends, should coarser tiers come back), and the partial hours at its two
//! ends from the events themselves.
//!
//! A window is `after < time ≤ until` (either end open). A bucket `[b, b + w)` is wholly inside
//! it when `b > after` (an event at exactly `after` is outside) and `b + w ≤ until`.

use std::ops::Bound;

use chrono::{DateTime, Utc};

use super::Tier;

/// Buckets of one tier whose start is in `from ≤ bucket < to` (an open end is unbounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRange {
    pub tier: Tier,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Events whose time is between these bounds are read from the event tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRange {
    pub lower: Bound<DateTime<Utc>>,
    pub upper: Bound<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cover {
    pub rollups: Vec<TierRange>,
    pub edges: Vec<EdgeRange>,
}

const HOUR: i64 = 3600;

/// The rollup buckets and event ranges that together are exactly the window.
pub fn cover(after: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Cover {
    if after.is_none() && until.is_none() {
        let all = TierRange {
            tier: Tier::All,
            from: None,
            to: None,
        };
        return Cover {
            rollups: vec![all],
            edges: Vec::new(),
        };
    }
    // The whole hours of the window: from the first hour starting strictly after `after`, to
    // the last hour ending at or before `until`.
    let first = after.map(|time| time.timestamp().div_euclid(HOUR) * HOUR + HOUR);
    let last = until.map(|time| time.timestamp().div_euclid(HOUR) * HOUR);
    let mut cover = Cover::default();
    if let (Some(first), Some(last)) = (first, last)
        && first >= last
    {
        cover.edges.push(EdgeRange {
            lower: after.map_or(Bound::Unbounded, Bound::Excluded),
            upper: until.map_or(Bound::Unbounded, Bound::Included),
        });
        return cover;
    }
    if let (Some(after), Some(first)) = (after, first) {
        cover.edges.push(EdgeRange {
            lower: Bound::Excluded(after),
            upper: Bound::Excluded(time_of(first)),
        });
    }
    if let (Some(until), Some(last)) = (until, last) {
        cover.edges.push(EdgeRange {
            lower: Bound::Included(time_of(last)),
            upper: Bound::Included(until),
        });
    }
    fill(&[Tier::Hour], first, last, &mut cover);
    cover
}

fn time_of(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Covers `[from, to)` (hour multiples; open ends unbounded) with the coarsest buckets that
/// fit, finer ones at the ends.
fn fill(tiers: &[Tier], from: Option<i64>, to: Option<i64>, cover: &mut Cover) {
    let Some((&tier, finer)) = tiers.split_last() else {
        return;
    };
    let width = tier.width().unwrap_or(HOUR);
    // The first multiple of `width` at or after `from`, the last at or before `to`.
    let inner_from = from.map(|from| (from + width - 1).div_euclid(width) * width);
    let inner_to = to.map(|to| to.div_euclid(width) * width);
    let fits = match (inner_from, inner_to) {
        (Some(a), Some(b)) => a < b,
        _ => true,
    };
    if !fits {
        fill(finer, from, to, cover);
        return;
    }
    cover.rollups.push(TierRange {
        tier,
        from: inner_from,
        to: inner_to,
    });
    if let (Some(from), Some(inner)) = (from, inner_from)
        && from < inner
    {
        fill(finer, Some(from), Some(inner), cover);
    }
    if let (Some(inner), Some(to)) = (inner_to, to)
        && inner < to
    {
        fill(finer, Some(inner), Some(to), cover);
    }
}

#[cfg(test)]
mod tests {
    use std::ops::RangeBounds;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// Every second of a few days is counted once by the cover, against the window's own rule.
    #[test]
    fn a_cover_counts_every_instant_of_the_window_once() {
        let windows = [
            (Some("2026-01-01T00:00:00Z"), Some("2026-03-01T00:00:00Z")),
            (Some("2026-01-03T10:20:30.5Z"), Some("2026-02-20T23:59:59Z")),
            (Some("2026-01-03T10:20:30Z"), Some("2026-01-03T10:50:00Z")),
            (Some("2026-01-03T10:00:00Z"), Some("2026-01-03T11:00:00Z")),
            (Some("2026-01-03T10:59:59Z"), None),
            (None, Some("2026-01-29T07:00:00Z")),
        ];
        for (after, until) in windows {
            let (after, until) = (after.map(at), until.map(at));
            let cover = cover(after, until);
            let start = at("2025-12-25T00:00:00Z").timestamp();
            for second in (start..start + 80 * 86_400).step_by(599) {
                for offset in [0, 1] {
                    let time = time_of(second + offset);
                    let inside = after.is_none_or(|a| time > a) && until.is_none_or(|u| time <= u);
                    let in_rollups = cover.rollups.iter().filter(|range| {
                        let bucket = range.tier.bucket(time);
                        range.from.is_none_or(|f| bucket >= f)
                            && range.to.is_none_or(|t| bucket < t)
                    });
                    let in_edges = cover
                        .edges
                        .iter()
                        .filter(|edge| (edge.lower, edge.upper).contains(&time));
                    let times = in_rollups.count() + in_edges.count();
                    assert_eq!(
                        times,
                        usize::from(inside),
                        "{time} in {after:?}..{until:?}: {cover:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_whole_course_is_one_bucket() {
        let cover = cover(None, None);
        assert_eq!(cover.rollups.len(), 1);
        assert_eq!(cover.rollups[0].tier, Tier::All);
        assert!(cover.edges.is_empty());
    }
}
