//! Publish/subscribe between the write path and live clients. The trait is the seam: the
//! in-process broker serves one instance (and tests); a Redis broker for several instances
//! plugs in behind the same trait. Topic names are built here and nowhere else.

pub mod live;
mod memory;
pub mod presence;
mod redis;
mod throttle;

pub use memory::MemoryBroker;
pub use redis::{RedisBroker, RedisRefreshGate};
pub use throttle::{GateAnswer, LocalGate, RefreshGate, RefreshThrottle};

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

/// Where an event is published. One place builds every topic key, so a Redis broker and the
/// in-process one agree on names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Dashboards of one notebook (by its public id) should refresh.
    DashboardRefresh { notebook_id: String },
    /// New events of one notebook were committed: the live analytics recompute (throttled far
    /// less than the old dashboards' refresh, which makes every dashboard re-query).
    NotebookData { notebook_id: String },
    /// Everything for the teachers' dashboards of a notebook (presence, chat).
    Teachers { notebook_id: String },
    /// Everything for the students of a notebook (pushed updates, chat, teammates); each
    /// session keeps only what is addressed to it.
    Students { notebook_id: String },
    /// One dashboard user's live connections (GraphQL websockets, Socket.IO teacher sockets),
    /// told when the user's sessions end (disabled, deleted, revoked, password reset).
    UserSessions { user_id: i64 },
}

impl Topic {
    pub fn students(notebook_id: &str) -> Self {
        Self::Students {
            notebook_id: notebook_id.to_owned(),
        }
    }

    pub fn teachers(notebook_id: &str) -> Self {
        Self::Teachers {
            notebook_id: notebook_id.to_owned(),
        }
    }

    pub fn refresh(notebook_id: &str) -> Self {
        Self::DashboardRefresh {
            notebook_id: notebook_id.to_owned(),
        }
    }

    pub fn notebook_data(notebook_id: &str) -> Self {
        Self::NotebookData {
            notebook_id: notebook_id.to_owned(),
        }
    }

    pub fn user_sessions(user_id: i64) -> Self {
        Self::UserSessions { user_id }
    }

    pub fn key(&self) -> String {
        match self {
            Self::DashboardRefresh { notebook_id } => format!("notebook:{notebook_id}:refresh"),
            Self::NotebookData { notebook_id } => format!("notebook:{notebook_id}:data"),
            Self::Teachers { notebook_id } => format!("notebook:{notebook_id}:teachers"),
            Self::Students { notebook_id } => format!("notebook:{notebook_id}:students"),
            Self::UserSessions { user_id } => format!("user:{user_id}:sessions"),
        }
    }
}

/// A message on the broker; serializable so it can cross processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum BrokerEvent {
    DashboardRefresh {
        notebook_id: String,
    },
    /// New events of the notebook were committed.
    NotebookDataChanged {
        notebook_id: String,
    },
    /// A student's first connection opened (`connected`) or last one closed.
    StudentPresence {
        notebook_id: String,
        user: String,
        connected: bool,
    },
    /// A cell (or several) pushed to `recipients` (student pseudonyms), or to every connected
    /// student when `None`.
    PushedUpdate {
        notebook_id: String,
        recipients: Option<Vec<String>>,
        update: live::PushedUpdate,
    },
    Chat {
        notebook_id: String,
        message: live::ChatMessage,
    },
    /// Told only to `recipients`: the subject's teammates.
    Teammate {
        notebook_id: String,
        recipients: Vec<String>,
        event: live::TeammateEvent,
    },
    /// Every session of dashboard user `user_id` ended: their open connections close now, on
    /// every instance, instead of at the next keep-alive check.
    UserRevoked {
        user_id: i64,
    },
}

impl BrokerEvent {
    /// Whether student `me` (a pseudonym) is among those this event is for, on a students'
    /// topic: the one rule GraphQL sessions and Socket.IO sockets both deliver by.
    pub fn is_for_student(&self, me: &str) -> bool {
        match self {
            Self::PushedUpdate { recipients, .. } => recipients
                .as_ref()
                .is_none_or(|list| list.iter().any(|user| user == me)),
            Self::Chat { message, .. } => message.to_student.as_deref() == Some(me),
            Self::Teammate { recipients, .. } => recipients.iter().any(|user| user == me),
            Self::DashboardRefresh { .. }
            | Self::NotebookDataChanged { .. }
            | Self::StudentPresence { .. }
            | Self::UserRevoked { .. } => false,
        }
    }

    /// Whether this event is for a notebook's teachers (refresh, presence, students' chat).
    pub fn is_for_teachers(&self) -> bool {
        match self {
            Self::DashboardRefresh { .. } | Self::StudentPresence { .. } => true,
            Self::Chat { message, .. } => message.to_student.is_none(),
            Self::PushedUpdate { .. }
            | Self::Teammate { .. }
            | Self::NotebookDataChanged { .. }
            | Self::UserRevoked { .. } => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("broker unavailable: {0}")]
pub struct BrokerError(pub String);

#[async_trait::async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Delivers `event` to every current subscriber of `topic`; no subscriber is not an error.
    async fn publish(&self, topic: &Topic, event: BrokerEvent) -> Result<(), BrokerError>;

    /// Events published on `topic` once this returns.
    async fn subscribe(
        &self,
        topic: &Topic,
    ) -> Result<BoxStream<'static, BrokerEvent>, BrokerError>;

    /// Whether the broker can be reached (`/readyz`).
    async fn ping(&self) -> Result<(), BrokerError>;
}
