//! Input bounds shared by every entry point (GraphQL, the REST routes, the services), so one
//! rule gives one message everywhere.

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
    Ok(())
}
