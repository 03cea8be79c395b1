//! `OVERRIDE` records: when a push replaces an update a student had postponed (`UPDATE_LATER`
//! on the same cell, another update id, not resolved since), the server records one `OVERRIDE`
//! per affected student and postponed update, exactly once, however many pushes race: the
//! check and the insert run in one transaction that holds the notebook's lock. The push itself
//! is recorded in the same transaction (one row per cell, with the push time), for the
//! pending-update statistics.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    enums::{PendingUpdateAction as Action, SenderType},
    notebook, pending_update_interaction as interaction, pushed_update,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    SqliteTransactionMode, TransactionOptions, TransactionTrait, sea_query::LockType,
};

use super::NotebookRef;
use crate::{broker::live::PushedUpdate, error::AppResult};

/// Students per `IN (…)` list.
const USERS_PER_QUERY: usize = 1000;

/// Records the push and the overrides it causes for `targets`; returns how many overrides were
/// written.
pub async fn record(
    db: &DatabaseConnection,
    notebook: &NotebookRef,
    update: &PushedUpdate,
    targets: &[String],
) -> AppResult<usize> {
    if update.cells.is_empty() {
        return Ok(0);
    }
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db.begin_with_options(options).await?;
    notebook::Entity::find_by_id(notebook.row_id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    // The old dashboard sends one update as one message per student, all with its id: the
    // push is recorded once, at its first message.
    let recorded: BTreeSet<String> = pushed_update::Entity::find()
        .select_only()
        .column(pushed_update::Column::CellId)
        .filter(pushed_update::Column::NotebookId.eq(notebook.row_id))
        .filter(pushed_update::Column::UpdateId.eq(update.update_id.as_str()))
        .into_tuple()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let pushes: Vec<pushed_update::ActiveModel> = update
        .cells
        .iter()
        .filter(|cell| !recorded.contains(&cell.cell_id))
        .map(|cell| pushed_update::ActiveModel {
            notebook_id: Set(notebook.row_id),
            update_id: Set(update.update_id.clone()),
            cell_id: Set(cell.cell_id.clone()),
            sender: Set(update.sender.clone()),
            pushed_at: Set(update.sent_at),
            ..Default::default()
        })
        .collect();
    if !pushes.is_empty() {
        pushed_update::Entity::insert_many(pushes)
            .exec_without_returning(&txn)
            .await?;
    }
    let mut history = Vec::new();
    for chunk in targets.chunks(USERS_PER_QUERY) {
        history.extend(
            interaction::Entity::find()
                .filter(interaction::Column::NotebookId.eq(notebook.row_id))
                .filter(interaction::Column::UserId.is_in(chunk.iter().cloned()))
                .order_by_asc(interaction::Column::Time)
                .order_by_asc(interaction::Column::Id)
                .all(&txn)
                .await?,
        );
    }
    let cells: BTreeSet<&str> = update.cells.iter().map(|c| c.cell_id.as_str()).collect();
    let postponed = still_postponed(&history, &cells, &update.update_id);
    let rows: Vec<interaction::ActiveModel> = postponed
        .iter()
        .map(|(user, cell, old_update)| interaction::ActiveModel {
            notebook_id: Set(notebook.row_id),
            user_id: Set(user.clone()),
            cell_id: Set(Some(cell.clone())),
            update_id: Set(Some(old_update.clone())),
            action: Set(Action::Override),
            sender: Set(Some(update.sender.clone())),
            sender_type: Set(Some(SenderType::Teacher)),
            time: Set(update.sent_at),
            ..Default::default()
        })
        .collect();
    let written = rows.len();
    if !rows.is_empty() {
        interaction::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(written)
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
