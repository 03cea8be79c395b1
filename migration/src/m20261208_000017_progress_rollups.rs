//! The progress series from rollups: `progress_rollups` holds, per notebook, student and UTC
//! minute in which the student ran a cell with an original id (the others have no place in a
//! teacher's cell order), that minute's latest execution (its original cell,
//! finish time and row id) and the student's previous such row's cell and time. A series
//! then reads, per minute of its window, how many students arrived at each cell and from
//! which cell they came (when that row was inside the window), summed by the database,
//! instead of every execution of the window.
//!
//! The key leads with the minute, so a window's rows are one range; the second index finds a
//! student's neighbouring rows for the applier. The rows already applied get theirs here,
//! from the executions up to the applied watermark. Stop the previous version's instances
//! first: their applier would add executions without their minutes.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProgressRollups {
    Table,
    NotebookId,
    Minute,
    UserId,
    OrigCellId,
    LatestTime,
    LatestId,
    PreviousCell,
    PreviousTime,
}

const BY_STUDENT: &str = "idx_progress_rollups_student";

/// The start (Unix seconds) of the minute of `t_finish`.
fn minute_of_finish(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM t_finish) / 60) AS BIGINT) * 60",
        _ => "(CAST(strftime('%s', t_finish) AS INTEGER) / 60) * 60",
    }
}

/// Each applied minute's latest execution, linked to the student's previous minute.
fn backfill(backend: DbBackend) -> String {
    let minute = minute_of_finish(backend);
    format!(
        "INSERT INTO progress_rollups (notebook_id, minute, user_id, orig_cell_id, latest_time, \
         latest_id, previous_cell, previous_time) SELECT notebook_id, minute, user_id, cell, \
         t_finish, id, LAG(cell) OVER student, LAG(t_finish) OVER student FROM (SELECT \
         notebook_id, {minute} AS minute, user_id, orig_cell_id AS cell, t_finish, \
         id, ROW_NUMBER() OVER (PARTITION BY notebook_id, user_id, {minute} ORDER BY t_finish \
         DESC, id DESC) AS newest FROM code_executions WHERE orig_cell_id IS NOT NULL AND id <= \
         (SELECT applied_id FROM rollup_watermarks WHERE event_table = 'code_executions')) \
         AS latest WHERE newest = 1 \
         WINDOW student AS (PARTITION BY notebook_id, user_id ORDER BY minute)"
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
                    .table(ProgressRollups::Table)
                    .col(big_integer(ProgressRollups::NotebookId))
                    .col(big_integer(ProgressRollups::Minute))
                    .col(string(ProgressRollups::UserId))
                    .col(string(ProgressRollups::OrigCellId))
                    .col(timestamp_with_time_zone(ProgressRollups::LatestTime))
                    .col(big_integer(ProgressRollups::LatestId))
                    .col(string_null(ProgressRollups::PreviousCell))
                    .col(timestamp_with_time_zone_null(ProgressRollups::PreviousTime))
                    .primary_key(
                        Index::create()
                            .col(ProgressRollups::NotebookId)
                            .col(ProgressRollups::Minute)
                            .col(ProgressRollups::UserId),
                    )
                    .extra(storage)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX {BY_STUDENT} ON progress_rollups (notebook_id, user_id, minute)"
        ))
        .await?;
        db.execute_unprepared(&backfill(backend)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProgressRollups::Table).to_owned())
            .await
    }
}
