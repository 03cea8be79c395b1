//! The deployed extensions' Socket.IO channel (`/socket.io/`, Engine.IO 4, websocket only),
//! served by `socketioxide` over the same live services and broker topics as the GraphQL
//! subscriptions: a student socket is a `studentSession`, so a push made over GraphQL reaches it,
//! its location reaches GraphQL teammates, and all of it crosses instances through the broker.
//!
//! Security stays ours: a teacher socket without a token authorized for the notebook (the old
//! dashboard sends none) only receives refresh signals; pushing and chatting need one.

mod connect;
mod student;
mod teacher;
mod wire;

use std::{ops::ControlFlow, sync::Arc};

use serde::Serialize;
use socketioxide::{
    SendError, SocketError, SocketIo, TransportType,
    extract::{Extension, SocketRef},
    handler::ConnectHandler,
    layer::SocketIoLayer,
};

use self::connect::{Peer, SocketContext};
use crate::{error::AppError, state::AppState};

/// Per-socket buffers: a class is a thousand mostly idle sockets (as on `/graphql`).
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

/// The layer answering `/socket.io/*`; every other request passes through.
pub fn layer(app: AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::builder()
        .transports([TransportType::Websocket])
        .ws_read_buffer_size(SOCKET_BUFFER_BYTES)
        .ws_max_message_size(app.config.limits.ws_max_message_bytes)
        .ws_max_frame_size(app.config.limits.ws_max_message_bytes)
        .build_layer();
    let on_connect = {
        let app = app.clone();
        move |socket: SocketRef, Extension(context): Extension<Arc<SocketContext>>| {
            serve(app.clone(), socket, context);
            std::future::ready(())
        }
    };
    let authenticate = {
        let app = app.clone();
        move |socket: SocketRef, auth: socketioxide::extract::TryData<serde_json::Value>| {
            let app = app.clone();
            async move {
                // Logged here, not by the HTTP trace layer, which never sees `/socket.io/`:
                // its query string carries a student's raw id.
                let decided = connect::authenticate(app, socket, auth.0.ok()).await;
                if let Err(refusal) = &decided {
                    tracing::warn!(reason = %refusal, "socket.io connection refused");
                }
                decided
            }
        }
    };
    io.ns("/", on_connect.with(authenticate));
    // Upgraded sockets are not seen by axum's graceful shutdown: close them ourselves.
    let shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        io.close().await;
    });
    layer
}

/// Registers the socket's event handlers first (so nothing it sends right after connecting is
/// lost), then starts forwarding its broker topic.
fn serve(app: AppState, socket: SocketRef, context: Arc<SocketContext>) {
    let open = OpenSocket::count();
    let role = match &context.peer {
        Peer::Student { .. } => "student",
        Peer::Teacher {
            trusted: Some(_), ..
        } => "teacher",
        Peer::Teacher { trusted: None, .. } => "teacher without a token",
    };
    tracing::info!(
        notebook.id = %context.notebook.public_id,
        socket.role = role,
        "socket.io connection"
    );
    match &context.peer {
        Peer::Student { .. } => student::serve(app, socket, context, open),
        Peer::Teacher { .. } => teacher::serve(app, socket, context, open),
    }
}

/// Runs `forward` (the socket's broker relay, holding its session) until the socket
/// disconnects: dropping the task drops the session, so presence is left and teammates told.
fn forward_until_disconnect(
    socket: &SocketRef,
    open: OpenSocket,
    forward: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let forwarding = tokio::spawn(async move {
        let _open = open;
        forward.await;
    });
    let abort = forwarding.abort_handle();
    socket.on_disconnect(move || {
        abort.abort();
        std::future::ready(())
    });
}

/// Counts a socket in `websocket_connections` while its forwarding task lives (the task ends,
/// aborted, when the socket disconnects; a socket has one disconnect handler, so this rides
/// on the task instead).
struct OpenSocket(metrics::Gauge);

impl OpenSocket {
    fn count() -> Self {
        let gauge = metrics::gauge!("websocket_connections", "protocol" => "socket.io");
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The acknowledgement of a client event, when the client asked for one.
#[derive(Serialize)]
#[serde(untagged)]
enum Ack {
    Ok { status: &'static str },
    Error { error: AckError },
}

#[derive(Serialize)]
struct AckError {
    code: &'static str,
    message: String,
}

impl Ack {
    fn from_result(result: Result<(), AppError>) -> Self {
        match result {
            Ok(()) => Self::Ok { status: "ok" },
            Err(error) => Self::Error {
                error: AckError {
                    code: error.code(),
                    message: error.public_message(),
                },
            },
        }
    }
}

fn acknowledge(ack: socketioxide::extract::AckSender, result: Result<(), AppError>) {
    // Nothing to do when the client did not ask for an ack or is gone.
    let _sent = ack.send(&Ack::from_result(result));
}

/// Emits to `socket`; `Break` once it is closed. A full send buffer (a client not reading)
/// drops this event rather than the socket.
fn emit(socket: &SocketRef, name: &'static str, payload: &serde_json::Value) -> ControlFlow<()> {
    match socket.emit(name, payload) {
        Ok(()) => {
            metrics::counter!("live_events_delivered_total", "transport" => "socket.io")
                .increment(1);
            ControlFlow::Continue(())
        }
        Err(SendError::Socket(SocketError::Closed)) => ControlFlow::Break(()),
        Err(error) => {
            tracing::warn!(%error, event = name, "socket.io event dropped");
            ControlFlow::Continue(())
        }
    }
}
