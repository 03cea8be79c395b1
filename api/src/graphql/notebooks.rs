//! Notebook lookup for teachers. The dashboards issue hangs the analytics off `Notebook`.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::app;
use crate::{auth::NotebookGuard, services};

#[derive(Default)]
pub struct NotebookQuery;

/// A registered notebook.
#[derive(SimpleObject)]
pub struct Notebook {
    /// The `unianalytics_notebook_id` students' events carry.
    pub id: ID,
    pub name: String,
    /// Version of the stored file; increases with every re-upload.
    pub version: i32,
    pub uploaded_at: DateTime<Utc>,
}

impl From<entity::notebook::Model> for Notebook {
    fn from(model: entity::notebook::Model) -> Self {
        Self {
            id: ID(model.public_id),
            name: model.name,
            version: model.version,
            uploaded_at: model.uploaded_at,
        }
    }
}

#[Object]
impl NotebookQuery {
    /// A notebook the viewer is authorized for (`FORBIDDEN` otherwise; admins see all).
    #[graphql(guard = "NotebookGuard::new(&id)")]
    async fn notebook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Notebook> {
        let db = &app(ctx)?.db;
        Ok(services::notebooks::get_by_public_id(db, &id).await?.into())
    }
}
