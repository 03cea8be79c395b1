//! Sessions that can end before their tokens expire: each refresh token is a row (rotated on
//! use, revoked by logout; a rotated one presented again revokes its whole login), and each
//! user has a session version that access tokens carry, bumped to end every session at once
//! (password change, a superuser's revocation).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_users_and_notebooks::DashboardUsers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    Family,
    IssuedAt,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SessionVersion {
    SessionVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DashboardUsers::Table)
                    .add_column(integer(SessionVersion::SessionVersion).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    // The token's `jti`.
                    .col(string_len(RefreshTokens::Id, 36).primary_key())
                    .col(big_integer(RefreshTokens::UserId))
                    // The login it descends from: rotation keeps it, reuse revokes it whole.
                    .col(string_len(RefreshTokens::Family, 36))
                    .col(timestamp_with_time_zone(RefreshTokens::IssuedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RotatedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(DashboardUsers::Table, DashboardUsers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_refresh_tokens_user", RefreshTokens::UserId),
            ("idx_refresh_tokens_family", RefreshTokens::Family),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RefreshTokens::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DashboardUsers::Table)
                    .drop_column(SessionVersion::SessionVersion)
                    .to_owned(),
            )
            .await
    }
}
