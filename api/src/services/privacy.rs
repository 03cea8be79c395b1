//! Looking after students' data: erasing one student everywhere (on request), and deleting
//! events older than a retention window. Each runs in one transaction with its audit row,
//! which records counts and scope, never the student.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr},
};
use serde_json::json;

use crate::{
    broker::presence::Presence,
    error::{AppError, AppResult},
    services::audit,
};

/// Tables of students' events, with the column that dates each row.
const STUDENT_EVENTS: [(&str, &str); 6] = [
    ("code_executions", "t_start"),
    ("markdown_executions", "time"),
    ("cell_focus_events", "time"),
    ("notebook_focus_events", "time"),
    ("cell_alterations", "time"),
    ("pending_update_interactions", "time"),
];

/// Rows affected per table.
pub type Counts = Vec<(&'static str, u64)>;

/// Deletes every row of student `pseudonym` (in one notebook, by row id, or all): events,
/// interactions and group memberships; and their live presence and location.
pub async fn erase_student(
    db: &DatabaseConnection,
    presence: &dyn Presence,
    pseudonym: &str,
    notebook: Option<(i64, &str)>,
) -> AppResult<Counts> {
    let txn = db.begin().await?;
    let mut counts = Counts::new();
    for (table, _) in STUDENT_EVENTS {
        let mut condition = Expr::col(Alias::new("user_id")).eq(pseudonym);
        if let Some((row_id, _)) = notebook {
            condition = condition.and(Expr::col(Alias::new("notebook_id")).eq(row_id));
        }
        counts.push((table, delete(&txn, table, condition).await?));
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
    if let Some((_, public_id)) = notebook {
        // Presence and locations expire by themselves; clearing the location now means no
        // teammate sees it meanwhile.
        if let Err(error) = presence.clear_location(public_id, pseudonym).await {
            tracing::warn!(%error, "could not clear an erased student's location");
        }
    }
    Ok(counts)
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
    delete(db, "group_members", condition).await
}

/// Deletes (or with `dry_run` counts) the events dated before `cutoff`, dashboard
/// interactions included.
pub async fn apply_retention(
    db: &DatabaseConnection,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> AppResult<Counts> {
    let txn = db.begin().await?;
    let mut counts = Counts::new();
    let tables = STUDENT_EVENTS
        .iter()
        .copied()
        .chain([("dashboard_interactions", "time")]);
    for (table, time) in tables {
        let condition = Expr::col(Alias::new(time)).lt(cutoff);
        let affected = match dry_run {
            true => count(&txn, table, condition).await?,
            false => delete(&txn, table, condition).await?,
        };
        counts.push((table, affected));
    }
    if !dry_run {
        let details = json!({ "before": cutoff, "rows": counts.iter().map(|(t, n)| json!({ "table": t, "deleted": n })).collect::<Vec<_>>() });
        audit::record(&txn, None, "retention", details).await?;
    }
    txn.commit().await?;
    Ok(counts)
}

async fn delete(db: &impl ConnectionTrait, table: &str, condition: SimpleExpr) -> AppResult<u64> {
    let statement = Query::delete()
        .from_table(Alias::new(table))
        .and_where(condition)
        .to_owned();
    Ok(db.execute(&statement).await?.rows_affected())
}

async fn count(db: &impl ConnectionTrait, table: &str, condition: SimpleExpr) -> AppResult<u64> {
    let statement = Query::select()
        .expr_as(Expr::col(Alias::new("id")).count(), Alias::new("n"))
        .from(Alias::new(table))
        .and_where(condition)
        .to_owned();
    let row = db
        .query_one(&statement)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a count returned no row")))?;
    let n: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}
