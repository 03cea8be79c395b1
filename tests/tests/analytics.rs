//! The `notebookAnalytics` subscription over real websockets: its first value is the
//! dashboard queries' answer, new events and students coming bring new values, bursts are
//! coalesced (the last value complete), one computation serves every subscriber of a filter,
//! and the guards and filter checks answer at subscribe.

use std::time::{Duration, Instant};

use api::{auth::Role, broker::presence::PresenceRole};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tests::{Backend, TestApp, WsClient, backend_tests};

const NB: &str = "nb-analytics";

const FIELDS: &str = "notebookId computedAt
    codeExecutionsPerCell { cellId executionCount okExecutionCount focusCount focusOnCount }
    timePerCell { totalStudentCount cells { cellId averageDuration studentCount } }
    focusDurationSummary { cellId count min firstQuartile median thirdQuartile max mean
        histogram { from to count } }
    studentLocations { cellId studentCount }
    connectedStudents
    executionProgress { minute mean median firstQuartile thirdQuartile studentCount }";

const STUDENT_SESSION: &str = r#"subscription($nb: ID!, $user: String!) {
    studentSession(notebookId: $nb, userId: $user) { __typename } }"#;

fn subscription() -> String {
    format!(
        "subscription($nb: ID!, $f: AnalyticsFilter, $since: DateTime) {{
            notebookAnalytics(notebookId: $nb, filter: $f, progressSince: $since) {{ {FIELDS} }} }}"
    )
}

/// A notebook with cells c1–c3, uploaded by `teacher` (a superuser, so authorized for it).
async fn ready_app(backend: Backend, interval_ms: u64) -> (TestApp, String) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits.refresh_throttle_ms = 50;
        config.limits.analytics_push_interval_ms = interval_ms;
    })
    .await;
    let token = app.user_token("teacher", Role::Superuser).await;
    let code = |id: &str| {
        json!({"id": id, "cell_type": "code", "source": "", "metadata": {},
               "outputs": [], "execution_count": null})
    };
    let notebook = json!({ "nbformat": 4, "nbformat_minor": 5,
        "metadata": { "unianalytics_notebook_id": NB },
        "cells": [code("c1"), code("c2"), code("c3")] });
    let bytes = serde_json::to_vec(&notebook).unwrap();
    let uploaded = app
        .upload_notebook(Some(&token), "a.ipynb", bytes, None, true)
        .await;
    assert_eq!(uploaded.data()["uploadNotebook"]["notebook"]["id"], NB);
    (app, token)
}

fn ago(minutes: i64) -> DateTime<Utc> {
    Utc::now() - TimeDelta::minutes(minutes)
}

fn exec(student: &str, cell: &str, ok: bool, finish: DateTime<Utc>) -> Value {
    json!({ "codeExecution": { "notebookId": NB, "userId": student, "cellId": format!("copy-{cell}"),
        "origCellId": cell, "tStart": (finish - TimeDelta::seconds(1)).to_rfc3339(),
        "tFinish": finish.to_rfc3339(), "status": if ok { "OK" } else { "ERROR" },
        "cellInput": "x", "cellOutputModel": [], "cellOutputLength": 0,
        "languageMimetype": "text/x-python" } })
}

fn focus(student: &str, cell: &str, on: bool, time: DateTime<Utc>, duration: Option<f64>) -> Value {
    json!({ "cellFocus": { "notebookId": NB, "userId": student, "cellId": format!("copy-{cell}"),
        "origCellId": cell, "clickType": if on { "ON" } else { "OFF" },
        "time": time.to_rfc3339(), "clickDuration": duration } })
}

async fn record(app: &TestApp, events: Vec<Value>) {
    let query = "mutation($e: [EventInput!]!) { recordEvents(events: $e) { acceptedCount } }";
    let response = app.graphql(query, json!({ "e": events.clone() })).await;
    assert_eq!(
        response.data()["recordEvents"]["acceptedCount"],
        events.len()
    );
}

async fn teacher_socket(app: &TestApp, token: &str) -> WsClient {
    app.websocket(json!({ "authorization": format!("Bearer {token}") }))
        .await
}

async fn subscribe(socket: &mut WsClient, id: &str, filter: Value, since: Option<DateTime<Utc>>) {
    let variables = json!({ "nb": NB, "f": filter, "since": since.map(|t| t.to_rfc3339()) });
    socket.subscribe(id, &subscription(), variables).await;
}

