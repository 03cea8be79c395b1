//! Reading the old Flask backend's PostgreSQL schema: one query per kind of row, restricted to
//! the selected notebooks, read in pages of ascending old id (keyset pagination, so a page
//! costs the same at the end of a table as at its start).
//!
//! The old schema is SQLAlchemy's: joined-table inheritance for events, enum columns holding
//! the Python enum's NAME (read back as text), naive timestamps meant as UTC, and
//! `cell_output_model` a pickle in a bytea column.

use anyhow::Context;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, QueryResult, Statement, Value,
};

/// One kind of old row: the columns to read, where from, and how to scope it to notebooks.
pub struct OldQuery {
    /// `SELECT` list besides the old primary key (read as `id`, a bigint).
    pub columns: &'static str,
    /// `FROM` (with joins) and a first `WHERE` condition (`TRUE` when none).
    pub from_where: &'static str,
    /// Column ordering the pages (the old primary key).
    pub id: &'static str,
    /// Condition restricting rows to `--notebook`s, with `{in}` for the list of ids.
    pub notebook: &'static str,
}

/// The notebooks selected with `--notebook`; empty means all.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub notebooks: Vec<String>,
}

impl Scope {
    /// ` AND <condition>` with `{in}` replaced by `($n, …)`, parameters from `$first`; nothing
    /// when unscoped.
    fn clause(&self, condition: &str, first: usize) -> (String, Vec<Value>) {
        if self.notebooks.is_empty() {
            return (String::new(), Vec::new());
        }
        let placeholders: Vec<String> = (0..self.notebooks.len())
            .map(|offset| format!("${}", first + offset))
            .collect();
        let values = self.notebooks.iter().map(|id| id.as_str().into()).collect();
        (
            format!(
                " AND {}",
                condition.replace("{in}", &format!("({})", placeholders.join(", ")))
            ),
            values,
        )
    }
}

fn statement(sql: String, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

/// Rows of `query` in the old database for `scope`.
pub async fn count(
    old: &DatabaseConnection,
    query: &OldQuery,
    scope: &Scope,
) -> anyhow::Result<u64> {
    let (scoped, values) = scope.clause(query.notebook, 1);
    let sql = format!("SELECT COUNT(*) AS n FROM {}{scoped}", query.from_where);
    let row = old
        .query_one_raw(statement(sql, values))
        .await
        .with_context(|| format!("counting old rows ({})", query.from_where))?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or_default())
}

