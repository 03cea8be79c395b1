//! Old events: each row gets a deterministic event id (uuid v5 over its old table and id), so a
//! row already imported collides with itself whatever the event table's unique key, and is
//! counted as present by (notebook, student, event id). Pages are written through the ingest
//! store, like every event.

use std::collections::BTreeSet;

use anyhow::Context as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, QueryResult,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Query},
};

use super::{
    convert::{Context, Converted, Key, Row},
    copy::{OldTable, count_of, count_present},
    source::OldQuery,
};
use crate::services::ingest::{EventRows, EventTransaction};

/// One kind of old event and where it goes.
pub struct Kind {
    /// The name in the report: the old table (and kind).
    pub name: &'static str,
    /// Our table.
    pub target: &'static str,
    pub query: OldQuery,
    pub convert: fn(&mut Context, &QueryResult) -> anyhow::Result<Option<Converted>>,
}

impl OldTable for Kind {
    type Model = Row;
    type Key = Key;

    fn name(&self) -> &'static str {
        self.name
    }

    fn target(&self) -> &'static str {
        self.target
    }

    fn query(&self) -> &OldQuery {
        &self.query
    }

    fn convert(&self, ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<(Row, Key)>> {
        Ok((self.convert)(ctx, row)?.map(|converted| (converted.row, converted.key)))
    }

    async fn insert_batch(
        &self,
        db: &DatabaseConnection,
        models: Vec<Row>,
        keys: &[Key],
    ) -> anyhow::Result<(u64, u64)> {
        let mut rows = EventRows::default();
        for row in models {
            row.push_into(&mut rows);
        }
        let mut txn = EventTransaction::begin(db).await?;
        let inserted =
            (txn.insert(&rows).await).with_context(|| format!("inserting into {}", self.target))?;
        let present = count_present(&txn, self, keys).await?;
        txn.commit().await?;
        Ok((inserted, present))
    }

    async fn count_stored(&self, db: &impl ConnectionTrait, keys: &[Key]) -> anyhow::Result<u64> {
        let users: BTreeSet<&str> = keys.iter().map(|key| key.user_id.as_str()).collect();
        let notebooks: BTreeSet<i64> = keys.iter().filter_map(|key| key.notebook_id).collect();
        let mut query = Query::select();
        query
            .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
            .from(Alias::new(self.target))
            .and_where(Expr::col(Alias::new("event_id")).is_in(keys.iter().map(|key| key.event_id)))
            .and_where(Expr::col(Alias::new("user_id")).is_in(users));
        // Leads with the notebook, as the event key index does (dashboard rows may have none).
        if keys.iter().all(|key| key.notebook_id.is_some()) {
            query.and_where(Expr::col(Alias::new("notebook_id")).is_in(notebooks));
        }
        count_of(db.query_one(&query).await?)
    }
}
