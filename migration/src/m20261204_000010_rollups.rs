//! Rollups: per notebook, original cell, student and time bucket, the counts and sums the
//! per-cell dashboards read (and per student and bucket, their latest location), kept in the
//! same transaction as the events they summarise (the ingest store writes both). Buckets come
//! in tiers (hours, and one bucket for all time), so a class session or the whole course reads
//! few rows; only a window's partial hours are read from the events. No index beyond the
//! primary key: every index is paid at each ingest commit, and erasing a student (rare) can
//! scan. `rollup_state` records whether the rows that existed before this migration have
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
        // Each ingest commit upserts these rows. On SQLite a table keyed by its primary key
        // alone (no rowid) is one B-tree instead of two; on PostgreSQL free space on each page
        // lets an update stay on its page (a HOT update, no index entry to add).
        let storage = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => "WITH (fillfactor = 70)",
            _ => "WITHOUT ROWID",
        };
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
                    .extra(storage)
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
                    .extra(storage)
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
