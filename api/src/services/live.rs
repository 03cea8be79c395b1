//! The live features (were Socket.IO): sessions that hold presence while a subscription is
//! open, pushed updates with their `OVERRIDE` records, chat, and students' locations and
//! teammates. Messages go through the broker, so they reach sockets on every instance;
//! presence and locations live in the presence store, never in SQL.

mod open;
mod overrides;
mod session;

pub use open::{LiveClient, LiveEvents};

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::DatabaseConnection;

use crate::{
    broker::{
        Broker, BrokerEvent, Topic,
        live::{ChatMessage, PushedCell, PushedUpdate, TeammateEvent},
        presence::{Location, Presence, PresenceRole},
    },
    error::{AppError, AppResult},
    services::{
        groups,
        identity::{self, NotebookRef},
    },
    validation::bounded,
};

/// What the live services need: the database, the broker, the presence store, the presence
/// lease, and the tracker the server waits on at shutdown (so presence is left before the
/// process exits).
#[derive(Clone)]
pub struct Live {
    pub db: DatabaseConnection,
    pub broker: Arc<dyn Broker>,
    pub presence: Arc<dyn Presence>,
    pub tasks: tokio_util::task::TaskTracker,
    /// A connection not renewed for this long (its instance died) is gone.
    pub lease: Duration,
}

/// What a teacher pushes: cells, an optional hint, and the client's update id if it chose one.
#[derive(Debug, Clone)]
pub struct NewPush {
    pub update_id: Option<String>,
    pub cells: Vec<PushedCell>,
    pub hint: Option<String>,
}

const MAX_PUSHED_CELLS: usize = 500;
const MAX_SOURCE_BYTES: usize = 1024 * 1024;
/// Longest chat message or push hint.
const MAX_TEXT_BYTES: usize = 4000;
/// Most students one push names.
const MAX_RECIPIENTS: usize = 5000;

impl NewPush {
    /// The bounds of a push, whoever sends it.
    fn validate(&self) -> AppResult<()> {
        if self.cells.is_empty() || self.cells.len() > MAX_PUSHED_CELLS {
            return Err(AppError::bad_input(format!(
                "push 1 to {MAX_PUSHED_CELLS} cells"
            )));
        }
        if let Some(id) = &self.update_id {
            identity::check_cell_id("updateId", id)?;
        }
        if let Some(hint) = &self.hint {
            bounded("hint", hint, MAX_TEXT_BYTES)?;
        }
        self.cells.iter().try_for_each(validate_cell)
    }
}

fn validate_cell(cell: &PushedCell) -> AppResult<()> {
    identity::check_cell_id("cellId", &cell.cell_id)?;
    if !matches!(cell.cell_type.as_str(), "code" | "markdown" | "raw") {
        return Err(AppError::bad_input(
            "cellType must be code, markdown or raw",
        ));
    }
    if cell.source.len() > MAX_SOURCE_BYTES {
        return Err(AppError::PayloadTooLarge("a cell source over 1 MiB".into()));
    }
    Ok(())
}

/// Recipients are pseudonyms (hex digests), never longer than a raw id may be.
fn validate_recipients(recipients: &[String]) -> AppResult<()> {
    if recipients.len() > MAX_RECIPIENTS {
        return Err(AppError::bad_input(format!(
            "push to at most {MAX_RECIPIENTS} students"
        )));
    }
    recipients
        .iter()
        .try_for_each(|student| bounded("student", student, identity::MAX_USER_ID_LEN))
}

/// The broker or the presence store did not answer: `UNAVAILABLE` (with a retry delay), logged
/// once here, since the cause never reaches the client.
fn unavailable(error: crate::broker::BrokerError) -> AppError {
    tracing::warn!(%error, "broker unavailable");
    AppError::broker_unavailable()
}

impl Live {
    pub async fn publish(&self, topic: Topic, event: BrokerEvent) -> AppResult<()> {
        metrics::counter!("broker_published_total").increment(1);
        self.broker
            .publish(&topic, event)
            .await
            .map_err(unavailable)
    }

