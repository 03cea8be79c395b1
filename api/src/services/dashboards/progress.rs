//! The execution progress series: per UTC minute of a window, where students are in the
//! teacher's cell order (the position of the cell of each student's latest execution), as
//! mean, median and quartiles.
//!
//! One statement streams the window's executions of the ordered cells, which are reduced to the
//! latest one per (student, minute) as they arrive (a map of at most students × minutes
//! entries). Those, sorted by (student, minute), are read once: each student's row opens a
//! position that holds until their next row, recorded as +1/−1 at those minutes. A sweep over
//! the minutes then keeps a histogram of positions, from which each point's statistics are
//! read. Work is rows + minutes × cells, never minutes × students queries, and nothing is
//! cached, so every input (filter, groups, cell order) is honoured on every call.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use sea_orm::{DatabaseConnection, QueryResult, StreamTrait};

mod from_rollups;

use super::{Scope, sql::Sql};
use crate::{
    error::{AppError, AppResult},
    services::rollups::floor_minute,
};

/// Longest series: one day of minutes.
pub const MAX_MINUTES: i64 = 24 * 60;

pub struct ProgressRequest {
    pub start: DateTime<Utc>,
    /// Later than `now` is read as `now`.
    pub end: DateTime<Utc>,
    /// Original cell ids; a cell's position is its first occurrence, from 1.
    pub cell_order: Vec<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgressPoint {
    /// Start of the UTC minute.
    pub minute: DateTime<Utc>,
    pub mean: f64,
    pub median: f64,
    pub first_quartile: f64,
    pub third_quartile: f64,
    pub student_count: i64,
}

/// The whole UTC minutes from `start`'s to `end`'s, and the capped end.
struct Grid {
    first: DateTime<Utc>,
    minutes: usize,
    end: DateTime<Utc>,
}

/// The UTC minutes a series from `start` to `end` has points for: `start`'s, `end`'s and every
/// one between.
pub fn minutes_spanned(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (floor_minute(end) - floor_minute(start)).num_minutes() + 1
}

fn grid(request: &ProgressRequest) -> AppResult<Grid> {
    let end = request.end.min(request.now);
    if request.start >= end {
        return Err(AppError::bad_input(
            "the progress window must start before its end and before now",
        ));
    }
    let minutes = minutes_spanned(request.start, end);
    if minutes > MAX_MINUTES {
        return Err(AppError::bad_input(format!(
            "the progress window spans {minutes} minutes; at most {MAX_MINUTES} are allowed"
        )));
    }
    Ok(Grid {
        first: floor_minute(request.start),
        minutes: usize::try_from(minutes).unwrap_or(0),
        end,
    })
}

pub async fn execution_progress(
    db: &DatabaseConnection,
    scope: &Scope,
    request: &ProgressRequest,
) -> AppResult<Vec<ProgressPoint>> {
    let grid = grid(request)?;
    let mut positions: HashMap<&str, usize> = HashMap::new();
    for (index, cell) in request.cell_order.iter().enumerate() {
        positions.entry(cell.as_str()).or_insert(index + 1);
    }
    let sweep = match from_rollups::sweep(db, scope, request, &grid, &positions).await? {
        Some(sweep) => sweep,
        None => {
            let mut sweep = Sweep::new(grid.minutes);
            let rows = latest_per_minute(db, scope, request, &grid, &positions).await?;
            rows.into_iter().for_each(|row| sweep.row(row));
            sweep
        }
    };
    Ok(sweep.points(&grid, request.cell_order.len()))
}

/// A code execution, or a rollup row's latest one.
struct Execution {
    user: String,
    cell: String,
    time: DateTime<Utc>,
    id: i64,
}

impl Execution {
    /// Columns `user_id`, `orig_cell_id`, `t_finish`, `id`.
    fn read(row: &QueryResult) -> AppResult<Self> {
        Ok(Self {
            user: row.try_get("", "user_id")?,
            cell: row.try_get("", "orig_cell_id")?,
            time: row.try_get("", "t_finish")?,
            id: row.try_get("", "id")?,
        })
    }
}

/// Each student's latest execution per minute of a grid, kept as rows arrive.
#[derive(Default)]
struct LatestPerMinute {
    /// Students numbered as they first appear.
    students: HashMap<String, u32>,
    latest: HashMap<(u32, usize), (DateTime<Utc>, i64, usize)>,
}

impl LatestPerMinute {
    /// `execution`, at `place`: its minute of the grid and its cell's position.
    fn add(&mut self, execution: Execution, (minute, position): (usize, usize)) {
        let next = u32::try_from(self.students.len()).unwrap_or(u32::MAX);
        let student = *self.students.entry(execution.user).or_insert(next);
        let candidate = (execution.time, execution.id, position);
        self.latest
            .entry((student, minute))
            .and_modify(|held| {
                if (candidate.0, candidate.1) > (held.0, held.1) {
                    *held = candidate;
                }
            })
            .or_insert(candidate);
    }

