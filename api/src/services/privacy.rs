//! Looking after students' data: erasing one student everywhere (on request), and deleting
//! events older than a retention window. Each runs in one transaction with its audit row,
//! which records counts and scope, never the student.

use chrono::{DateTime, Utc};
use entity::notebook;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde_json::json;

use crate::{
    broker::presence::Presence,
    error::AppResult,
    ratelimit::RateLimiter,
    services::{
        audit,
        catalogue::{EventKind, TABLES},
        ingest::{self, EventTransaction},
        rollups, table_rows,
    },
};

/// Rows affected per table.
pub type Counts = Vec<(&'static str, u64)>;

/// The student to erase: the raw id the extension sends (rate-limit keys hash it with the
/// notebook id) and its pseudonym (every stored row). No `Debug`: the raw id must not reach
/// a log line.
#[derive(Clone, Copy)]
pub struct Student<'a> {
    pub raw_id: &'a str,
    pub pseudonym: &'a str,
}

/// What the live side holds of students outside SQL.
#[derive(Clone, Copy)]
pub struct LiveState<'a> {
    pub presence: &'a dyn Presence,
    pub rate_limits: &'a RateLimiter,
}

/// Deletes every row of `student` (in one notebook, by row id and public id, or in all):
/// events, interactions and group memberships; then their presence, location and shared
/// rate-limit counts.
pub async fn erase_student(
    db: &DatabaseConnection,
    live: LiveState<'_>,
    student: Student<'_>,
    notebook: Option<(i64, &str)>,
) -> AppResult<Counts> {
    let pseudonym = student.pseudonym;
    let notebook_ids = match notebook {
        Some((_, public_id)) => vec![public_id.to_owned()],
        None => all_notebook_ids(db).await?,
    };
    let mut txn = EventTransaction::begin_immediate(db).await?;
    // The rollup applier must not add this student's rows read before the erasure after it.
    let applied = rollups::watermarks::lock(&txn).await?;
    let focus = applied.of(rollups::RolledTable::Focus);
    let notebook_row = notebook.map(|(row_id, _)| row_id);
    ingest::take_out_durations(&mut txn, (pseudonym, notebook_row), focus).await?;
    let mut counts = Counts::new();
    for table in EventKind::ALL.map(|kind| kind.table().name) {
        let mut condition = Expr::col(Alias::new("user_id")).eq(pseudonym);
        if let Some((row_id, _)) = notebook {
            condition = condition.and(Expr::col(Alias::new("notebook_id")).eq(row_id));
        }
        counts.push((table, table_rows::delete(&txn, table, condition).await?));
    }
    let mut condition = Expr::col(Alias::new("user_id")).eq(pseudonym);
    if let Some((row_id, _)) = notebook {
        condition = condition.and(Expr::col(Alias::new("notebook_id")).eq(row_id));
    }
    // Cell, location and progress rollup rows are per student: theirs go, everyone else's
    // stay exact (no other student's row links to theirs).
    for table in [
        rollups::TABLE,
        rollups::LOCATIONS_TABLE,
        rollups::PROGRESS_TABLE,
    ] {
        counts.push((
            table,
            table_rows::delete(&txn, table, condition.clone()).await?,
        ));
    }
    counts.push((
        "group_members",
        delete_memberships(&txn, pseudonym, notebook).await?,
    ));
    let details = json!({
        "notebook": notebook.map(|(_, public_id)| public_id),
        "rows": counts.iter().map(|(table, n)| json!({ "table": table, "deleted": n })).collect::<Vec<_>>(),
    });
    audit::record(&txn, None, "erase_student", details).await?;
    txn.commit().await?;
    counts.push((
        "rate-limit keys",
        forget_live(live, student, &notebook_ids).await,
    ));
    Ok(counts)
}

/// Presence, locations and rate-limit counts all expire by themselves within minutes; removing
/// them now means nobody sees them meanwhile. A failure is logged, not fatal: the rows are
/// already gone. Returns the rate-limit keys deleted.
async fn forget_live(live: LiveState<'_>, student: Student<'_>, notebook_ids: &[String]) -> u64 {
    if let Err(error) = live
        .presence
        .forget_student(notebook_ids, student.pseudonym)
        .await
    {
        tracing::warn!(%error, "could not clear an erased student's presence and location");
    }
    match live
        .rate_limits
        .forget_ingest_student(notebook_ids, student.raw_id)
        .await
    {
        Ok(deleted) => deleted,
        Err(error) => {
            tracing::warn!(%error, "could not delete an erased student's rate-limit keys");
            0
        }
    }
}

async fn all_notebook_ids(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    Ok(notebook::Entity::find()
        .select_only()
        .column(notebook::Column::PublicId)
        .into_tuple()
        .all(db)
        .await?)
}

async fn delete_memberships(
    db: &impl ConnectionTrait,
    pseudonym: &str,
    notebook: Option<(i64, &str)>,
) -> AppResult<u64> {
    let mut condition = Expr::col(Alias::new("user_id")).eq(pseudonym);
    if let Some((row_id, _)) = notebook {
        let groups = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("student_groups"))
            .and_where(Expr::col(Alias::new("notebook_id")).eq(row_id))
            .to_owned();
        condition = condition.and(Expr::col(Alias::new("group_id")).in_subquery(groups));
    }
    table_rows::delete(db, "group_members", condition).await
}

/// `365d`, `48h` or `90m`: a retention window.
pub fn parse_window(text: &str) -> anyhow::Result<chrono::Duration> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("expected a window like 365d, 48h or 90m: {text}"))?;
    match unit {
        "d" => Ok(chrono::Duration::days(number)),
        "h" => Ok(chrono::Duration::hours(number)),
        "m" => Ok(chrono::Duration::minutes(number)),
        _ => anyhow::bail!("expected a window like 365d, 48h or 90m: {text}"),
    }
}

/// Deletes (or with `dry_run` counts) the events dated before `cutoff`, dashboard
/// interactions included.
pub async fn apply_retention(
    db: &DatabaseConnection,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> AppResult<Counts> {
    let mut txn = EventTransaction::begin_immediate(db).await?;
    let mut counts = Counts::new();
    for table in TABLES {
        let condition = Expr::col(Alias::new(table.start)).lt(cutoff);
        let table = table.name;
        let affected = table_rows::delete_or_count(&txn, table, condition, dry_run).await?;
        counts.push((table, affected));
    }
    if !dry_run && counts.iter().any(|(_, deleted)| *deleted > 0) {
        // Old buckets lose their events: the rollups are recomputed from what is left.
        ingest::rebuild_in(&mut txn, None).await?;
    }
    if !dry_run {
        let details = json!({ "before": cutoff, "rows": counts.iter().map(|(t, n)| json!({ "table": t, "deleted": n })).collect::<Vec<_>>() });
        audit::record(&txn, None, "retention", details).await?;
    }
    txn.commit().await?;
    Ok(counts)
}
