//! The duration rollups: per notebook, original cell, bucket and tenth of a second of a counted
//! duration ([`duration_tenths`]), how many durations fell in that tenth and their sum. The
//! duration summary reads its histogram (whose edges are whole seconds), counts and means from
//! them, and from the events only the few tenths that hold its extremes and quartiles. (Whole
//! seconds were tried first: a class's durations of a cell gather in a few seconds, so the
//! seconds of the quartiles held an eighth of all its durations.) Rows are per notebook, not per student (per student they would be about
//! as many as the durations): an erasure takes the student's durations out of them
//! ([`Deltas::erased_duration`](super::Deltas::erased_duration)).

use sea_orm::sqlx::{self, AssertSqlSafe, PgConnection, SqliteConnection};

use super::upsert::upsert_chunks_sqlite;

/// The table the duration rollups live in.
pub const DURATIONS_TABLE: &str = "duration_rollups";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DurationKey {
    pub notebook_id: i64,
    pub tier: i16,
    pub bucket: i64,
    /// `""` for events without an original cell.
    pub cell: String,
    /// [`duration_tenths`] of the durations.
    pub tenths: i64,
}

/// The durations of one [`DurationKey`]: how many, and their sum (both negative for an
/// erasure's deltas).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DurationCounts {
    pub count: i64,
    pub sum: f64,
}

/// The tenth of a second a counted duration (never negative: ingest rejects that) falls in:
/// its whole second times ten, plus the whole tenths of the rest. Taken apart so, a tenth never
/// straddles a whole second, where `floor(seconds * 10)` could round up across one. The SQL
/// of the same (the dashboards' `Sql::tenths`, the migration) makes the same IEEE operations,
/// so both put every duration in the same tenth.
pub fn duration_tenths(seconds: f64) -> i64 {
    let whole = seconds.floor();
    // Counted durations are at most `MAX_DURATION_SECS`, far inside an i64; the rest's tenths
    // are 0 to 9.
    whole as i64 * 10 + ((seconds - whole) * 10.0).floor() as i64
}

/// Whole seconds of a bin of [`duration_tenths`].
pub fn second_of_tenths(tenths: i64) -> i64 {
    tenths.div_euclid(10)
}

pub(super) const DURATION_COLUMNS: &str =
    "notebook_id, tier, bucket, orig_cell_id, tenths, kept_count, kept_sum";

pub(super) const DURATION_CONFLICT: &str = " ON CONFLICT (notebook_id, tier, bucket, orig_cell_id, \
     tenths) DO UPDATE SET kept_count = duration_rollups.kept_count + excluded.kept_count, \
     kept_sum = duration_rollups.kept_sum + excluded.kept_sum";

pub async fn upsert_durations_postgres(
    conn: &mut PgConnection,
    rows: &[(DurationKey, DurationCounts)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO duration_rollups ({DURATION_COLUMNS}) SELECT * FROM UNNEST($1::int8[], \
         $2::int2[], $3::int8[], $4::text[], $5::int8[], $6::int8[], $7::float8[])\
         {DURATION_CONFLICT}"
    );
    let key = |value: fn(&DurationKey) -> i64| -> Vec<i64> {
        rows.iter().map(|(key, _)| value(key)).collect()
    };
    sqlx::query(AssertSqlSafe(sql))
        .bind(key(|key| key.notebook_id))
        .bind(rows.iter().map(|(key, _)| key.tier).collect::<Vec<i16>>())
        .bind(key(|key| key.bucket))
        .bind(
            rows.iter()
                .map(|(key, _)| key.cell.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(key(|key| key.tenths))
        .bind(rows.iter().map(|(_, n)| n.count).collect::<Vec<i64>>())
        .bind(rows.iter().map(|(_, n)| n.sum).collect::<Vec<f64>>())
        .execute(conn)
        .await?;
    Ok(())
}

/// SQLite: multi-row `VALUES` in chunks (as the cell rollups').
pub async fn upsert_durations_sqlite(
    conn: &mut SqliteConnection,
    rows: &[(DurationKey, DurationCounts)],
) -> Result<(), sqlx::Error> {
    let table = (DURATIONS_TABLE, DURATION_COLUMNS, DURATION_CONFLICT);
    upsert_chunks_sqlite(conn, rows, table, |query, (key, counts)| {
        query
            .bind(key.notebook_id)
            .bind(key.tier)
            .bind(key.bucket)
            .bind(key.cell.as_str())
            .bind(key.tenths)
            .bind(counts.count)
            .bind(counts.sum)
    })
    .await
}
