//! CSV exports: every event kind of a notebook as one table equal to a committed file, the
//! kind and time filters, the guards (teachers of the notebook; superusers for dashboard
//! interactions, whose old route was public), and bad parameters.

use api::auth::Role;
use serde_json::{Value, json};
use tests::{Backend, TestApp, backend_tests};

const NOTEBOOK: &str = "nb-export";
const EXPECTED_EVENTS: &str = "fixtures/exports/events.csv";

const RECORD_EVENTS: &str = r#"mutation($events: [EventInput!]!) {
    recordEvents(events: $events) { acceptedCount } }"#;

/// Two students, every kind once or twice, one event per kind outside the window used below.
fn class_events() -> Vec<Value> {
    let base =
        |user: &str, id: &str| json!({ "notebookId": NOTEBOOK, "userId": user, "eventId": id });
    let with = |mut event: Value, fields: Value| {
        for (key, value) in fields.as_object().unwrap() {
            event[key] = value.clone();
        }
        event
    };
    vec![
        json!({ "codeExecution": with(base("alice", "00000000-0000-4000-8000-000000000001"), json!({
            "cellId": "c1", "origCellId": "o1", "tStart": "2026-11-02T09:00:00Z",
            "tFinish": "2026-11-02T09:00:01.5Z", "status": "OK", "cellInput": "print(\"a, b\")\nx = 1",
            "cellOutputModel": [{ "output_type": "stream", "name": "stdout", "text": "a, b\n" }],
            "cellOutputLength": 5, "languageMimetype": "text/x-python" })) }),
        json!({ "codeExecution": with(base("bob", "00000000-0000-4000-8000-000000000002"), json!({
            "cellId": "c1", "origCellId": "o1", "tStart": "2026-11-02T08:00:00Z",
            "tFinish": "2026-11-02T08:00:02Z", "status": "ERROR", "cellInput": "1/0",
            "cellOutputModel": [{ "output_type": "error", "ename": "ZeroDivisionError" }],
            "cellOutputLength": 17, "languageMimetype": "text/x-python" })) }),
        json!({ "markdownExecution": with(base("alice", "00000000-0000-4000-8000-000000000003"), json!({
            "cellId": "m1", "origCellId": "om1", "time": "2026-11-02T09:01:00Z", "cellContent": "# Title" })) }),
        json!({ "cellFocus": with(base("bob", "00000000-0000-4000-8000-000000000004"), json!({
            "cellId": "c1", "origCellId": "o1", "clickType": "OFF", "time": "2026-11-02T09:02:00.123456Z",
            "clickDuration": 42.25 })) }),
        json!({ "cellFocus": with(base("alice", "00000000-0000-4000-8000-000000000005"), json!({
            "cellId": "c1", "origCellId": "o1", "clickType": "ON", "time": "2026-11-02T09:02:30Z" })) }),
        json!({ "notebookFocus": with(base("alice", "00000000-0000-4000-8000-000000000006"), json!({
            "clickType": "OFF", "time": "2026-11-02T09:03:00Z", "clickDuration": 300.0 })) }),
        json!({ "cellAlteration": with(base("bob", "00000000-0000-4000-8000-000000000007"), json!({
            "cellId": "c9", "alterationType": "ADD", "time": "2026-11-02T09:04:00Z" })) }),
        json!({ "pendingUpdateInteraction": with(base("alice", "00000000-0000-4000-8000-000000000008"), json!({
            "cellId": "o1", "updateId": "u-1", "action": "UPDATE_LATER", "sender": "teacher-pseudonym",
            "senderType": "TEACHER", "time": "2026-11-02T09:05:00Z" })) }),
    ]
}

async fn loaded_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NOTEBOOK).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NOTEBOOK).await;
    let response = app
        .graphql(RECORD_EVENTS, json!({ "events": class_events() }))
        .await;
    assert_eq!(response.data()["recordEvents"]["acceptedCount"], 8);
    (app, token)
}

/// GET `path` with an optional token: (status, content type, disposition, body).
async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, String, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        disposition,
        response.text().await.unwrap(),
    )
}

/// (kind, time) of every row.
fn rows(body: &str) -> Vec<(String, String)> {
    csv::Reader::from_reader(body.as_bytes())
        .records()
        .map(|record| {
            let record = record.unwrap();
            (record[0].to_owned(), record[1].to_owned())
        })
        .collect()
}

