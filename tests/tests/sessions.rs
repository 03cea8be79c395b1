//! Sessions that end when they should: refresh tokens rotate on use (a reused one ends its whole
//! login), logout ends a login or every session, a password change and a superuser's
//! revocation end every session at once (access tokens included), and the old `/jwt/refresh`
//! keeps its one refresh token but honours all of it.

use api::auth::Role;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const LOGIN: &str = r#"mutation($u: String!, $p: String!) {
    login(username: $u, password: $p) { accessToken refreshToken } }"#;
const REFRESH: &str = r#"mutation($t: String!) {
    refreshToken(refreshToken: $t) { accessToken refreshToken } }"#;
const LOGOUT: &str =
    r#"mutation($t: String!, $all: Boolean!) { logout(refreshToken: $t, everywhere: $all) }"#;
const ME: &str = "{ me { role } }";
const PASSWORD: &str = "a-long-password";

/// (access, refresh) of a fresh login.
async fn login(app: &TestApp, username: &str, password: &str) -> (String, String) {
    let response = app
        .graphql(LOGIN, json!({ "u": username, "p": password }))
        .await;
    let login = &response.data()["login"];
    (
        login["accessToken"].as_str().unwrap().to_owned(),
        login["refreshToken"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &TestApp, token: &str) -> Result<(String, String), String> {
    let response = app.graphql(REFRESH, json!({ "t": token })).await;
    if !response.errors().is_empty() {
        return Err(response.error_code());
    }
    let data = &response.data()["refreshToken"];
    Ok((
        data["accessToken"].as_str().unwrap().to_owned(),
        data["refreshToken"].as_str().unwrap().to_owned(),
    ))
}

async fn me_code(app: &TestApp, access: &str) -> String {
    let response = app.graphql_as(access, ME, json!({})).await;
    match response.errors().is_empty() {
        true => "OK".to_owned(),
        false => response.error_code(),
    }
}

backend_tests! {
    async fn a_refresh_token_works_once_and_its_reuse_ends_the_login(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", PASSWORD, Role::User).await;
        let (_, first) = login(&app, "teacher", PASSWORD).await;
        let (_, other_login) = login(&app, "teacher", PASSWORD).await;
        let (access, second) = refresh(&app, &first).await.unwrap();
        assert_ne!(first, second);
        assert_eq!(me_code(&app, &access).await, "OK");
        // The used token again: refused, and its successor is revoked with it, and so is the
        // access token of that login's last rotation.
        assert_eq!(refresh(&app, &first).await, Err("UNAUTHENTICATED".to_owned()));
        assert_eq!(refresh(&app, &second).await, Err("UNAUTHENTICATED".to_owned()));
        assert_eq!(me_code(&app, &access).await, "UNAUTHENTICATED");
        // Another login of the same user is untouched.
        assert!(refresh(&app, &other_login).await.is_ok());
    }

    async fn logout_ends_one_login_or_every_session(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", PASSWORD, Role::User).await;
        let (_, laptop) = login(&app, "teacher", PASSWORD).await;
        let (phone_access, phone) = login(&app, "teacher", PASSWORD).await;
        let out = app.graphql(LOGOUT, json!({ "t": laptop, "all": false })).await;
        assert_eq!(out.data()["logout"], true);
        assert_eq!(refresh(&app, &laptop).await, Err("UNAUTHENTICATED".to_owned()));
        assert_eq!(me_code(&app, &phone_access).await, "OK");
        let (_, tablet) = login(&app, "teacher", PASSWORD).await;
        app.graphql(LOGOUT, json!({ "t": tablet, "all": true })).await.data();
        // Everywhere: the phone's access token stops at once, not in 30 minutes.
        assert_eq!(me_code(&app, &phone_access).await, "UNAUTHENTICATED");
        assert_eq!(refresh(&app, &phone).await, Err("UNAUTHENTICATED".to_owned()));
        let (fresh, _) = login(&app, "teacher", PASSWORD).await;
        assert_eq!(me_code(&app, &fresh).await, "OK");
    }

    async fn a_password_change_ends_every_other_session(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", PASSWORD, Role::User).await;
        let (access, refresh_token) = login(&app, "teacher", PASSWORD).await;
        let change = r#"mutation($c: String!, $n: String!) {
            changePassword(currentPassword: $c, newPassword: $n) { accessToken } }"#;
        let wrong = app.graphql_as(&access, change, json!({ "c": "not-it-at-all", "n": "another-long-one" })).await;
        assert_eq!(wrong.error_code(), "FORBIDDEN");
        let changed = app.graphql_as(&access, change, json!({ "c": PASSWORD, "n": "another-long-one" })).await;
        let new_access = changed.data()["changePassword"]["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(me_code(&app, &access).await, "UNAUTHENTICATED");
        assert_eq!(refresh(&app, &refresh_token).await, Err("UNAUTHENTICATED".to_owned()));
        assert_eq!(me_code(&app, &new_access).await, "OK");
        let old = app.graphql(LOGIN, json!({ "u": "teacher", "p": PASSWORD })).await;
        assert_eq!(old.error_code(), "UNAUTHENTICATED");
        login(&app, "teacher", "another-long-one").await;
    }

    async fn a_superuser_ends_a_users_sessions_but_not_an_admins(backend) {
        let app = TestApp::spawn(backend).await;
        let superuser = app.user_token("head", Role::Superuser).await;
        app.create_user("ta", PASSWORD, Role::User).await;
        app.create_user("boss", PASSWORD, Role::Admin).await;
        let (ta_access, _) = login(&app, "ta", PASSWORD).await;
        let (boss_access, _) = login(&app, "boss", PASSWORD).await;
        let revoke = "mutation($u: String!) { revokeSessions(username: $u) }";
        assert_eq!(app.graphql_as(&superuser, revoke, json!({ "u": "ta" })).await.data()["revokeSessions"], true);
        assert_eq!(me_code(&app, &ta_access).await, "UNAUTHENTICATED");
        let refused = app.graphql_as(&superuser, revoke, json!({ "u": "boss" })).await;
        assert_eq!(refused.error_code(), "FORBIDDEN");
        assert_eq!(me_code(&app, &boss_access).await, "OK");
        let by_user = app.graphql_as(&ta_access, revoke, json!({ "u": "boss" })).await;
        assert_eq!(by_user.error_code(), "UNAUTHENTICATED");
        let audit = entity::audit_log::Entity::find().all(&app.state.db).await.unwrap();
        assert!(audit.iter().any(|row| row.action == "revoke_sessions"), "{audit:?}");
    }

    async fn the_old_refresh_route_keeps_its_token_but_honours_logout(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", PASSWORD, Role::User).await;
        let (_, refresh_token) = login(&app, "teacher", PASSWORD).await;
        let old_refresh = || async {
            let response = app.client.post(app.url("/jwt/refresh"))
                .header("authorization", format!("Bearer {refresh_token}"))
                .send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        };
        for _ in 0..2 {
            let (status, body) = old_refresh().await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(me_code(&app, body["access_token"].as_str().unwrap()).await, "OK");
        }
        app.graphql(LOGOUT, json!({ "t": refresh_token, "all": false })).await.data();
        let (status, body) = old_refresh().await;
        assert_eq!(status, 422, "{body}");
    }
}

#[tokio::test]
async fn a_revoked_teachers_live_socket_is_closed_at_the_next_ping() {
    let app = TestApp::spawn_with(tests::Backend::Sqlite, |c| {
        c.limits.ws_ping_interval_ms = 200
    })
    .await;
    app.register_notebook("nb-revoked").await;
    app.create_user("teacher", PASSWORD, Role::User).await;
    app.authorize("teacher", "nb-revoked").await;
    let (access, refresh_token) = login(&app, "teacher", PASSWORD).await;
    let mut socket = app.websocket(json!({ "token": access })).await;
    let session = r#"subscription { dashboardSession(notebookId: "nb-revoked") { __typename } }"#;
    socket.subscribe("d", session, json!({})).await;
    app.graphql(LOGOUT, json!({ "t": refresh_token, "all": true }))
        .await
        .data();
    let started = std::time::Instant::now();
    assert_eq!(socket.closed().await, (4403, "Forbidden".to_owned()));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
