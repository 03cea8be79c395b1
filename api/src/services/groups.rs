//! Student groups of a notebook and their members (pseudonyms): the teachers' changes, each one
//! transaction with its audit record, and the membership lookups that the student queries, the
//! dashboard filters and the live teammate events share. A group is identified by its row id;
//! its name is unique within its notebook.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use entity::{group_member, notebook, student_group};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, QueryTrait, Set, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
    sea_query::{IntoCondition, LockType},
};
use serde_json::json;

mod roster;

pub use roster::import_roster;

use super::{audit, identity, is_unique_violation};
use crate::{
    error::{AppError, AppResult},
    pseudonym::Pseudonymizer,
    validation::bounded,
};

/// Longest group name (bytes, after trimming): the column's width.
pub const MAX_NAME_LEN: usize = 128;
/// Most user ids one group may be given.
pub const MAX_MEMBERS: usize = 5000;

/// Member rows per INSERT: two parameters each keeps a statement far below the parameter limits
/// of SQLite (32766) and PostgreSQL (65535).
const MEMBER_ROWS_PER_INSERT: usize = 5000;
/// Ids per `IN (…)` list, for the same reason.
const IDS_PER_QUERY: usize = 1000;

/// One group of a roster: the name trimmed and bounded, the members pseudonymized.
#[derive(Debug, Clone)]
pub struct RosterGroup {
    pub name: String,
    pub members: BTreeSet<String>,
}

/// A group and the public id of its notebook (what authorization and the API speak).
#[derive(Debug, Clone)]
pub struct GroupInNotebook {
    pub group: student_group::Model,
    pub notebook_public_id: String,
}

/// A group name as stored: trimmed, 1 to [`MAX_NAME_LEN`] bytes.
pub fn checked_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    bounded("name", name, MAX_NAME_LEN)?;
    Ok(name.to_owned())
}

/// The pseudonyms of raw `user_ids`, each once (at most [`MAX_MEMBERS`]).
pub fn pseudonymized_members(
    pseudonyms: &Pseudonymizer,
    user_ids: &[String],
) -> AppResult<BTreeSet<String>> {
    if user_ids.len() > MAX_MEMBERS {
        return Err(AppError::bad_input(format!(
            "a group has at most {MAX_MEMBERS} members"
        )));
    }
    user_ids
        .iter()
        .map(|raw| {
            bounded("userIds", raw, identity::MAX_USER_ID_LEN)?;
            Ok(pseudonyms.pseudonymize(raw))
        })
        .collect()
}

/// The members of each group in `group_ids`, sorted. Every requested id is a key (an empty list
/// for a group without members or that does not exist), so callers can index without checks.
/// One query per thousand groups, however many groups are asked at once.
pub async fn members_of(
    db: &impl ConnectionTrait,
    group_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<String>>> {
    let mut members: HashMap<i64, Vec<String>> =
        group_ids.iter().map(|&id| (id, Vec::new())).collect();
    for chunk in group_ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<(i64, String)> = group_member::Entity::find()
            .filter(group_member::Column::GroupId.is_in(chunk.iter().copied()))
            .select_only()
            .columns([group_member::Column::GroupId, group_member::Column::UserId])
            .into_tuple()
            .all(db)
            .await?;
        for (group_id, user_id) in rows {
            members.entry(group_id).or_default().push(user_id);
        }
    }
    // Sorted here rather than in SQL, so the order is the same under every collation.
    for list in members.values_mut() {
        list.sort_unstable();
    }
    Ok(members)
}

/// The groups of a notebook (row id), by name.
pub async fn list(
    db: &impl ConnectionTrait,
    notebook_id: i64,
) -> AppResult<Vec<student_group::Model>> {
    let groups = student_group::Entity::find()
        .filter(student_group::Column::NotebookId.eq(notebook_id))
        .all(db)
        .await?;
    Ok(by_name(groups))
}

/// The groups of notebook `notebook_id` that student `user` (pseudonym) belongs to, by name.
pub async fn groups_of_student(
    db: &impl ConnectionTrait,
    notebook_id: i64,
    user: &str,
) -> AppResult<Vec<student_group::Model>> {
    let groups = student_group::Entity::find()
        .inner_join(group_member::Entity)
        .filter(student_group::Column::NotebookId.eq(notebook_id))
        .filter(group_member::Column::UserId.eq(user))
        .all(db)
        .await?;
    Ok(by_name(groups))
}

