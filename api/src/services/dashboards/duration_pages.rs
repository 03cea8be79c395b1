//! A page of each cell's kept durations (`focusDurationsPerCell`), in event order. Numbering
//! every duration of the window per cell to cut a page from it read and sorted the whole
//! window; instead, in one snapshot:
//! 1. the notebook's cells with a kept duration, stepped through on the partial index of kept
//!    durations by (notebook, cell, time): one seek per cell;
//! 2. each cell's page, walked in time order on that index and stopped after the page:
//!    `offset + limit` durations per cell, not the window;
//! 3. a page shorter than asked ends its cell, so its total is `offset` plus its length; only
//!    the cells with a full page have their totals summed from the rollups (the duration
//!    rollups for the whole class, the per-student ones for a group filter). Most cells of a
//!    class session hold fewer durations than a page, and summing every cell's took 10 of the
//!    24 ms its pages spent in PostgreSQL.
//!
//! On PostgreSQL many pages are read on two connections at once ([`parallel`]).

mod parallel;

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend};
use serde_json::json;

use super::{
    Scope,
    arrays::number_array_column,
    cells::{CellDurations, DurationPage},
    members_among, rolled,
    sql::Sql,
};
use crate::{
    error::AppResult,
    services::{groups, rollups::RolledTable},
};

/// Per cell with a kept duration in the scope, `page` of its durations (by event time, then
/// arrival) and its total; a cell whose page is past its end is left out.
pub async fn focus_duration_pages(
    db: &DatabaseConnection,
    scope: &Scope,
    page: DurationPage,
) -> AppResult<Vec<CellDurations>> {
    let (txn, progress) = rolled::begin(db).await?;
    let cells = cells_with_kept_durations(&txn, scope).await?;
    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
    let Read { mut pages, totals } = match cells.is_empty() {
        true => Read::default(),
        false => read_pages((db, &txn), (scope, &progress), &cells, page).await?,
    };
    pages.retain(|(_, durations)| !durations.is_empty());
    let full: Vec<&str> = full_pages(&pages, page).collect();
    let totals = match totals {
        Some(totals) => totals,
        None if full.is_empty() => BTreeMap::new(),
        None => totals_of(&txn, (scope, &progress), &full).await?,
    };
    txn.commit().await?;
    Ok(pages
        .into_iter()
        .map(|(cell_id, durations)| {
            let total_count = match is_full(&durations, page) {
                true => totals.get(&cell_id).copied().unwrap_or_default(),
                false => page.offset + i64::try_from(durations.len()).unwrap_or_default(),
            };
            CellDurations {
                cell_id,
                durations,
                total_count,
            }
        })
        .collect())
}

/// A cell's page of durations.
type Page = (String, Vec<f64>);

/// The pages of the cells with a kept duration, and the totals of (at least) those whose page
/// is full if they were summed along the way.
#[derive(Default)]
struct Read {
    pages: Vec<Page>,
    totals: Option<BTreeMap<String, i64>>,
}

/// Whether a page holds all it was asked for, so that its cell may hold more.
fn is_full(durations: &[f64], page: DurationPage) -> bool {
    i64::try_from(durations.len()).unwrap_or(i64::MAX) >= page.limit
}

/// The cells of `pages` whose page is full.
fn full_pages(pages: &[Page], page: DurationPage) -> impl Iterator<Item = &str> {
    pages
        .iter()
        .filter(move |(_, durations)| is_full(durations, page))
        .map(|(cell, _)| cell.as_str())
}

/// The notebook's original cells with a kept duration at any time (`""` for the unmapped
/// cell), found by a seek per cell on the partial index of kept durations: a cell with none
/// in the scope gets an empty page.
async fn cells_with_kept_durations(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> AppResult<Vec<String>> {
    let mut sql = Sql::new(txn.get_database_backend());
    // `FROM … WHERE` the notebook's kept durations with `cell` (a condition on the cell).
    let kept_where = |sql: &mut Sql, cell: &str| {
        from_kept_durations(sql)
            .push(" WHERE notebook_id = ")
            .bind(scope.notebook_id)
            .push(cell)
            .push(" AND ")
            .kept_duration();
    };
    const FIRST: &str = " ORDER BY orig_cell_id LIMIT 1";
    sql.push("WITH RECURSIVE cells(cell) AS (SELECT (SELECT orig_cell_id");
    kept_where(&mut sql, " AND orig_cell_id IS NOT NULL");
    sql.push(FIRST)
        .push(") UNION ALL SELECT (SELECT orig_cell_id");
    kept_where(&mut sql, " AND orig_cell_id > cells.cell");
    sql.push(FIRST).push(
        ") FROM cells WHERE cell IS NOT NULL) SELECT cell FROM cells WHERE cell IS NOT NULL \
         UNION ALL SELECT '' WHERE EXISTS (SELECT 1",
    );
    kept_where(&mut sql, " AND orig_cell_id IS NULL");
    sql.push(")");
    txn.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| Ok(row.try_get("", "cell")?))
        .collect()
}

