//! Accounts and notebooks over their whole life: a dashboard user can be disabled (kept, but
//! refused everywhere) and shows when they last logged in; a notebook can be archived (its
//! dashboards stay readable, ingest is refused). Each is a nullable time, so existing rows
//! need no backfill. SQLite alters one column per statement, hence one `ALTER` per column.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_users_and_notebooks::{DashboardUsers, Notebooks};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
#[expect(clippy::enum_variant_names, reason = "column names: each is a time")]
enum Lifecycle {
    DisabledAt,
    LastLoginAt,
    ArchivedAt,
}

fn columns() -> [(DashboardUsers, Lifecycle); 2] {
    [
        (DashboardUsers::Table, Lifecycle::DisabledAt),
        (DashboardUsers::Table, Lifecycle::LastLoginAt),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Notebooks::Table)
                    .add_column(timestamp_with_time_zone_null(Lifecycle::ArchivedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Notebooks::Table)
                    .drop_column(Lifecycle::ArchivedAt)
                    .to_owned(),
            )
            .await?;
        for (table, column) in columns() {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
