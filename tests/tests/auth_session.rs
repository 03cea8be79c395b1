//! Sessions of dashboard users: signup, login, refresh, `me`, the codes clients rely on, and
//! Werkzeug hashes of imported users verified and upgraded to Argon2id.

use api::auth::{Role, TokenType};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const LOGIN: &str = r#"mutation($u: String!, $p: String!) {
    login(username: $u, password: $p) {
        accessToken refreshToken accessTokenExpiresAt refreshTokenExpiresAt
        user { pseudonym username role notebooks { id } }
    } }"#;
const SIGNUP: &str = r#"mutation($u: String!, $p: String!) {
    signup(username: $u, password: $p) { accessToken refreshToken user { pseudonym username role } } }"#;
const ME: &str = "{ me { pseudonym username role notebooks { id } } }";
const REFRESH: &str = r#"mutation($t: String!) {
    refreshToken(refreshToken: $t) { accessToken accessTokenExpiresAt } }"#;

async fn login(app: &TestApp, username: &str, password: &str) -> tests::GraphQLResponse {
    app.graphql(LOGIN, json!({ "u": username, "p": password }))
        .await
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    api::services::users::get_by_username_hash(&app.state.db, &app.pseudonym(username))
        .await
        .unwrap()
        .id
}

backend_tests! {
    async fn signup_creates_a_plain_user_who_is_logged_in_at_once(backend) {
        let app = TestApp::spawn_with(backend, |config| config.signup_enabled = true).await;
        let response = app.graphql(SIGNUP, json!({ "u": "ta-anna", "p": "long enough" })).await;
        let signup = &response.data()["signup"];
        assert_eq!(signup["user"]["role"], "USER");
        assert_eq!(signup["user"]["username"], "ta-anna");
        assert_eq!(signup["user"]["pseudonym"], app.pseudonym("ta-anna"));
        let token = signup["accessToken"].as_str().unwrap();
        let me = app.graphql_as(token, ME, json!({})).await;
        assert_eq!(me.data()["me"]["role"], "USER");
        // Usernames are not stored: `me` cannot tell it.
        assert_eq!(me.data()["me"]["username"], Value::Null);

        let again = app.graphql(SIGNUP, json!({ "u": "ta-anna", "p": "another one" })).await;
        assert_eq!(again.error_code(), "CONFLICT");
        let short = app.graphql(SIGNUP, json!({ "u": "ta-bob", "p": "short" })).await;
        assert_eq!(short.error_code(), "BAD_USER_INPUT");
    }

    async fn signup_is_forbidden_unless_enabled(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.graphql(SIGNUP, json!({ "u": "someone", "p": "long enough" })).await;
        assert_eq!(response.error_code(), "FORBIDDEN");
        assert!(api::services::users::find_by_username_hash(&app.state.db, &app.pseudonym("someone"))
            .await
            .unwrap()
            .is_none());
    }

    async fn login_returns_both_tokens_and_the_authorized_notebooks(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", "secret password", Role::User).await;
        app.register_notebook("nb-b").await;
        app.register_notebook("nb-a").await;
        app.register_notebook("nb-other").await;
        app.authorize("teacher", "nb-a").await;
        app.authorize("teacher", "nb-b").await;
        let response = login(&app, "teacher", "secret password").await;
        let login = &response.data()["login"];
        assert_eq!(login["user"]["role"], "USER");
        assert_eq!(login["user"]["username"], "teacher");
        assert_eq!(login["user"]["notebooks"], json!([{ "id": "nb-a" }, { "id": "nb-b" }]));
        let access_expiry: chrono::DateTime<Utc> =
            login["accessTokenExpiresAt"].as_str().unwrap().parse().unwrap();
        let refresh_expiry: chrono::DateTime<Utc> =
            login["refreshTokenExpiresAt"].as_str().unwrap().parse().unwrap();
        let minutes = (access_expiry - Utc::now()).num_minutes();
        assert!((28..=30).contains(&minutes), "access token lives {minutes} min");
        let days = (refresh_expiry - Utc::now()).num_days();
        assert!((29..=30).contains(&days), "refresh token lives {days} days");

        let token = login["accessToken"].as_str().unwrap();
        let me = app.graphql_as(token, ME, json!({})).await;
        assert_eq!(me.data()["me"]["notebooks"], json!([{ "id": "nb-a" }, { "id": "nb-b" }]));
        assert_eq!(me.data()["me"]["pseudonym"], app.pseudonym("teacher"));
    }

    async fn a_wrong_password_and_an_unknown_user_get_the_same_answer(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", "secret password", Role::User).await;
        let wrong = login(&app, "teacher", "not the password").await;
        let unknown = login(&app, "nobody", "secret password").await;
        assert_eq!(wrong.error_code(), "UNAUTHENTICATED");
        assert_eq!(unknown.error_code(), "UNAUTHENTICATED");
        assert_eq!(wrong.errors()[0]["message"], unknown.errors()[0]["message"]);
        let body = wrong.body.to_string() + &unknown.body.to_string();
        assert!(!body.contains("secret password") && !body.contains("nobody"));
    }

    async fn an_expired_access_token_is_token_expired_and_refresh_then_works(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", "secret password", Role::Superuser).await;
        let response = login(&app, "teacher", "secret password").await;
        let refresh_token = response.data()["login"]["refreshToken"].as_str().unwrap().to_owned();
        let id = user_id(&app, "teacher").await;
        let expired = app
            .state
            .accounts
            .jwt
            .issue_expiring_at(id, TokenType::Access, Utc::now() - Duration::minutes(1))
            .unwrap();
        let me = app.graphql_as(&expired.token, ME, json!({})).await;
        assert_eq!(me.error_code(), "TOKEN_EXPIRED");

        let refreshed = app.graphql(REFRESH, json!({ "t": refresh_token })).await;
        let access = refreshed.data()["refreshToken"]["accessToken"].as_str().unwrap();
        let me = app.graphql_as(access, ME, json!({})).await;
        assert_eq!(me.data()["me"]["role"], "SUPERUSER");
    }

    async fn each_kind_of_token_is_refused_where_the_other_is_expected(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("teacher", "secret password", Role::User).await;
        let response = login(&app, "teacher", "secret password").await;
        let login = &response.data()["login"];
        let access = login["accessToken"].as_str().unwrap();
        let refresh = login["refreshToken"].as_str().unwrap();

        let refresh_as_access = app.graphql_as(refresh, ME, json!({})).await;
        assert_eq!(refresh_as_access.error_code(), "UNAUTHENTICATED");
        let access_as_refresh = app.graphql(REFRESH, json!({ "t": access })).await;
        assert_eq!(access_as_refresh.error_code(), "UNAUTHENTICATED");
        let garbage = app.graphql_as("not.a.jwt", ME, json!({})).await;
        assert_eq!(garbage.error_code(), "UNAUTHENTICATED");
        let anonymous = app.graphql(ME, json!({})).await;
        assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
        let id = user_id(&app, "teacher").await;
        let expired_refresh = app
            .state
            .accounts
            .jwt
            .issue_expiring_at(id, TokenType::Refresh, Utc::now() - Duration::days(1))
            .unwrap();
        let response = app.graphql(REFRESH, json!({ "t": expired_refresh.token })).await;
        assert_eq!(response.error_code(), "UNAUTHENTICATED");
        // The kind is checked before expiry: an old refresh token is no access token either.
        let as_access = app.graphql_as(&expired_refresh.token, ME, json!({})).await;
        assert_eq!(as_access.error_code(), "UNAUTHENTICATED");
    }

    async fn a_bad_token_does_not_block_public_fields(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.graphql_as("garbage", "{ version }", json!({})).await;
        assert_eq!(response.data()["version"], env!("CARGO_PKG_VERSION"));
    }

    async fn werkzeug_hashes_verify_and_are_replaced_by_argon2id(backend) {
        let app = TestApp::spawn(backend).await;
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/werkzeug_hashes.json"
        ))
        .unwrap();
        let fixtures: Value = serde_json::from_str(&text).unwrap();
        // The scrypt hash and the pbkdf2:sha256 one with a non-ASCII password.
        for (index, fixture) in [&fixtures["hashes"][0], &fixtures["hashes"][2]].into_iter().enumerate() {
            let username = format!("imported-{index}");
            let password = fixture["password"].as_str().unwrap();
            let legacy = fixture["hash"].as_str().unwrap().to_owned();
            api::services::users::create(
                &app.state.db,
                app.pseudonym(&username),
                legacy.clone(),
                entity::enums::Role::User,
            )
            .await
            .unwrap();
            let stored = || async {
                api::services::users::get_by_username_hash(&app.state.db, &app.pseudonym(&username))
                    .await
                    .unwrap()
                    .password_hash
            };
            let wrong = login(&app, &username, "wrong password").await;
            assert_eq!(wrong.error_code(), "UNAUTHENTICATED");
            assert_eq!(stored().await, legacy, "a failed login must not touch the hash");

            login(&app, &username, password).await.data();
            assert!(stored().await.starts_with("$argon2id$"), "{}", fixture["method"]);
            // The upgraded hash still accepts the same password.
            login(&app, &username, password).await.data();
        }
    }
}

