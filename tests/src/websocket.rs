//! A graphql-transport-ws client over a real websocket.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
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
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .expect("websocket request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (stream, _response) = connect_async(request).await.expect("websocket connect");
        WsClient { stream }
    }
}

impl WsClient {
    pub async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("websocket send");
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
            let message = tokio::time::timeout(RECEIVE_TIMEOUT, self.stream.next())
                .await
                .expect("websocket message within the timeout")
                .expect("websocket open")
                .expect("websocket frame");
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return value;
                }
                Message::Close(frame) => {
                    return json!({ "type": "close", "frame": format!("{frame:?}") });
                }
                _ => continue,
            }
        }
    }
}
