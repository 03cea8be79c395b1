//! Validated events waiting for the writer, one vector per table. A row is the event as it
//! arrived plus what the server resolved: the notebook's key and the student's pseudonym. The
//! writer reads them in place (no copy on the way) and turns each table's rows into columns.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::enums::ClickType;
use uuid::Uuid;

use super::{
    super::catalogue::{self, EventTable},
    events::{
        CellAlteration, CellFocus, CodeExecution, Event, MarkdownExecution, NotebookFocus,
        PendingUpdateInteraction, Sourced,
    },
};

/// The catalogue entry of an event kind's table.
pub trait InTable {
    const TABLE: &'static EventTable;
}

impl InTable for CodeExecution {
    const TABLE: &'static EventTable = &catalogue::CODE_EXECUTIONS;
}

impl InTable for MarkdownExecution {
    const TABLE: &'static EventTable = &catalogue::MARKDOWN_EXECUTIONS;
}

impl InTable for CellFocus {
    const TABLE: &'static EventTable = &catalogue::CELL_FOCUS_EVENTS;
}

impl InTable for NotebookFocus {
    const TABLE: &'static EventTable = &catalogue::NOTEBOOK_FOCUS_EVENTS;
}

impl InTable for CellAlteration {
    const TABLE: &'static EventTable = &catalogue::CELL_ALTERATIONS;
}

impl InTable for PendingUpdateInteraction {
    const TABLE: &'static EventTable = &catalogue::PENDING_UPDATE_INTERACTIONS;
}

/// An event with its notebook key and the student's pseudonym (the only student id stored).
pub struct Stored<E> {
    pub notebook_id: i64,
    pub user_id: String,
    pub event: E,
}

/// A dashboard user's UI interaction, stored with their pseudonym.
#[derive(Debug, Clone)]
pub struct DashboardInteractionRow {
    pub notebook_id: Option<i64>,
    pub user_id: String,
    pub click_type: ClickType,
    pub signal_origin: String,
    pub time: DateTime<Utc>,
    pub event_id: Option<Uuid>,
}

#[derive(Default)]
pub struct EventRows {
    pub code_executions: Vec<Stored<CodeExecution>>,
    pub markdown_executions: Vec<Stored<MarkdownExecution>>,
    pub cell_focus_events: Vec<Stored<CellFocus>>,
    pub notebook_focus_events: Vec<Stored<NotebookFocus>>,
    pub cell_alterations: Vec<Stored<CellAlteration>>,
    pub pending_update_interactions: Vec<Stored<PendingUpdateInteraction>>,
    pub dashboard_interactions: Vec<DashboardInteractionRow>,
}

/// The one rule for a cell without a mapping to the teacher's original: whatever way a client
/// or the old backend spelled "none" (`""` as the old server stored null, `"null"` and
/// `"undefined"` as JavaScript stringified a missing value) is stored as null, so the
/// dashboards count it under the one unmapped cell. In place: no allocation on the ingest path.
pub fn unmapped_as_null(orig_cell_id: &mut Option<String>) {
    if matches!(orig_cell_id.as_deref(), Some("" | "null" | "undefined")) {
        *orig_cell_id = None;
    }
}

impl EventRows {
    /// Adds an event of the notebook with row id `notebook_id` by the student whose pseudonym
    /// is `user_id`: a validated event from a client, or one the server made (whose source is
    /// [`EventSource::resolved`](super::EventSource::resolved)). Every path in goes through here,
    /// so the rules on stored values hold for all.
    pub fn push(&mut self, notebook_id: i64, user_id: String, event: Event) {
        macro_rules! stored {
            ($table:ident, $event:expr) => {
                self.$table.push(Stored {
                    notebook_id,
                    user_id,
                    event: $event,
                })
            };
        }
        match event {
            Event::CodeExecution(mut event) => {
                unmapped_as_null(&mut event.orig_cell_id);
                stored!(code_executions, event)
            }
            Event::MarkdownExecution(mut event) => {
                unmapped_as_null(&mut event.orig_cell_id);
                stored!(markdown_executions, event)
            }
            Event::CellFocus(mut event) => {
                unmapped_as_null(&mut event.orig_cell_id);
                stored!(cell_focus_events, event)
            }
            Event::NotebookFocus(event) => stored!(notebook_focus_events, event),
            Event::CellAlteration(event) => stored!(cell_alterations, event),
            Event::PendingUpdateInteraction(event) => stored!(pending_update_interactions, event),
        }
    }

    pub fn len(&self) -> usize {
        self.counts().iter().map(|(_, count)| count).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows per event table (whose word is the metrics' `kind` label).
    pub fn counts(&self) -> [(&'static EventTable, usize); 7] {
        [
            (CodeExecution::TABLE, self.code_executions.len()),
            (MarkdownExecution::TABLE, self.markdown_executions.len()),
            (CellFocus::TABLE, self.cell_focus_events.len()),
            (NotebookFocus::TABLE, self.notebook_focus_events.len()),
            (CellAlteration::TABLE, self.cell_alterations.len()),
            (
                PendingUpdateInteraction::TABLE,
                self.pending_update_interactions.len(),
            ),
            (
                &catalogue::DASHBOARD_INTERACTIONS,
                self.dashboard_interactions.len(),
            ),
        ]
    }
}

impl EventRows {
    /// The keys of this request's rows that carry an event id, by table.
    fn keys(&self) -> impl Iterator<Item = EventKey> + '_ {
        fn keyed<'a, E: Sourced + InTable>(
            rows: &'a [Stored<E>],
        ) -> impl Iterator<Item = EventKey> + 'a {
            rows.iter().filter_map(|row| {
                row.event.source().event_id.map(|event_id| EventKey {
                    table: E::TABLE.name,
                    notebook_id: Some(row.notebook_id),
                    user_id: row.user_id.clone(),
                    event_id,
                })
            })
        }
        let dashboard = self.dashboard_interactions.iter().filter_map(|row| {
            row.event_id.map(|event_id| EventKey {
                table: catalogue::DASHBOARD_INTERACTIONS.name,
                notebook_id: row.notebook_id,
                user_id: row.user_id.clone(),
                event_id,
            })
        });
        keyed(&self.code_executions)
            .chain(keyed(&self.markdown_executions))
            .chain(keyed(&self.cell_focus_events))
            .chain(keyed(&self.notebook_focus_events))
            .chain(keyed(&self.cell_alterations))
            .chain(keyed(&self.pending_update_interactions))
            .chain(dashboard)
    }

    /// How many of this request's rows were not inserted because they were already stored.
    /// Each inserted key is claimed once, so the same event twice in one commit counts one new
    /// and one duplicate.
    pub fn duplicates(&self, inserted: &mut HashSet<EventKey>) -> usize {
        self.keys().filter(|key| !inserted.remove(key)).count()
    }
}

/// A stored row with a client event id: what makes a retry a duplicate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EventKey {
    pub table: &'static str,
    pub notebook_id: Option<i64>,
    pub user_id: String,
    pub event_id: Uuid,
}
