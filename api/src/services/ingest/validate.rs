//! Validation of incoming events: bounded sizes, consistent times, an existing notebook (from
//! the cache, not a query per event), and pseudonymized student ids.

use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction,
    enums::PendingUpdateAction, markdown_execution, notebook_focus_event,
    pending_update_interaction,
};
use sea_orm::{ActiveValue::NotSet, Set};

use super::{DashboardInteractionInput, EventInput, EventKind, EventRows};
use crate::{
    AppState,
    error::{AppError, AppResult},
    validation::bounded,
};

/// Longest notebook, cell, update and sender id accepted.
const MAX_ID_LEN: usize = 128;
/// Longest raw student id (JupyterHub names, uuids, university numbers).
const MAX_USER_ID_LEN: usize = 256;
const MAX_MIMETYPE_LEN: usize = 128;
const MAX_SIGNAL_ORIGIN_LEN: usize = 90;

fn optional_bounded(field: &str, value: Option<&String>, max: usize) -> AppResult<()> {
    value.map_or(Ok(()), |value| bounded(field, value, max))
}

/// An empty original cell id means "no original": the old extension sends null when a
/// student's copy lacks the cell mapping, and those events are kept (it never retries).
fn orig_cell(value: &str) -> AppResult<()> {
    match value.is_empty() {
        true => Ok(()),
        false => bounded("origCellId", value, MAX_ID_LEN),
    }
}

fn duration(value: Option<f64>) -> AppResult<Option<f64>> {
    match value {
        Some(seconds) if !seconds.is_finite() || seconds < 0.0 => Err(AppError::bad_input(
            "clickDuration must be a non-negative number of seconds",
        )),
        other => Ok(other),
    }
}

/// Approximate stored size of an event; one event over the per-event limit is refused.
fn check_size(app: &AppState, event: &EventInput) -> AppResult<()> {
    let text = match &event.kind {
        EventKind::CodeExecution {
            cell_input,
            cell_output_model,
            ..
        } => cell_input.len() + cell_output_model.to_string().len(),
        EventKind::MarkdownExecution { cell_content, .. } => cell_content.len(),
        _ => 0,
    };
    let limit = app.config.limits.event_body_limit;
    if text > limit {
        return Err(AppError::PayloadTooLarge(format!(
            "one event may carry at most {limit} bytes of cell text and output"
        )));
    }
    Ok(())
}

