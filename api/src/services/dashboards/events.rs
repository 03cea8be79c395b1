//! Event counts per kind with the first and last event time. Code executions, cell focus
//! events and markdown executions, most of a class's events, are counted from the rollups
//! (`rolled::parts`, as the per-cell aggregates); their first and last times are one index
//! probe each. The other kinds, a few per student, are counted by a scan. All in one snapshot.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

use super::{Scope, rolled, sql::Sql};
use crate::{
    error::AppResult,
    services::{catalogue::EventKind, rollups::RolledTable},
};

#[derive(Debug, Clone, PartialEq)]
pub struct EventKindCount {
    pub kind: EventKind,
    pub count: i64,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
}

/// The scope's events of each rolled-up table (`rolled::Sums::Counts`), by
/// [`RolledTable::index`].
#[derive(Clone, Copy, Default)]
struct Rolled([i64; RolledTable::COUNT]);

impl Rolled {
    /// The scope's count of `kind` from the rollups, for the kinds they hold.
    fn of_kind(&self, kind: EventKind) -> Option<i64> {
        RolledTable::of_kind(kind).map(|table| self.0[table.index()])
    }
}

/// Every kind of [`EventKind::ALL`], in that order, zero counts included.
pub async fn event_counts(
    db: &DatabaseConnection,
    scope: &Scope,
) -> AppResult<Vec<EventKindCount>> {
    let (txn, progress) = rolled::begin(db).await?;
    let rolled = rolled_counts(&txn, scope, &progress).await?;
    let rows = txn
        .query_all_raw(per_kind(db, scope, rolled).build())
        .await?;
    txn.commit().await?;
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

/// The scope's events of the rolled-up kinds, summed from the rollups.
async fn rolled_counts(
    txn: &DatabaseTransaction,
    scope: &Scope,
    progress: &rolled::Progress,
) -> AppResult<Rolled> {
    // Summed as integers (`rolled::summed`). The totals are bigints.
    let columns = RolledTable::ALL.map(|table| {
        let count = table.alias();
        format!("CAST(COALESCE(SUM(CAST({count} AS INTEGER)), 0) AS BIGINT) AS {count}")
    });
    let select = format!("SELECT {}", columns.join(", "));
    let sql = rolled::summed(txn, (scope, progress), rolled::Sums::Counts, (&select, "")).await?;
    let mut rolled = Rolled::default();
    if let Some(row) = txn.query_one_raw(sql.build()).await? {
        for table in RolledTable::ALL {
            rolled.0[table.index()] = row.try_get("", table.alias())?;
        }
    }
    Ok(rolled)
}

/// One row per kind: the count (for a rolled-up kind, its count from `rolled`) and the first
/// and last time, a `UNION ALL` of one aggregate per event table.
fn per_kind(db: &DatabaseConnection, scope: &Scope, rolled: Rolled) -> Sql {
    let mut sql = Sql::new(db.get_database_backend());
    for (index, kind) in EventKind::ALL.into_iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        let (word, table, time) = (kind.word(), kind.table().name, kind.table().time);
        let Some(count) = rolled.of_kind(kind) else {
            sql.push(&format!(
                "SELECT '{word}' AS kind, COUNT(*) AS events, MIN({time}) AS first_at, \
                 MAX({time}) AS last_at FROM {table} WHERE "
            ))
            .scope(scope, time);
            continue;
        };
        // Each end is the first row of the notebook's time index in the window (that index
        // leads with the notebook) that is in the scope's students.
        sql.push(&format!("SELECT '{word}' AS kind, CAST("))
            .bind(count)
            .push(" AS BIGINT) AS events");
        for (alias, order) in [("first_at", "ASC"), ("last_at", "DESC")] {
            sql.push(&format!(", (SELECT {time} FROM {table} WHERE "))
                .scope(scope, time)
                .push(&format!(" ORDER BY {time} {order} LIMIT 1) AS {alias}"));
        }
    }
    sql
}
