//! Moving in from the old Flask backend: read its PostgreSQL database (over a separate
//! connection) and copy every kind of row into ours, table by table, in batches.
//!
//! Idempotent and resumable: every event gets a deterministic event id (uuid v5 over its old
//! table and id) and is inserted with `ON CONFLICT DO NOTHING`; notebooks, users, groups and
//! memberships are inserted or skipped by their natural keys. Each batch is one transaction, so
//! a killed import loses at most the batch in flight, and a re-run inserts only what is missing.
//! Pseudonyms are kept as they are (same salt); Werkzeug password hashes too (the login
//! verifies and upgrades them).

use std::collections::BTreeMap;

use sea_orm::DatabaseConnection;
use serde_json::json;

mod accounts;
mod convert;
mod copy;
mod events;
mod files;
mod source;

pub use convert::{EVENT_ID_NAMESPACE, event_id};

use crate::{services::audit, storage::NotebookStorage};
use convert::Context;
use copy::{Run, copy};
use events::Kind;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Old notebook ids to import; empty means all.
    pub notebooks: Vec<String>,
    /// Read and count, write nothing.
    pub dry_run: bool,
    /// Where the old notebooks' `.ipynb` files are (a directory or bucket).
    pub notebook_files: Option<NotebookStorage>,
    /// Old rows per batch (one read, one insert transaction).
    pub batch_size: u64,
    /// Stop with an error after this many batches (to test resuming).
    pub stop_after_batches: Option<u64>,
}

/// Shown while the import runs (a progress bar per table on a terminal).
pub trait Progress {
    fn start(&mut self, table: &str, rows: u64);
    fn advance(&mut self, rows: u64);
    fn finish(&mut self);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// Counts of one old table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableReport {
    pub table: &'static str,
    /// Rows in the old database (for the selected notebooks).
    pub in_old: u64,
    /// Of the rows read, those present in ours after this run (or before it, in a dry run).
    pub present: u64,
    /// Inserted by this run (would be, in a dry run).
    pub inserted: u64,
    /// Read but not inserted: already there, or not importable (see the warnings).
    pub skipped: u64,
}

impl TableReport {
    fn new(table: &'static str) -> Self {
        Self {
            table,
            in_old: 0,
            present: 0,
            inserted: 0,
            skipped: 0,
        }
    }

    fn add(&mut self, read: u64, inserted: u64, present: u64) {
        self.inserted += inserted;
        self.present += present;
        self.skipped += read.saturating_sub(inserted);
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub tables: Vec<TableReport>,
    /// Notebook files uploaded (would be, in a dry run).
    pub files_uploaded: u64,
    /// What was replaced or skipped, and how often.
    pub warnings: BTreeMap<&'static str, u64>,
}

/// The batch size, and the injected stop after a number of committed batches.
pub struct Batches {
    size: u64,
    committed: u64,
    stop_after: Option<u64>,
}

impl Batches {
    fn committed(&mut self, table: &str) -> anyhow::Result<()> {
        self.committed += 1;
        match self.stop_after {
            Some(limit) if self.committed >= limit => {
                anyhow::bail!("stopped after {limit} batches (in {table}), as asked")
            }
            _ => Ok(()),
        }
    }
}

/// Imports from `old` into `db`; the notebook files go to `storage`.
pub async fn run(
    old: &DatabaseConnection,
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    options: &ImportOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<ImportReport> {
    let scope = source::Scope {
        notebooks: options.notebooks.clone(),
    };
    let mut ctx = Context {
        dry_run: options.dry_run,
        ..Default::default()
    };
    let mut batches = Batches {
        size: options.batch_size.max(1),
        committed: 0,
        stop_after: options.stop_after_batches,
    };
    let mut report = ImportReport::default();
    if let Some(files) = &options.notebook_files {
        report.files_uploaded =
            files::upload_all(old, db, storage, &scope, files, &mut ctx).await?;
    }
    let mut copier = Copier {
        old,
        db,
        scope: &scope,
        ctx: &mut ctx,
        batches: &mut batches,
        progress,
        dry_run: options.dry_run,
    };
    report.tables = copier.all().await?;
    report.warnings = std::mem::take(&mut ctx.warnings);
    if !options.dry_run {
        audit::record(db, None, "import_legacy", audit_details(options, &report)).await?;
    }
    Ok(report)
}

/// Counts only: no ids of notebooks, users or students.
fn audit_details(options: &ImportOptions, report: &ImportReport) -> serde_json::Value {
    json!({
        "selected_notebooks": options.notebooks.len(),
        "files_uploaded": report.files_uploaded,
        "tables": report.tables,
        "warnings": report.warnings,
    })
}

struct Copier<'a> {
    old: &'a DatabaseConnection,
    db: &'a DatabaseConnection,
    scope: &'a source::Scope,
    ctx: &'a mut Context,
    batches: &'a mut Batches,
    progress: &'a mut dyn Progress,
    dry_run: bool,
}

impl Copier<'_> {
    fn run(&mut self) -> Run<'_> {
        Run {
            old: self.old,
            db: self.db,
            scope: self.scope,
            ctx: self.ctx,
            batches: self.batches,
            progress: self.progress,
            dry_run: self.dry_run,
        }
    }

    /// Every table, in the order their references need.
    async fn all(&mut self) -> anyhow::Result<Vec<TableReport>> {
        let mut tables = vec![copy(self.run(), accounts::NOTEBOOKS).await?];
        let public_ids = source::notebook_ids(self.old, self.scope).await?;
        accounts::load_notebooks(self.db, self.ctx, public_ids).await?;
        tables.push(copy(self.run(), accounts::USERS).await?);
        accounts::load_users_and_groups(self.db, self.ctx).await?;
        tables.push(copy(self.run(), accounts::AUTHORIZATIONS).await?);
        tables.push(copy(self.run(), accounts::GROUPS).await?);
        accounts::load_users_and_groups(self.db, self.ctx).await?;
        tables.push(copy(self.run(), accounts::MEMBERS).await?);
        tables.extend(self.events().await?);
        Ok(tables)
    }

    async fn events(&mut self) -> anyhow::Result<Vec<TableReport>> {
        Ok(vec![
            copy(self.run(), kinds::code_executions()).await?,
            copy(self.run(), kinds::markdown_executions()).await?,
            copy(self.run(), kinds::cell_clicks()).await?,
            copy(self.run(), kinds::notebook_clicks()).await?,
            copy(self.run(), kinds::cell_alterations()).await?,
            copy(self.run(), kinds::pending_updates()).await?,
            copy(self.run(), kinds::dashboard_events()).await?,
        ])
    }
}

