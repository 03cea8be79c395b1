//! Event counts per kind with the first and last event time, in one statement (a UNION ALL
//! of one aggregate per event table).

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::{Scope, sql::Sql};
use crate::{error::AppResult, services::exports::ExportKind};

/// (kind, table, time column) of every student event table. Code executions are timed by
/// their finish, as everywhere in the dashboards.
pub const KINDS: [(ExportKind, &str, &str); 6] = [
    (ExportKind::CodeExecution, "code_executions", "t_finish"),
    (ExportKind::MarkdownExecution, "markdown_executions", "time"),
    (ExportKind::CellFocus, "cell_focus_events", "time"),
    (ExportKind::NotebookFocus, "notebook_focus_events", "time"),
    (ExportKind::CellAlteration, "cell_alterations", "time"),
    (
        ExportKind::PendingUpdateInteraction,
        "pending_update_interactions",
        "time",
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct EventKindCount {
    pub kind: ExportKind,
    pub count: i64,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
}

/// Every kind of [`KINDS`], in that order, zero counts included.
pub async fn event_counts(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Vec<EventKindCount>> {
    let mut sql = Sql::new(db.get_database_backend());
    for (index, (kind, table, time)) in KINDS.iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        let word = kind.word();
        sql.push(&format!(
            "SELECT '{word}' AS kind, COUNT(*) AS events, MIN({time}) AS first_at, \
             MAX({time}) AS last_at FROM {table} WHERE "
        ))
        .scope(scope, time);
    }
    let rows = db.query_all_raw(sql.build()).await?;
    let mut counts = Vec::with_capacity(KINDS.len());
    for (kind, _, _) in KINDS {
        let row = rows.iter().find(|row| {
            row.try_get::<String>("", "kind")
                .is_ok_and(|w| w == kind.word())
        });
        counts.push(match row {
            Some(row) => EventKindCount {
                kind,
                count: row.try_get("", "events")?,
                first_at: row.try_get("", "first_at")?,
                last_at: row.try_get("", "last_at")?,
            },
            None => EventKindCount {
                kind,
                count: 0,
                first_at: None,
                last_at: None,
            },
        });
    }
    Ok(counts)
}
