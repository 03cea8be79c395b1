//! Every reason this server closes a subscription socket, with its code and its reason text,
//! in one place so the README's table and the code cannot drift apart.

use axum::extract::ws::{CloseFrame, Message};

/// RFC 6455 caps a close frame's payload at 125 bytes; two of them carry the code.
pub const MAX_REASON_BYTES: usize = 123;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    /// 4400: a message that is not JSON, of an unknown type, or missing a field.
    InvalidMessage(String),
    /// 4401: `subscribe` before `connection_ack`.
    Unauthorized,
    /// 4403: the `connection_init` token is bad or expired, or its user's sessions ended (user
    /// disabled, deleted, revoked), at init or while connected.
    Forbidden,
    /// 4408: no `connection_init` within the configured wait.
    InitTimeout,
    /// 4409: `subscribe` with the id of an operation still running.
    DuplicateId(String),
    /// 4429: a second `connection_init`.
    TooManyInits,
    /// 4000: the peer sent nothing, not even a `pong`, for two ping intervals.
    KeepAliveTimeout,
    /// 1001: the server is shutting down; clients reconnect to another instance.
    ShuttingDown,
    /// 1008: more operations running on this socket than the configured limit.
    TooManyOperations,
    /// 1009: a message over the configured size.
    MessageTooBig,
}

impl Close {
    pub fn code(&self) -> u16 {
        match self {
            Self::InvalidMessage(_) => 4400,
            Self::Unauthorized => 4401,
            Self::Forbidden => 4403,
            Self::InitTimeout => 4408,
            Self::DuplicateId(_) => 4409,
            Self::TooManyInits => 4429,
            Self::KeepAliveTimeout => 4000,
            Self::ShuttingDown => 1001,
            Self::TooManyOperations => 1008,
            Self::MessageTooBig => 1009,
        }
    }

    /// The reason text, at most [`MAX_REASON_BYTES`]: a longer one makes clients see 1006
    /// (abnormal closure) instead of our code.
    pub fn reason(&self) -> String {
        let reason = match self {
            Self::InvalidMessage(detail) => format!("Invalid message received: {detail}"),
            Self::Unauthorized => "Unauthorized".to_owned(),
            Self::Forbidden => "Forbidden".to_owned(),
            Self::InitTimeout => "Connection initialisation timeout".to_owned(),
            Self::DuplicateId(id) => format!("Subscriber for {id} already exists"),
            Self::TooManyInits => "Too many initialisation requests".to_owned(),
            Self::KeepAliveTimeout => "Keep-alive timeout".to_owned(),
            Self::ShuttingDown => "Server shutting down".to_owned(),
            Self::TooManyOperations => "Too many subscriptions".to_owned(),
            Self::MessageTooBig => "Message too big".to_owned(),
        };
        truncate(reason, MAX_REASON_BYTES)
    }

    pub fn into_message(self) -> Message {
        Message::Close(Some(CloseFrame {
            code: self.code(),
            reason: self.reason().into(),
        }))
    }
}

/// Cuts `text` to at most `max` bytes without splitting a character.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_is_cut_to_123_bytes_on_a_character_boundary() {
        let id = "é".repeat(200);
        let reason = Close::DuplicateId(id).reason();
        assert!(reason.len() <= MAX_REASON_BYTES, "{} bytes", reason.len());
        assert!(reason.len() >= MAX_REASON_BYTES - 1);
        assert!(reason.starts_with("Subscriber for é"));
    }

    #[test]
    fn a_short_reason_is_kept_whole() {
        assert_eq!(
            Close::DuplicateId("7".into()).reason(),
            "Subscriber for 7 already exists"
        );
        assert_eq!(Close::InitTimeout.code(), 4408);
    }
}
