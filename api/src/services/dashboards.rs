//! Dashboard analytics of one notebook: every aggregate a teacher's dashboard reads. Each
//! aggregate is ONE SQL statement (GROUP BY, window functions) that runs in the database over
//! the event tables' (notebook, time…) indexes, so no notebook's rows are loaded to be counted;
//! Rust only shapes the result (and, for the progress series, sweeps a per-minute reduction).
//! The per-cell counts, time per cell and students' locations read the rollups
//! (`services::rollups`) for a window's whole hours, and the events only for its edges and
//! for the rows the rollup applier has not added yet (`rolled`).
//! Results are the same on SQLite and PostgreSQL: text is ordered in Rust (collations differ),
//! averages are rounded to microseconds (the backends sum floats differently).
//!
//! The rules DOMAIN.md leaves open are written on the GraphQL fields, where GraphiQL shows
//! them; the code comments say why a statement looks the way it does.

mod arrays;
mod attempts;
mod cells;
mod distribution;
mod duration_pages;
mod events;
mod pending;
mod progress;
mod renders;
mod rolled;
mod scope;
mod sql;

use entity::group_member;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

pub use attempts::{Attempt, AttemptPage, AttemptSort, AttemptsRequest};
pub use cells::{
    CellActivity, CellDurations, CellStudents, CellTime, DurationPage, TimePerCell,
    executions_per_cell, focus_durations, student_locations, time_per_cell,
};
pub use distribution::{DurationSummary, HISTOGRAM_EDGES, duration_summaries};
pub use duration_pages::focus_duration_pages;
pub use events::{EventKindCount, event_counts};
pub use pending::{
    LaterAction, PendingUpdate, Postponement, pending_updates, pending_updates_statement,
};
pub use progress::{
    MAX_MINUTES as MAX_PROGRESS_MINUTES, ProgressPoint, ProgressRequest, execution_progress,
    execution_progress_statements, minutes_spanned as progress_minutes_spanned,
    quartiles_exclusive,
};

pub use attempts::latest_attempts;
pub use renders::{Render, latest_renders};
pub use scope::{GroupSelection, Scope, ScopeRequest, StudentHalf};

use crate::error::AppResult;

/// Those of `students` who belong to at least one of `group_ids` (all of them when
/// `group_ids` is empty), sorted.
pub async fn members_among(
    db: &impl ConnectionTrait,
    group_ids: &[i64],
    students: Vec<String>,
) -> AppResult<Vec<String>> {
    let mut kept = if group_ids.is_empty() || students.is_empty() {
        students
    } else {
        group_member::Entity::find()
            .select_only()
            .column(group_member::Column::UserId)
            .distinct()
            .filter(group_member::Column::GroupId.is_in(group_ids.iter().copied()))
            .filter(group_member::Column::UserId.is_in(students))
            .into_tuple()
            .all(db)
            .await?
    };
    kept.sort_unstable();
    kept.dedup();
    Ok(kept)
}

/// Averages are rounded to the microsecond: PostgreSQL and SQLite sum floats in different
/// ways (SQLite compensates rounding errors), and the last bits must not tell them apart. A
/// mean that falls on half a microsecond (four durations of whole microseconds can) lands a
/// few ulps above the half on one backend and below it on the other, so anything within a
/// thousandth of a microsecond of the half is rounded up on both.
fn round_micro(value: f64) -> f64 {
    let micros = value * 1e6;
    let floor = micros.floor();
    let rounded = match (micros - floor - 0.5).abs() < 1e-3 {
        true => floor + 1.0,
        false => micros.round(),
    };
    rounded / 1e6
}

#[cfg(test)]
mod tests {
    use super::round_micro;

    #[test]
    fn a_mean_on_half_a_microsecond_rounds_the_same_whatever_the_summing_order() {
        let durations = [516.522355, 566.844309, 439.357069, 106.849753];
        let forwards: f64 = durations.iter().sum::<f64>() / 4.0;
        let backwards: f64 = durations.iter().rev().sum::<f64>() / 4.0;
        let pairwise = ((durations[0] + durations[3]) + (durations[1] + durations[2])) / 4.0;
        for mean in [
            forwards,
            backwards,
            pairwise,
            407.393_371_499_999_97,
            407.393_371_500_000_03,
        ] {
            assert_eq!(round_micro(mean), 407.393372, "{mean}");
        }
        assert_eq!(round_micro(1.000_000_4), 1.0);
        assert_eq!(round_micro(1.000_000_6), 1.000_001);
    }
}
