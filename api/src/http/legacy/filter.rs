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
    services::{dashboards::Scope, groups},
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
    DateTime::parse_from_rfc3339(&value.replace(' ', "+"))
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|_| LegacyError::bad_request(format!("{name} must be an ISO 8601 time")))
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
    pub async fn scope(
        &self,
        state: &HttpState,
        notebook: &notebook::Model,
    ) -> LegacyResult<Scope> {
        let after = parse_time("t1", self.t1.as_deref())?;
        let until = parse_time("t2", self.t2.as_deref())?;
        let live = self.display_real_time.as_deref().unwrap_or("true") == "true";
        let names = group_names(self.selected_groups.as_deref())?;
        let mut scope = by_groups(state, notebook, &names).await?;
        scope.after = after;
        scope.until = until;
        if live && until.is_none() {
            let connected = state
                .app
                .live()
                .connected_students(&notebook.public_id)
                .await?;
            scope.students = Some(match scope.students.take() {
                // Unknown group names already matched nobody.
                Some(none) => none,
                None => connected,
            });
        }
        Ok(scope)
    }
}

/// The scope of the notebook restricted to the groups named `names`. As on the old server, a
/// name that is not a group of the notebook matches nobody (names only it: no students).
pub async fn by_groups(
    state: &HttpState,
    notebook: &notebook::Model,
    names: &[String],
) -> LegacyResult<Scope> {
    let mut scope = Scope {
        notebook_id: notebook.id,
        ..Scope::default()
    };
    if names.is_empty() {
        return Ok(scope);
    }
    let all = groups::list(&state.app.db, notebook.id).await?;
    scope.groups = all
        .iter()
        .filter(|group| names.iter().any(|name| name.trim() == group.name))
        .map(|group| group.id)
        .collect();
    if scope.groups.is_empty() {
        scope.students = Some(Vec::new());
    }
    Ok(scope)
}
