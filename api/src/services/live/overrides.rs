//! `OVERRIDE` records: when a push replaces an update a student had postponed (`UPDATE_LATER`
//! on the same cell, another update id, not resolved since), the server records one `OVERRIDE`
//! per affected student and postponed update, exactly once, however many pushes race: the
//! check and the insert run in one transaction that holds the notebook's lock. The push itself
//! is recorded in the same transaction (one row per cell, with the push time), for the
//! pending-update statistics. That transaction is the ingest store's, so the OVERRIDE rows are
//! stored as every other event is.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    enums::{PendingUpdateAction as Action, SenderType},
    notebook, pending_update_interaction as interaction, pushed_update,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::LockType,
};

use crate::{
    broker::live::PushedUpdate,
    error::AppResult,
    services::{
        identity::NotebookRef,
        ingest::{EventRows, EventSource, EventTransaction, PendingUpdateInteraction},
    },
};

/// Students per `IN (…)` list.
const USERS_PER_QUERY: usize = 1000;

/// Records the overrides a pushed update causes for `targets` (a teacher's push or a teammate's
/// share alike: either replaces the update a student had postponed on that cell), and a
/// teacher's push itself; returns how many overrides were written.
pub async fn record(
    db: &DatabaseConnection,
    notebook: &NotebookRef,
    update: &PushedUpdate,
    targets: &[String],
) -> AppResult<usize> {
    if update.cells.is_empty() {
        return Ok(0);
    }
    let by_teacher = update.sender_type == "teacher";
    let mut txn = EventTransaction::begin_immediate(db).await?;
    notebook::Entity::find_by_id(notebook.row_id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    // Only a teacher's push is one of the pending-update statistics' updates.
    if by_teacher {
        record_push(&txn, notebook.row_id, update).await?;
    }
    let history = history(&txn, notebook.row_id, targets).await?;
    let cells: BTreeSet<&str> = update.cells.iter().map(|c| c.cell_id.as_str()).collect();
    let mut rows = EventRows::default();
    for (user, cell, old_update) in still_postponed(&history, &cells, &update.update_id) {
        let row = PendingUpdateInteraction {
            source: EventSource::resolved(None),
            cell_id: Some(cell),
            update_id: Some(old_update),
            action: Action::Override,
            sender: Some(update.sender.clone()),
            sender_type: Some(match by_teacher {
                true => SenderType::Teacher,
                false => SenderType::Teammate,
            }),
            time: update.sent_at,
        };
        rows.push(notebook.row_id, user, row.into());
    }
    let written = rows.len();
    txn.insert(&rows).await?;
    txn.commit().await?;
    Ok(written)
}

/// Records the push's cells not recorded yet. The old dashboard sends one update as one
/// message per student, all with its id: the push is recorded once, at its first message.
async fn record_push(
    txn: &EventTransaction,
    notebook_id: i64,
    update: &PushedUpdate,
) -> AppResult<()> {
    let recorded: BTreeSet<String> = pushed_update::Entity::find()
        .select_only()
        .column(pushed_update::Column::CellId)
        .filter(pushed_update::Column::NotebookId.eq(notebook_id))
        .filter(pushed_update::Column::UpdateId.eq(update.update_id.as_str()))
        .into_tuple()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let pushes: Vec<pushed_update::ActiveModel> = update
        .cells
        .iter()
        .filter(|cell| !recorded.contains(&cell.cell_id))
        .map(|cell| pushed_update::ActiveModel {
            notebook_id: Set(notebook_id),
            update_id: Set(update.update_id.clone()),
            cell_id: Set(cell.cell_id.clone()),
            sender: Set(update.sender.clone()),
            pushed_at: Set(update.sent_at),
            ..Default::default()
        })
        .collect();
    if !pushes.is_empty() {
        pushed_update::Entity::insert_many(pushes)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The pending-update interactions of `targets` in the notebook, in time order.
async fn history(
    txn: &EventTransaction,
    notebook_id: i64,
    targets: &[String],
) -> AppResult<Vec<interaction::Model>> {
    let mut history = Vec::new();
    for chunk in targets.chunks(USERS_PER_QUERY) {
        history.extend(
            interaction::Entity::find()
                .filter(interaction::Column::NotebookId.eq(notebook_id))
                .filter(interaction::Column::UserId.is_in(chunk.iter().cloned()))
                .order_by_asc(interaction::Column::Time)
                .order_by_asc(interaction::Column::Id)
                .all(txn)
                .await?,
        );
    }
    Ok(history)
}

/// (student, cell, update id) of every `UPDATE_LATER` on one of `cells` for another update
/// than `new_update` that nothing resolved afterwards: no answer to that update (`UPDATE_NOW`,
/// `APPLY_SINGLE`, `REMOVE_SINGLE`, an earlier `OVERRIDE`) and no later `UPDATE_ALL` /
/// `DELETE_ALL`. `history` is in time order.
fn still_postponed(
    history: &[interaction::Model],
    cells: &BTreeSet<&str>,
    new_update: &str,
) -> Vec<(String, String, String)> {
    let mut pending: HashMap<(String, String), (String, DateTime<Utc>)> = HashMap::new();
    for row in history {
        let user = row.user_id.clone();
        match (row.action, &row.update_id, &row.cell_id) {
            (Action::UpdateLater, Some(update), Some(cell))
                if update != new_update && cells.contains(cell.as_str()) =>
            {
                pending.insert((user, update.clone()), (cell.clone(), row.time));
            }
            (Action::UpdateAll | Action::DeleteAll, _, _) => {
                pending.retain(|(pending_user, _), (_, since)| {
                    *pending_user != user || *since > row.time
                });
            }
            (
                Action::UpdateNow | Action::ApplySingle | Action::RemoveSingle | Action::Override,
                Some(update),
                _,
            ) => {
                pending.remove(&(user, update.clone()));
            }
            _ => {}
        }
    }
    let mut list: Vec<(String, String, String)> = pending
        .into_iter()
        .map(|((user, update), (cell, _))| (user, cell, update))
        .collect();
    list.sort();
    list
}
