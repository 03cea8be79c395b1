//! `/jwt/*`: login, refresh, check and signup in the old shapes, over the same login and signup
//! as GraphQL (pseudonymized usernames, Werkzeug hashes verified and re-hashed).

use axum::http::HeaderMap;
use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::guard::{Bearer, LegacyError, LegacyResult, parse_json};
use crate::{
    auth::{
        jwt::REFRESH_EXPIRED,
        login::{self, check_credentials_shape},
        sessions::{self, Rotation, SessionTokens},
    },
    error::AppError,
    http::HttpState,
    ratelimit::ClientIp,
    services,
};

#[derive(Deserialize)]
struct Credentials {
    username: Option<String>,
    password: Option<String>,
}

/// Username and password, or the old 400 `{"error": "… is missing"}`.
fn credentials(body: &[u8]) -> LegacyResult<(String, String)> {
    let credentials: Credentials = parse_json(body)?;
    let missing = |what: &str| LegacyError::bad_request(format!("{what} is missing"));
    let username = credentials
        .username
        .filter(|u| !u.is_empty())
        .ok_or_else(|| missing("Username"))?;
    let password = credentials
        .password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| missing("Password"))?;
    Ok((username, password))
}

/// `POST /jwt/login` → `{"access_token","refresh_token","auth_notebooks"}`.
pub async fn login(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    body: Bytes,
) -> LegacyResult<Json<Value>> {
    let (username, password) = credentials(&body)?;
    let app = &state.app;
    // Before the password check: a refused attempt costs no Argon2 work.
    app.rate_limits.login(client, Some(&username)).await?;
    let rejected =
        || LegacyError::refused(StatusCode::UNAUTHORIZED, "Invalid username or password");
    check_credentials_shape(&username, &password, 1).map_err(|_| rejected())?;
    let user = login::authenticate(&app.accounts, &username, password, client)
        .await
        .map_err(|error| match error {
            AppError::Unauthenticated(_) => rejected(),
            other => other.into(),
        })?;
    let SessionTokens { access, refresh } = sessions::start(&app.accounts, &user).await?;
    let notebooks = auth_notebooks(&state, &user).await?;
    Ok(Json(json!({
        "access_token": access.token,
        "refresh_token": refresh.token,
        "auth_notebooks": notebooks,
    })))
}

/// `POST /jwt/refresh` with `Authorization: Bearer <refresh token>` → `{"access_token"}`.
pub async fn refresh(State(state): State<HttpState>, headers: HeaderMap) -> LegacyResult<Response> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(LegacyError::MissingToken)?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or(LegacyError::InvalidToken(
            "Missing 'Bearer' type in 'Authorization' header",
        ))?;
    // The old dashboard keeps its one refresh token: no rotation on this route.
    let refreshed = sessions::refresh(&state.app.accounts, token.trim(), Rotation::Keep).await;
    let (access, _) = refreshed.map_err(|error| match error {
        AppError::Unauthenticated(REFRESH_EXPIRED) => LegacyError::ExpiredToken,
        AppError::Unauthenticated(_) => LegacyError::InvalidToken("Invalid refresh token"),
        other => other.into(),
    })?;
    Ok(Json(json!({ "access_token": access.token })).into_response())
}

/// `GET /jwt/check` → `{"auth_notebooks": [...]}` for a valid access token.
pub async fn check(State(state): State<HttpState>, bearer: Bearer) -> LegacyResult<Json<Value>> {
    let user = bearer.user(&state).await?;
    let notebooks = auth_notebooks(&state, &user).await?;
    Ok(Json(json!({ "auth_notebooks": notebooks })))
}

/// Public ids of the notebooks the user may see (all of them for admins).
async fn auth_notebooks(
    state: &HttpState,
    user: &entity::dashboard_user::Model,
) -> LegacyResult<Vec<String>> {
    let notebooks = services::authorizations::notebooks_of(&state.app.db, user).await?;
    Ok(notebooks.into_iter().map(|n| n.public_id).collect())
}

/// `POST /jwt/signup` → 201 `{"message"}`; 403 when the server runs without
/// `SIGNUP_ENABLED`, 400 for a missing field or a taken username (as the old server).
pub async fn signup(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    body: Bytes,
) -> LegacyResult<Response> {
    let (username, password) = credentials(&body)?;
    // Counted as a login attempt: each one costs an Argon2 hash, and may create an account.
    state.app.rate_limits.login(client, Some(&username)).await?;
    login::signup(&state.app.accounts, &username, password)
        .await
        .map_err(|error| match error {
            AppError::Conflict(_) => LegacyError::bad_request("User already exists"),
            other => LegacyError::from(other),
        })?;
    let message = format!("User {username} created successfully");
    Ok((StatusCode::CREATED, Json(json!({ "message": message }))).into_response())
}

/// `GET /jwt/signup`: the small form the dashboard's login dialog links to.
pub async fn signup_page() -> Html<&'static str> {
    Html(SIGNUP_PAGE)
}

const SIGNUP_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}</style>
</head><body><h1>Create a dashboard account</h1>
<form id="signup"><label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>
<button type="submit">Sign up</button></form><p id="result" role="status"></p>
<script>
document.getElementById("signup").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const result = document.getElementById("result");
  try {
    const response = await fetch("/jwt/signup", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username: form.get("username"), password: form.get("password")})});
    const data = await response.json();
    result.textContent = data.error || data.message;
  } catch (error) { result.textContent = "The server could not be reached."; }
});
</script></body></html>"#;
