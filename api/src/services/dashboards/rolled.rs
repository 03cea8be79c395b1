//! Per (original cell, student) totals of a scope, read from the rollups: whole buckets of the
//! window from `cell_rollups`, and from the event tables its partial edges (or, where cheaper,
//! the whole hour less the events outside the window) and, inside the whole buckets, the rows
//! the applier has not added yet (above the watermarks), summed. The per-cell
//! aggregates (`executions_per_cell`, `time_per_cell`) are sums and means over these totals,
//! so they read a few thousand rollup rows instead of every event of the window.
//!
//! The rollups, the watermarks and the fold must come from one snapshot: [`begin`] opens the
//! read transaction that gives it and says what is unapplied and folded in it.

mod event_rows;
mod per_student;
mod snapshot;

use std::ops::Bound;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend};

use event_rows::{EventRows, Sign};
pub(super) use per_student::student_means;
pub(super) use snapshot::{SecondReader, second_reader, snapshot};

use super::{Scope, sql::Sql};
use crate::{
    error::AppResult,
    services::rollups::{
        self, Cover, EdgeRange, RolledTable, Tier, TierRange, fold,
        watermarks::{self, Unapplied},
    },
};

/// How far the rollups go in a reader's snapshot.
pub(super) struct Progress {
    pub unapplied: Unapplied,
    /// [`fold::folded_before`].
    pub folded_before: Option<i64>,
}

/// Opens the read of a rolled-up aggregate: one snapshot (PostgreSQL `REPEATABLE READ`, a
/// SQLite read transaction) for the rollups, the watermarks and the events above them.
pub(super) async fn begin(db: &DatabaseConnection) -> AppResult<(DatabaseTransaction, Progress)> {
    let txn = snapshot(db).await?;
    let progress = Progress {
        unapplied: watermarks::unapplied(&txn).await?,
        folded_before: fold::folded_before(&txn).await?,
    };
    Ok((txn, progress))
}

/// How a sum over `scope` reads its window, in `txn`'s snapshot: the part of an end's hour
/// outside the window is subtracted when it is the shorter one, or when it holds no event (one
/// index probe each: before a class starts, after it ends).
async fn cover_for_sums(
    txn: &DatabaseTransaction,
    scope: &Scope,
    progress: &Progress,
) -> AppResult<Cover> {
    let mut empty = Vec::new();
    for rest in rollups::rests_for_sums(scope.after, scope.until) {
        if !has_events(txn, scope, &rest).await? {
            empty.push(rest);
        }
    }
    let is_empty = |rest: &EdgeRange| empty.contains(rest);
    let window = (scope.after, scope.until);
    Ok(rollups::cover_for_sums(
        window,
        progress.folded_before,
        is_empty,
    ))
}

/// Whether the notebook has any rolled-up event (of any student) in `range`.
async fn has_events(
    txn: &DatabaseTransaction,
    scope: &Scope,
    range: &EdgeRange,
) -> AppResult<bool> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT CASE WHEN ");
    for (index, table) in RolledTable::ALL.into_iter().enumerate() {
        if index > 0 {
            sql.push(" OR ");
        }
        sql.push("EXISTS (SELECT 1 FROM ")
            .push(table.name())
            .push(" WHERE notebook_id = ")
            .bind(scope.notebook_id)
            .between(table.time(), range.lower, range.upper)
            .push(")");
    }
    sql.push(" THEN 1 ELSE 0 END AS found");
    let found = match txn.query_one_raw(sql.build()).await? {
        Some(row) => row.try_get::<i32>("", "found")? != 0,
        None => true,
    };
    Ok(found)
}

/// `<select> FROM (<the scope's parts of sums>) AS parts <rest>`: a statement over the totals
/// of the rollups and the events that complete them, as every rolled-up sum reads them.
/// Counts are summed as integers in `select`: PostgreSQL sums integers into a bigint, but
/// bigints into a numeric, which is slow to build per group (a rollup row's count fits one).
pub(super) async fn summed(
    txn: &DatabaseTransaction,
    (scope, progress): (&Scope, &Progress),
    sums: Sums,
    (select, rest): (&str, &str),
) -> AppResult<Sql> {
    let cover = cover_for_sums(txn, scope, progress).await?;
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push(select).push(" FROM (");
    parts(&mut sql, scope, (&cover, &progress.unapplied), sums);
    sql.push(") AS parts").push(rest);
    Ok(sql)
}

/// What [`parts`] rows carry. Which event tables each reads, and how:
/// [`EventRows::of`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sums {
    /// `cell, user_id, executions, ok, focus, focus_on, kept_count, kept_sum`.
    Activity,
    /// `cell, user_id, kept_count, kept_sum`, from the rows with a kept duration only (time
    /// per cell reads no execution and no other focus event).
    KeptDurations,
    /// `executions, focus, markdown`: how many events of each rolled-up kind (no cell, no
    /// student: the event counts).
    Counts,
    /// `cell, tenths, kept_count, kept_sum`: the kept durations by tenth of a second, of every
    /// student (the duration rollups are per notebook): only for a scope of the whole class
    /// ([`Scope::has_every_student`]).
    Tenths,
}

