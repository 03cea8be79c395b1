//! Each student's latest code execution in the rollups: `cell_rollups.latest_execution_at`
//! and `latest_execution_id` hold, per cell, student and bucket, the execution that finished
//! last (ties to the later-recorded row), so a cell's latest attempts read one candidate per
//! bucket instead of every execution of the cell.
//!
//! The rows already summed get theirs here, from the executions up to the applied watermark:
//! each hour from its executions, then the all-time bucket from the hours before the fold
//! (which is what it sums). Stop the previous version's instances first: their applier would
//! add executions without a latest.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CellRollups {
    Table,
    LatestExecutionAt,
    LatestExecutionId,
}

/// The rollup tiers' ids (`Tier` in the api crate).
const HOUR: i16 = 0;
const ALL_TIME: i16 = 3;

/// The start (Unix seconds) of the hour of `t_finish`.
fn hour_of_finish(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM t_finish) / 3600) AS BIGINT) * 3600",
        _ => "(CAST(strftime('%s', t_finish) AS INTEGER) / 3600) * 3600",
    }
}

/// Each hour row's latest applied execution.
fn hours(backend: DbBackend) -> String {
    let hour = hour_of_finish(backend);
    format!(
        "UPDATE cell_rollups AS r SET latest_execution_at = w.t_finish, latest_execution_id = w.id \
         FROM (SELECT notebook_id, COALESCE(orig_cell_id, '') AS cell, user_id, {hour} AS hour, \
         t_finish, id, ROW_NUMBER() OVER (PARTITION BY notebook_id, COALESCE(orig_cell_id, ''), \
         user_id, {hour} ORDER BY t_finish DESC, id DESC) AS newest FROM code_executions \
         WHERE id <= (SELECT applied_id FROM rollup_watermarks \
         WHERE event_table = 'code_executions')) AS w \
         WHERE w.newest = 1 AND r.tier = {HOUR} AND r.notebook_id = w.notebook_id \
         AND r.bucket = w.hour AND r.orig_cell_id = w.cell AND r.user_id = w.user_id"
    )
}

/// Each all-time row's latest: that of its folded hours.
fn all_time_from_hours() -> String {
    format!(
        "UPDATE cell_rollups AS r SET latest_execution_at = h.latest_execution_at, \
         latest_execution_id = h.latest_execution_id FROM (SELECT notebook_id, orig_cell_id, \
         user_id, latest_execution_at, latest_execution_id, ROW_NUMBER() OVER (PARTITION BY \
         notebook_id, orig_cell_id, user_id ORDER BY latest_execution_at DESC, \
         latest_execution_id DESC) AS newest FROM cell_rollups WHERE tier = {HOUR} \
         AND latest_execution_id IS NOT NULL \
         AND bucket < (SELECT folded_before FROM rollup_fold WHERE id = 1)) AS h \
         WHERE h.newest = 1 AND r.tier = {ALL_TIME} AND r.notebook_id = h.notebook_id \
         AND r.orig_cell_id = h.orig_cell_id AND r.user_id = h.user_id"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CellRollups::Table)
                    .add_column(timestamp_with_time_zone_null(
                        CellRollups::LatestExecutionAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CellRollups::Table)
                    .add_column(big_integer_null(CellRollups::LatestExecutionId))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&hours(manager.get_database_backend()))
            .await?;
        db.execute_unprepared(&all_time_from_hours()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            CellRollups::LatestExecutionId,
            CellRollups::LatestExecutionAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CellRollups::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
