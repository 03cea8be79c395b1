//! A registered notebook. `public_id` is the `unianalytics_notebook_id` clients send; `id` is the
//! compact key every other table references.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notebooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub public_id: String,
    pub name: String,
    /// Object-storage key of the latest uploaded file; `None` until a file is stored.
    pub storage_key: Option<String>,
    pub version: i32,
    pub uploaded_at: DateTimeUtc,
    pub uploaded_by: Option<i64>,
    /// Set while the notebook is archived: read-only (dashboards answer, ingest is refused).
    pub archived_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::notebook_authorization::Entity")]
    Authorizations,
}

impl Related<super::notebook_authorization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Authorizations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
