//! A teacher's socket. Every teacher socket gets the notebook's refresh signals (the old
//! dashboard connects without a token and needs only those); a trusted one (token authorized
//! for the notebook) also counts as a connected teacher, receives students' chat, and may push
//! and chat through `send_message`. A trusted socket is disconnected as soon as its user's
//! sessions end (disabled, deleted, revoked), on whichever instance that happened.

use std::sync::Arc;

use futures::StreamExt;
use socketioxide::extract::{AckSender, SocketRef, TryData};

use super::{
    OpenSocket, acknowledge,
    connect::{Peer, SocketContext, TrustedTeacher},
    emit, forward_until_disconnect,
    wire::{self, OutgoingMessage},
};
use crate::{
    auth::{RequestAuth, Viewer},
    config::LegacyTeacherPush,
    error::{AppError, AppResult},
    services,
    state::AppState,
};

pub fn serve(app: AppState, socket: SocketRef, context: Arc<SocketContext>, open: OpenSocket) {
    let relay = forward(app.clone(), socket.clone(), context.clone());
    forward_until_disconnect(&socket, open, relay);
    socket.on(
        "send_message",
        move |TryData(message): TryData<OutgoingMessage>, ack: AckSender| {
            let (app, context) = (app.clone(), context.clone());
            async move {
                let sent = send_message(&app, &context, message.ok()).await;
                if let Err(error) = &sent {
                    tracing::warn!(
                        notebook.id = %context.notebook.public_id,
                        code = error.code(),
                        "socket.io teacher push or chat refused"
                    );
                }
                acknowledge(ack, sent)
            }
        },
    );
}

async fn forward(app: AppState, socket: SocketRef, context: Arc<SocketContext>) {
    let Peer::Teacher { trusted, .. } = &context.peer else {
        return;
    };
    let pseudonym = trusted.as_ref().map(|teacher| teacher.pseudonym.clone());
    let mut events = match app
        .live()
        .open_teacher(context.notebook.clone(), pseudonym)
        .await
    {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(
                code = error.code(),
                "socket.io teacher could not open its live session; disconnecting"
            );
            let _closed = socket.disconnect();
            return;
        }
    };
    let user_id = match trusted.as_ref().map(|teacher| &teacher.viewer) {
        Some(Viewer::User { user_id, .. }) => Some(*user_id),
        _ => None,
    };
    let mut revoked = services::sessions::endings(app.broker.as_ref(), user_id).await;
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            Some(_ended) = revoked.next() => {
                // The teacher was disabled, deleted or had their sessions revoked.
                let _closed = socket.disconnect();
                return;
            }
        };
        let Some(event) = event else { return };
        if let Some((name, payload)) = wire::teacher_event(event)
            && emit(&socket, name, &payload).is_break()
        {
            return;
        }
    }
}

/// A teacher's `send_message {userId, message}`: a push when the message holds one (recorded
/// with its `OVERRIDE`s, keeping the client's update id), else a chat text to that student.
/// Refused without a trusted token (unless `LEGACY_SOCKET_TEACHER_PUSH=unauthenticated`); the
/// token and the grant are re-checked every time.
async fn send_message(
    app: &AppState,
    context: &SocketContext,
    message: Option<OutgoingMessage>,
) -> AppResult<()> {
    let Peer::Teacher { trusted, claimed } = &context.peer else {
        return Err(AppError::forbidden("not a teacher socket"));
    };
    let sender = match (trusted, app.config.legacy_socket_teacher_push) {
        (Some(teacher), _) => {
            check_still_authorized(app, teacher, &context.notebook.public_id).await?;
            &teacher.pseudonym
        }
        (None, LegacyTeacherPush::Unauthenticated) => claimed,
        (None, LegacyTeacherPush::Refused) => {
            return Err(AppError::forbidden(
                "connect with a token authorized for this notebook to push or chat",
            ));
        }
    };
    let message = message.ok_or_else(|| AppError::bad_input("expected {userId, message}"))?;
    let student = message
        .user_id
        .ok_or_else(|| AppError::bad_input("userId is required"))?;
    let live = app.live();
    match wire::parse_push(&message.message) {
        Some(push) => live
            .push_update(&context.notebook, sender, push, Some(vec![student]))
            .await
            .map(|_| ()),
        None => live
            .chat(&context.notebook, sender, Some(student), message.message)
            .await
            .map(|_| ()),
    }
}

async fn check_still_authorized(
    app: &AppState,
    teacher: &TrustedTeacher,
    notebook_id: &str,
) -> AppResult<()> {
    let auth = RequestAuth::for_connection(teacher.viewer.clone());
    auth.require_notebook(&app.db, notebook_id)
        .await
        .map(|_| ())
}