/// The cells' pages, read in parts on two connections when they may hold many durations
/// (which may sum the totals too: [`parallel::read_in_parts`]).
///
/// A row per cell, its page as one array of its durations: 60 000 durations as rows took
/// longer to send, sort and decode than to read. PostgreSQL sends a `float8[]`, each double as
/// its 8 bytes (writing them as JSON text took 3 ms of the statement's 20 for a 1.5 M-event
/// class's whole course, and the server parsed that text back); SQLite, which has no arrays, a
/// JSON array of text that reads back as the same doubles ([`pages_in_branches`]; its own JSON
/// functions write 15 significant digits, which do not always).
async fn read_pages(
    (db, txn): (&DatabaseConnection, &DatabaseTransaction),
    (scope, progress): (&Scope, &rolled::Progress),
    cells: &[&str],
    page: DurationPage,
) -> AppResult<Read> {
    let mut read = match txn.get_database_backend() {
        DbBackend::Postgres => {
            let named = members_named(txn, scope).await?;
            let second = match parallel::reads_many(cells, page) {
                true => rolled::second_reader(db, txn).await?,
                false => None,
            };
            match second {
                Some(second) => {
                    let scopes = (scope, &named, progress);
                    parallel::read_in_parts((txn, second), scopes, cells, page).await?
                }
                None => Read {
                    pages: page_rows(txn, pages_joined(&named, cells, page)).await?,
                    totals: None,
                },
            }
        }
        _ => Read {
            pages: page_rows(txn, pages_in_branches(scope, cells, page)).await?,
            totals: None,
        },
    };
    read.pages.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(read)
}

/// `(cell, page)` from each row of `sql`.
async fn page_rows(connection: &impl ConnectionTrait, sql: Sql) -> AppResult<Vec<Page>> {
    let backend = connection.get_database_backend();
    let rows = connection.query_all_raw(sql.build()).await?;
    let mut pages = Vec::with_capacity(rows.len());
    for row in rows {
        let cell: String = row.try_get("", "orig_cell_id")?;
        pages.push((cell, number_array_column(&row, "durations", backend)?));
    }
    Ok(pages)
}

/// PostgreSQL: `scope` with its groups' members named one by one (those of its students, if it
/// has students too), read in `txn`'s snapshot. A page walks its cell's durations in time
/// order and stops once it is full, but a group written as a join to its members made
/// PostgreSQL read every duration of the cell, join, sort and cut the page (the statement took
/// 71 ms for two groups' whole-course pages of 100 on a 1.5 M event class). A list of values
/// is a constant to the planner (custom plans: `rolled::snapshot`), which it hashes and tests
/// each duration of the walk against: 17.5 ms.
async fn members_named(txn: &DatabaseTransaction, scope: &Scope) -> AppResult<Scope> {
    if scope.groups.is_empty() {
        return Ok(scope.clone());
    }
    let members = match &scope.students {
        Some(students) => members_among(txn, &scope.groups, students.clone()).await?,
        None => {
            let of_each = groups::members_of(txn, &scope.groups).await?;
            let members: BTreeSet<String> = of_each.into_values().flatten().collect();
            members.into_iter().collect()
        }
    };
    Ok(Scope {
        groups: Vec::new(),
        students: Some(members),
        ..scope.clone()
    })
}

/// Up to this many cells, [`totals_of`] names them: a class session's full pages are of a cell or
/// two, whose rollup rows the database then reads alone (the totals took 0.4 ms instead of
/// 10 for a 1.5 M-event class's last session). PostgreSQL 15 reads an index once per value of
/// a list, so for more it scans the whole table instead (10 cells: 34 ms).
const FEW_CELLS: usize = 3;

/// How many kept durations the scope holds for each of `cells` (and maybe others). A few cells
/// are a condition on the summed parts, which the database applies inside each of them.
///
/// For the whole class they are summed from the duration rollups (per cell and tenth of a
/// second, no student): fewer and narrower rows than the per-student rollups' (for a 1.5 M
/// event class's whole course, 19 110 rows in 387 table pages instead of 18 000 in 1 683), so
/// 3.2 ms instead of 4.1 in PostgreSQL and 4.5 instead of 5.6 in SQLite.
async fn totals_of(
    txn: &DatabaseTransaction,
    (scope, progress): (&Scope, &rolled::Progress),
    cells: &[&str],
) -> AppResult<BTreeMap<String, i64>> {
    let shape = ("SELECT cell, SUM(CAST(kept_count AS INTEGER)) AS n", "");
    let sums = match scope.has_every_student() {
        true => rolled::Sums::Tenths,
        false => rolled::Sums::KeptDurations,
    };
    let mut sql = rolled::summed(txn, (scope, progress), sums, shape).await?;
    if cells.len() <= FEW_CELLS {
        sql.push(" WHERE cell IN ")
            .bind_list(cells.iter().map(|cell| cell.to_string()));
    }
    sql.push(" GROUP BY cell");
    let mut totals = BTreeMap::new();
    for row in txn.query_all_raw(sql.build()).await? {
        totals.insert(row.try_get("", "cell")?, row.try_get("", "n")?);
    }
    Ok(totals)
}

