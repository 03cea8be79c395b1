//! One socket from upgrade to close: waiting for `connection_init` (token check, 4408 on
//! timeout), then serving operations with keep-alive pings, closing when the token expires,
//! the user's sessions end (announced on the broker by whichever instance ended them) or the
//! server shuts down. A single task owns the socket and polls every operation, so the order of
//! what a client sends is the order it is handled in.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures::StreamExt;
use serde_json::{Map, Value};
use tokio::time::{Instant, MissedTickBehavior};

use super::{
    Settings,
    close::Close,
    message::{ClientMessage, ServerMessage},
    operations::{Event, Operations},
};
use crate::{
    auth::{RequestAuth, Viewer},
    error::AppError,
    graphql::{Engine, admission::Admission},
    ratelimit::ClientIp,
    services::sessions::endings,
    state::AppState,
};

/// How long a closing socket waits for the peer's close frame before dropping the connection;
/// dropping with unread input would reset it and could lose our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub struct Connection {
    pub engine: Engine,
    pub app: AppState,
    pub settings: Settings,
    /// The client address, for the resolvers that count requests by address (ingest, login).
    pub client: ClientIp,
}

/// How a phase of the connection ended.
enum End {
    /// The peer sent its close frame: the reply (queued by the websocket layer) is flushed.
    PeerClosed,
    /// The connection failed: nothing more to send.
    Gone,
    /// We close with this code.
    Close(Close),
}

impl From<Close> for End {
    fn from(close: Close) -> Self {
        Self::Close(close)
    }
}

pub async fn serve(mut socket: WebSocket, connection: Connection) {
    let _open = OpenSocket::count();
    let end = match await_init(&mut socket, &connection).await {
        Ok(viewer) => match send(&mut socket, &ServerMessage::ConnectionAck).await {
            Ok(()) => run(&mut socket, &connection, viewer).await,
            Err(end) => end,
        },
        Err(end) => end,
    };
    match end {
        End::Close(close) => {
            tracing::debug!(
                ws.close_code = close.code(),
                ws.close_reason = %close.reason(),
                "closing the websocket"
            );
            close_gracefully(socket, close).await;
        }
        // Completes the closing handshake: without the flush the echoed close frame stays
        // queued and the peer sees the TCP connection drop (1006).
        End::PeerClosed => {
            let _flushed = futures::SinkExt::flush(&mut socket).await;
        }
        End::Gone => {}
    }
}

/// Counts the socket in `websocket_connections` while it lives, however it ends.
struct OpenSocket(metrics::Gauge);

