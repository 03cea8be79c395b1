//! A small SQL text builder: statements are written as SQL (window functions and CTEs read
//! better that way than through a query builder) while every value is bound, with the
//! placeholder style of the connection's backend. Also renders a [`Scope`] as a condition.

use std::ops::Bound;

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement, Value};

use super::{Scope, StudentHalf};

pub(super) struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                let placeholder = format!("${}", self.values.len());
                self.text.push_str(&placeholder);
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// `(v1, v2, …)`; `(NULL)` for no values, which `IN` never matches.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push('(');
        let mut empty = true;
        for value in values {
            if !empty {
                self.text.push_str(", ");
            }
            self.bind(value);
            empty = false;
        }
        if empty {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    /// `notebook_id = … AND <time> > after AND <time> <= until AND <students>` on the
    /// unqualified columns of one event table.
    pub fn scope(&mut self, scope: &Scope, time: &str) -> &mut Self {
        self.push("notebook_id = ").bind(scope.notebook_id);
        self.window(scope, time).students(scope)
    }

    /// The time part of a scope: ` AND <time> > after AND <time> <= until`, for the ends it has.
    pub fn window(&mut self, scope: &Scope, time: &str) -> &mut Self {
        let after = scope.after.map_or(Bound::Unbounded, Bound::Excluded);
        let until = scope.until.map_or(Bound::Unbounded, Bound::Included);
        self.between(time, after, until)
    }

    /// ` AND <time> > lower` (or `>=` when included) ` AND <time> < upper` (or `<=`); nothing
    /// for an unbounded end.
    pub fn between(
        &mut self,
        time: &str,
        lower: Bound<DateTime<Utc>>,
        upper: Bound<DateTime<Utc>>,
    ) -> &mut Self {
        for (limit, strict, inclusive) in [(lower, ">", ">="), (upper, "<", "<=")] {
            match limit {
                Bound::Excluded(value) => self.push(&format!(" AND {time} {strict} ")).bind(value),
                Bound::Included(value) => {
                    self.push(&format!(" AND {time} {inclusive} ")).bind(value)
                }
                Bound::Unbounded => self,
            };
        }
        self
    }

    /// The condition of a focus event whose duration counts towards time per cell (the rule
    /// of `rollups::kept_duration`, as SQL): an `OFF` event with a duration of at most
    /// [`MAX_DURATION_SECS`](crate::services::rollups::MAX_DURATION_SECS). Written as the
    /// partial index of kept durations by time has it (`migration::KEPT_DURATION`), so that
    /// both databases see it implies the index's. SQLite bounds an index range by the first
    /// limit it reads on a column: a narrower range of durations must come before it.
    pub fn kept_duration(&mut self) -> &mut Self {
        self.push(migration::KEPT_DURATION)
    }

    /// ` AND orig_cell_id = cell`, where the cell `""` is the unmapped bucket: events whose
    /// student copy lacked the cell mapping (stored with a null original cell id).
    pub fn unmapped_or_cell(&mut self, cell: &str) -> &mut Self {
        match cell.is_empty() {
            true => self.push(" AND orig_cell_id IS NULL"),
            false => self.push(" AND orig_cell_id = ").bind(cell.to_owned()),
        }
    }

    /// The student part of a scope: ` AND user_id IN …` for groups and for a student list.
    pub fn students(&mut self, scope: &Scope) -> &mut Self {
        if !scope.groups.is_empty() {
            self.push(" AND user_id IN (SELECT user_id FROM group_members WHERE group_id IN ")
                .bind_list(scope.groups.iter().copied())
                .push(")");
        }
        if let Some(students) = &scope.students {
            self.push(" AND user_id IN ")
                .bind_list(students.iter().cloned());
        }
        match scope.half {
            Some(StudentHalf::Lower) => self.push(" AND user_id < "),
            Some(StudentHalf::Upper) => self.push(" AND user_id >= "),
            None => return self,
        };
        self.bind(StudentHalf::BOUNDARY)
    }

    /// [`duration_tenths`](crate::services::rollups::duration_tenths) of a non-negative
    /// number of seconds, with the same floating-point operations.
    pub fn tenths(&mut self, column: &str) -> &mut Self {
        match self.backend {
            DbBackend::Postgres => self.push(&format!(
                "(CAST(FLOOR({column}) AS BIGINT) * 10 \
                 + CAST(FLOOR(({column} - FLOOR({column})) * 10) AS BIGINT))"
            )),
            _ => self.push(&format!(
                "(CAST({column} AS INTEGER) * 10 \
                 + CAST(({column} - CAST({column} AS INTEGER)) * 10 AS INTEGER))"
            )),
        }
    }

    /// The text written so far, leaving none (the values bound stay): for a statement that
    /// wraps it, where it must appear exactly once.
    pub fn take_text(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use crate::services::rollups::MAX_DURATION_SECS;

    #[test]
    fn the_kept_duration_condition_has_the_outlier_limit_of_the_rollups() {
        let limit = format!("click_duration <= {MAX_DURATION_SECS}");
        assert!(
            migration::KEPT_DURATION.ends_with(&limit),
            "{} does not end with {limit}",
            migration::KEPT_DURATION
        );
    }
}
