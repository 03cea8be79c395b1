//! One CSV row shape for every event kind, so an export of several kinds is one table: columns a
//! kind does not have stay empty. Enum values are written as their plain words (`ON`, `ADD`,
//! `UPDATE_LATER`, `ok`) and times as UTC RFC 3339 with microseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction, markdown_execution,
    notebook_focus_event, pending_update_interaction,
};
use sea_orm::ActiveEnum;

use crate::services::catalogue::EventKind;
use serde::Serialize;

/// A row of the events export. Field order is column order.
#[derive(Debug, Default, Serialize)]
pub struct EventRow {
    pub kind: &'static str,
    /// The event's time; for code executions, when the execution finished.
    pub time: String,
    pub user_id: String,
    pub cell_id: Option<String>,
    pub orig_cell_id: Option<String>,
    pub t_start: Option<String>,
    pub t_finish: Option<String>,
    pub status: Option<String>,
    pub language_mimetype: Option<String>,
    pub cell_output_length: Option<i32>,
    pub cell_input: Option<String>,
    /// The outputs array as JSON text.
    pub cell_output_model: Option<String>,
    pub cell_content: Option<String>,
    pub click_type: Option<String>,
    pub click_duration: Option<f64>,
    pub alteration_type: Option<String>,
    pub update_id: Option<String>,
    pub action: Option<String>,
    pub sender: Option<String>,
    pub sender_type: Option<String>,
    pub event_id: Option<String>,
}

/// A row of the dashboard-interactions export.
#[derive(Debug, Default, Serialize)]
pub struct InteractionRow {
    pub time: String,
    /// Pseudonym of the dashboard user.
    pub user_id: String,
    /// Public id of the notebook the dashboard showed, if any.
    pub notebook_id: Option<String>,
    pub click_type: String,
    pub signal_origin: String,
    pub event_id: Option<String>,
}

pub fn utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn word<E: ActiveEnum<Value = String>>(value: &E) -> String {
    value.to_value()
}

fn id(event_id: Option<uuid::Uuid>) -> Option<String> {
    event_id.map(|id| id.to_string())
}

impl From<code_execution::Model> for EventRow {
    fn from(row: code_execution::Model) -> Self {
        Self {
            kind: EventKind::CodeExecution.word(),
            time: utc(row.t_finish),
            user_id: row.user_id,
            cell_id: Some(row.cell_id),
            orig_cell_id: row.orig_cell_id,
            t_start: Some(utc(row.t_start)),
            t_finish: Some(utc(row.t_finish)),
            status: Some(word(&row.status)),
            language_mimetype: Some(row.language_mimetype),
            cell_output_length: Some(row.cell_output_length),
            cell_input: Some(row.cell_input),
            cell_output_model: Some(row.cell_output_model.to_string()),
            event_id: id(row.event_id),
            ..Self::default()
        }
    }
}

impl From<markdown_execution::Model> for EventRow {
    fn from(row: markdown_execution::Model) -> Self {
        Self {
            kind: EventKind::MarkdownExecution.word(),
            time: utc(row.time),
            user_id: row.user_id,
            cell_id: Some(row.cell_id),
            orig_cell_id: row.orig_cell_id,
            cell_content: Some(row.cell_content),
            event_id: id(row.event_id),
            ..Self::default()
        }
    }
}

impl From<cell_focus_event::Model> for EventRow {
    fn from(row: cell_focus_event::Model) -> Self {
        Self {
            kind: EventKind::CellFocus.word(),
            time: utc(row.time),
            user_id: row.user_id,
            cell_id: Some(row.cell_id),
            orig_cell_id: row.orig_cell_id,
            click_type: Some(word(&row.click_type)),
            click_duration: row.click_duration,
            event_id: id(row.event_id),
            ..Self::default()
        }
    }
}

impl From<notebook_focus_event::Model> for EventRow {
    fn from(row: notebook_focus_event::Model) -> Self {
        Self {
            kind: EventKind::NotebookFocus.word(),
            time: utc(row.time),
            user_id: row.user_id,
            click_type: Some(word(&row.click_type)),
            click_duration: row.click_duration,
            event_id: id(row.event_id),
            ..Self::default()
        }
    }
}

impl From<cell_alteration::Model> for EventRow {
    fn from(row: cell_alteration::Model) -> Self {
        Self {
            kind: EventKind::CellAlteration.word(),
            time: utc(row.time),
            user_id: row.user_id,
            cell_id: Some(row.cell_id),
            alteration_type: Some(word(&row.alteration_type)),
            event_id: id(row.event_id),
            ..Self::default()
        }
    }
}

impl From<pending_update_interaction::Model> for EventRow {
    fn from(row: pending_update_interaction::Model) -> Self {
        Self {
            kind: EventKind::PendingUpdateInteraction.word(),
            time: utc(row.time),
            user_id: row.user_id,
            cell_id: row.cell_id,
            update_id: row.update_id,
            action: Some(word(&row.action)),
            sender: row.sender,
            sender_type: row.sender_type.as_ref().map(word),
            event_id: id(row.event_id),
            ..Self::default()
        }
    }
}

impl InteractionRow {
    pub fn new(row: dashboard_interaction::Model, notebook_id: Option<String>) -> Self {
        Self {
            time: utc(row.time),
            user_id: row.user_id,
            notebook_id,
            click_type: word(&row.click_type),
            signal_origin: row.signal_origin,
            event_id: id(row.event_id),
        }
    }
}
