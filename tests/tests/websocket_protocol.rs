//! graphql-transport-ws done to the protocol, over real websockets: the subprotocol is required,
//! every close code the server uses (4400, 4401, 4403, 4408, 4409, 4429, 4000, 1001, 1008,
//! 1009), `next`/`error`/`complete` per operation, pings both ways, token expiry and shutdown.

use std::time::{Duration, Instant};

use api::{
    auth::{Role, TokenType},
    broker::presence::PresenceRole,
};
use serde_json::{Value, json};
use tests::{Backend, TestApp, WsClient, backend_tests};

const NOTEBOOK: &str = "nb-ws";
const SESSION: &str = r#"subscription($nb: ID!, $user: String!) {
    studentSession(notebookId: $nb, userId: $user) { __typename } }"#;
const FOCUS: &str =
    "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";

/// An app with a notebook, so `studentSession` gives a long-lived operation.
async fn app_with(configure: impl FnOnce(&mut api::config::Config)) -> TestApp {
    let app = TestApp::spawn_with(Backend::Sqlite, configure).await;
    app.register_notebook(NOTEBOOK).await;
    app
}

async fn session(socket: &mut WsClient, id: &str, student: &str) {
    let variables = json!({ "nb": NOTEBOOK, "user": student });
    socket.subscribe(id, SESSION, variables).await;
}

async fn students_connected(app: &TestApp) -> usize {
    let users = app
        .state
        .presence
        .connected(NOTEBOOK, PresenceRole::Student);
    users.await.unwrap().len()
}

/// Waits until `count` students are connected (a session is live once it counts).
async fn wait_students(app: &TestApp, count: usize) {
    for _ in 0..250 {
        if students_connected(app).await == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {count} students connected");
}

/// A ping answered by a pong proves everything sent before it was handled, and that nothing
/// (a `complete` echo, a stray `next`) was sent in between.
async fn assert_next_is_pong(socket: &mut WsClient) {
    socket
        .send(json!({ "type": "ping", "payload": { "n": 7 } }))
        .await;
    let pong = socket.receive_raw().await;
    assert_eq!(pong, json!({ "type": "pong", "payload": { "n": 7 } }));
}

#[tokio::test]
async fn an_upgrade_without_graphql_transport_ws_is_refused_with_a_json_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for offered in [None, Some("graphql-ws"), Some("soap, wamp")] {
        let Err((status, body)) = WsClient::open_with_protocols(app.addr, offered).await else {
            panic!("{offered:?} was accepted");
        };
        assert_eq!(status, 400, "{offered:?}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
    let offered = Some("graphql-ws, graphql-transport-ws");
    let (mut socket, chosen) = WsClient::open_with_protocols(app.addr, offered)
        .await
        .unwrap();
    assert_eq!(chosen.as_deref(), Some("graphql-transport-ws"));
    assert_eq!(socket.init(json!({})).await["type"], "connection_ack");
}

#[tokio::test]
async fn no_connection_init_within_the_wait_closes_4408() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.ws_init_timeout_ms = 300).await;
    let started = Instant::now();
    let mut socket = app.websocket_unacknowledged().await;
    // Pings do not count as an init.
    assert_next_is_pong(&mut socket).await;
    let closed = socket.closed().await;
    assert_eq!(
        closed,
        (4408, "Connection initialisation timeout".to_owned())
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        api::config::Config::defaults().limits.ws_init_timeout_ms,
        3000
    );
}

#[tokio::test]
async fn a_bad_or_expired_init_token_closes_4403_and_no_token_is_anonymous() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let expired = app
        .state
        .accounts
        .jwt
        .issue_expiring_at(
            1,
            TokenType::Access,
            chrono::Utc::now() - chrono::Duration::hours(1),
        )
        .unwrap()
        .token;
    let refresh = app
        .state
        .accounts
        .jwt
        .issue(1, TokenType::Refresh)
        .unwrap()
        .token;
    let refused = [
        json!({ "token": "not-a-jwt" }),
        json!({ "authorization": "Bearer not-a-jwt" }),
        json!({ "authorization": format!("Bearer {expired}") }),
        json!({ "token": refresh }),
    ];
    for payload in refused {
        let mut socket = app.websocket_unacknowledged().await;
        let answer = socket.init(payload.clone()).await;
        assert_eq!(
            (answer["code"].as_u64(), answer["reason"].as_str()),
            (Some(4403), Some("Forbidden")),
            "{payload}"
        );
    }
    for payload in [json!({}), Value::Null] {
        let mut socket = app.websocket_unacknowledged().await;
        assert_eq!(socket.init(payload).await["type"], "connection_ack");
    }
    let mut socket = app.websocket_unacknowledged().await;
    socket.send_text(r#"{"type":"connection_init"}"#).await;
    assert_eq!(socket.receive().await["type"], "connection_ack");
}

