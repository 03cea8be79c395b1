//! The rollup deltas of stored rows: code executions, cell focus events and markdown
//! executions, read back by id range (the applier's new rows, a rebuild's every row) with one
//! select list and decoded by one function, so the two cannot disagree on what a row adds. A
//! focus event's row id is the tie-break of "latest".

use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, Row};

use super::super::rollups::{Deltas, RolledTable};

/// The select list of `table`'s rows, as [`add`] decodes them.
pub fn select_list(table: RolledTable) -> &'static str {
    match table {
        RolledTable::Executions => {
            "id, notebook_id, user_id, orig_cell_id, t_finish AS rollup_time, \
             status AS rollup_word, CAST(NULL AS DOUBLE PRECISION) AS rollup_duration"
        }
        RolledTable::Focus => {
            "id, notebook_id, user_id, orig_cell_id, time AS rollup_time, \
             click_type AS rollup_word, click_duration AS rollup_duration"
        }
        RolledTable::Markdown => {
            "id, notebook_id, user_id, orig_cell_id, time AS rollup_time, \
             CAST(NULL AS TEXT) AS rollup_word, CAST(NULL AS DOUBLE PRECISION) AS rollup_duration"
        }
    }
}

/// Adds one row of `table` read with [`select_list`]'s columns; returns its row id.
pub fn add<R: Row>(deltas: &mut Deltas, table: RolledTable, row: &R) -> Result<i64, sqlx::Error>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let id: i64 = row.try_get("id")?;
    let notebook_id: i64 = row.try_get("notebook_id")?;
    let user: String = row.try_get("user_id")?;
    let cell: Option<String> = row.try_get("orig_cell_id")?;
    let time: DateTime<Utc> = row.try_get("rollup_time")?;
    let word: Option<String> = row.try_get("rollup_word")?;
    let student = (notebook_id, user.as_str());
    match table {
        RolledTable::Executions => {
            let ok = word.as_deref() == Some("ok");
            deltas.execution(student, (cell.as_deref(), id), time, ok);
        }
        RolledTable::Focus => {
            let duration: Option<f64> = row.try_get("rollup_duration")?;
            let on = word.as_deref() == Some("ON");
            deltas.focus(student, (cell.as_deref(), id), time, (on, duration));
        }
        RolledTable::Markdown => deltas.markdown(student, cell.as_deref(), time),
    }
    Ok(id)
}
