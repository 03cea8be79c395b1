//! A code cell execution sent by the telemetry extension.

use sea_orm::entity::prelude::*;

use crate::enums::ExecutionStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "code_executions")]
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
    pub t_start: DateTimeUtc,
    pub t_finish: DateTimeUtc,
    pub status: ExecutionStatus,
    #[sea_orm(column_type = "Text")]
    pub cell_input: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub cell_output_model: Json,
    pub cell_output_length: i32,
    pub language_mimetype: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