#[tokio::test]
async fn subscribe_before_the_ack_closes_4401() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut socket = app.websocket_unacknowledged().await;
    socket.subscribe("1", "{ version }", json!({})).await;
    assert_eq!(socket.closed().await, (4401, "Unauthorized".to_owned()));
}

#[tokio::test]
async fn a_second_connection_init_closes_4429() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut socket = app.websocket(json!({})).await;
    socket.send(json!({ "type": "connection_init" })).await;
    assert_eq!(
        socket.closed().await,
        (4429, "Too many initialisation requests".to_owned())
    );
}

#[tokio::test]
async fn an_invalid_message_closes_4400_with_a_reason_that_fits_a_close_frame() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let long_type = format!(r#"{{"type":"{}"}}"#, "x".repeat(300));
    let invalid = [
        "not json".to_owned(),
        r#"{"type":"start","id":"1"}"#.to_owned(),
        r#"{"type":"subscribe","payload":{"query":"{ version }"}}"#.to_owned(),
        r#"{"type":"subscribe","id":"1"}"#.to_owned(),
        r#"{"type":"complete"}"#.to_owned(),
        long_type,
    ];
    for text in invalid {
        for acknowledged in [false, true] {
            let mut socket = match acknowledged {
                true => app.websocket(json!({})).await,
                false => app.websocket_unacknowledged().await,
            };
            socket.send_text(text.clone()).await;
            let (code, reason) = socket.closed().await;
            assert_eq!(code, 4400, "{text}: {reason}");
            assert!(reason.starts_with("Invalid message received"), "{reason}");
            assert!(reason.len() <= 123, "{} bytes", reason.len());
        }
    }
}

#[tokio::test]
async fn queries_and_mutations_answer_next_then_complete() {
    let app = app_with(|_| {}).await;
    let mut socket = app.websocket(json!({})).await;
    socket.subscribe("q", "{ version }", json!({})).await;
    let next = socket.receive().await;
    assert_eq!(
        (next["type"].as_str(), next["id"].as_str()),
        (Some("next"), Some("q")),
        "{next}"
    );
    assert_eq!(
        next["payload"]["data"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        socket.receive().await,
        json!({ "type": "complete", "id": "q" })
    );
    let event = json!({ "notebookId": NOTEBOOK, "userId": "s1", "cellId": "c",
        "origCellId": "o", "clickType": "ON", "time": "2024-01-01T00:00:00Z" });
    socket.subscribe("m", FOCUS, json!({ "e": event })).await;
    let next = socket.receive().await;
    assert_eq!(
        next["payload"]["data"]["recordCellFocus"]["acceptedCount"], 1,
        "{next}"
    );
    assert_eq!(
        socket.receive().await,
        json!({ "type": "complete", "id": "m" })
    );
}

#[tokio::test]
async fn an_operation_refused_before_execution_gets_one_error_and_no_complete() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut socket = app.websocket(json!({})).await;
    let refused = [
        ("syntax", "{ version"),
        ("unknown", "{ nope }"),
        ("subscription", "subscription { nope }"),
    ];
    for (id, query) in refused {
        socket.subscribe(id, query, json!({})).await;
        let error = socket.receive_raw().await;
        assert_eq!(
            (error["type"].as_str(), error["id"].as_str()),
            (Some("error"), Some(id)),
            "{error}"
        );
        assert!(error["payload"][0]["message"].is_string(), "{error}");
        assert_eq!(
            error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{error}"
        );
        assert_next_is_pong(&mut socket).await;
    }
    // The id is free again once the error is out.
    socket.subscribe("syntax", "{ version }", json!({})).await;
    assert_eq!(socket.receive().await["type"], "next");
}

#[tokio::test]
async fn a_duplicate_running_id_closes_4409() {
    let app = app_with(|_| {}).await;
    let mut socket = app.websocket(json!({})).await;
    session(&mut socket, "s1", "alice").await;
    wait_students(&app, 1).await;
    socket.subscribe("s1", "{ version }", json!({})).await;
    assert_eq!(
        socket.closed().await,
        (4409, "Subscriber for s1 already exists".to_owned())
    );
    wait_students(&app, 0).await;
}

#[tokio::test]
async fn a_client_complete_stops_the_operation_without_an_echo_and_frees_its_id() {
    let app = app_with(|_| {}).await;
    let mut socket = app.websocket(json!({})).await;
    session(&mut socket, "s1", "alice").await;
    wait_students(&app, 1).await;
    socket.send(json!({ "type": "complete", "id": "s1" })).await;
    assert_next_is_pong(&mut socket).await;
    wait_students(&app, 0).await;
    // Completing an unknown or finished id is not an error.
    socket.send(json!({ "type": "complete", "id": "s1" })).await;
    session(&mut socket, "s1", "alice").await;
    wait_students(&app, 1).await;
    assert_next_is_pong(&mut socket).await;
}