pub async fn add_event(app: &AppState, rows: &mut EventRows, event: EventInput) -> AppResult<()> {
    bounded("notebookId", &event.notebook_id, MAX_ID_LEN)?;
    bounded("userId", &event.user_id, MAX_USER_ID_LEN)?;
    check_size(app, &event)?;
    let notebook_id = app
        .notebook_ids
        .resolve(&app.db, &event.notebook_id)
        .await?;
    let user_id = app.pseudonyms.pseudonymize(&event.user_id);
    let event_id = Set(event.event_id);
    match event.kind {
        EventKind::CodeExecution {
            cell_id,
            orig_cell_id,
            t_start,
            t_finish,
            status,
            cell_input,
            cell_output_model,
            cell_output_length,
            language_mimetype,
        } => {
            bounded("cellId", &cell_id, MAX_ID_LEN)?;
            orig_cell(&orig_cell_id)?;
            if language_mimetype.len() > MAX_MIMETYPE_LEN {
                return Err(AppError::bad_input("languageMimetype is too long"));
            }
            if t_finish < t_start {
                return Err(AppError::bad_input("tFinish is before tStart"));
            }
            if !cell_output_model.is_array() {
                return Err(AppError::bad_input(
                    "cellOutputModel must be the nbformat outputs array",
                ));
            }
            let cell_output_length = i32::try_from(cell_output_length)
                .ok()
                .filter(|length| *length >= 0)
                .ok_or_else(|| AppError::bad_input("cellOutputLength is out of range"))?;
            rows.code_executions.push(code_execution::ActiveModel {
                id: NotSet,
                event_id,
                notebook_id: Set(notebook_id),
                user_id: Set(user_id),
                cell_id: Set(cell_id),
                orig_cell_id: Set(orig_cell_id),
                t_start: Set(t_start),
                t_finish: Set(t_finish),
                status: Set(status),
                cell_input: Set(cell_input),
                cell_output_model: Set(cell_output_model),
                cell_output_length: Set(cell_output_length),
                language_mimetype: Set(language_mimetype),
            });
        }
        EventKind::MarkdownExecution {
            cell_id,
            orig_cell_id,
            time,
            cell_content,
        } => {
            bounded("cellId", &cell_id, MAX_ID_LEN)?;
            orig_cell(&orig_cell_id)?;
            rows.markdown_executions
                .push(markdown_execution::ActiveModel {
                    id: NotSet,
                    event_id,
                    notebook_id: Set(notebook_id),
                    user_id: Set(user_id),
                    cell_id: Set(cell_id),
                    orig_cell_id: Set(orig_cell_id),
                    time: Set(time),
                    cell_content: Set(cell_content),
                });
        }
        EventKind::CellFocus {
            cell_id,
            orig_cell_id,
            click_type,
            time,
            click_duration,
        } => {
            bounded("cellId", &cell_id, MAX_ID_LEN)?;
            orig_cell(&orig_cell_id)?;
            rows.cell_focus_events.push(cell_focus_event::ActiveModel {
                id: NotSet,
                event_id,
                notebook_id: Set(notebook_id),
                user_id: Set(user_id),
                cell_id: Set(cell_id),
                orig_cell_id: Set(orig_cell_id),
                click_type: Set(click_type),
                time: Set(time),
                click_duration: Set(duration(click_duration)?),
            });
        }
        EventKind::NotebookFocus {
            click_type,
            time,
            click_duration,
        } => {
            rows.notebook_focus_events
                .push(notebook_focus_event::ActiveModel {
                    id: NotSet,
                    event_id,
                    notebook_id: Set(notebook_id),
                    user_id: Set(user_id),
                    click_type: Set(click_type),
                    time: Set(time),
                    click_duration: Set(duration(click_duration)?),
                });
        }
        EventKind::CellAlteration {
            cell_id,
            alteration_type,
            time,
        } => {
            bounded("cellId", &cell_id, MAX_ID_LEN)?;
            rows.cell_alterations.push(cell_alteration::ActiveModel {
                id: NotSet,
                event_id,
                notebook_id: Set(notebook_id),
                user_id: Set(user_id),
                cell_id: Set(cell_id),
                alteration_type: Set(alteration_type),
                time: Set(time),
            });
        }
        EventKind::PendingUpdateInteraction {
            cell_id,
            update_id,
            action,
            sender,
            sender_type,
            time,
        } => {
            optional_bounded("cellId", cell_id.as_ref(), MAX_ID_LEN)?;
            optional_bounded("updateId", update_id.as_ref(), MAX_ID_LEN)?;
            optional_bounded("sender", sender.as_ref(), MAX_ID_LEN)?;
            if action == PendingUpdateAction::Override {
                return Err(AppError::bad_input(
                    "OVERRIDE is recorded by the server, not sent by clients",
                ));
            }
            rows.pending_update_interactions
                .push(pending_update_interaction::ActiveModel {
                    id: NotSet,
                    event_id,
                    notebook_id: Set(notebook_id),
                    user_id: Set(user_id),
                    cell_id: Set(cell_id),
                    update_id: Set(update_id),
                    action: Set(action),
                    sender: Set(sender),
                    sender_type: Set(sender_type),
                    time: Set(time),
                });
        }
    }
    Ok(())
}

pub async fn add_dashboard_interaction(
    app: &AppState,
    rows: &mut EventRows,
    user_pseudonym: String,
    input: DashboardInteractionInput,
) -> AppResult<()> {
    bounded("signalOrigin", &input.signal_origin, MAX_SIGNAL_ORIGIN_LEN)?;
    let notebook_id = match &input.notebook_id {
        Some(public_id) => {
            bounded("notebookId", public_id, MAX_ID_LEN)?;
            Some(app.notebook_ids.resolve(&app.db, public_id).await?)
        }
        None => None,
    };
    rows.dashboard_interactions
        .push(dashboard_interaction::ActiveModel {
            id: NotSet,
            event_id: Set(input.event_id),
            user_id: Set(user_pseudonym),
            notebook_id: Set(notebook_id),
            click_type: Set(input.click_type),
            signal_origin: Set(input.signal_origin),
            time: Set(input.time),
        });
    Ok(())
}
