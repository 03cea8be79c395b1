//! The payloads of live messages, shared by the broker (which serializes them across
//! instances) and the GraphQL subscriptions (which map them to API types).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::presence::Location;

/// A cell pushed to students: its original id, type and source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedCell {
    pub cell_id: String,
    pub cell_type: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedUpdate {
    pub update_id: String,
    pub cells: Vec<PushedCell>,
    pub hint: Option<String>,
    /// Pseudonym of who pushed it (a teacher, or a teammate sharing a cell).
    pub sender: String,
    /// `teacher` or `teammate`.
    pub sender_type: String,
    pub sent_at: DateTime<Utc>,
}

/// A chat message between a teacher and a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub from: String,
    /// The student's pseudonym for a teacher's message; `None` for a student's message to the
    /// notebook's teachers.
    pub to_student: Option<String>,
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TeammateEvent {
    Connected { user: String },
    Disconnected { user: String },
    LocationUpdated { user: String, location: Location },
    LocationCleared { user: String },
}