/// The next page of `query`: up to `limit` rows with an old id above `after`, by id.
pub async fn page(
    old: &DatabaseConnection,
    query: &OldQuery,
    scope: &Scope,
    after: i64,
    limit: u64,
) -> anyhow::Result<Vec<QueryResult>> {
    let (scoped, mut values) = scope.clause(query.notebook, 3);
    let sql = format!(
        "SELECT {id}::bigint AS id, {} FROM {} AND {id} > $1{scoped} ORDER BY {id} LIMIT $2",
        query.columns,
        query.from_where,
        id = query.id
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    values.splice(0..0, [after.into(), limit.into()]);
    old.query_all_raw(statement(sql, values))
        .await
        .with_context(|| format!("reading old rows ({})", query.from_where))
}

pub const CODE_EXECUTIONS: OldQuery = OldQuery {
    columns: "e.notebook_id, e.user_id, c.cell_id, c.orig_cell_id, c.t_start, c.t_finish, \
              c.status, c.cell_input, c.cell_output_model, c.cell_output_length, \
              c.language_mimetype",
    from_where: "\"Event\" e JOIN \"CellExecution\" c ON c.id = e.id \
                 WHERE c.cell_type <> 'MarkdownExecution'",
    id: "e.id",
    notebook: "e.notebook_id IN {in}",
};

pub const MARKDOWN_EXECUTIONS: OldQuery = OldQuery {
    columns: "e.notebook_id, e.user_id, c.cell_id, c.orig_cell_id, c.t_start, c.cell_input",
    from_where: "\"Event\" e JOIN \"CellExecution\" c ON c.id = e.id \
                 WHERE c.cell_type = 'MarkdownExecution'",
    id: "e.id",
    notebook: "e.notebook_id IN {in}",
};

pub const CELL_CLICKS: OldQuery = OldQuery {
    columns: "e.notebook_id, e.user_id, cc.cell_id, cc.orig_cell_id, \
              k.click_type::text AS click_type, k.time, k.click_duration",
    from_where: "\"Event\" e JOIN \"ClickEvent\" k ON k.id = e.id \
                 JOIN \"CellClickEvent\" cc ON cc.id = e.id WHERE TRUE",
    id: "e.id",
    notebook: "e.notebook_id IN {in}",
};

pub const NOTEBOOK_CLICKS: OldQuery = OldQuery {
    columns: "e.notebook_id, e.user_id, k.click_type::text AS click_type, k.time, \
              k.click_duration",
    from_where: "\"Event\" e JOIN \"ClickEvent\" k ON k.id = e.id \
                 JOIN \"NotebookClickEvent\" nc ON nc.id = e.id WHERE TRUE",
    id: "e.id",
    notebook: "e.notebook_id IN {in}",
};

pub const CELL_ALTERATIONS: OldQuery = OldQuery {
    columns: "e.notebook_id, e.user_id, a.cell_id, \
              a.alteration_type::text AS alteration_type, a.time",
    from_where: "\"Event\" e JOIN \"CellAlteration\" a ON a.id = e.id WHERE TRUE",
    id: "e.id",
    notebook: "e.notebook_id IN {in}",
};

pub const PENDING_UPDATES: OldQuery = OldQuery {
    columns: "p.notebook_id, p.user_id, p.cell_id, p.update_id, p.action::text AS action, \
              p.sender, p.sender_type, p.timestamp",
    from_where: "\"PendingUpdateInteraction\" p WHERE TRUE",
    id: "p.id",
    notebook: "p.notebook_id IN {in}",
};

pub const DASHBOARD_EVENTS: OldQuery = OldQuery {
    columns: "d.notebook_id, d.dashboard_user_id, d.click_type::text AS click_type, \
              d.signal_origin, d.timestamp, d.dashboard_type::text AS dashboard_type",
    from_where: "\"DashboardEvent\" d WHERE TRUE",
    id: "d.id",
    notebook: "d.notebook_id IN {in}",
};

pub const NOTEBOOKS: OldQuery = OldQuery {
    columns: "n.notebook_id, n.name, n.s3_object_key, n.time",
    from_where: "\"Notebook\" n WHERE TRUE",
    id: "n.id",
    notebook: "n.notebook_id IN {in}",
};

/// Dashboard users; scoped, those authorized for a selected notebook.
pub const AUTH_USERS: OldQuery = OldQuery {
    columns: "u.username_hash, u.password_hash, u.is_superuser, u.is_admin",
    from_where: "\"AuthUsers\" u WHERE TRUE",
    id: "u.id",
    notebook: "EXISTS (SELECT 1 FROM \"AuthAssociation\" a \
               WHERE a.username_hash = u.username_hash AND a.notebook_id IN {in})",
};

/// Authorizations; the association table has no key, so pages go by its physical row order
/// number (`ROW_NUMBER` over a stable ordering).
pub const AUTHORIZATIONS: OldQuery = OldQuery {
    columns: "username_hash, notebook_id",
    from_where: "(SELECT ROW_NUMBER() OVER (ORDER BY username_hash, notebook_id) AS id, \
                 username_hash, notebook_id FROM \"AuthAssociation\") a WHERE TRUE",
    id: "id",
    notebook: "notebook_id IN {in}",
};

pub const GROUPS: OldQuery = OldQuery {
    columns: "group_name, notebook_id",
    from_where: "(SELECT ROW_NUMBER() OVER (ORDER BY group_pk) AS id, group_name, notebook_id \
                 FROM \"UserGroups\") g WHERE TRUE",
    id: "id",
    notebook: "notebook_id IN {in}",
};

pub const GROUP_MEMBERS: OldQuery = OldQuery {
    columns: "group_name, notebook_id, user_id",
    from_where: "(SELECT ROW_NUMBER() OVER (ORDER BY m.group_pk, m.user_id) AS id, \
                 g.group_name, g.notebook_id, m.user_id \
                 FROM \"UserGroupAssociation\" m JOIN \"UserGroups\" g ON g.group_pk = m.group_pk \
                 WHERE m.user_id IS NOT NULL) m WHERE TRUE",
    id: "id",
    notebook: "notebook_id IN {in}",
};

/// The old ids of the notebooks in `scope` (all notebooks when unscoped).
pub async fn notebook_ids(old: &DatabaseConnection, scope: &Scope) -> anyhow::Result<Vec<String>> {
    let (scoped, values) = scope.clause(NOTEBOOKS.notebook, 1);
    let sql = format!("SELECT n.notebook_id FROM {}{scoped}", NOTEBOOKS.from_where);
    let rows = old
        .query_all_raw(statement(sql, values))
        .await
        .context("reading old notebook ids")?;
    rows.iter()
        .map(|row| Ok(row.try_get("", "notebook_id")?))
        .collect()
}
