//! Per (original cell, student) totals of a scope, read from the rollups: whole buckets of the
//! window from `cell_rollups`, its partial edges from the event tables, summed. The per-cell
//! aggregates (`executions_per_cell`, `time_per_cell`) are sums and means over these totals,
//! so they read a few thousand rollup rows instead of every event of the window.

use super::{Scope, sql::Sql};
use crate::services::rollups::{self, EdgeRange, Tier, TierRange};

/// Pushes `SELECT cell, user_id, executions, ok, focus, focus_on, kept_count, kept_sum` per
/// (cell, student) of `scope` (a subquery for the caller to aggregate).
pub(super) fn per_cell_and_student(sql: &mut Sql, scope: &Scope) {
    let cover = rollups::cover(scope.after, scope.until);
    // The all-time bucket alone already has one row per (cell, student).
    if cover.edges.is_empty() && cover.rollups.iter().all(|range| range.tier == Tier::All) {
        rollup_rows(sql, scope, &cover.rollups);
        return;
    }
    sql.push(
        "SELECT cell, user_id, CAST(SUM(executions) AS BIGINT) AS executions, \
         CAST(SUM(ok) AS BIGINT) AS ok, CAST(SUM(focus) AS BIGINT) AS focus, \
         CAST(SUM(focus_on) AS BIGINT) AS focus_on, \
         CAST(SUM(kept_count) AS BIGINT) AS kept_count, SUM(kept_sum) AS kept_sum FROM (",
    );
    parts(sql, scope);
    sql.push(") AS parts GROUP BY cell, user_id");
}

/// Pushes the rows whose sums are the scope's totals (several per cell and student): rollup
/// rows of whole buckets, one row per event of the partial edges. For sums per cell, which
/// need no student's total first.
pub(super) fn parts(sql: &mut Sql, scope: &Scope) {
    let cover = rollups::cover(scope.after, scope.until);
    rollup_rows(sql, scope, &cover.rollups);
    for edge in &cover.edges {
        sql.push(" UNION ALL ");
        execution_rows(sql, scope, edge);
        sql.push(" UNION ALL ");
        focus_rows(sql, scope, edge);
    }
}

/// Pushes `SELECT user_id, cell, time, id`: each student's latest `ON` focus of every whole
/// bucket of `scope`, and every `ON` focus of its partial edges. The latest of these per
/// student (by time, then id) is their latest in the scope.
pub(super) fn latest_focus_candidates(sql: &mut Sql, scope: &Scope) {
    let cover = rollups::cover(scope.after, scope.until);
    sql.push(
        "SELECT user_id, orig_cell_id AS cell, latest_time AS time, latest_id AS id \
         FROM location_rollups WHERE notebook_id = ",
    )
    .bind(scope.notebook_id);
    ranges_condition(sql, &cover.rollups);
    sql.students(scope);
    for edge in &cover.edges {
        sql.push(
            " UNION ALL SELECT user_id, COALESCE(orig_cell_id, ''), time, id \
             FROM cell_focus_events WHERE click_type = 'ON' AND ",
        );
        edge_condition(sql, scope, edge, "time");
    }
}

fn rollup_rows(sql: &mut Sql, scope: &Scope, ranges: &[TierRange]) {
    sql.push(
        "SELECT orig_cell_id AS cell, user_id, executions, ok_executions AS ok, focus, \
         focus_on, kept_count, kept_sum FROM cell_rollups WHERE notebook_id = ",
    )
    .bind(scope.notebook_id);
    ranges_condition(sql, ranges);
    sql.students(scope);
}

/// ` AND (…)`: the buckets of `ranges`.
fn ranges_condition(sql: &mut Sql, ranges: &[TierRange]) {
    sql.push(" AND (");
    if ranges.is_empty() {
        sql.push("1 = 0");
    }
    for (index, range) in ranges.iter().enumerate() {
        if index > 0 {
            sql.push(" OR ");
        }
        sql.push("(tier = ").bind(range.tier.id());
        if let Some(from) = range.from {
            sql.push(" AND bucket >= ").bind(from);
        }
        if let Some(to) = range.to {
            sql.push(" AND bucket < ").bind(to);
        }
        sql.push(")");
    }
    sql.push(")");
}

fn execution_rows(sql: &mut Sql, scope: &Scope, edge: &EdgeRange) {
    sql.push(
        "SELECT COALESCE(orig_cell_id, ''), user_id, 1, \
         CASE WHEN status = 'ok' THEN 1 ELSE 0 END, 0, 0, 0, 0.0 FROM code_executions WHERE ",
    );
    edge_condition(sql, scope, edge, "t_finish");
}

fn focus_rows(sql: &mut Sql, scope: &Scope, edge: &EdgeRange) {
    sql.push(
        "SELECT COALESCE(orig_cell_id, ''), user_id, 0, 0, 1, \
         CASE WHEN click_type = 'ON' THEN 1 ELSE 0 END, CASE WHEN ",
    )
    .kept_duration()
    .push(" THEN 1 ELSE 0 END, CASE WHEN ")
    .kept_duration()
    .push(" THEN click_duration ELSE 0.0 END FROM cell_focus_events WHERE ");
    edge_condition(sql, scope, edge, "time");
}

fn edge_condition(sql: &mut Sql, scope: &Scope, edge: &EdgeRange, time: &str) {
    sql.push("notebook_id = ")
        .bind(scope.notebook_id)
        .between(time, edge.lower, edge.upper)
        .students(scope);
}
