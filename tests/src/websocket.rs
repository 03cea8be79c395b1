//! A graphql-transport-ws client over a real websocket, plus the raw access protocol tests
//! need: choosing the subprotocol, sending any text, reading close codes without answering
//! pings.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{
        self, Message, client::IntoClientRequest, http::HeaderValue, protocol::CloseFrame,
    },
};

use crate::TestApp;

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How long a test waits for a websocket message before failing.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

impl TestApp {
    /// Opens `/graphql` as a graphql-transport-ws socket, sends `connection_init` with
    /// `init_payload` and waits for `connection_ack`.
    pub async fn websocket(&self, init_payload: Value) -> WsClient {
        let mut client = self.websocket_unacknowledged().await;
        client
            .send(json!({ "type": "connection_init", "payload": init_payload }))
            .await;
        let ack = client.receive().await;
        assert_eq!(ack["type"], "connection_ack", "got {ack}");
        client
    }

    /// Opens the socket without the init handshake.
    pub async fn websocket_unacknowledged(&self) -> WsClient {
        WsClient::open(self.addr).await
    }
}

impl WsClient {
    /// A graphql-transport-ws socket to the server at `addr` (any instance), acknowledged.
    pub async fn connect(addr: std::net::SocketAddr, init_payload: Value) -> Self {
        let mut client = Self::open(addr).await;
        client
            .send(json!({ "type": "connection_init", "payload": init_payload }))
            .await;
        let ack = client.receive().await;
        assert_eq!(ack["type"], "connection_ack", "got {ack}");
        client
    }

    async fn open(addr: std::net::SocketAddr) -> Self {
        match Self::open_with_protocols(addr, Some("graphql-transport-ws")).await {
            Ok((client, _protocol)) => client,
            Err(refusal) => panic!("websocket refused: {refusal:?}"),
        }
    }

    /// Opens `/graphql` offering `protocols` (a `Sec-WebSocket-Protocol` value, or none):
    /// the socket and the subprotocol the server chose, or the refusal's status and JSON body.
    pub async fn open_with_protocols(
        addr: std::net::SocketAddr,
        protocols: Option<&str>,
    ) -> Result<(Self, Option<String>), (u16, Value)> {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .expect("websocket request");
        if let Some(protocols) = protocols {
            let value = HeaderValue::from_str(protocols).expect("header value");
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", value);
        }
        match connect_async(request).await {
            Ok((stream, response)) => {
                let chosen = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .map(|value| value.to_str().expect("ASCII protocol").to_owned());
                Ok((WsClient { stream }, chosen))
            }
            Err(tungstenite::Error::Http(response)) => {
                let body = response.body().as_deref().unwrap_or_default();
                let body = serde_json::from_slice(body).unwrap_or(Value::Null);
                Err((response.status().as_u16(), body))
            }
            Err(error) => panic!("websocket connect: {error}"),
        }
    }
}

impl WsClient {
    pub async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("websocket send");
    }

    /// Sends `text` as it is (invalid messages, oversized ones).
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.stream
            .send(Message::Text(text.into().into()))
            .await
            .expect("websocket send");
    }

    /// Sends `connection_init` with `payload` and returns the server's answer (an ack, or the
    /// close as `receive` reports it).
    pub async fn init(&mut self, payload: Value) -> Value {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.receive().await
    }

    /// Starts operation `id` (a subscription, or a query answered once).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// The next protocol message (pings are answered and skipped).
    pub async fn receive(&mut self) -> Value {
        loop {
            let value = self.receive_raw().await;
            if value["type"] != "ping" {
                return value;
            }
            self.send(json!({ "type": "pong" })).await;
        }
    }

    /// The next protocol message as it comes: server pings are returned, not answered.
    pub async fn receive_raw(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(RECEIVE_TIMEOUT, self.stream.next())
                .await
                .expect("websocket message within the timeout")
                .expect("websocket open")
                .expect("websocket frame");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON message"),
                Message::Close(frame) => return close_value(frame),
                _ => continue,
            }
        }
    }

    /// Sends a close frame with `code`, as a client leaving does.
    pub async fn send_close(&mut self, code: u16) {
        let frame = CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        };
        self.stream
            .send(Message::Close(Some(frame)))
            .await
            .expect("send a close frame");
    }

    /// Reads (and drops, pings unanswered) every message until the server's close frame; its
    /// code and reason. Fails when the connection ends without one (a client would see 1006).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(RECEIVE_TIMEOUT, self.stream.next())
                .await
                .expect("a close within the timeout");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) => panic!("a close frame without a code"),
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!("the connection failed before a close frame: {error}"),
                None => panic!("the connection ended without a close frame"),
            }
        }
    }
}

/// A close frame as a message-like value: `{"type": "close", "code": …, "reason": …}`.
fn close_value(frame: Option<CloseFrame>) -> Value {
    match frame {
        Some(frame) => json!({
            "type": "close",
            "code": u16::from(frame.code),
            "reason": frame.reason.as_str(),
            "frame": format!("{frame:?}"),
        }),
        None => json!({ "type": "close", "frame": "None" }),
    }
}