    pub async fn connected_students(&self, notebook_id: &str) -> AppResult<Vec<String>> {
        self.presence
            .connected(notebook_id, PresenceRole::Student)
            .await
            .map_err(unavailable)
    }

    /// Pushes `cells` to `recipients` (student pseudonyms) or to every connected student, and
    /// records an `OVERRIDE` for each update a recipient had postponed on one of those cells.
    /// `update_id` is the client's when it chose one (the old dashboard pushes one update as
    /// one message per student, all with the same id), else a new one.
    pub async fn push_update(
        &self,
        notebook: &NotebookRef,
        teacher: &str,
        push: NewPush,
        recipients: Option<Vec<String>>,
    ) -> AppResult<PushedUpdate> {
        push.validate()?;
        if let Some(list) = &recipients {
            validate_recipients(list)?;
        }
        let targets = match &recipients {
            Some(list) => list.clone(),
            None => self.connected_students(&notebook.public_id).await?,
        };
        let NewPush {
            update_id,
            cells,
            hint,
        } = push;
        let update = PushedUpdate {
            update_id: update_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            cells,
            hint,
            sender: teacher.to_owned(),
            sender_type: "teacher".into(),
            sent_at: Utc::now(),
        };
        overrides::record(&self.db, notebook, &update, &targets).await?;
        let event = BrokerEvent::PushedUpdate {
            notebook_id: notebook.public_id.clone(),
            recipients,
            update: update.clone(),
        };
        self.publish(Topic::students(&notebook.public_id), event)
            .await?;
        Ok(update)
    }

    /// A student shares an update with one connected teammate (the old extension sends one
    /// message per teammate); `false` when `teammate` is not a connected teammate.
    pub async fn share_with_teammate(
        &self,
        notebook: &NotebookRef,
        student: &str,
        teammate: &str,
        push: NewPush,
    ) -> AppResult<bool> {
        push.validate()?;
        let teammates = self.connected_teammates(notebook, student).await?;
        if !teammates.iter().any(|user| user == teammate) {
            return Ok(false);
        }
        let recipients = vec![teammate.to_owned()];
        self.share(notebook, student, recipients, push).await?;
        Ok(true)
    }

    /// A student shares a cell with their connected teammates; returns how many got it.
    pub async fn share_with_teammates(
        &self,
        notebook: &NotebookRef,
        student: &str,
        push: NewPush,
    ) -> AppResult<usize> {
        push.validate()?;
        let recipients = self.connected_teammates(notebook, student).await?;
        let count = recipients.len();
        if count > 0 {
            self.share(notebook, student, recipients, push).await?;
        }
        Ok(count)
    }

    /// Publishes `push` from student `student` to `recipients`, recording an `OVERRIDE` for
    /// each update a recipient had postponed on one of its cells: the share replaces it in the
    /// student's extension as a teacher's push does (and the old backend recorded it too).
    async fn share(
        &self,
        notebook: &NotebookRef,
        student: &str,
        recipients: Vec<String>,
        push: NewPush,
    ) -> AppResult<()> {
        let update = PushedUpdate {
            update_id: push
                .update_id
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            cells: push.cells,
            hint: push.hint,
            sender: student.to_owned(),
            sender_type: "teammate".into(),
            sent_at: Utc::now(),
        };
        overrides::record(&self.db, notebook, &update, &recipients).await?;
        let event = BrokerEvent::PushedUpdate {
            notebook_id: notebook.public_id.clone(),
            recipients: Some(recipients),
            update,
        };
        self.publish(Topic::students(&notebook.public_id), event)
            .await
    }

