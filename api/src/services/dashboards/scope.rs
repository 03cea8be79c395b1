//! The scope of an aggregate (one notebook, a time window, a set of students) and the one way a
//! dashboard's filter becomes it, whoever asks: GraphQL's `AnalyticsFilter` (groups by id) and
//! the old dashboard's query parameters (groups by name) alike.

use chrono::{DateTime, Utc};
use entity::student_group;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::members_among;
use crate::{
    broker::presence::{Presence, PresenceRole},
    error::{AppError, AppResult},
    services::groups,
    validation::storable_time,
};

/// Which events an aggregate reads: one notebook, a time window and a set of students.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The notebook's row id.
    pub notebook_id: i64,
    /// Exclusive lower bound on the event time.
    pub after: Option<DateTime<Utc>>,
    /// Inclusive upper bound on the event time.
    pub until: Option<DateTime<Utc>>,
    /// Members of at least one of these groups only; empty = no restriction. The groups must
    /// belong to the notebook ([`check_groups`]).
    pub groups: Vec<i64>,
    /// These students only (e.g. the ones connected now), when set.
    pub students: Option<Vec<String>>,
    /// The students of one half only, by pseudonym, when set: a read split between two
    /// connections reads each half on one.
    pub half: Option<StudentHalf>,
}

/// Half of the students, by pseudonym: below [`StudentHalf::BOUNDARY`] or from it on. The two
/// conditions are each other's complement whatever the ids, so the halves hold every student
/// once; pseudonyms are hexadecimal digests, so about half of them fall on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudentHalf {
    Lower,
    Upper,
}

impl StudentHalf {
    pub const BOUNDARY: &'static str = "8";
}

/// `BAD_USER_INPUT` unless every group of `group_ids` belongs to notebook `notebook_id`. An
/// unknown group and another notebook's group get the same answer, so ids cannot be probed.
async fn check_groups(
    db: &impl ConnectionTrait,
    notebook_id: i64,
    group_ids: &[i64],
) -> AppResult<()> {
    if group_ids.is_empty() {
        return Ok(());
    }
    let found: Vec<i64> = student_group::Entity::find()
        .select_only()
        .column(student_group::Column::Id)
        .filter(student_group::Column::NotebookId.eq(notebook_id))
        .filter(student_group::Column::Id.is_in(group_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    match group_ids.iter().find(|id| !found.contains(id)) {
        Some(missing) => Err(AppError::bad_input(format!(
            "group {missing} is not a group of this notebook"
        ))),
        None => Ok(()),
    }
}

/// Which groups a filter selects.
#[derive(Debug, Clone, Default)]
pub enum GroupSelection {
    #[default]
    All,
    /// By id: every id must be a group of the notebook (`BAD_USER_INPUT` otherwise).
    Ids(Vec<i64>),
    /// By name (the old dashboard): a name that is not a group of the notebook matches nobody,
    /// so names that are all unknown select no student.
    Names(Vec<String>),
}

/// A dashboard's filter, before it is checked against the notebook.
#[derive(Debug, Clone, Default)]
pub struct ScopeRequest {
    pub after: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only the students connected now; ignored once `until` is set (an ended window is
    /// history).
    pub live_only: bool,
    pub groups: GroupSelection,
}

impl Scope {
    /// Whether the scope reads every student of the notebook (no group or student filter).
    pub fn has_every_student(&self) -> bool {
        self.groups.is_empty() && self.students.is_none() && self.half.is_none()
    }

    /// This scope's students split into halves ([`StudentHalf`]).
    pub fn halves(&self) -> (Self, Self) {
        let half = |half| Self {
            half: Some(half),
            ..self.clone()
        };
        (half(StudentHalf::Lower), half(StudentHalf::Upper))
    }

    /// The scope `request` selects in the notebook with row id `notebook_id` and public id
    /// `public_id`: the window checked (`until` later than `after`), the groups checked or
    /// matched, "live only" resolved through presence.
    pub async fn resolve(
        db: &impl ConnectionTrait,
        presence: &dyn Presence,
        (notebook_id, public_id): (i64, &str),
        request: ScopeRequest,
    ) -> AppResult<Self> {
        for (field, time) in [("after", &request.after), ("until", &request.until)] {
            time.as_ref()
                .map_or(Ok(()), |time| storable_time(field, time))?;
        }
        if let (Some(after), Some(until)) = (request.after, request.until)
            && after >= until
        {
            return Err(AppError::bad_input("`until` must be later than `after`"));
        }
        let mut scope = Self {
            notebook_id,
            after: request.after,
            until: request.until,
            ..Self::default()
        };
        scope.select_groups(db, request.groups).await?;
        if request.live_only && request.until.is_none() && scope.students.is_none() {
            scope.students = Some(connected(presence, public_id).await?);
        }
        Ok(scope)
    }

    async fn select_groups(
        &mut self,
        db: &impl ConnectionTrait,
        selection: GroupSelection,
    ) -> AppResult<()> {
        match selection {
            GroupSelection::All => {}
            GroupSelection::Ids(mut ids) => {
                ids.sort_unstable();
                ids.dedup();
                check_groups(db, self.notebook_id, &ids).await?;
                self.groups = ids;
            }
            GroupSelection::Names(names) if names.is_empty() => {}
            GroupSelection::Names(names) => {
                let all = groups::list(db, self.notebook_id).await?;
                self.groups = all
                    .iter()
                    .filter(|group| names.iter().any(|name| name.trim() == group.name))
                    .map(|group| group.id)
                    .collect();
                if self.groups.is_empty() {
                    self.students = Some(Vec::new());
                }
            }
        }
        Ok(())
    }

    /// The students connected to notebook `public_id` now who are in this scope (its groups,
    /// its students), sorted. The window does not apply: connections have no event time.
    pub async fn connected_students(
        &self,
        db: &impl ConnectionTrait,
        presence: &dyn Presence,
        public_id: &str,
    ) -> AppResult<Vec<String>> {
        if self.students.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut connected = connected(presence, public_id).await?;
        if let Some(students) = &self.students {
            connected.retain(|student| students.contains(student));
        }
        members_among(db, &self.groups, connected).await
    }
}

async fn connected(presence: &dyn Presence, public_id: &str) -> AppResult<Vec<String>> {
    presence
        .connected(public_id, PresenceRole::Student)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "presence store unavailable");
            AppError::broker_unavailable()
        })
}
