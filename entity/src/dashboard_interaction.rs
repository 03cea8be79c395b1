//! A teacher's click in the dashboard UI, kept for research.

use sea_orm::entity::prelude::*;

use crate::enums::ClickType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboard_interactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Client-chosen id: unique per (notebook, student), which makes retries idempotent.
    pub event_id: Option<Uuid>,
    /// Pseudonym of the dashboard user.
    pub user_id: String,
    pub notebook_id: Option<i64>,
    pub click_type: ClickType,
    pub signal_origin: String,
    pub time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
