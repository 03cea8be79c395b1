//! What one operation may ask for, each limit with its code: document size
//! (`PAYLOAD_TOO_LARGE`), aliases, root fields, depth and complexity (`QUERY_TOO_COMPLEX`),
//! and the execution timeout (`TIMEOUT`, 503). GraphiQL's introspection query stays under the
//! defaults.

use serde_json::json;
use tests::{Backend, TestApp};

fn repeated(field: &str, times: usize) -> String {
    format!("{{ {} }}", vec![field; times].join(" "))
}

/// One root field with `times` aliased sub-fields.
fn aliased(times: usize) -> String {
    let fields: Vec<String> = (0..times).map(|n| format!("a{n}: description")).collect();
    format!("{{ __schema {{ {} }} }}", fields.join(" "))
}

#[tokio::test]
async fn aliases_and_root_fields_over_the_limits_are_query_too_complex() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let answer = app.graphql(&aliased(30), json!({})).await;
    assert!(answer.data()["__schema"].get("a29").is_some());
    let answer = app.graphql(&aliased(31), json!({})).await;
    assert_eq!(
        answer.error_code(),
        "QUERY_TOO_COMPLEX",
        "{:?}",
        answer.body
    );
    // Without aliases too: every root selection counts.
    app.graphql(&repeated("version", 20), json!({}))
        .await
        .data();
    let answer = app.graphql(&repeated("version", 21), json!({})).await;
    assert_eq!(answer.error_code(), "QUERY_TOO_COMPLEX");
    // Aliases hidden in fragments count as well.
    let fields: Vec<String> = (0..31).map(|n| format!("a{n}: name")).collect();
    let fragment = format!(
        "{{ __schema {{ queryType {{ ...F }} }} }} fragment F on __Type {{ {} }}",
        fields.join(" ")
    );
    assert_eq!(
        app.graphql(&fragment, json!({})).await.error_code(),
        "QUERY_TOO_COMPLEX"
    );
}

#[tokio::test]
async fn depth_and_complexity_over_the_limits_are_query_too_complex() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.graphql_max_complexity = 10).await;
    let deep = format!(
        "{{ __schema {{ queryType {{ {}name{} }} }} }}",
        "ofType { ".repeat(19),
        " }".repeat(19)
    );
    let answer = app.graphql(&deep, json!({})).await;
    assert_eq!(
        answer.error_code(),
        "QUERY_TOO_COMPLEX",
        "{:?}",
        answer.body
    );
    app.graphql(&repeated("version", 9), json!({})).await.data();
    let answer = app.graphql(&repeated("version", 11), json!({})).await;
    assert_eq!(
        answer.error_code(),
        "QUERY_TOO_COMPLEX",
        "{:?}",
        answer.body
    );
}

#[tokio::test]
async fn graphiql_introspection_passes_the_default_limits() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let query = include_str!("../fixtures/introspection-query.graphql");
    let answer = app.graphql(query, json!({})).await;
    assert_eq!(answer.data()["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn a_document_over_the_size_limit_is_payload_too_large() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.limits.graphql_max_query_bytes = 1024).await;
    let padded = format!("{{ version }} # {}", "x".repeat(1100));
    let answer = app.graphql(&padded, json!({})).await;
    assert_eq!(answer.error_code(), "PAYLOAD_TOO_LARGE");
    app.graphql("{ version }", json!({})).await.data();
}

#[tokio::test]
async fn an_operation_past_the_timeout_is_stopped_with_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.graphql_timeout_ms = 200).await;
    // The in-memory database has one connection: while the test holds it, `health` waits for
    // it (up to the 3 s acquire timeout), far past the 200 ms execution timeout.
    let held = sea_orm::TransactionTrait::begin(&app.state.db)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = app.graphql("{ health { database } }", json!({})).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (503, "TIMEOUT"),
        "{:?}",
        answer.body
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(held);
    app.graphql("{ health { database } }", json!({}))
        .await
        .data();
}

/// The same limit over the websocket: a query past it gets one `TIMEOUT` result, then
/// `complete`, and the socket stays usable. Subscriptions are not bounded by it.
#[tokio::test]
async fn a_websocket_operation_past_the_timeout_is_stopped_with_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.graphql_timeout_ms = 200).await;
    let mut socket = app.websocket(json!({})).await;
    let held = sea_orm::TransactionTrait::begin(&app.state.db)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    socket
        .subscribe("slow", "{ health { database } }", json!({}))
        .await;
    let next = socket.receive().await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(
        next["payload"]["errors"][0]["extensions"]["code"], "TIMEOUT",
        "{next}"
    );
    assert_eq!(
        socket.receive().await,
        json!({ "type": "complete", "id": "slow" })
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(held);
    socket.subscribe("fast", "{ version }", json!({})).await;
    let next = socket.receive().await;
    assert_eq!(
        next["payload"]["data"]["version"],
        env!("CARGO_PKG_VERSION"),
        "{next}"
    );
}

/// The document limits hold over the websocket too, for queries and subscriptions alike: the
/// operation ends with one `error` carrying the code, and the socket stays usable.
#[tokio::test]
async fn websocket_operations_over_the_document_limits_are_refused_with_their_codes() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.limits.graphql_max_query_bytes = 2048).await;
    let mut socket = app.websocket(json!({})).await;
    let subscription_aliases: Vec<String> = (0..31).map(|n| format!("a{n}: ticks")).collect();
    let refused = [
        ("aliases", aliased(31), "QUERY_TOO_COMPLEX"),
        (
            "subscription",
            format!("subscription {{ {} }}", subscription_aliases.join(" ")),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "size",
            format!("{{ version }} # {}", "x".repeat(2100)),
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (id, query, code) in refused {
        socket.subscribe(id, &query, json!({})).await;
        let error = socket.receive().await;
        assert_eq!(
            (&error["type"], &error["id"]),
            (&json!("error"), &json!(id)),
            "{error}"
        );
        assert_eq!(error["payload"][0]["extensions"]["code"], code, "{error}");
    }
    socket.subscribe("fine", "{ version }", json!({})).await;
    let next = socket.receive().await;
    assert_eq!(
        next["payload"]["data"]["version"],
        env!("CARGO_PKG_VERSION"),
        "{next}"
    );
}