/// Pushes the rows whose sums are the scope's totals (several per cell and student): rollup
/// rows of whole buckets, then [`event_parts`].
fn parts(sql: &mut Sql, scope: &Scope, (cover, unapplied): (&Cover, &Unapplied), sums: Sums) {
    rollup_rows(sql, scope, &cover.rollups, sums);
    event_parts(sql, scope, (cover, unapplied), sums);
}

/// Pushes ` UNION ALL ` and the event rows of `cover` (one per event): of the partial edges
/// and of the unapplied rows in its whole buckets, and a negative row per event of a whole
/// bucket that lies outside the window (`cover_for_sums`).
fn event_parts(sql: &mut Sql, scope: &Scope, (cover, unapplied): (&Cover, &Unapplied), sums: Sums) {
    let events = cover.edges.iter().map(|edge| (edge, Sign::Plus));
    for (edge, sign) in events.chain(cover.minus.iter().map(|edge| (edge, Sign::Minus))) {
        for rows in EventRows::of(sums) {
            sql.push(" UNION ALL ");
            rows.push(sql, sign);
            events_in(sql, scope, edge, rows.table().time());
        }
    }
    for range in &cover.rollups {
        for rows in EventRows::of(sums) {
            let table = rows.table();
            if let Some(mark) = unapplied.of(table) {
                sql.push(" UNION ALL ");
                rows.push(sql, Sign::Plus);
                unapplied_in(sql, scope, (range, mark), table.time());
            }
        }
    }
}

/// Pushes `SELECT user_id, cell, time, id`: each student's latest `ON` focus of every whole
/// bucket of `scope`, of its partial edges and of its unapplied rows. The latest of these per
/// student (by time, then id) is their latest in the scope.
///
/// A window that starts inside an hour needs no events for that start: the hour's latest is
/// the latest after the start when it lies after it, and when it does not, the student has no
/// focus there at all.
pub(super) fn latest_focus_candidates(sql: &mut Sql, scope: &Scope, progress: &Progress) {
    let unapplied_focus = progress.unapplied.of(RolledTable::Focus);
    let cover = rollups::cover(scope.after, scope.until, progress.folded_before);
    per_range(sql, &cover.rollups, |sql| {
        location_rows(sql, scope);
        sql.students(scope);
    });
    const ON_FOCUS: &str = " UNION ALL SELECT user_id, COALESCE(orig_cell_id, ''), time, id \
                            FROM cell_focus_events WHERE click_type = 'ON' AND ";
    for edge in &cover.edges {
        match (rollups::hour_ending(edge), edge.lower) {
            (Some(hour), Bound::Excluded(after)) => {
                sql.push(" UNION ALL ");
                location_rows(sql, scope);
                sql.push(" AND tier = ")
                    .bind(Tier::Hour.id())
                    .push(" AND bucket = ")
                    .bind(hour)
                    .push(" AND latest_time > ")
                    .bind(after)
                    .students(scope);
                if let Some(mark) = unapplied_focus {
                    sql.push(ON_FOCUS);
                    unapplied_between(sql, scope, mark, ("time", edge.lower, edge.upper));
                }
            }
            _ => {
                sql.push(ON_FOCUS);
                events_in(sql, scope, edge, "time");
            }
        }
    }
    if let Some(mark) = unapplied_focus {
        for range in &cover.rollups {
            sql.push(ON_FOCUS);
            unapplied_in(sql, scope, (range, mark), "time");
        }
    }
}

/// Pushes `SELECT id FROM …`: the row ids of each student's latest execution of original
/// cell `cell` (`""`: the unmapped cell) in every whole bucket of `scope`, and of every
/// execution of the cell in its partial edges and among its unapplied rows. The latest of
/// these per student (by finish time, then id) is their latest attempt in the scope.
pub(super) fn latest_execution_candidates(
    sql: &mut Sql,
    scope: &Scope,
    progress: &Progress,
    cell: &str,
) {
    let cover = rollups::cover(scope.after, scope.until, progress.folded_before);
    per_range(sql, &cover.rollups, |sql| {
        sql.push("SELECT latest_execution_id AS id FROM cell_rollups WHERE notebook_id = ")
            .bind(scope.notebook_id)
            .push(" AND orig_cell_id = ")
            .bind(cell.to_owned())
            .push(" AND latest_execution_id IS NOT NULL")
            .students(scope);
    });
    let executions = RolledTable::Executions;
    let select = format!(" UNION ALL SELECT id FROM {} WHERE ", executions.name());
    for edge in &cover.edges {
        sql.push(&select);
        events_in(sql, scope, edge, executions.time());
        sql.unmapped_or_cell(cell);
    }
    if let Some(mark) = progress.unapplied.of(executions) {
        for range in &cover.rollups {
            sql.push(&select);
            unapplied_in(sql, scope, (range, mark), executions.time());
            sql.unmapped_or_cell(cell);
        }
    }
}

