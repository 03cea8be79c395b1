//! Output types of the dashboard aggregates, mapped from the services' results.

use async_graphql::{Enum, Json, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums;

use entity::enums::ExecutionStatus;

use crate::{
    graphql::scalar_list::ScalarList,
    services::{catalogue, dashboards as svc},
};

/// Executions and focus events of one original cell.
#[derive(SimpleObject)]
pub struct CellExecutionCounts {
    /// Original cell id (`origCellId` of the events).
    pub cell_id: String,
    pub execution_count: i64,
    /// Executions whose status is `OK`.
    pub ok_execution_count: i64,
    /// Cell focus events, `ON` and `OFF` alike.
    pub focus_count: i64,
    /// `ON` focus events only: how many times the cell was entered.
    pub focus_on_count: i64,
}

impl From<svc::CellActivity> for CellExecutionCounts {
    fn from(cell: svc::CellActivity) -> Self {
        Self {
            cell_id: cell.cell_id,
            execution_count: cell.execution_count,
            ok_execution_count: cell.ok_execution_count,
            focus_count: cell.focus_count,
            focus_on_count: cell.focus_on_count,
        }
    }
}

/// Time spent per cell, from `OFF` focus durations.
#[derive(SimpleObject)]
pub struct TimePerCell {
    /// Distinct students with at least one counted duration, on any cell.
    pub total_student_count: i64,
    /// Cells with at least one counted duration, by cell id.
    pub cells: Vec<CellTime>,
}

#[derive(SimpleObject)]
pub struct CellTime {
    pub cell_id: String,
    /// Seconds: the mean over students of each student's mean counted duration on this cell,
    /// rounded to the microsecond.
    pub average_duration: f64,
    /// Students with at least one counted duration on this cell.
    pub student_count: i64,
}

impl From<svc::TimePerCell> for TimePerCell {
    fn from(time: svc::TimePerCell) -> Self {
        Self {
            total_student_count: time.total_student_count,
            cells: time
                .cells
                .into_iter()
                .map(|cell| CellTime {
                    cell_id: cell.cell_id,
                    average_duration: cell.average_duration,
                    student_count: cell.student_count,
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct CellDurations {
    pub cell_id: String,
    /// Counted `OFF` durations in seconds, by event time, then arrival (the page asked for).
    pub durations: ScalarList<f64>,
    /// Every counted duration of the cell in the filter.
    pub total_count: i64,
}

impl From<svc::CellDurations> for CellDurations {
    fn from(cell: svc::CellDurations) -> Self {
        Self {
            cell_id: cell.cell_id,
            durations: cell.durations.into(),
            total_count: cell.total_count,
        }
    }
}

/// The distribution of a cell's counted focus durations (seconds).
#[derive(SimpleObject)]
pub struct CellDurationSummary {
    pub cell_id: String,
    /// Counted `OFF` durations.
    pub count: i64,
    pub min: f64,
    /// Exclusive method, as Python's `statistics.quantiles(n=4)` (one duration: all equal).
    pub first_quartile: f64,
    pub median: f64,
    pub third_quartile: f64,
    pub max: f64,
    /// Rounded to the microsecond.
    pub mean: f64,
    /// Durations per bucket; the edges are fixed (0, 5, 10, 30, 60, 120, 300, 600, 1200,
    /// 1800, 3600, 5000 s), the same for every cell and filter.
    pub histogram: Vec<HistogramBucket>,
}

/// Durations from `from` (inclusive) up to `to` (exclusive; the last bucket includes 5000).
#[derive(SimpleObject)]
pub struct HistogramBucket {
    pub from: f64,
    pub to: f64,
    pub count: i64,
}

impl From<svc::DurationSummary> for CellDurationSummary {
    fn from(cell: svc::DurationSummary) -> Self {
        let histogram = svc::HISTOGRAM_EDGES
            .windows(2)
            .zip(cell.histogram)
            .map(|(edges, count)| HistogramBucket {
                from: edges[0],
                to: edges[1],
                count,
            })
            .collect();
        Self {
            cell_id: cell.cell_id,
            count: cell.count,
            min: cell.min,
            first_quartile: cell.first_quartile,
            median: cell.median,
            third_quartile: cell.third_quartile,
            max: cell.max,
            mean: cell.mean,
            histogram,
        }
    }
}

/// One minute of the execution progress series.
#[derive(SimpleObject)]
pub struct ProgressPoint {
    /// Start of the UTC minute.
    pub minute: DateTime<Utc>,
    pub mean: f64,
    pub median: f64,
    /// Exclusive method, as Python's `statistics.quantiles(n=4)`.
    pub first_quartile: f64,
    pub third_quartile: f64,
    /// Students with a position at this minute.
    pub student_count: i64,
}

impl From<svc::ProgressPoint> for ProgressPoint {
    fn from(point: svc::ProgressPoint) -> Self {
        Self {
            minute: point.minute,
            mean: point.mean,
            median: point.median,
            first_quartile: point.first_quartile,
            third_quartile: point.third_quartile,
            student_count: point.student_count,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "svc::AttemptSort")]
pub enum AttemptSort {
    /// Finish time.
    Time,
    /// Characters of the input.
    InputLength,
    /// `cellOutputLength` as the extension sent it.
    OutputLength,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// A page of latest attempts.
#[derive(SimpleObject)]
pub struct LatestAttempts {
    /// Students with an attempt, whatever the page.
    pub total_count: i64,
    pub attempts: Vec<Attempt>,
}

/// A student's latest execution of a cell.
#[derive(SimpleObject)]
pub struct Attempt {
    /// The student's pseudonym.
    pub user_id: String,
    /// The cell in the student's copy.
    pub cell_id: String,
    pub orig_cell_id: String,
    pub status: ExecutionStatus,
    pub input: String,
    /// Characters of `input`.
    pub input_length: i64,
    /// The nbformat outputs array.
    pub output: Json<serde_json::Value>,
    pub output_length: i32,
    pub language_mimetype: String,
    pub t_start: DateTime<Utc>,
    pub t_finish: DateTime<Utc>,
}

impl From<svc::AttemptPage> for LatestAttempts {
    fn from(page: svc::AttemptPage) -> Self {
        Self {
            total_count: page.total_count,
            attempts: page
                .attempts
                .into_iter()
                .map(|a| Attempt {
                    user_id: a.user_id,
                    cell_id: a.cell_id,
                    orig_cell_id: a.orig_cell_id,
                    status: a.status,
                    input: a.input,
                    input_length: a.input_length,
                    output: Json(a.output),
                    output_length: a.output_length,
                    language_mimetype: a.language_mimetype,
                    t_start: a.t_start,
                    t_finish: a.t_finish,
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct CellStudentCount {
    pub cell_id: String,
    pub student_count: i64,
}

impl From<svc::CellStudents> for CellStudentCount {
    fn from(cell: svc::CellStudents) -> Self {
        Self {
            cell_id: cell.cell_id,
            student_count: cell.student_count,
        }
    }
}

/// The teacher's latest pushed update of one cell and how students answered it.
#[derive(SimpleObject)]
pub struct PendingUpdateStats {
    pub cell_id: String,
    pub update_id: String,
    /// When the teacher pushed it (for an update without a recorded push, its earliest
    /// interaction: see `pendingUpdateStats`).
    pub pushed_at: DateTime<Utc>,
    /// Students who answered `UPDATE_NOW`.
    pub update_now_count: i64,
    /// Students who answered `UPDATE_LATER`.
    pub update_later_count: i64,
    /// Those who postponed, by pseudonym.
    pub postponed: Vec<Postponement>,
}

#[derive(SimpleObject)]
pub struct Postponement {
    pub user_id: String,
    /// Their first `UPDATE_LATER` of this update.
    pub postponed_at: DateTime<Utc>,
    /// What they did after it, by time.
    pub later_actions: Vec<LaterAction>,
}

#[derive(SimpleObject)]
pub struct LaterAction {
    pub action: enums::PendingUpdateAction,
    pub time: DateTime<Utc>,
}

impl From<svc::PendingUpdate> for PendingUpdateStats {
    fn from(update: svc::PendingUpdate) -> Self {
        Self {
            cell_id: update.cell_id,
            update_id: update.update_id,
            pushed_at: update.pushed_at,
            update_now_count: update.update_now_count,
            update_later_count: update.update_later_count,
            postponed: update
                .postponed
                .into_iter()
                .map(|p| Postponement {
                    user_id: p.user_id,
                    postponed_at: p.postponed_at,
                    later_actions: p
                        .later_actions
                        .into_iter()
                        .map(|a| LaterAction {
                            action: a.action,
                            time: a.time,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "catalogue::EventKind")]
pub enum EventKind {
    CodeExecution,
    MarkdownExecution,
    CellFocus,
    NotebookFocus,
    CellAlteration,
    PendingUpdateInteraction,
}

/// Student events of a notebook, per kind and in all.
#[derive(SimpleObject)]
pub struct EventCounts {
    pub total_count: i64,
    pub first_event_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Every kind, zero counts included.
    pub kinds: Vec<EventKindCount>,
}

#[derive(SimpleObject)]
pub struct EventKindCount {
    pub kind: EventKind,
    pub count: i64,
    pub first_event_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
}

impl From<Vec<svc::EventKindCount>> for EventCounts {
    fn from(kinds: Vec<svc::EventKindCount>) -> Self {
        Self {
            total_count: kinds.iter().map(|kind| kind.count).sum(),
            first_event_at: kinds.iter().filter_map(|kind| kind.first_at).min(),
            last_event_at: kinds.iter().filter_map(|kind| kind.last_at).max(),
            kinds: kinds
                .into_iter()
                .map(|kind| EventKindCount {
                    kind: kind.kind.into(),
                    count: kind.count,
                    first_event_at: kind.first_at,
                    last_event_at: kind.last_at,
                })
                .collect(),
        }
    }
}
