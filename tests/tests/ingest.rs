//! Telemetry ingest over GraphQL: every kind stored with its fields and the student's
//! pseudonym, batches all-or-nothing, idempotent retries, each refusal with its code and
//! nothing stored, and the dashboard refresh signal.

use api::{
    auth::Role,
    broker::{BrokerEvent, Topic},
};
use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction,
    enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, SenderType},
    markdown_execution, notebook_focus_event, pending_update_interaction,
};
use futures::StreamExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const NOTEBOOK: &str = "nb-ingest";

const CODE_EXECUTION: &str = r#"mutation($e: CodeExecutionInput!) {
    recordCodeExecution(event: $e) { acceptedCount } }"#;
const CELL_FOCUS: &str = r#"mutation($e: CellFocusInput!) {
    recordCellFocus(event: $e) { acceptedCount duplicateCount } }"#;
const RECORD_EVENTS: &str = r#"mutation($events: [EventInput!]!) {
    recordEvents(events: $events) { acceptedCount duplicateCount } }"#;

fn code_execution(user: &str) -> Value {
    json!({
        "notebookId": NOTEBOOK, "userId": user,
        "cellId": "cell-1", "origCellId": "orig-1",
        "tStart": "2024-03-05T10:15:01.123Z", "tFinish": "2024-03-05T10:15:02.456789Z",
        "status": "ERROR", "cellInput": "print(x)",
        "cellOutputModel": [{"output_type": "error", "ename": "NameError"}],
        "cellOutputLength": 9, "languageMimetype": "text/x-python"
    })
}

fn cell_focus(user: &str, event_id: Option<&str>) -> Value {
    json!({
        "notebookId": NOTEBOOK, "userId": user, "eventId": event_id,
        "cellId": "cell-1", "origCellId": "orig-1",
        "clickType": "OFF", "time": "2024-03-05T10:17:00Z", "clickDuration": 12.5
    })
}

async fn focus_rows(app: &TestApp) -> u64 {
    cell_focus_event::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn ready_app(backend: tests::Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NOTEBOOK).await;
    app
}

