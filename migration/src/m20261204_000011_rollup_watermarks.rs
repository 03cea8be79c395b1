//! Rollups applied after the commit: the events' transaction no longer writes them. A
//! background applier adds the events up to a watermark per event table (`rollup_watermarks`:
//! every row with an id at or below `applied_id` is in the rollups, none above), and the
//! dashboards read the rows above it from the events, so answers stay exact while the work
//! leaves the acknowledgement path.
//!
//! The rollups kept so far are cleared and the watermarks start at 0: the applier recomputes
//! them from the events after the first start (answers are exact meanwhile, only slower). Stop
//! every instance of the previous version before this migration: one that still adds rollups
//! in its own transactions would count its events twice.
//!
//! `rollup_state` (whether the rows before the rollups had been summarised) is gone: starting
//! from watermark 0 is that backfill.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RollupWatermarks {
    Table,
    EventTable,
    AppliedId,
}

#[derive(DeriveIden)]
enum RollupState {
    Table,
    Id,
    BackfilledAt,
}

/// Empties both rollup tables: whichever version runs next recomputes them from the events.
async fn clear_rollups(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for table in ["cell_rollups", "location_rollups"] {
        let clear = Query::delete().from_table(Alias::new(table)).to_owned();
        manager.exec_stmt(clear).await?;
    }
    Ok(())
}

/// The event tables the rollups summarise.
const EVENT_TABLES: [&str; 2] = ["code_executions", "cell_focus_events"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RollupWatermarks::Table)
                    .col(string(RollupWatermarks::EventTable).primary_key())
                    .col(big_integer(RollupWatermarks::AppliedId).default(0))
                    .to_owned(),
            )
            .await?;
        let mut start = Query::insert()
            .into_table(RollupWatermarks::Table)
            .columns([RollupWatermarks::EventTable, RollupWatermarks::AppliedId])
            .to_owned();
        for table in EVENT_TABLES {
            start.values_panic([table.into(), 0i64.into()]);
        }
        manager.exec_stmt(start).await?;
        clear_rollups(manager).await?;
        manager
            .drop_table(Table::drop().table(RollupState::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The previous version kept the rollups in the events' transactions and backfilled
        // them once: cleared and marked pending, its next start rebuilds them.
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
        manager.exec_stmt(pending).await?;
        clear_rollups(manager).await?;
        manager
            .drop_table(Table::drop().table(RollupWatermarks::Table).to_owned())
            .await
    }
}
