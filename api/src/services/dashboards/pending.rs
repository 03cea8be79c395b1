//! Pending-update statistics: per cell, the teacher's latest pushed update, how many students
//! took it now or postponed it, and what those who postponed did afterwards.
//!
//! A push is read from `pushed_updates` (recorded by the live push, with its own time). An
//! update id answered in the interactions but never recorded there (imported data, pushes from
//! before the table existed) is dated by its earliest interaction in the window, of any
//! student: the push is the teacher's act, whatever the student filter.
//!
//! The database dates the answered updates (each one's first answer); the latest update per cell
//! follows from those and the recorded pushes. Only the scope's students' interactions that can
//! count for those updates (naming one, or notebook-wide) are then read, each student's in time
//! order, and the statistics built from them in one pass each. As SQL joins, the later actions
//! of each postponing student matched every answer of that student against every postponement;
//! and reading every interaction of a whole course of 15 M events (30 000) took 0.1 s, most of
//! it decoding rows.

mod first_answers;
mod interactions;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::enums::PendingUpdateAction;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{Scope, rolled};
use crate::error::AppResult;
use first_answers::FirstAnswer;
use interactions::{Push, StudentInteractions, Target};

#[derive(Debug, Clone, PartialEq)]
pub struct PendingUpdate {
    pub cell_id: String,
    pub update_id: String,
    pub pushed_at: DateTime<Utc>,
    pub update_now_count: i64,
    pub update_later_count: i64,
    /// By student pseudonym.
    pub postponed: Vec<Postponement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Postponement {
    pub user_id: String,
    /// The student's first `UPDATE_LATER` of this update.
    pub postponed_at: DateTime<Utc>,
    /// By time, then arrival.
    pub later_actions: Vec<LaterAction>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaterAction {
    pub action: PendingUpdateAction,
    pub time: DateTime<Utc>,
}

/// The statement behind [`pending_updates`] that dates the answered updates (by their first
/// answers), for `EXPLAIN` in the benchmark.
pub fn pending_updates_statement(db: &impl ConnectionTrait, scope: &Scope) -> sea_orm::Statement {
    first_answers::first_answers_statement(db.get_database_backend(), scope)
}

/// Per cell (by id), its latest teacher update in the scope's window.
pub async fn pending_updates(
    db: &DatabaseConnection,
    scope: &Scope,
) -> AppResult<Vec<PendingUpdate>> {
    // One snapshot: the pushes and the answers that date and count them agree.
    let txn = rolled::snapshot(db).await?;
    let pushes = interactions::pushes(&txn, scope).await?;
    let first_answers = first_answers::first_answers(&txn, scope).await?;
    let latest = latest_pushes(&pushes, &first_answers);
    // The cells in id order: an interaction's target is a place there.
    let places: Vec<(&str, &str)> = latest
        .iter()
        .map(|(cell_id, (update_id, _))| (cell_id.as_str(), update_id.as_str()))
        .collect();
    let students = interactions::for_latest(&txn, scope, &places).await?;
    txn.commit().await?;
    let mut cells: Vec<PendingUpdate> = latest
        .iter()
        .map(|(cell_id, (update_id, pushed_at))| PendingUpdate {
            cell_id: cell_id.clone(),
            update_id: update_id.clone(),
            pushed_at: *pushed_at,
            update_now_count: 0,
            update_later_count: 0,
            postponed: Vec::new(),
        })
        .collect();
    for student in students {
        tally(&mut cells, student);
    }
    for cell in &mut cells {
        // By pseudonym, bytewise.
        cell.postponed
            .sort_unstable_by(|a, b| a.user_id.cmp(&b.user_id));
    }
    Ok(cells)
}

/// Per cell, its latest update `(update id, pushed at)` in the window: recorded pushes (from
/// an id's first push in the window), and the ids answered but never recorded, dated by their
/// first answer of any student (teammates' shares and the server's `OVERRIDE` records left
/// out: [`FirstAnswer`]). The latest is the one pushed last, ties to the greater update id
/// (bytewise).
fn latest_pushes(
    pushes: &[Push],
    first_answers: &[FirstAnswer],
) -> BTreeMap<String, (String, DateTime<Utc>)> {
    let recorded: HashSet<(&str, &str)> = pushes
        .iter()
        .map(|push| (push.cell_id.as_str(), push.update_id.as_str()))
        .collect();
    let pushed_in_window = pushes.iter().filter_map(|push| {
        let key = (push.cell_id.as_str(), push.update_id.as_str());
        push.first_in_window.map(|time| (key, time))
    });
    let answered_unrecorded = first_answers.iter().filter_map(|answer| {
        let key = (answer.cell_id.as_str(), answer.update_id.as_str());
        (!recorded.contains(&key)).then_some((key, answer.time))
    });
    let mut first: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
    for (key, time) in pushed_in_window.chain(answered_unrecorded) {
        first
            .entry(key)
            .and_modify(|earliest| *earliest = (*earliest).min(time))
            .or_insert(time);
    }
    let mut latest: BTreeMap<String, (String, DateTime<Utc>)> = BTreeMap::new();
    for ((cell_id, update_id), pushed_at) in first {
        let current = latest.get(cell_id);
        // `String`'s order is bytewise, as the old statement's `COLLATE "C"`.
        if current.is_none_or(|(id, at)| (pushed_at, update_id) > (*at, id.as_str())) {
            latest.insert(cell_id.to_owned(), (update_id.to_owned(), pushed_at));
        }
    }
    latest
}

/// Adds one student to the cells' statistics: to each cell's count of students who answered
/// its latest update `UPDATE_NOW`, and of those who answered it `UPDATE_LATER`; and for each
/// of the latter, a postponement from their first `UPDATE_LATER` of it, with their actions
/// strictly after that on the update or notebook-wide, in time order. The student's targets
/// are places of `cells`.
fn tally(cells: &mut [PendingUpdate], student: StudentInteractions) {
    let mut took_now = vec![false; cells.len()];
    // Per place, the student's first `UPDATE_LATER` of its update (interactions are in time
    // order, so the first seen).
    let mut postponed_at: Vec<Option<DateTime<Utc>>> = vec![None; cells.len()];
    for interaction in &student.interactions {
        let Target::Latest(place) = interaction.target else {
            continue;
        };
        match interaction.action {
            PendingUpdateAction::UpdateNow => took_now[place] = true,
            PendingUpdateAction::UpdateLater => {
                postponed_at[place].get_or_insert(interaction.time);
            }
            _ => {}
        }
    }
    for (place, cell) in cells.iter_mut().enumerate() {
        cell.update_now_count += i64::from(took_now[place]);
        let Some(postponed_at) = postponed_at[place] else {
            continue;
        };
        cell.update_later_count += 1;
        let later_actions = student
            .interactions
            .iter()
            .filter(|interaction| {
                let on_it = interaction.target == Target::NotebookWide
                    || interaction.target == Target::Latest(place);
                on_it && interaction.time > postponed_at
            })
            .map(|interaction| LaterAction {
                action: interaction.action,
                time: interaction.time,
            })
            .collect();
        cell.postponed.push(Postponement {
            user_id: student.user_id.clone(),
            postponed_at,
            later_actions,
        });
    }
}
