//! What live subscriptions deliver: broker messages mapped to API types, and the filter that
//! keeps for each session only what is addressed to it.

use async_graphql::{ID, SimpleObject, Union};
use chrono::{DateTime, Utc};

use crate::broker::{
    BrokerEvent,
    live::{self, TeammateEvent},
};

/// A cell in a pushed update.
#[derive(SimpleObject, Clone)]
#[graphql(name = "PushedCell")]
pub struct PushedCellView {
    /// The original cell id (as in `unianalytics_cell_mapping`).
    pub cell_id: String,
    /// `code`, `markdown` or `raw`.
    pub cell_type: String,
    pub source: String,
}

/// Cells pushed by a teacher, or shared by a teammate.
#[derive(SimpleObject, Clone)]
#[graphql(name = "PushedUpdate")]
pub struct PushedUpdateView {
    pub update_id: String,
    pub cells: Vec<PushedCellView>,
    pub hint: Option<String>,
    /// Pseudonym of the teacher or teammate who sent it.
    pub sender: String,
    /// `teacher` or `teammate`.
    pub sender_type: String,
    pub sent_at: DateTime<Utc>,
}

impl From<live::PushedUpdate> for PushedUpdateView {
    fn from(update: live::PushedUpdate) -> Self {
        Self {
            update_id: update.update_id,
            cells: update
                .cells
                .into_iter()
                .map(|cell| PushedCellView {
                    cell_id: cell.cell_id,
                    cell_type: cell.cell_type,
                    source: cell.source,
                })
                .collect(),
            hint: update.hint,
            sender: update.sender,
            sender_type: update.sender_type,
            sent_at: update.sent_at,
        }
    }
}

/// A chat message between a teacher and a student.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ChatMessage")]
pub struct ChatMessageView {
    /// Pseudonym of the sender.
    pub from: String,
    /// The student a teacher wrote to; null for a student's message to the teachers.
    pub to_student: Option<String>,
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

impl From<live::ChatMessage> for ChatMessageView {
    fn from(message: live::ChatMessage) -> Self {
        Self {
            from: message.from,
            to_student: message.to_student,
            text: message.text,
            sent_at: message.sent_at,
        }
    }
}

/// A student (pseudonym) in a teammate or presence event.
#[derive(SimpleObject, Clone)]
pub struct TeammateConnected {
    pub user: String,
}

#[derive(SimpleObject, Clone)]
pub struct TeammateDisconnected {
    pub user: String,
}

#[derive(SimpleObject, Clone)]
pub struct TeammateLocationUpdated {
    pub user: String,
    pub cell_id: String,
    pub cell_index: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(SimpleObject, Clone)]
pub struct TeammateLocationCleared {
    pub user: String,
}

/// New events were stored for the notebook: re-run the dashboard's queries. At most one per
/// notebook per refresh period (5 s), plus one after the last burst.
#[derive(SimpleObject, Clone)]
pub struct RefreshRequested {
    pub notebook_id: ID,
}

#[derive(SimpleObject, Clone)]
pub struct StudentConnected {
    pub user: String,
}

#[derive(SimpleObject, Clone)]
pub struct StudentDisconnected {
    pub user: String,
}

/// What a student's session receives.
#[derive(Union, Clone)]
pub enum StudentEvent {
    PushedUpdate(PushedUpdateView),
    ChatMessage(ChatMessageView),
    TeammateConnected(TeammateConnected),
    TeammateDisconnected(TeammateDisconnected),
    TeammateLocationUpdated(TeammateLocationUpdated),
    TeammateLocationCleared(TeammateLocationCleared),
}

/// What a teacher's dashboard session receives.
#[derive(Union, Clone)]
pub enum DashboardEvent {
    RefreshRequested(RefreshRequested),
    StudentConnected(StudentConnected),
    StudentDisconnected(StudentDisconnected),
    ChatMessage(ChatMessageView),
}

impl StudentEvent {
    /// A student session's event as GraphQL shows it (the session already kept only what is
    /// addressed to its student).
    pub fn from_event(event: BrokerEvent) -> Option<Self> {
        match event {
            BrokerEvent::PushedUpdate { update, .. } => Some(Self::PushedUpdate(update.into())),
            BrokerEvent::Chat { message, .. } => Some(Self::ChatMessage(message.into())),
            BrokerEvent::Teammate { event, .. } => Some(teammate(event)),
            BrokerEvent::DashboardRefresh { .. }
            | BrokerEvent::NotebookDataChanged { .. }
            | BrokerEvent::StudentPresence { .. }
            | BrokerEvent::UserRevoked { .. } => None,
        }
    }
}

fn teammate(event: TeammateEvent) -> StudentEvent {
    match event {
        TeammateEvent::Connected { user } => {
            StudentEvent::TeammateConnected(TeammateConnected { user })
        }
        TeammateEvent::Disconnected { user } => {
            StudentEvent::TeammateDisconnected(TeammateDisconnected { user })
        }
        TeammateEvent::LocationUpdated { user, location } => {
            StudentEvent::TeammateLocationUpdated(TeammateLocationUpdated {
                user,
                cell_id: location.cell_id,
                cell_index: location.cell_index,
                updated_at: location.updated_at,
            })
        }
        TeammateEvent::LocationCleared { user } => {
            StudentEvent::TeammateLocationCleared(TeammateLocationCleared { user })
        }
    }
}

impl DashboardEvent {
    /// A dashboard session's event as GraphQL shows it (the session already kept only what is
    /// for teachers).
    pub fn from_event(event: BrokerEvent) -> Option<Self> {
        match event {
            BrokerEvent::DashboardRefresh { notebook_id } => {
                Some(Self::RefreshRequested(RefreshRequested {
                    notebook_id: ID(notebook_id),
                }))
            }
            BrokerEvent::StudentPresence {
                user, connected, ..
            } => Some(match connected {
                true => Self::StudentConnected(StudentConnected { user }),
                false => Self::StudentDisconnected(StudentDisconnected { user }),
            }),
            BrokerEvent::Chat { message, .. } => Some(Self::ChatMessage(message.into())),
            BrokerEvent::PushedUpdate { .. }
            | BrokerEvent::Teammate { .. }
            | BrokerEvent::NotebookDataChanged { .. }
            | BrokerEvent::UserRevoked { .. } => None,
        }
    }
}
