//! The focus events' (notebook, cell, time) index holds only the events whose duration counts
//! (`OFF`, a duration of at most 5000 s): a page of `focusDurationsPerCell`, the one reader that
//! walks it, skips nothing. It held every focus event before, `ON` ones and outliers included,
//! so a page of 600 durations read 1 200 entries and filtered each one.
//!
//! - PostgreSQL: it replaces `idx_cell_focus_events_notebook_cell_page` (migration 16). It still
//!   covers a page (duration, student; the id is a key column), at a third of the size. On a
//!   1.5 M-event class, the pages' statement took 13.6 ms instead of 35.4 for the last session
//!   and 22.7 instead of 56.5 for the whole course (with each page as `ARRAY(…)`, which alone
//!   made them 28 and 45).
//! - SQLite: it replaces `idx_cell_focus_events_notebook_cell` (migration 2) and covers a page too
//!   (id, duration), where each row was read from the table. With each page as one text, the
//!   pages over HTTP took 66 ms instead of 140 for the last session, 99 instead of 254 for the
//!   whole course.
//!
//! A query reaches a partial index only where its condition implies the index's, and SQLite
//! proves that only for the same text: [`KEPT_DURATION`] is that text, and the api crate's
//! `Sql::kept_duration` writes it as is.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The condition of a focus event whose duration counts, as SQL (the outlier limit is
/// `MAX_DURATION_SECS` in the api crate, which checks that the two agree).
pub const KEPT_DURATION: &str =
    "click_type = 'OFF' AND click_duration IS NOT NULL AND click_duration <= 5000";

/// The index's name: SQLite's planner is told to use it (`INDEXED BY`), as without a time bound
/// it takes the partial index by duration of migration 15 and sorts a cell's every duration.
pub const KEPT_DURATIONS_BY_TIME: &str = "idx_cell_focus_events_kept_durations_by_time";
const NEW: &str = KEPT_DURATIONS_BY_TIME;
const POSTGRES_OLD: &str = "idx_cell_focus_events_notebook_cell_page";
const SQLITE_OLD: &str = "idx_cell_focus_events_notebook_cell";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let (columns, old) = match manager.get_database_backend() {
            DbBackend::Postgres => (
                "(notebook_id, orig_cell_id, time, id) INCLUDE (click_duration, user_id)",
                POSTGRES_OLD,
            ),
            _ => (
                "(notebook_id, orig_cell_id, time, id, click_duration)",
                SQLITE_OLD,
            ),
        };
        db.execute_unprepared(&format!(
            "CREATE INDEX {NEW} ON cell_focus_events {columns} WHERE {KEPT_DURATION}"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let (old, columns) = match manager.get_database_backend() {
            DbBackend::Postgres => (
                POSTGRES_OLD,
                "(notebook_id, orig_cell_id, time, id) INCLUDE (click_type, click_duration, user_id)",
            ),
            _ => (SQLITE_OLD, "(notebook_id, orig_cell_id, time)"),
        };
        db.execute_unprepared(&format!(
            "CREATE INDEX {old} ON cell_focus_events {columns}"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {NEW}")).await?;
        Ok(())
    }
}
