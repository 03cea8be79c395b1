//! Telemetry mutations: one per event kind (what the extension sends per action), a batch form
//! for bursts, and the teachers' own dashboard interactions. Student events need no token, as
//! the telemetry extension has none.

mod inputs;

pub use inputs::*;

use async_graphql::{Context, Object, SimpleObject};

use super::context::{app, client_ip, request_auth};
use crate::{
    error::{AppError, AppResult},
    services::ingest::{
        CellAlteration, CellFocus, CodeExecution, Event, MarkdownExecution, NotebookFocus,
        PendingUpdateInteraction, Recorded,
    },
};

#[derive(Default)]
pub struct IngestMutation;

/// The result of storing events.
#[derive(SimpleObject)]
pub struct IngestResult {
    /// Events stored by this request.
    pub accepted_count: u64,
    /// Events not stored again: the same student already sent the same `eventId` in that
    /// notebook (a retry). Accepted and duplicate counts add up to the events sent.
    pub duplicate_count: u64,
}

impl From<Recorded> for IngestResult {
    fn from(recorded: Recorded) -> Self {
        Self {
            accepted_count: recorded.accepted as u64,
            duplicate_count: recorded.duplicates as u64,
        }
    }
}

async fn record(ctx: &Context<'_>, events: Vec<Event>) -> AppResult<IngestResult> {
    let app = app(ctx)?;
    let sources = events.iter().map(|event| {
        let source = event.source();
        (source.notebook_id.as_str(), source.user_id.as_str())
    });
    app.rate_limits.ingest(client_ip(ctx), sources).await?;
    Ok(app.ingest.record_events(events).await?.into())
}

#[Object]
impl IngestMutation {
    /// A code cell execution.
    async fn record_code_execution(
        &self,
        ctx: &Context<'_>,
        event: CodeExecution,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A markdown cell render.
    async fn record_markdown_execution(
        &self,
        ctx: &Context<'_>,
        event: MarkdownExecution,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A cell gaining (`ON`) or losing (`OFF`) focus.
    async fn record_cell_focus(
        &self,
        ctx: &Context<'_>,
        event: CellFocus,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// The notebook gaining (`ON`) or losing (`OFF`) focus.
    async fn record_notebook_focus(
        &self,
        ctx: &Context<'_>,
        event: NotebookFocus,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A cell added or removed.
    async fn record_cell_alteration(
        &self,
        ctx: &Context<'_>,
        event: CellAlteration,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// A student's answer to a pushed cell update.
    async fn record_pending_update_interaction(
        &self,
        ctx: &Context<'_>,
        event: PendingUpdateInteraction,
    ) -> async_graphql::Result<IngestResult> {
        Ok(record(ctx, vec![event.into()]).await?)
    }

    /// Many events of any kinds in one transaction: all are stored or none. A bad event fails
    /// the whole batch; its position is in the error's `extensions.eventIndex`.
    async fn record_events(
        &self,
        ctx: &Context<'_>,
        events: Vec<Event>,
    ) -> async_graphql::Result<IngestResult> {
        let max = app(ctx)?.config.limits.batch_max_events;
        if events.len() > max {
            return Err(AppError::PayloadTooLarge(format!(
                "at most {max} events per batch, got {}",
                events.len()
            ))
            .into());
        }
        Ok(record(ctx, events).await?)
    }

    /// A logged-in teacher's interaction with the dashboard, stored with their pseudonym.
    async fn record_dashboard_interaction(
        &self,
        ctx: &Context<'_>,
        event: DashboardInteractionEventInput,
    ) -> async_graphql::Result<IngestResult> {
        let app = app(ctx)?;
        let user = request_auth(ctx)?.current_user(&app.db).await?;
        Ok(app
            .ingest
            .record_dashboard_interaction(&user, event.into())
            .await?
            .into())
    }
}
