//! PostgreSQL: the focus events whose duration counts, by (notebook, student, time), carrying
//! the cell and the duration. The duration summary of some students (a group filter, or the
//! students connected now) cannot read the duration rollups, which are per notebook, so it
//! reads the students' kept durations from the events. Without this index PostgreSQL walked
//! every kept duration of the notebook (the index by cell and time) and joined each to the
//! students: 101 ms for three groups (30 students) of a 1.5 M event class's whole course,
//! against 18 ms reading those students' 39 000 durations here, each student one range.
//!
//! SQLite keeps to its existing indexes: every index is paid at each ingest commit, and there
//! its single writer already pays the most.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::KEPT_DURATION;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The index's name.
pub const KEPT_DURATIONS_BY_STUDENT: &str = "idx_cell_focus_events_kept_durations_by_student";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {KEPT_DURATIONS_BY_STUDENT} ON cell_focus_events \
                 (notebook_id, user_id, time) INCLUDE (orig_cell_id, click_duration) \
                 WHERE {KEPT_DURATION}"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX {KEPT_DURATIONS_BY_STUDENT}"))
            .await?;
        Ok(())
    }
}
