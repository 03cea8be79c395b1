//! The old notebooks' files, read from a directory or bucket (`<notebook id>.ipynb`, or the old
//! S3 object key, under it) and uploaded through the notebook service exactly as an upload
//! would be (tagged, zipped, stored, versioned). A notebook already stored with a file is left
//! alone, so a re-run uploads nothing twice.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entity::notebook;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{
    convert::{Context, get, time},
    source::{self, Scope},
};
use crate::{
    error::AppError,
    services::notebooks::{self, NotebookUpload, tagging::NOTEBOOK_ID_KEY},
    storage::NotebookStorage,
};

/// An old notebook and where its file may be.
struct OldNotebook {
    public_id: String,
    name: String,
    time: DateTime<Utc>,
    object_key: String,
}

/// Counted, and the notebook registered by name only, when its old file cannot be uploaded.
const NOT_A_NOTEBOOK: &str =
    "notebook files that are not valid notebooks (registered without a file)";

/// Uploads the files found in `files` of the old notebooks in `scope` that we hold no file of;
/// returns how many were uploaded (or would be, in a dry run). Files are read one at a time,
/// and only for notebooks still without one, so a re-run reads nothing. A file that is no
/// notebook is a warning in `ctx`, not the end of the import.
pub async fn upload_all(
    old: &DatabaseConnection,
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    scope: &Scope,
    files: &NotebookStorage,
    ctx: &mut Context,
) -> anyhow::Result<u64> {
    let mut uploaded = 0;
    for candidate in old_notebooks(old, scope).await? {
        let ours = notebook::Entity::find()
            .filter(notebook::Column::PublicId.eq(&candidate.public_id))
            .one(db)
            .await?;
        if ours.is_some_and(|ours| ours.storage_key.is_some()) {
            continue;
        }
        let keys = [
            format!("{}.ipynb", candidate.public_id),
            candidate.object_key.trim_start_matches('/').to_owned(),
        ];
        let Some(bytes) = first_stored(files, keys).await? else {
            continue;
        };
        let Ok(tagged) = with_notebook_id(&bytes, &candidate.public_id) else {
            ctx.warn(NOT_A_NOTEBOOK);
            continue;
        };
        if !ctx.dry_run && !upload_one(db, storage, &candidate, &tagged).await? {
            ctx.warn(NOT_A_NOTEBOOK);
            continue;
        }
        uploaded += 1;
    }
    Ok(uploaded)
}

async fn old_notebooks(
    old: &DatabaseConnection,
    scope: &Scope,
) -> anyhow::Result<Vec<OldNotebook>> {
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let rows = source::page(old, &source::NOTEBOOKS, scope, after, 500).await?;
        let Some(last) = rows.last() else { break };
        after = get(last, "id")?;
        for row in &rows {
            found.push(OldNotebook {
                public_id: get(row, "notebook_id")?,
                name: get(row, "name")?,
                time: time(row, "time")?,
                object_key: get(row, "s3_object_key")?,
            });
        }
    }
    Ok(found)
}

/// The bytes of the first of `keys` present in `files`.
async fn first_stored(
    files: &NotebookStorage,
    keys: [String; 2],
) -> anyhow::Result<Option<Vec<u8>>> {
    // An empty key would name the store's root, which is no file.
    for key in keys.into_iter().filter(|key| !key.is_empty()) {
        match files.get(&key).await {
            Ok(bytes) => return Ok(Some(bytes)),
            Err(AppError::NotFound(_)) => {}
            Err(other) => {
                return Err(anyhow::Error::from(other)).with_context(|| format!("reading {key}"));
            }
        }
    }
    Ok(None)
}

/// Uploads `bytes` (the tagged file) as `old`; `false` when the notebook service refuses them
/// (not a notebook it accepts), an error only when storing fails.
async fn upload_one(
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    old: &OldNotebook,
    bytes: &[u8],
) -> anyhow::Result<bool> {
    let file_name = format!("{}.ipynb", old.public_id);
    let upload = NotebookUpload {
        bytes,
        file_name: &file_name,
        name: Some(&old.name),
        uploader: None,
    };
    let uploaded = match notebooks::upload(db, storage, upload).await {
        Ok(uploaded) => uploaded,
        Err(AppError::BadUserInput(_) | AppError::PayloadTooLarge(_)) => return Ok(false),
        Err(other) => {
            return Err(anyhow::Error::from(other))
                .with_context(|| format!("uploading the file of {}", old.public_id));
        }
    };
    if uploaded.notebook.version == 1 {
        // The old registration time, as for notebooks imported without a file.
        let mut active: notebook::ActiveModel = uploaded.notebook.into();
        active.uploaded_at = Set(old.time);
        active.update(db).await?;
    }
    Ok(true)
}

/// The file with `metadata.unianalytics_notebook_id` set to `public_id`: the old backend's
/// copy may predate the tag, and the upload must register it under its old id.
fn with_notebook_id(bytes: &[u8], public_id: &str) -> anyhow::Result<Vec<u8>> {
    let mut json: serde_json::Value = serde_json::from_slice(bytes)?;
    let object = json
        .as_object_mut()
        .context("the top level is not an object")?;
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| serde_json::json!({}));
    let metadata = metadata
        .as_object_mut()
        .context("metadata is not an object")?;
    metadata.insert(NOTEBOOK_ID_KEY.to_owned(), public_id.into());
    Ok(serde_json::to_vec(&json)?)
}
