//! GraphQL input types of the telemetry mutations, and their mapping to the ingest service's
//! domain types (which do the validation).

use async_graphql::{Enum, ID, InputObject, OneofObject};
use chrono::{DateTime, Utc};
use entity::enums;
use uuid::Uuid;

use crate::services::ingest::{DashboardInteractionInput, EventInput, EventKind};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::ExecutionStatus")]
pub enum ExecutionStatus {
    Ok,
    Error,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::ClickType")]
pub enum ClickType {
    On,
    Off,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::AlterationType")]
pub enum AlterationType {
    Add,
    Remove,
}

/// A student's answer to a pushed update (`OVERRIDE` is written by the server only).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PendingUpdateAction {
    UpdateNow,
    UpdateLater,
    UpdateAll,
    DeleteAll,
    ApplySingle,
    RemoveSingle,
}

impl From<PendingUpdateAction> for enums::PendingUpdateAction {
    fn from(action: PendingUpdateAction) -> Self {
        match action {
            PendingUpdateAction::UpdateNow => Self::UpdateNow,
            PendingUpdateAction::UpdateLater => Self::UpdateLater,
            PendingUpdateAction::UpdateAll => Self::UpdateAll,
            PendingUpdateAction::DeleteAll => Self::DeleteAll,
            PendingUpdateAction::ApplySingle => Self::ApplySingle,
            PendingUpdateAction::RemoveSingle => Self::RemoveSingle,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::SenderType")]
pub enum SenderType {
    Teacher,
    Teammate,
}

/// Fields every student event carries.
#[derive(InputObject)]
pub struct EventSource {
    /// The notebook's `unianalytics_notebook_id`; it must be registered.
    pub notebook_id: ID,
    /// The student's raw id; pseudonymized on arrival, never stored.
    pub user_id: String,
    /// Optional client-chosen id: a retry with the same id is stored once.
    pub event_id: Option<Uuid>,
}

#[derive(InputObject)]
pub struct CodeExecutionInput {
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    pub orig_cell_id: String,
    pub t_start: DateTime<Utc>,
    pub t_finish: DateTime<Utc>,
    pub status: ExecutionStatus,
    /// The cell's source text.
    pub cell_input: String,
    /// The nbformat outputs array.
    pub cell_output_model: async_graphql::Json<serde_json::Value>,
    pub cell_output_length: i64,
    pub language_mimetype: String,
}

#[derive(InputObject)]
pub struct MarkdownExecutionInput {
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    pub orig_cell_id: String,
    pub time: DateTime<Utc>,
    pub cell_content: String,
}

#[derive(InputObject)]
pub struct CellFocusInput {
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    pub orig_cell_id: String,
    pub click_type: ClickType,
    pub time: DateTime<Utc>,
    /// Seconds the cell was focused; null for `ON`.
    pub click_duration: Option<f64>,
}

#[derive(InputObject)]
pub struct NotebookFocusInput {
    #[graphql(flatten)]
    pub source: EventSource,
    pub click_type: ClickType,
    pub time: DateTime<Utc>,
    pub click_duration: Option<f64>,
}

#[derive(InputObject)]
pub struct CellAlterationInput {
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    pub alteration_type: AlterationType,
    pub time: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct PendingUpdateInteractionInput {
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: Option<String>,
    pub update_id: Option<String>,
    pub action: PendingUpdateAction,
    /// Pseudonym of who pushed the update (already a pseudonym: stored as received).
    pub sender: Option<String>,
    pub sender_type: Option<SenderType>,
    pub time: DateTime<Utc>,
}

/// Exactly one event of any kind (`@oneOf`).
#[derive(OneofObject)]
#[graphql(name = "EventInput")]
pub enum AnyEventInput {
    CodeExecution(CodeExecutionInput),
    MarkdownExecution(MarkdownExecutionInput),
    CellFocus(CellFocusInput),
    NotebookFocus(NotebookFocusInput),
    CellAlteration(CellAlterationInput),
    PendingUpdateInteraction(PendingUpdateInteractionInput),
}

#[derive(InputObject)]
pub struct DashboardInteractionEventInput {
    pub click_type: ClickType,
    /// Which dashboard control was used (at most 90 characters).
    pub signal_origin: String,
    pub time: DateTime<Utc>,
    pub notebook_id: Option<ID>,
    pub event_id: Option<Uuid>,
}

fn event(source: EventSource, kind: EventKind) -> EventInput {
    EventInput {
        notebook_id: source.notebook_id.0,
        user_id: source.user_id,
        event_id: source.event_id,
        kind,
    }
}

impl From<CodeExecutionInput> for EventInput {
    fn from(input: CodeExecutionInput) -> Self {
        let kind = EventKind::CodeExecution {
            cell_id: input.cell_id,
            orig_cell_id: input.orig_cell_id,
            t_start: input.t_start,
            t_finish: input.t_finish,
            status: input.status.into(),
            cell_input: input.cell_input,
            cell_output_model: input.cell_output_model.0,
            cell_output_length: input.cell_output_length,
            language_mimetype: input.language_mimetype,
        };
        event(input.source, kind)
    }
}

impl From<MarkdownExecutionInput> for EventInput {
    fn from(input: MarkdownExecutionInput) -> Self {
        let kind = EventKind::MarkdownExecution {
            cell_id: input.cell_id,
            orig_cell_id: input.orig_cell_id,
            time: input.time,
            cell_content: input.cell_content,
        };
        event(input.source, kind)
    }
}

impl From<CellFocusInput> for EventInput {
    fn from(input: CellFocusInput) -> Self {
        let kind = EventKind::CellFocus {
            cell_id: input.cell_id,
            orig_cell_id: input.orig_cell_id,
            click_type: input.click_type.into(),
            time: input.time,
            click_duration: input.click_duration,
        };
        event(input.source, kind)
    }
}

impl From<NotebookFocusInput> for EventInput {
    fn from(input: NotebookFocusInput) -> Self {
        let kind = EventKind::NotebookFocus {
            click_type: input.click_type.into(),
            time: input.time,
            click_duration: input.click_duration,
        };
        event(input.source, kind)
    }
}

impl From<CellAlterationInput> for EventInput {
    fn from(input: CellAlterationInput) -> Self {
        let kind = EventKind::CellAlteration {
            cell_id: input.cell_id,
            alteration_type: input.alteration_type.into(),
            time: input.time,
        };
        event(input.source, kind)
    }
}

impl From<PendingUpdateInteractionInput> for EventInput {
    fn from(input: PendingUpdateInteractionInput) -> Self {
        let kind = EventKind::PendingUpdateInteraction {
            cell_id: input.cell_id,
            update_id: input.update_id,
            action: input.action.into(),
            sender: input.sender,
            sender_type: input.sender_type.map(Into::into),
            time: input.time,
        };
        event(input.source, kind)
    }
}

impl From<AnyEventInput> for EventInput {
    fn from(input: AnyEventInput) -> Self {
        match input {
            AnyEventInput::CodeExecution(input) => input.into(),
            AnyEventInput::MarkdownExecution(input) => input.into(),
            AnyEventInput::CellFocus(input) => input.into(),
            AnyEventInput::NotebookFocus(input) => input.into(),
            AnyEventInput::CellAlteration(input) => input.into(),
            AnyEventInput::PendingUpdateInteraction(input) => input.into(),
        }
    }
}

impl From<DashboardInteractionEventInput> for DashboardInteractionInput {
    fn from(input: DashboardInteractionEventInput) -> Self {
        Self {
            notebook_id: input.notebook_id.map(|id| id.0),
            click_type: input.click_type.into(),
            signal_origin: input.signal_origin,
            time: input.time,
            event_id: input.event_id,
        }
    }
}
