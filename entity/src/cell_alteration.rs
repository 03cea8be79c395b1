//! A student adding or removing a cell.

use sea_orm::entity::prelude::*;

use crate::enums::AlterationType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cell_alterations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Client-chosen id: unique per (notebook, student), which makes retries idempotent.
    pub event_id: Option<Uuid>,
    pub notebook_id: i64,
    pub user_id: String,
    pub cell_id: String,
    pub alteration_type: AlterationType,
    pub time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
