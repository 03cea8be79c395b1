//! `/metrics` in the Prometheus text format: requests by operation and outcome with latency,
//! ingest by kind and commit sizes, websockets, operations, live sessions, the pool and the
//! queue; closed behind `METRICS_TOKEN` when one is set.

use std::time::Duration;

use api::config::Secret;
use serde_json::json;
use tests::{Backend, TestApp};

const NOTEBOOK: &str = "nb-metrics";

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_name_requests_ingest_sockets_and_sessions() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.register_notebook(NOTEBOOK).await;
    let named = app.graphql("query Probe { version }", json!({})).await;
    named.data();
    let event = json!({ "notebookId": NOTEBOOK, "userId": "s1", "cellId": "c", "origCellId": "c",
        "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
    let focus =
        "mutation Click($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
    app.graphql(focus, json!({ "e": event })).await.data();
    app.graphql("query Denied { me { role } }", json!({})).await;
    let mut socket = app.websocket(json!({})).await;
    let session = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "s1") { __typename } }"#;
    socket
        .subscribe("s", session, json!({ "nb": NOTEBOOK }))
        .await;
    let query = format!("conType=STUDENT&nbId={NOTEBOOK}&userId=s2");
    let _old_extension = tests::SioClient::connect(app.addr, &query, None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (status, text) = scrape(&app, None).await;
    assert_eq!(status, 200);
    for expected in [
        r#"graphql_requests_total{operation="Probe",outcome="ok"}"#,
        r#"graphql_requests_total{operation="Denied",outcome="UNAUTHENTICATED"}"#,
        r#"graphql_request_duration_seconds_bucket{operation="Click""#,
        r#"ingest_events_total{kind="cell_focus"}"#,
        "ingest_commit_rows_bucket",
        "ingest_queue_depth",
        r#"websocket_connections{protocol="graphql-transport-ws"} 1"#,
        r#"websocket_connections{protocol="socket.io"} 1"#,
        "graphql_ws_active_operations 1",
        r#"live_sessions{role="student"} 2"#,
        r#"db_pool_connections{state="idle"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

#[tokio::test]
async fn a_metrics_token_closes_the_route() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.metrics_token = Some(Secret::new("scraper"))
    })
    .await;
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("wrong")).await.0, 401);
    let (status, text) = scrape(&app, Some("scraper")).await;
    assert_eq!(status, 200);
    assert!(text.contains("ingest_queue_depth"), "{text}");
}
