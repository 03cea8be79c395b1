//! How a window of event times is read: whole buckets from the rollups (the all-time bucket
//! for the folded hours of a window without a start, else whole hours; `fill` takes the
//! coarsest tier that fits, finer ones towards the ends, should coarser tiers come back), and
//! the partial hours at its two ends from the events themselves.
//!
//! A window is `after < time ≤ until` (either end open). A bucket `[b, b + w)` is wholly inside
//! it when `b > after` (an event at exactly `after` is outside) and `b + w ≤ until`.

use std::ops::Bound;

use chrono::{DateTime, Utc};

use super::Tier;

/// Rollup rows of one tier that sum the hours `from ≤ hour < to` (an open end is unbounded):
/// the hour buckets in that range, or the all-time bucket, which holds the hours before the
/// fold ([`fold`](super::fold)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRange {
    pub tier: Tier,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl TierRange {
    /// Whether an event at `time` is summed in these rows.
    pub fn holds(&self, time: DateTime<Utc>) -> bool {
        let hour = Tier::Hour.bucket(time);
        self.from.is_none_or(|from| hour >= from) && self.to.is_none_or(|to| hour < to)
    }
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
    /// Events to take away (only from [`cover_for_sums`]): the part of a whole bucket that lies
    /// outside the window.
    pub minus: Vec<EdgeRange>,
}

const HOUR: i64 = 3600;

impl Cover {
    /// The all-time bucket, when the rollups have it, and the other ranges: its rows hold
    /// each cell and student at most once; the others are hours (after the fold, so few).
    pub fn all_time_and_rest(&self) -> Option<(TierRange, Vec<TierRange>)> {
        let index = self
            .rollups
            .iter()
            .position(|range| range.tier == Tier::All)?;
        let mut rest = self.rollups.clone();
        let all_time = rest.remove(index);
        Some((all_time, rest))
    }
}

/// The rollup buckets and event ranges that together are exactly the window, for rollups
/// folded up to `folded_before`.
pub fn cover(
    after: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    folded_before: Option<i64>,
) -> Cover {
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
    match (first, folded_before) {
        // No start, and every folded hour inside: the all-time bucket, then the later hours.
        (None, Some(before)) if last.is_none_or(|last| before <= last) => {
            cover.rollups.push(TierRange {
                tier: Tier::All,
                from: None,
                to: Some(before),
            });
            fill(&[Tier::Hour], Some(before), last, &mut cover);
        }
        _ => fill(&[Tier::Hour], first, last, &mut cover),
    }
    cover
}

/// The same window for aggregates that are sums (counts, summed durations), which can also
/// take events away: where a partial hour at an end holds more of its hour than the rest does,
/// or the rest holds no event at all (`rest_is_empty`: before a class starts, after it ends),
/// the whole hour is read from the rollups and the rest's events are subtracted. So at most
/// half an hour of events is read at each end, however the window falls on the clock. (The
/// latest location is no sum: it uses [`cover`].)
pub fn cover_for_sums(
    (after, until): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    folded_before: Option<i64>,
    rest_is_empty: impl Fn(&EdgeRange) -> bool,
) -> Cover {
    let mut cover = cover(after, until, folded_before);
    let edges = std::mem::take(&mut cover.edges);
    for edge in edges {
        match complement_in_hour(&edge) {
            Some((hour, rest)) if span(&rest) < span(&edge) || rest_is_empty(&rest) => {
                cover.rollups.push(TierRange {
                    tier: Tier::Hour,
                    from: Some(hour),
                    to: Some(hour + HOUR),
                });
                cover.minus.push(rest);
            }
            _ => cover.edges.push(edge),
        }
    }
    cover
}

