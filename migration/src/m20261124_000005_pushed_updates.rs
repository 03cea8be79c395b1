//! Every cell a teacher pushed, with the time of the push: the pending-update statistics need
//! the push time itself, not the first answer to it (the old server's mistake).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_users_and_notebooks::Notebooks;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PushedUpdates {
    Table,
    Id,
    NotebookId,
    UpdateId,
    CellId,
    Sender,
    PushedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushedUpdates::Table)
                    .col(big_pk_auto(PushedUpdates::Id))
                    .col(big_integer(PushedUpdates::NotebookId))
                    .col(string_len(PushedUpdates::UpdateId, 64))
                    .col(string_len(PushedUpdates::CellId, 128))
                    // Pseudonym of the teacher.
                    .col(string_len(PushedUpdates::Sender, 64))
                    .col(timestamp_with_time_zone(PushedUpdates::PushedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PushedUpdates::Table, PushedUpdates::NotebookId)
                            .to(Notebooks::Table, Notebooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pushed_updates_notebook_time")
                    .table(PushedUpdates::Table)
                    .col(PushedUpdates::NotebookId)
                    .col(PushedUpdates::PushedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PushedUpdates::Table).to_owned())
            .await
    }
}
