//! Who may introspect the schema (`INTROSPECTION`): everyone in dev mode; in production only
//! admins by default, so a deployment does not hand its whole API map to anyone. Checked per
//! request (HTTP and websocket operations alike, through `admission`) before execution: a
//! refused one is `FORBIDDEN`, not a silent `null`.

use sea_orm::DatabaseConnection;

use crate::{
    auth::{RequestAuth, Role},
    config::Introspection,
    error::{AppError, AppResult},
};

/// `FORBIDDEN` when `query` introspects and its viewer may not (under `policy`).
pub(super) async fn check_policy(
    policy: Introspection,
    db: &DatabaseConnection,
    auth: &RequestAuth,
    query: &str,
) -> AppResult<()> {
    // Only a document that asks is concerned (and pays for the user lookup).
    if !mentions_introspection(query) {
        return Ok(());
    }
    let allowed = match policy {
        Introspection::On => true,
        Introspection::Off => false,
        Introspection::Admins => auth
            .current_user(db)
            .await
            .is_ok_and(|user| user.role == Role::Admin),
    };
    match allowed {
        true => Ok(()),
        false => Err(AppError::forbidden(
            "introspection is not open on this server (INTROSPECTION)",
        )),
    }
}

/// Whether the document names `__schema` or `__type` (`__typename` is always allowed).
fn mentions_introspection(query: &str) -> bool {
    query.contains("__schema")
        || query
            .match_indices("__type")
            .any(|(at, _)| !query[at + "__type".len()..].starts_with("name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typename_alone_is_not_introspection() {
        assert!(!mentions_introspection("{ __typename me { __typename } }"));
        assert!(mentions_introspection(
            "{ __typename __schema { types { name } } }"
        ));
        assert!(mentions_introspection(
            "{ __type(name: \"Query\") { name } }"
        ));
    }
}