/// The students sharing at least one group of notebook `notebook_id` with `user`, without
/// `user`, each once, sorted. One query.
pub async fn teammates(
    db: &impl ConnectionTrait,
    notebook_id: i64,
    user: &str,
) -> AppResult<Vec<String>> {
    let my_groups = student_group::Entity::find()
        .inner_join(group_member::Entity)
        .filter(student_group::Column::NotebookId.eq(notebook_id))
        .filter(group_member::Column::UserId.eq(user))
        .select_only()
        .column(student_group::Column::Id)
        .into_query();
    let mut teammates: Vec<String> = group_member::Entity::find()
        .filter(group_member::Column::GroupId.in_subquery(my_groups))
        .filter(group_member::Column::UserId.ne(user))
        .select_only()
        .column(group_member::Column::UserId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    teammates.sort_unstable();
    Ok(teammates)
}

/// A group by id, with its notebook's public id; `None` if there is no such group.
pub async fn find(db: &impl ConnectionTrait, group_id: i64) -> AppResult<Option<GroupInNotebook>> {
    let found = student_group::Entity::find_by_id(group_id)
        .find_also_linked(GroupNotebook)
        .one(db)
        .await?;
    Ok(found.and_then(|(group, notebook)| {
        notebook.map(|notebook| GroupInNotebook {
            group,
            notebook_public_id: notebook.public_id,
        })
    }))
}

/// Creates group `name` in notebook `notebook_public_id` with `members`.
pub async fn create(
    db: &DatabaseConnection,
    actor_id: i64,
    notebook_public_id: &str,
    name: String,
    members: &BTreeSet<String>,
) -> AppResult<student_group::Model> {
    let (txn, notebook) =
        begin_on_notebook(db, notebook::Column::PublicId.eq(notebook_public_id)).await?;
    let group = student_group::ActiveModel {
        notebook_id: Set(notebook.id),
        name: Set(name),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(name_taken)?;
    insert_members(&txn, [(group.id, members)]).await?;
    let details = json!({
        "notebook": notebook.public_id, "group": group.id, "name": group.name, "members": members,
    });
    audit::record(&txn, Some(actor_id), "create_group", details).await?;
    txn.commit().await?;
    Ok(group)
}

/// Replaces the members of group `group_id` by `members`, all at once.
pub async fn set_members(
    db: &DatabaseConnection,
    actor_id: i64,
    group_id: i64,
    members: &BTreeSet<String>,
) -> AppResult<student_group::Model> {
    let (txn, notebook, group) = begin_on_group(db, group_id).await?;
    group_member::Entity::delete_many()
        .filter(group_member::Column::GroupId.eq(group.id))
        .exec(&txn)
        .await?;
    insert_members(&txn, [(group.id, members)]).await?;
    let details = json!({ "notebook": notebook.public_id, "group": group.id, "members": members });
    audit::record(&txn, Some(actor_id), "set_group_members", details).await?;
    txn.commit().await?;
    Ok(group)
}

/// Renames group `group_id` to `name` (`CONFLICT` if another group of its notebook has it).
pub async fn rename(
    db: &DatabaseConnection,
    actor_id: i64,
    group_id: i64,
    name: String,
) -> AppResult<student_group::Model> {
    let (txn, notebook, group) = begin_on_group(db, group_id).await?;
    let old_name = group.name.clone();
    let mut active = group.into_active_model();
    active.name = Set(name);
    let group = active.update(&txn).await.map_err(name_taken)?;
    let details = json!({
        "notebook": notebook.public_id, "group": group.id, "from": old_name, "to": group.name,
    });
    audit::record(&txn, Some(actor_id), "rename_group", details).await?;
    txn.commit().await?;
    Ok(group)
}

/// Deletes group `group_id` and its memberships.
pub async fn delete(db: &DatabaseConnection, actor_id: i64, group_id: i64) -> AppResult<()> {
    let (txn, notebook, group) = begin_on_group(db, group_id).await?;
    delete_groups(&txn, &[group.id]).await?;
    let details = json!({ "notebook": notebook.public_id, "group": group.id, "name": group.name });
    audit::record(&txn, Some(actor_id), "delete_group", details).await?;
    txn.commit().await?;
    Ok(())
}

/// Starts a write transaction in which the notebook's groups cannot change under us, and returns
/// the notebook (`NOT_FOUND` if none matches). SQLite takes its write lock at BEGIN (IMMEDIATE),
/// so it never has to upgrade a read lock mid-way; PostgreSQL locks the notebook row, so changes
/// to one notebook's groups run one after another. `NO KEY UPDATE` still lets events that
/// reference the notebook be inserted meanwhile.
pub(super) async fn begin_on_notebook(
    db: &DatabaseConnection,
    notebook: impl IntoCondition,
) -> AppResult<(DatabaseTransaction, notebook::Model)> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db.begin_with_options(options).await?;
    let notebook = notebook::Entity::find()
        .filter(notebook)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no such notebook"))?;
    Ok((txn, notebook))
}

/// [`begin_on_notebook`] for the notebook of group `group_id`, and the group as it is once the
/// lock is held (`NOT_FOUND` if it does not exist, or was deleted meanwhile).
async fn begin_on_group(
    db: &DatabaseConnection,
    group_id: i64,
) -> AppResult<(DatabaseTransaction, notebook::Model, student_group::Model)> {
    let no_group = || AppError::not_found("no such group");
    let notebook_id = student_group::Entity::find_by_id(group_id)
        .select_only()
        .column(student_group::Column::NotebookId)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .ok_or_else(no_group)?;
    let (txn, notebook) = begin_on_notebook(db, notebook::Column::Id.eq(notebook_id)).await?;
    let group = student_group::Entity::find_by_id(group_id)
        .one(&txn)
        .await?
        .ok_or_else(no_group)?;
    Ok((txn, notebook, group))
}

pub(super) async fn insert_groups(
    txn: &DatabaseTransaction,
    notebook_id: i64,
    names: &[&str],
) -> AppResult<()> {
    let now = Utc::now();
    // Three parameters per row: a thousand rows per statement stays under every limit.
    for chunk in names.chunks(IDS_PER_QUERY) {
        let rows = chunk.iter().map(|name| student_group::ActiveModel {
            notebook_id: Set(notebook_id),
            name: Set((*name).to_owned()),
            created_at: Set(now),
            ..Default::default()
        });
        student_group::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(name_taken)?;
    }
    Ok(())
}

/// Inserts the members of each group in multi-row statements.
pub(super) async fn insert_members<'a>(
    txn: &DatabaseTransaction,
    groups: impl IntoIterator<Item = (i64, &'a BTreeSet<String>)>,
) -> AppResult<()> {
    let mut rows: Vec<group_member::ActiveModel> = groups
        .into_iter()
        .flat_map(|(group_id, members)| {
            members
                .iter()
                .map(move |user_id| group_member::ActiveModel {
                    group_id: Set(group_id),
                    user_id: Set(user_id.clone()),
                })
        })
        .collect();
    while !rows.is_empty() {
        let batch: Vec<_> = rows
            .drain(..rows.len().min(MEMBER_ROWS_PER_INSERT))
            .collect();
        group_member::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

pub(super) async fn delete_memberships(
    txn: &DatabaseTransaction,
    group_ids: &[i64],
) -> AppResult<()> {
    for chunk in group_ids.chunks(IDS_PER_QUERY) {
        group_member::Entity::delete_many()
            .filter(group_member::Column::GroupId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Deletes groups with their memberships. The memberships go explicitly rather than by the
/// foreign key's cascade, which SQLite applies only when foreign keys are switched on.
pub(super) async fn delete_groups(txn: &DatabaseTransaction, group_ids: &[i64]) -> AppResult<()> {
    delete_memberships(txn, group_ids).await?;
    for chunk in group_ids.chunks(IDS_PER_QUERY) {
        student_group::Entity::delete_many()
            .filter(student_group::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Sorted by name in Rust, so the order is bytewise whatever the database's collation.
fn by_name(mut groups: Vec<student_group::Model>) -> Vec<student_group::Model> {
    groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    groups
}

fn name_taken(error: DbErr) -> AppError {
    if is_unique_violation(&error) {
        AppError::conflict("this notebook already has a group with this name")
    } else {
        error.into()
    }
}

/// Group → its notebook. The entity declares only the members relation, and API types need the
/// notebook's public id, so the link lives here.
struct GroupNotebook;

impl sea_orm::Linked for GroupNotebook {
    type FromEntity = student_group::Entity;
    type ToEntity = notebook::Entity;

    fn link(&self) -> Vec<sea_orm::LinkDef> {
        vec![
            student_group::Entity::belongs_to(notebook::Entity)
                .from(student_group::Column::NotebookId)
                .to(notebook::Column::Id)
                .into(),
        ]
    }
}
