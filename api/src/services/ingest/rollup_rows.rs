//! The rollup deltas of the rows a commit stored: code executions and cell focus events, read
//! from the columns the store bound. A row counts only if it was inserted: rows without an
//! event id always are, a keyed row only if its key came back from the insert (once, when the
//! same event came twice in one commit).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{
    super::{catalogue, rollups::Deltas},
    columns::{Table, Values},
    rows::EventKey,
};

/// Adds the rows of `table` that `inserted` says were stored (tables without rollups add
/// nothing).
pub fn add(deltas: &mut Deltas, table: &Table<'_>, inserted: &HashSet<EventKey>) {
    let name = table.table.name;
    let is_execution = name == catalogue::CODE_EXECUTIONS.name;
    if !is_execution && name != catalogue::CELL_FOCUS_EVENTS.name {
        return;
    }
    let Some(columns) = Columns::of(table) else {
        tracing::error!(table = name, "event columns without the rollups' columns");
        return;
    };
    let mut claimed = HashSet::new();
    for row in 0..table.rows {
        let notebook_id = columns.notebook[row];
        let user = columns.user[row];
        if let Some(event_id) = columns.event_id[row] {
            let key = EventKey {
                table: name,
                notebook_id: Some(notebook_id),
                user_id: user.to_owned(),
                event_id,
            };
            if !inserted.contains(&key) || !claimed.insert(key) {
                continue;
            }
        }
        let cell = columns.cell[row];
        let word = columns.word[row].as_deref();
        match is_execution {
            true => deltas.execution(
                (notebook_id, user),
                cell,
                columns.time[row],
                word == Some("ok"),
            ),
            false => deltas.focus(
                (notebook_id, user),
                cell,
                columns.time[row],
                (word == Some("ON"), columns.duration.and_then(|d| d[row])),
            ),
        }
    }
}

/// The columns a rollup reads, by their catalogue names.
struct Columns<'t, 'a> {
    notebook: &'t [i64],
    user: &'t [&'a str],
    cell: &'t [Option<&'a str>],
    time: &'t [DateTime<Utc>],
    /// Execution status or click type.
    word: &'t [Option<String>],
    duration: Option<&'t [Option<f64>]>,
    event_id: &'t [Option<uuid::Uuid>],
}

impl<'t, 'a> Columns<'t, 'a> {
    fn of(table: &'t Table<'a>) -> Option<Self> {
        let named = |name: &str| {
            let index = table
                .table
                .columns
                .iter()
                .position(|column| *column == name)?;
            table.columns.get(index)
        };
        let is_execution = table.table.name == catalogue::CODE_EXECUTIONS.name;
        let (word, duration) = match is_execution {
            true => ("status", None),
            false => ("click_type", Some("click_duration")),
        };
        Some(Self {
            notebook: match named("notebook_id")? {
                Values::Key(values) => values,
                _ => return None,
            },
            user: match named("user_id")? {
                Values::Text(values) => values,
                _ => return None,
            },
            cell: match named("orig_cell_id")? {
                Values::OptionalText(values) => values,
                _ => return None,
            },
            time: match named(table.table.time)? {
                Values::Time(values) => values,
                _ => return None,
            },
            word: match named(word)? {
                Values::Words(values) => values,
                _ => return None,
            },
            duration: match duration.map(named) {
                Some(Some(Values::OptionalFloat(values))) => Some(values),
                Some(_) => return None,
                None => None,
            },
            event_id: match named("event_id")? {
                Values::Uuid(values) => values,
                _ => return None,
            },
        })
    }
}
