//! The all-time tier, folded from closed hours. The applier adds new events to the hour tier
//! only (one rollup row per event, not two); when an hour has closed, its rows are summed into
//! the all-time bucket in one statement. `rollup_fold.folded_before` says how far: every hour
//! bucket starting before it is in the all-time tier, and none after it. An event that arrives
//! late, for an hour already folded, goes to both tiers ([`Deltas`](super::Deltas) is told
//! the fold).
//!
//! A reader of the whole course takes the all-time bucket and the hour buckets from
//! `folded_before` on ([`cover`](super::cover)), in the same snapshot as this value. Whoever
//! folds holds the watermark lock, as every other writer of rollups does.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::{
    Tier,
    durations::{DURATION_COLUMNS, DURATION_CONFLICT},
    placeholder,
    upsert::{CELL_COLUMNS, CELL_CONFLICT, LOCATION_COLUMNS, LOCATION_CONFLICT},
};

/// Hour buckets starting before this (Unix seconds) are summed in the all-time tier; `None`
/// before the first fold.
pub async fn folded_before(db: &impl ConnectionTrait) -> Result<Option<i64>, DbErr> {
    let sql = "SELECT folded_before FROM rollup_fold WHERE id = 1";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the rollup fold".to_owned()))?;
    row.try_get("", "folded_before")
}

/// Folds every hour that closed before `now` into the all-time tier, if one closed since the
/// last fold; returns the fold as it then stands. The caller holds the watermark lock.
pub async fn fold_closed_hours(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let before = folded_before(db).await?;
    let current_hour = Tier::Hour.bucket(now);
    if before.is_some_and(|before| before >= current_hour) {
        return Ok(before);
    }
    let from = before.unwrap_or(i64::MIN);
    let backend = db.get_database_backend();
    let (lower, upper) = (placeholder(backend, 1), placeholder(backend, 2));
    let hours = format!(
        "tier = {} AND bucket >= {lower} AND bucket < {upper}",
        Tier::Hour.id()
    );
    let all = Tier::All.id();
    // Counts add up; the latest execution is that of the hour ranked first (by time, then
    // row id, as the hours keep it).
    let cells = format!(
        "INSERT INTO cell_rollups ({CELL_COLUMNS}) SELECT notebook_id, {all}, 0, orig_cell_id, \
         user_id, SUM(executions), SUM(ok_executions), SUM(focus), SUM(focus_on), \
         SUM(kept_count), SUM(kept_sum), SUM(markdown_executions), \
         MAX(CASE WHEN newest = 1 THEN latest_execution_at END), \
         MAX(CASE WHEN newest = 1 THEN latest_execution_id END) FROM (SELECT *, ROW_NUMBER() \
         OVER (PARTITION BY notebook_id, orig_cell_id, user_id ORDER BY latest_execution_at \
         DESC NULLS LAST, latest_execution_id DESC NULLS LAST) AS newest FROM cell_rollups \
         WHERE {hours}) AS hours \
         WHERE true GROUP BY notebook_id, orig_cell_id, user_id{CELL_CONFLICT}"
    );
    // Each student's latest of the folded hours: by time, then row id, as the hours keep it.
    let locations = format!(
        "INSERT INTO location_rollups ({LOCATION_COLUMNS}) SELECT notebook_id, {all}, 0, \
         user_id, latest_time, latest_id, orig_cell_id FROM (SELECT notebook_id, user_id, \
         latest_time, latest_id, orig_cell_id, ROW_NUMBER() OVER (PARTITION BY notebook_id, \
         user_id ORDER BY latest_time DESC, latest_id DESC) AS newest FROM location_rollups \
         WHERE {hours}) AS hours WHERE newest = 1{LOCATION_CONFLICT}"
    );
    let durations = format!(
        "INSERT INTO duration_rollups ({DURATION_COLUMNS}) SELECT notebook_id, {all}, 0, \
         orig_cell_id, tenths, SUM(kept_count), SUM(kept_sum) FROM duration_rollups \
         WHERE {hours} GROUP BY notebook_id, orig_cell_id, tenths{DURATION_CONFLICT}"
    );
    for sql in [cells, locations, durations] {
        let values = [from.into(), current_hour.into()];
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    if backend == DbBackend::Postgres {
        // A fold moves many rows between tiers at once, too few for autovacuum to notice: a
        // planner that still thinks the all-time tier is empty sorts its rows by collation
        // to group them (twice as slow as hashing). Once an hour, a sample of each table.
        db.execute_unprepared("ANALYZE cell_rollups, location_rollups, duration_rollups")
            .await?;
    }
    let sql = format!(
        "UPDATE rollup_fold SET folded_before = {} WHERE id = 1",
        placeholder(backend, 1)
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [current_hour.into()],
    ))
    .await?;
    Ok(Some(current_hour))
}

/// Whether an hour has closed since the last fold.
pub async fn is_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(is_due_after(folded_before(db).await?, now))
}

/// Whether an hour has closed since a fold that left [`folded_before`] at `before`.
pub fn is_due_after(before: Option<i64>, now: DateTime<Utc>) -> bool {
    before.is_none_or(|before| before < Tier::Hour.bucket(now))
}
