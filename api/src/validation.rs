//! Input bounds shared by every entry point (GraphQL, the REST routes, the services), so one
//! rule gives one message everywhere. Besides lengths, two things every database refuses are
//! refused here first, as the client's fault: a NUL character in text (PostgreSQL's `text` and
//! `jsonb` cannot hold one) and a time outside years 1 to 9999 (beyond PostgreSQL's range at
//! the far end, and no event's time at either).

use chrono::{DateTime, Datelike, Utc};

use crate::error::{AppError, AppResult};

/// Refuses an empty or over-long identifier-like string, naming the field.
pub fn bounded(field: &str, value: &str, max_len: usize) -> AppResult<()> {
    if value.is_empty() {
        return Err(AppError::bad_input(format!("{field} must not be empty")));
    }
    if value.len() > max_len {
        return Err(AppError::bad_input(format!(
            "{field} is longer than {max_len} bytes"
        )));
    }
    storable_text(field, value)
}

/// Refuses text with a NUL character.
pub fn storable_text(field: &str, value: &str) -> AppResult<()> {
    match value.contains('\0') {
        true => Err(AppError::bad_input(format!(
            "{field} must not contain a NUL character"
        ))),
        false => Ok(()),
    }
}

/// Refuses a JSON value with a NUL character in any string or key.
pub fn storable_json(field: &str, value: &serde_json::Value) -> AppResult<()> {
    use serde_json::Value;
    match value {
        Value::String(text) => storable_text(field, text),
        Value::Array(items) => items.iter().try_for_each(|item| storable_json(field, item)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            storable_text(field, key)?;
            storable_json(field, item)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Refuses a time outside years 1 to 9999.
pub fn storable_time(field: &str, time: &DateTime<Utc>) -> AppResult<()> {
    match (1..=9999).contains(&time.year()) {
        true => Ok(()),
        false => Err(AppError::bad_input(format!(
            "{field} must be a time between the years 1 and 9999"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_and_far_times_are_the_clients_fault() {
        assert!(bounded("cellId", "c\u{0}1", 128).is_err());
        let outputs = serde_json::json!([{ "text": ["ok", "bad\u{0}"] }]);
        assert_eq!(
            storable_json("cellOutputModel", &outputs)
                .err()
                .map(|e| e.code()),
            Some("BAD_USER_INPUT")
        );
        let far: DateTime<Utc> = "-262143-01-01T00:00:00Z".parse().unwrap();
        assert!(storable_time("time", &far).is_err());
        let now = Utc::now();
        assert!(storable_time("time", &now).is_ok());
    }
}
