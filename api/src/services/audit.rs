//! The audit log: every administrative action is written in the same transaction as the action
//! itself, so the log and the data never disagree.

use chrono::Utc;
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;

use crate::error::AppResult;

pub async fn record(
    db: &impl ConnectionTrait,
    actor_id: Option<i64>,
    action: &str,
    details: Value,
) -> AppResult<()> {
    audit_log::ActiveModel {
        occurred_at: Set(Utc::now()),
        actor_id: Set(actor_id),
        action: Set(action.to_owned()),
        details: Set(details),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