    /// A chat message from `from`: to one student when `to_student` is set (teachers), else to
    /// the notebook's teachers (students).
    pub async fn chat(
        &self,
        notebook: &NotebookRef,
        from: &str,
        to_student: Option<String>,
        text: String,
    ) -> AppResult<ChatMessage> {
        bounded("text", &text, MAX_TEXT_BYTES)?;
        if let Some(student) = &to_student {
            bounded("student", student, identity::MAX_USER_ID_LEN)?;
            self.check_can_read_chat(notebook, student).await?;
        }
        let notebook_id = notebook.public_id.as_str();
        let topic = match to_student {
            Some(_) => Topic::students(notebook_id),
            None => Topic::teachers(notebook_id),
        };
        let message = ChatMessage {
            from: from.to_owned(),
            to_student,
            text,
            sent_at: Utc::now(),
        };
        let event = BrokerEvent::Chat {
            notebook_id: notebook_id.to_owned(),
            message: message.clone(),
        };
        self.publish(topic, event).await?;
        Ok(message)
    }

    /// `CONFLICT` when `student` is connected only through the old telemetry extension's
    /// Socket.IO socket, which cannot show a chat text: the teacher learns it was not read
    /// rather than believing it was. A student not connected at all gets it like any message
    /// (nobody hears it), as before.
    async fn check_can_read_chat(&self, notebook: &NotebookRef, student: &str) -> AppResult<()> {
        let ids = self
            .presence
            .connection_ids(&notebook.public_id, PresenceRole::Student, student)
            .await
            .map_err(unavailable)?;
        let legacy_only = !ids.is_empty()
            && ids
                .iter()
                .all(|id| id.starts_with(open::LEGACY_CONNECTION_PREFIX));
        match legacy_only {
            true => Err(AppError::conflict(
                "this student's JupyterLab extension (telemetry 5.1.1 or older) cannot show chat \
                 messages; nothing was sent. Push a cell with a hint instead, or ask the student \
                 to update the extension",
            )),
            false => Ok(()),
        }
    }

    /// Teammates of `student` with a live connection.
    pub async fn connected_teammates(
        &self,
        notebook: &NotebookRef,
        student: &str,
    ) -> AppResult<Vec<String>> {
        let teammates = groups::teammates(&self.db, notebook.row_id, student).await?;
        let connected: BTreeSet<String> = self
            .connected_students(&notebook.public_id)
            .await?
            .into_iter()
            .collect();
        Ok(teammates
            .into_iter()
            .filter(|user| connected.contains(user))
            .collect())
    }

    /// Where the connected teammates of `student` are (locations fresher than the limit).
    pub async fn teammate_locations(
        &self,
        notebook: &NotebookRef,
        student: &str,
    ) -> AppResult<Vec<(String, Location)>> {
        let teammates = self.connected_teammates(notebook, student).await?;
        let found = self
            .presence
            .locations(&notebook.public_id, &teammates)
            .await
            .map_err(unavailable)?;
        let mut list: Vec<(String, Location)> = found.into_iter().collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(list)
    }

    /// Records where `student` is (or clears it) and tells their teammates.
    pub async fn set_location(
        &self,
        notebook: &NotebookRef,
        student: &str,
        location: Option<Location>,
    ) -> AppResult<()> {
        if let Some(location) = &location {
            identity::check_cell_id("cellId", &location.cell_id)?;
        }
        let event = match location {
            Some(location) => {
                self.presence
                    .set_location(&notebook.public_id, student, &location)
                    .await
                    .map_err(unavailable)?;
                TeammateEvent::LocationUpdated {
                    user: student.to_owned(),
                    location,
                }
            }
            None => {
                self.presence
                    .clear_location(&notebook.public_id, student)
                    .await
                    .map_err(unavailable)?;
                TeammateEvent::LocationCleared {
                    user: student.to_owned(),
                }
            }
        };
        self.tell_teammates(notebook, student, event).await
    }

    pub async fn tell_teammates(
        &self,
        notebook: &NotebookRef,
        student: &str,
        event: TeammateEvent,
    ) -> AppResult<()> {
        let recipients = groups::teammates(&self.db, notebook.row_id, student).await?;
        if recipients.is_empty() {
            return Ok(());
        }
        let event = BrokerEvent::Teammate {
            notebook_id: notebook.public_id.clone(),
            recipients,
            event,
        };
        self.publish(Topic::students(&notebook.public_id), event)
            .await
    }
}
