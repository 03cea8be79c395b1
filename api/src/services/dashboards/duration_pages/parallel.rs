//! PostgreSQL: many pages read on two connections sharing one snapshot
//! ([`rolled::second_reader`]), so that each walk runs on a core of its own.

use sea_orm::DatabaseTransaction;

use super::{FEW_CELLS, Read, full_pages, page_rows, pages_joined, totals_of};
use crate::{
    error::{AppError, AppResult},
    services::dashboards::{Scope, cells::DurationPage, rolled},
};

/// From this many durations that the pages may hold, they are read on two connections (when
/// the pool gives one at once): a class's whole course, pages of 1 000 from 60 cells, took
/// 14 ms in PostgreSQL on one and 7.5 on two. Below it, a second transaction's round trips
/// would cost more than the part read saves.
const MANY_DURATIONS: i64 = 20_000;

pub(super) fn reads_many(cells: &[&str], page: DurationPage) -> bool {
    let cells = i64::try_from(cells.len()).unwrap_or(i64::MAX);
    cells >= 2 && cells.saturating_mul(page.offset.saturating_add(page.limit)) >= MANY_DURATIONS
}

/// `txn` reads the first third of the cells' pages while `second` reads the rest. If more than
/// [`FEW_CELLS`] of that third's pages are full, `txn` then sums every cell's total (one
/// statement, whatever the number of cells) while `second` still reads: over a whole course
/// most pages are full, and their totals no longer wait for the last page. Otherwise the
/// totals are left to the caller, for the few full pages it will find (a class session's
/// cells seldom fill a page, and summing every cell's took 5.6 ms where naming one took 0.2).
///
/// `scopes`: the request's scope (for the totals), the same with its groups' members named
/// (for the pages), and the rollups' progress in the snapshot.
pub(super) async fn read_in_parts(
    (txn, second): (&DatabaseTransaction, rolled::SecondReader),
    (scope, named, progress): (&Scope, &Scope, &rolled::Progress),
    cells: &[&str],
    page: DurationPage,
) -> AppResult<Read> {
    let (first, rest) = cells.split_at((cells.len() / 3).max(1));
    let first_then_totals = async {
        let pages = page_rows(txn, pages_joined(named, first, page)).await?;
        let totals = match full_pages(&pages, page).count() > FEW_CELLS {
            // More than `FEW_CELLS` cells: every cell's total.
            true => Some(totals_of(txn, (scope, progress), cells).await?),
            false => None,
        };
        Ok::<_, AppError>(Read { pages, totals })
    };
    let (mut read, rest) = tokio::try_join!(
        first_then_totals,
        page_rows(&second.txn, pages_joined(named, rest, page)),
    )?;
    second.txn.commit().await?;
    read.pages.extend(rest);
    Ok(read)
}
