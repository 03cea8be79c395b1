//! The bulk form: a whole roster (e.g. a CSV a teacher pasted) applied to a notebook's groups
//! in one transaction.

use std::collections::{HashMap, HashSet};

use entity::{notebook, student_group};
use sea_orm::{ColumnTrait, DatabaseConnection};
use serde_json::json;

use super::{
    RosterGroup, begin_on_notebook, delete_groups, delete_memberships, insert_groups,
    insert_members, list,
};
use crate::{
    error::{AppError, AppResult},
    services::audit,
};

/// Applies a whole roster to notebook `notebook_public_id` in one transaction: each named group
/// is created, or gets exactly the roster's members if it exists; with `replace_existing`, the
/// notebook's groups the roster does not name are deleted. Returns the groups in roster order.
/// `actor_id` is the dashboard user for the audit log; `None` for the command line.
pub async fn import_roster(
    db: &DatabaseConnection,
    actor_id: Option<i64>,
    notebook_public_id: &str,
    roster: &[RosterGroup],
    replace_existing: bool,
) -> AppResult<Vec<student_group::Model>> {
    refuse_duplicate_names(roster)?;
    let (txn, notebook) =
        begin_on_notebook(db, notebook::Column::PublicId.eq(notebook_public_id)).await?;
    let plan = RosterPlan::new(&list(&txn, notebook.id).await?, roster, replace_existing);
    insert_groups(&txn, notebook.id, &plan.new_names).await?;
    delete_memberships(&txn, &plan.kept_ids).await?;
    delete_groups(&txn, &plan.deleted_ids).await?;
    let groups = in_roster_order(list(&txn, notebook.id).await?, roster)?;
    insert_members(
        &txn,
        groups.iter().zip(roster).map(|(g, r)| (g.id, &r.members)),
    )
    .await?;
    let summary: Vec<_> = groups
        .iter()
        .zip(roster)
        .map(|(g, r)| json!({ "group": g.id, "name": g.name, "memberCount": r.members.len() }))
        .collect();
    // Counts, not member lists: a roster may name millions of memberships, too many for one row.
    let details = json!({
        "notebook": notebook.public_id, "replaceExisting": replace_existing,
        "groups": summary, "updated": plan.kept_ids, "deleted": plan.deleted_ids,
    });
    audit::record(&txn, actor_id, "import_group_roster", details).await?;
    txn.commit().await?;
    Ok(groups)
}

/// What a roster changes among a notebook's existing groups.
struct RosterPlan<'a> {
    /// Roster names without a group yet.
    new_names: Vec<&'a str>,
    /// Existing groups the roster names: their members are replaced.
    kept_ids: Vec<i64>,
    /// Existing groups the roster does not name, when it replaces them.
    deleted_ids: Vec<i64>,
}

impl<'a> RosterPlan<'a> {
    fn new(existing: &[student_group::Model], roster: &'a [RosterGroup], replace: bool) -> Self {
        let named: HashSet<&str> = roster.iter().map(|group| group.name.as_str()).collect();
        let known: HashSet<&str> = existing.iter().map(|group| group.name.as_str()).collect();
        let (kept, absent): (Vec<_>, Vec<_>) = existing
            .iter()
            .partition(|group| named.contains(group.name.as_str()));
        Self {
            new_names: roster
                .iter()
                .map(|group| group.name.as_str())
                .filter(|name| !known.contains(name))
                .collect(),
            kept_ids: kept.iter().map(|group| group.id).collect(),
            deleted_ids: match replace {
                true => absent.iter().map(|group| group.id).collect(),
                false => Vec::new(),
            },
        }
    }
}

fn refuse_duplicate_names(roster: &[RosterGroup]) -> AppResult<()> {
    let mut seen = HashSet::with_capacity(roster.len());
    match roster
        .iter()
        .find(|group| !seen.insert(group.name.as_str()))
    {
        Some(group) => Err(AppError::bad_input(format!(
            "the roster names group {:?} more than once",
            group.name
        ))),
        None => Ok(()),
    }
}

/// The notebook's groups matched to the roster's entries, in roster order.
fn in_roster_order(
    groups: Vec<student_group::Model>,
    roster: &[RosterGroup],
) -> AppResult<Vec<student_group::Model>> {
    let mut by_name: HashMap<String, student_group::Model> = groups
        .into_iter()
        .map(|group| (group.name.clone(), group))
        .collect();
    roster
        .iter()
        .map(|entry| {
            by_name.remove(&entry.name).ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("roster group missing after insert"))
            })
        })
        .collect()
}
