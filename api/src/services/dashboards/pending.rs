//! Pending-update statistics: per cell, the teacher's latest pushed update, how many students
//! took it now or postponed it, and what those who postponed did afterwards.
//!
//! A push is read from `pushed_updates` (recorded by the live push, with its own time). An
//! update id answered in the interactions but never recorded there (imported data, pushes from
//! before the table existed) is dated by its earliest interaction in the window, of any
//! student: the push is the teacher's act, whatever the student filter.
//!
//! The database dates the answered updates (each one's first answer); the latest update per cell
//! follows from those and the recorded pushes. Only the interactions that can count for those
//! updates (naming one, or notebook-wide) are then read, in time order, and the statistics
//! built from them in one pass each. As SQL joins, the later actions of each postponing student
//! matched every answer of that student against every postponement; and reading every
//! interaction of a whole course of 15 M events (30 000) took 0.1 s, most of it decoding rows.

mod interactions;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::enums::PendingUpdateAction;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection};

use super::{Scope, rolled};
use crate::error::{AppError, AppResult};
use interactions::{FirstAnswer, Interaction, Push};

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

/// The statement behind [`pending_updates`] that reads every interaction of the window (to
/// date the answered updates), for `EXPLAIN` in the benchmark.
pub fn pending_updates_statement(db: &impl ConnectionTrait, scope: &Scope) -> sea_orm::Statement {
    interactions::first_answers_statement(db.get_database_backend(), scope)
}

/// Per cell (by id), its latest teacher update in the scope's window.
pub async fn pending_updates(
    db: &DatabaseConnection,
    scope: &Scope,
) -> AppResult<Vec<PendingUpdate>> {
    // One snapshot: the pushes and the answers that date and count them agree.
    let txn = rolled::snapshot(db).await?;
    let pushes = interactions::pushes(&txn, scope).await?;
    let first_answers = interactions::first_answers(&txn, scope).await?;
    let latest = latest_pushes(&pushes, &first_answers);
    let update_ids: Vec<String> = latest.values().map(|(id, _)| id.clone()).collect();
    let interactions = interactions::for_updates(&txn, scope, &update_ids).await?;
    txn.commit().await?;
    let mut cells: BTreeMap<String, PendingUpdate> = latest
        .iter()
        .map(|(cell_id, (update_id, pushed_at))| {
            let update = PendingUpdate {
                cell_id: cell_id.clone(),
                update_id: update_id.clone(),
                pushed_at: *pushed_at,
                update_now_count: 0,
                update_later_count: 0,
                postponed: Vec::new(),
            };
            (cell_id.clone(), update)
        })
        .collect();
    let answers: Vec<&Interaction> = interactions.iter().filter(|a| a.in_scope).collect();
    count_answers(&mut cells, &latest, &answers);
    let postponements = postponements(&latest, &answers)?;
    for ((cell_id, _), postponement) in postponements {
        if let Some(cell) = cells.get_mut(&cell_id) {
            cell.postponed.push(postponement);
        }
    }
    Ok(cells.into_values().collect())
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

/// Each cell's count of distinct filtered students who answered its latest update with
/// `UPDATE_NOW`, and with `UPDATE_LATER`.
fn count_answers(
    cells: &mut BTreeMap<String, PendingUpdate>,
    latest: &BTreeMap<String, (String, DateTime<Utc>)>,
    answers: &[&Interaction],
) {
    type Students<'a> = HashSet<&'a str>;
    let mut students: HashMap<&str, (Students, Students)> = HashMap::new();
    for answer in answers {
        let Some(cell_id) = answer_to_latest(answer, latest) else {
            continue;
        };
        let (now, later) = students.entry(cell_id).or_default();
        match answer.action.as_str() {
            UPDATE_NOW => now.insert(&answer.user_id),
            UPDATE_LATER => later.insert(&answer.user_id),
            _ => false,
        };
    }
    let count = |set: &Students| i64::try_from(set.len()).unwrap_or(i64::MAX);
    for (cell_id, cell) in cells.iter_mut() {
        if let Some((now, later)) = students.get(cell_id.as_str()) {
            cell.update_now_count = count(now);
            cell.update_later_count = count(later);
        }
    }
}

const UPDATE_NOW: &str = "UPDATE_NOW";
const UPDATE_LATER: &str = "UPDATE_LATER";

/// The cell whose latest update `answer` answers, if it answers one.
fn answer_to_latest<'a>(
    answer: &'a Interaction,
    latest: &BTreeMap<String, (String, DateTime<Utc>)>,
) -> Option<&'a str> {
    let (cell_id, update_id) = (answer.cell_id.as_deref()?, answer.update_id.as_deref()?);
    let (latest_id, _) = latest.get(cell_id)?;
    (latest_id == update_id).then_some(cell_id)
}

/// By (cell, student): each filtered student who postponed the cell's latest update, from
/// their first `UPDATE_LATER` of it, with their actions strictly after that on the update or
/// notebook-wide (no cell), in time order (the answers' order).
fn postponements(
    latest: &BTreeMap<String, (String, DateTime<Utc>)>,
    answers: &[&Interaction],
) -> AppResult<BTreeMap<(String, String), Postponement>> {
    let mut postponed: Vec<((String, String), Postponement)> = Vec::new();
    // The (cell, student) pairs seen; per student, their postponed cells and places.
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut by_student: HashMap<&str, Vec<(&str, usize)>> = HashMap::new();
    for answer in answers.iter().filter(|a| a.action == UPDATE_LATER) {
        let Some(cell_id) = answer_to_latest(answer, latest) else {
            continue;
        };
        // Answers come in time order: the first seen is the earliest.
        if !seen.insert((cell_id, answer.user_id.as_str())) {
            continue;
        }
        by_student
            .entry(&answer.user_id)
            .or_default()
            .push((cell_id, postponed.len()));
        let postponement = Postponement {
            user_id: answer.user_id.clone(),
            postponed_at: answer.time,
            later_actions: Vec::new(),
        };
        postponed.push(((cell_id.to_owned(), answer.user_id.clone()), postponement));
    }
    for answer in answers {
        let Some(cells) = by_student.get(answer.user_id.as_str()) else {
            continue;
        };
        let answered_cell = answer_to_latest(answer, latest);
        for &(cell_id, place) in cells {
            // Notebook-wide (no cell), or an answer to the postponed update itself.
            let on_it = answer.cell_id.is_none() || answered_cell == Some(cell_id);
            let postponement = &mut postponed[place].1;
            if on_it && answer.time > postponement.postponed_at {
                postponement.later_actions.push(later_action(answer)?);
            }
        }
    }
    Ok(postponed.into_iter().collect())
}

fn later_action(answer: &Interaction) -> AppResult<LaterAction> {
    let action = PendingUpdateAction::try_from_value(&answer.action)
        .map_err(|_| AppError::internal(anyhow::anyhow!("action `{}`", answer.action)))?;
    Ok(LaterAction {
        action,
        time: answer.time,
    })
}
