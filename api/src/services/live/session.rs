//! A live session: one open subscription holding one presence connection. Opening it joins
//! presence (announcing a student's first connection to the teachers and their teammates) and
//! starts renewing the lease; dropping it, which happens when the subscription ends for any
//! reason, stops the renewals and leaves (announcing a student's last connection).

use std::time::Duration;

use tokio::task::JoinHandle;

use super::{Live, LiveClient, unavailable};
use crate::{
    broker::{
        BrokerEvent, Topic,
        live::TeammateEvent,
        presence::{Connection, PresenceRole},
    },
    error::{AppError, AppResult},
    services::{identity::NotebookRef, notebooks},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionKind {
    Student,
    Teacher,
}

pub(super) struct Session {
    live: Live,
    notebook: NotebookRef,
    connection: Connection,
    renewals: JoinHandle<()>,
}

impl Session {
    pub(super) async fn open(
        live: &Live,
        notebook: NotebookRef,
        kind: SessionKind,
        user: String,
        client: LiveClient,
    ) -> AppResult<Self> {
        let lease = live.lease;
        let role = match kind {
            SessionKind::Student => PresenceRole::Student,
            SessionKind::Teacher => PresenceRole::Teacher,
        };
        let connection = Connection {
            notebook_id: notebook.public_id.clone(),
            role,
            user,
            id: format!(
                "{}{}",
                client.connection_prefix(),
                uuid::Uuid::new_v4().simple()
            ),
        };
        let first = live.presence.join(&connection).await.map_err(unavailable)?;
        if first && role == PresenceRole::Student {
            announce(live, &notebook, &connection.user, true).await;
        }
        let renewals = tokio::spawn(renew(live.clone(), connection.clone(), lease));
        metrics::gauge!("live_sessions", "role" => role_label(role)).increment(1.0);
        Ok(Self {
            live: live.clone(),
            notebook,
            connection,
            renewals,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.renewals.abort();
        metrics::gauge!("live_sessions", "role" => role_label(self.connection.role)).decrement(1.0);
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let (live, notebook, connection) = (
            self.live.clone(),
            self.notebook.clone(),
            self.connection.clone(),
        );
        // Tracked: a stopping server waits for it, so its students leave presence at once
        // instead of lingering until their lease runs out.
        self.live.tasks.spawn(async move {
            match live.presence.leave(&connection).await {
                Ok(true) if connection.role == PresenceRole::Student => {
                    announce(&live, &notebook, &connection.user, false).await;
                }
                Ok(_) => {}
                // The lease ends the connection anyway.
                Err(error) => tracing::warn!(%error, "could not leave presence"),
            }
        });
    }
}

/// Renews the lease three times per lease period, so one late renewal never drops a live
/// connection.
async fn renew(live: Live, connection: Connection, lease: Duration) {
    let period = (lease / 3).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(period).await;
        if let Err(error) = live.presence.renew(&connection).await {
            tracing::warn!(%error, "could not renew a presence lease");
        }
    }
}

impl Live {
    /// Announces the leave of every student whose instance died (their lease ran out without a
    /// leave), once across all instances: the presence store hands each to one sweeper only.
    pub async fn announce_expired_leaves(&self) -> AppResult<usize> {
        // Not `unavailable`: a sweep every few seconds must not log a warning each time
        // while Redis is down (the live features that need it say so).
        let expired = self
            .presence
            .claim_expired_students()
            .await
            .map_err(|_| AppError::broker_unavailable())?;
        for (public_id, student) in &expired {
            // Claimed is claimed: one notebook that cannot be read (deleted meanwhile, the
            // database away) must not cost the others their announcement.
            match notebooks::get_by_public_id(&self.db, public_id).await {
                Ok(found) => {
                    let notebook = NotebookRef {
                        row_id: found.id,
                        public_id: public_id.clone(),
                    };
                    announce(self, &notebook, student, false).await;
                }
                Err(error) => tracing::warn!(
                    notebook.id = %public_id,
                    code = error.code(),
                    "an expired student's leave was not announced"
                ),
            }
        }
        Ok(expired.len())
    }

    /// Sweeps for expired leases a few times per lease period until `stop` resolves.
    pub async fn sweep_expired_leases(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval((self.lease / 3).max(Duration::from_millis(250)));
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = &mut stop => return,
            }
            if let Err(error) = self.announce_expired_leaves().await {
                tracing::debug!(code = error.code(), "expired presence leases not swept");
            }
        }
    }
}

/// Tells the notebook's teachers and the student's teammates that the student came or left.
/// A failure is logged, not returned: presence itself is recorded either way.
async fn announce(live: &Live, notebook: &NotebookRef, student: &str, connected: bool) {
    let presence = BrokerEvent::StudentPresence {
        notebook_id: notebook.public_id.clone(),
        user: student.to_owned(),
        connected,
    };
    if let Err(error) = live
        .publish(Topic::teachers(&notebook.public_id), presence)
        .await
    {
        tracing::warn!(error = ?error, "could not announce a student's presence");
    }
    let event = match connected {
        true => TeammateEvent::Connected {
            user: student.to_owned(),
        },
        false => TeammateEvent::Disconnected {
            user: student.to_owned(),
        },
    };
    if let Err(error) = live.tell_teammates(notebook, student, event).await {
        tracing::warn!(error = ?error, "could not tell teammates");
    }
}

fn role_label(role: PresenceRole) -> &'static str {
    match role {
        PresenceRole::Student => "student",
        PresenceRole::Teacher => "teacher",
    }
}
