//! Retiring a notebook: archiving makes it read-only (dashboards answer, ingest is refused with
//! `NOTEBOOK_ARCHIVED`); deleting removes it with every row that names it (events,
//! interactions, pushed updates, groups and members, versions, grants) in one transaction with
//! its audit row, then its stored files. A dry run counts the same rows and deletes nothing.
//! This instance's notebook cache forgets it at once; others within the cache's lifetime.

use chrono::Utc;
use entity::{notebook, notebook_version};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde_json::json;

use super::{NotebookIds, get_by_public_id};
use crate::{
    error::AppResult,
    services::{audit, rollups, table_rows},
    storage::NotebookStorage,
};

/// Tables whose rows name a notebook by `notebook_id`, children before parents.
const BY_NOTEBOOK: [&str; 15] = [
    "cell_rollups",
    "location_rollups",
    "duration_rollups",
    "progress_rollups",
    "code_executions",
    "markdown_executions",
    "cell_focus_events",
    "notebook_focus_events",
    "cell_alterations",
    "pending_update_interactions",
    "dashboard_interactions",
    "pushed_updates",
    "student_groups",
    "notebook_versions",
    "notebook_authorizations",
];

/// Rows per table (and stored files) deleted, or that a dry run would delete.
pub type Counts = Vec<(&'static str, u64)>;

/// What acts on notebooks: the database, the stored files and this instance's cache.
pub struct NotebookAdmin<'a> {
    pub db: &'a DatabaseConnection,
    pub storage: &'a NotebookStorage,
    pub ids: &'a NotebookIds,
    /// The acting dashboard user; `None` for the command line.
    pub actor: Option<i64>,
}

impl NotebookAdmin<'_> {
    /// Archives `public_id` (or, with `archived: false`, makes it take events again).
    pub async fn archive(&self, public_id: &str, archived: bool) -> AppResult<notebook::Model> {
        let txn = self.db.begin().await?;
        let found = get_by_public_id(&txn, public_id).await?;
        let mut row: notebook::ActiveModel = found.into();
        row.archived_at = Set(archived.then(Utc::now));
        let row = row.update(&txn).await?;
        let action = if archived {
            "archive_notebook"
        } else {
            "unarchive_notebook"
        };
        audit::record(&txn, self.actor, action, json!({ "notebook": public_id })).await?;
        txn.commit().await?;
        self.ids.forget(public_id);
        Ok(row)
    }

    /// Deletes `public_id` and everything that names it (or with `dry_run` only counts it).
    pub async fn delete(&self, public_id: &str, dry_run: bool) -> AppResult<Counts> {
        let txn = self.db.begin().await?;
        if !dry_run {
            // The rollup applier must not add rows of this notebook read before the deletion.
            rollups::watermarks::lock(&txn).await?;
        }
        let found = get_by_public_id(&txn, public_id).await?;
        let keys = storage_keys(&txn, &found).await?;
        let mut counts = Counts::new();
        let groups = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("student_groups"))
            .and_where(Expr::col(Alias::new("notebook_id")).eq(found.id))
            .to_owned();
        let members = Expr::col(Alias::new("group_id")).in_subquery(groups);
        counts.push((
            "group_members",
            table_rows::delete_or_count(&txn, "group_members", members, dry_run).await?,
        ));
        for table in BY_NOTEBOOK {
            let condition = Expr::col(Alias::new("notebook_id")).eq(found.id);
            counts.push((
                table,
                table_rows::delete_or_count(&txn, table, condition, dry_run).await?,
            ));
        }
        let condition = Expr::col(Alias::new("id")).eq(found.id);
        counts.push((
            "notebooks",
            table_rows::delete_or_count(&txn, "notebooks", condition, dry_run).await?,
        ));
        counts.push(("stored files", keys.len() as u64));
        if dry_run {
            return Ok(counts);
        }
        let details = json!({ "notebook": public_id, "rows": counts.iter()
            .map(|(table, n)| json!({ "table": table, "deleted": n })).collect::<Vec<_>>() });
        audit::record(&txn, self.actor, "delete_notebook", details).await?;
        txn.commit().await?;
        self.ids.forget(public_id);
        // After the commit: a failed transaction must not lose the files of a kept notebook.
        for key in &keys {
            self.storage.delete_orphan(key).await;
        }
        Ok(counts)
    }
}

/// Every stored file of the notebook (each version's, and the current one).
async fn storage_keys(
    db: &impl ConnectionTrait,
    found: &notebook::Model,
) -> AppResult<Vec<String>> {
    let mut keys: Vec<String> = notebook_version::Entity::find()
        .filter(notebook_version::Column::NotebookId.eq(found.id))
        .select_only()
        .column(notebook_version::Column::StorageKey)
        .into_tuple()
        .all(db)
        .await?;
    keys.extend(found.storage_key.clone());
    keys.sort();
    keys.dedup();
    Ok(keys)
}
