//! Who is connected to a notebook right now, and where students are: the ephemeral state of
//! the live features, never stored in SQL.
//!
//! Presence counts connections, not users: a user with two tabs stays connected until both
//! close. Every connection is held by a lease that its socket renews; a connection whose
//! instance died without closing it disappears when its lease runs out (Redis), and the
//! in-process store dies with its process anyway. Locations are kept with a freshness limit.

mod memory;
mod redis;

pub use memory::MemoryPresence;
pub use redis::RedisPresence;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::BrokerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceRole {
    Student,
    Teacher,
}

impl PresenceRole {
    pub fn word(self) -> &'static str {
        match self {
            Self::Student => "student",
            Self::Teacher => "teacher",
        }
    }
}

/// One open connection of a user to a notebook.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    pub notebook_id: String,
    pub role: PresenceRole,
    /// Pseudonym (students) or dashboard user pseudonym (teachers).
    pub user: String,
    /// Unique per socket subscription, so two tabs are two connections.
    pub id: String,
}

/// Where a student is in the notebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub cell_id: String,
    pub cell_index: i32,
    pub updated_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait Presence: Send + Sync + 'static {
    /// Registers `connection`; `true` when it is the user's first live connection (so
    /// "connected" is announced once however many tabs they open).
    async fn join(&self, connection: &Connection) -> Result<bool, BrokerError>;

    /// Extends the lease of a live connection.
    async fn renew(&self, connection: &Connection) -> Result<(), BrokerError>;

    /// Removes `connection`; `true` when it was the user's last one.
    async fn leave(&self, connection: &Connection) -> Result<bool, BrokerError>;

    /// The ids of the live connections of `user` (which clients they are is in the ids: see
    /// `services::live::LiveClient`).
    async fn connection_ids(
        &self,
        notebook_id: &str,
        role: PresenceRole,
        user: &str,
    ) -> Result<Vec<String>, BrokerError>;

    /// Users with at least one live connection, sorted.
    async fn connected(
        &self,
        notebook_id: &str,
        role: PresenceRole,
    ) -> Result<Vec<String>, BrokerError>;

    async fn set_location(
        &self,
        notebook_id: &str,
        user: &str,
        location: &Location,
    ) -> Result<(), BrokerError>;

    async fn clear_location(&self, notebook_id: &str, user: &str) -> Result<(), BrokerError>;

    /// Forgets student `user` in each of `notebook_ids`: their connections and location (an
    /// erasure). A socket of theirs still open joins again at its next renewal.
    async fn forget_student(&self, notebook_ids: &[String], user: &str) -> Result<(), BrokerError>;

    /// Students whose every connection's lease ran out without a leave (their instance died),
    /// as (notebook, student), each returned to exactly one caller across all instances so
    /// its leave is announced once. The in-process store never has any: its connections die
    /// with the process that announces their leave.
    async fn claim_expired_students(&self) -> Result<Vec<(String, String)>, BrokerError> {
        Ok(Vec::new())
    }

    /// Fresh locations of those of `users` that have one.
    async fn locations(
        &self,
        notebook_id: &str,
        users: &[String],
    ) -> Result<HashMap<String, Location>, BrokerError>;
}
