//! The all-time rollup tier folded from closed hours: the applier adds new events to the hour
//! tier only, and once an hour sums the hours that closed into the all-time bucket. That halves
//! the rollup rows written per event. `rollup_fold.folded_before` says how far the fold has
//! got: every hour bucket that starts before it is summed in the all-time tier, and no later
//! one (`NULL` before the first fold).
//!
//! The all-time rows kept so far hold every hour: they are deleted, and the first fold sums
//! them again from the hour rows (answers are exact meanwhile: readers take the hours after
//! the fold from the hour tier). Stop the previous version's instances first: they would add
//! new events to the all-time tier as well.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RollupFold {
    Table,
    Id,
    FoldedBefore,
}

/// The all-time tier's id in both rollup tables.
const ALL_TIME: i16 = 3;

async fn delete_all_time_rows(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for table in ["cell_rollups", "location_rollups"] {
        let delete = Query::delete()
            .from_table(Alias::new(table))
            .and_where(Expr::col(Alias::new("tier")).eq(ALL_TIME))
            .to_owned();
        manager.exec_stmt(delete).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RollupFold::Table)
                    .col(integer(RollupFold::Id).primary_key())
                    .col(big_integer_null(RollupFold::FoldedBefore))
                    .to_owned(),
            )
            .await?;
        let start = Query::insert()
            .into_table(RollupFold::Table)
            .columns([RollupFold::Id])
            .values_panic([1.into()])
            .to_owned();
        manager.exec_stmt(start).await?;
        delete_all_time_rows(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The previous version keeps the all-time tier with every applied event: cleared, with
        // the watermarks back at 0, its applier recomputes both tiers.
        for table in ["cell_rollups", "location_rollups"] {
            let clear = Query::delete().from_table(Alias::new(table)).to_owned();
            manager.exec_stmt(clear).await?;
        }
        let restart = Query::update()
            .table(Alias::new("rollup_watermarks"))
            .value(Alias::new("applied_id"), 0i64)
            .to_owned();
        manager.exec_stmt(restart).await?;
        manager
            .drop_table(Table::drop().table(RollupFold::Table).to_owned())
            .await
    }
}
