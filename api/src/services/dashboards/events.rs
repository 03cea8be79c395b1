//! Event counts per kind with the first and last event time, in one statement (a UNION ALL
//! of one aggregate per event table).

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::{Scope, sql::Sql};
use crate::{error::AppResult, services::catalogue::EventKind};

#[derive(Debug, Clone, PartialEq)]
pub struct EventKindCount {
    pub kind: EventKind,
    pub count: i64,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
}

/// Every kind of [`EventKind::ALL`], in that order, zero counts included.
pub async fn event_counts(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Vec<EventKindCount>> {
    let mut sql = Sql::new(db.get_database_backend());
    for (index, kind) in EventKind::ALL.into_iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        let (word, table, time) = (kind.word(), kind.table().name, kind.table().time);
        sql.push(&format!(
            "SELECT '{word}' AS kind, COUNT(*) AS events, MIN({time}) AS first_at, \
             MAX({time}) AS last_at FROM {table} WHERE "
        ))
        .scope(scope, time);
    }
    let rows = db.query_all_raw(sql.build()).await?;
    let mut counts = Vec::with_capacity(EventKind::ALL.len());
    for kind in EventKind::ALL {
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
