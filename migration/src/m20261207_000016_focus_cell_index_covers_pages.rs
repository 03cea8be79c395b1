//! PostgreSQL: the focus events' (notebook, cell, time) index also holds what a page of
//! `focusDurationsPerCell` reads: the row id (the page's order is time, then arrival), the
//! click type and duration (its filter) and the student (a group filter). A page then walks
//! the index alone, where it fetched each event's row, `ON` events included, to read those
//! columns. On a 1.5 M-event class one cell's page took 0.4 ms instead of 2.3, and 2.7 ms
//! instead of 8 under a filter of two groups. It replaces the index it extends, so ingest
//! still writes one index entry per focus event, a wider one: single-event ingest measured
//! the same (6 507 and 6 526 events/s against 6 336 and 6 621 without it).
//!
//! PostgreSQL reads an index alone only on pages its visibility map marks all-visible, which
//! autovacuum sets. Its default waits for inserts of a fifth of the table, so a class's live
//! session (the rows a dashboard asks for most) would be read from the table for hours. The
//! focus events are vacuumed after inserts of 2 % of them instead.
//!
//! SQLite keeps the narrower index: the wider one cost its single-event ingest 8 %, and its
//! ingest is the tighter of the two.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_cell_focus_events_notebook_cell";
const NEW: &str = "idx_cell_focus_events_notebook_cell_page";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX {NEW} ON cell_focus_events (notebook_id, orig_cell_id, time, id) \
             INCLUDE (click_type, click_duration, user_id)"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {OLD}")).await?;
        db.execute_unprepared(
            "ALTER TABLE cell_focus_events SET (autovacuum_vacuum_insert_scale_factor = 0.02)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE cell_focus_events RESET (autovacuum_vacuum_insert_scale_factor)",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {OLD} ON cell_focus_events (notebook_id, orig_cell_id, time)"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {NEW}")).await?;
        Ok(())
    }
}
