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

impl Live {
    /// A student's session: pushes, chat and teammate news addressed to them.
    pub async fn open_student(&self, student: StudentRef) -> AppResult<LiveEvents> {
        let StudentRef {
            notebook,
            pseudonym,
        } = student;
        let events = self
            .subscribe(&Topic::students(&notebook.public_id))
            .await?;
        let session =
            Session::open(self, notebook, SessionKind::Student, pseudonym.clone()).await?;
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
                Some(Session::open(self, notebook, SessionKind::Teacher, pseudonym).await?)
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
