//! The teachers' dashboard interaction input. Student event inputs are the ingest service's own
//! types (`services::ingest::events`), shared with the old REST routes.

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};
use entity::enums::ClickType;
use uuid::Uuid;

use crate::services::ingest::DashboardInteractionInput;

#[derive(InputObject)]
pub struct DashboardInteractionEventInput {
    pub click_type: ClickType,
    /// Which dashboard control was used (at most 90 characters).
    pub signal_origin: String,
    pub time: DateTime<Utc>,
    pub notebook_id: Option<ID>,
    pub event_id: Option<Uuid>,
}

impl From<DashboardInteractionEventInput> for DashboardInteractionInput {
    fn from(input: DashboardInteractionEventInput) -> Self {
        Self {
            notebook_id: input.notebook_id.map(|id| id.0),
            click_type: input.click_type,
            signal_origin: input.signal_origin,
            time: input.time,
            event_id: input.event_id,
        }
    }
}
