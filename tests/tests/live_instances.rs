//! Two instances sharing PostgreSQL and Redis: instance A is a real `api serve` process, B the
//! test's own app. A push made on B reaches a student on A; a teacher on A gets one refresh per
//! period for a burst of ingest spread over both; presence is the same seen from both; and when
//! A is killed its students leave B's presence once their lease runs out. The old extensions'
//! Socket.IO sockets on A share all of it with GraphQL on B.
//!
//! Runs when `TEST_DATABASE_URL` and `TEST_REDIS_URL` are both set (CI sets them).

use std::time::{Duration, Instant};

use api::{auth::Role, broker::presence::PresenceRole};
use serde_json::{Value, json};
use tests::{Backend, Instance, SioClient, TestApp, WsClient};

const NOTEBOOK: &str = "nb-instances";
const LEASE_SECS: &str = "2";
const THROTTLE_MS: u64 = 1500;

fn shared_services_available() -> bool {
    let redis = std::env::var("TEST_REDIS_URL").is_ok_and(|url| !url.is_empty());
    if !redis {
        eprintln!("multi-instance tests skipped: TEST_REDIS_URL is not set");
    }
    redis && Backend::postgres_available()
}

async fn two_instances() -> (TestApp, Instance, String) {
    let b = TestApp::spawn_with(Backend::Postgres, |config| {
        config.limits.presence_lease_secs = 2;
        config.limits.refresh_throttle_ms = THROTTLE_MS;
    })
    .await;
    b.register_notebook(NOTEBOOK).await;
    let token = b.user_token("teacher", Role::User).await;
    b.authorize("teacher", NOTEBOOK).await;
    let throttle = THROTTLE_MS.to_string();
    let a = Instance::start(
        &b,
        &[
            ("PRESENCE_LEASE_SECS", LEASE_SECS),
            ("REFRESH_THROTTLE_MS", &throttle),
        ],
    )
    .await;
    (b, a, token)
}

async fn connected(app: &TestApp, role: PresenceRole) -> Vec<String> {
    app.state.presence.connected(NOTEBOOK, role).await.unwrap()
}

async fn wait_for(app: &TestApp, role: PresenceRole, expected: &[String], within: Duration) {
    let started = Instant::now();
    while started.elapsed() < within {
        if connected(app, role).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "presence never became {expected:?}: {:?}",
        connected(app, role).await
    );
}