/// PostgreSQL: the cells as rows of one JSON parameter, each with its page as a subquery, so
/// the statement is planned once (and no step sorts every cell's rows together). `ARRAY(…)`
/// keeps its subquery's order, which an aggregate would sort again (and is an empty array, not
/// null, for an empty page). The unmapped cell (null in the events) has a branch of its own.
fn pages_joined(scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mapped: Vec<_> = cells.iter().filter(|cell| !cell.is_empty()).collect();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT w.cell AS orig_cell_id, ARRAY(");
    page_of_cell(&mut sql, scope, Cell::Joined, page);
    sql.push(") AS durations FROM json_to_recordset(")
        .bind(
            json!(
                mapped
                    .iter()
                    .map(|cell| json!({ "cell": cell }))
                    .collect::<Vec<_>>()
            )
            .to_string(),
        )
        .push("::json) AS w(cell text)");
    if cells.contains(&"") {
        sql.push(" UNION ALL SELECT '' AS orig_cell_id, ARRAY(");
        page_of_cell(&mut sql, scope, Cell::Named(""), page);
        sql.push(") AS durations");
    }
    sql
}

/// SQLite: one branch per cell, its page as a JSON array written by hand.
///
/// `quote()` writes each double as text that reads back as the same double: 15 significant
/// digits when they do, else 20 (SQLite checks), so a typical duration such as `25.303` is
/// written as that, where `printf('%!.17g')` wrote `25.303000000000001` (a 1.5 M-event class's
/// whole course: 414 kB of text instead of 991 kB for the server to parse).
///
/// The aggregate takes the page's rows in the page's order: a subquery with a `LIMIT` is not
/// flattened into its aggregate but runs as a co-routine, here walking the index by time. An
/// `ORDER BY` inside `group_concat` sorted every page again (in C on the bundled SQLite, that
/// class's whole course took 38 ms with it and 25 without). SQLite does not promise that
/// order, so the rollups' property test checks it: on random classes whose events arrive out
/// of time order, each page against the reference, on every run of the tests.
fn pages_in_branches(scope: &Scope, cells: &[&str], page: DurationPage) -> Sql {
    let mut sql = Sql::new(DbBackend::Sqlite);
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT ").bind(cell.to_string()).push(
            " AS orig_cell_id, '[' || group_concat(quote(click_duration), ',') || ']' \
                 AS durations FROM (",
        );
        page_of_cell(&mut sql, scope, Cell::Named(cell), page);
        sql.push(") AS page");
    }
    sql
}

/// Which cell a page is of.
#[derive(Clone, Copy)]
enum Cell<'a> {
    /// The joined JSON row's (`w.cell`).
    Joined,
    /// This one (`""`: the unmapped cell).
    Named(&'a str),
}

/// ` FROM <focus events>`, read on the partial index of kept durations by (notebook, cell,
/// time), which SQLite is told to use: without a time bound it takes the partial index by
/// duration of migration 15 (and sorts a cell's every duration).
fn from_kept_durations(sql: &mut Sql) -> &mut Sql {
    sql.push(" FROM ").push(RolledTable::Focus.name());
    if sql.backend() == DbBackend::Sqlite {
        sql.push(" INDEXED BY ")
            .push(migration::KEPT_DURATIONS_BY_TIME);
    }
    sql
}

/// `SELECT click_duration FROM <focus events> WHERE …`: one cell's page of kept durations, in
/// order, on the partial index of kept durations by (notebook, cell, time).
fn page_of_cell(sql: &mut Sql, scope: &Scope, cell: Cell, page: DurationPage) {
    sql.push("SELECT click_duration");
    from_kept_durations(sql)
        .push(" WHERE ")
        .scope(scope, "time");
    match cell {
        Cell::Joined => sql.push(" AND orig_cell_id = w.cell"),
        Cell::Named(cell) => sql.unmapped_or_cell(cell),
    };
    sql.push(" AND ").kept_duration();
    limit(sql, page);
}

/// ` ORDER BY time, id LIMIT … OFFSET …`: the page, in event order then arrival.
fn limit(sql: &mut Sql, page: DurationPage) {
    sql.push(" ORDER BY time, id LIMIT ")
        .bind(page.limit)
        .push(" OFFSET ")
        .bind(page.offset);
}