/// The report as a table of text, one line per old table.
pub fn format_report(report: &ImportReport, dry_run: bool) -> String {
    let inserted = if dry_run { "would insert" } else { "inserted" };
    let mut text = format!(
        "{:<34} {:>12} {:>12} {:>12} {:>12}\n",
        "old table", "in old db", "present", inserted, "skipped"
    );
    for table in &report.tables {
        text += &format!(
            "{:<34} {:>12} {:>12} {:>12} {:>12}\n",
            table.table, table.in_old, table.present, table.inserted, table.skipped
        );
    }
    text += &format!("notebook files uploaded: {}\n", report.files_uploaded);
    for (warning, count) in &report.warnings {
        text += &format!("warning: {count} {warning}\n");
    }
    text
}

mod kinds {
    //! Which old query feeds which of our tables.

    use super::{Kind, convert, source};
    use crate::services::catalogue;

    pub fn code_executions() -> Kind {
        Kind {
            name: "CellExecution (code)",
            target: catalogue::CODE_EXECUTIONS.name,
            query: source::CODE_EXECUTIONS,
            convert: convert::code_execution,
        }
    }

    pub fn markdown_executions() -> Kind {
        Kind {
            name: "CellExecution (markdown)",
            target: catalogue::MARKDOWN_EXECUTIONS.name,
            query: source::MARKDOWN_EXECUTIONS,
            convert: convert::markdown_execution,
        }
    }

    pub fn cell_clicks() -> Kind {
        Kind {
            name: "CellClickEvent",
            target: catalogue::CELL_FOCUS_EVENTS.name,
            query: source::CELL_CLICKS,
            convert: convert::cell_click,
        }
    }

    pub fn notebook_clicks() -> Kind {
        Kind {
            name: "NotebookClickEvent",
            target: catalogue::NOTEBOOK_FOCUS_EVENTS.name,
            query: source::NOTEBOOK_CLICKS,
            convert: convert::notebook_click,
        }
    }

    pub fn cell_alterations() -> Kind {
        Kind {
            name: "CellAlteration",
            target: catalogue::CELL_ALTERATIONS.name,
            query: source::CELL_ALTERATIONS,
            convert: convert::cell_alteration,
        }
    }

    pub fn pending_updates() -> Kind {
        Kind {
            name: "PendingUpdateInteraction",
            target: catalogue::PENDING_UPDATE_INTERACTIONS.name,
            query: source::PENDING_UPDATES,
            convert: convert::pending_update,
        }
    }

    pub fn dashboard_events() -> Kind {
        Kind {
            name: "DashboardEvent",
            target: catalogue::DASHBOARD_INTERACTIONS.name,
            query: source::DASHBOARD_EVENTS,
            convert: convert::dashboard_event,
        }
    }
}
