//! Old event rows into our rows: deterministic event ids, UTC times, enum names, pickled
//! outputs decoded to JSON. A value our schema cannot hold is replaced by the nearest one we
//! can and counted as a warning; a row that cannot be placed at all (its notebook is unknown)
//! is skipped, never the whole import.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use entity::enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, SenderType};
use sea_orm::{ActiveEnum, QueryResult, TryGetable};
use uuid::Uuid;

use crate::services::ingest::{
    CellAlteration, CellFocus, CodeExecution, DashboardInteractionRow, Event, EventRows,
    EventSource, MarkdownExecution, NotebookFocus, PendingUpdateInteraction,
};

/// Namespace of the event ids given to imported rows: uuid v5 over `"<old table>:<old id>"`.
pub const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1e_9a2b_4f7d_4e11_9c3a_1b7e_5d20_8f64);

/// The event id of old row `id` of old table `table`.
pub fn event_id(table: &str, id: i64) -> Uuid {
    Uuid::new_v5(&EVENT_ID_NAMESPACE, format!("{table}:{id}").as_bytes())
}

/// Row id standing for a row a dry run would have created.
pub const NOT_YET: i64 = -1;

/// What converting needs: our row ids of what was imported before, and the warnings so far.
#[derive(Debug, Default)]
pub struct Context {
    pub dry_run: bool,
    /// Old notebook id (our public id) → our row id.
    pub notebooks: HashMap<String, i64>,
    /// Dashboard user pseudonym → our row id.
    pub users: HashMap<String, i64>,
    /// (our notebook row id, group name) → our group row id.
    pub groups: HashMap<(i64, String), i64>,
    pub warnings: BTreeMap<&'static str, u64>,
}

impl Context {
    pub fn warn(&mut self, what: &'static str) {
        *self.warnings.entry(what).or_default() += 1;
    }

    /// Our row id of old notebook `public_id`; `None` (and a warning `what`) when it was not
    /// imported. In a dry run, a notebook the run would have imported is [`NOT_YET`].
    pub fn notebook(&mut self, public_id: &str, what: &'static str) -> Option<i64> {
        let found = self.notebooks.get(public_id).copied();
        if found.is_none() {
            self.warn(what);
        }
        found
    }
}

/// The key a stored row is found again by.
#[derive(Debug, Clone)]
pub struct Key {
    pub notebook_id: Option<i64>,
    pub user_id: String,
    pub event_id: Uuid,
}

/// An old event as ingest stores it: a student's, or a dashboard user's interaction.
pub enum Row {
    Student {
        notebook_id: i64,
        user_id: String,
        event: Event,
    },
    Dashboard(DashboardInteractionRow),
}

impl Row {
    /// Adds the row to `rows`, through the one entry every stored event takes.
    pub fn push_into(self, rows: &mut EventRows) {
        match self {
            Self::Student {
                notebook_id,
                user_id,
                event,
            } => rows.push(notebook_id, user_id, event),
            Self::Dashboard(row) => rows.dashboard_interactions.push(row),
        }
    }
}

pub struct Converted {
    pub row: Row,
    pub key: Key,
}

/// A student's event of notebook `notebook_id` by `user_id`, found again by `key`.
fn student(notebook_id: i64, user_id: String, event: impl Into<Event>, key: Key) -> Converted {
    let event = event.into();
    let row = Row::Student {
        notebook_id,
        user_id,
        event,
    };
    Converted { row, key }
}

pub fn get<T: TryGetable>(row: &QueryResult, column: &str) -> anyhow::Result<T> {
    row.try_get("", column)
        .map_err(|error| anyhow::anyhow!("old column {column}: {error}"))
}

pub fn time(row: &QueryResult, column: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(get::<NaiveDateTime>(row, column)?.and_utc())
}

/// An enum column read as the Python enum's NAME, which is also our stored word.
fn word<E: ActiveEnum<Value = String>>(
    ctx: &mut Context,
    value: String,
    what: &'static str,
) -> Option<E> {
    let parsed = E::try_from_value(&value).ok();
    if parsed.is_none() {
        ctx.warn(what);
    }
    parsed
}

