//! Uploading a notebook: tag it, store the zipped file, then register it (or a new version of
//! it) in one transaction with the uploader's authorization and the audit row.
//!
//! The file is written before any row points at it, so a crash between the two leaves at worst
//! an unreferenced file, never a notebook whose download is missing. Storage keys are random,
//! never built from the notebook's own (client-chosen) id.

use chrono::Utc;
use entity::{dashboard_user, enums::Role, notebook, notebook_version};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set, SqliteTransactionMode, TransactionOptions,
    TransactionTrait, sea_query::LockType,
};
use serde_json::json;

use super::{
    archive,
    tagging::{self, TaggedNotebook},
};
use crate::{
    error::{AppError, AppResult},
    services::{audit, authorizations, is_unique_violation},
    storage::NotebookStorage,
};

/// Longest notebook name (bytes, after trimming).
const MAX_NAME_LEN: usize = 256;

pub struct NotebookUpload<'a> {
    pub bytes: &'a [u8],
    /// The uploaded file's name, the default display name.
    pub file_name: &'a str,
    pub name: Option<&'a str>,
    /// `None` when an operator uploads from the command line without `--as`.
    pub uploader: Option<&'a dashboard_user::Model>,
}

#[derive(Debug, Clone)]
pub struct UploadedNotebook {
    pub notebook: notebook::Model,
    pub version: notebook_version::Model,
    pub tagged: serde_json::Value,
}

pub async fn upload(
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    upload: NotebookUpload<'_>,
) -> AppResult<UploadedNotebook> {
    let name = display_name(upload.name, upload.file_name)?;
    let bytes = upload.bytes.to_vec();
    let entry_name = format!("{}.ipynb", archive::safe_file_name(&name));
    // Parsing and deflating a 20 MiB notebook takes CPU time the runtime's threads should not.
    let (tagged, zipped) = tokio::task::spawn_blocking(move || -> AppResult<_> {
        let tagged = tagging::tag(&bytes)?;
        let zipped = archive::zip_one(&entry_name, &tagged.to_ipynb()?)?;
        Ok((tagged, zipped))
    })
    .await
    .map_err(AppError::internal)??;
    let storage_key = format!("versions/{}.zip", uuid::Uuid::new_v4().simple());
    storage.put(&storage_key, zipped).await?;
    match register(db, &tagged, &name, &storage_key, upload.uploader).await {
        Ok((notebook, version)) => Ok(UploadedNotebook {
            notebook,
            version,
            tagged: tagged.json,
        }),
        Err(error) => {
            storage.delete_orphan(&storage_key).await;
            Err(error)
        }
    }
}

fn display_name(name: Option<&str>, file_name: &str) -> AppResult<String> {
    let name = match name.map(str::trim) {
        Some(name) => name.to_owned(),
        None => {
            let file = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
            file.strip_suffix(".ipynb")
                .unwrap_or(file)
                .trim()
                .to_owned()
        }
    };
    if name.is_empty() {
        return Err(AppError::bad_input("the notebook needs a name"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(AppError::bad_input(format!(
            "the notebook name is longer than {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(name)
}

async fn register(
    db: &DatabaseConnection,
    tagged: &TaggedNotebook,
    name: &str,
    storage_key: &str,
    uploader: Option<&dashboard_user::Model>,
) -> AppResult<(notebook::Model, notebook_version::Model)> {
    let txn = begin_immediate(db).await?;
    let existing = notebook::Entity::find()
        .filter(notebook::Column::PublicId.eq(&tagged.public_id))
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    let uploader_id = uploader.map(|user| user.id);
    let notebook = match existing {
        Some(existing) => {
            check_may_replace(&txn, &existing, uploader).await?;
            let mut active = existing.clone().into_active_model();
            active.name = Set(name.to_owned());
            active.storage_key = Set(Some(storage_key.to_owned()));
            active.version = Set(existing.version + 1);
            active.uploaded_at = Set(Utc::now());
            active.uploaded_by = Set(uploader_id);
            active.update(&txn).await?
        }
        None => insert_notebook(&txn, &tagged.public_id, name, storage_key, uploader_id).await?,
    };
    let version = insert_version(&txn, &notebook, tagged, uploader_id).await?;
    if let Some(user_id) = uploader_id {
        authorizations::grant_one(&txn, user_id, notebook.id).await?;
    }
    let details = json!({
        "notebook": notebook.public_id, "version": notebook.version, "cells": tagged.cells.len()
    });
    audit::record(&txn, uploader_id, "upload_notebook", details).await?;
    txn.commit().await?;
    Ok((notebook, version))
}

/// SQLite takes its write lock at BEGIN, so two uploads never deadlock upgrading read locks;
/// PostgreSQL serializes re-uploads of one notebook through the row lock taken next.
async fn begin_immediate(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// A notebook id found in an uploaded file is only a claim: replacing the notebook it names
/// needs the same right as reading its data (authorized for it, or admin). Without this, any
/// superuser could overwrite a colleague's notebook by uploading a file carrying its id.
async fn check_may_replace(
    txn: &DatabaseTransaction,
    existing: &notebook::Model,
    uploader: Option<&dashboard_user::Model>,
) -> AppResult<()> {
    let Some(user) = uploader else {
        return Ok(());
    };
    if user.role == Role::Admin
        || authorizations::is_authorized(txn, user.id, &existing.public_id).await?
    {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "this file belongs to a notebook you are not authorized for",
        ))
    }
}

async fn insert_notebook(
    txn: &DatabaseTransaction,
    public_id: &str,
    name: &str,
    storage_key: &str,
    uploader_id: Option<i64>,
) -> AppResult<notebook::Model> {
    notebook::ActiveModel {
        public_id: Set(public_id.to_owned()),
        name: Set(name.to_owned()),
        storage_key: Set(Some(storage_key.to_owned())),
        version: Set(1),
        uploaded_at: Set(Utc::now()),
        uploaded_by: Set(uploader_id),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            AppError::conflict("this notebook was uploaded at the same moment; try again")
        } else {
            error.into()
        }
    })
}

async fn insert_version(
    txn: &DatabaseTransaction,
    notebook: &notebook::Model,
    tagged: &TaggedNotebook,
    uploader_id: Option<i64>,
) -> AppResult<notebook_version::Model> {
    let cell_order = serde_json::to_value(&tagged.cells).map_err(AppError::internal)?;
    Ok(notebook_version::ActiveModel {
        notebook_id: Set(notebook.id),
        version: Set(notebook.version),
        storage_key: Set(notebook.storage_key.clone().unwrap_or_default()),
        cell_order: Set(cell_order),
        uploaded_at: Set(notebook.uploaded_at),
        uploaded_by: Set(uploader_id),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}
