//! `AnalyticsFilter`, the one filter input of every dashboard aggregate, handed to the services'
//! `Scope::resolve` (which checks the window and the group ids and resolves "live only").

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};

use crate::{
    error::{AppError, AppResult},
    services::dashboards::{GroupSelection, Scope, ScopeRequest},
    state::AppState,
};

/// Which events a dashboard aggregate reads. Every bound applies to the event's time; a code
/// execution's time is its finish time (`tFinish`).
#[derive(InputObject, Default, Clone)]
pub struct AnalyticsFilter {
    /// Only events strictly after this time.
    pub after: Option<DateTime<Utc>>,
    /// Only events at or before this time. Must be later than `after`.
    pub until: Option<DateTime<Utc>>,
    /// Only students connected to the notebook now (open live subscriptions). Ignored when
    /// `until` is set: a window that has ended is history.
    #[graphql(default = false)]
    pub live_only: bool,
    /// Only members of at least one of these groups. Every id must be a group of this notebook
    /// (else `BAD_USER_INPUT`, the same answer for an unknown id). An empty list, like null,
    /// does not restrict.
    pub groups: Option<Vec<ID>>,
}

impl AnalyticsFilter {
    /// The services' request for this filter (`BAD_USER_INPUT` for a group id that is not a
    /// number), before `Scope::resolve` checks it against the notebook.
    pub fn scope_request(self) -> AppResult<ScopeRequest> {
        Ok(ScopeRequest {
            groups: GroupSelection::Ids(self.group_ids()?),
            after: self.after,
            until: self.until,
            live_only: self.live_only,
        })
    }

    /// The group row ids, `BAD_USER_INPUT` for an id that is not a number.
    pub(super) fn group_ids(&self) -> AppResult<Vec<i64>> {
        self.groups
            .iter()
            .flatten()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| AppError::bad_input(format!("`{}` is not a group id", id.0)))
            })
            .collect()
    }
}

/// The scope `filter` selects in notebook (`public_id`, `row_id`).
pub(super) async fn resolve(
    app: &AppState,
    public_id: &str,
    row_id: i64,
    filter: Option<AnalyticsFilter>,
) -> AppResult<Scope> {
    let request = filter.unwrap_or_default().scope_request()?;
    Scope::resolve(&app.db, app.presence.as_ref(), (row_id, public_id), request).await
}
