//! One value of a feed: every aggregate of the notebook's dashboard under one filter, computed
//! at one time through `services::dashboards` (the same functions the queries call, so a value
//! equals the queries' answers).

use chrono::{DateTime, TimeDelta, Utc};

use super::{FeedKey, HubInner};
use crate::{
    error::{AppError, AppResult},
    services::{
        dashboards::{
            self as svc, CellActivity, CellStudents, DurationSummary, MAX_PROGRESS_MINUTES,
            ProgressPoint, ProgressRequest, Scope, TimePerCell,
        },
        notebooks,
        rollups::floor_minute,
    },
};

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The notebook's public id.
    pub notebook_id: String,
    pub computed_at: DateTime<Utc>,
    pub executions_per_cell: Vec<CellActivity>,
    pub time_per_cell: TimePerCell,
    pub duration_summaries: Vec<DurationSummary>,
    pub student_locations: Vec<CellStudents>,
    /// Pseudonyms, sorted.
    pub connected_students: Vec<String>,
    /// Empty without a progress start.
    pub execution_progress: Vec<ProgressPoint>,
}

impl Snapshot {
    /// Whether `other` holds the same numbers, whenever it was computed.
    pub(super) fn same_values(&self, other: &Self) -> bool {
        self.notebook_id == other.notebook_id
            && self.executions_per_cell == other.executions_per_cell
            && self.time_per_cell == other.time_per_cell
            && self.duration_summaries == other.duration_summaries
            && self.student_locations == other.student_locations
            && self.connected_students == other.connected_students
            && self.execution_progress == other.execution_progress
    }
}

/// `BAD_USER_INPUT` unless a progress series from `since` to `now` is one of at most
/// [`MAX_PROGRESS_MINUTES`] whole minutes and starts before now.
pub(super) fn check_progress_since(since: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
    if since >= now {
        return Err(AppError::bad_input("`progressSince` must be before now"));
    }
    let minutes = svc::progress_minutes_spanned(since, now);
    if minutes > MAX_PROGRESS_MINUTES {
        return Err(AppError::bad_input(format!(
            "`progressSince` is {minutes} minutes ago; at most {MAX_PROGRESS_MINUTES} are allowed"
        )));
    }
    Ok(())
}

/// The value of `key` now. The scope is resolved again each time: "live only" reads the
/// students connected now, and the groups are checked again.
pub(super) async fn compute(hub: &HubInner, key: &FeedKey) -> AppResult<Snapshot> {
    let db = &hub.db;
    let presence = hub.presence.as_ref();
    let ids = (key.row_id, key.public_id.as_str());
    let scope = Scope::resolve(db, presence, ids, key.scope_request()).await?;
    let now = Utc::now();
    let (executions, time, durations, locations, connected, progress) = futures::try_join!(
        svc::executions_per_cell(db, &scope),
        svc::time_per_cell(db, &scope),
        svc::duration_summaries(db, &scope),
        svc::student_locations(db, &scope),
        scope.connected_students(db, presence, &key.public_id),
        progress(hub, &scope, key, now),
    )?;
    Ok(Snapshot {
        notebook_id: key.public_id.clone(),
        computed_at: now,
        executions_per_cell: executions,
        time_per_cell: time,
        duration_summaries: durations,
        student_locations: locations,
        connected_students: connected,
        execution_progress: progress,
    })
}

/// The progress series from the key's start to `now` over the notebook's current cell
/// order; a subscription open for over a day keeps the last [`MAX_PROGRESS_MINUTES`].
async fn progress(
    hub: &HubInner,
    scope: &Scope,
    key: &FeedKey,
    now: DateTime<Utc>,
) -> AppResult<Vec<ProgressPoint>> {
    let Some(since) = key.progress_since else {
        return Ok(Vec::new());
    };
    let earliest = floor_minute(now) - TimeDelta::minutes(MAX_PROGRESS_MINUTES - 1);
    let request = ProgressRequest {
        start: since.max(earliest),
        end: now,
        cell_order: notebooks::current_cell_order(&hub.db, key.row_id).await?,
        now,
    };
    svc::execution_progress(&hub.db, scope, &request).await
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::check_progress_since;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn a_progress_start_must_be_before_now_and_within_1440_minutes() {
        let now = at("2026-12-04T12:00:30Z");
        assert!(check_progress_since(at("2026-12-03T12:01:00Z"), now).is_ok());
        assert!(check_progress_since(at("2026-12-04T12:00:29Z"), now).is_ok());
        let too_old = check_progress_since(at("2026-12-03T12:00:59Z"), now);
        assert_eq!(too_old.map_err(|e| e.code()), Err("BAD_USER_INPUT"));
        let future = check_progress_since(at("2026-12-04T12:00:30Z"), now);
        assert_eq!(future.map_err(|e| e.code()), Err("BAD_USER_INPUT"));
    }
}
