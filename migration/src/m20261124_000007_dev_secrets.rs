//! Secrets generated in dev mode live with the data they protect: every command run against one
//! database (from any directory) then uses the same pseudonym salt and token key.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DevSecrets {
    Table,
    Name,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DevSecrets::Table)
                    .col(string_len(DevSecrets::Name, 64).primary_key())
                    .col(string(DevSecrets::Value))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DevSecrets::Table).to_owned())
            .await
    }
}