/// Password checks are bounded: a flood of logins gets `RATE_LIMITED` (with `retryAfter`)
/// beyond what the semaphore lets through in a second, instead of queueing without bound.
#[tokio::test]
async fn a_flood_of_logins_is_rate_limited_instead_of_queued() {
    let app = TestApp::spawn_with(tests::Backend::Sqlite, |config| {
        config.limits.password_checks_max = 1;
        // This test is about the semaphore: the per-name and per-address login limits
        // (`rate_limits.rs`) would refuse most of the flood before it.
        config.limits.rate.login_user_per_min = 0;
        config.limits.rate.login_ip_per_min = 0;
    })
    .await;
    let mutation =
        r#"mutation { login(username: "nobody", password: "wrong-password") { accessToken } }"#;
    // Enough that one permit cannot check them all within the one-second wait, however fast
    // this machine hashes.
    let logins = (0..200).map(|_| app.graphql(mutation, serde_json::json!({})));
    let responses = futures::future::join_all(logins).await;
    let codes: Vec<String> = responses
        .iter()
        .map(|response| response.error_code())
        .collect();
    let limited = codes.iter().filter(|code| *code == "RATE_LIMITED").count();
    assert!(limited > 0, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|code| code == "RATE_LIMITED" || code == "UNAUTHENTICATED"),
        "{codes:?}"
    );
    let refused = responses
        .iter()
        .find(|r| r.error_code() == "RATE_LIMITED")
        .unwrap();
    assert_eq!(refused.errors()[0]["extensions"]["retryAfter"], 1);
}
