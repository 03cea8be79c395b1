//! Every uploaded file of a notebook, so older versions stay downloadable and the dashboards
//! know the cell order of the current one.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_users_and_notebooks::{DashboardUsers, Notebooks};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotebookVersions {
    Table,
    Id,
    NotebookId,
    Version,
    StorageKey,
    CellOrder,
    UploadedAt,
    UploadedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotebookVersions::Table)
                    .col(big_pk_auto(NotebookVersions::Id))
                    .col(big_integer(NotebookVersions::NotebookId))
                    .col(integer(NotebookVersions::Version))
                    .col(string_len(NotebookVersions::StorageKey, 512))
                    // `[{"cellId": orig id, "cellType": "code"}, …]` in notebook order.
                    .col(json_binary(NotebookVersions::CellOrder))
                    .col(timestamp_with_time_zone(NotebookVersions::UploadedAt))
                    .col(big_integer_null(NotebookVersions::UploadedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotebookVersions::Table, NotebookVersions::NotebookId)
                            .to(Notebooks::Table, Notebooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotebookVersions::Table, NotebookVersions::UploadedBy)
                            .to(DashboardUsers::Table, DashboardUsers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Two concurrent re-uploads cannot both become version N.
        manager
            .create_index(
                Index::create()
                    .name("idx_notebook_versions_notebook_version")
                    .table(NotebookVersions::Table)
                    .col(NotebookVersions::NotebookId)
                    .col(NotebookVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NotebookVersions::Table).to_owned())
            .await
    }
}
