//! A student's socket: a `studentSession` in Socket.IO clothes. It holds presence while it is
//! open, receives what the broker addresses to the student (pushes, teacher chat, teammate
//! events), and sends its location, shares with a teammate, and chat to the teachers.

use std::sync::Arc;

use chrono::Utc;
use futures::StreamExt;
use socketioxide::extract::{AckSender, SocketRef, TryData};

use super::{
    OpenSocket, acknowledge,
    connect::{Peer, SocketContext},
    forward_until_disconnect,
    wire::{self, LocationUpdate, OutgoingMessage},
};
use crate::{
    broker::presence::Location,
    error::{AppError, AppResult},
    services::{identity::StudentRef, live::LiveClient},
    state::AppState,
};

pub fn serve(app: AppState, socket: SocketRef, context: Arc<SocketContext>, open: OpenSocket) {
    let Peer::Student { me } = &context.peer else {
        return;
    };
    let me = me.clone();
    let relay = forward(app.clone(), socket.clone(), context.clone());
    forward_until_disconnect(&socket, open, relay);
    let handlers = Handlers { app, context, me };
    let on = handlers.clone();
    socket.on(
        "update_location",
        move |TryData(location): TryData<LocationUpdate>, ack: AckSender| {
            let on = on.clone();
            async move { acknowledge(ack, on.update_location(location.ok()).await) }
        },
    );
    let on = handlers.clone();
    socket.on(
        "group_message",
        move |TryData(message): TryData<OutgoingMessage>, ack: AckSender| {
            let on = on.clone();
            async move { acknowledge(ack, on.share(message.ok()).await) }
        },
    );
    socket.on(
        "send_message",
        move |TryData(message): TryData<OutgoingMessage>, ack: AckSender| {
            let on = handlers.clone();
            async move { acknowledge(ack, on.chat_to_teachers(message.ok()).await) }
        },
    );
}

/// Opens the student's live session (as `studentSession` does), then relays every event
/// addressed to the student until the socket closes.
async fn forward(app: AppState, socket: SocketRef, context: Arc<SocketContext>) {
    let Peer::Student { me } = &context.peer else {
        return;
    };
    let student = StudentRef {
        notebook: context.notebook.clone(),
        pseudonym: me.clone(),
    };
    let mut events = match app
        .live()
        .open_student(student, LiveClient::LegacySocket)
        .await
    {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(
                code = error.code(),
                "socket.io student could not open its live session; disconnecting"
            );
            let _closed = socket.disconnect();
            return;
        }
    };
    while let Some(event) = events.next().await {
        if let Some((name, payload)) = wire::student_event(event)
            && super::emit(&socket, name, &payload).is_break()
        {
            return;
        }
    }
}

#[derive(Clone)]
struct Handlers {
    app: AppState,
    context: Arc<SocketContext>,
    me: String,
}

impl Handlers {
    async fn update_location(&self, location: Option<LocationUpdate>) -> AppResult<()> {
        let location =
            location.ok_or_else(|| AppError::bad_input("expected {cellId, cellIndex}"))?;
        let location = Location {
            cell_id: location.cell_id,
            cell_index: location.cell_index.unwrap_or(-1),
            updated_at: Utc::now(),
        };
        self.app
            .live()
            .set_location(&self.context.notebook, &self.me, Some(location))
            .await
    }

    /// `group_message`: one teammate (`userId`, a pseudonym) gets the shared cell, if they are
    /// a connected teammate (the old server sent it to anyone named).
    async fn share(&self, message: Option<OutgoingMessage>) -> AppResult<()> {
        let message = message.ok_or_else(|| AppError::bad_input("expected {userId, message}"))?;
        let teammate = message
            .user_id
            .ok_or_else(|| AppError::bad_input("userId is required"))?;
        let push = wire::parse_push(&message.message)
            .ok_or_else(|| AppError::bad_input("message is not a cell update"))?;
        let live = self.app.live();
        match live
            .share_with_teammate(&self.context.notebook, &self.me, &teammate, push)
            .await?
        {
            true => Ok(()),
            false => Err(AppError::forbidden("not a connected teammate")),
        }
    }

    /// A student's `send_message` goes to the notebook's teachers.
    async fn chat_to_teachers(&self, message: Option<OutgoingMessage>) -> AppResult<()> {
        let message = message.ok_or_else(|| AppError::bad_input("expected {message}"))?;
        self.app
            .live()
            .chat(&self.context.notebook, &self.me, None, message.message)
            .await
            .map(|_| ())
    }
}
