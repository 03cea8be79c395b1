//! One uploaded file of a notebook. `notebooks.version` / `storage_key` point at the latest
//! row; older rows keep earlier versions downloadable.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notebook_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub notebook_id: i64,
    /// 1 for the first upload, +1 for every re-upload.
    pub version: i32,
    pub storage_key: String,
    /// `[{"cellId": orig cell id, "cellType": "code"|"markdown"|"raw"}, …]` in notebook order.
    #[sea_orm(column_type = "JsonBinary")]
    pub cell_order: Json,
    pub uploaded_at: DateTimeUtc,
    /// The dashboard user who uploaded it; `None` for the command line or a deleted user.
    pub uploaded_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::dashboard_user::Entity",
        from = "Column::UploadedBy",
        to = "super::dashboard_user::Column::Id"
    )]
    Uploader,
}

impl Related<super::dashboard_user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Uploader.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
