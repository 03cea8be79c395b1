//! The graphql-transport-ws messages: parsing what clients send (strictly: anything outside
//! the protocol is a 4400) and serializing what the server sends.

use async_graphql::{Request, ServerError, Variables};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::close::Close;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    /// Its payload, if any, is ignored: a pong only proves the peer is alive.
    Pong {},
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribePayload {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default)]
    extensions: Option<Map<String, Value>>,
}

impl SubscribePayload {
    pub fn into_request(self) -> Request {
        let mut request = Request::new(self.query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(Variables::from_json(Value::Object(variables)));
        }
        for (name, value) in self.extensions.unwrap_or_default() {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(name, value);
            }
        }
        request
    }
}

impl ClientMessage {
    /// One text (or binary, read as UTF-8 JSON) message; an empty id is as invalid as none,
    /// since it could never be told apart in the server's answers.
    pub fn parse(bytes: &[u8]) -> Result<Self, Close> {
        let message: Self = serde_json::from_slice(bytes)
            .map_err(|error| Close::InvalidMessage(error.to_string()))?;
        match &message {
            Self::Subscribe { id, .. } | Self::Complete { id } if id.is_empty() => {
                Err(Close::InvalidMessage("empty `id`".to_owned()))
            }
            _ => Ok(message),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    ConnectionAck,
    Ping,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
    },
    Next {
        id: &'a str,
        payload: &'a async_graphql::Response,
    },
    Error {
        id: &'a str,
        payload: &'a [ServerError],
    },
    Complete {
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    pub fn to_json(&self) -> String {
        // Our messages are plain data (strings, maps, GraphQL values): serializing cannot fail,
        // and if it ever did an empty object is refused by the client, which reconnects.
        serde_json::to_string(self).unwrap_or_else(|error| {
            tracing::error!(%error, "cannot serialize a websocket message");
            "{}".to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<ClientMessage, Close> {
        ClientMessage::parse(value.to_string().as_bytes())
    }

    #[test]
    fn messages_outside_the_protocol_are_invalid() {
        let invalid = [
            json!({ "type": "start", "id": "1" }),
            json!({ "type": "next", "id": "1", "payload": {} }),
            json!({ "type": "subscribe", "payload": { "query": "{ version }" } }),
            json!({ "type": "subscribe", "id": "1" }),
            json!({ "type": "subscribe", "id": "1", "payload": { "variables": {} } }),
            json!({ "type": "subscribe", "id": "", "payload": { "query": "{ version }" } }),
            json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ a }", "variables": [1] } }),
            json!({ "type": "complete" }),
            json!({ "type": "connection_init", "payload": "token" }),
            json!({ "id": "1" }),
        ];
        for message in invalid {
            assert!(
                matches!(parse(message.clone()), Err(Close::InvalidMessage(_))),
                "{message}"
            );
        }
        assert!(ClientMessage::parse(b"not json").is_err());
    }

    #[test]
    fn protocol_messages_parse_with_their_optional_fields() {
        assert!(matches!(
            parse(json!({ "type": "connection_init" })),
            Ok(ClientMessage::ConnectionInit { payload: None })
        ));
        assert!(matches!(
            parse(json!({ "type": "connection_init", "payload": null })),
            Ok(ClientMessage::ConnectionInit { payload: None })
        ));
        assert!(matches!(
            parse(json!({ "type": "ping", "payload": { "a": 1 } })),
            Ok(ClientMessage::Ping { payload: Some(_) })
        ));
        let subscribe = json!({
            "type": "subscribe", "id": "op",
            "payload": { "query": "query Q($a: Int) { a }", "operationName": "Q",
                         "variables": { "a": 1 }, "extensions": null },
        });
        let Ok(ClientMessage::Subscribe { id, payload }) = parse(subscribe) else {
            panic!("subscribe did not parse");
        };
        assert_eq!(id, "op");
        let request = payload.into_request();
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            request.variables.into_value().into_json().ok(),
            Some(json!({ "a": 1 }))
        );
    }

    #[test]
    fn server_messages_have_the_protocol_shape() {
        let complete = ServerMessage::Complete { id: "1" }.to_json();
        assert_eq!(complete, r#"{"type":"complete","id":"1"}"#);
        assert_eq!(
            ServerMessage::Pong { payload: None }.to_json(),
            r#"{"type":"pong"}"#
        );
        assert_eq!(
            ServerMessage::ConnectionAck.to_json(),
            r#"{"type":"connection_ack"}"#
        );
    }
}
