//! The progress series from the progress rollups, exact to the event. A student's position
//! changes only at the minutes in which they ran a cell, so per minute of the window the
//! database counts, from `progress_rollups`, how many students arrived at each cell and from
//! which cell they left (when their previous row was inside the window: before it, they were
//! not counted yet). Read from the events, per student: the window's first minute (from its
//! start) and last minute (to its end), and the students with executions the applier has not
//! added (their rollup rows and those executions together).
//!
//! An execution of a cell outside the teacher's order makes the series scan the events
//! instead: the rollups keep the latest execution of any cell, the series ignores those cells.

use std::{collections::HashMap, ops::Bound};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};

use super::{
    super::{Scope, rolled, sql::Sql},
    Execution, Grid, LatestPerMinute, ProgressRequest, Sweep, minute_index,
};
use crate::{
    error::AppResult,
    services::rollups::{RolledTable, floor_minute},
};

/// The executions a series counts, `after < t_finish ≤ until`, and the starts of their first
/// and last minutes.
struct Bounds {
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    first_minute: DateTime<Utc>,
    last_minute: DateTime<Utc>,
}

impl Bounds {
    /// The executions of `request`'s window in `scope`; `None` when it holds none.
    fn of(scope: &Scope, request: &ProgressRequest, grid: &Grid) -> Option<Self> {
        let after = scope.after.map_or(request.start, |a| a.max(request.start));
        let until = scope.until.map_or(grid.end, |u| u.min(grid.end));
        (after < until).then(|| Self {
            after,
            until,
            first_minute: floor_minute(after),
            last_minute: floor_minute(until),
        })
    }

    /// ` AND minute > first AND minute < last`: the minutes between the window's first and
    /// last (the rollups key them in Unix seconds).
    fn inner_minutes<'s>(&self, sql: &'s mut Sql) -> &'s mut Sql {
        sql.push(" AND minute > ")
            .bind(self.first_minute.timestamp())
            .push(" AND minute < ")
            .bind(self.last_minute.timestamp())
    }
}

/// Where a change lands: the grid, and each cell's position in the order.
struct Places<'a> {
    grid: &'a Grid,
    positions: &'a HashMap<&'a str, usize>,
}

impl Places<'_> {
    /// The grid's minute of `time` and the position of `cell`; `None` for a cell outside the
    /// order.
    fn of(&self, time: DateTime<Utc>, cell: &str) -> Option<(usize, usize)> {
        Some((minute_index(self.grid, time)?, *self.positions.get(cell)?))
    }
}

/// The sweep of the series' position changes, or `None` when only a scan of the events
/// answers exactly (see the module's comment).
pub(super) async fn sweep(
    db: &sea_orm::DatabaseConnection,
    scope: &Scope,
    request: &ProgressRequest,
    grid: &Grid,
    positions: &HashMap<&str, usize>,
) -> AppResult<Option<Sweep>> {
    let mut sweep = Sweep::new(grid.minutes);
    let Some(bounds) = Bounds::of(scope, request, grid) else {
        return Ok(Some(sweep));
    };
    let (txn, progress) = rolled::begin(db).await?;
    let reads = Reads {
        txn: &txn,
        scope,
        bounds: &bounds,
    };
    let places = Places { grid, positions };
    let mark = progress.unapplied.of(RolledTable::Executions);
    let exact = add_changes(&reads, &places, mark, &mut sweep).await?;
    Ok(exact.then_some(sweep))
}

