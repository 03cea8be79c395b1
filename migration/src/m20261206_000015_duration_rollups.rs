//! The duration summary from rollups: `duration_rollups` holds, per notebook, original cell,
//! time bucket and tenth of a second of duration (`tenths`: the whole second times ten plus
//! the tenth within it), how many counted focus durations fell in it and their sum. A cell's
//! histogram (whose edges are whole seconds), count and mean are sums of these rows, and they
//! say in which tenth each quartile's rank lies; only those few tenths' durations are read
//! from the events, through a new index on the `OFF` focus events by cell and duration.
//!
//! The rows are per notebook, not per student: per student they would be about as many as the
//! durations themselves. A summary filtered to some students reads the events, as before.
//!
//! The rows already applied get theirs here, from the focus events up to the applied
//! watermark: each hour from its events, then the all-time bucket from the hours before the
//! fold (which is what it sums). Stop the previous version's instances first: their applier
//! would add focus events without their durations.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DurationRollups {
    Table,
    NotebookId,
    Tier,
    Bucket,
    OrigCellId,
    Tenths,
    KeptCount,
    KeptSum,
}

/// The rollup tiers' ids (`Tier` in the api crate).
const HOUR: i16 = 0;
const ALL_TIME: i16 = 3;

/// The outlier limit (`MAX_DURATION_SECS` in the api crate).
const MAX_DURATION_SECS: f64 = 5000.0;

/// The partial index of the `OFF` durations by (notebook, cell, duration, time), where the
/// duration summary reads its ranks: SQLite's is told to use it (`INDEXED BY`), so that each
/// rank's range of durations is one seek.
pub const OFF_DURATIONS: &str = "idx_cell_focus_events_off_durations";
const INDEX: &str = OFF_DURATIONS;

/// The start (Unix seconds) of the hour of `time`, and the tenths of `click_duration` (never
/// negative: ingest rejects that) as the api crate's `duration_tenths` computes them.
fn hour_and_tenths(backend: DbBackend) -> (&'static str, &'static str) {
    match backend {
        DbBackend::Postgres => (
            "CAST(FLOOR(EXTRACT(EPOCH FROM time) / 3600) AS BIGINT) * 3600",
            "CAST(FLOOR(click_duration) AS BIGINT) * 10 \
             + CAST(FLOOR((click_duration - FLOOR(click_duration)) * 10) AS BIGINT)",
        ),
        _ => (
            "(CAST(strftime('%s', time) AS INTEGER) / 3600) * 3600",
            "CAST(click_duration AS INTEGER) * 10 \
             + CAST((click_duration - CAST(click_duration AS INTEGER)) * 10 AS INTEGER)",
        ),
    }
}

/// Each hour's rows, from its applied focus events with a counted duration.
fn hours(backend: DbBackend) -> String {
    let (hour, tenths) = hour_and_tenths(backend);
    format!(
        "INSERT INTO duration_rollups (notebook_id, tier, bucket, orig_cell_id, tenths, \
         kept_count, kept_sum) SELECT notebook_id, {HOUR}, hour, cell, tenths, COUNT(*), \
         SUM(click_duration) FROM (SELECT notebook_id, {hour} AS hour, \
         COALESCE(orig_cell_id, '') AS cell, {tenths} AS tenths, click_duration \
         FROM cell_focus_events WHERE click_type = 'OFF' AND click_duration IS NOT NULL \
         AND click_duration <= {MAX_DURATION_SECS:.1} AND id <= (SELECT applied_id \
         FROM rollup_watermarks WHERE event_table = 'cell_focus_events')) AS kept \
         GROUP BY notebook_id, hour, cell, tenths"
    )
}

/// The all-time rows: the sums of the hours before the fold.
fn all_time_from_hours() -> String {
    format!(
        "INSERT INTO duration_rollups (notebook_id, tier, bucket, orig_cell_id, tenths, \
         kept_count, kept_sum) SELECT notebook_id, {ALL_TIME}, 0, orig_cell_id, tenths, \
         SUM(kept_count), SUM(kept_sum) FROM duration_rollups WHERE tier = {HOUR} \
         AND bucket < (SELECT folded_before FROM rollup_fold WHERE id = 1) \
         GROUP BY notebook_id, orig_cell_id, tenths"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // As the other rollups: room for updates in place on PostgreSQL, one B-tree on SQLite.
        let backend = manager.get_database_backend();
        let storage = match backend {
            DbBackend::Postgres => "WITH (fillfactor = 70)",
            _ => "WITHOUT ROWID",
        };
        manager
            .create_table(
                Table::create()
                    .table(DurationRollups::Table)
                    .col(big_integer(DurationRollups::NotebookId))
                    .col(small_integer(DurationRollups::Tier))
                    .col(big_integer(DurationRollups::Bucket))
                    .col(string(DurationRollups::OrigCellId))
                    .col(big_integer(DurationRollups::Tenths))
                    .col(big_integer(DurationRollups::KeptCount).default(0))
                    .col(double(DurationRollups::KeptSum).default(0.0))
                    .primary_key(
                        Index::create()
                            .col(DurationRollups::NotebookId)
                            .col(DurationRollups::Tier)
                            .col(DurationRollups::Bucket)
                            .col(DurationRollups::OrigCellId)
                            .col(DurationRollups::Tenths),
                    )
                    .extra(storage)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The durations of one tenth of one cell, found without reading the cell's other
        // events; the time is in the key so the window's filter needs no row.
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON cell_focus_events \
             (notebook_id, orig_cell_id, click_duration, time) WHERE click_type = 'OFF'"
        ))
        .await?;
        db.execute_unprepared(&hours(backend)).await?;
        db.execute_unprepared(&all_time_from_hours()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX {INDEX}"))
            .await?;
        manager
            .drop_table(Table::drop().table(DurationRollups::Table).to_owned())
            .await
    }
}
