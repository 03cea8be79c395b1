//! The dashboard's query parameters (`displayRealTime`, `t1`, `t2`, `sortBy`, `selectedGroups`)
//! resolved into the services' `Scope`, as GraphQL's `AnalyticsFilter` is: `t1` exclusive,
//! `t2` inclusive, "real time" (connected students only) ignored once `t2` is set, groups by
//! name within the notebook.

use chrono::{DateTime, Utc};
use entity::notebook;
use serde::Deserialize;

use super::guard::{LegacyError, LegacyResult};
use crate::{
    http::HttpState,
    services::dashboards::{GroupSelection, Scope, ScopeRequest},
    validation::storable_time,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DashboardQuery {
    pub display_real_time: Option<String>,
    pub t1: Option<String>,
    pub t2: Option<String>,
    pub sort_by: Option<String>,
    /// A JSON list of group names.
    pub selected_groups: Option<String>,
}

/// A time parameter: RFC 3339. The dashboard puts `Date.toISOString()` unencoded in the
/// query, where a `+` offset would arrive as a space, so a space is read back as `+`.
pub fn parse_time(name: &str, value: Option<&str>) -> LegacyResult<Option<DateTime<Utc>>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let time = DateTime::parse_from_rfc3339(&value.replace(' ', "+"))
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| LegacyError::bad_request(format!("{name} must be an ISO 8601 time")))?;
    storable_time(name, &time)?;
    Ok(Some(time))
}

/// `selectedGroups`: a JSON list of names (absent or empty: no restriction).
pub fn group_names(raw: Option<&str>) -> LegacyResult<Vec<String>> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw).map_err(|_| {
            LegacyError::bad_request("selectedGroups must be a JSON list of group names")
        }),
    }
}

impl DashboardQuery {
    /// The scope these parameters select (`displayRealTime` defaults to true, as on the old
    /// dashboard).
    pub async fn scope(
        &self,
        state: &HttpState,
        notebook: &notebook::Model,
    ) -> LegacyResult<Scope> {
        let request = ScopeRequest {
            after: parse_time("t1", self.t1.as_deref())?,
            until: parse_time("t2", self.t2.as_deref())?,
            live_only: self.display_real_time.as_deref().unwrap_or("true") == "true",
            groups: GroupSelection::Names(group_names(self.selected_groups.as_deref())?),
        };
        resolve(state, notebook, request).await
    }
}

/// The scope of the notebook restricted to the groups named `names`. As on the old server, a
/// name that is not a group of the notebook matches nobody (names only it: no students).
pub async fn by_groups(
    state: &HttpState,
    notebook: &notebook::Model,
    names: &[String],
) -> LegacyResult<Scope> {
    let request = ScopeRequest {
        groups: GroupSelection::Names(names.to_vec()),
        ..ScopeRequest::default()
    };
    resolve(state, notebook, request).await
}

async fn resolve(
    state: &HttpState,
    notebook: &notebook::Model,
    request: ScopeRequest,
) -> LegacyResult<Scope> {
    let app = &state.app;
    let notebook = (notebook.id, notebook.public_id.as_str());
    Ok(Scope::resolve(&app.db, app.presence.as_ref(), notebook, request).await?)
}
