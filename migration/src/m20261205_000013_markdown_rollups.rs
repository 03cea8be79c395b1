//! Markdown executions in the rollups: `cell_rollups.markdown_executions` counts them per
//! cell, student and bucket, as `executions` counts code executions, so the event counts read
//! them from the rollups too. Their watermark starts at 0: the applier adds every stored
//! markdown execution after the first start (answers are exact meanwhile, from the events
//! above the watermark). Hours already folded get their markdown executions in both tiers, as
//! any late event. Stop the previous version's instances first: they would move the other
//! watermarks without this one's rows.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CellRollups {
    Table,
    MarkdownExecutions,
}

#[derive(DeriveIden)]
enum RollupWatermarks {
    Table,
    EventTable,
    AppliedId,
}

const MARKDOWN_EXECUTIONS: &str = "markdown_executions";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CellRollups::Table)
                    .add_column(big_integer(CellRollups::MarkdownExecutions).default(0))
                    .to_owned(),
            )
            .await?;
        let start = Query::insert()
            .into_table(RollupWatermarks::Table)
            .columns([RollupWatermarks::EventTable, RollupWatermarks::AppliedId])
            .values_panic([MARKDOWN_EXECUTIONS.into(), 0i64.into()])
            .to_owned();
        manager.exec_stmt(start).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let forget = Query::delete()
            .from_table(RollupWatermarks::Table)
            .and_where(Expr::col(RollupWatermarks::EventTable).eq(MARKDOWN_EXECUTIONS))
            .to_owned();
        manager.exec_stmt(forget).await?;
        // Rows that held only markdown executions stay, with zero counts: every reader of the
        // previous version skips a cell whose counts are all zero.
        manager
            .alter_table(
                Table::alter()
                    .table(CellRollups::Table)
                    .drop_column(CellRollups::MarkdownExecutions)
                    .to_owned(),
            )
            .await
    }
}
