//! Writing the progress rollups ([`PROGRESS_TABLE`](super::PROGRESS_TABLE)): each student's
//! latest code execution per minute, linked to their previous minute's. A new minute's row
//! takes its link from the row before it as stored; then every row that follows a written one
//! is linked anew, which mends the links a late arrival or a row written in the same statement
//! made stale. One statement text per backend and step: PostgreSQL binds arrays, SQLite one
//! JSON text, bound to both steps.

use chrono::SecondsFormat;
use sea_orm::sqlx::{self, AssertSqlSafe, PgConnection, SqliteConnection};

use super::{Latest, ProgressKey};

const COLUMNS: &str = "notebook_id, minute, user_id, orig_cell_id, latest_time, latest_id, \
     previous_cell, previous_time";

/// How a student's rows are found. SQLite is told the index: without statistics its planner
/// walks the key `(notebook_id, minute, …)` back through every earlier minute of the notebook,
/// which matches `ORDER BY minute`, instead of seeking the student's rows.
#[derive(Clone, Copy)]
enum ByStudent {
    Postgres,
    Sqlite,
}

impl ByStudent {
    fn hint(self) -> &'static str {
        match self {
            Self::Postgres => "",
            Self::Sqlite => " INDEXED BY idx_progress_rollups_student",
        }
    }
}

/// The student's row before `row`'s minute: `SELECT <column> … ` of it, for `row` an alias
/// with `notebook_id`, `user_id` and `minute`.
fn previous(column: &str, row: &str, by: ByStudent) -> String {
    format!(
        "(SELECT p.{column} FROM progress_rollups p{} WHERE p.notebook_id = {row}.notebook_id \
         AND p.user_id = {row}.user_id AND p.minute < {row}.minute \
         ORDER BY p.minute DESC LIMIT 1)",
        by.hint()
    )
}

/// A later execution replaces the minute's latest; an earlier one (a late arrival) does not.
/// The link stays: the minutes before did not change.
const CONFLICT: &str = " ON CONFLICT (notebook_id, minute, user_id) DO UPDATE SET \
     orig_cell_id = excluded.orig_cell_id, latest_time = excluded.latest_time, \
     latest_id = excluded.latest_id WHERE excluded.latest_time > progress_rollups.latest_time \
     OR (excluded.latest_time = progress_rollups.latest_time \
     AND excluded.latest_id > progress_rollups.latest_id)";

/// The rows `keys` (a source of `notebook_id`, `minute`, `user_id`) are followed by.
fn relink(keys: &str, by: ByStudent) -> String {
    format!(
        "UPDATE progress_rollups SET previous_cell = {}, previous_time = {} \
         WHERE (notebook_id, minute, user_id) IN (SELECT k.notebook_id, (SELECT MIN(n.minute) \
         FROM progress_rollups n{} WHERE n.notebook_id = k.notebook_id \
         AND n.user_id = k.user_id AND n.minute > k.minute), k.user_id FROM {keys} AS k)",
        previous("orig_cell_id", "progress_rollups", by),
        previous("latest_time", "progress_rollups", by),
        by.hint(),
    )
}

fn insert(source: &str, tail: &str, by: ByStudent) -> String {
    format!(
        "INSERT INTO progress_rollups ({COLUMNS}) SELECT k.notebook_id, k.minute, k.user_id, \
         k.cell, k.latest_time, k.latest_id, {}, {} FROM {source} AS k{tail}{CONFLICT}",
        previous("orig_cell_id", "k", by),
        previous("latest_time", "k", by),
    )
}

pub async fn upsert_progress_postgres(
    conn: &mut PgConnection,
    rows: &[(ProgressKey, Latest)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let notebooks: Vec<i64> = rows.iter().map(|(key, _)| key.notebook_id).collect();
    let minutes: Vec<i64> = rows.iter().map(|(key, _)| key.minute).collect();
    let users: Vec<&str> = rows.iter().map(|(key, _)| key.user.as_str()).collect();
    let source = "UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], \
                  $6::int8[]) AS k(notebook_id, minute, user_id, cell, latest_time, latest_id)";
    let sql = insert(
        &format!("(SELECT * FROM {source})"),
        "",
        ByStudent::Postgres,
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(&notebooks)
        .bind(&minutes)
        .bind(&users)
        .bind(
            rows.iter()
                .map(|(_, l)| l.cell.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|(_, l)| l.time).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, l)| l.id).collect::<Vec<i64>>())
        .execute(&mut *conn)
        .await?;
    let keys = "(SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[]) \
                AS k(notebook_id, minute, user_id))";
    sqlx::query(AssertSqlSafe(relink(keys, ByStudent::Postgres)))
        .bind(&notebooks)
        .bind(&minutes)
        .bind(&users)
        .execute(conn)
        .await?;
    Ok(())
}

/// Rows per SQLite statement, whose rows travel as one JSON text.
const SQLITE_ROWS_PER_STATEMENT: usize = 10_000;

pub async fn upsert_progress_sqlite(
    conn: &mut SqliteConnection,
    rows: &[(ProgressKey, Latest)],
) -> Result<(), sqlx::Error> {
    let source = "(SELECT value ->> 0 AS notebook_id, value ->> 1 AS minute, value ->> 2 AS \
                  user_id, value ->> 3 AS cell, value ->> 4 AS latest_time, value ->> 5 AS \
                  latest_id FROM json_each(?))";
    // `WHERE true` tells SQLite's parser that `ON CONFLICT` belongs to the `INSERT`.
    let upsert = insert(source, " WHERE true", ByStudent::Sqlite);
    let keys = "(SELECT value ->> 0 AS notebook_id, value ->> 1 AS minute, value ->> 2 AS \
                user_id FROM json_each(?))";
    let relink = relink(keys, ByStudent::Sqlite);
    for chunk in rows.chunks(SQLITE_ROWS_PER_STATEMENT) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(key, latest)| {
                // As sqlx writes a time to SQLite (the events' own text), so the stored times
                // order alike.
                let time = latest.time.to_rfc3339_opts(SecondsFormat::AutoSi, false);
                (
                    key.notebook_id,
                    key.minute,
                    &key.user,
                    &latest.cell,
                    time,
                    latest.id,
                )
            })
            .collect();
        let json =
            serde_json::to_string(&values).map_err(|error| sqlx::Error::Encode(error.into()))?;
        sqlx::query(AssertSqlSafe(upsert.as_str()))
            .bind(&json)
            .execute(&mut *conn)
            .await?;
        sqlx::query(AssertSqlSafe(relink.as_str()))
            .bind(&json)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
