//! Dashboard users, notebooks, and which user may see which notebook.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum DashboardUsers {
    Table,
    Id,
    UsernameHash,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Notebooks {
    Table,
    Id,
    PublicId,
    Name,
    StorageKey,
    Version,
    UploadedAt,
    UploadedBy,
}

#[derive(DeriveIden)]
enum NotebookAuthorizations {
    Table,
    UserId,
    NotebookId,
    GrantedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DashboardUsers::Table)
                    .col(big_pk_auto(DashboardUsers::Id))
                    .col(char_len_uniq(DashboardUsers::UsernameHash, 64))
                    .col(text(DashboardUsers::PasswordHash))
                    .col(string_len(DashboardUsers::Role, 16))
                    .col(timestamp_with_time_zone(DashboardUsers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notebooks::Table)
                    .col(big_pk_auto(Notebooks::Id))
                    .col(string_len_uniq(Notebooks::PublicId, 128))
                    .col(string_len(Notebooks::Name, 256))
                    .col(string_len_null(Notebooks::StorageKey, 512))
                    .col(integer(Notebooks::Version).default(1))
                    .col(timestamp_with_time_zone(Notebooks::UploadedAt))
                    .col(big_integer_null(Notebooks::UploadedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notebooks::Table, Notebooks::UploadedBy)
                            .to(DashboardUsers::Table, DashboardUsers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotebookAuthorizations::Table)
                    .col(big_integer(NotebookAuthorizations::UserId))
                    .col(big_integer(NotebookAuthorizations::NotebookId))
                    .col(timestamp_with_time_zone(NotebookAuthorizations::GrantedAt))
                    .primary_key(
                        Index::create()
                            .col(NotebookAuthorizations::UserId)
                            .col(NotebookAuthorizations::NotebookId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                NotebookAuthorizations::Table,
                                NotebookAuthorizations::UserId,
                            )
                            .to(DashboardUsers::Table, DashboardUsers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                NotebookAuthorizations::Table,
                                NotebookAuthorizations::NotebookId,
                            )
                            .to(Notebooks::Table, Notebooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The primary key serves "notebooks of a user"; this serves "users of a notebook".
        manager
            .create_index(
                Index::create()
                    .name("idx_notebook_authorizations_notebook")
                    .table(NotebookAuthorizations::Table)
                    .col(NotebookAuthorizations::NotebookId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NotebookAuthorizations::Table.into_iden(),
            Notebooks::Table.into_iden(),
            DashboardUsers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
