//! Telemetry mutations: one per event kind (what the extension sends per action), a batch form
//! for bursts, and the teachers' own dashboard interactions. Student events need no token, as
//! the telemetry extension has none.

mod inputs;

pub use inputs::*;

use async_graphql::{Context, Object, SimpleObject};

use super::context::{app, client_ip, request_auth};
use crate::{
    error::{AppError, AppResult},
    services::ingest::{self, EventInput},
};

#[derive(Default)]
pub struct IngestMutation;

/// The result of storing events.
#[derive(SimpleObject)]
pub struct IngestResult {
    /// Events accepted and committed (a retried `eventId` counts, though it is stored once).
    pub accepted_count: u64,
}

async fn record(ctx: &Context<'_>, events: Vec<EventInput>) -> AppResult<IngestResult> {
    let app = app(ctx)?;
    let sources = events
        .iter()
        .map(|event| (event.notebook_id.as_str(), event.user_id.as_str()));
    app.rate_limits.ingest(client_ip(ctx), sources).await?;
    let accepted = ingest::record_events(app, events).await?;
    Ok(IngestResult {
        accepted_count: accepted as u64,
    })
}

#[Object]
impl IngestMutation {
    /// A code cell execution.
    async fn record_code_execution(
        &self,
        ctx: &Context<'_>,
        event: CodeExecutionInput,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A markdown cell render.
    async fn record_markdown_execution(
        &self,
        ctx: &Context<'_>,
        event: MarkdownExecutionInput,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A cell gaining (`ON`) or losing (`OFF`) focus.
    async fn record_cell_focus(
        &self,
        ctx: &Context<'_>,
        event: CellFocusInput,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// The notebook gaining (`ON`) or losing (`OFF`) focus.
    async fn record_notebook_focus(
        &self,
        ctx: &Context<'_>,
        event: NotebookFocusInput,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A cell added or removed.
    async fn record_cell_alteration(
        &self,
        ctx: &Context<'_>,
        event: CellAlterationInput,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A student's answer to a pushed cell update.
    async fn record_pending_update_interaction(
        &self,
        ctx: &Context<'_>,
        event: PendingUpdateInteractionInput,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// Many events of any kinds in one transaction: all are stored or none. A bad event fails
    /// the whole batch; its position is in the error's `extensions.eventIndex`.
    async fn record_events(
        &self,
        ctx: &Context<'_>,
        events: Vec<AnyEventInput>,
    ) -> async_graphql::Result<IngestResult> {
        let max = app(ctx)?.config.limits.batch_max_events;
        if events.len() > max {
            return Err(AppError::PayloadTooLarge(format!(
                "at most {max} events per batch, got {}",
                events.len()
            ))
            .into());
        }
        Ok(record(ctx, events.into_iter().map(Into::into).collect()).await?)
    }

    /// A logged-in teacher's interaction with the dashboard, stored with their pseudonym.
    async fn record_dashboard_interaction(
        &self,
        ctx: &Context<'_>,
        event: DashboardInteractionEventInput,
    ) -> async_graphql::Result<IngestResult> {
        let app = app(ctx)?;
        let user = request_auth(ctx)?.current_user(&app.db).await?;
        ingest::record_dashboard_interaction(app, user.username_hash.clone(), event.into()).await?;
        Ok(IngestResult { accepted_count: 1 })
    }
}
