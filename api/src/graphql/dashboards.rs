//! The dashboard analytics of a notebook, as fields of `Notebook` (reached through the guarded
//! `notebook(id:)` or the viewer's own `notebooks`; every field carries the notebook guard as
//! well). Each field takes an optional `AnalyticsFilter` and calls one service aggregate; the
//! descriptions state the rules DOMAIN.md leaves open, so they show in GraphiQL.

mod filter;
mod types;

pub use filter::AnalyticsFilter;
pub use types::*;

use async_graphql::{ComplexObject, Context};
use chrono::{DateTime, Utc};

use super::{context::app, groups::Group, notebooks::Notebook};

/// Most durations `focusDurationsPerCell` returns per cell in one page.
const MAX_DURATIONS_PER_CELL: i32 = 10_000;
use crate::{
    error::{AppError, AppResult},
    graphql::{guards::NotebookGuard, scalar_list::ScalarList},
    services::{
        self,
        dashboards::{self as svc, AttemptsRequest, ProgressRequest, Scope},
    },
    state::AppState,
};

impl Notebook {
    async fn scope<'a>(
        &self,
        ctx: &Context<'a>,
        filter: Option<AnalyticsFilter>,
    ) -> AppResult<(&'a AppState, Scope)> {
        let app = app(ctx)?;
        let scope = filter::resolve(app, &self.id, self.row_id, filter).await?;
        Ok((app, scope))
    }
}

