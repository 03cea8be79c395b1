//! One row per event for [`parts`](super::parts): the columns of a [`Sums`], with the event's
//! count added (or taken away, for the part of an hour outside a window).

use super::Sums;
use crate::services::{
    dashboards::sql::Sql,
    rollups::watermarks::{EXECUTIONS, FOCUS, MARKDOWN, Unapplied},
};

/// An event table the rollups sum.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Executions,
    Focus,
    Markdown,
}

impl Source {
    pub(super) const ALL: [Self; 3] = [Self::Executions, Self::Focus, Self::Markdown];

    pub(super) fn table(self) -> &'static str {
        match self {
            Self::Executions => EXECUTIONS,
            Self::Focus => FOCUS,
            Self::Markdown => MARKDOWN,
        }
    }

    /// The column a row is dated by (and bucketed by in the rollups).
    pub(super) fn time(self) -> &'static str {
        match self {
            Self::Executions => "t_finish",
            Self::Focus | Self::Markdown => "time",
        }
    }

    pub(super) fn unapplied(self, unapplied: &Unapplied) -> Option<i64> {
        match self {
            Self::Executions => unapplied.executions,
            Self::Focus => unapplied.focus,
            Self::Markdown => unapplied.markdown,
        }
    }
}

/// Pushes `SELECT <one row of sums per event> FROM <source> WHERE ` (the caller adds which
/// events).
pub(super) fn event_rows(sql: &mut Sql, (source, sign): (Source, Sign), sums: Sums) {
    match (sums, source) {
        // Only the counts read markdown executions (`Sums::sources`).
        (Sums::Counts, _) | (_, Source::Markdown) => {
            let count = |of: Source| match of == source {
                true => format!("{}1", sign.sql()),
                false => "0".to_owned(),
            };
            let [executions, focus, markdown] = Source::ALL.map(count);
            sql.push(&format!(
                "SELECT {executions}, {focus}, {markdown} FROM {} WHERE ",
                source.table()
            ));
        }
        (_, Source::Executions) => execution_rows(sql, sign),
        (_, Source::Focus) => focus_rows(sql, sign, sums),
    }
}

/// Whether an event's row adds to the totals or takes away from them.
#[derive(Clone, Copy)]
pub(super) enum Sign {
    Plus,
    Minus,
}

impl Sign {
    fn sql(self) -> &'static str {
        match self {
            Self::Plus => "",
            Self::Minus => "-",
        }
    }
}

fn execution_rows(sql: &mut Sql, sign: Sign) {
    let sign = sign.sql();
    sql.push(&format!(
        "SELECT COALESCE(orig_cell_id, ''), user_id, {sign}1, \
         {sign}(CASE WHEN status = 'ok' THEN 1 ELSE 0 END), 0, 0, 0, 0.0 FROM "
    ))
    .push(EXECUTIONS)
    .push(" WHERE ");
}

fn focus_rows(sql: &mut Sql, sign: Sign, sums: Sums) {
    let sign = sign.sql();
    if sums == Sums::KeptDurations {
        sql.push(&format!(
            "SELECT COALESCE(orig_cell_id, ''), user_id, {sign}1, {sign}click_duration FROM "
        ))
        .push(FOCUS)
        .push(" WHERE ")
        .kept_duration()
        .push(" AND ");
        return;
    }
    sql.push(&format!(
        "SELECT COALESCE(orig_cell_id, ''), user_id, 0, 0, {sign}1, \
         {sign}(CASE WHEN click_type = 'ON' THEN 1 ELSE 0 END), {sign}(CASE WHEN "
    ))
    .kept_duration()
    .push(&format!(" THEN 1 ELSE 0 END), {sign}(CASE WHEN "))
    .kept_duration()
    .push(" THEN click_duration ELSE 0.0 END) FROM ")
    .push(FOCUS)
    .push(" WHERE ");
}