/// The next value of the subscription (the only operation on `socket`).
async fn next_value(socket: &mut WsClient) -> Value {
    let message = socket.receive().await;
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["errors"].is_null(), "{message}");
    message["payload"]["data"]["notebookAnalytics"].clone()
}

/// The error code a subscribe was refused with.
async fn refusal(socket: &mut WsClient) -> Value {
    let refused = socket.receive().await;
    let errors = match refused["type"] == "error" {
        true => refused["payload"].clone(),
        false => refused["payload"]["errors"].clone(),
    };
    errors[0]["extensions"]["code"].clone()
}

fn executions(value: &Value) -> Vec<(String, i64, i64)> {
    let cells = value["codeExecutionsPerCell"].as_array().unwrap();
    cells
        .iter()
        .map(|c| {
            let count = |field: &str| c[field].as_i64().unwrap();
            let cell = c["cellId"].as_str().unwrap().to_owned();
            (cell, count("executionCount"), count("okExecutionCount"))
        })
        .collect()
}

async fn wait_connected(app: &TestApp, user: &str) {
    for _ in 0..200 {
        let users = app
            .state
            .presence
            .connected(NB, PresenceRole::Student)
            .await
            .unwrap();
        if users.iter().any(|u| u == user) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{user} never connected");
}

/// The class of the first-value test: three students, two in group A.
async fn seed_class(app: &TestApp, token: &str) -> String {
    let t = |minutes: i64| ago(minutes);
    record(
        app,
        vec![
            exec("s1", "c1", true, t(9)),
            exec("s1", "c2", false, t(8)),
            exec("s1", "c2", true, t(7)),
            exec("s2", "c1", true, t(6)),
            exec("s3", "c3", true, t(5)),
            exec("s2", "c2", true, t(4)),
            focus("s1", "c1", true, t(9), None),
            focus("s1", "c1", false, t(8), Some(60.0)),
            focus("s2", "c1", true, t(7), None),
            focus("s2", "c1", false, t(6), Some(30.0)),
            focus("s2", "c2", true, t(5), None),
            focus("s3", "c3", false, t(4), Some(12.5)),
        ],
    )
    .await;
    let query = r#"mutation($nb: ID!, $users: [String!]!) {
        createGroup(notebookId: $nb, name: "A", userIds: $users) { id } }"#;
    let created = app
        .graphql_as(token, query, json!({ "nb": NB, "users": ["s1", "s2"] }))
        .await;
    created.data()["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn the_first_value_is_what_the_dashboard_queries_answer(backend) {
        let (app, token) = ready_app(backend, 200).await;
        let group = seed_class(&app, &token).await;
        let _student = student(&app, "s2").await;
        let since = ago(10);
        for filter in [Value::Null, json!({ "groups": [group] }), json!({ "liveOnly": true })] {
            let mut socket = teacher_socket(&app, &token).await;
            subscribe(&mut socket, "a", filter.clone(), Some(since)).await;
            let value = next_value(&mut socket).await;
            let query = format!("query($nb: ID!, $f: AnalyticsFilter, $since: DateTime!) {{
                notebook(id: $nb) {{ {} }} }}",
                FIELDS.replace("notebookId computedAt", "")
                    .replace("codeExecutionsPerCell", "codeExecutionsPerCell(filter: $f)")
                    .replace("timePerCell", "timePerCell(filter: $f)")
                    .replace("focusDurationSummary", "focusDurationSummary(filter: $f)")
                    .replace("studentLocations", "studentLocations(filter: $f)")
                    .replace("connectedStudents", "connectedStudents(filter: $f)")
                    .replace("executionProgress", "executionProgress(start: $since, end: \"9999-01-01T00:00:00Z\", filter: $f)"));
            let answer = app.graphql_as(&token, &query,
                json!({ "nb": NB, "f": filter, "since": since.to_rfc3339() })).await;
            let expected = answer.data()["notebook"].clone();
            assert_eq!(value["notebookId"], NB);
            for field in ["codeExecutionsPerCell", "timePerCell", "focusDurationSummary",
                          "studentLocations", "connectedStudents"] {
                assert_eq!(value[field], expected[field], "{field} under {filter}");
            }
            // The query ran later: a minute may have begun since, with one more point.
            let computed: DateTime<Utc> = value["computedAt"].as_str().unwrap().parse().unwrap();
            let points: Vec<&Value> = expected["executionProgress"].as_array().unwrap().iter()
                .filter(|p| p["minute"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap() <= computed)
                .collect();
            assert_eq!(value["executionProgress"].as_array().unwrap().iter().collect::<Vec<_>>(), points);
            assert!(!points.is_empty(), "{filter}");
        }
        // The live filter keeps s2 only; group A s1 and s2.
        let mut socket = teacher_socket(&app, &token).await;
        subscribe(&mut socket, "a", json!({ "liveOnly": true }), None).await;
        let value = next_value(&mut socket).await;
        assert_eq!(executions(&value), vec![("c1".into(), 1, 1), ("c2".into(), 1, 1)]);
        assert_eq!(value["connectedStudents"], json!([app.pseudonym("s2")]));
        assert_eq!(value["executionProgress"], json!([]));
    }

    async fn new_events_bring_a_value_with_the_new_counts(backend) {
        let (app, token) = ready_app(backend, 100).await;
        let mut socket = teacher_socket(&app, &token).await;
        subscribe(&mut socket, "a", Value::Null, None).await;
        let first = next_value(&mut socket).await;
        assert_eq!(first["codeExecutionsPerCell"], json!([]));
        assert_eq!(first["timePerCell"], json!({ "totalStudentCount": 0, "cells": [] }));
        record(&app, vec![exec("s1", "c1", true, ago(2)), exec("s1", "c1", false, ago(1)),
            exec("s2", "c2", true, ago(1))]).await;
        let value = next_value(&mut socket).await;
        assert_eq!(executions(&value), vec![("c1".into(), 2, 1), ("c2".into(), 1, 1)]);
        record(&app, vec![focus("s2", "c2", true, ago(1), None),
            focus("s2", "c2", false, ago(0), Some(42.0))]).await;
        let value = next_value(&mut socket).await;
        assert_eq!(value["codeExecutionsPerCell"][1]["focusCount"], 2);
        assert_eq!(value["timePerCell"], json!({ "totalStudentCount": 1,
            "cells": [{ "cellId": "c2", "averageDuration": 42.0, "studentCount": 1 }] }));
        assert_eq!(value["studentLocations"], json!([{ "cellId": "c2", "studentCount": 1 }]));
        assert_eq!(value["focusDurationSummary"][0]["count"], 1);
    }

    async fn a_burst_of_events_is_coalesced_and_the_last_value_has_them_all(backend) {
        let interval = Duration::from_millis(600);
        let (app, token) = ready_app(backend, 600).await;
        let mut socket = teacher_socket(&app, &token).await;
        subscribe(&mut socket, "a", Value::Null, None).await;
        next_value(&mut socket).await;
        const N: i64 = 20;
        let started = Instant::now();
        for i in 0..N {
            record(&app, vec![exec(&format!("s{}", i % 4), "c1", true, ago(1))]).await;
        }
        let burst = started.elapsed();
        let mut arrivals = Vec::new();
        loop {
            let value = next_value(&mut socket).await;
            arrivals.push(Instant::now());
            if executions(&value) == vec![("c1".into(), N, N)] {
                break;
            }
        }
        // One value at the burst's start, one per interval while it lasts, the last complete.
        let allowed = 2 + (burst.as_millis() / interval.as_millis()) as usize;
        assert!(arrivals.len() <= allowed, "{} values for a burst of {burst:?}", arrivals.len());
        for pair in arrivals.windows(2) {
            assert!(pair[1] - pair[0] >= interval.mul_f32(0.8), "values {:?} apart", pair[1] - pair[0]);
        }
        // Nothing changed since: no more value.
        let quiet = tokio::time::timeout(interval * 2, socket.receive()).await;
        assert!(quiet.is_err(), "unexpected {quiet:?}");
    }

    async fn subscribers_of_one_filter_share_one_computation(backend) {
        let (app, token) = ready_app(backend, 100).await;
        let hub = app.state.analytics.clone();
        let mut first = teacher_socket(&app, &token).await;
        subscribe(&mut first, "a", Value::Null, None).await;
        let value = next_value(&mut first).await;
        let mut second = teacher_socket(&app, &token).await;
        subscribe(&mut second, "b", json!({ "groups": [] }), None).await;
        assert_eq!(next_value(&mut second).await, value, "the current value, not a new one");
        assert_eq!((hub.computations(), hub.active_feeds()), (1, 1));
        record(&app, vec![exec("s1", "c1", true, ago(1))]).await;
        let (one, two) = (next_value(&mut first).await, next_value(&mut second).await);
        assert_eq!(one, two);
        assert_eq!(executions(&one), vec![("c1".into(), 1, 1)]);
        assert_eq!(hub.computations(), 2);
        let mut other = teacher_socket(&app, &token).await;
        subscribe(&mut other, "c", json!({ "liveOnly": true }), None).await;
        next_value(&mut other).await;
        assert_eq!(hub.active_feeds(), 2);
        drop((first, second, other));
        for _ in 0..100 {
            if hub.active_feeds() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("feeds still running after their subscribers left");
    }

    async fn a_teacher_not_authorized_for_the_notebook_is_forbidden(backend) {
        let (app, _token) = ready_app(backend, 100).await;
        let stranger = app.user_token("stranger", Role::User).await;
        let mut socket = teacher_socket(&app, &stranger).await;
        subscribe(&mut socket, "a", Value::Null, None).await;
        assert_eq!(refusal(&mut socket).await, "FORBIDDEN");
        let admin = app.user_token("admin", Role::Admin).await;
        let mut socket = teacher_socket(&app, &admin).await;
        subscribe(&mut socket, "a", Value::Null, None).await;
        assert_eq!(next_value(&mut socket).await["notebookId"], NB);
        let mut anonymous = app.websocket(json!({})).await;
        subscribe(&mut anonymous, "a", Value::Null, None).await;
        assert_eq!(refusal(&mut anonymous).await, "UNAUTHENTICATED");
    }

    async fn a_bad_filter_or_progress_start_is_refused_at_subscribe(backend) {
        let (app, token) = ready_app(backend, 100).await;
        let refused = [
            (json!({ "groups": ["999999"] }), None),
            (json!({ "groups": ["not-a-number"] }), None),
            (json!({ "after": ago(1).to_rfc3339(), "until": ago(2).to_rfc3339() }), None),
            (Value::Null, Some(ago(24 * 60 + 1))),
            (Value::Null, Some(ago(-1))),
        ];
        for (filter, since) in refused {
            let mut socket = teacher_socket(&app, &token).await;
            subscribe(&mut socket, "a", filter.clone(), since).await;
            assert_eq!(refusal(&mut socket).await, "BAD_USER_INPUT", "{filter} {since:?}");
        }
        assert_eq!(app.state.analytics.active_feeds(), 0);
    }

    async fn a_student_connecting_or_leaving_changes_connected_students(backend) {
        let (app, token) = ready_app(backend, 100).await;
        record(&app, vec![exec("s1", "c1", true, ago(1)), exec("s2", "c2", true, ago(1))]).await;
        let mut all = teacher_socket(&app, &token).await;
        subscribe(&mut all, "a", Value::Null, None).await;
        let mut live = teacher_socket(&app, &token).await;
        subscribe(&mut live, "b", json!({ "liveOnly": true }), None).await;
        assert_eq!(next_value(&mut all).await["connectedStudents"], json!([]));
        assert_eq!(executions(&next_value(&mut live).await), vec![]);
        let s1 = student(&app, "s1").await;
        let value = next_value(&mut all).await;
        assert_eq!(value["connectedStudents"], json!([app.pseudonym("s1")]));
        assert_eq!(executions(&value).len(), 2, "every student's events");
        let value = next_value(&mut live).await;
        assert_eq!(executions(&value), vec![("c1".into(), 1, 1)], "s1's events only");
        drop(s1);
        assert_eq!(next_value(&mut all).await["connectedStudents"], json!([]));
        assert_eq!(executions(&next_value(&mut live).await), vec![]);
    }
}

/// A student's open live session (connected while the socket lives).
async fn student(app: &TestApp, raw: &str) -> WsClient {
    let mut socket = app.websocket(json!({})).await;
    socket
        .subscribe("s", STUDENT_SESSION, json!({ "nb": NB, "user": raw }))
        .await;
    wait_connected(app, &app.pseudonym(raw)).await;
    socket
}