#[ComplexObject]
impl Notebook {
    /// Per original cell: executions, executions with status `OK`, and cell focus events. A
    /// cell appears when it has at least one execution or one focus event in the filter:
    /// executed-but-never-focused cells (focus counts 0) and focused-but-never-executed cells
    /// (execution counts 0, e.g. markdown) alike. Executions are filtered on `tFinish`, focus
    /// events on their time. Sorted by cell id.
    /// Events without an original cell (null `origCellId`: the student's copy lacked the cell
    /// mapping) are counted under the unmapped cell id `""`.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn code_executions_per_cell(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<Vec<CellExecutionCounts>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let cells = svc::executions_per_cell(&app.db, &scope).await?;
        Ok(cells.into_iter().map(Into::into).collect())
    }

    /// Time spent per original cell, from `OFF` cell focus events with a duration (the
    /// seconds the cell had been focused). Durations over 5000 s are outliers and left out
    /// (5000 itself counts). Per cell: the mean over its students of each student's mean
    /// duration, and the number of those students; `totalStudentCount` is the number of
    /// distinct students with a counted duration on any cell. Events filtered on their time.
    /// Events without an original cell (null `origCellId`: the student's copy lacked the cell
    /// mapping) are counted under the unmapped cell id `""`.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn time_per_cell(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<TimePerCell> {
        let (app, scope) = self.scope(ctx, filter).await?;
        Ok(svc::time_per_cell(&app.db, &scope).await?.into())
    }

    /// The raw durations behind `timePerCell`: per original cell (by id), the counted `OFF`
    /// durations (≤ 5000 s) of the filter, by event time then arrival, paged per cell: at
    /// most `limit` (1 to 10000, default 1000) from the `offset`-th; `totalCount` gives how
    /// many the cell has. A cell whose page is empty is left out. For a distribution, ask
    /// `focusDurationSummary`, which needs no raw value.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn focus_durations_per_cell(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
        #[graphql(default = 1000)] limit: i32,
        #[graphql(default = 0)] offset: i32,
    ) -> async_graphql::Result<Vec<CellDurations>> {
        if !(1..=MAX_DURATIONS_PER_CELL).contains(&limit) || offset < 0 {
            return Err(AppError::bad_input(format!(
                "limit must be 1 to {MAX_DURATIONS_PER_CELL} and offset at least 0"
            ))
            .into());
        }
        let (app, scope) = self.scope(ctx, filter).await?;
        let page = svc::DurationPage {
            limit: i64::from(limit),
            offset: i64::from(offset),
        };
        let cells = svc::focus_duration_pages(&app.db, &scope, page).await?;
        Ok(cells.into_iter().map(Into::into).collect())
    }

    /// The distribution of `focusDurationsPerCell` per cell, computed on the server: count,
    /// extremes, quartiles, mean and a histogram with fixed edges. The same durations (OFF
    /// focus events with a duration ≤ 5000 s in the filter), without sending each one.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn focus_duration_summary(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<Vec<CellDurationSummary>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let cells = svc::duration_summaries(&app.db, &scope).await?;
        Ok(cells.into_iter().map(Into::into).collect())
    }

    /// Where students are in the notebook, minute by minute. Points are whole UTC minutes,
    /// from the minute of `start` to the minute of `end` (`end` later than now counts as
    /// now; at most 1440 minutes, else `BAD_USER_INPUT`). Only executions with
    /// `start < tFinish ≤ end` (and in the filter) count, and only of cells in `cellOrder`
    /// (others are ignored, as if not executed). At point M, each student's value is the
    /// position (1-based, first occurrence in `cellOrder`) of the cell of their latest
    /// execution finished before M + 1 minute; ties on `tFinish` go to the later-recorded
    /// execution. A point gives the mean, the median and the quartiles (exclusive method, as
    /// Python's `statistics.quantiles(n=4)`; one student → all equal) of those values, and
    /// their count; minutes without any student have no point. `cellOrder` defaults to the
    /// notebook's current cell order.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn execution_progress(
        &self,
        ctx: &Context<'_>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        cell_order: Option<Vec<String>>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<Vec<ProgressPoint>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let cell_order = match cell_order {
            Some(order) => order,
            None => self.cell_order.iter().map(|c| c.cell_id.clone()).collect(),
        };
        let request = ProgressRequest {
            start,
            end,
            cell_order,
            now: Utc::now(),
        };
        let points = svc::execution_progress(&app.db, &scope, &request).await?;
        Ok(points.into_iter().map(Into::into).collect())
    }

    /// Each student's latest execution of original cell `cellId` in the filter (latest by
    /// `tFinish`, ties to the later-recorded one), sorted by `sort` in `direction`, ties by
    /// student pseudonym ascending, then paged (`limit` 0 to 1000, default 50; `offset` from
    /// 0). `totalCount` counts every student with an attempt. `cellId: ""` lists the
    /// executions without an original cell (null `origCellId`).
    #[graphql(
        guard = "NotebookGuard::new(&self.id)",
        // A page weighs its rows: `limit` times what is selected of each.
        complexity = "1 + child_complexity * (limit.clamp(1, 1000) as usize)"
    )]
    #[expect(clippy::too_many_arguments, reason = "GraphQL field arguments")]
    async fn latest_attempts(
        &self,
        ctx: &Context<'_>,
        cell_id: String,
        #[graphql(default_with = "AttemptSort::Time")] sort: AttemptSort,
        #[graphql(default_with = "SortDirection::Desc")] direction: SortDirection,
        #[graphql(default = 50)] limit: i32,
        #[graphql(default = 0)] offset: i32,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<LatestAttempts> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let (Ok(limit), Ok(offset)) = (u64::try_from(limit), u64::try_from(offset)) else {
            return Err(AppError::bad_input("limit and offset cannot be negative").into());
        };
        let request = AttemptsRequest {
            orig_cell_id: cell_id,
            sort: sort.into(),
            descending: direction == SortDirection::Desc,
            limit,
            offset,
        };
        Ok(svc::latest_attempts(&app.db, &scope, &request)
            .await?
            .into())
    }

    /// The table of contents: per original cell (by id), how many students' latest `ON`
    /// focus in the filter (by time, ties to the later-recorded event) is on it.
    /// Events without an original cell (null `origCellId`: the student's copy lacked the cell
    /// mapping) are counted under the unmapped cell id `""`.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn student_locations(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<Vec<CellStudentCount>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let cells = svc::student_locations(&app.db, &scope).await?;
        Ok(cells.into_iter().map(Into::into).collect())
    }

    /// Pseudonyms of the students connected to the notebook now, sorted. Of the filter only
    /// `groups` applies (connections have no event time).
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn connected_students(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<ScalarList<String>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let connected = scope
            .connected_students(&app.db, app.presence.as_ref(), &self.id)
            .await?;
        Ok(connected.into())
    }

    /// The notebook's groups with their members, by name. Of the filter only `groups`
    /// applies: it keeps those groups.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<Vec<Group>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let mut models = services::groups::list(&app.db, self.row_id).await?;
        if !scope.groups.is_empty() {
            models.retain(|group| scope.groups.contains(&group.id));
        }
        Ok(Group::many(app, &self.id, models))
    }

    /// Per cell (by id), the teacher's latest pushed update in the filter's window and how
    /// the filtered students answered it. Pushes are the recorded ones (a push's time is when
    /// the teacher pushed it; an update id pushed several times counts from its first push);
    /// an update id that students answered but no push recorded (imported data) is dated by
    /// its earliest interaction in the window, of any student, teammates' shares excluded.
    /// The latest update of a cell is the one pushed last (ties to the greater update id).
    /// Counts are distinct filtered students with an `UPDATE_NOW` / `UPDATE_LATER` answer to
    /// it; for each who postponed, their actions strictly after their first `UPDATE_LATER`,
    /// on that update or notebook-wide (no cell id), by time.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn pending_update_stats(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<Vec<PendingUpdateStats>> {
        let (app, scope) = self.scope(ctx, filter).await?;
        let updates = svc::pending_updates(&app.db, &scope).await?;
        Ok(updates.into_iter().map(Into::into).collect())
    }

    /// Student events of the filter, per kind (every kind listed, code executions timed by
    /// `tFinish`), with the first and last event time per kind and overall.
    #[graphql(guard = "NotebookGuard::new(&self.id)")]
    async fn event_counts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalyticsFilter>,
    ) -> async_graphql::Result<EventCounts> {
        let (app, scope) = self.scope(ctx, filter).await?;
        Ok(svc::event_counts(&app.db, &scope).await?.into())
    }
}