async fn record_click(base: &str, client: &reqwest::Client, n: usize) {
    let event = json!({ "notebookId": NOTEBOOK, "userId": format!("student-{n}"), "cellId": "c",
        "origCellId": "c", "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
    let body = json!({
        "query": "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }",
        "variables": { "e": event } });
    let response: Value = client
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["data"]["recordCellFocus"]["acceptedCount"], 1,
        "{response}"
    );
}

#[tokio::test]
async fn a_push_on_one_instance_reaches_a_student_on_the_other_and_presence_is_shared() {
    if !shared_services_available() {
        return;
    }
    let (b, a, token) = two_instances().await;
    let mut student = WsClient::connect(a.addr, json!({})).await;
    let session = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "alice") {
        __typename ... on PushedUpdate { updateId } } }"#;
    student
        .subscribe("s", session, json!({ "nb": NOTEBOOK }))
        .await;
    let alice = vec![b.pseudonym("alice")];
    wait_for(&b, PresenceRole::Student, &alice, Duration::from_secs(10)).await;

    let push = r#"mutation($nb: ID!) { pushUpdate(notebookId: $nb,
        cells: [{ cellId: "c1", cellType: "code", source: "x = 1" }]) { updateId } }"#;
    let pushed = b.graphql_as(&token, push, json!({ "nb": NOTEBOOK })).await;
    let update_id = pushed.data()["pushUpdate"]["updateId"].clone();
    let received = student.receive().await;
    assert_eq!(
        received["payload"]["data"]["studentSession"]["updateId"], update_id,
        "{received}"
    );

    // A teacher on B, before A dies.
    let mut dashboard = b.websocket(json!({ "token": token })).await;
    let dashboard_session = r#"subscription($nb: ID!) { dashboardSession(notebookId: $nb) {
        __typename ... on StudentDisconnected { user } } }"#;
    dashboard
        .subscribe("d", dashboard_session, json!({ "nb": NOTEBOOK }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A dies without a word: B still sees alice until her lease runs out, then not, and the
    // teacher is told she left, once.
    a.kill().await;
    assert_eq!(connected(&b, PresenceRole::Student).await, alice);
    wait_for(&b, PresenceRole::Student, &[], Duration::from_secs(5)).await;
    let mut leaves = 0;
    let deadline = Instant::now() + Duration::from_secs(6);
    while let Ok(message) = tokio::time::timeout_at(deadline.into(), dashboard.receive()).await {
        let event = &message["payload"]["data"]["dashboardSession"];
        if event["__typename"] == "StudentDisconnected" {
            assert_eq!(event["user"], alice[0].as_str(), "{message}");
            leaves += 1;
        }
    }
    assert_eq!(
        leaves, 1,
        "the leave of a dead instance's student is announced once"
    );
}

#[tokio::test]
async fn a_burst_over_two_instances_gives_one_refresh_per_period() {
    if !shared_services_available() {
        return;
    }
    let (b, a, token) = two_instances().await;
    let mut teacher = WsClient::connect(
        a.addr,
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    let session = r#"subscription($nb: ID!) { dashboardSession(notebookId: $nb) { __typename } }"#;
    teacher
        .subscribe("d", session, json!({ "nb": NOTEBOOK }))
        .await;
    let me = vec![b.pseudonym("teacher")];
    wait_for(&b, PresenceRole::Teacher, &me, Duration::from_secs(10)).await;

    // The burst runs beside the reader, so arrival times are when signals come, not when read.
    let bases = [format!("http://{}", a.addr), b.url("")];
    let started = Instant::now();
    let burst = tokio::spawn(async move {
        let client = reqwest::Client::new();
        for n in 0..10 {
            record_click(&bases[n % 2], &client, n).await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    // Leading edge at once, one trailing signal a period later, then silence.
    let mut arrivals = Vec::new();
    while started.elapsed() < Duration::from_millis(THROTTLE_MS * 3) {
        match tokio::time::timeout(Duration::from_millis(200), teacher.receive()).await {
            Ok(message) => {
                assert_eq!(
                    message["payload"]["data"]["dashboardSession"]["__typename"],
                    "RefreshRequested",
                    "{message}"
                );
                arrivals.push(started.elapsed());
            }
            Err(_) => continue,
        }
    }
    burst.await.unwrap();
    assert_eq!(arrivals.len(), 2, "leading and trailing only: {arrivals:?}");
    assert!(
        arrivals[0] < Duration::from_millis(THROTTLE_MS / 2),
        "leading edge at once: {arrivals:?}"
    );
    let gap = arrivals[1] - arrivals[0];
    assert!(
        gap >= Duration::from_millis(THROTTLE_MS - 100),
        "one per period: {arrivals:?}"
    );
    drop(a);
}

#[tokio::test]
async fn socket_io_sockets_on_one_instance_share_live_with_graphql_on_the_other() {
    if !shared_services_available() {
        return;
    }
    let (b, a, token) = two_instances().await;
    let create = r#"mutation($nb: ID!) {
        createGroup(notebookId: $nb, name: "A", userIds: ["alice", "bob"]) { id } }"#;
    b.graphql_as(&token, create, json!({ "nb": NOTEBOOK }))
        .await
        .data();
    let mut bob = WsClient::connect(b.addr, json!({})).await;
    let session = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "bob") {
        __typename ... on TeammateLocationUpdated { user cellId } } }"#;
    bob.subscribe("s", session, json!({ "nb": NOTEBOOK })).await;
    let student_query = format!("conType=STUDENT&nbId={NOTEBOOK}&userId=alice");
    let mut alice = SioClient::connect(a.addr, &student_query, None)
        .await
        .unwrap();
    let teacher_query = format!("conType=TEACHER&nbId={NOTEBOOK}&userId=teacher");
    let mut dashboard = SioClient::connect(a.addr, &teacher_query, None)
        .await
        .unwrap();
    let mut both = vec![b.pseudonym("alice"), b.pseudonym("bob")];
    both.sort();
    wait_for(&b, PresenceRole::Student, &both, Duration::from_secs(10)).await;

    let push = r#"mutation($nb: ID!) { pushUpdate(notebookId: $nb,
        cells: [{ cellId: "c1", cellType: "code", source: "x = 1" }]) { updateId } }"#;
    let pushed = b.graphql_as(&token, push, json!({ "nb": NOTEBOOK })).await;
    let update_id = pushed.data()["pushUpdate"]["updateId"].clone();
    let chat = alice.event_named("chat").await;
    let message: Value = serde_json::from_str(chat["message"].as_str().unwrap()).unwrap();
    assert_eq!(message["update_id"], update_id, "{chat}");

    alice
        .emit("update_location", json!({ "cellId": "c7", "cellIndex": 6 }))
        .await;
    loop {
        let event = bob.receive().await["payload"]["data"]["studentSession"].clone();
        if event["__typename"] == "TeammateLocationUpdated" {
            assert_eq!(event["cellId"], "c7");
            assert_eq!(event["user"], b.pseudonym("alice"));
            break;
        }
    }
    record_click(&b.url(""), &reqwest::Client::new(), 0).await;
    assert_eq!(dashboard.event_named("refreshDashboard").await, Value::Null);
    drop(a);
}
