//! The old notebooks' files: `<dir>/<notebook id>.ipynb` (or the old S3 object key under
//! `<dir>`), uploaded through the notebook service exactly as an upload would be (tagged,
//! zipped, stored, versioned). A notebook already stored with a file is left alone, so a
//! re-run uploads nothing twice.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entity::notebook;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{
    convert::{get, time},
    source::{self, Scope},
};
use crate::{
    services::notebooks::{self, NotebookUpload, tagging::NOTEBOOK_ID_KEY},
    storage::NotebookStorage,
};

/// An old notebook with a file to upload.
struct OldNotebook {
    public_id: String,
    name: String,
    time: DateTime<Utc>,
    file: PathBuf,
}

/// Uploads the files found in `dir` of the old notebooks in `scope` that we hold no file of;
/// returns how many were uploaded (or would be, in a dry run).
pub async fn upload_all(
    old: &DatabaseConnection,
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    scope: &Scope,
    dir: &Path,
    dry_run: bool,
) -> anyhow::Result<u64> {
    let mut uploaded = 0;
    for candidate in with_files(old, scope, dir).await? {
        let ours = notebook::Entity::find()
            .filter(notebook::Column::PublicId.eq(&candidate.public_id))
            .one(db)
            .await?;
        if ours.is_some_and(|ours| ours.storage_key.is_some()) {
            continue;
        }
        if !dry_run {
            upload_one(db, storage, &candidate).await?;
        }
        uploaded += 1;
    }
    Ok(uploaded)
}

async fn with_files(
    old: &DatabaseConnection,
    scope: &Scope,
    dir: &Path,
) -> anyhow::Result<Vec<OldNotebook>> {
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let rows = source::page(old, &source::NOTEBOOKS, scope, after, 500).await?;
        let Some(last) = rows.last() else { break };
        after = get(last, "id")?;
        for row in &rows {
            let public_id: String = get(row, "notebook_id")?;
            let object_key: String = get(row, "s3_object_key")?;
            let candidates = [
                dir.join(format!("{public_id}.ipynb")),
                dir.join(object_key.trim_start_matches('/')),
            ];
            if let Some(file) = candidates.into_iter().find(|path| path.is_file()) {
                found.push(OldNotebook {
                    public_id,
                    name: get(row, "name")?,
                    time: time(row, "time")?,
                    file,
                });
            }
        }
    }
    Ok(found)
}

async fn upload_one(
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    old: &OldNotebook,
) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&old.file).with_context(|| format!("reading {}", old.file.display()))?;
    let bytes = with_notebook_id(&bytes, &old.public_id)
        .with_context(|| format!("{} is not a notebook", old.file.display()))?;
    let file_name = format!("{}.ipynb", old.public_id);
    let upload = NotebookUpload {
        bytes: &bytes,
        file_name: &file_name,
        name: Some(&old.name),
        uploader: None,
    };
    let uploaded = notebooks::upload(db, storage, upload)
        .await
        .map_err(anyhow::Error::from)
        .with_context(|| format!("uploading {}", old.file.display()))?;
    if uploaded.notebook.version == 1 {
        // The old registration time, as for notebooks imported without a file.
        let mut active: notebook::ActiveModel = uploaded.notebook.into();
        active.uploaded_at = Set(old.time);
        active.update(db).await?;
    }
    Ok(())
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
