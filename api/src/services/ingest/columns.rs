//! Each event table as columns: the one place that says which field goes to which column (the
//! columns' names and order are the catalogue's). Values borrow from the queued events, so
//! nothing is copied before it is bound.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, sqlx::types::Json};
use uuid::Uuid;

use super::{
    super::catalogue::{self, EventTable},
    events::{
        CellAlteration, CellFocus, CodeExecution, MarkdownExecution, NotebookFocus,
        PendingUpdateInteraction, Sourced,
    },
    rows::{DashboardInteractionRow, EventRows, InTable, Stored},
};

/// One column's values, typed as the database stores them.
pub enum Values<'a> {
    Uuid(Vec<Option<Uuid>>),
    Key(Vec<i64>),
    OptionalKey(Vec<Option<i64>>),
    Int(Vec<i32>),
    Text(Vec<&'a str>),
    OptionalText(Vec<Option<&'a str>>),
    Time(Vec<DateTime<Utc>>),
    OptionalFloat(Vec<Option<f64>>),
    Json(Vec<Json<&'a serde_json::Value>>),
    /// Enumeration words (few and short: owned).
    Words(Vec<Option<String>>),
}

impl Values<'_> {
    /// The PostgreSQL array type the column is sent as.
    pub fn pg_array_type(&self) -> &'static str {
        match self {
            Self::Uuid(_) => "uuid[]",
            Self::Key(_) | Self::OptionalKey(_) => "int8[]",
            Self::Int(_) => "int4[]",
            Self::Text(_) | Self::OptionalText(_) | Self::Words(_) => "text[]",
            Self::Time(_) => "timestamptz[]",
            Self::OptionalFloat(_) => "float8[]",
            Self::Json(_) => "jsonb[]",
        }
    }
}

/// A table's rows as columns, in the order of the catalogue's `table.columns`.
pub struct Table<'a> {
    pub table: &'static EventTable,
    pub rows: usize,
    pub columns: Vec<Values<'a>>,
    /// Whether any row carries a client event id (only then can a row be a duplicate).
    pub keyed: bool,
}

/// How one kind of student event maps onto its table.
pub trait EventColumns: Sourced + InTable + Sized + 'static {
    /// The columns between the student and the event id, in the catalogue's order.
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>>;

    fn table<'a>(rows: &[&'a Stored<Self>]) -> Table<'a> {
        let event_ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.event.source().event_id).collect();
        let mut columns = vec![
            Values::Key(column(rows, |r| r.notebook_id)),
            Values::Text(column(rows, |r| r.user_id.as_str())),
        ];
        columns.extend(Self::own_columns(rows));
        let keyed = event_ids.iter().any(Option::is_some);
        columns.push(Values::Uuid(event_ids));
        debug_assert_eq!(columns.len(), Self::TABLE.columns.len());
        Table {
            table: Self::TABLE,
            rows: rows.len(),
            columns,
            keyed,
        }
    }
}

fn column<'a, R, T>(rows: &[&'a R], value: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(|row| value(row)).collect()
}

fn text<'a, E>(rows: &[&'a Stored<E>], value: impl Fn(&'a E) -> &'a str) -> Values<'a> {
    Values::Text(column(rows, |r| value(&r.event)))
}

fn optional_text<'a, E>(
    rows: &[&'a Stored<E>],
    value: impl Fn(&'a E) -> Option<&'a str>,
) -> Values<'a> {
    Values::OptionalText(column(rows, |r| value(&r.event)))
}

fn times<'a, E>(rows: &[&'a Stored<E>], value: impl Fn(&E) -> DateTime<Utc>) -> Values<'a> {
    Values::Time(column(rows, |r| value(&r.event)))
}

/// Enumerations are stored as their words (`ON`, `ok`, …).
fn words<'a, E, A: ActiveEnum<Value = String>>(
    rows: &[&'a Stored<E>],
    value: impl Fn(&E) -> A,
) -> Values<'a> {
    Values::Words(column(rows, |r| Some(value(&r.event).to_value())))
}

fn optional_words<'a, E, A: ActiveEnum<Value = String>>(
    rows: &[&'a Stored<E>],
    value: impl Fn(&E) -> Option<A>,
) -> Values<'a> {
    Values::Words(column(rows, |r| value(&r.event).map(|v| v.to_value())))
}

fn durations<'a, E>(rows: &[&'a Stored<E>], value: impl Fn(&E) -> Option<f64>) -> Values<'a> {
    Values::OptionalFloat(column(rows, |r| value(&r.event)))
}