impl OpenSocket {
    fn count() -> Self {
        let gauge = metrics::gauge!("websocket_connections", "protocol" => "graphql-transport-ws");
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Before the ack only pings, pongs and `connection_init` are welcome.
async fn await_init(socket: &mut WebSocket, connection: &Connection) -> Result<Viewer, End> {
    let deadline = tokio::time::sleep(connection.settings.init_timeout);
    tokio::pin!(deadline);
    loop {
        let frame = tokio::select! {
            frame = socket.recv() => frame,
            () = &mut deadline => return Err(Close::InitTimeout.into()),
            () = connection.app.shutdown.cancelled() => return Err(Close::ShuttingDown.into()),
        };
        match read(frame)? {
            None | Some(ClientMessage::Pong {} | ClientMessage::Complete { .. }) => {}
            Some(ClientMessage::Ping { payload }) => {
                send(socket, &ServerMessage::Pong { payload }).await?;
            }
            Some(ClientMessage::Subscribe { .. }) => return Err(Close::Unauthorized.into()),
            Some(ClientMessage::ConnectionInit { payload }) => {
                return authenticate(payload, &connection.app)
                    .await
                    .map_err(End::from);
            }
        }
    }
}

/// No token is an anonymous viewer (students need none); a token that does not verify is a
/// 4403, which graphql-ws clients answer by reconnecting, with a fresh token if they have one.
/// A well-signed token of a user deleted, disabled or whose sessions ended is a 4403 too: the
/// socket must not be acknowledged for a user HTTP already refuses. A database outage is not
/// held against the token: each operation's guards check the user again.
async fn authenticate(
    payload: Option<Map<String, Value>>,
    app: &AppState,
) -> Result<Viewer, Close> {
    let payload = Value::Object(payload.unwrap_or_default());
    match Viewer::from_init_payload(&payload, &app.accounts.jwt) {
        Viewer::Rejected(problem) => {
            tracing::debug!(?problem, "websocket connection_init refused");
            Err(Close::Forbidden)
        }
        viewer @ Viewer::User { .. } => {
            let auth = RequestAuth::for_connection(viewer.clone());
            match auth.current_user(&app.db).await {
                Err(AppError::Unauthenticated(_) | AppError::TokenExpired) => {
                    tracing::debug!("websocket connection_init of an ended session refused");
                    Err(Close::Forbidden)
                }
                Ok(_) | Err(_) => Ok(viewer),
            }
        }
        Viewer::Anonymous => Ok(Viewer::Anonymous),
    }
}

/// After the ack: operations, keep-alive, token expiry and shutdown, until one ends the socket.
async fn run(socket: &mut WebSocket, connection: &Connection, viewer: Viewer) -> End {
    let mut operations = Operations::new(
        connection.settings.max_operations,
        connection.settings.execution_timeout,
    );
    let mut keep_alive = KeepAlive::new(connection.settings.ping_interval);
    let expiry = token_expiry(&viewer);
    tokio::pin!(expiry);
    let user_id = match &viewer {
        Viewer::User { user_id, .. } => Some(*user_id),
        _ => None,
    };
    let mut revoked = endings(connection.app.broker.as_ref(), user_id).await;
    loop {
        let step = tokio::select! {
            frame = socket.recv() => {
                keep_alive.heard_from_peer();
                match read(frame) {
                    Ok(Some(message)) => {
                        handle(socket, connection, &viewer, &mut operations, message).await
                    }
                    Ok(None) => Ok(()),
                    Err(end) => Err(end),
                }
            }
            (id, event) = operations.next() => forward(socket, &mut operations, &id, event).await,
            () = keep_alive.tick() => match keep_alive.peer_is_silent() {
                true => Err(Close::KeepAliveTimeout.into()),
                false if session_ended(connection, &viewer).await => Err(Close::Forbidden.into()),
                false => send(socket, &ServerMessage::Ping).await,
            },
            () = &mut expiry => Err(Close::Forbidden.into()),
            Some(_ended) = revoked.next() => Err(Close::Forbidden.into()),
            () = connection.app.shutdown.cancelled() => Err(Close::ShuttingDown.into()),
        };
        if let Err(end) = step {
            return end;
        }
    }
}

async fn handle(
    socket: &mut WebSocket,
    connection: &Connection,
    viewer: &Viewer,
    operations: &mut Operations,
    message: ClientMessage,
) -> Result<(), End> {
    match message {
        ClientMessage::ConnectionInit { .. } => Err(Close::TooManyInits.into()),
        ClientMessage::Ping { payload } => send(socket, &ServerMessage::Pong { payload }).await,
        ClientMessage::Pong {} => Ok(()),
        ClientMessage::Subscribe { id, payload } => {
            // A fresh auth per operation: guards re-read grants and the token's expiry each time.
            let auth = RequestAuth::for_connection(viewer.clone());
            let request = payload.into_request();
            // Each operation is admitted as a request over HTTP is; a refused one ends with its
            // error alone, the socket stays open.
            if let Err(error) = Admission::of(&connection.app).admit(&auth, &request).await {
                let errors = [crate::graphql::server_error(error)];
                let refusal = ServerMessage::Error {
                    id: &id,
                    payload: &errors,
                };
                return send(socket, &refusal).await;
            }
            let request = request.data(auth).data(connection.client);
            Ok(operations.start(&connection.engine, id, request)?)
        }
        // The protocol forbids answering a client's `complete`: the operation just stops.
        ClientMessage::Complete { id } => {
            operations.remove(&id);
            Ok(())
        }
    }
}

async fn forward(
    socket: &mut WebSocket,
    operations: &mut Operations,
    id: &str,
    event: Event,
) -> Result<(), End> {
    if matches!(event, Event::Next(_)) {
        metrics::counter!("live_events_delivered_total", "transport" => "graphql-ws").increment(1);
    }
    let message = match &event {
        Event::Next(response) => ServerMessage::Next {
            id,
            payload: response,
        },
        Event::Error(errors) => ServerMessage::Error {
            id,
            payload: errors,
        },
        Event::Complete => ServerMessage::Complete { id },
    };
    // `error` and `complete` both end an operation: its id is free and nothing follows them
    // (after an `error` the stream's own `Complete` is dropped unpolled).
    if matches!(event, Event::Error(_) | Event::Complete) {
        operations.remove(id);
    }
    send(socket, &message).await
}

/// A frame from the peer: a protocol message, `None` for websocket-level control frames, or
/// the end of the connection.
fn read(frame: Option<Result<Message, axum::Error>>) -> Result<Option<ClientMessage>, End> {
    let bytes = match frame {
        Some(Ok(Message::Close(_))) => return Err(End::PeerClosed),
        None => return Err(End::Gone),
        Some(Err(error)) if is_too_big(&error) => return Err(Close::MessageTooBig.into()),
        Some(Err(error)) => {
            tracing::debug!(%error, "websocket read failed");
            return Err(End::Gone);
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Ok(None),
        Some(Ok(Message::Text(text))) => text.as_bytes().to_vec(),
        Some(Ok(Message::Binary(bytes))) => bytes.to_vec(),
    };
    Ok(Some(ClientMessage::parse(&bytes)?))
}

fn is_too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)))
}

