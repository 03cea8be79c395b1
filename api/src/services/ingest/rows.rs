//! Validated rows waiting to be written, one vector per table, inserted with multi-row
//! statements. Rows with a client `event_id` that is already stored are skipped, which makes
//! retries idempotent.

use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction, markdown_execution,
    notebook_focus_event, pending_update_interaction,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};

/// Rows per INSERT statement: keeps the widest table (12 columns) far below the bind-parameter
/// limits of SQLite (32 766) and PostgreSQL (65 535).
const ROWS_PER_STATEMENT: usize = 1000;

#[derive(Debug, Default, Clone)]
pub struct EventRows {
    pub code_executions: Vec<code_execution::ActiveModel>,
    pub markdown_executions: Vec<markdown_execution::ActiveModel>,
    pub cell_focus_events: Vec<cell_focus_event::ActiveModel>,
    pub notebook_focus_events: Vec<notebook_focus_event::ActiveModel>,
    pub cell_alterations: Vec<cell_alteration::ActiveModel>,
    pub pending_update_interactions: Vec<pending_update_interaction::ActiveModel>,
    pub dashboard_interactions: Vec<dashboard_interaction::ActiveModel>,
}

impl EventRows {
    pub fn len(&self) -> usize {
        self.code_executions.len()
            + self.markdown_executions.len()
            + self.cell_focus_events.len()
            + self.notebook_focus_events.len()
            + self.cell_alterations.len()
            + self.pending_update_interactions.len()
            + self.dashboard_interactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows per event kind (the metrics' `kind` label).
    pub fn counts(&self) -> [(&'static str, usize); 7] {
        [
            ("code_execution", self.code_executions.len()),
            ("markdown_execution", self.markdown_executions.len()),
            ("cell_focus", self.cell_focus_events.len()),
            ("notebook_focus", self.notebook_focus_events.len()),
            ("cell_alteration", self.cell_alterations.len()),
            (
                "pending_update_interaction",
                self.pending_update_interactions.len(),
            ),
            ("dashboard_interaction", self.dashboard_interactions.len()),
        ]
    }

    pub fn append(&mut self, other: &mut EventRows) {
        self.code_executions.append(&mut other.code_executions);
        self.markdown_executions
            .append(&mut other.markdown_executions);
        self.cell_focus_events.append(&mut other.cell_focus_events);
        self.notebook_focus_events
            .append(&mut other.notebook_focus_events);
        self.cell_alterations.append(&mut other.cell_alterations);
        self.pending_update_interactions
            .append(&mut other.pending_update_interactions);
        self.dashboard_interactions
            .append(&mut other.dashboard_interactions);
    }

    /// Inserts every row through `db` (a transaction: the caller commits).
    pub async fn insert(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        insert_all(db, self.code_executions, code_execution::Column::EventId).await?;
        insert_all(
            db,
            self.markdown_executions,
            markdown_execution::Column::EventId,
        )
        .await?;
        insert_all(
            db,
            self.cell_focus_events,
            cell_focus_event::Column::EventId,
        )
        .await?;
        insert_all(
            db,
            self.notebook_focus_events,
            notebook_focus_event::Column::EventId,
        )
        .await?;
        insert_all(db, self.cell_alterations, cell_alteration::Column::EventId).await?;
        insert_all(
            db,
            self.pending_update_interactions,
            pending_update_interaction::Column::EventId,
        )
        .await?;
        insert_all(
            db,
            self.dashboard_interactions,
            dashboard_interaction::Column::EventId,
        )
        .await
    }
}

async fn insert_all<A>(
    db: &impl ConnectionTrait,
    mut rows: Vec<A>,
    event_id: <A::Entity as EntityTrait>::Column,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(ROWS_PER_STATEMENT));
        <A::Entity as EntityTrait>::insert_many(rows)
            .on_conflict(OnConflict::column(event_id).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
        rows = rest;
    }
    Ok(())
}