/// Adds the series' changes to `sweep`, with `mark` the executions' applied watermark if
/// rows lie above it; `false` when a cell outside the order was met.
async fn add_changes(
    reads: &Reads<'_>,
    places: &Places<'_>,
    mark: Option<i64>,
    sweep: &mut Sweep,
) -> AppResult<bool> {
    let unapplied = match mark {
        Some(mark) => reads.unapplied(mark).await?,
        None => Vec::new(),
    };
    let mut dirty: Vec<String> = unapplied.iter().map(|e| e.user.clone()).collect();
    dirty.sort_unstable();
    dirty.dedup();
    let (last_dirty, last_clean): (Vec<_>, Vec<_>) = reads
        .last_minute()
        .await?
        .into_iter()
        .partition(|e| dirty.binary_search(&e.user).is_ok());
    let per_student = reads
        .first_minute()
        .await?
        .into_iter()
        .chain(unapplied)
        .chain(reads.rollup_rows_of(&dirty).await?)
        .chain(last_dirty);
    let mut latest = LatestPerMinute::default();
    for execution in per_student {
        let Some(place) = places.of(execution.time, &execution.cell) else {
            return Ok(false);
        };
        latest.add(execution, place);
    }
    let mut moves = reads.moves(&dirty).await?;
    moves.extend(reads.arrivals_in_last_minute(last_clean).await?);
    if !moves.into_iter().all(|m| m.add(places, sweep)) {
        return Ok(false);
    }
    latest.sorted().into_iter().for_each(|row| sweep.row(row));
    Ok(true)
}

/// `SELECT minute, orig_cell_id, departed, students`: the moves of the inner minutes, summed,
/// of every student of the scope but `dirty`.
fn moves_sql(backend: DbBackend, scope: &Scope, bounds: &Bounds, dirty: &[String]) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("SELECT minute, orig_cell_id, CASE WHEN previous_time > ")
        .bind(bounds.after)
        .push(" THEN previous_cell END AS departed, COUNT(*) AS students")
        .push(" FROM progress_rollups WHERE notebook_id = ")
        .bind(scope.notebook_id)
        .students(scope);
    bounds.inner_minutes(&mut sql);
    if !dirty.is_empty() {
        sql.push(" AND user_id NOT IN ")
            .bind_list(dirty.iter().cloned());
    }
    sql.push(" GROUP BY minute, orig_cell_id, departed");
    sql
}

/// The statement summing the rollups' moves, for `EXPLAIN` in the benchmark (every student
/// counted as applied); `None` for a window without executions.
pub(super) fn moves_statement(
    backend: DbBackend,
    scope: &Scope,
    request: &ProgressRequest,
    grid: &Grid,
) -> Option<sea_orm::Statement> {
    let bounds = Bounds::of(scope, request, grid)?;
    Some(moves_sql(backend, scope, &bounds, &[]).build())
}

/// Students who arrived at a cell at a minute, and the cell they left if they were counted
/// there.
struct Move {
    minute: DateTime<Utc>,
    cell: String,
    departed: Option<String>,
    students: i64,
}

impl Move {
    /// Records the move in `sweep`; `false` for a cell outside the order.
    fn add(self, places: &Places<'_>, sweep: &mut Sweep) -> bool {
        let Some((minute, position)) = places.of(self.minute, &self.cell) else {
            return false;
        };
        sweep.change(minute, position, self.students);
        if let Some(departed) = self.departed {
            let Some((_, from)) = places.of(self.minute, &departed) else {
                return false;
            };
            sweep.change(minute, from, -self.students);
        }
        true
    }
}

/// The statements of one series, in one snapshot.
struct Reads<'a> {
    txn: &'a DatabaseTransaction,
    scope: &'a Scope,
    bounds: &'a Bounds,
}

