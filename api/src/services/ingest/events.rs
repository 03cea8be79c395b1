//! The one definition of each student event. Both wire formats map onto these types without a
//! hand-copied field list: the old extension's REST bodies through serde (snake_case, as the
//! deployed extension sends them) and the GraphQL inputs through async-graphql (camelCase).
//! Each kind's rules are one short `validate` function.

use async_graphql::{ID, InputObject, Json, OneofObject};
use chrono::{DateTime, Utc};
use entity::enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, SenderType};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    services::identity::{self, MAX_CELL_ID_LEN},
    validation::{bounded, storable_json, storable_text, storable_time},
};

const MAX_MIMETYPE_LEN: usize = 128;

/// Fields every student event carries. No `Debug`: it holds a raw student id.
#[derive(Deserialize, InputObject)]
pub struct EventSource {
    /// The notebook's `unianalytics_notebook_id`; it must be registered.
    pub notebook_id: ID,
    /// The student's raw id; pseudonymized on arrival, never stored.
    pub user_id: String,
    /// Optional client-chosen id: a retry with the same id by the same student in the same
    /// notebook is stored once and reported in `duplicateCount`.
    #[serde(default)]
    pub event_id: Option<Uuid>,
}

impl EventSource {
    /// The source of an event the server writes itself (demo class, legacy import, `OVERRIDE`):
    /// its notebook key and pseudonym are known already and go beside it into
    /// [`EventRows::push`](super::EventRows::push), so the raw fields, read only to resolve
    /// those, stay empty (and allocate nothing).
    pub fn resolved(event_id: Option<Uuid>) -> Self {
        Self {
            notebook_id: ID::default(),
            user_id: String::new(),
            event_id,
        }
    }
}

#[derive(Deserialize, InputObject)]
#[graphql(name = "CodeExecutionInput")]
pub struct CodeExecution {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    /// The teacher's cell this one descends from; null when the student's copy lacks the cell
    /// mapping (the event is stored and counted under the unmapped cell `""`).
    #[serde(default)]
    pub orig_cell_id: Option<String>,
    pub t_start: DateTime<Utc>,
    pub t_finish: DateTime<Utc>,
    pub status: ExecutionStatus,
    /// The cell's source text.
    pub cell_input: String,
    /// The nbformat outputs array.
    pub cell_output_model: Json<serde_json::Value>,
    pub cell_output_length: i64,
    pub language_mimetype: String,
}

#[derive(Deserialize, InputObject)]
#[graphql(name = "MarkdownExecutionInput")]
pub struct MarkdownExecution {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    /// Null when the student's copy lacks the cell mapping (counted under `""`).
    #[serde(default)]
    pub orig_cell_id: Option<String>,
    pub time: DateTime<Utc>,
    pub cell_content: String,
}

#[derive(Deserialize, InputObject)]
#[graphql(name = "CellFocusInput")]
pub struct CellFocus {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    /// Null when the student's copy lacks the cell mapping (counted under `""`).
    #[serde(default)]
    pub orig_cell_id: Option<String>,
    pub click_type: ClickType,
    pub time: DateTime<Utc>,
    /// Seconds the cell was focused; null for `ON`.
    #[serde(default)]
    pub click_duration: Option<f64>,
}

#[derive(Deserialize, InputObject)]
#[graphql(name = "NotebookFocusInput")]
pub struct NotebookFocus {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub source: EventSource,
    pub click_type: ClickType,
    pub time: DateTime<Utc>,
    #[serde(default)]
    pub click_duration: Option<f64>,
}

#[derive(Deserialize, InputObject)]
#[graphql(name = "CellAlterationInput")]
pub struct CellAlteration {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub source: EventSource,
    pub cell_id: String,
    pub alteration_type: AlterationType,
    pub time: DateTime<Utc>,
}

#[derive(Deserialize, InputObject)]
#[graphql(name = "PendingUpdateInteractionInput")]
pub struct PendingUpdateInteraction {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub source: EventSource,
    #[serde(default)]
    pub cell_id: Option<String>,
    #[serde(default)]
    pub update_id: Option<String>,
    /// A student's answer; `OVERRIDE` is recorded by the server only and refused here.
    pub action: PendingUpdateAction,
    /// Pseudonym of who pushed the update (already a pseudonym: stored as received).
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub sender_type: Option<SenderType>,
    pub time: DateTime<Utc>,
}

/// Exactly one event of any kind (`@oneOf`).
#[derive(OneofObject)]
#[graphql(name = "EventInput")]
pub enum Event {
    CodeExecution(CodeExecution),
    MarkdownExecution(MarkdownExecution),
    CellFocus(CellFocus),
    NotebookFocus(NotebookFocus),
    CellAlteration(CellAlteration),
    PendingUpdateInteraction(PendingUpdateInteraction),
}

/// What every event kind has: the shared fields.
pub trait Sourced {
    fn source(&self) -> &EventSource;
}

macro_rules! event_kinds {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Event {
            fn from(event: $kind) -> Self {
                Self::$kind(event)
            }
        }

        impl Sourced for $kind {
            fn source(&self) -> &EventSource {
                &self.source
            }
        }
    )*};
}
event_kinds!(
    CodeExecution,
    MarkdownExecution,
    CellFocus,
    NotebookFocus,
    CellAlteration,
    PendingUpdateInteraction
);

