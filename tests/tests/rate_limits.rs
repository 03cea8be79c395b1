//! Rate limits: per (notebook, student) on ingest with a per-address ceiling that a whole
//! class behind one NAT address stays under, per login name and address on login and signup,
//! per user on authenticated GraphQL; `RATE_LIMITED` with `retryAfter` (GraphQL) or 429 with
//! `Retry-After` (REST); `X-Forwarded-For` believed only from a trusted proxy; counts shared
//! through Redis between instances, and kept in process while Redis is unreachable.

use api::{auth::Role, config::Config};
use futures::StreamExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{Backend, GraphQLResponse, TestApp, backend_tests};

const NOTEBOOK: &str = "nb-rates";

const CELL_FOCUS: &str = r#"mutation($e: CellFocusInput!) {
    recordCellFocus(event: $e) { acceptedCount } }"#;
const LOGIN: &str = r#"mutation($u: String!, $p: String!) {
    login(username: $u, password: $p) { accessToken } }"#;

fn focus(student: &str) -> Value {
    json!({
        "notebookId": NOTEBOOK, "userId": student, "cellId": "cell-1", "origCellId": "orig-1",
        "clickType": "ON", "time": "2024-03-05T10:17:00Z"
    })
}

fn rest_focus(student: &str) -> Value {
    json!({
        "notebook_id": NOTEBOOK, "user_id": student, "cell_id": "cell-1",
        "orig_cell_id": "orig-1", "click_type": "ON", "time": "2024-03-05T10:17:00.000Z"
    })
}

/// Only the student limit, low: 1 per second, a burst of 3.
fn low_student_limit(config: &mut Config) {
    config.limits.rate.ingest_student_per_sec = 1;
    config.limits.rate.ingest_student_burst = 3;
}

async fn spawn(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let app = TestApp::spawn_with(backend, configure).await;
    app.register_notebook(NOTEBOOK).await;
    app
}

async fn record(app: &TestApp, student: &str) -> GraphQLResponse {
    app.graphql(CELL_FOCUS, json!({ "e": focus(student) }))
        .await
}

