//! The rollup tables as comparable rows, for tests that compare two ways of building them.

use chrono::{DateTime, Utc};
use tests::TestApp;

pub fn assert_same_rows(expected: &[(String, f64)], actual: &[(String, f64)]) {
    assert_eq!(expected.len(), actual.len());
    for (a, b) in expected.iter().zip(actual) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

/// Every rollup row as (key, integer counts and latest execution; kept sum), in key order.
pub async fn rollup_rows(app: &TestApp) -> Vec<(String, f64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let sql = "SELECT notebook_id, tier, bucket, orig_cell_id, user_id, executions, ok_executions, \
               focus, focus_on, kept_count, kept_sum, markdown_executions, latest_execution_at, \
               latest_execution_id FROM cell_rollups";
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    let mut rows: Vec<(String, f64)> = rows
        .iter()
        .map(|row| {
            let int = |name: &str| row.try_get::<i64>("", name).unwrap();
            let text = |name: &str| row.try_get::<String>("", name).unwrap();
            let key = format!(
                "{} {} {} {} {} {} {} {} {} {} {} {:?} {:?}",
                int("notebook_id"),
                row.try_get::<i16>("", "tier").unwrap(),
                int("bucket"),
                text("orig_cell_id"),
                text("user_id"),
                int("executions"),
                int("ok_executions"),
                int("focus"),
                int("focus_on"),
                int("kept_count"),
                int("markdown_executions"),
                row.try_get::<Option<DateTime<Utc>>>("", "latest_execution_at")
                    .unwrap(),
                row.try_get::<Option<i64>>("", "latest_execution_id")
                    .unwrap()
            );
            (key, row.try_get::<f64>("", "kept_sum").unwrap())
        })
        .collect();
    rows.extend(duration_rows(app).await);
    rows.extend(progress_rows(app).await);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// Every duration rollup row as (key and count; sum).
async fn duration_rows(app: &TestApp) -> Vec<(String, f64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let sql = "SELECT notebook_id, tier, bucket, orig_cell_id, tenths, kept_count, kept_sum \
               FROM duration_rollups";
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let int = |name: &str| row.try_get::<i64>("", name).unwrap();
            let key = format!(
                "durations {} {} {} {} {} {}",
                int("notebook_id"),
                row.try_get::<i16>("", "tier").unwrap(),
                int("bucket"),
                row.try_get::<String>("", "orig_cell_id").unwrap(),
                int("tenths"),
                int("kept_count"),
            );
            (key, row.try_get::<f64>("", "kept_sum").unwrap())
        })
        .collect()
}

/// Every progress rollup row as (key, latest execution and link; 0).
async fn progress_rows(app: &TestApp) -> Vec<(String, f64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let sql = "SELECT notebook_id, minute, user_id, orig_cell_id, latest_time, latest_id, \
               previous_cell, previous_time FROM progress_rollups";
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let int = |name: &str| row.try_get::<i64>("", name).unwrap();
            let text = |name: &str| row.try_get::<String>("", name).unwrap();
            let key = format!(
                "progress {} {} {} {} {:?} {} {:?} {:?}",
                int("notebook_id"),
                int("minute"),
                text("user_id"),
                text("orig_cell_id"),
                row.try_get::<DateTime<Utc>>("", "latest_time").unwrap(),
                int("latest_id"),
                row.try_get::<Option<String>>("", "previous_cell").unwrap(),
                row.try_get::<Option<DateTime<Utc>>>("", "previous_time")
                    .unwrap(),
            );
            (key, 0.0)
        })
        .collect()
}

pub async fn execute(db: &sea_orm::DatabaseConnection, sql: &str) {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(sql).await.unwrap();
}
