//! Adding deltas to the rollup rows: an upsert that sums into an existing row. On PostgreSQL
//! one statement of arrays (its text never changes); on SQLite multi-row `VALUES` of a fixed
//! size, as the event store does.

use sea_orm::sqlx::{self, AssertSqlSafe, PgConnection, SqliteConnection, sqlite::SqliteArguments};

use super::{CellCounts, Latest, LocationKey, RollupKey};

pub(super) const CELL_COLUMNS: &str = "notebook_id, tier, bucket, orig_cell_id, user_id, executions, \
     ok_executions, focus, focus_on, kept_count, kept_sum, markdown_executions, \
     latest_execution_at, latest_execution_id";

/// Whether the incoming row's latest execution is later than the stored one's (by finish
/// time, then row id); a row without executions brings none.
macro_rules! later_execution {
    () => {
        "(excluded.latest_execution_id IS NOT NULL AND (cell_rollups.latest_execution_id IS NULL \
         OR excluded.latest_execution_at > cell_rollups.latest_execution_at \
         OR (excluded.latest_execution_at = cell_rollups.latest_execution_at \
         AND excluded.latest_execution_id > cell_rollups.latest_execution_id)))"
    };
}

/// Counts add up; the latest execution is the later of the two.
pub(super) const CELL_CONFLICT: &str = concat!(
    " ON CONFLICT (notebook_id, tier, bucket, orig_cell_id, user_id) \
     DO UPDATE SET executions = cell_rollups.executions + excluded.executions, \
     ok_executions = cell_rollups.ok_executions + excluded.ok_executions, \
     focus = cell_rollups.focus + excluded.focus, \
     focus_on = cell_rollups.focus_on + excluded.focus_on, \
     kept_count = cell_rollups.kept_count + excluded.kept_count, \
     kept_sum = cell_rollups.kept_sum + excluded.kept_sum, \
     markdown_executions = cell_rollups.markdown_executions + excluded.markdown_executions, \
     latest_execution_at = CASE WHEN ",
    later_execution!(),
    " THEN excluded.latest_execution_at ELSE cell_rollups.latest_execution_at END, \
     latest_execution_id = CASE WHEN ",
    later_execution!(),
    " THEN excluded.latest_execution_id ELSE cell_rollups.latest_execution_id END"
);

/// Values per SQLite statement at most (far below its bind limit): chunks of 256 rows for the
/// location and duration upserts (7 columns), 128 for the cell upserts (14).
const SQLITE_VALUES_PER_STATEMENT: usize = 1_792;

/// The largest chunk of rows of `columns` values: a power of two within
/// [`SQLITE_VALUES_PER_STATEMENT`].
fn sqlite_largest_chunk(columns: usize) -> usize {
    1 << (SQLITE_VALUES_PER_STATEMENT / columns.max(1))
        .max(1)
        .ilog2()
}

/// `rows` in chunks of `largest` (a power of two), then of decreasing powers of two: at most
/// nine statement texts per table, each prepared once per connection and kept in its cache,
/// where a chunk of whatever was left would compile a new statement at nearly every pass.
fn sqlite_chunks<T>(mut rows: &[T], largest: usize) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let size = match rows.len() {
            len if len >= largest => largest,
            len => 1 << len.ilog2(),
        };
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some(chunk)
    })
}

