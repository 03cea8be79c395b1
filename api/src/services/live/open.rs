//! Opening a live session, the one way every transport does it (GraphQL subscriptions and the
//! old Socket.IO channel alike): subscribe to the notebook's topics first, so nothing sent while
//! joining is missed, then join presence, and hand back the events already filtered for the
//! receiver. Dropping the stream leaves presence.

use std::future::ready;

use futures::{StreamExt, stream::BoxStream};

use super::{
    Live,
    session::{Session, SessionKind},
    unavailable,
};
use crate::{
    broker::{BrokerEvent, Topic},
    error::AppResult,
    services::identity::{NotebookRef, StudentRef},
};

/// A live session's events for its receiver; the session lasts as long as the stream.
pub type LiveEvents = BoxStream<'static, BrokerEvent>;

/// Which client holds a student's live session, and so what it can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveClient {
    /// A GraphQL subscription: shows every event, chat included.
    GraphQl,
    /// The old telemetry extension's Socket.IO socket (up to 5.1.1): it shows pushed cells
    /// but has no way to show a chat text (it reads every message as a cell update).
    LegacySocket,
}

/// The start of the presence connection id of a legacy socket's session, so a chat can tell
/// whether its student can read it.
pub(super) const LEGACY_CONNECTION_PREFIX: &str = "sio-";

impl LiveClient {
    pub(super) fn connection_prefix(self) -> &'static str {
        match self {
            Self::GraphQl => "",
            Self::LegacySocket => LEGACY_CONNECTION_PREFIX,
        }
    }
}

impl Live {
    /// A student's session: pushes, chat and teammate news addressed to them.
    pub async fn open_student(
        &self,
        student: StudentRef,
        client: LiveClient,
    ) -> AppResult<LiveEvents> {
        let StudentRef {
            notebook,
            pseudonym,
        } = student;
        let events = self
            .subscribe(&Topic::students(&notebook.public_id))
            .await?;
        let session = Session::open(
            self,
            notebook,
            SessionKind::Student,
            pseudonym.clone(),
            client,
        )
        .await?;
        Ok(events
            .filter(move |event| {
                let _open = &session;
                ready(event.is_for_student(&pseudonym))
            })
            .boxed())
    }

    /// A teacher's session: refresh signals, and, for a teacher known by pseudonym (`Some`),
    /// the teachers' topic and presence. `None` is the old dashboard's token-less socket, which
    /// gets refresh signals only.
    pub async fn open_teacher(
        &self,
        notebook: NotebookRef,
        teacher: Option<String>,
    ) -> AppResult<LiveEvents> {
        let mut topics = vec![self.subscribe(&Topic::refresh(&notebook.public_id)).await?];
        let session = match teacher {
            Some(pseudonym) => {
                topics.push(
                    self.subscribe(&Topic::teachers(&notebook.public_id))
                        .await?,
                );
                Some(
                    Session::open(
                        self,
                        notebook,
                        SessionKind::Teacher,
                        pseudonym,
                        LiveClient::GraphQl,
                    )
                    .await?,
                )
            }
            None => None,
        };
        Ok(futures::stream::select_all(topics)
            .filter(move |event| {
                let _open = &session;
                ready(event.is_for_teachers())
            })
            .boxed())
    }

    async fn subscribe(&self, topic: &Topic) -> AppResult<LiveEvents> {
        self.broker.subscribe(topic).await.map_err(unavailable)
    }
}
