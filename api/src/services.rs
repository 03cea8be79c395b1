//! The only code that touches SeaORM: one module per domain, plain async functions taking a
//! connection (or a transaction), testable without GraphQL.

pub mod analytics;
pub mod audit;
pub mod authorizations;
pub mod catalogue;
pub mod dashboards;
pub mod demo;
pub mod exports;
pub mod groups;
pub mod identity;
pub mod ingest;
pub mod legacy_import;
pub mod live;
pub mod notebooks;
pub mod pacing;
pub mod privacy;
pub mod rollups;
pub mod sessions;
pub mod table_rows;
pub mod users;

use sea_orm::{DbErr, SqlErr};

/// Whether a database error is a unique-constraint violation (the same check on every backend).
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
