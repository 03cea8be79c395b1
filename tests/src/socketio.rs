//! A minimal Socket.IO client (Engine.IO 4 over a websocket, namespace `/`), enough to act as
//! the old extensions do: connect with their query string (and optionally an `auth` payload),
//! emit events with or without an ack, and read the events the server emits. Pings are
//! answered while reading. The Node `socket.io-client` test checks the real client too.

use std::{net::SocketAddr, time::Duration};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async, tungstenite::Message};

const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SioClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
}

/// One packet of the namespace, decoded.
enum Packet {
    Event(String, Value),
    Ack(u64, Value),
}

impl SioClient {
    /// Connects with `query` (e.g. `conType=STUDENT&nbId=nb&userId=alice`): `Err` carries the
    /// server's `connect_error` message.
    pub async fn connect(
        addr: SocketAddr,
        query: &str,
        auth: Option<Value>,
    ) -> Result<Self, String> {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&{query}");
        let (stream, _response) = connect_async(url).await.expect("socket.io websocket");
        let mut client = Self {
            stream,
            next_ack: 0,
        };
        let open = client.text().await;
        assert!(
            open.starts_with('0'),
            "expected the Engine.IO open packet: {open}"
        );
        let connect = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_owned(),
        };
        client.send(connect).await;
        let answer = client.text().await;
        if let Some(error) = answer.strip_prefix("44") {
            let error: Value = serde_json::from_str(error).expect("connect_error JSON");
            return Err(error["message"].as_str().unwrap_or_default().to_owned());
        }
        assert!(answer.starts_with("40"), "expected CONNECT: {answer}");
        Ok(client)
    }

    pub async fn emit(&mut self, event: &str, data: Value) {
        self.send(format!("42{}", json!([event, data]))).await;
    }

    /// Emits and waits for the server's acknowledgement (events received meanwhile are
    /// dropped); returns the ack's first argument.
    pub async fn emit_with_ack(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send(format!("42{id}{}", json!([event, data]))).await;
        loop {
            if let Packet::Ack(ack_id, value) = self.packet().await
                && ack_id == id
            {
                return value;
            }
        }
    }

    /// The next event the server emitted: its name and first argument (null without one).
    pub async fn event(&mut self) -> (String, Value) {
        loop {
            if let Packet::Event(name, value) = self.packet().await {
                return (name, value);
            }
        }
    }

    /// The next event named `name`, skipping others.
    pub async fn event_named(&mut self, name: &str) -> Value {
        loop {
            let (event, value) = self.event().await;
            if event == name {
                return value;
            }
        }
    }

    /// Asserts that no event arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok((name, value)) = tokio::time::timeout(wait, self.event()).await {
            panic!("unexpected event {name}: {value}");
        }
    }

    /// Waits until the server disconnects the socket (a Socket.IO `41`, or the websocket
    /// closing), skipping events on the way.
    pub async fn disconnected(&mut self) {
        loop {
            let frame = tokio::time::timeout(RECEIVE_TIMEOUT, self.stream.next())
                .await
                .expect("a disconnect within the timeout");
            match frame {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    self.send("3".to_owned()).await;
                }
                Some(Ok(Message::Text(text))) if text.as_str().starts_with("41") => return,
                Some(Ok(_)) => {}
            }
        }
    }

    pub async fn close(mut self) {
        let _closed = self.stream.close(None).await;
    }

    async fn packet(&mut self) -> Packet {
        loop {
            let text = self.text().await;
            if let Some(rest) = text.strip_prefix("42") {
                let (_, body) = split_id(rest);
                let array: Value = serde_json::from_str(body).expect("event JSON");
                let name = array[0].as_str().expect("event name").to_owned();
                return Packet::Event(name, array.get(1).cloned().unwrap_or(Value::Null));
            }
            if let Some(rest) = text.strip_prefix("43") {
                let (id, body) = split_id(rest);
                let array: Value = serde_json::from_str(body).expect("ack JSON");
                let value = array.get(0).cloned().unwrap_or(Value::Null);
                return Packet::Ack(id.expect("ack id"), value);
            }
        }
    }

    /// The next text frame, answering Engine.IO pings on the way.
    async fn text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(RECEIVE_TIMEOUT, self.stream.next())
                .await
                .expect("socket.io packet within the timeout")
                .expect("socket.io socket open")
                .expect("socket.io frame");
            match frame {
                Message::Text(text) if text.as_str() == "2" => self.send("3".to_owned()).await,
                Message::Text(text) => return text.to_string(),
                Message::Close(frame) => panic!("socket.io socket closed: {frame:?}"),
                _ => {}
            }
        }
    }

    async fn send(&mut self, text: String) {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("socket.io send");
    }
}

/// Splits a packet's optional numeric ack id from its JSON body.
fn split_id(rest: &str) -> (Option<u64>, &str) {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (rest[..digits].parse().ok(), &rest[digits..])
}