#[tokio::test]
async fn more_operations_than_the_limit_close_1008() {
    let app = app_with(|c| c.limits.ws_max_subscriptions = 2).await;
    let mut socket = app.websocket(json!({})).await;
    session(&mut socket, "a", "alice").await;
    session(&mut socket, "b", "bob").await;
    wait_students(&app, 2).await;
    // Every running operation counts, a query too.
    socket.subscribe("q", "{ version }", json!({})).await;
    assert_eq!(
        socket.closed().await,
        (1008, "Too many subscriptions".to_owned())
    );
    let mut socket = app.websocket(json!({})).await;
    session(&mut socket, "a", "alice").await;
    socket.subscribe("q", "{ version }", json!({})).await;
    assert_eq!(socket.receive().await["type"], "next");
    assert_eq!(socket.receive().await["type"], "complete");
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_1009() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.ws_max_message_bytes = 1024).await;
    let mut socket = app.websocket(json!({})).await;
    let query = format!("{{ version }} # {}", "x".repeat(900));
    socket.subscribe("fits", &query, json!({})).await;
    assert_eq!(socket.receive().await["type"], "next");
    assert_eq!(socket.receive().await["type"], "complete");
    let query = format!("{{ version }} # {}", "x".repeat(2000));
    socket.subscribe("big", &query, json!({})).await;
    assert_eq!(socket.closed().await, (1009, "Message too big".to_owned()));
    // Under the default 64 KiB limit a message several times the 8 KiB socket buffer passes.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut socket = app.websocket(json!({})).await;
    let query = format!("{{ version }} # {}", "x".repeat(60_000));
    socket.subscribe("large", &query, json!({})).await;
    assert_eq!(socket.receive().await["type"], "next");
}

#[tokio::test]
async fn the_server_pings_and_closes_a_silent_peer_with_4000() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.ws_ping_interval_ms = 200).await;
    let mut silent = app.websocket(json!({})).await;
    let started = Instant::now();
    assert_eq!(silent.receive_raw().await, json!({ "type": "ping" }));
    assert_eq!(
        silent.closed().await,
        (4000, "Keep-alive timeout".to_owned())
    );
    // Not at the first ping: only after two silent intervals.
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    // A peer that only answers pings stays connected.
    let mut lively = app.websocket(json!({})).await;
    let started = Instant::now();
    let mut pings = 0;
    while started.elapsed() < Duration::from_millis(1200) {
        assert_eq!(lively.receive_raw().await, json!({ "type": "ping" }));
        lively.send(json!({ "type": "pong" })).await;
        pings += 1;
    }
    assert!(pings >= 5, "{pings} pings");
    socket_query(&mut lively).await;
}

async fn socket_query(socket: &mut WsClient) {
    socket.subscribe("v", "{ version }", json!({})).await;
    assert_eq!(socket.receive().await["type"], "next");
    assert_eq!(socket.receive().await["type"], "complete");
}

#[tokio::test]
async fn a_socket_is_closed_4403_when_its_init_token_expires() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // The init checks the token's user exists, so the token names a real one.
    app.create_user("early", "password-of-test-user", Role::User)
        .await;
    let user = api::services::users::get_by_username_hash(&app.state.db, &app.pseudonym("early"))
        .await
        .unwrap();
    // Past its expiry but inside the 5 s clock leeway: accepted for about two more seconds.
    let expires_at = chrono::Utc::now() - chrono::Duration::seconds(3);
    let token = app
        .state
        .accounts
        .jwt
        .issue_expiring_at(user.id, TokenType::Access, expires_at)
        .unwrap()
        .token;
    let started = Instant::now();
    let mut socket = app.websocket(json!({ "token": token })).await;
    socket_query(&mut socket).await;
    assert_eq!(socket.closed().await, (4403, "Forbidden".to_owned()));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    // A fresh token keeps its socket.
    let token = app.user_token("teacher", Role::User).await;
    let mut socket = app.websocket(json!({ "token": token })).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    socket_query(&mut socket).await;
}

backend_tests! {
    async fn shutdown_closes_every_socket_with_1001(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        let mut live = app.websocket(json!({})).await;
        session(&mut live, "s", "alice").await;
        wait_students(&app, 1).await;
        let mut waiting = app.websocket_unacknowledged().await;
        app.state.shutdown.cancel();
        let going_away = (1001, "Server shutting down".to_owned());
        assert_eq!(live.closed().await, going_away);
        assert_eq!(waiting.closed().await, going_away);
        wait_students(&app, 0).await;
        let stopped = tokio::time::timeout(Duration::from_secs(5), async {
            while tokio::net::TcpStream::connect(app.addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(stopped.await.is_ok(), "the server still accepts connections");
    }
}

#[tokio::test]
async fn a_client_close_frame_is_answered_with_the_servers_close_frame() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut socket = app.websocket(json!({})).await;
    socket.send_close(1000).await;
    // The closing handshake completes: the client reads the echoed frame, not a dropped
    // connection (1006).
    assert_eq!(socket.closed().await.0, 1000);
}