/// Our row id of the row's notebook; `None` (and a warning) when it is not imported.
fn notebook(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<(i64, String)>> {
    let public_id: String = get(row, "notebook_id")?;
    let what = "events of a notebook missing from the old Notebook table (skipped)";
    match ctx.notebook(&public_id, what) {
        Some(id) => Ok(Some((id, get(row, "user_id")?))),
        None => Ok(None),
    }
}

fn key(table: &str, row: &QueryResult, notebook_id: i64, user_id: &str) -> anyhow::Result<Key> {
    Ok(Key {
        notebook_id: Some(notebook_id),
        user_id: user_id.to_owned(),
        event_id: event_id(table, get(row, "id")?),
    })
}

/// The pickled outputs as JSON; an empty list (and a warning) when absent or undecodable.
fn outputs(ctx: &mut Context, pickle: Option<Vec<u8>>) -> serde_json::Value {
    let Some(bytes) = pickle else {
        return serde_json::Value::Array(Vec::new());
    };
    let options = serde_pickle::DeOptions::new().replace_unresolved_globals();
    match serde_pickle::from_slice::<serde_json::Value>(&bytes, options) {
        Ok(value) => value,
        Err(_) => {
            ctx.warn("undecodable cell_output_model pickles (stored as [])");
            serde_json::Value::Array(Vec::new())
        }
    }
}

fn status(ctx: &mut Context, status: Option<String>) -> ExecutionStatus {
    match status.as_deref() {
        Some("ok") => ExecutionStatus::Ok,
        Some("error") => ExecutionStatus::Error,
        Some("abort") => {
            ctx.warn("aborted executions (stored with status error)");
            ExecutionStatus::Error
        }
        _ => {
            ctx.warn("executions without a known status (stored with status error)");
            ExecutionStatus::Error
        }
    }
}

/// The old schema stored a missing cell mapping as a string (`""`, `"null"`, `"undefined"`):
/// stored as null by ingest's rule when the row is pushed, as for any event.
fn orig_cell(row: &QueryResult) -> anyhow::Result<Option<String>> {
    Ok(Some(get(row, "orig_cell_id")?))
}

pub fn code_execution(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Converted>> {
    let Some((notebook_id, user_id)) = notebook(ctx, row)? else {
        return Ok(None);
    };
    let key = key("CellExecution", row, notebook_id, &user_id)?;
    let t_start = time(row, "t_start")?;
    let t_finish = match get::<Option<NaiveDateTime>>(row, "t_finish")? {
        Some(t_finish) => t_finish.and_utc(),
        None => {
            ctx.warn("executions without t_finish (t_start used)");
            t_start
        }
    };
    let event = CodeExecution {
        source: EventSource::resolved(Some(key.event_id)),
        cell_id: get(row, "cell_id")?,
        orig_cell_id: orig_cell(row)?,
        t_start,
        t_finish,
        status: status(ctx, get(row, "status")?),
        cell_input: get(row, "cell_input")?,
        cell_output_model: outputs(ctx, get(row, "cell_output_model")?).into(),
        cell_output_length: get::<Option<i32>>(row, "cell_output_length")?.map_or(0, i64::from),
        language_mimetype: get::<Option<String>>(row, "language_mimetype")?.unwrap_or_default(),
    };
    Ok(Some(student(notebook_id, user_id, event, key)))
}

pub fn markdown_execution(
    ctx: &mut Context,
    row: &QueryResult,
) -> anyhow::Result<Option<Converted>> {
    let Some((notebook_id, user_id)) = notebook(ctx, row)? else {
        return Ok(None);
    };
    let key = key("CellExecution", row, notebook_id, &user_id)?;
    let event = MarkdownExecution {
        source: EventSource::resolved(Some(key.event_id)),
        cell_id: get(row, "cell_id")?,
        orig_cell_id: orig_cell(row)?,
        time: time(row, "t_start")?,
        cell_content: get(row, "cell_input")?,
    };
    Ok(Some(student(notebook_id, user_id, event, key)))
}

pub fn cell_click(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Converted>> {
    let Some((notebook_id, user_id)) = notebook(ctx, row)? else {
        return Ok(None);
    };
    let Some(click_type) = word::<ClickType>(ctx, get(row, "click_type")?, "unknown click types")
    else {
        return Ok(None);
    };
    let key = key("ClickEvent", row, notebook_id, &user_id)?;
    let event = CellFocus {
        source: EventSource::resolved(Some(key.event_id)),
        cell_id: get(row, "cell_id")?,
        orig_cell_id: orig_cell(row)?,
        click_type,
        time: time(row, "time")?,
        click_duration: get(row, "click_duration")?,
    };
    Ok(Some(student(notebook_id, user_id, event, key)))
}

pub fn notebook_click(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Converted>> {
    let Some((notebook_id, user_id)) = notebook(ctx, row)? else {
        return Ok(None);
    };
    let Some(click_type) = word::<ClickType>(ctx, get(row, "click_type")?, "unknown click types")
    else {
        return Ok(None);
    };
    let key = key("ClickEvent", row, notebook_id, &user_id)?;
    let event = NotebookFocus {
        source: EventSource::resolved(Some(key.event_id)),
        click_type,
        time: time(row, "time")?,
        click_duration: get(row, "click_duration")?,
    };
    Ok(Some(student(notebook_id, user_id, event, key)))
}

pub fn cell_alteration(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Converted>> {
    let Some((notebook_id, user_id)) = notebook(ctx, row)? else {
        return Ok(None);
    };
    let alteration = get(row, "alteration_type")?;
    let Some(alteration_type) = word::<AlterationType>(ctx, alteration, "unknown alteration types")
    else {
        return Ok(None);
    };
    let key = key("CellAlteration", row, notebook_id, &user_id)?;
    let event = CellAlteration {
        source: EventSource::resolved(Some(key.event_id)),
        cell_id: get(row, "cell_id")?,
        alteration_type,
        time: time(row, "time")?,
    };
    Ok(Some(student(notebook_id, user_id, event, key)))
}

pub fn pending_update(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Converted>> {
    let Some((notebook_id, user_id)) = notebook(ctx, row)? else {
        return Ok(None);
    };
    let action = get(row, "action")?;
    let Some(action) = word::<PendingUpdateAction>(ctx, action, "unknown update actions") else {
        return Ok(None);
    };
    let sender_type = match get::<Option<String>>(row, "sender_type")? {
        Some(sender_type) => word::<SenderType>(ctx, sender_type, "unknown sender types (null)"),
        None => None,
    };
    let key = key("PendingUpdateInteraction", row, notebook_id, &user_id)?;
    let event = PendingUpdateInteraction {
        source: EventSource::resolved(Some(key.event_id)),
        cell_id: get(row, "cell_id")?,
        update_id: get(row, "update_id")?,
        action,
        sender: get(row, "sender")?,
        sender_type,
        time: time(row, "timestamp")?,
    };
    Ok(Some(student(notebook_id, user_id, event, key)))
}

pub fn dashboard_event(ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Converted>> {
    // The student dashboard recorded no user; our interactions are a dashboard user's.
    let Some(user_id) = get::<Option<String>>(row, "dashboard_user_id")? else {
        ctx.warn("student-dashboard events without a user (skipped)");
        return Ok(None);
    };
    let notebook_id = match get::<Option<String>>(row, "notebook_id")? {
        Some(public_id) => ctx.notebook(
            &public_id,
            "dashboard events of an unknown notebook (stored without it)",
        ),
        None => None,
    };
    let click = get(row, "click_type")?;
    let Some(click_type) = word::<ClickType>(ctx, click, "unknown click types") else {
        return Ok(None);
    };
    let key = Key {
        notebook_id,
        user_id: user_id.clone(),
        event_id: event_id("DashboardEvent", get(row, "id")?),
    };
    let row = Row::Dashboard(DashboardInteractionRow {
        notebook_id,
        user_id,
        click_type,
        signal_origin: get(row, "signal_origin")?,
        time: time(row, "timestamp")?,
        event_id: Some(key.event_id),
    });
    Ok(Some(Converted { row, key }))
}
