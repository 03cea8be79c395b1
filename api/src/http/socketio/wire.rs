//! The old Socket.IO payloads, both ways. A push travels as the text of a chat message holding
//! JSON (`{"content", "action": "update_cell" | "update_notebook", "update_id", "hint"?}`), as
//! the deployed extensions read and write it; everything else is a small object.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    broker::{
        BrokerEvent,
        live::{ChatMessage, PushedCell, PushedUpdate, TeammateEvent},
    },
    services::live::NewPush,
};

/// A client's `send_message` / `group_message`: to whom (a pseudonym) and what.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingMessage {
    #[serde(default)]
    pub user_id: Option<String>,
    pub message: String,
}

/// A student's `update_location`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationUpdate {
    pub cell_id: String,
    /// The telemetry extension may leave it out; -1 then stands for "unknown".
    #[serde(default)]
    pub cell_index: Option<i32>,
}

#[derive(Deserialize)]
struct LegacyPush {
    content: Value,
    action: String,
    #[serde(default)]
    update_id: Option<String>,
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Deserialize)]
struct LegacyCell {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    cell_id: Option<String>,
    #[serde(default)]
    cell_type: Option<String>,
    #[serde(default)]
    source: Value,
}

/// The push a message carries, or `None` for a plain chat text. The JSON starts at the first
/// `{`, as the extensions read it.
pub fn parse_push(message: &str) -> Option<NewPush> {
    let start = message.find('{')?;
    let push: LegacyPush = serde_json::from_str(&message[start..]).ok()?;
    let cells = match push.action.as_str() {
        "update_cell" => vec![legacy_cell(push.content)?],
        "update_notebook" => match push.content.get("cells")? {
            Value::Array(cells) => cells
                .iter()
                .map(|cell| legacy_cell(cell.clone()))
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        },
        _ => return None,
    };
    Some(NewPush {
        update_id: push.update_id,
        cells,
        hint: push.hint,
    })
}

fn legacy_cell(value: Value) -> Option<PushedCell> {
    let cell: LegacyCell = serde_json::from_value(value).ok()?;
    // nbformat allows a source as a list of lines.
    let source = match cell.source {
        Value::String(text) => text,
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        Value::Null => String::new(),
        _ => return None,
    };
    Some(PushedCell {
        cell_id: cell.id.or(cell.cell_id)?,
        cell_type: cell.cell_type.unwrap_or_else(|| "code".to_owned()),
        source,
    })
}

/// A pushed update as the old message text: one cell as `update_cell`, several as
/// `update_notebook`.
fn push_text(update: &PushedUpdate) -> String {
    let cell = |cell: &PushedCell| {
        json!({
            "id": cell.cell_id, "cell_id": cell.cell_id,
            "cell_type": cell.cell_type, "source": cell.source,
        })
    };
    let mut message = match update.cells.as_slice() {
        [one] => json!({ "content": cell(one), "action": "update_cell" }),
        cells => json!({
            "content": { "cells": cells.iter().map(cell).collect::<Vec<_>>() },
            "action": "update_notebook",
        }),
    };
    message["update_id"] = json!(update.update_id);
    // The extension pastes the hint into the page as HTML: a hint is text, so it is escaped
    // (a teammate's share must not run script in another student's JupyterLab).
    if let Some(hint) = &update.hint {
        message["hint"] = json!(escape_html(hint));
    }
    message.to_string()
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn chat(message: &str, sender: &str, sender_type: &str) -> Value {
    json!({ "message": message, "sender": sender, "sender_type": sender_type })
}

/// The Socket.IO event a student socket receives for a broker event addressed to it.
pub fn student_event(event: BrokerEvent) -> Option<(&'static str, Value)> {
    Some(match event {
        BrokerEvent::PushedUpdate { update, .. } => {
            let text = push_text(&update);
            match update.sender_type.as_str() {
                "teammate" => ("group_chat", chat(&text, &update.sender, "teammate")),
                _ => ("chat", chat(&text, &update.sender, "teacher")),
            }
        }
        // Telemetry up to 5.1.1 reads every `chat` as a cell update: a text is dropped ("No
        // JSON found in payload") or, shaped like JSON, shown as a cell update. Chat is refused
        // to students connected only this way (`Live::chat`), and never sent over it.
        BrokerEvent::Chat { .. } => return None,
        BrokerEvent::Teammate { event, .. } => teammate_event(event),
        BrokerEvent::DashboardRefresh { .. }
        | BrokerEvent::NotebookDataChanged { .. }
        | BrokerEvent::StudentPresence { .. }
        | BrokerEvent::UserRevoked { .. } => return None,
    })
}

fn teammate_event(event: TeammateEvent) -> (&'static str, Value) {
    match event {
        TeammateEvent::Connected { user } => ("teammate_connected", json!({ "userId": user })),
        TeammateEvent::Disconnected { user } => {
            ("teammate_disconnected", json!({ "userId": user }))
        }
        TeammateEvent::LocationUpdated { user, location } => (
            "teammate_location_update",
            json!({ "userId": user, "cellId": location.cell_id, "cellIndex": location.cell_index }),
        ),
        TeammateEvent::LocationCleared { user } => {
            ("teammate_location_cleared", json!({ "userId": user }))
        }
    }
}

/// The Socket.IO event a teacher socket receives: refresh signals for all; students' chat for
/// trusted teachers only (their socket is the only one subscribed to it).
pub fn teacher_event(event: BrokerEvent) -> Option<(&'static str, Value)> {
    match event {
        BrokerEvent::DashboardRefresh { .. } => Some(("refreshDashboard", Value::Null)),
        BrokerEvent::Chat {
            message: ChatMessage { from, text, .. },
            ..
        } => Some(("chat", chat(&text, &from, "student"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_cell_round_trips_through_the_old_message_text() {
        let message = r#"{"content":{"id":"c1","cell_type":"markdown","source":["x a","b"]},
            "action":"update_cell","update_id":"u1","hint":"look"}"#;
        let push = parse_push(message).expect("a push");
        assert_eq!(push.update_id.as_deref(), Some("u1"));
        assert_eq!(push.hint.as_deref(), Some("look"));
        assert_eq!(push.cells[0].source, "x ab");
        let update = PushedUpdate {
            update_id: "u1".into(),
            cells: push.cells,
            hint: push.hint,
            sender: "t".into(),
            sender_type: "teacher".into(),
            sent_at: chrono::Utc::now(),
        };
        let again = parse_push(&push_text(&update)).expect("our text parses");
        assert_eq!(again.cells[0].cell_id, "c1");
        assert_eq!(again.cells[0].cell_type, "markdown");
    }

    #[test]
    fn a_notebook_push_keeps_every_cell_and_plain_text_is_chat() {
        let message = r#"From x: {"content":{"cells":[{"cell_id":"a","source":"1"},
            {"id":"b","cell_type":"raw","source":"2"}]},"action":"update_notebook","update_id":"u"}"#;
        let push = parse_push(message).expect("a push");
        let ids: Vec<_> = push.cells.iter().map(|c| c.cell_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(push.cells[0].cell_type, "code");
        assert!(parse_push("see you at 10").is_none());
        assert!(parse_push(r#"{"action":"delete_everything","content":{}}"#).is_none());
    }
}
