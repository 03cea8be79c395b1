//! Telemetry ingest: validate events, pseudonymize students, and hand the rows to the
//! group-commit writer; answer only once they are committed, then signal dashboards.
//!
//! GraphQL mutations and the old REST routes both end here, so every rule is written once.

mod rows;
mod validate;
mod writer;

pub use rows::EventRows;
pub use writer::IngestWriter;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, SenderType};
use uuid::Uuid;

use crate::{AppState, error::AppResult};

/// One event as a client sent it (raw student id), before validation.
#[derive(Debug, Clone)]
pub struct EventInput {
    /// Public notebook id (`unianalytics_notebook_id`).
    pub notebook_id: String,
    /// Raw student id; pseudonymized on arrival and never stored.
    pub user_id: String,
    /// Optional client id making retries idempotent.
    pub event_id: Option<Uuid>,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    CodeExecution {
        cell_id: String,
        orig_cell_id: String,
        t_start: DateTime<Utc>,
        t_finish: DateTime<Utc>,
        status: ExecutionStatus,
        cell_input: String,
        cell_output_model: serde_json::Value,
        cell_output_length: i64,
        language_mimetype: String,
    },
    MarkdownExecution {
        cell_id: String,
        orig_cell_id: String,
        time: DateTime<Utc>,
        cell_content: String,
    },
    CellFocus {
        cell_id: String,
        orig_cell_id: String,
        click_type: ClickType,
        time: DateTime<Utc>,
        click_duration: Option<f64>,
    },
    NotebookFocus {
        click_type: ClickType,
        time: DateTime<Utc>,
        click_duration: Option<f64>,
    },
    CellAlteration {
        cell_id: String,
        alteration_type: AlterationType,
        time: DateTime<Utc>,
    },
    PendingUpdateInteraction {
        cell_id: Option<String>,
        update_id: Option<String>,
        action: PendingUpdateAction,
        /// Already a pseudonym: stored as received.
        sender: Option<String>,
        sender_type: Option<SenderType>,
        time: DateTime<Utc>,
    },
}

/// A dashboard user's UI interaction, stored with their pseudonym.
#[derive(Debug, Clone)]
pub struct DashboardInteractionInput {
    pub notebook_id: Option<String>,
    pub click_type: ClickType,
    pub signal_origin: String,
    pub time: DateTime<Utc>,
    pub event_id: Option<Uuid>,
}

/// Stores `events` atomically: either all are committed or none (the error names the index of
/// the first bad event). Returns how many were accepted (retried duplicates included).
pub async fn record_events(app: &AppState, events: Vec<EventInput>) -> AppResult<usize> {
    let count = events.len();
    let single = count == 1;
    let mut rows = EventRows::default();
    let mut notebooks = BTreeSet::new();
    for (index, event) in events.into_iter().enumerate() {
        let notebook = event.notebook_id.clone();
        validate::add_event(app, &mut rows, event)
            .await
            .map_err(|error| if single { error } else { error.at_index(index) })?;
        notebooks.insert(notebook);
    }
    app.ingest.write(rows).await?;
    for notebook in &notebooks {
        app.refresh.notify(notebook);
    }
    Ok(count)
}

/// Stores one dashboard interaction of the user with pseudonym `user_pseudonym`.
pub async fn record_dashboard_interaction(
    app: &AppState,
    user_pseudonym: String,
    input: DashboardInteractionInput,
) -> AppResult<()> {
    let mut rows = EventRows::default();
    validate::add_dashboard_interaction(app, &mut rows, user_pseudonym, input).await?;
    app.ingest.write(rows).await
}
