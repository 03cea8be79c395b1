//! Registered notebooks, and the cache that lets ingest check a notebook exists without a query
//! per event.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use chrono::Utc;
use entity::notebook;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

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

/// Public notebook id → row id, for notebooks known to exist. Only hits are cached, so a notebook
/// registered a moment ago is found at once; notebooks are never renumbered, so hits stay true.
#[derive(Clone, Default)]
pub struct NotebookIds {
    known: Arc<RwLock<HashMap<String, i64>>>,
}

impl NotebookIds {
    /// The row id of `public_id`, or `NOT_FOUND`.
    pub async fn resolve(&self, db: &impl ConnectionTrait, public_id: &str) -> AppResult<i64> {
        let cached = self
            .known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(public_id)
            .copied();
        if let Some(id) = cached {
            return Ok(id);
        }
        let notebook = get_by_public_id(db, public_id).await?;
        self.known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(notebook.public_id, notebook.id);
        Ok(notebook.id)
    }
}
