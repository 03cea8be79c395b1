//! Rollups: per notebook, original cell, student and time bucket, the counts and sums the
//! per-cell dashboards read (and per student and bucket, their latest location), kept in the
//! same transaction as the events they summarise (the ingest store writes both). Buckets come in tiers (hour, day, 30 days, and one bucket for
//! all time), so a window of any length reads few rows; only its partial edges are read from
//! the events. `rollup_state` records whether the rows that existed before this migration have
//! been summarised: the server does that once, after migrating, with the same code that keeps
//! the rollups at insert (so the bucket rule is written once).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CellRollups {
    Table,
    NotebookId,
    Tier,
    Bucket,
    OrigCellId,
    UserId,
    Executions,
    OkExecutions,
    Focus,
    FocusOn,
    KeptCount,
    KeptSum,
}

/// Per notebook, student and bucket, the student's latest `ON` cell focus in it (by time,
/// then row id): where the student was at the bucket's end.
#[derive(DeriveIden)]
enum LocationRollups {
    Table,
    NotebookId,
    Tier,
    Bucket,
    UserId,
    LatestTime,
    LatestId,
    OrigCellId,
}

#[derive(DeriveIden)]
enum RollupState {
    Table,
    Id,
    BackfilledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CellRollups::Table)
                    .col(big_integer(CellRollups::NotebookId))
                    .col(small_integer(CellRollups::Tier))
                    .col(big_integer(CellRollups::Bucket))
                    .col(string(CellRollups::OrigCellId))
                    .col(string(CellRollups::UserId))
                    .col(big_integer(CellRollups::Executions).default(0))
                    .col(big_integer(CellRollups::OkExecutions).default(0))
                    .col(big_integer(CellRollups::Focus).default(0))
                    .col(big_integer(CellRollups::FocusOn).default(0))
                    .col(big_integer(CellRollups::KeptCount).default(0))
                    .col(double(CellRollups::KeptSum).default(0.0))
                    .primary_key(
                        Index::create()
                            .col(CellRollups::NotebookId)
                            .col(CellRollups::Tier)
                            .col(CellRollups::Bucket)
                            .col(CellRollups::OrigCellId)
                            .col(CellRollups::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        // Erasing a student deletes their rows in every notebook.
        manager
            .create_index(
                Index::create()
                    .name("idx_cell_rollups_user")
                    .table(CellRollups::Table)
                    .col(CellRollups::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LocationRollups::Table)
                    .col(big_integer(LocationRollups::NotebookId))
                    .col(small_integer(LocationRollups::Tier))
                    .col(big_integer(LocationRollups::Bucket))
                    .col(string(LocationRollups::UserId))
                    .col(timestamp_with_time_zone(LocationRollups::LatestTime))
                    .col(big_integer(LocationRollups::LatestId))
                    .col(string(LocationRollups::OrigCellId))
                    .primary_key(
                        Index::create()
                            .col(LocationRollups::NotebookId)
                            .col(LocationRollups::Tier)
                            .col(LocationRollups::Bucket)
                            .col(LocationRollups::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_location_rollups_user")
                    .table(LocationRollups::Table)
                    .col(LocationRollups::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RollupState::Table)
                    .col(integer(RollupState::Id).primary_key())
                    .col(timestamp_with_time_zone_null(RollupState::BackfilledAt))
                    .to_owned(),
            )
            .await?;
        let pending = Query::insert()
            .into_table(RollupState::Table)
            .columns([RollupState::Id])
            .values_panic([1.into()])
            .to_owned();
        manager.exec_stmt(pending).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RollupState::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LocationRollups::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CellRollups::Table).to_owned())
            .await
    }
}
