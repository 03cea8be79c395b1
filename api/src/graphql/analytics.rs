//! The `notebookAnalytics` subscription: a notebook's dashboard aggregates pushed live, over
//! `services::analytics` (one shared computation per notebook and filter on each instance).

use async_graphql::{Context, ID, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use super::{
    context::app,
    dashboards::{
        AnalyticsFilter, CellDurationSummary, CellExecutionCounts, CellStudentCount, ProgressPoint,
        TimePerCell,
    },
    guards::NotebookGuard,
    scalar_list::ScalarList,
};
use crate::services::analytics::{AnalyticsRequest, Snapshot};

#[derive(Default)]
pub struct AnalyticsSubscription;

/// A notebook's dashboard under one filter, at one time. Each field is what the `Notebook`
/// field of the same name answers for that filter at `computedAt`.
#[derive(SimpleObject)]
pub struct NotebookAnalytics {
    pub notebook_id: ID,
    /// When these numbers were read.
    pub computed_at: DateTime<Utc>,
    pub code_executions_per_cell: Vec<CellExecutionCounts>,
    pub time_per_cell: TimePerCell,
    pub focus_duration_summary: Vec<CellDurationSummary>,
    pub student_locations: Vec<CellStudentCount>,
    pub connected_students: ScalarList<String>,
    /// executionProgress from `progressSince` to now over the notebook's cell order; empty
    /// when progressSince is null (at most 1440 minutes, else BAD_USER_INPUT at subscribe).
    /// A subscription open for longer keeps the last 1440 minutes.
    pub execution_progress: Vec<ProgressPoint>,
}

impl From<&Snapshot> for NotebookAnalytics {
    fn from(snapshot: &Snapshot) -> Self {
        fn all<T: Clone, U: From<T>>(items: &[T]) -> Vec<U> {
            items.iter().cloned().map(Into::into).collect()
        }
        Self {
            notebook_id: ID(snapshot.notebook_id.clone()),
            computed_at: snapshot.computed_at,
            code_executions_per_cell: all(&snapshot.executions_per_cell),
            time_per_cell: snapshot.time_per_cell.clone().into(),
            focus_duration_summary: all(&snapshot.duration_summaries),
            student_locations: all(&snapshot.student_locations),
            connected_students: snapshot.connected_students.clone().into(),
            execution_progress: all(&snapshot.execution_progress),
        }
    }
}

#[Subscription]
impl AnalyticsSubscription {
    /// A notebook's dashboard, live (token authorized for the notebook; admins for all): the
    /// current value first, then a new value after each change, i.e. new events of the
    /// notebook (on any instance) or a student connecting or leaving. Changes are coalesced:
    /// at most one value per `ANALYTICS_PUSH_INTERVAL_MS` (default 150 ms, counted from the
    /// start of the last computation; after one that took more than half of that, twice as
    /// long as it took), the last change always followed by a value; a value equal to the
    /// previous one (but for `computedAt`) is skipped. With `progressSince`, a new minute
    /// also brings a value. `filter` is the dashboards' `AnalyticsFilter` (`liveOnly` reads
    /// the students connected at each value); a bad filter is `BAD_USER_INPUT` at subscribe.
    /// Should the filter stop holding (its group deleted), the subscription ends with that
    /// error.
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn notebook_analytics(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        filter: Option<AnalyticsFilter>,
        progress_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<NotebookAnalytics>> + use<>>
    {
        let app = app(ctx)?;
        let notebook = app.identity.notebook(&notebook_id).await?;
        let request = AnalyticsRequest {
            scope: filter.unwrap_or_default().scope_request()?,
            progress_since,
        };
        let values = app.analytics.subscribe(notebook, request).await?;
        Ok(values.map(|value| match value {
            Ok(snapshot) => Ok(NotebookAnalytics::from(snapshot.as_ref())),
            Err(error) => Err(error.into()),
        }))
    }
}
