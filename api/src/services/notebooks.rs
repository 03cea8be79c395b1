//! Registered notebooks: upload and versions, the cell order the dashboards follow, stored
//! files for download, and the cache that lets ingest check a notebook exists without a query
//! per event.

pub mod archive;
pub mod lifecycle;
pub mod tagging;
mod upload;

pub use tagging::NotebookCell;
pub use upload::{NotebookUpload, UploadedNotebook, upload};

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::Utc;
use entity::{dashboard_user, notebook, notebook_version};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::is_unique_violation;
use crate::error::{AppError, AppResult};

pub async fn find_by_public_id(
    db: &impl ConnectionTrait,
    public_id: &str,
) -> AppResult<Option<notebook::Model>> {
    Ok(notebook::Entity::find()
        .filter(notebook::Column::PublicId.eq(public_id))
        .one(db)
        .await?)
}

pub async fn get_by_public_id(
    db: &impl ConnectionTrait,
    public_id: &str,
) -> AppResult<notebook::Model> {
    find_by_public_id(db, public_id)
        .await?
        .ok_or_else(|| AppError::not_found("no such notebook"))
}

/// Registers a notebook without a stored file (the upload issue adds the file and versions).
pub async fn register(
    db: &impl ConnectionTrait,
    public_id: &str,
    name: &str,
    uploaded_by: Option<i64>,
) -> AppResult<notebook::Model> {
    notebook::ActiveModel {
        public_id: Set(public_id.to_owned()),
        name: Set(name.to_owned()),
        storage_key: Set(None),
        version: Set(1),
        uploaded_at: Set(Utc::now()),
        uploaded_by: Set(uploaded_by),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            AppError::conflict("a notebook with this id is already registered")
        } else {
            error.into()
        }
    })
}

/// Every registered notebook, by public id.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<notebook::Model>> {
    Ok(notebook::Entity::find()
        .order_by_asc(notebook::Column::PublicId)
        .all(db)
        .await?)
}

/// Every version of each notebook in `notebook_ids`, oldest first, with the uploader's
/// pseudonym (one query, whatever the number of notebooks).
pub async fn versions_of(
    db: &impl ConnectionTrait,
    notebook_ids: &[i64],
) -> AppResult<Vec<(notebook_version::Model, Option<String>)>> {
    let rows = notebook_version::Entity::find()
        .filter(notebook_version::Column::NotebookId.is_in(notebook_ids.iter().copied()))
        .order_by_asc(notebook_version::Column::NotebookId)
        .order_by_asc(notebook_version::Column::Version)
        .find_also_related(dashboard_user::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(version, user)| (version, user.map(|user| user.username_hash)))
        .collect())
}

/// The cells of a version row in notebook order.
pub fn cells_of(version: &notebook_version::Model) -> AppResult<Vec<NotebookCell>> {
    serde_json::from_value(version.cell_order.clone()).map_err(AppError::internal)
}

/// The original cell ids of the notebook's current version, in order (empty when no file was
/// ever uploaded): the default cell order of the dashboards.
pub async fn current_cell_order(
    db: &impl ConnectionTrait,
    notebook_row_id: i64,
) -> AppResult<Vec<String>> {
    let latest = notebook_version::Entity::find()
        .filter(notebook_version::Column::NotebookId.eq(notebook_row_id))
        .order_by_desc(notebook_version::Column::Version)
        .one(db)
        .await?;
    Ok(match latest {
        Some(version) => cells_of(&version)?
            .into_iter()
            .map(|cell| cell.cell_id)
            .collect(),
        None => Vec::new(),
    })
}

/// The stored file of a notebook: its latest version, or `version`. `NOT_FOUND` when the
/// notebook, the version or the file does not exist.
pub async fn stored_file(
    db: &impl ConnectionTrait,
    storage: &crate::storage::NotebookStorage,
    public_id: &str,
    version: Option<i32>,
) -> AppResult<(notebook::Model, Vec<u8>)> {
    let notebook = get_by_public_id(db, public_id).await?;
    let key = match version {
        None => notebook.storage_key.clone(),
        Some(number) => notebook_version::Entity::find()
            .filter(notebook_version::Column::NotebookId.eq(notebook.id))
            .filter(notebook_version::Column::Version.eq(number))
            .one(db)
            .await?
            .map(|version| version.storage_key),
    };
    let key = key.ok_or_else(|| AppError::not_found("no stored file for this notebook version"))?;
    let bytes = storage.get(&key).await?;
    Ok((notebook, bytes))
}

/// How long a cached notebook is trusted before it is read again. Archiving or deleting on this
/// instance clears its entry at once; another instance (or the command line, a process of its
/// own) sees the change within this time. Meanwhile a stale hit on an archived notebook still
/// takes events for a few seconds, and one on a deleted notebook fails at the insert (the row
/// it references is gone), so nothing is stored for a notebook that no longer exists.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// A registered notebook as ingest needs it: its row id and whether it is archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownNotebook {
    pub row_id: i64,
    pub archived: bool,
}

/// Public notebook id → row id and archive state, for notebooks known to exist, so ingest
/// checks both without a query per event. Only hits are cached, so a notebook registered a
/// moment ago is found at once; entries expire after [`CACHE_TTL`].
#[derive(Clone, Default)]
pub struct NotebookIds {
    known: Arc<RwLock<HashMap<String, (KnownNotebook, Instant)>>>,
}

impl NotebookIds {
    /// The row id of `public_id`, or `NOT_FOUND`.
    pub async fn resolve(&self, db: &impl ConnectionTrait, public_id: &str) -> AppResult<i64> {
        Ok(self.known(db, public_id).await?.row_id)
    }

    /// The row id and archive state of `public_id`, or `NOT_FOUND`.
    pub async fn known(
        &self,
        db: &impl ConnectionTrait,
        public_id: &str,
    ) -> AppResult<KnownNotebook> {
        let cached = self
            .known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(public_id)
            .filter(|(_, checked)| checked.elapsed() < CACHE_TTL)
            .map(|(known, _)| *known);
        if let Some(known) = cached {
            return Ok(known);
        }
        let notebook = get_by_public_id(db, public_id).await?;
        let known = KnownNotebook {
            row_id: notebook.id,
            archived: notebook.archived_at.is_some(),
        };
        self.known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(notebook.public_id, (known, Instant::now()));
        Ok(known)
    }

    /// Drops `public_id` from the cache (archived, restored or deleted on this instance).
    pub fn forget(&self, public_id: &str) {
        self.known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(public_id);
    }
}