impl Reads<'_> {
    async fn executions(&self, sql: Sql) -> AppResult<Vec<Execution>> {
        let rows = self.txn.query_all_raw(sql.build()).await?;
        rows.iter().map(Execution::read).collect()
    }

    /// `SELECT user_id, orig_cell_id, t_finish, id FROM code_executions WHERE …` of the
    /// scope's executions of a cell with an original id, from `lower` up to `until`.
    fn executions_from(&self, lower: Bound<DateTime<Utc>>) -> Sql {
        let mut sql = Sql::new(self.txn.get_database_backend());
        sql.push("SELECT user_id, orig_cell_id, t_finish, id FROM code_executions WHERE ")
            .push("orig_cell_id IS NOT NULL AND notebook_id = ")
            .bind(self.scope.notebook_id)
            .between("t_finish", lower, Bound::Included(self.bounds.until))
            .students(self.scope);
        sql
    }

    /// The window's executions above the applied watermark `mark`.
    async fn unapplied(&self, mark: i64) -> AppResult<Vec<Execution>> {
        let mut sql = self.executions_from(Bound::Excluded(self.bounds.after));
        sql.push(" AND id > ").bind(mark);
        self.executions(sql).await
    }

    /// The executions of the window's first minute.
    async fn first_minute(&self) -> AppResult<Vec<Execution>> {
        let mut sql = self.executions_from(Bound::Excluded(self.bounds.after));
        sql.push(" AND t_finish < ")
            .bind(self.bounds.first_minute + TimeDelta::minutes(1));
        self.executions(sql).await
    }

    /// The executions of the window's last minute, when it is not the first.
    async fn last_minute(&self) -> AppResult<Vec<Execution>> {
        if self.bounds.last_minute == self.bounds.first_minute {
            return Ok(Vec::new());
        }
        let sql = self.executions_from(Bound::Included(self.bounds.last_minute));
        self.executions(sql).await
    }

    /// `SELECT <columns> FROM progress_rollups WHERE notebook_id = …`, of the scope's
    /// students.
    fn rollups(&self, columns: &str) -> Sql {
        let mut sql = Sql::new(self.txn.get_database_backend());
        sql.push(&format!(
            "SELECT {columns} FROM progress_rollups WHERE notebook_id = "
        ))
        .bind(self.scope.notebook_id)
        .students(self.scope);
        sql
    }

    /// The rollup rows of the inner minutes of the students `dirty`.
    async fn rollup_rows_of(&self, dirty: &[String]) -> AppResult<Vec<Execution>> {
        if dirty.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql =
            self.rollups("user_id, orig_cell_id, latest_time AS t_finish, latest_id AS id");
        self.bounds
            .inner_minutes(&mut sql)
            .push(" AND user_id IN ")
            .bind_list(dirty.iter().cloned());
        self.executions(sql).await
    }

    /// The moves of the inner minutes, summed by the database, of every student of the scope
    /// but `dirty`.
    async fn moves(&self, dirty: &[String]) -> AppResult<Vec<Move>> {
        let backend = self.txn.get_database_backend();
        let sql = moves_sql(backend, self.scope, self.bounds, dirty);
        let rows = self.txn.query_all_raw(sql.build()).await?;
        rows.iter()
            .map(|row| {
                let minute: i64 = row.try_get("", "minute")?;
                Ok(Move {
                    minute: DateTime::from_timestamp(minute, 0).unwrap_or(self.bounds.until),
                    cell: row.try_get("", "orig_cell_id")?,
                    departed: row.try_get("", "departed")?,
                    students: row.try_get("", "students")?,
                })
            })
            .collect()
    }

    /// The moves of the last minute of the students who ran `executions` in it (all of whose
    /// executions up to `until` are applied): from their previous rollup row, if it is in the
    /// window, to their latest execution.
    async fn arrivals_in_last_minute(&self, executions: Vec<Execution>) -> AppResult<Vec<Move>> {
        let mut latest: HashMap<String, Execution> = HashMap::new();
        for execution in executions {
            match latest.get(&execution.user) {
                Some(held) if (held.time, held.id) >= (execution.time, execution.id) => {}
                _ => {
                    latest.insert(execution.user.clone(), execution);
                }
            }
        }
        if latest.is_empty() {
            return Ok(Vec::new());
        }
        // Their row of the last minute links to their row before it (it may hold a later
        // execution, after `until`, but not a later link).
        let mut sql = self.rollups("user_id, previous_cell, previous_time");
        sql.push(" AND minute = ")
            .bind(self.bounds.last_minute.timestamp())
            .push(" AND user_id IN ")
            .bind_list(latest.keys().cloned());
        let mut left: HashMap<String, String> = HashMap::new();
        for row in self.txn.query_all_raw(sql.build()).await? {
            let time: Option<DateTime<Utc>> = row.try_get("", "previous_time")?;
            let cell: Option<String> = row.try_get("", "previous_cell")?;
            if let (Some(time), Some(cell)) = (time, cell)
                && time > self.bounds.after
            {
                left.insert(row.try_get("", "user_id")?, cell);
            }
        }
        let minute = self.bounds.last_minute;
        Ok(latest
            .into_values()
            .map(|execution| Move {
                minute,
                departed: left.remove(&execution.user),
                cell: execution.cell,
                students: 1,
            })
            .collect())
    }
}
