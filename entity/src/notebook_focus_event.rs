//! A student focusing (`ON`) or leaving (`OFF`) the notebook.

use sea_orm::entity::prelude::*;

use crate::enums::ClickType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notebook_focus_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Client-chosen id: unique per (notebook, student), which makes retries idempotent.
    pub event_id: Option<Uuid>,
    pub notebook_id: i64,
    pub user_id: String,
    pub click_type: ClickType,
    pub time: DateTimeUtc,
    pub click_duration: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
