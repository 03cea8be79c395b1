//! The latest render of each student of one markdown cell: what the old dashboard's cell page
//! lists for a markdown cell (the code-cell list is [`super::latest_attempts`]). Same rules:
//! latest by time then arrival, sorted and paged in the database.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::{AttemptSort, AttemptsRequest, Scope, attempts::MAX_LIMIT, sql::Sql};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Render {
    /// The render's row id: unique and stable.
    pub id: i64,
    pub user_id: String,
    pub content: String,
    pub time: DateTime<Utc>,
}

/// Each student's latest render of original cell `request.orig_cell_id` in the scope. Sorting
/// by output length (markdown has none) sorts by time.
pub async fn latest_renders(
    db: &impl ConnectionTrait,
    scope: &Scope,
    request: &AttemptsRequest,
) -> AppResult<Vec<Render>> {
    if request.limit > MAX_LIMIT {
        return Err(AppError::bad_input(format!("limit is at most {MAX_LIMIT}")));
    }
    let column = match request.sort {
        AttemptSort::InputLength => "content_length",
        AttemptSort::Time | AttemptSort::OutputLength => "time",
    };
    let direction = if request.descending { "DESC" } else { "ASC" };
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT id, user_id, cell_content, time FROM (SELECT id, user_id, cell_content, time, \
         CAST(LENGTH(cell_content) AS BIGINT) AS content_length, ROW_NUMBER() OVER \
         (PARTITION BY user_id ORDER BY time DESC, id DESC) AS recency \
         FROM markdown_executions WHERE ",
    )
    .scope(scope, "time")
    .unmapped_or_cell(&request.orig_cell_id)
    .push(") AS ranked WHERE recency = 1 ORDER BY ")
    .push(&format!("{column} {direction}, user_id ASC LIMIT "))
    .bind(i64::try_from(request.limit).unwrap_or(i64::MAX))
    .push(" OFFSET ")
    .bind(i64::try_from(request.offset).unwrap_or(i64::MAX));
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| {
            Ok(Render {
                id: row.try_get("", "id")?,
                user_id: row.try_get("", "user_id")?,
                content: row.try_get("", "cell_content")?,
                time: row.try_get("", "time")?,
            })
        })
        .collect()
}
