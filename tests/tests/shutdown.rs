//! A stopping server, in order: readiness 503 and websockets closed with 1001 at once; it keeps
//! serving through the drain period (an event accepted then is stored); then it stops
//! accepting, with its students gone from presence.

use std::time::{Duration, Instant};

use api::broker::presence::PresenceRole;
use entity::cell_focus_event;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use tests::{TestApp, backend_tests};

const NOTEBOOK: &str = "nb-shutdown";
const DRAIN_MS: u64 = 800;

backend_tests! {
    async fn a_stopping_server_turns_unready_drains_then_stops(backend) {
        let app = TestApp::spawn_with(backend, |c| c.limits.shutdown_drain_ms = DRAIN_MS).await;
        app.register_notebook(NOTEBOOK).await;
        let mut student = app.websocket(json!({})).await;
        let session = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "alice") { __typename } }"#;
        student.subscribe("s", session, json!({ "nb": NOTEBOOK })).await;
        for _ in 0..100 {
            let connected = app.state.presence.connected(NOTEBOOK, PresenceRole::Student).await.unwrap();
            if !connected.is_empty() { break; }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        let started = Instant::now();
        app.state.shutdown.cancel();
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "shutting_down");
        assert_eq!(student.closed().await, (1001, "Server shutting down".to_owned()));

        // Still serving during the drain: an event sent now is answered and stored.
        let event = json!({ "notebookId": NOTEBOOK, "userId": "bob", "cellId": "c1", "origCellId": "c1",
            "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
        let focus = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
        let answer = app.graphql(focus, json!({ "e": event })).await;
        assert_eq!(answer.data()["recordCellFocus"]["acceptedCount"], 1);
        assert!(started.elapsed() < Duration::from_millis(DRAIN_MS));
        let stored = cell_focus_event::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(stored, 1);

        // Then it stops accepting, and alice has left presence (not waiting for her lease).
        let stopped = tokio::time::timeout(Duration::from_secs(5), async {
            while tokio::net::TcpStream::connect(app.addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(stopped.await.is_ok(), "the server still accepts connections");
        assert!(started.elapsed() >= Duration::from_millis(DRAIN_MS));
        let connected = app.state.presence.connected(NOTEBOOK, PresenceRole::Student).await.unwrap();
        assert!(connected.is_empty(), "{connected:?}");
    }
}