impl Event {
    pub fn source(&self) -> &EventSource {
        match self {
            Self::CodeExecution(event) => &event.source,
            Self::MarkdownExecution(event) => &event.source,
            Self::CellFocus(event) => &event.source,
            Self::NotebookFocus(event) => &event.source,
            Self::CellAlteration(event) => &event.source,
            Self::PendingUpdateInteraction(event) => &event.source,
        }
    }

    /// When the event happened (a code execution: when it finished).
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            Self::CodeExecution(event) => event.t_finish,
            Self::MarkdownExecution(event) => event.time,
            Self::CellFocus(event) => event.time,
            Self::NotebookFocus(event) => event.time,
            Self::CellAlteration(event) => event.time,
            Self::PendingUpdateInteraction(event) => event.time,
        }
    }

    /// Checks the shared fields, then the kind's own rules. `text_limit` bounds the cell text
    /// and output one event may carry.
    pub fn validate(&self, text_limit: usize) -> AppResult<()> {
        let source = self.source();
        identity::check_notebook_id(&source.notebook_id)?;
        identity::check_user_id(&source.user_id)?;
        storable_time("time", &self.time())?;
        match self {
            Self::CodeExecution(event) => event.validate(text_limit),
            Self::MarkdownExecution(event) => event.validate(text_limit),
            Self::CellFocus(event) => event.validate(),
            Self::NotebookFocus(event) => duration(event.click_duration),
            Self::CellAlteration(event) => bounded("cellId", &event.cell_id, MAX_CELL_ID_LEN),
            Self::PendingUpdateInteraction(event) => event.validate(),
        }
    }
}

impl CodeExecution {
    fn validate(&self, text_limit: usize) -> AppResult<()> {
        cell_ids(&self.cell_id, self.orig_cell_id.as_deref())?;
        text_size(
            self.cell_input.len() + json_size(&self.cell_output_model),
            text_limit,
        )?;
        storable_time("tStart", &self.t_start)?;
        storable_text("cellInput", &self.cell_input)?;
        storable_text("languageMimetype", &self.language_mimetype)?;
        storable_json("cellOutputModel", &self.cell_output_model.0)?;
        if self.language_mimetype.len() > MAX_MIMETYPE_LEN {
            return Err(AppError::bad_input("languageMimetype is too long"));
        }
        if self.t_finish < self.t_start {
            return Err(AppError::bad_input("tFinish is before tStart"));
        }
        if !self.cell_output_model.is_array() {
            return Err(AppError::bad_input(
                "cellOutputModel must be the nbformat outputs array",
            ));
        }
        self.stored_output_length().map(|_| ())
    }

    /// The output length as stored (a non-negative 32-bit count).
    pub fn stored_output_length(&self) -> AppResult<i32> {
        i32::try_from(self.cell_output_length)
            .ok()
            .filter(|length| *length >= 0)
            .ok_or_else(|| AppError::bad_input("cellOutputLength is out of range"))
    }
}

impl MarkdownExecution {
    fn validate(&self, text_limit: usize) -> AppResult<()> {
        cell_ids(&self.cell_id, self.orig_cell_id.as_deref())?;
        text_size(self.cell_content.len(), text_limit)?;
        storable_text("cellContent", &self.cell_content)
    }
}

impl CellFocus {
    fn validate(&self) -> AppResult<()> {
        cell_ids(&self.cell_id, self.orig_cell_id.as_deref())?;
        duration(self.click_duration)
    }
}

impl PendingUpdateInteraction {
    fn validate(&self) -> AppResult<()> {
        optional_bounded("cellId", self.cell_id.as_deref())?;
        optional_bounded("updateId", self.update_id.as_deref())?;
        optional_bounded("sender", self.sender.as_deref())?;
        if self.action == PendingUpdateAction::Override {
            return Err(AppError::bad_input(
                "OVERRIDE is recorded by the server, not sent by clients",
            ));
        }
        Ok(())
    }
}

/// A cell id, and the original cell id when there is one. The old extension sent `""` for a
/// missing original before it sent null; both mean "unmapped" (see `rows::unmapped_as_null`).
fn cell_ids(cell_id: &str, orig_cell_id: Option<&str>) -> AppResult<()> {
    bounded("cellId", cell_id, MAX_CELL_ID_LEN)?;
    match orig_cell_id {
        Some(orig) if !orig.is_empty() => bounded("origCellId", orig, MAX_CELL_ID_LEN),
        _ => Ok(()),
    }
}

fn optional_bounded(field: &str, value: Option<&str>) -> AppResult<()> {
    value.map_or(Ok(()), |value| bounded(field, value, MAX_CELL_ID_LEN))
}

fn duration(value: Option<f64>) -> AppResult<()> {
    match value {
        Some(seconds) if !seconds.is_finite() || seconds < 0.0 => Err(AppError::bad_input(
            "clickDuration must be a non-negative number of seconds",
        )),
        _ => Ok(()),
    }
}

fn text_size(bytes: usize, limit: usize) -> AppResult<()> {
    if bytes > limit {
        return Err(AppError::PayloadTooLarge(format!(
            "one event may carry at most {limit} bytes of cell text and output"
        )));
    }
    Ok(())
}

/// The serialized size of a JSON value, counted without building the string.
fn json_size(value: &serde_json::Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing into a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}
