//! One row per event for [`parts`](super::parts): the columns of a [`Sums`], with the event's
//! count added (or taken away, for the part of an hour outside a window).

use super::Sums;
use crate::services::{dashboards::sql::Sql, rollups::RolledTable};

/// One event table's rows as a [`Sums`] reads them. Which tables a `Sums` reads and the row it
/// makes of each are decided together ([`EventRows::of`]), so no table is read in a shape
/// that is not its own.
#[derive(Clone, Copy)]
pub(super) enum EventRows {
    /// [`Sums::Counts`]: one count per rolled table, the event's own table's 1.
    Count(RolledTable),
    /// [`Sums::Activity`] of a code execution.
    ExecutionActivity,
    /// [`Sums::Activity`] of a cell focus event.
    FocusActivity,
    /// [`Sums::KeptDurations`]: a focus event with a kept duration.
    KeptDuration,
    /// [`Sums::Tenths`]: a focus event with a kept duration, by its tenth of a second.
    KeptTenths,
}

impl EventRows {
    /// The event tables whose rows `sums` adds, each as it reads them, in
    /// [`RolledTable::ALL`] order.
    pub(super) fn of(sums: Sums) -> impl Iterator<Item = Self> {
        RolledTable::ALL
            .into_iter()
            .filter_map(move |table| Self::read(sums, table))
    }

    /// How `sums` reads `table`'s rows; `None` when it does not read them.
    fn read(sums: Sums, table: RolledTable) -> Option<Self> {
        use RolledTable::{Executions, Focus, Markdown};
        match (sums, table) {
            (Sums::Counts, _) => Some(Self::Count(table)),
            (Sums::Activity, Executions) => Some(Self::ExecutionActivity),
            (Sums::Activity, Focus) => Some(Self::FocusActivity),
            (Sums::KeptDurations, Focus) => Some(Self::KeptDuration),
            (Sums::Tenths, Focus) => Some(Self::KeptTenths),
            // Per-cell activity and durations have no column for a markdown execution, and
            // durations none for an execution.
            (Sums::Activity, Markdown)
            | (Sums::KeptDurations | Sums::Tenths, Executions | Markdown) => None,
        }
    }

    /// The table the rows are read from.
    pub(super) fn table(self) -> RolledTable {
        match self {
            Self::Count(table) => table,
            Self::ExecutionActivity => RolledTable::Executions,
            Self::FocusActivity | Self::KeptDuration | Self::KeptTenths => RolledTable::Focus,
        }
    }

    /// Pushes `SELECT <one row of sums per event> FROM <table> WHERE ` (the caller adds which
    /// events).
    pub(super) fn push(self, sql: &mut Sql, sign: Sign) {
        match self {
            Self::Count(table) => count_rows(sql, table, sign),
            Self::ExecutionActivity => execution_rows(sql, sign),
            Self::FocusActivity => focus_rows(sql, sign),
            Self::KeptDuration => kept_duration_rows(sql, sign),
            Self::KeptTenths => kept_tenths_rows(sql, sign),
        }
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

fn count_rows(sql: &mut Sql, table: RolledTable, sign: Sign) {
    let count = |of: RolledTable| match of == table {
        true => format!("{}1", sign.sql()),
        false => "0".to_owned(),
    };
    let counts = RolledTable::ALL.map(count).join(", ");
    sql.push(&format!("SELECT {counts} FROM {} WHERE ", table.name()));
}

fn execution_rows(sql: &mut Sql, sign: Sign) {
    let sign = sign.sql();
    sql.push(&format!(
        "SELECT COALESCE(orig_cell_id, ''), user_id, {sign}1, \
         {sign}(CASE WHEN status = 'ok' THEN 1 ELSE 0 END), 0, 0, 0, 0.0 FROM "
    ))
    .push(RolledTable::Executions.name())
    .push(" WHERE ");
}

fn kept_duration_rows(sql: &mut Sql, sign: Sign) {
    let sign = sign.sql();
    sql.push(&format!(
        "SELECT COALESCE(orig_cell_id, ''), user_id, {sign}1, {sign}click_duration FROM "
    ))
    .push(RolledTable::Focus.name())
    .push(" WHERE ")
    .kept_duration()
    .push(" AND ");
}

fn kept_tenths_rows(sql: &mut Sql, sign: Sign) {
    let sign = sign.sql();
    sql.push("SELECT COALESCE(orig_cell_id, ''), ")
        .tenths("click_duration")
        .push(&format!(", {sign}1, {sign}click_duration FROM "))
        .push(RolledTable::Focus.name())
        .push(" WHERE ")
        .kept_duration()
        .push(" AND ");
}

fn focus_rows(sql: &mut Sql, sign: Sign) {
    let sign = sign.sql();
    sql.push(&format!(
        "SELECT COALESCE(orig_cell_id, ''), user_id, 0, 0, {sign}1, \
         {sign}(CASE WHEN click_type = 'ON' THEN 1 ELSE 0 END), {sign}(CASE WHEN "
    ))
    .kept_duration()
    .push(&format!(" THEN 1 ELSE 0 END), {sign}(CASE WHEN "))
    .kept_duration()
    .push(" THEN click_duration ELSE 0.0 END) FROM ")
    .push(RolledTable::Focus.name())
    .push(" WHERE ");
}
