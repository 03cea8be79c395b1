//! Telemetry ingest: validate events, pseudonymize students, and hand the rows to the
//! group-commit writer; answer only once they are committed, then signal dashboards.
//!
//! GraphQL mutations and the old REST routes both end here, so every rule is written once.

mod apply;
mod columns;
mod events;
mod rebuild;
mod rollup_rows;
mod rows;
mod store;
mod transaction;
mod writer;

pub use apply::{
    Pass, ReadAhead, Start, apply_all_rollups, apply_rollups, apply_rollups_at, run_rollup_applier,
    start_pass, write_pass,
};
pub use events::{
    CellAlteration, CellFocus, CodeExecution, Event, EventSource, MarkdownExecution, NotebookFocus,
    PendingUpdateInteraction,
};
pub use rebuild::{rebuild_in, rebuild_rollups, take_out_durations};
pub use rows::{DashboardInteractionRow, EventRows, unmapped_as_null};
pub use transaction::EventTransaction;
pub use writer::{IngestWriter, WriteTurns};

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::{
    dashboard_user,
    enums::{ClickType, Role},
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    broker::RefreshThrottle,
    error::{AppError, AppResult},
    services::{authorizations, identity::Identity},
    validation::{bounded, storable_time},
};

/// Longest dashboard control name stored.
const MAX_SIGNAL_ORIGIN_LEN: usize = 90;

/// What a request's events became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Events stored now.
    pub accepted: usize,
    /// Events not stored because the same student already sent the same event id in that
    /// notebook (a retry).
    pub duplicates: usize,
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

/// What ingest needs to take events in: the database, identity resolution (notebook keys and
/// pseudonyms), the group-commit writer, the old dashboards' refresh signal and the live
/// analytics' committed-events signal.
#[derive(Clone)]
pub struct Ingest {
    db: DatabaseConnection,
    identity: Identity,
    pub writer: IngestWriter,
    refresh: RefreshThrottle,
    /// The live analytics' signal of committed events.
    data_changes: RefreshThrottle,
    /// Longest text of one event (`EVENT_BODY_LIMIT`).
    text_limit: usize,
}

impl Ingest {
    pub fn new(
        db: DatabaseConnection,
        identity: Identity,
        writer: IngestWriter,
        (refresh, data_changes): (RefreshThrottle, RefreshThrottle),
        text_limit: usize,
    ) -> Self {
        Self {
            db,
            identity,
            writer,
            refresh,
            data_changes,
            text_limit,
        }
    }

    /// Stores `events` atomically: either all are committed or none (the error names the index of
    /// the first bad event).
    pub async fn record_events(&self, events: Vec<Event>) -> AppResult<Recorded> {
        let count = events.len();
        let single = count == 1;
        let text_limit = self.text_limit;
        let mut rows = EventRows::default();
        let mut notebooks = BTreeSet::new();
        for (index, event) in events.into_iter().enumerate() {
            let resolved = async {
                event.validate(text_limit)?;
                let source = event.source();
                let student = self
                    .identity
                    .recording_student(&source.notebook_id, &source.user_id)
                    .await?;
                Ok((student.notebook.row_id, student.pseudonym))
            };
            let (notebook, user) = resolved.await.map_err(|error: AppError| match single {
                true => error,
                false => error.at_index(index),
            })?;
            let public_id = event.source().notebook_id.as_str();
            if !notebooks.contains(public_id) {
                notebooks.insert(public_id.to_owned());
            }
            rows.push(notebook, user, event);
        }
        let duplicates = self.writer.write(rows).await?;
        // Dashboards hear of the events only once they are committed.
        for notebook in &notebooks {
            self.refresh.notify(notebook);
            self.data_changes.notify(notebook);
        }
        Ok(Recorded {
            accepted: count - duplicates,
            duplicates,
        })
    }

    /// Stores one dashboard interaction of `user`, with their pseudonym. One about a notebook
    /// needs the user to be authorized for it (admins are for all), as reading it does.
    pub async fn record_dashboard_interaction(
        &self,
        user: &dashboard_user::Model,
        input: DashboardInteractionInput,
    ) -> AppResult<Recorded> {
        bounded("signalOrigin", &input.signal_origin, MAX_SIGNAL_ORIGIN_LEN)?;
        storable_time("time", &input.time)?;
        let notebook_id = match &input.notebook_id {
            Some(public_id) => {
                let notebook = self.identity.notebook(public_id).await?;
                let allowed = user.role == Role::Admin
                    || authorizations::is_authorized(&self.db, user.id, public_id).await?;
                if !allowed {
                    return Err(AppError::forbidden("not authorized for this notebook"));
                }
                Some(notebook.row_id)
            }
            None => None,
        };
        let mut rows = EventRows::default();
        rows.dashboard_interactions.push(DashboardInteractionRow {
            notebook_id,
            user_id: user.username_hash.clone(),
            click_type: input.click_type,
            signal_origin: input.signal_origin,
            time: input.time,
            event_id: input.event_id,
        });
        let duplicates = self.writer.write(rows).await?;
        Ok(Recorded {
            accepted: 1 - duplicates,
            duplicates,
        })
    }
}
