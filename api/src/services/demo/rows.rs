//! The demo class's generated rows, one vector per table, inserted with SeaORM's multi-row
//! statements (the demo writes once, offline: the ingest writer's bulk path is not needed).

use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction, markdown_execution,
    notebook_focus_event, pending_update_interaction,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait};

/// Rows per INSERT statement: keeps the widest table (12 columns) far below the bind-parameter
/// limits of SQLite (32 766) and PostgreSQL (65 535).
const ROWS_PER_STATEMENT: usize = 1000;

#[derive(Debug, Default)]
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

    /// Inserts every row through `db` (a transaction: the caller commits).
    pub async fn insert(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        insert_all(db, self.code_executions).await?;
        insert_all(db, self.markdown_executions).await?;
        insert_all(db, self.cell_focus_events).await?;
        insert_all(db, self.notebook_focus_events).await?;
        insert_all(db, self.cell_alterations).await?;
        insert_all(db, self.pending_update_interactions).await?;
        insert_all(db, self.dashboard_interactions).await
    }
}

async fn insert_all<A>(db: &impl ConnectionTrait, mut rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(ROWS_PER_STATEMENT));
        <A::Entity as EntityTrait>::insert_many(rows)
            .exec_without_returning(db)
            .await?;
        rows = rest;
    }
    Ok(())
}