impl EventColumns for CodeExecution {
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>> {
        vec![
            text(rows, |e| e.cell_id.as_str()),
            optional_text(rows, |e| e.orig_cell_id.as_deref()),
            times(rows, |e| e.t_start),
            times(rows, |e| e.t_finish),
            words(rows, |e| e.status),
            text(rows, |e| e.cell_input.as_str()),
            Values::Json(column(rows, |r| Json(&r.event.cell_output_model.0))),
            // Validated to fit before the row was queued.
            Values::Int(column(rows, |r| {
                r.event.stored_output_length().unwrap_or(0)
            })),
            text(rows, |e| e.language_mimetype.as_str()),
        ]
    }
}

impl EventColumns for MarkdownExecution {
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>> {
        vec![
            text(rows, |e| e.cell_id.as_str()),
            optional_text(rows, |e| e.orig_cell_id.as_deref()),
            times(rows, |e| e.time),
            text(rows, |e| e.cell_content.as_str()),
        ]
    }
}

impl EventColumns for CellFocus {
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>> {
        vec![
            text(rows, |e| e.cell_id.as_str()),
            optional_text(rows, |e| e.orig_cell_id.as_deref()),
            words(rows, |e| e.click_type),
            times(rows, |e| e.time),
            durations(rows, |e| e.click_duration),
        ]
    }
}

impl EventColumns for NotebookFocus {
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>> {
        vec![
            words(rows, |e| e.click_type),
            times(rows, |e| e.time),
            durations(rows, |e| e.click_duration),
        ]
    }
}

impl EventColumns for CellAlteration {
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>> {
        vec![
            text(rows, |e| e.cell_id.as_str()),
            words(rows, |e| e.alteration_type),
            times(rows, |e| e.time),
        ]
    }
}

impl EventColumns for PendingUpdateInteraction {
    fn own_columns<'a>(rows: &[&'a Stored<Self>]) -> Vec<Values<'a>> {
        vec![
            optional_text(rows, |e| e.cell_id.as_deref()),
            optional_text(rows, |e| e.update_id.as_deref()),
            words(rows, |e| e.action),
            optional_text(rows, |e| e.sender.as_deref()),
            optional_words(rows, |e| e.sender_type),
            times(rows, |e| e.time),
        ]
    }
}

/// Dashboard interactions: the viewer's pseudonym, and a notebook only if one was named.
pub fn dashboard_table<'a>(rows: &[&'a DashboardInteractionRow]) -> Table<'a> {
    let event_ids: Vec<Option<Uuid>> = column(rows, |r| r.event_id);
    let keyed = event_ids.iter().any(Option::is_some);
    let columns = vec![
        Values::OptionalKey(column(rows, |r| r.notebook_id)),
        Values::Text(column(rows, |r| r.user_id.as_str())),
        Values::Words(column(rows, |r| Some(r.click_type.to_value()))),
        Values::Text(column(rows, |r| r.signal_origin.as_str())),
        Values::Time(column(rows, |r| r.time)),
        Values::Uuid(event_ids),
    ];
    Table {
        table: &catalogue::DASHBOARD_INTERACTIONS,
        rows: rows.len(),
        columns,
        keyed,
    }
}

/// Every table of `batches` (the requests of one commit) as columns, borrowing the rows.
pub fn tables<'a>(batches: &[&'a EventRows]) -> Vec<Table<'a>> {
    fn gather<'a, E: EventColumns>(
        batches: &[&'a EventRows],
        rows: impl Fn(&'a EventRows) -> &'a [Stored<E>],
    ) -> Table<'a> {
        let all: Vec<&Stored<E>> = batches.iter().flat_map(|batch| rows(batch)).collect();
        E::table(&all)
    }
    let dashboard: Vec<&DashboardInteractionRow> = batches
        .iter()
        .flat_map(|batch| &batch.dashboard_interactions)
        .collect();
    [
        gather(batches, |b| &b.code_executions),
        gather(batches, |b| &b.markdown_executions),
        gather(batches, |b| &b.cell_focus_events),
        gather(batches, |b| &b.notebook_focus_events),
        gather(batches, |b| &b.cell_alterations),
        gather(batches, |b| &b.pending_update_interactions),
        dashboard_table(&dashboard),
    ]
    .into_iter()
    .filter(|table| table.rows > 0)
    .collect()
}