backend_tests! {
    async fn a_code_execution_is_stored_with_its_fields_and_the_students_pseudonym(backend) {
        let app = ready_app(backend).await;
        let response = app.graphql(CODE_EXECUTION, json!({ "e": code_execution("student-7") })).await;
        assert_eq!(response.data()["recordCodeExecution"]["acceptedCount"], 1);
        let rows = code_execution::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.user_id, app.pseudonym("student-7"));
        assert_ne!(row.user_id, "student-7");
        assert_eq!(row.cell_id, "cell-1");
        assert_eq!(row.orig_cell_id.as_deref(), Some("orig-1"));
        assert_eq!(row.status, ExecutionStatus::Error);
        assert_eq!(row.t_start.to_rfc3339(), "2024-03-05T10:15:01.123+00:00");
        assert_eq!(row.t_finish.to_rfc3339(), "2024-03-05T10:15:02.456789+00:00");
        assert_eq!(row.cell_input, "print(x)");
        assert_eq!(row.cell_output_model, json!([{"output_type": "error", "ename": "NameError"}]));
        assert_eq!(row.cell_output_length, 9);
        assert_eq!(row.language_mimetype, "text/x-python");
    }

    async fn every_other_kind_is_stored_with_its_fields(backend) {
        let app = ready_app(backend).await;
        let user = "student-8";
        let source = |extra: Value| {
            let mut event = json!({ "notebookId": NOTEBOOK, "userId": user });
            event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            event
        };
        let events = json!([
            { "markdownExecution": source(json!({"cellId": "m1", "origCellId": "om1",
                "time": "2024-03-05T10:16:00Z", "cellContent": "# Title"})) },
            { "cellFocus": source(json!({"cellId": "c1", "origCellId": "oc1",
                "clickType": "ON", "time": "2024-03-05T10:17:00Z"})) },
            { "notebookFocus": source(json!({"clickType": "OFF",
                "time": "2024-03-05T10:18:00Z", "clickDuration": 300.25})) },
            { "cellAlteration": source(json!({"cellId": "c9", "alterationType": "REMOVE",
                "time": "2024-03-05T10:19:00Z"})) },
            { "pendingUpdateInteraction": source(json!({"cellId": "oc1", "updateId": "u-1",
                "action": "UPDATE_LATER", "sender": "already-a-pseudonym",
                "senderType": "TEACHER", "time": "2024-03-05T10:20:00Z"})) },
        ]);
        let response = app.graphql(RECORD_EVENTS, json!({ "events": events })).await;
        assert_eq!(response.data()["recordEvents"]["acceptedCount"], 5);
        let db = &app.state.db;
        let pseudonym = app.pseudonym(user);

        let markdown = markdown_execution::Entity::find().all(db).await.unwrap();
        assert_eq!(markdown.len(), 1);
        assert_eq!((markdown[0].cell_id.as_str(), markdown[0].orig_cell_id.as_deref()), ("m1", Some("om1")));
        assert_eq!(markdown[0].cell_content, "# Title");
        assert_eq!(markdown[0].user_id, pseudonym);

        let focus = cell_focus_event::Entity::find().all(db).await.unwrap();
        assert_eq!(focus.len(), 1);
        assert_eq!(focus[0].click_type, ClickType::On);
        assert_eq!(focus[0].click_duration, None);
        assert_eq!(focus[0].orig_cell_id.as_deref(), Some("oc1"));

        let notebook_focus = notebook_focus_event::Entity::find().all(db).await.unwrap();
        assert_eq!(notebook_focus.len(), 1);
        assert_eq!(notebook_focus[0].click_type, ClickType::Off);
        assert_eq!(notebook_focus[0].click_duration, Some(300.25));

        let alterations = cell_alteration::Entity::find().all(db).await.unwrap();
        assert_eq!(alterations.len(), 1);
        assert_eq!(alterations[0].alteration_type, AlterationType::Remove);
        assert_eq!(alterations[0].cell_id, "c9");

        let pending = pending_update_interaction::Entity::find().all(db).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].action, PendingUpdateAction::UpdateLater);
        assert_eq!(pending[0].sender.as_deref(), Some("already-a-pseudonym"));
        assert_eq!(pending[0].sender_type, Some(SenderType::Teacher));
        assert_eq!(pending[0].update_id.as_deref(), Some("u-1"));
        assert_eq!(pending[0].user_id, pseudonym);
    }

    async fn a_batch_of_a_thousand_events_is_stored_in_one_request(backend) {
        let app = ready_app(backend).await;
        let events: Vec<Value> = (0..1000)
            .map(|i| {
                if i % 2 == 0 {
                    json!({ "cellFocus": cell_focus(&format!("s{}", i % 37), None) })
                } else {
                    json!({ "codeExecution": code_execution(&format!("s{}", i % 37)) })
                }
            })
            .collect();
        let response = app.graphql(RECORD_EVENTS, json!({ "events": events })).await;
        assert_eq!(response.data()["recordEvents"]["acceptedCount"], 1000);
        assert_eq!(focus_rows(&app).await, 500);
        let executions = code_execution::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(executions, 500);
    }

    async fn a_retried_event_id_is_stored_once_and_reported_as_a_duplicate(backend) {
        let app = ready_app(backend).await;
        let id = "7d444840-9dc0-11d1-b245-5ffdce74fad2";
        let counts = |response: &tests::GraphQLResponse, field: &str| {
            let result = &response.data()[field];
            (result["acceptedCount"].as_u64(), result["duplicateCount"].as_u64())
        };
        for attempt in 0..3 {
            let response = app.graphql(CELL_FOCUS, json!({ "e": cell_focus("s1", Some(id)) })).await;
            let expected = if attempt == 0 { (Some(1), Some(0)) } else { (Some(0), Some(1)) };
            assert_eq!(counts(&response, "recordCellFocus"), expected, "attempt {attempt}");
        }
        // Within one batch too; events without ids are never deduplicated.
        let fresh = "0b5c7f2e-6f0d-4c55-9a57-4a3f4f1f9e01";
        let events = json!([
            { "cellFocus": cell_focus("s1", Some(id)) },
            { "cellFocus": cell_focus("s1", Some(fresh)) },
            { "cellFocus": cell_focus("s1", Some(fresh)) },
            { "cellFocus": cell_focus("s1", None) },
            { "cellFocus": cell_focus("s1", None) },
        ]);
        let response = app.graphql(RECORD_EVENTS, json!({ "events": events })).await;
        assert_eq!(counts(&response, "recordEvents"), (Some(3), Some(2)));
        assert_eq!(focus_rows(&app).await, 4);
    }

    async fn an_event_id_another_student_already_used_is_stored(backend) {
        // Event ids are chosen by clients: two students (or one student in two notebooks) may
        // send the same one, and each is a different event.
        let app = ready_app(backend).await;
        app.register_notebook("other-notebook").await;
        let id = "7d444840-9dc0-11d1-b245-5ffdce74fad2";
        let mut in_other_notebook = cell_focus("s1", Some(id));
        in_other_notebook["notebookId"] = json!("other-notebook");
        for event in [cell_focus("s1", Some(id)), cell_focus("s2", Some(id)), in_other_notebook] {
            let response = app.graphql(CELL_FOCUS, json!({ "e": event })).await;
            assert_eq!(response.data()["recordCellFocus"]["acceptedCount"], 1);
            assert_eq!(response.data()["recordCellFocus"]["duplicateCount"], 0);
        }
        assert_eq!(focus_rows(&app).await, 3);
    }

    async fn an_unknown_notebook_is_not_found_and_nothing_is_stored(backend) {
        let app = ready_app(backend).await;
        let mut event = cell_focus("s1", None);
        event["notebookId"] = json!("never-uploaded");
        let response = app.graphql(CELL_FOCUS, json!({ "e": event })).await;
        assert_eq!(response.error_code(), "NOT_FOUND");
        assert_eq!(focus_rows(&app).await, 0);
    }

    async fn a_bad_enum_word_or_time_is_bad_user_input_and_nothing_is_stored(backend) {
        let app = ready_app(backend).await;
        let mut bad_enum = cell_focus("s1", None);
        bad_enum["clickType"] = json!("SIDEWAYS");
        let response = app.graphql(CELL_FOCUS, json!({ "e": bad_enum })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        for bad_time in ["yesterday", "2024-13-45T10:00:00Z", "2024-03-05 10:00"] {
            let mut event = cell_focus("s1", None);
            event["time"] = json!(bad_time);
            let response = app.graphql(CELL_FOCUS, json!({ "e": event })).await;
            assert_eq!(response.error_code(), "BAD_USER_INPUT", "{bad_time}");
        }
        let mut negative = cell_focus("s1", None);
        negative["clickDuration"] = json!(-1.0);
        let response = app.graphql(CELL_FOCUS, json!({ "e": negative })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        assert_eq!(focus_rows(&app).await, 0);
    }

    async fn an_event_over_one_mebibyte_is_payload_too_large(backend) {
        let app = ready_app(backend).await;
        let mut event = code_execution("s1");
        event["cellInput"] = json!("x".repeat(1024 * 1024 + 1));
        let response = app.graphql(CODE_EXECUTION, json!({ "e": event })).await;
        assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");
        let stored = code_execution::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(stored, 0);
    }

    async fn a_batch_with_one_bad_event_is_refused_whole_and_names_its_index(backend) {
        let app = ready_app(backend).await;
        let mut bad = cell_focus("s1", None);
        bad["notebookId"] = json!("never-uploaded");
        let events = json!([
            { "cellFocus": cell_focus("s1", None) },
            { "cellFocus": cell_focus("s2", None) },
            { "cellFocus": bad },
            { "cellFocus": cell_focus("s3", None) },
        ]);
        let response = app.graphql(RECORD_EVENTS, json!({ "events": events })).await;
        assert_eq!(response.error_code(), "NOT_FOUND");
        assert_eq!(response.errors()[0]["extensions"]["eventIndex"], 2);
        assert_eq!(focus_rows(&app).await, 0);
    }

    async fn a_batch_over_the_event_cap_is_refused(backend) {
        let app = TestApp::spawn_with(backend, |config| config.limits.batch_max_events = 10).await;
        app.register_notebook(NOTEBOOK).await;
        let events: Vec<Value> = (0..11).map(|_| json!({ "cellFocus": cell_focus("s", None) })).collect();
        let response = app.graphql(RECORD_EVENTS, json!({ "events": events })).await;
        assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");
        assert_eq!(focus_rows(&app).await, 0);
    }

    async fn an_event_naming_two_kinds_is_refused_by_one_of(backend) {
        let app = ready_app(backend).await;
        let events = json!([{ "cellFocus": cell_focus("s", None), "codeExecution": code_execution("s") }]);
        let response = app.graphql(RECORD_EVENTS, json!({ "events": events })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        assert_eq!(focus_rows(&app).await, 0);
    }

    async fn dashboard_interactions_need_a_login_and_store_the_teachers_pseudonym(backend) {
        let app = ready_app(backend).await;
        let query = r#"mutation($e: DashboardInteractionEventInput!) {
            recordDashboardInteraction(event: $e) { acceptedCount } }"#;
        let event = json!({ "clickType": "ON", "signalOrigin": "cell-chart-toggle",
            "time": "2024-03-05T10:00:00Z", "notebookId": NOTEBOOK });
        let anonymous = app.graphql(query, json!({ "e": event })).await;
        assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
        let token = app.user_token("teacher-1", Role::User).await;
        // About a notebook: only for a teacher authorized for it.
        let response = app.graphql_as(&token, query, json!({ "e": event })).await;
        assert_eq!(response.error_code(), "FORBIDDEN");
        app.authorize("teacher-1", NOTEBOOK).await;
        let response = app.graphql_as(&token, query, json!({ "e": event })).await;
        assert_eq!(response.data()["recordDashboardInteraction"]["acceptedCount"], 1);
        let rows = dashboard_interaction::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].user_id, app.pseudonym("teacher-1"));
        assert_eq!(rows[0].signal_origin, "cell-chart-toggle");
        assert!(rows[0].notebook_id.is_some());
        let mut long = event.clone();
        long["signalOrigin"] = json!("x".repeat(91));
        let response = app.graphql_as(&token, query, json!({ "e": long })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
    }

    async fn an_ingest_publishes_a_refresh_signal_for_its_notebook(backend) {
        let app = ready_app(backend).await;
        let topic = Topic::DashboardRefresh { notebook_id: NOTEBOOK.into() };
        let mut signals = app.state.broker.subscribe(&topic).await.unwrap();
        app.graphql(CELL_FOCUS, json!({ "e": cell_focus("s1", None) })).await.data();
        let signal = tokio::time::timeout(std::time::Duration::from_secs(5), signals.next())
            .await
            .expect("a refresh signal");
        assert_eq!(signal, Some(BrokerEvent::DashboardRefresh { notebook_id: NOTEBOOK.into() }));
    }
}
