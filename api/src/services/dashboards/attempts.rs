//! The latest attempt of each student at one cell: their latest execution of it in the scope
//! (by finish time, then arrival), sorted and paged in the database, with the total in the same
//! statement. The candidates are a few per student, from the rollups (each bucket's latest)
//! and the events of the window's edges and above the watermark
//! (`rolled::latest_execution_candidates`): a page costs the same for a session as for the
//! whole course.

use chrono::{DateTime, Utc};
use entity::enums::ExecutionStatus;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult};

use super::{Scope, rolled, sql::Sql};
use crate::error::{AppError, AppResult};

/// Most attempts one page may hold.
pub const MAX_LIMIT: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptSort {
    Time,
    InputLength,
    OutputLength,
}

impl AttemptSort {
    fn column(self) -> &'static str {
        match self {
            Self::Time => "t_finish",
            Self::InputLength => "input_length",
            Self::OutputLength => "cell_output_length",
        }
    }
}

pub struct AttemptsRequest {
    pub orig_cell_id: String,
    pub sort: AttemptSort,
    pub descending: bool,
    pub limit: u64,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The execution's row id: unique and stable, what the old dashboard pages by.
    pub id: i64,
    pub user_id: String,
    pub cell_id: String,
    pub orig_cell_id: String,
    pub status: ExecutionStatus,
    pub input: String,
    /// Characters of `input`.
    pub input_length: i64,
    pub output: serde_json::Value,
    pub output_length: i32,
    pub language_mimetype: String,
    pub t_start: DateTime<Utc>,
    pub t_finish: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptPage {
    /// Students with an attempt in the scope, whatever the page.
    pub total_count: i64,
    pub attempts: Vec<Attempt>,
}

pub async fn latest_attempts(
    db: &DatabaseConnection,
    scope: &Scope,
    request: &AttemptsRequest,
) -> AppResult<AttemptPage> {
    if request.limit > MAX_LIMIT {
        return Err(AppError::bad_input(format!("limit is at most {MAX_LIMIT}")));
    }
    let (txn, progress) = rolled::begin(db).await?;
    let rows = txn
        .query_all_raw(statement(db.get_database_backend(), scope, request, &progress).build())
        .await?;
    txn.commit().await?;
    let total_count = match rows.first() {
        Some(row) => row.try_get("", "total_count")?,
        None => 0,
    };
    let mut attempts = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(attempt) = attempt(row)? {
            attempts.push(attempt);
        }
    }
    Ok(AttemptPage {
        total_count,
        attempts,
    })
}

/// The page and the total in one statement: each student's latest among the candidates (a
/// few per student, fetched by id), sorted and paged.
fn statement(
    backend: DbBackend,
    scope: &Scope,
    request: &AttemptsRequest,
    progress: &rolled::Progress,
) -> Sql {
    let order = format!(
        "{} {}, user_id ASC",
        request.sort.column(),
        if request.descending { "DESC" } else { "ASC" }
    );
    let mut sql = Sql::new(backend);
    sql.push("WITH candidates AS (");
    rolled::latest_execution_candidates(&mut sql, scope, progress, &request.orig_cell_id);
    sql.push(
        "), latest AS (SELECT id, user_id, cell_id, orig_cell_id, status, cell_input, \
         CAST(LENGTH(cell_input) AS BIGINT) AS input_length, cell_output_model, cell_output_length, \
         language_mimetype, t_start, t_finish FROM (SELECT *, ROW_NUMBER() OVER \
         (PARTITION BY user_id ORDER BY t_finish DESC, id DESC) AS recency \
         FROM code_executions WHERE id IN (SELECT id FROM candidates)) AS ranked \
         WHERE recency = 1), page AS (SELECT * FROM latest ORDER BY ",
    )
    .push(&order)
    .push(" LIMIT ")
    .bind(i64::try_from(request.limit).unwrap_or(i64::MAX))
    .push(" OFFSET ")
    .bind(i64::try_from(request.offset).unwrap_or(i64::MAX))
    // The one-row anchor keeps the total when the page is empty (an offset past the end).
    .push(
        ") SELECT (SELECT COUNT(*) FROM latest) AS total_count, page.* \
         FROM (SELECT 1 AS anchor) AS anchor LEFT JOIN page ON 1 = 1 ORDER BY ",
    )
    .push(&order);
    sql
}

fn attempt(row: &QueryResult) -> AppResult<Option<Attempt>> {
    let Some(user_id) = row.try_get::<Option<String>>("", "user_id")? else {
        return Ok(None);
    };
    let status: String = row.try_get("", "status")?;
    let status = match status.as_str() {
        "ok" => ExecutionStatus::Ok,
        _ => ExecutionStatus::Error,
    };
    Ok(Some(Attempt {
        id: row.try_get("", "id")?,
        user_id,
        cell_id: row.try_get("", "cell_id")?,
        orig_cell_id: row
            .try_get::<Option<String>>("", "orig_cell_id")?
            .unwrap_or_default(),
        status,
        input: row.try_get("", "cell_input")?,
        input_length: row.try_get("", "input_length")?,
        output: row.try_get("", "cell_output_model")?,
        output_length: row.try_get("", "cell_output_length")?,
        language_mimetype: row.try_get("", "language_mimetype")?,
        t_start: row.try_get("", "t_start")?,
        t_finish: row.try_get("", "t_finish")?,
    }))
}
