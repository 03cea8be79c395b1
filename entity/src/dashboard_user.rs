//! A dashboard user (teacher, TA, researcher). The username is stored only as its pseudonym.

use sea_orm::entity::prelude::*;

use crate::enums::Role;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboard_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username_hash: String,
    /// PHC string (Argon2id) or a Werkzeug hash imported from the old backend.
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTimeUtc,
    /// Access and refresh tokens carry it; bumping it ends every session of the user.
    pub session_version: i32,
    /// Set while the account is disabled: kept, but refused everywhere (login, tokens, sockets).
    pub disabled_at: Option<DateTimeUtc>,
    pub last_login_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
