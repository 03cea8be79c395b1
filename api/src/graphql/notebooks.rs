//! Notebooks over GraphQL: the upload (superusers), the teacher's list and one notebook with
//! its versions and cell order. The dashboards hang their analytics off `Notebook`.

use async_graphql::{Context, ID, Json, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use entity::{notebook, notebook_version};

use super::context::{app, request_auth};
use crate::{
    auth::Role,
    error::{AppError, AppResult},
    graphql::guards::{NotebookGuard, RoleGuard},
    services::{
        self,
        notebooks::{NotebookUpload, archive::percent_encode, cells_of},
    },
    state::AppState,
};

#[derive(Default)]
pub struct NotebookQuery;

#[derive(Default)]
pub struct NotebookMutation;

/// A registered notebook.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Notebook {
    /// The `unianalytics_notebook_id` students' events carry.
    pub id: ID,
    pub name: String,
    /// The current version: 1 for the first upload, +1 for every re-upload.
    pub version: i32,
    pub uploaded_at: DateTime<Utc>,
    /// Every uploaded version, oldest first (empty for a notebook registered without a file).
    pub versions: Vec<NotebookVersion>,
    /// The cells of the current version in notebook order, by original cell id (the
    /// `orig_cell_id` of students' events): the default order of the dashboards.
    pub cell_order: Vec<NotebookCell>,
    /// Public link to the current version as a zip (what students download).
    pub download_url: String,
    #[graphql(skip)]
    pub row_id: i64,
}

/// One uploaded file of a notebook.
#[derive(SimpleObject)]
pub struct NotebookVersion {
    pub number: i32,
    pub uploaded_at: DateTime<Utc>,
    /// Pseudonym of the dashboard user who uploaded it; null from the command line.
    pub uploaded_by: Option<String>,
    pub download_url: String,
}

/// A cell of the teacher's notebook.
#[derive(SimpleObject)]
pub struct NotebookCell {
    /// Original cell id, as in `unianalytics_cell_mapping`.
    pub cell_id: String,
    /// `code`, `markdown` or `raw`.
    pub cell_type: String,
}

/// The answer to an upload.
#[derive(SimpleObject)]
pub struct UploadedNotebook {
    pub notebook: Notebook,
    /// The version this upload created.
    pub version: i32,
    /// The notebook as stored: nbformat 4.5, every cell with an id, and the
    /// `unianalytics_notebook_id` and `unianalytics_cell_mapping` metadata.
    pub tagged_notebook: Json<serde_json::Value>,
}

type Versions = [(notebook_version::Model, Option<String>)];

impl Notebook {
    /// `versions` may hold other notebooks' versions too (one query for a list).
    fn assemble(app: &AppState, model: notebook::Model, versions: &Versions) -> AppResult<Self> {
        let own: Vec<_> = versions
            .iter()
            .filter(|(version, _)| version.notebook_id == model.id)
            .collect();
        let cell_order = match own.iter().find(|(v, _)| v.version == model.version) {
            Some((current, _)) => cells_of(current)?
                .into_iter()
                .map(|cell| NotebookCell {
                    cell_id: cell.cell_id,
                    cell_type: cell.cell_type,
                })
                .collect(),
            None => Vec::new(),
        };
        let versions = own
            .into_iter()
            .map(|(version, uploader)| NotebookVersion {
                number: version.version,
                uploaded_at: version.uploaded_at,
                uploaded_by: uploader.clone(),
                download_url: download_url(app, &model.public_id, Some(version.version)),
            })
            .collect();
        Ok(Self {
            download_url: download_url(app, &model.public_id, None),
            id: ID(model.public_id),
            name: model.name,
            version: model.version,
            uploaded_at: model.uploaded_at,
            versions,
            cell_order,
            row_id: model.id,
        })
    }

    pub(crate) async fn load_many(
        app: &AppState,
        models: Vec<notebook::Model>,
    ) -> AppResult<Vec<Self>> {
        let ids: Vec<i64> = models.iter().map(|model| model.id).collect();
        let versions = services::notebooks::versions_of(&app.db, &ids).await?;
        models
            .into_iter()
            .map(|model| Self::assemble(app, model, &versions))
            .collect()
    }
}

/// `/notebooks/{id}/download[?version=N]`, absolute when `PUBLIC_URL` is configured.
fn download_url(app: &AppState, public_id: &str, version: Option<i32>) -> String {
    let base = app
        .config
        .public_url
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/');
    let id = percent_encode(public_id);
    match version {
        Some(number) => format!("{base}/notebooks/{id}/download?version={number}"),
        None => format!("{base}/notebooks/{id}/download"),
    }
}

#[Object]
impl NotebookQuery {
    /// A notebook the viewer is authorized for (`FORBIDDEN` otherwise; admins see all). This is
    /// also the notebook status check: it answers only when the notebook exists and the viewer
    /// may see it.
    #[graphql(guard = "NotebookGuard::new(&id)")]
    async fn notebook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Notebook> {
        let app = app(ctx)?;
        let model = services::notebooks::get_by_public_id(&app.db, &id).await?;
        let mut list = Notebook::load_many(app, vec![model]).await?;
        Ok(list
            .pop()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("notebook vanished")))?)
    }

    /// The notebooks the viewer may see (all of them for admins), by id.
    #[graphql(guard = "RoleGuard::new(Role::User)")]
    async fn notebooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Notebook>> {
        let app = app(ctx)?;
        let user = request_auth(ctx)?.current_user(&app.db).await?;
        let models = services::authorizations::notebooks_of(&app.db, &user).await?;
        Ok(Notebook::load_many(app, models).await?)
    }
}

#[Object]
impl NotebookMutation {
    /// Uploads a notebook (`.ipynb`) as a GraphQL multipart request (superusers and admins).
    /// The file is upgraded to nbformat 4.5, tagged with `unianalytics_notebook_id` (kept when
    /// present, else a new uuid4) and `unianalytics_cell_mapping` (each cell to itself, or to
    /// the original an earlier mapping gave it), stored zipped, and registered; the uploader is
    /// authorized for it. A file that already carries the id of a registered notebook becomes
    /// its next version (the uploader must be authorized for that notebook). `name` defaults to
    /// the file name. Send the request with an `Apollo-Require-Preflight: true` (or
    /// `x-csrf-token`) header; the README shows the `curl -F` line.
    #[graphql(guard = "RoleGuard::new(Role::Superuser)")]
    async fn upload_notebook(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        name: Option<String>,
    ) -> async_graphql::Result<UploadedNotebook> {
        let app = app(ctx)?;
        let user = request_auth(ctx)?.current_user(&app.db).await?;
        let file = file
            .value(ctx)
            .map_err(|_| AppError::bad_input("the upload is missing its file"))?;
        let upload = NotebookUpload {
            bytes: &file.content,
            file_name: &file.filename,
            name: name.as_deref(),
            uploader: Some(&user),
        };
        let uploaded = services::notebooks::upload(&app.db, &app.storage, upload).await?;
        let version = uploaded.version.version;
        let versions = services::notebooks::versions_of(&app.db, &[uploaded.notebook.id]).await?;
        Ok(UploadedNotebook {
            notebook: Notebook::assemble(app, uploaded.notebook, &versions)?,
            version,
            tagged_notebook: Json(uploaded.tagged),
        })
    }
}
