//! Each student's mean kept duration per cell in a scope, one row per (cell, student): what
//! time per cell averages.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};

use super::{Progress, Sums, cover_for_sums, event_parts, parts, rollup_rows};
use crate::{
    error::AppResult,
    services::dashboards::{Scope, sql::Sql},
};

/// `SELECT cell, user_id, average FROM …`: per (cell, student) of `scope` with a kept
/// duration, the mean of their kept durations (their sum over their count).
///
/// Summing every part by (cell, student) made PostgreSQL build one group per rollup row: the
/// 18 000 of a 1.5 M event class's whole course took 9 of the statement's 23 ms. The all-time
/// bucket holds each (cell, student) once and needs no group, so there it is joined with the
/// other parts summed (the hours after the fold, and events): 26 -> 19 ms over HTTP. An hour
/// joined with the other hours of a session's window saved under 1 ms of 20, so windows
/// without the all-time bucket, and SQLite (no hash join), sum every part.
pub(in super::super) async fn student_means(
    txn: &DatabaseTransaction,
    (scope, progress): (&Scope, &Progress),
) -> AppResult<Sql> {
    let cover = cover_for_sums(txn, scope, progress).await?;
    let reading = (&cover, &progress.unapplied);
    let mut sql = Sql::new(txn.get_database_backend());
    let split = match sql.backend() {
        DbBackend::Postgres => cover.all_time_and_rest(),
        _ => None,
    };
    let Some((all_time, rest)) = split else {
        sql.push(
            "SELECT cell, user_id, SUM(kept_sum) / SUM(CAST(kept_count AS INTEGER)) AS average \
             FROM (",
        );
        parts(&mut sql, scope, reading, Sums::KeptDurations);
        sql.push(") AS parts GROUP BY cell, user_id HAVING SUM(CAST(kept_count AS INTEGER)) > 0");
        return Ok(sql);
    };
    const COUNT: &str = "COALESCE(all_time.kept_count, 0) + COALESCE(others.kept_count, 0)";
    const SUM: &str = "COALESCE(all_time.kept_sum, 0) + COALESCE(others.kept_sum, 0)";
    sql.push(&format!(
        "SELECT cell, user_id, ({SUM}) / ({COUNT}) AS average FROM ("
    ));
    rollup_rows(&mut sql, scope, &[all_time], Sums::KeptDurations);
    sql.push(
        ") AS all_time FULL JOIN (SELECT cell, user_id, \
         SUM(CAST(kept_count AS INTEGER)) AS kept_count, SUM(kept_sum) AS kept_sum FROM (",
    );
    rollup_rows(&mut sql, scope, &rest, Sums::KeptDurations);
    event_parts(&mut sql, scope, reading, Sums::KeptDurations);
    sql.push(") AS parts GROUP BY cell, user_id) AS others USING (cell, user_id) WHERE ")
        .push(COUNT)
        .push(" > 0");
    Ok(sql)
}