/// `SELECT user_id, cell, time, id FROM location_rollups WHERE notebook_id = …` (the caller
/// adds the buckets).
fn location_rows(sql: &mut Sql, scope: &Scope) {
    sql.push(
        "SELECT user_id, orig_cell_id AS cell, latest_time AS time, latest_id AS id \
         FROM location_rollups WHERE notebook_id = ",
    )
    .bind(scope.notebook_id);
}

fn rollup_rows(sql: &mut Sql, scope: &Scope, ranges: &[TierRange], sums: Sums) {
    let select = match sums {
        Sums::Activity => {
            "SELECT orig_cell_id AS cell, user_id, executions, ok_executions AS ok, focus, \
             focus_on, kept_count, kept_sum FROM cell_rollups WHERE notebook_id = "
        }
        Sums::KeptDurations => {
            "SELECT orig_cell_id AS cell, user_id, kept_count, kept_sum FROM cell_rollups \
             WHERE kept_count <> 0 AND notebook_id = "
        }
        Sums::Counts => {
            "SELECT executions, focus, markdown_executions AS markdown FROM cell_rollups \
             WHERE notebook_id = "
        }
        Sums::Tenths => {
            "SELECT orig_cell_id AS cell, tenths, kept_count, kept_sum FROM duration_rollups \
             WHERE notebook_id = "
        }
    };
    per_range(sql, ranges, |sql| {
        sql.push(select).bind(scope.notebook_id);
        match sums {
            // No student column: the caller reads the whole class only.
            Sums::Tenths => debug_assert!(scope.has_every_student()),
            _ => {
                sql.students(scope);
            }
        }
    });
}

/// Pushes the rows of `ranges`: `select` (a statement up to its conditions) with each range's
/// buckets (nothing matches when there is no range).
///
/// SQLite reads an `OR` of ranges of a `WITHOUT ROWID` table through a temporary table of the
/// rows' keys, to drop repeats: 42 ms instead of 26 for the 19 000 duration rollups of a 1.5 M
/// event class's whole course (its all-time bucket and the hours after it). The ranges never
/// overlap, so there a `SELECT` per range, joined by `UNION ALL`, gives the same rows.
/// PostgreSQL keeps the `OR`, which it reads as one bitmap: for a `UNION ALL` it planned a
/// parallel scan of the whole table, 30 ms instead of 11.
fn per_range(sql: &mut Sql, ranges: &[TierRange], mut select: impl FnMut(&mut Sql)) {
    if sql.backend() == DbBackend::Postgres || ranges.len() < 2 {
        select(sql);
        sql.push(" AND (");
        if ranges.is_empty() {
            sql.push("1 = 0");
        }
        for (index, range) in ranges.iter().enumerate() {
            if index > 0 {
                sql.push(" OR ");
            }
            range_condition(sql, range);
        }
        sql.push(")");
        return;
    }
    for (index, range) in ranges.iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        select(sql);
        sql.push(" AND ");
        range_condition(sql, range);
    }
}

/// `(tier = … AND bucket …)`: the buckets of `range`.
fn range_condition(sql: &mut Sql, range: &TierRange) {
    sql.push("(tier = ").bind(range.tier.id());
    // The all-time tier has one bucket, which holds the hours of its range.
    if range.tier != Tier::All {
        if let Some(from) = range.from {
            sql.push(" AND bucket >= ").bind(from);
        }
        if let Some(to) = range.to {
            sql.push(" AND bucket < ").bind(to);
        }
    }
    sql.push(")");
}

/// The scope's events whose time is in `edge`.
fn events_in(sql: &mut Sql, scope: &Scope, edge: &EdgeRange, time: &str) {
    sql.push("notebook_id = ")
        .bind(scope.notebook_id)
        .between(time, edge.lower, edge.upper)
        .students(scope);
}

/// The scope's events above watermark `mark` whose time is in the buckets of `range`.
fn unapplied_in(sql: &mut Sql, scope: &Scope, (range, mark): (&TierRange, i64), time: &str) {
    type Time = DateTime<Utc>;
    let bound = |seconds: Option<i64>, bound: fn(Time) -> Bound<Time>| {
        seconds
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .map_or(Bound::Unbounded, bound)
    };
    let (lower, upper) = (
        bound(range.from, Bound::Included),
        bound(range.to, Bound::Excluded),
    );
    unapplied_between(sql, scope, mark, (time, lower, upper));
}

/// The scope's events above watermark `mark` whose time is between the bounds. They are few
/// (what arrived since the applier's last pass) and found by id: on SQLite, whose planner would
/// rather walk the notebook's time index over whole hours, the other terms are kept from
/// indexes (`+column`).
fn unapplied_between(
    sql: &mut Sql,
    scope: &Scope,
    mark: i64,
    (time, lower, upper): (&str, Bound<DateTime<Utc>>, Bound<DateTime<Utc>>),
) {
    let unindexed = match sql.backend() {
        DbBackend::Postgres => "",
        _ => "+",
    };
    sql.push("id > ")
        .bind(mark)
        .push(&format!(" AND {unindexed}notebook_id = "))
        .bind(scope.notebook_id)
        .between(&format!("{unindexed}{time}"), lower, upper)
        .students(scope);
}