/// A REST `/send/clickevent/cell`, optionally with an `X-Forwarded-For`: status, `Retry-After`
/// and body.
async fn send(app: &TestApp, student: &str, forwarded: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut request = app
        .client
        .post(app.url("/send/clickevent/cell"))
        .json(&rest_focus(student));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn assert_rate_limited(answer: &GraphQLResponse) {
    assert_eq!(answer.error_code(), "RATE_LIMITED", "{}", answer.body);
    let retry_after = answer.errors()[0]["extensions"]["retryAfter"].as_u64();
    assert!(retry_after.is_some_and(|secs| secs >= 1), "{}", answer.body);
}

backend_tests! {
    async fn a_student_over_their_limit_is_refused_while_a_classmate_on_the_same_address_is_not(backend) {
        let app = spawn(backend, low_student_limit).await;
        for _ in 0..3 {
            record(&app, "alice").await.data();
        }
        assert_rate_limited(&record(&app, "alice").await);
        // The REST route counts against the same key, in its own error shape.
        let (status, retry_after, body) = send(&app, "alice", None).await;
        assert_eq!(status, 429, "{body}");
        assert!(retry_after.is_some_and(|secs| secs >= 1));
        assert_eq!(body["error"]["code"], "RATE_LIMITED");
        // Same address, another student: unaffected.
        record(&app, "bob").await.data();
        assert_eq!(send(&app, "bob", None).await.0, 200);
        // Another notebook is another key too.
        let other = json!({ "e": { "notebookId": "nb-other", "userId": "alice",
            "clickType": "ON", "time": "2024-03-05T10:17:00Z", "cellId": "c", "origCellId": "o" } });
        assert_eq!(app.graphql(CELL_FOCUS, other).await.error_code(), "NOT_FOUND");
    }

    async fn a_thousand_students_behind_one_address_each_sending_two_events_pass_the_defaults(backend) {
        let app = spawn(backend, |_| {}).await;
        let students: Vec<String> = (0..1000).map(|n| format!("student-{n:04}")).collect();
        let requests = students.iter().flat_map(|student| {
            let app = &app;
            [
                futures::future::Either::Left(async move {
                    let answer = record(app, student).await;
                    (answer.errors().is_empty(), answer.body.to_string())
                }),
                futures::future::Either::Right(async move {
                    let (status, _, body) = send(app, student, None).await;
                    (status == 200, body.to_string())
                }),
            ]
        });
        let refused: Vec<String> = futures::stream::iter(requests)
            .buffer_unordered(32)
            .filter_map(|(ok, body)| async move { (!ok).then_some(body) })
            .collect()
            .await;
        assert!(refused.is_empty(), "{} refused, first: {:?}", refused.len(), refused.first());
    }

    async fn logins_are_limited_per_username_and_other_names_are_not(backend) {
        let app = TestApp::spawn_with(backend, |config| {
            config.limits.rate.login_user_per_min = 1;
            config.limits.rate.login_user_burst = 2;
        })
        .await;
        app.create_user("teacher", "right-password", Role::User).await;
        let attempt = |password: &'static str| {
            app.graphql(LOGIN, json!({ "u": "teacher", "p": password }))
        };
        assert_eq!(attempt("wrong").await.error_code(), "UNAUTHENTICATED");
        assert_eq!(attempt("wrong").await.error_code(), "UNAUTHENTICATED");
        // Even the right password waits now: the count is of attempts.
        assert_rate_limited(&attempt("right-password").await);
        let (status, retry_after, body) = post_legacy_login(&app, "teacher").await;
        assert_eq!((status, body["code"].as_str()), (429, Some("RATE_LIMITED")), "{body}");
        assert!(retry_after.is_some_and(|secs| secs >= 50), "{retry_after:?}");
        // Another name from the same address is still checked.
        let other = app.graphql(LOGIN, json!({ "u": "someone-else", "p": "pw" })).await;
        assert_eq!(other.error_code(), "UNAUTHENTICATED");
    }

    async fn signups_count_as_login_attempts_of_their_address(backend) {
        let app = TestApp::spawn_with(backend, |config| {
            config.signup_enabled = true;
            config.limits.rate.login_ip_per_min = 1;
            config.limits.rate.login_ip_burst = 2;
        })
        .await;
        let signup = r#"mutation($u: String!) { signup(username: $u, password: "long-enough-password") { accessToken } }"#;
        for name in ["first-ta", "second-ta"] {
            app.graphql(signup, json!({ "u": name })).await.data();
        }
        assert_rate_limited(&app.graphql(signup, json!({ "u": "third-ta" })).await);
        let response = app
            .client
            .post(app.url("/jwt/signup"))
            .json(&json!({ "username": "fourth-ta", "password": "long-enough-password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert!(response.headers().get("retry-after").is_some());
        let users = entity::dashboard_user::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(users, 2, "refused signups create no account");
    }

    async fn an_authenticated_user_is_limited_per_user(backend) {
        let app = TestApp::spawn_with(backend, |config| {
            config.limits.rate.user_per_sec = 1;
            config.limits.rate.user_burst = 3;
        })
        .await;
        let first = app.user_token("first", Role::User).await;
        let second = app.user_token("second", Role::User).await;
        for _ in 0..3 {
            app.graphql_as(&first, "{ version }", json!({})).await.data();
        }
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&first)
            .json(&json!({ "query": "{ version }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert!(response.headers().get("retry-after").is_some());
        let body: Value = response.json().await.unwrap();
        assert_rate_limited(&GraphQLResponse { status: 429, body });
        app.graphql_as(&second, "{ version }", json!({})).await.data();
        // Anonymous requests are not counted per user.
        app.graphql("{ version }", json!({})).await.data();
        // Operations over the websocket count too (after one over HTTP, two more pass); the
        // refused one ends alone.
        let mut socket = app.websocket(json!({ "token": second })).await;
        for n in 0..2 {
            socket.subscribe(&n.to_string(), "{ version }", json!({})).await;
            assert_eq!(socket.receive().await["type"], "next");
            assert_eq!(socket.receive().await["type"], "complete");
        }
        socket.subscribe("over", "{ version }", json!({})).await;
        let refused = socket.receive().await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    }
}

async fn post_legacy_login(app: &TestApp, username: &str) -> (u16, Option<u64>, Value) {
    let response = app
        .client
        .post(app.url("/jwt/login"))
        .json(&json!({ "username": username, "password": "whatever" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Only the per-address ingest limit, low: 1 per second, a burst of 2.
fn low_address_limit(config: &mut Config) {
    config.limits.rate.ingest_student_per_sec = 0;
    config.limits.rate.ingest_ip_per_sec = 1;
    config.limits.rate.ingest_ip_burst = 2;
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn(Backend::Sqlite, low_address_limit).await;
    // Each request claims another address; all come from 127.0.0.1, which is not trusted.
    for (n, expected) in [(1, 200), (2, 200), (3, 429)] {
        let forwarded = format!("203.0.113.{n}");
        let (status, _, body) = send(&app, "s", Some(&forwarded)).await;
        assert_eq!(status, expected, "{body}");
    }
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = spawn(Backend::Sqlite, |config| {
        low_address_limit(config);
        config.limits.rate.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for n in 1..=3 {
        let (status, _, body) = send(&app, "s", Some(&format!("203.0.113.{n}"))).await;
        assert_eq!(status, 200, "{body}");
    }
    // What the client wrote left of the address our proxy saw is not believed.
    for (spoofed, expected) in [("6.6.6.6", 200), ("7.7.7.7", 429)] {
        let forwarded = format!("{spoofed}, 203.0.113.1");
        let (status, _, body) = send(&app, "s", Some(&forwarded)).await;
        assert_eq!(status, expected, "{forwarded}: {body}");
    }
}

fn redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("shared rate-limit test skipped: TEST_REDIS_URL is not set");
    }
    url
}

#[tokio::test]
async fn two_instances_sharing_a_redis_share_the_counts() {
    let Some(url) = redis_url() else {
        return;
    };
    let prefix = format!("test-rates-{}", uuid::Uuid::new_v4().simple());
    let configure = |config: &mut Config| {
        low_student_limit(config);
        config.redis_url = Some(url.clone());
        config.redis_key_prefix = prefix.clone();
    };
    let first = spawn(Backend::Sqlite, configure).await;
    let second = spawn(Backend::Sqlite, configure).await;
    record(&first, "alice").await.data();
    record(&second, "alice").await.data();
    record(&first, "alice").await.data();
    assert_rate_limited(&record(&second, "alice").await);
    record(&second, "bob").await.data();
}

#[tokio::test]
async fn with_redis_unreachable_limits_are_counted_in_process() {
    let app = spawn(Backend::Sqlite, |config| {
        low_student_limit(config);
        // Nothing listens on port 1: every Redis call fails.
        config.redis_url = Some("redis://127.0.0.1:1".into());
    })
    .await;
    for _ in 0..3 {
        record(&app, "alice").await.data();
    }
    assert_rate_limited(&record(&app, "alice").await);
    record(&app, "bob").await.data();
}