    /// (student, minute, position), sorted.
    fn sorted(self) -> Vec<(u32, usize, usize)> {
        let mut sorted: Vec<(u32, usize, usize)> = self
            .latest
            .into_iter()
            .map(|((student, minute), (_, _, position))| (student, minute, position))
            .collect();
        sorted.sort_unstable();
        sorted
    }
}

/// (student, minute, position) of each student's latest execution per minute of the grid,
/// sorted. The database only filters: it would sort every execution of the window by
/// (student, minute, time) to rank them, where a map keeps one entry per (student, minute).
async fn latest_per_minute(
    db: &DatabaseConnection,
    scope: &Scope,
    request: &ProgressRequest,
    grid: &Grid,
    positions: &HashMap<&str, usize>,
) -> AppResult<Vec<(u32, usize, usize)>> {
    let mut latest = LatestPerMinute::default();
    let mut rows = db.stream_raw(statement(db, scope, request, grid)).await?;
    while let Some(row) = rows.try_next().await? {
        let execution = Execution::read(&row)?;
        let (Some(&position), Some(minute)) = (
            positions.get(execution.cell.as_str()),
            minute_index(grid, execution.time),
        ) else {
            continue;
        };
        latest.add(execution, (minute, position));
    }
    Ok(latest.sorted())
}

/// The statements behind [`execution_progress`], named, for `EXPLAIN` in the benchmark: the
/// rollups' summed moves (the series' own path), and the scan of the events it falls back on.
pub fn execution_progress_statements(
    db: &DatabaseConnection,
    scope: &Scope,
    request: &ProgressRequest,
) -> AppResult<Vec<(&'static str, sea_orm::Statement)>> {
    let grid = grid(request)?;
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let rollups = from_rollups::moves_statement(backend, scope, request, &grid);
    Ok(rollups
        .map(|statement| ("executionProgress (rollups)", statement))
        .into_iter()
        .chain([(
            "executionProgress (scan, the fallback)",
            statement(db, scope, request, &grid),
        )])
        .collect())
}

/// The executions of the cells in the order, inside the window.
fn statement(
    db: &DatabaseConnection,
    scope: &Scope,
    request: &ProgressRequest,
    grid: &Grid,
) -> sea_orm::Statement {
    let mut sql = Sql::new(sea_orm::ConnectionTrait::get_database_backend(db));
    sql.push("SELECT user_id, orig_cell_id, t_finish, id FROM code_executions WHERE ")
        .scope(scope, "t_finish")
        .push(" AND t_finish > ")
        .bind(request.start)
        .push(" AND t_finish <= ")
        .bind(grid.end)
        .push(" AND orig_cell_id IN ")
        .bind_list(request.cell_order.iter().cloned());
    sql.build()
}

/// The grid's minute of `time` (`None` outside it, which the window excludes).
fn minute_index(grid: &Grid, time: DateTime<Utc>) -> Option<usize> {
    let offset = (floor_minute(time) - grid.first).num_minutes();
    usize::try_from(offset).ok().filter(|&i| i < grid.minutes)
}

/// Position changes per minute, built from rows sorted by (student, minute).
struct Sweep {
    changes: Vec<Vec<(usize, i64)>>,
    /// The current student, the minute of their last row and its position.
    open: Option<(u32, usize, usize)>,
}

impl Sweep {
    fn new(minutes: usize) -> Self {
        Self {
            changes: vec![Vec::new(); minutes],
            open: None,
        }
    }

