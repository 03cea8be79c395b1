//! Two corrections to the event tables:
//!
//! - A client `event_id` is unique per (notebook, student), not across the whole table: an
//!   event whose id another student happened to use was acknowledged but never stored.
//!   Dashboard interactions, whose notebook is optional, are keyed by (user, event id).
//! - `orig_cell_id` is nullable: the extension sends null when a student's copy lacks the cell
//!   mapping. Rows stored as `""` (how such events were kept until now) become null.
//!
//! PostgreSQL alters the tables in place. SQLite cannot drop a column constraint, so each table
//! is rebuilt from its own stored definition with the constraint removed, which keeps every
//! other column, default and foreign key exactly as migration 2 created it.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement, TransactionTrait},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Event tables, and the columns of their new unique key.
const TABLES: [(&str, &str); 7] = [
    ("code_executions", "notebook_id, user_id, event_id"),
    ("markdown_executions", "notebook_id, user_id, event_id"),
    ("cell_focus_events", "notebook_id, user_id, event_id"),
    ("notebook_focus_events", "notebook_id, user_id, event_id"),
    ("cell_alterations", "notebook_id, user_id, event_id"),
    (
        "pending_update_interactions",
        "notebook_id, user_id, event_id",
    ),
    ("dashboard_interactions", "user_id, event_id"),
];

const WITH_ORIG_CELL: [&str; 3] = [
    "code_executions",
    "markdown_executions",
    "cell_focus_events",
];

fn key_index(table: &str) -> String {
    format!("idx_{table}_event_key")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, key) in TABLES {
            let nullable_orig = WITH_ORIG_CELL.contains(&table);
            match db.get_database_backend() {
                DatabaseBackend::Sqlite => {
                    rebuild_sqlite(db, table, |sql| relax(sql, nullable_orig)).await?
                }
                _ => {
                    let mut sql = format!(
                        "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_event_id_key;"
                    );
                    if nullable_orig {
                        sql += &format!(
                            "ALTER TABLE {table} ALTER COLUMN orig_cell_id DROP NOT NULL;"
                        );
                    }
                    db.execute_unprepared(&sql).await?;
                }
            }
            if nullable_orig {
                db.execute_unprepared(&format!(
                    "UPDATE {table} SET orig_cell_id = NULL WHERE orig_cell_id = ''"
                ))
                .await?;
            }
            // Partial: most events carry no id, and an index entry per row would cost every
            // insert a B-tree descent for nothing.
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {} ON {table} ({key}) WHERE event_id IS NOT NULL",
                key_index(table)
            ))
            .await?;
        }
        Ok(())
    }

    /// Back to a table-wide unique `event_id` and `""` for unmapped cells. Fails if two
    /// students' events now share an id, as the old key cannot hold them.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, _) in TABLES {
            let with_orig = WITH_ORIG_CELL.contains(&table);
            db.execute_unprepared(&format!("DROP INDEX {}", key_index(table)))
                .await?;
            if with_orig {
                db.execute_unprepared(&format!(
                    "UPDATE {table} SET orig_cell_id = '' WHERE orig_cell_id IS NULL"
                ))
                .await?;
            }
            match db.get_database_backend() {
                DatabaseBackend::Sqlite => {
                    rebuild_sqlite(db, table, |sql| restore(sql, with_orig)).await?
                }
                _ => {
                    let mut sql = format!(
                        "ALTER TABLE {table} ADD CONSTRAINT {table}_event_id_key UNIQUE (event_id);"
                    );
                    if with_orig {
                        sql +=
                            &format!("ALTER TABLE {table} ALTER COLUMN orig_cell_id SET NOT NULL;");
                    }
                    db.execute_unprepared(&sql).await?;
                }
            }
        }
        Ok(())
    }
}

/// The text of one column's definition in a `CREATE TABLE` statement: from its quoted name to
/// the next comma (these columns' types have no commas).
fn column_span(sql: &str, column: &str) -> Result<(usize, usize), DbErr> {
    let start = sql
        .find(&format!("\"{column}\""))
        .ok_or_else(|| DbErr::Migration(format!("column {column} not found in {sql}")))?;
    let end = sql[start..]
        .find(',')
        .map_or(sql.len(), |offset| start + offset);
    Ok((start, end))
}

fn remove_from_column(sql: &str, column: &str, words: &str) -> Result<String, DbErr> {
    let (start, end) = column_span(sql, column)?;
    let definition = &sql[start..end];
    if !definition.contains(words) {
        return Err(DbErr::Migration(format!(
            "{column} is not {words} in {sql}"
        )));
    }
    Ok(format!(
        "{}{}{}",
        &sql[..start],
        definition.replacen(words, "", 1),
        &sql[end..]
    ))
}

fn add_to_column(sql: &str, column: &str, words: &str) -> Result<String, DbErr> {
    let (_, end) = column_span(sql, column)?;
    Ok(format!("{}{words}{}", &sql[..end], &sql[end..]))
}

fn relax(sql: &str, nullable_orig: bool) -> Result<String, DbErr> {
    let sql = remove_from_column(sql, "event_id", " UNIQUE")?;
    match nullable_orig {
        true => remove_from_column(&sql, "orig_cell_id", " NOT NULL"),
        false => Ok(sql),
    }
}

fn restore(sql: &str, with_orig: bool) -> Result<String, DbErr> {
    let sql = add_to_column(sql, "event_id", " UNIQUE")?;
    match with_orig {
        true => add_to_column(&sql, "orig_cell_id", " NOT NULL"),
        false => Ok(sql),
    }
}

/// SQLite's documented way to change a table's constraints: create the new table, copy the
/// rows, drop the old one, rename, and recreate its indexes.
async fn rebuild_sqlite(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    change: impl Fn(&str) -> Result<String, DbErr>,
) -> Result<(), DbErr> {
    // One connection for every step: each step must see the schema the previous one left.
    let db = db.begin().await?;
    let schema = |kind: &str| {
        Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL",
            [kind.into(), table.into()],
        )
    };
    let definitions = |rows: Vec<QueryResult>| {
        rows.iter()
            .map(|row| row.try_get::<String>("", "sql"))
            .collect::<Result<Vec<_>, _>>()
    };
    let create = definitions(db.query_all_raw(schema("table")).await?)?;
    let indexes = definitions(db.query_all_raw(schema("index")).await?)?;
    let create = create
        .first()
        .ok_or_else(|| DbErr::Migration(format!("table {table} not found")))?;
    let staging = format!("{table}__rebuilt");
    let changed = change(create)?.replacen(&format!("\"{table}\""), &format!("\"{staging}\""), 1);
    db.execute_unprepared(&changed).await?;
    let steps = [
        format!("INSERT INTO \"{staging}\" SELECT * FROM \"{table}\""),
        format!("DROP TABLE \"{table}\""),
        format!("ALTER TABLE \"{staging}\" RENAME TO \"{table}\""),
    ];
    for step in steps.iter().chain(&indexes) {
        db.execute_unprepared(step).await?;
    }
    db.commit().await
}
