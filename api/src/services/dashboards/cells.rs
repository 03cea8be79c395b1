//! Per-cell aggregates: executions and focus counts, time spent (OFF focus durations), the raw
//! durations, and where students are (their latest ON focus).

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, QueryResult};

use super::{Scope, rolled, round_micro, sql::Sql};
use crate::error::AppResult;

#[derive(Debug, Clone, PartialEq)]
pub struct CellActivity {
    pub cell_id: String,
    pub execution_count: i64,
    pub ok_execution_count: i64,
    /// Cell focus events, ON and OFF.
    pub focus_count: i64,
    /// ON focus events only (times the cell was entered).
    pub focus_on_count: i64,
}

/// Execution and focus counts per original cell, for every cell with at least one of either
/// (rollups hold a row only for a cell with an event, so every summed cell has one).
pub async fn executions_per_cell(
    db: &DatabaseConnection,
    scope: &Scope,
) -> AppResult<Vec<CellActivity>> {
    let (txn, progress) = rolled::begin(db).await?;
    let select = "SELECT cell, SUM(CAST(executions AS INTEGER)) AS executions, \
                  SUM(CAST(ok AS INTEGER)) AS ok, SUM(CAST(focus AS INTEGER)) AS focus, \
                  SUM(CAST(focus_on AS INTEGER)) AS focus_on";
    let reading = (scope, &progress);
    let shape = (select, " GROUP BY cell");
    let sql = rolled::summed(&txn, reading, rolled::Sums::Activity, shape).await?;
    let rows = txn.query_all_raw(sql.build()).await?;
    txn.commit().await?;
    let mut cells = rows
        .iter()
        .map(|row| {
            Ok(CellActivity {
                cell_id: row.try_get("", "cell")?,
                execution_count: row.try_get("", "executions")?,
                ok_execution_count: row.try_get("", "ok")?,
                focus_count: row.try_get("", "focus")?,
                focus_on_count: row.try_get("", "focus_on")?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    cells.retain(|cell| cell.execution_count > 0 || cell.focus_count > 0);
    cells.sort_by(|a, b| a.cell_id.cmp(&b.cell_id));
    Ok(cells)
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimePerCell {
    /// Distinct students with at least one kept duration, on any cell.
    pub total_student_count: i64,
    pub cells: Vec<CellTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellTime {
    pub cell_id: String,
    /// Mean over students of each student's mean kept duration, in seconds.
    pub average_duration: f64,
    pub student_count: i64,
}

/// The OFF focus events whose duration counts (`Sql::kept_duration`).
pub(super) fn kept_durations(sql: &mut Sql, scope: &Scope) {
    sql.push(
        "SELECT COALESCE(orig_cell_id, '') AS orig_cell_id, user_id, click_duration, time, id \
         FROM cell_focus_events WHERE ",
    )
    .scope(scope, "time")
    .push(" AND ")
    .kept_duration();
}

pub async fn time_per_cell(db: &DatabaseConnection, scope: &Scope) -> AppResult<TimePerCell> {
    let (txn, progress) = rolled::begin(db).await?;
    // On PostgreSQL each half of the students is read on a connection of its own, at once:
    // grouping by (cell, student) took half of the statement's 26 ms for a 1.5 M-event class's
    // last session, and those groups split by student.
    let sums = match rolled::second_reader(db, &txn).await? {
        Some(second) => {
            let (lower, upper) = scope.halves();
            let (mut sums, upper) = tokio::try_join!(
                time_sums(&txn, (&lower, &progress)),
                time_sums(&second.txn, (&upper, &progress)),
            )?;
            second.txn.commit().await?;
            sums.add(upper);
            sums
        }
        None => time_sums(&txn, (scope, &progress)).await?,
    };
    txn.commit().await?;
    Ok(sums.into_time_per_cell())
}

/// Per cell, the sum and the number of its students' means; and how many students have one.
#[derive(Default)]
struct TimeSums {
    cells: BTreeMap<String, (f64, i64)>,
    students: i64,
}

impl TimeSums {
    /// Adds the sums of other students.
    fn add(&mut self, other: TimeSums) {
        for (cell, (sum, count)) in other.cells {
            let total = self.cells.entry(cell).or_default();
            total.0 += sum;
            total.1 += count;
        }
        self.students += other.students;
    }

    fn into_time_per_cell(self) -> TimePerCell {
        let cells = self
            .cells
            .into_iter()
            .map(|(cell_id, (sum, students))| CellTime {
                cell_id,
                // The mean of means, as `AVG` divides its sum.
                average_duration: round_micro(sum / students as f64),
                student_count: students,
            });
        TimePerCell {
            total_student_count: self.students,
            cells: cells.collect(),
        }
    }
}

/// [`TimeSums`] of `scope`'s students.
async fn time_sums(
    txn: &DatabaseTransaction,
    (scope, progress): (&Scope, &rolled::Progress),
) -> AppResult<TimeSums> {
    let mut sql = rolled::student_means(txn, (scope, progress)).await?;
    let per_student = sql.take_text();
    // One row per cell (its sum of means) and one per student (with no cell), grouped in one
    // pass where the database can: a second scan of the students would cost as much again.
    match sql.backend() {
        DbBackend::Postgres => sql.push(&format!(
            "SELECT cell, SUM(average) AS average_sum, COUNT(*) AS students FROM \
             ({per_student}) AS per_student GROUP BY GROUPING SETS ((cell), (user_id))"
        )),
        _ => sql.push(&format!(
            "WITH per_student AS ({per_student}) SELECT cell, SUM(average) AS average_sum, \
             COUNT(*) AS students FROM per_student GROUP BY cell UNION ALL \
             SELECT NULL, NULL, COUNT(*) FROM per_student GROUP BY user_id"
        )),
    };
    let mut sums = TimeSums::default();
    for row in txn.query_all_raw(sql.build()).await? {
        let Some(cell) = row.try_get::<Option<String>>("", "cell")? else {
            sums.students += 1;
            continue;
        };
        let sum = row.try_get("", "average_sum")?;
        sums.cells.insert(cell, (sum, row.try_get("", "students")?));
    }
    Ok(sums)
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellDurations {
    pub cell_id: String,
    /// Kept OFF durations in seconds, by event time (then arrival): the page asked for.
    pub durations: Vec<f64>,
    /// Every kept duration of the cell in the scope, paged or not.
    pub total_count: i64,
}

/// A page of each cell's durations: `limit` values from the `offset`-th (0-based).
#[derive(Debug, Clone, Copy)]
pub struct DurationPage {
    pub limit: i64,
    pub offset: i64,
}

/// Every duration [`time_per_cell`] averages, per cell (the old dashboard's list; GraphQL
/// pages them: [`focus_duration_pages`](super::focus_duration_pages)).
pub async fn focus_durations(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Vec<CellDurations>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT orig_cell_id, click_duration FROM (");
    kept_durations(&mut sql, scope);
    sql.push(") AS kept ORDER BY orig_cell_id, time, id");
    let mut cells: BTreeMap<String, CellDurations> = BTreeMap::new();
    for row in db.query_all_raw(sql.build()).await? {
        let cell_id: String = row.try_get("", "orig_cell_id")?;
        let cell = cells
            .entry(cell_id.clone())
            .or_insert_with(|| CellDurations {
                cell_id,
                durations: Vec::new(),
                total_count: 0,
            });
        cell.durations.push(row.try_get("", "click_duration")?);
        cell.total_count += 1;
    }
    Ok(cells.into_values().collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellStudents {
    pub cell_id: String,
    pub student_count: i64,
}

/// Per cell, the students whose latest ON focus (by time, then arrival) is on it.
pub async fn student_locations(
    db: &DatabaseConnection,
    scope: &Scope,
) -> AppResult<Vec<CellStudents>> {
    let (txn, progress) = rolled::begin(db).await?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT cell, COUNT(*) AS students FROM (SELECT cell, ROW_NUMBER() OVER \
         (PARTITION BY user_id ORDER BY time DESC, id DESC) AS latest FROM (",
    );
    rolled::latest_focus_candidates(&mut sql, scope, &progress);
    sql.push(") AS candidates) AS ranked WHERE latest = 1 GROUP BY cell");
    let rows = txn.query_all_raw(sql.build()).await?;
    txn.commit().await?;
    let mut cells = rows
        .iter()
        .map(cell_students)
        .collect::<AppResult<Vec<_>>>()?;
    cells.sort_by(|a, b| a.cell_id.cmp(&b.cell_id));
    Ok(cells)
}

fn cell_students(row: &QueryResult) -> AppResult<CellStudents> {
    Ok(CellStudents {
        cell_id: row.try_get("", "cell")?,
        student_count: row.try_get("", "students")?,
    })
}
