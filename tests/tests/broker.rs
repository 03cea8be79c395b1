//! The broker seam across instances: with Redis (`TEST_REDIS_URL`), a signal published by one
//! application reaches subscribers of another sharing the same Redis and key prefix.

use std::time::Duration;

use api::broker::{BrokerEvent, Topic};
use futures::StreamExt;
use serde_json::json;
use tests::{Backend, TestApp};

#[tokio::test]
async fn an_ingest_on_one_instance_signals_dashboards_on_another_through_redis() {
    if std::env::var("TEST_REDIS_URL").is_err() {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    }
    let prefix = format!("shared-{}", uuid::Uuid::new_v4().simple());
    let same_prefix = |config: &mut api::config::Config| config.redis_key_prefix = prefix.clone();
    let writer = TestApp::spawn_with(Backend::Sqlite, same_prefix).await;
    let reader = TestApp::spawn_with(Backend::Sqlite, same_prefix).await;
    writer.register_notebook("nb-shared").await;

    let topic = Topic::DashboardRefresh {
        notebook_id: "nb-shared".into(),
    };
    let mut signals = reader.state.broker.subscribe(&topic).await.unwrap();
    let event = json!({ "notebookId": "nb-shared", "userId": "s1", "cellId": "c",
        "origCellId": "o", "clickType": "ON", "time": "2024-01-01T00:00:00Z" });
    writer
        .graphql(
            "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }",
            json!({ "e": event }),
        )
        .await
        .data();
    let received = tokio::time::timeout(Duration::from_secs(5), signals.next()).await;
    assert_eq!(
        received.unwrap(),
        Some(BrokerEvent::DashboardRefresh {
            notebook_id: "nb-shared".into()
        })
    );
    let ready = reader.readiness().await;
    assert_eq!(ready["broker"], "up");
}

#[tokio::test]
async fn apps_with_different_prefixes_do_not_hear_each_other() {
    if std::env::var("TEST_REDIS_URL").is_err() {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    }
    let first = TestApp::spawn(Backend::Sqlite).await;
    let second = TestApp::spawn(Backend::Sqlite).await;
    let topic = Topic::DashboardRefresh {
        notebook_id: "nb".into(),
    };
    let mut signals = second.state.broker.subscribe(&topic).await.unwrap();
    let event = BrokerEvent::DashboardRefresh {
        notebook_id: "nb".into(),
    };
    first
        .state
        .broker
        .publish(&topic, event.clone())
        .await
        .unwrap();
    second
        .state
        .broker
        .publish(&topic, event.clone())
        .await
        .unwrap();
    // Only the second app's own publish arrives.
    let received = tokio::time::timeout(Duration::from_secs(5), signals.next()).await;
    assert_eq!(received.unwrap(), Some(event));
    let extra = tokio::time::timeout(Duration::from_millis(300), signals.next()).await;
    assert!(extra.is_err(), "a message crossed prefixes: {extra:?}");
}
