//! Shared application state: built once by `Application::build`, cloned cheaply into every
//! handler and resolver. No globals: two Applications in one process (tests) never share it.

use std::{ops::Deref, sync::Arc};

use sea_orm::DatabaseConnection;

use crate::{
    auth::Accounts,
    broker::{Broker, RefreshThrottle, presence::Presence},
    config::Config,
    db::DbHealth,
    pseudonym::Pseudonymizer,
    ratelimit::RateLimiter,
    services::{
        analytics::AnalyticsHub, identity::Identity, ingest::Ingest, notebooks::NotebookIds,
    },
    shutdown::Shutdown,
    storage::NotebookStorage,
};

#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

pub struct AppStateInner {
    pub config: Config,
    pub db: DatabaseConnection,
    /// The database breaker: down while its probe gets no answer.
    pub db_health: DbHealth,
    pub broker: Arc<dyn Broker>,
    pub presence: Arc<dyn Presence>,
    pub refresh: RefreshThrottle,
    /// Cancelled when the server stops; websockets close themselves with 1001 on it.
    pub shutdown: Shutdown,
    /// Login, signup and sessions (and the token keys every edge verifies with).
    pub accounts: Accounts,
    pub pseudonyms: Pseudonymizer,
    /// Request rates per student, address, login name and user (shared through Redis when
    /// configured).
    pub rate_limits: RateLimiter,
    pub storage: NotebookStorage,
    pub notebook_ids: NotebookIds,
    /// Raw student id and notebook id → pseudonym and notebook key, for every transport.
    pub identity: Identity,
    pub ingest: Ingest,
    /// The live `notebookAnalytics` feeds of this instance.
    pub analytics: AnalyticsHub,
}

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl AppState {
    /// The narrow handles the live services need.
    pub fn live(&self) -> crate::services::live::Live {
        crate::services::live::Live {
            db: self.db.clone(),
            broker: Arc::clone(&self.broker),
            presence: Arc::clone(&self.presence),
            tasks: self.shutdown.tasks(),
            lease: std::time::Duration::from_secs(self.config.limits.presence_lease_secs),
        }
    }
}

impl Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