backend_tests! {
    async fn the_events_export_of_a_class_equals_the_committed_file(backend) {
        let (app, token) = loaded_app(backend).await;
        let path = format!("/export/notebooks/{NOTEBOOK}/events.csv");
        let (status, content_type, disposition, body) = get(&app, &path, Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(content_type, "text/csv; charset=utf-8");
        assert_eq!(disposition, format!("attachment; filename=\"events_{NOTEBOOK}.csv\""));
        let expected_path = format!("{}/{EXPECTED_EVENTS}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(&expected_path, &body).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap();
        // Pseudonyms depend on the salt of the test apps, which is fixed.
        assert_eq!(body, expected);
    }

    async fn the_events_export_keeps_only_the_chosen_kinds_and_window(backend) {
        let (app, token) = loaded_app(backend).await;
        let path = format!(
            "/export/notebooks/{NOTEBOOK}/events.csv?kinds=cell_focus,code_execution\
             &after=2026-11-02T08:00:02Z&until=2026-11-02T09:02:00.123456Z");
        let (status, _, _, body) = get(&app, &path, Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        // bob's execution finished exactly at `after` (exclusive): out; bob's OFF at `until`
        // (inclusive): in; alice's ON after `until`: out. Kinds come in the order asked.
        let expected = [
            ("cell_focus", "2026-11-02T09:02:00.123456Z"),
            ("code_execution", "2026-11-02T09:00:01.500000Z"),
        ];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(rows(&body), expected);
        assert!(body.lines().next().unwrap().starts_with("kind,time,user_id,cell_id,orig_cell_id"));
    }

    async fn exports_refuse_strangers_and_bad_parameters(backend) {
        let (app, token) = loaded_app(backend).await;
        let stranger = app.user_token("stranger", Role::User).await;
        let events = format!("/export/notebooks/{NOTEBOOK}/events.csv");
        let cases = [
            (events.clone(), None, 401, "UNAUTHENTICATED"),
            (events.clone(), Some(stranger.as_str()), 403, "FORBIDDEN"),
            (format!("{events}?kinds=clicks"), Some(token.as_str()), 400, "BAD_USER_INPUT"),
            (format!("{events}?after=yesterday"), Some(token.as_str()), 400, "BAD_USER_INPUT"),
            ("/export/notebooks/nb-unknown/events.csv".into(), Some(token.as_str()), 403, "FORBIDDEN"),
            ("/export/dashboard-interactions.csv".into(), Some(token.as_str()), 403, "FORBIDDEN"),
            ("/export/dashboard-interactions.csv".into(), None, 401, "UNAUTHENTICATED"),
        ];
        for (path, token, status, code) in cases {
            let (got, _, _, body) = get(&app, &path, token).await;
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!((got, body["error"]["code"].as_str().unwrap()), (status, code), "{path}");
        }
    }

    async fn superusers_export_dashboard_interactions_in_a_window(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        let superuser = app.user_token("research", Role::Superuser).await;
        // Interactions about a notebook are recorded for a dashboard user authorized for it.
        app.authorize("research", NOTEBOOK).await;
        let record = r#"mutation($e: DashboardInteractionEventInput!) {
            recordDashboardInteraction(event: $e) { acceptedCount } }"#;
        for (time, origin) in [("2026-11-02T09:00:00Z", "cell-chart"), ("2026-11-03T09:00:00Z", "toc")] {
            let event = json!({ "notebookId": NOTEBOOK, "clickType": "ON", "signalOrigin": origin, "time": time });
            app.graphql_as(&superuser, record, json!({ "e": event })).await.data();
        }
        let path = "/export/dashboard-interactions.csv?after=2026-11-02T12:00:00Z";
        let (status, _, disposition, body) = get(&app, path, Some(&superuser)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(disposition, "attachment; filename=\"dashboard_interactions.csv\"");
        let pseudonym = app.pseudonym("research");
        assert_eq!(body, format!(
            "time,user_id,notebook_id,click_type,signal_origin,event_id\n\
             2026-11-03T09:00:00.000000Z,{pseudonym},{NOTEBOOK},ON,toc,\n"));
    }
}