/// The parts of hours that [`cover_for_sums`] may ask about: outside the window, inside the
/// hours at its ends.
pub fn rests_for_sums(
    after: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Vec<EdgeRange> {
    // The fold changes only the whole buckets, not the edges.
    let edges = cover(after, until, None).edges;
    edges
        .iter()
        .filter_map(complement_in_hour)
        .map(|(_, rest)| rest)
        .collect()
}

/// For an edge that is the start or the end of one hour (bounded, one end on the hour), that
/// hour and the part of it outside the edge.
fn complement_in_hour(edge: &EdgeRange) -> Option<(i64, EdgeRange)> {
    match (edge.lower, edge.upper) {
        // (after, next hour): the rest is [hour start, after].
        (Bound::Excluded(after), _) => hour_ending(edge).map(|hour| {
            let rest = EdgeRange {
                lower: Bound::Included(time_of(hour)),
                upper: Bound::Included(after),
            };
            (hour, rest)
        }),
        // [hour start, until]: the rest is (until, next hour).
        (Bound::Included(start), Bound::Included(until)) if start.timestamp() % HOUR == 0 => {
            let hour = start.timestamp();
            (until.timestamp() < hour + HOUR).then(|| {
                let rest = EdgeRange {
                    lower: Bound::Excluded(until),
                    upper: Bound::Excluded(time_of(hour + HOUR)),
                };
                (hour, rest)
            })
        }
        _ => None,
    }
}

/// The hour an edge `(after, end of after's hour)` ends (a window that starts inside an
/// hour): the start of that hour's bucket.
pub fn hour_ending(edge: &EdgeRange) -> Option<i64> {
    match (edge.lower, edge.upper) {
        (Bound::Excluded(after), Bound::Excluded(end)) if end.timestamp() % HOUR == 0 => {
            let hour = end.timestamp() - HOUR;
            (after.timestamp() >= hour).then_some(hour)
        }
        _ => None,
    }
}

/// The length of a bounded range in microseconds (`i64::MAX` when unbounded).
fn span(range: &EdgeRange) -> i64 {
    match (range.lower, range.upper) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            (b - a).num_microseconds().unwrap_or(i64::MAX)
        }
        _ => i64::MAX,
    }
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

    /// How many times `cover` counts an event at `time`: rollups and edges add, `minus` takes
    /// away.
    fn times_counted(cover: &Cover, time: DateTime<Utc>) -> i64 {
        let count = |ranges: &[EdgeRange]| {
            ranges
                .iter()
                .filter(|edge| (edge.lower, edge.upper).contains(&time))
                .count() as i64
        };
        let in_rollups = cover.rollups.iter().filter(|range| range.holds(time));
        in_rollups.count() as i64 + count(&cover.edges) - count(&cover.minus)
    }

    /// Folds before, inside and after the windows below.
    fn folds() -> [Option<i64>; 4] {
        [
            None,
            Some(at("2025-12-20T00:00:00Z").timestamp()),
            Some(at("2026-01-20T05:00:00Z").timestamp()),
            Some(at("2026-04-01T00:00:00Z").timestamp()),
        ]
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
            (None, Some("2026-01-29T07:30:00Z")),
            (None, None),
        ];
        let folds = folds();
        for ((after, until), fold) in windows.into_iter().flat_map(|w| folds.map(|f| (w, f))) {
            let (after, until) = (after.map(at), until.map(at));
            let cover = cover(after, until, fold);
            let start = at("2025-12-25T00:00:00Z").timestamp();
            for second in (start..start + 80 * 86_400).step_by(599) {
                for offset in [0, 1] {
                    let time = time_of(second + offset);
                    let inside = after.is_none_or(|a| time > a) && until.is_none_or(|u| time <= u);
                    assert_eq!(
                        times_counted(&cover, time),
                        i64::from(inside),
                        "{time} in {after:?}..{until:?} folded before {fold:?}: {cover:?}"
                    );
                }
            }
        }
    }

    /// The same, for the cover of sums: rollups and edges add, `minus` takes away.
    #[test]
    fn a_cover_for_sums_counts_every_instant_of_the_window_once() {
        let windows = [
            (Some("2026-01-03T10:50:30.5Z"), Some("2026-01-05T23:05:00Z")),
            (Some("2026-01-03T10:10:30Z"), Some("2026-01-05T23:55:00Z")),
            (Some("2026-01-03T10:00:00Z"), Some("2026-01-03T12:00:00Z")),
            (Some("2026-01-03T10:20:30Z"), Some("2026-01-03T10:50:00Z")),
            (Some("2026-01-03T10:59:59Z"), None),
            (None, Some("2026-01-29T07:59:00Z")),
            (None, None),
        ];
        let (mut subtracted, mut split_at_all_time) = (0, 0);
        // By time span alone, and as when every part outside the window is empty.
        let cases = windows
            .into_iter()
            .flat_map(|w| [(w, false), (w, true)])
            .flat_map(|case| folds().map(|fold| (case, fold)));
        for (((after, until), empty), fold) in cases {
            let (after, until) = (after.map(at), until.map(at));
            let cover = cover_for_sums((after, until), fold, |_| empty);
            subtracted += cover.minus.len();
            let split = split(&cover);
            split_at_all_time += usize::from(cover.all_time_and_rest().is_some());
            let start = at("2026-01-02T00:00:00Z").timestamp();
            for second in (start..start + 30 * 86_400).step_by(61) {
                for offset in [0, 1] {
                    let time = time_of(second + offset);
                    let inside = after.is_none_or(|a| time > a) && until.is_none_or(|u| time <= u);
                    assert_eq!(
                        times_counted(&cover, time),
                        i64::from(inside),
                        "{time} in {after:?}..{until:?} folded before {fold:?}: {cover:?}"
                    );
                    assert_eq!(times_counted(&split, time), i64::from(inside), "{split:?}");
                }
            }
        }
        assert!(subtracted >= 4, "the late starts and early ends subtract");
        assert!(split_at_all_time >= 8, "{split_at_all_time}");
    }

    /// `cover` with its rollups as [`Cover::all_time_and_rest`] gives them, the all-time
    /// bucket first.
    fn split(cover: &Cover) -> Cover {
        let Some((all_time, rest)) = cover.all_time_and_rest() else {
            return cover.clone();
        };
        assert_eq!(all_time.tier, Tier::All);
        assert!(
            rest.iter().all(|range| range.tier == Tier::Hour),
            "{rest:?}"
        );
        let mut split = cover.clone();
        split.rollups = std::iter::once(all_time).chain(rest).collect();
        split
    }

    #[test]
    fn the_whole_course_is_the_all_time_bucket_and_the_hours_after_the_fold() {
        let before = at("2026-01-20T05:00:00Z").timestamp();
        let cover = cover(None, None, Some(before));
        let all = TierRange {
            tier: Tier::All,
            from: None,
            to: Some(before),
        };
        let later = TierRange {
            tier: Tier::Hour,
            from: Some(before),
            to: None,
        };
        assert_eq!(cover.rollups, [all, later]);
        assert!(cover.edges.is_empty());
        // Before any fold, the hours.
        let hours = TierRange {
            tier: Tier::Hour,
            from: None,
            to: None,
        };
        assert_eq!(super::cover(None, None, None).rollups, [hours]);
    }
}
