//! Database migrations, written with sea-query builders only so that the same steps run on
//! SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_users_and_notebooks;
mod m20261122_000002_events;
mod m20261122_000003_groups_and_audit;
mod m20261124_000004_notebook_versions;
mod m20261124_000005_pushed_updates;
mod m20261124_000006_sessions;
mod m20261124_000007_dev_secrets;
mod m20261124_000008_event_keys;
mod m20261130_000009_account_lifecycle;
mod m20261204_000010_rollups;
mod m20261204_000011_rollup_watermarks;
mod m20261204_000012_rollup_fold;
mod m20261205_000013_markdown_rollups;
mod m20261205_000014_latest_execution_rollups;
mod m20261206_000015_duration_rollups;
mod m20261207_000016_focus_cell_index_covers_pages;
mod m20261208_000017_progress_rollups;
mod m20261209_000018_kept_durations_by_time;
mod m20261210_000019_answers_to_pushes;
mod m20261211_000020_progress_rollups_cover_moves;
mod m20261212_000021_kept_durations_by_student;

pub use m20261206_000015_duration_rollups::OFF_DURATIONS;
pub use m20261209_000018_kept_durations_by_time::{KEPT_DURATION, KEPT_DURATIONS_BY_TIME};
pub use m20261210_000019_answers_to_pushes::ANSWER_TO_PUSH;
pub use m20261212_000021_kept_durations_by_student::KEPT_DURATIONS_BY_STUDENT;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_users_and_notebooks::Migration),
            Box::new(m20261122_000002_events::Migration),
            Box::new(m20261122_000003_groups_and_audit::Migration),
            Box::new(m20261124_000004_notebook_versions::Migration),
            Box::new(m20261124_000005_pushed_updates::Migration),
            Box::new(m20261124_000006_sessions::Migration),
            Box::new(m20261124_000007_dev_secrets::Migration),
            Box::new(m20261124_000008_event_keys::Migration),
            Box::new(m20261130_000009_account_lifecycle::Migration),
            Box::new(m20261204_000010_rollups::Migration),
            Box::new(m20261204_000011_rollup_watermarks::Migration),
            Box::new(m20261204_000012_rollup_fold::Migration),
            Box::new(m20261205_000013_markdown_rollups::Migration),
            Box::new(m20261205_000014_latest_execution_rollups::Migration),
            Box::new(m20261206_000015_duration_rollups::Migration),
            Box::new(m20261207_000016_focus_cell_index_covers_pages::Migration),
            Box::new(m20261208_000017_progress_rollups::Migration),
            Box::new(m20261209_000018_kept_durations_by_time::Migration),
            Box::new(m20261210_000019_answers_to_pushes::Migration),
            Box::new(m20261211_000020_progress_rollups_cover_moves::Migration),
            Box::new(m20261212_000021_kept_durations_by_student::Migration),
        ]
    }
}