async fn send(socket: &mut WebSocket, message: &ServerMessage<'_>) -> Result<(), End> {
    socket
        .send(Message::Text(message.to_json().into()))
        .await
        .map_err(|error| {
            tracing::debug!(%error, "websocket send failed");
            End::Gone
        })
}

async fn close_gracefully(mut socket: WebSocket, close: Close) {
    if socket.send(close.into_message()).await.is_err() {
        return;
    }
    let drain = async { while let Some(Ok(_)) = socket.recv().await {} };
    // Whether the peer answered in time or not, the socket is done.
    let _answered = tokio::time::timeout(CLOSE_GRACE, drain).await;
}

/// Whether the user's sessions were ended (logout everywhere, a password change, a
/// superuser's revocation) or the user removed since the socket opened: checked at each
/// keep-alive tick, so its live subscriptions stop then, not at the token's expiry. A database
/// outage ends nothing.
async fn session_ended(connection: &Connection, viewer: &Viewer) -> bool {
    if !matches!(viewer, Viewer::User { .. }) {
        return false;
    }
    let auth = RequestAuth::for_connection(viewer.clone());
    matches!(
        auth.current_user(&connection.app.db).await,
        Err(crate::error::AppError::Unauthenticated(_))
    )
}

/// Sleeps until the guards would refuse the init token (never for an anonymous viewer).
async fn token_expiry(viewer: &Viewer) {
    let Some(valid_until) = viewer.valid_until() else {
        return std::future::pending().await;
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let expired_at_ms = (valid_until + 1).saturating_mul(1000);
    let wait = u64::try_from(expired_at_ms.saturating_sub(now_ms)).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// Server pings at the configured interval; a peer silent for two intervals is gone.
struct KeepAlive {
    interval: Option<(tokio::time::Interval, Duration)>,
    last_heard: Instant,
}

impl KeepAlive {
    fn new(period: Option<Duration>) -> Self {
        let interval = period.map(|period| {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            (interval, period)
        });
        Self {
            interval,
            last_heard: Instant::now(),
        }
    }

    fn heard_from_peer(&mut self) {
        self.last_heard = Instant::now();
    }

    async fn tick(&mut self) {
        match &mut self.interval {
            Some((interval, _)) => {
                interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    fn peer_is_silent(&self) -> bool {
        self.interval
            .as_ref()
            .is_some_and(|(_, period)| self.last_heard.elapsed() >= *period * 2)
    }
}