/// The `VALUES` list of `rows` rows of `columns` placeholders each.
fn sqlite_values(columns: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// A SQLite statement being bound.
pub(super) type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>;

/// SQLite: `INSERT INTO {table} ({columns}) VALUES … {conflict}` of `rows` in chunks of
/// [`sqlite_chunks`] (their size from the number of columns), `bind` adding one row's values
/// in the order of `columns`.
pub(super) async fn upsert_chunks_sqlite<T>(
    conn: &mut SqliteConnection,
    rows: &[T],
    (table, columns, conflict): (&str, &str, &str),
    bind: impl for<'q> Fn(SqliteQuery<'q>, &'q T) -> SqliteQuery<'q>,
) -> Result<(), sqlx::Error> {
    let width = columns.split(',').count();
    for chunk in sqlite_chunks(rows, sqlite_largest_chunk(width)) {
        let values = sqlite_values(width, chunk.len());
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {values}{conflict}");
        let query = chunk
            .iter()
            .fold(sqlx::query(AssertSqlSafe(sql)), |query, row| {
                bind(query, row)
            });
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn upsert_postgres(
    conn: &mut PgConnection,
    rows: &[(RollupKey, CellCounts)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO cell_rollups ({CELL_COLUMNS}) SELECT * FROM UNNEST($1::int8[], $2::int2[], \
         $3::int8[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], \
         $10::int8[], $11::float8[], $12::int8[], $13::timestamptz[], $14::int8[]){CELL_CONFLICT}"
    );
    let column = |value: fn(&(RollupKey, CellCounts)) -> i64| -> Vec<i64> {
        rows.iter().map(value).collect()
    };
    sqlx::query(AssertSqlSafe(sql))
        .bind(column(|(key, _)| key.notebook_id))
        .bind(rows.iter().map(|(key, _)| key.tier).collect::<Vec<i16>>())
        .bind(column(|(key, _)| key.bucket))
        .bind(
            rows.iter()
                .map(|(key, _)| key.cell.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(
            rows.iter()
                .map(|(key, _)| key.user.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(column(|(_, counts)| counts.executions))
        .bind(column(|(_, counts)| counts.ok_executions))
        .bind(column(|(_, counts)| counts.focus))
        .bind(column(|(_, counts)| counts.focus_on))
        .bind(column(|(_, counts)| counts.kept_count))
        .bind(
            rows.iter()
                .map(|(_, counts)| counts.kept_sum)
                .collect::<Vec<f64>>(),
        )
        .bind(column(|(_, counts)| counts.markdown_executions))
        .bind(
            rows.iter()
                .map(|(_, counts)| counts.latest_execution.map(|(time, _)| time))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, counts)| counts.latest_execution.map(|(_, id)| id))
                .collect::<Vec<Option<i64>>>(),
        )
        .execute(conn)
        .await?;
    Ok(())
}

/// SQLite: multi-row `VALUES` in chunks of [`sqlite_chunks`], the values bound as they are
/// (a time as sqlx writes it, the events' own text, so the stored times order alike). With
/// one JSON array expanded by `json_each` instead, whose `value ->> n` reads each row's text
/// once per column, a pass held SQLite's one write lock 37 ms (median) where it now holds it
/// 26 (`bench ingest --backend sqlite`, single events; BENCHMARKS.md, twenty-third session).
pub async fn upsert_sqlite(
    conn: &mut SqliteConnection,
    rows: &[(RollupKey, CellCounts)],
) -> Result<(), sqlx::Error> {
    let table = ("cell_rollups", CELL_COLUMNS, CELL_CONFLICT);
    upsert_chunks_sqlite(conn, rows, table, |query, (key, counts)| {
        query
            .bind(key.notebook_id)
            .bind(key.tier)
            .bind(key.bucket)
            .bind(key.cell.as_str())
            .bind(key.user.as_str())
            .bind(counts.executions)
            .bind(counts.ok_executions)
            .bind(counts.focus)
            .bind(counts.focus_on)
            .bind(counts.kept_count)
            .bind(counts.kept_sum)
            .bind(counts.markdown_executions)
            .bind(counts.latest_execution.map(|(time, _)| time))
            .bind(counts.latest_execution.map(|(_, id)| id))
    })
    .await
}

pub(super) const LOCATION_COLUMNS: &str =
    "notebook_id, tier, bucket, user_id, latest_time, latest_id, orig_cell_id";

/// A later focus replaces the bucket's latest; an earlier one (a late arrival) does not.
pub(super) const LOCATION_CONFLICT: &str = " ON CONFLICT (notebook_id, tier, bucket, user_id) \
     DO UPDATE SET latest_time = excluded.latest_time, latest_id = excluded.latest_id, \
     orig_cell_id = excluded.orig_cell_id \
     WHERE excluded.latest_time > location_rollups.latest_time \
     OR (excluded.latest_time = location_rollups.latest_time \
     AND excluded.latest_id > location_rollups.latest_id)";

pub async fn upsert_locations_postgres(
    conn: &mut PgConnection,
    rows: &[(LocationKey, Latest)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO location_rollups ({LOCATION_COLUMNS}) SELECT * FROM UNNEST($1::int8[], \
         $2::int2[], $3::int8[], $4::text[], $5::timestamptz[], $6::int8[], $7::text[])\
         {LOCATION_CONFLICT}"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(
            rows.iter()
                .map(|(key, _)| key.notebook_id)
                .collect::<Vec<i64>>(),
        )
        .bind(rows.iter().map(|(key, _)| key.tier).collect::<Vec<i16>>())
        .bind(rows.iter().map(|(key, _)| key.bucket).collect::<Vec<i64>>())
        .bind(
            rows.iter()
                .map(|(key, _)| key.user.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, latest)| latest.time)
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, latest)| latest.id)
                .collect::<Vec<i64>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, latest)| latest.cell.as_str())
                .collect::<Vec<&str>>(),
        )
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn upsert_locations_sqlite(
    conn: &mut SqliteConnection,
    rows: &[(LocationKey, Latest)],
) -> Result<(), sqlx::Error> {
    let table = ("location_rollups", LOCATION_COLUMNS, LOCATION_CONFLICT);
    upsert_chunks_sqlite(conn, rows, table, |query, (key, latest)| {
        query
            .bind(key.notebook_id)
            .bind(key.tier)
            .bind(key.bucket)
            .bind(key.user.as_str())
            .bind(latest.time)
            .bind(latest.id)
            .bind(latest.cell.as_str())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_chunks_are_256_then_powers_of_two_and_cover_every_row() {
        let rows: Vec<usize> = (0..600).collect();
        let sizes: Vec<usize> = sqlite_chunks(&rows, 256).map(<[usize]>::len).collect();
        assert_eq!(sizes, [256, 256, 64, 16, 8]);
        let joined: Vec<usize> = sqlite_chunks(&rows, 256).flatten().copied().collect();
        assert_eq!(joined, rows);
        assert_eq!(sqlite_chunks::<usize>(&[], 256).count(), 0);
        let sizes: Vec<usize> = sqlite_chunks(&rows[..300], 128)
            .map(<[usize]>::len)
            .collect();
        assert_eq!(sizes, [128, 128, 32, 8, 4]);
    }

    #[test]
    fn sqlite_chunks_hold_at_most_1792_values_256_rows_of_7_and_128_of_14() {
        assert_eq!(sqlite_largest_chunk(7), 256);
        assert_eq!(sqlite_largest_chunk(14), 128);
        assert_eq!(sqlite_largest_chunk(5000), 1);
        assert_eq!(CELL_COLUMNS.split(',').count(), 14);
        assert_eq!(LOCATION_COLUMNS.split(',').count(), 7);
        assert_eq!(
            super::super::durations::DURATION_COLUMNS.split(',').count(),
            7
        );
    }

    #[test]
    fn sqlite_values_hold_a_placeholder_per_column_of_each_row() {
        assert_eq!(sqlite_values(3, 2), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(sqlite_values(1, 1), "(?)");
    }
}