    fn row(&mut self, (user, minute, position): (u32, usize, usize)) {
        if let Some((previous, from, held)) = self.open.take() {
            let until = (previous == user).then_some(minute);
            self.hold(from, held, until);
        }
        self.open = Some((user, minute, position));
    }

    /// `students` more (or fewer, when negative) at `position` from minute `minute` on.
    fn change(&mut self, minute: usize, position: usize, students: i64) {
        self.changes[minute].push((position, students));
    }

    /// `position` counts from minute `from` until `until` (exclusive) or the end.
    fn hold(&mut self, from: usize, position: usize, until: Option<usize>) {
        self.changes[from].push((position, 1));
        if let Some(until) = until {
            self.changes[until].push((position, -1));
        }
    }

    fn points(mut self, grid: &Grid, cells: usize) -> Vec<ProgressPoint> {
        if let Some((_, from, held)) = self.open.take() {
            self.hold(from, held, None);
        }
        let mut histogram = vec![0i64; cells + 1];
        let (mut count, mut sum) = (0i64, 0i64);
        let mut points = Vec::new();
        for (index, changes) in self.changes.iter().enumerate() {
            for &(position, delta) in changes {
                histogram[position] += delta;
                count += delta;
                sum += delta * i64::try_from(position).unwrap_or(0);
            }
            if count > 0 {
                let minute = grid.first + TimeDelta::minutes(i64::try_from(index).unwrap_or(0));
                points.push(point(minute, &histogram, count, sum));
            }
        }
        points
    }
}

fn point(minute: DateTime<Utc>, histogram: &[i64], count: i64, sum: i64) -> ProgressPoint {
    let nth = |k: i64| -> f64 {
        let mut seen = 0;
        for (position, &students) in histogram.iter().enumerate() {
            seen += students;
            if seen > k {
                return position as f64;
            }
        }
        0.0
    };
    let (first_quartile, median, third_quartile) = quartiles_exclusive(count, nth);
    ProgressPoint {
        minute,
        mean: sum as f64 / count as f64,
        median,
        first_quartile,
        third_quartile,
        student_count: count,
    }
}

/// (q1, median, q3) of `n ≥ 1` sorted values read through `nth` (0-based), as Python's
/// `statistics.quantiles(data, n=4, method='exclusive')` and `statistics.median`: one value
/// gives it three times; with two or more, the quartiles interpolate (or extrapolate) at
/// (n + 1)·i/4.
pub fn quartiles_exclusive(n: i64, nth: impl Fn(i64) -> f64) -> (f64, f64, f64) {
    let median = if n % 2 == 1 {
        nth(n / 2)
    } else {
        (nth(n / 2 - 1) + nth(n / 2)) / 2.0
    };
    if n == 1 {
        return (median, median, median);
    }
    let quartile = |i: i64| {
        let m = n + 1;
        let j = (i * m / 4).clamp(1, n - 1);
        let delta = i * m - j * 4;
        (nth(j - 1) * (4 - delta) as f64 + nth(j) * delta as f64) / 4.0
    };
    (quartile(1), median, quartile(3))
}

#[cfg(test)]
mod tests {
    use super::quartiles_exclusive;

    fn of(data: &[f64]) -> (f64, f64, f64) {
        quartiles_exclusive(data.len() as i64, |k| data[k as usize])
    }

    #[test]
    fn quartiles_match_pythons_exclusive_method() {
        // Values from Python 3.12: statistics.quantiles(d, n=4) and statistics.median(d).
        assert_eq!(of(&[3.0]), (3.0, 3.0, 3.0));
        assert_eq!(of(&[1.0, 2.0]), (0.75, 1.5, 2.25));
        assert_eq!(of(&[1.0, 2.0, 4.0]), (1.0, 2.0, 4.0));
        assert_eq!(of(&[1.0, 2.0, 3.0, 4.0]), (1.25, 2.5, 3.75));
        assert_eq!(of(&[1.0, 1.0, 2.0, 5.0, 9.0]), (1.0, 2.0, 7.0));
        assert_eq!(of(&[1.0, 2.0, 2.0, 3.0, 5.0, 8.0, 9.0]), (2.0, 3.0, 8.0));
    }
}
