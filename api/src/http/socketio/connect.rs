//! Who a Socket.IO connection is, decided before it joins the namespace (a refusal reaches the
//! client as `connect_error` with its message, as the old server's `ConnectionRefusedError`):
//! `conType` (`STUDENT` / `TEACHER`), `nbId` and `userId` from the handshake's query string, and
//! for teachers an optional token (`auth: {token}` or a `token` query parameter).

use std::{collections::HashMap, sync::Arc};

use axum::extract::Query;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use crate::{
    auth::{RequestAuth, Viewer},
    error::AppError,
    services::identity::{self, NotebookRef},
    state::AppState,
};

/// What the connect step learned, kept in the socket's extensions for its handlers.
pub struct SocketContext {
    pub notebook: NotebookRef,
    pub peer: Peer,
}

pub enum Peer {
    /// A student, by pseudonym (the raw id is never kept).
    Student { me: String },
    /// A teacher; `trusted` when a token authorized for the notebook came with the connection.
    /// `claimed` is the pseudonym of the `userId` it connected with, the sender of what it
    /// pushes when `LEGACY_SOCKET_TEACHER_PUSH=unauthenticated` lets it push without a token.
    Teacher {
        trusted: Option<TrustedTeacher>,
        claimed: String,
    },
}

/// A teacher whose token was checked: its viewer is re-checked at every push or chat, so an
/// expired token or a revoked grant takes effect at once.
pub struct TrustedTeacher {
    pub viewer: Viewer,
    pub pseudonym: String,
}

/// Why a connection was refused; its text is what the client's `connect_error` carries.
#[derive(Debug)]
pub struct Refusal(&'static str);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

pub async fn authenticate(
    app: AppState,
    socket: SocketRef,
    auth: Option<Value>,
) -> Result<(), Refusal> {
    let params = Query::<HashMap<String, String>>::try_from_uri(&socket.req_parts().uri)
        .map(|Query(params)| params)
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let (Some(kind), Some(notebook_id), Some(user_id)) =
        (param("conType"), param("nbId"), param("userId"))
    else {
        return Err(Refusal("Missing required identifiers"));
    };
    if identity::check_user_id(user_id).is_err() {
        return Err(Refusal("Invalid identifiers"));
    }
    let notebook = match app.identity.notebook(notebook_id).await {
        Ok(notebook) => notebook,
        Err(AppError::BadUserInput(_)) => return Err(Refusal("Invalid identifiers")),
        Err(AppError::NotFound(_)) => return Err(Refusal("Notebook not registered")),
        Err(error) => return Err(unavailable(&error)),
    };
    let peer = match kind {
        "STUDENT" => Peer::Student {
            me: app
                .identity
                .pseudonym(user_id)
                .map_err(|_| Refusal("Invalid identifiers"))?,
        },
        "TEACHER" => {
            let token = token(auth.as_ref(), param("token"));
            Peer::Teacher {
                trusted: trusted_teacher(&app, token, notebook_id).await?,
                claimed: app
                    .identity
                    .pseudonym(user_id)
                    .map_err(|_| Refusal("Invalid identifiers"))?,
            }
        }
        _ => return Err(Refusal("Invalid connection type")),
    };
    socket
        .extensions
        .insert(Arc::new(SocketContext { notebook, peer }));
    Ok(())
}

/// The token from the Socket.IO `auth` payload (`{token}` or `{authorization}`), else from
/// the query string.
fn token(auth: Option<&Value>, query_token: Option<&str>) -> Option<Value> {
    let carries_token = |auth: &Value| {
        ["token", "authorization", "Authorization"]
            .iter()
            .any(|key| auth.get(key).is_some())
    };
    match (auth, query_token) {
        (Some(auth), _) if carries_token(auth) => Some(auth.clone()),
        (_, Some(token)) => Some(json!({ "token": token })),
        _ => None,
    }
}

/// No token: an untrusted teacher (refresh signals only). A token that does not verify or is
/// not authorized for the notebook refuses the connection, so the client learns why.
async fn trusted_teacher(
    app: &AppState,
    token: Option<Value>,
    notebook_id: &str,
) -> Result<Option<TrustedTeacher>, Refusal> {
    let Some(token) = token else {
        return Ok(None);
    };
    let viewer = Viewer::from_init_payload(&token, &app.accounts.jwt);
    if matches!(viewer, Viewer::Anonymous) {
        return Ok(None);
    }
    let auth = RequestAuth::for_connection(viewer.clone());
    match auth.require_notebook(&app.db, notebook_id).await {
        Ok(user) => Ok(Some(TrustedTeacher {
            viewer,
            pseudonym: user.username_hash.clone(),
        })),
        Err(error @ (AppError::Internal(_) | AppError::Unavailable { .. })) => {
            Err(unavailable(&error))
        }
        Err(_) => Err(Refusal("Forbidden")),
    }
}

fn unavailable(error: &AppError) -> Refusal {
    tracing::warn!(
        code = error.code(),
        "socket.io connection refused: {}",
        error.public_message()
    );
    Refusal("Service unavailable")
}
