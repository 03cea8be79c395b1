//! The event catalogue: every table events are stored in, with the word that names its kind
//! (the `kind` label of the ingest metrics, the `kind` column and filter of the exports), the
//! column its rows are dated by, and the columns an insert writes. Every other list of event
//! kinds (ingest tables and metrics, exports, dashboard counts, erasure and retention, the
//! legacy import's targets) is read from here, so a new kind is added in one place.

/// A table of events and how the rest of the server names and dates its rows.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EventTable {
    /// Our table.
    pub name: &'static str,
    /// The kind's word (`code_execution`, `cell_focus`, …).
    pub word: &'static str,
    /// What dashboards, exports and counts date a row by.
    pub time: &'static str,
    /// The row's earliest time: retention deletes a row once it began before the cutoff.
    pub start: &'static str,
    /// The columns an insert writes, in order (the row id is the database's).
    pub columns: &'static [&'static str],
}

/// Code executions are dated by their finish, as everywhere in the dashboards.
pub const CODE_EXECUTIONS: EventTable = EventTable {
    name: "code_executions",
    word: "code_execution",
    time: "t_finish",
    start: "t_start",
    columns: &[
        "notebook_id",
        "user_id",
        "cell_id",
        "orig_cell_id",
        "t_start",
        "t_finish",
        "status",
        "cell_input",
        "cell_output_model",
        "cell_output_length",
        "language_mimetype",
        "event_id",
    ],
};

pub const MARKDOWN_EXECUTIONS: EventTable = EventTable {
    name: "markdown_executions",
    word: "markdown_execution",
    time: "time",
    start: "time",
    columns: &[
        "notebook_id",
        "user_id",
        "cell_id",
        "orig_cell_id",
        "time",
        "cell_content",
        "event_id",
    ],
};

pub const CELL_FOCUS_EVENTS: EventTable = EventTable {
    name: "cell_focus_events",
    word: "cell_focus",
    time: "time",
    start: "time",
    columns: &[
        "notebook_id",
        "user_id",
        "cell_id",
        "orig_cell_id",
        "click_type",
        "time",
        "click_duration",
        "event_id",
    ],
};

pub const NOTEBOOK_FOCUS_EVENTS: EventTable = EventTable {
    name: "notebook_focus_events",
    word: "notebook_focus",
    time: "time",
    start: "time",
    columns: &[
        "notebook_id",
        "user_id",
        "click_type",
        "time",
        "click_duration",
        "event_id",
    ],
};

pub const CELL_ALTERATIONS: EventTable = EventTable {
    name: "cell_alterations",
    word: "cell_alteration",
    time: "time",
    start: "time",
    columns: &[
        "notebook_id",
        "user_id",
        "cell_id",
        "alteration_type",
        "time",
        "event_id",
    ],
};

pub const PENDING_UPDATE_INTERACTIONS: EventTable = EventTable {
    name: "pending_update_interactions",
    word: "pending_update_interaction",
    time: "time",
    start: "time",
    columns: &[
        "notebook_id",
        "user_id",
        "cell_id",
        "update_id",
        "action",
        "sender",
        "sender_type",
        "time",
        "event_id",
    ],
};

/// A dashboard user's own UI interactions: not a student's, so neither exported with a
/// notebook's events nor erased with a student; the notebook is optional.
pub const DASHBOARD_INTERACTIONS: EventTable = EventTable {
    name: "dashboard_interactions",
    word: "dashboard_interaction",
    time: "time",
    start: "time",
    columns: &[
        "notebook_id",
        "user_id",
        "click_type",
        "signal_origin",
        "time",
        "event_id",
    ],
};

/// Every event table: the students' kinds in [`EventKind::ALL`] order, then the dashboards'.
pub const TABLES: [&EventTable; 7] = [
    &CODE_EXECUTIONS,
    &MARKDOWN_EXECUTIONS,
    &CELL_FOCUS_EVENTS,
    &NOTEBOOK_FOCUS_EVENTS,
    &CELL_ALTERATIONS,
    &PENDING_UPDATE_INTERACTIONS,
    &DASHBOARD_INTERACTIONS,
];

/// A kind of event a student's extension sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    CodeExecution,
    MarkdownExecution,
    CellFocus,
    NotebookFocus,
    CellAlteration,
    PendingUpdateInteraction,
}

impl EventKind {
    pub const ALL: [Self; 6] = [
        Self::CodeExecution,
        Self::MarkdownExecution,
        Self::CellFocus,
        Self::NotebookFocus,
        Self::CellAlteration,
        Self::PendingUpdateInteraction,
    ];

    pub const fn table(self) -> &'static EventTable {
        match self {
            Self::CodeExecution => &CODE_EXECUTIONS,
            Self::MarkdownExecution => &MARKDOWN_EXECUTIONS,
            Self::CellFocus => &CELL_FOCUS_EVENTS,
            Self::NotebookFocus => &NOTEBOOK_FOCUS_EVENTS,
            Self::CellAlteration => &CELL_ALTERATIONS,
            Self::PendingUpdateInteraction => &PENDING_UPDATE_INTERACTIONS,
        }
    }

    pub const fn word(self) -> &'static str {
        self.table().word
    }

    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.word() == word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_list_each_kind_in_order_then_the_dashboards() {
        let students: Vec<&EventTable> = EventKind::ALL.iter().map(|k| k.table()).collect();
        assert_eq!(TABLES[..6], students[..]);
        assert_eq!(TABLES[6], &DASHBOARD_INTERACTIONS);
    }

    #[test]
    fn every_table_is_keyed_by_notebook_student_and_event_id_and_dated_by_a_column_of_its_own() {
        for table in TABLES {
            assert_eq!(
                table.columns[..2],
                ["notebook_id", "user_id"],
                "{}",
                table.name
            );
            assert_eq!(table.columns.last(), Some(&"event_id"), "{}", table.name);
            assert!(table.columns.contains(&table.time), "{}", table.name);
            assert!(table.columns.contains(&table.start), "{}", table.name);
        }
    }
}
