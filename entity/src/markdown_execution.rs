//! A markdown cell render sent by the telemetry extension.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "markdown_executions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Client-chosen id: unique per (notebook, student), which makes retries idempotent.
    pub event_id: Option<Uuid>,
    pub notebook_id: i64,
    pub user_id: String,
    pub cell_id: String,
    /// Null when the student's copy lacked the cell mapping (the "unmapped" cell).
    pub orig_cell_id: Option<String>,
    pub time: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub cell_content: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
