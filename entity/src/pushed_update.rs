//! A cell a teacher pushed to students, at the time of the push.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pushed_updates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub notebook_id: i64,
    pub update_id: String,
    /// Original cell id.
    pub cell_id: String,
    /// Pseudonym of the teacher who pushed it.
    pub sender: String,
    pub pushed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
