//! The subscription websocket on `/graphql`: graphql-transport-ws done to the protocol
//! (<https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>), instead of the stock
//! async-graphql-axum handler, which closes with the wrong codes, never times out a missing
//! `connection_init`, acknowledges bad tokens and sends no keep-alive. This module owns the
//! upgrade (subprotocol negotiation, size limits) and the settings; `connection` runs a socket.
//!
//! The legacy `graphql-ws` (subscriptions-transport-ws) subprotocol is refused like any other:
//! no client of this server speaks it (the old extensions used Socket.IO).

mod close;
mod connection;
mod message;
mod operations;

use std::time::Duration;

use axum::{
    extract::{FromRequestParts, WebSocketUpgrade},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};

use super::{HttpState, graphql_http::graphql_error};
use crate::{config::Limits, error::AppError, ratelimit::ClientIp};

pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// Read and write buffer of each socket (messages are small JSON; larger ones still pass).
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

/// The per-socket limits and timers, from [`Limits`].
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub init_timeout: Duration,
    /// `None` (configured as 0) turns server pings and the silent-peer close off.
    pub ping_interval: Option<Duration>,
    pub max_operations: usize,
    pub max_message_bytes: usize,
    /// How long a query or mutation may run (as over HTTP); subscriptions are not bounded.
    pub execution_timeout: Duration,
}

impl Settings {
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            init_timeout: Duration::from_millis(limits.ws_init_timeout_ms),
            ping_interval: Some(Duration::from_millis(limits.ws_ping_interval_ms))
                .filter(|interval| !interval.is_zero()),
            max_operations: limits.ws_max_subscriptions,
            max_message_bytes: limits.ws_max_message_bytes,
            execution_timeout: Duration::from_millis(limits.graphql_timeout_ms),
        }
    }
}

/// Upgrades a GET on `/graphql` that asked for a websocket. Without `graphql-transport-ws`
/// among the offered subprotocols the answer is a 400 with a GraphQL-shaped JSON error: a
/// socket that speaks something else would only fail later and less clearly.
pub async fn upgrade(state: HttpState, parts: &mut Parts, client: ClientIp) -> Response {
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &state).await {
        Ok(upgrade) => upgrade.protocols([SUBPROTOCOL]),
        Err(rejection) => return rejection.into_response(),
    };
    if upgrade.selected_protocol().is_none() {
        let message = format!("websocket upgrades need the `{SUBPROTOCOL}` subprotocol");
        return graphql_error(StatusCode::BAD_REQUEST, AppError::bad_input(message));
    }
    let settings = Settings::from_limits(&state.app.config.limits);
    let shutdown = state.app.shutdown.clone();
    // Frames are capped too, so an oversized message is refused from its header, unbuffered.
    // Small buffers: a class is a thousand mostly idle sockets, and tungstenite's 128 KiB
    // defaults per socket would be most of the server's memory; every send flushes anyway.
    upgrade
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        .on_upgrade(move |socket| {
            let connection = connection::Connection {
                engine: state.engine,
                app: state.app,
                settings,
                client,
            };
            shutdown.track(connection::serve(socket, connection))
        })
}
