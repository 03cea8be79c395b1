//! A student's answer to a pushed cell update, or the server's `OVERRIDE` record.

use sea_orm::entity::prelude::*;

use crate::enums::{PendingUpdateAction, SenderType};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_update_interactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Client-chosen id: unique per (notebook, student), which makes retries idempotent.
    pub event_id: Option<Uuid>,
    pub notebook_id: i64,
    pub user_id: String,
    pub cell_id: Option<String>,
    pub update_id: Option<String>,
    pub action: PendingUpdateAction,
    /// Already a pseudonym when it arrives; stored as received.
    pub sender: Option<String>,
    pub sender_type: Option<SenderType>,
    pub time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
