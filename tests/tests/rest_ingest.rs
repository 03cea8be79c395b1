//! The old telemetry extension's REST routes: its exact JSON bodies are stored like the GraphQL
//! mutations' events, and bad requests get 400/404/413 with a JSON error, never a 500.

use entity::{
    cell_alteration, cell_focus_event, code_execution, enums::PendingUpdateAction,
    markdown_execution, notebook_focus_event, pending_update_interaction,
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const NOTEBOOK: &str = "nb-legacy";

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/legacy/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn post(app: &TestApp, route: &str, body: String) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(route))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

const ROUTES: [(&str, &str); 6] = [
    ("/send/exec/code", "exec_code"),
    ("/send/exec/markdown", "exec_markdown"),
    ("/send/clickevent/cell", "clickevent_cell"),
    ("/send/clickevent/notebook", "clickevent_notebook"),
    ("/send/alter", "alter"),
    (
        "/send/pending_update_interaction",
        "pending_update_interaction",
    ),
];

backend_tests! {
    async fn a_null_orig_cell_id_is_stored_as_null(backend) {
        // The extension sends null when a student's copy lacks the cell mapping (copied cells,
        // an older copy); it never retries, so the event is kept.
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        for (route, name) in &ROUTES[..3] {
            let mut body = fixture(name);
            body["orig_cell_id"] = Value::Null;
            let (status, reply) = post(&app, route, body.to_string()).await;
            assert_eq!((status, reply), (200, json!({ "status": "ok" })), "{route}");
        }
        let db = &app.state.db;
        let code = code_execution::Entity::find().all(db).await.unwrap();
        assert_eq!(code[0].orig_cell_id, None);
        assert_eq!(markdown_execution::Entity::find().all(db).await.unwrap()[0].orig_cell_id, None);
        assert_eq!(cell_focus_event::Entity::find().all(db).await.unwrap()[0].orig_cell_id, None);
    }

    async fn an_orig_cell_id_spelled_empty_null_or_undefined_is_stored_as_null_like_the_import(backend) {
        // The same rule as the legacy import's (tests/import_legacy): a path that skipped it
        // would count these events under a cell named "undefined".
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        for (route, name) in &ROUTES[..3] {
            for spelling in ["", "null", "undefined"] {
                let mut body = fixture(name);
                body["orig_cell_id"] = json!(spelling);
                let (status, reply) = post(&app, route, body.to_string()).await;
                assert_eq!((status, reply), (200, json!({ "status": "ok" })), "{route} {spelling:?}");
            }
        }
        let db = &app.state.db;
        let code = code_execution::Entity::find().all(db).await.unwrap();
        assert_eq!(code.into_iter().map(|row| row.orig_cell_id).collect::<Vec<_>>(), [None, None, None]);
        let markdown = markdown_execution::Entity::find().all(db).await.unwrap();
        assert_eq!(markdown.into_iter().map(|row| row.orig_cell_id).collect::<Vec<_>>(), [None, None, None]);
        let focus = cell_focus_event::Entity::find().all(db).await.unwrap();
        assert_eq!(focus.into_iter().map(|row| row.orig_cell_id).collect::<Vec<_>>(), [None, None, None]);
    }

    async fn each_route_accepts_the_old_clients_exact_json(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        for (route, name) in ROUTES {
            let (status, body) = post(&app, route, fixture(name).to_string()).await;
            assert_eq!(status, 200, "{route}: {body}");
        }
        let db = &app.state.db;
        let student = app.pseudonym("student-001");
        let code = code_execution::Entity::find().all(db).await.unwrap();
        assert_eq!(code.len(), 1);
        assert_eq!(code[0].user_id, student);
        assert_eq!(code[0].cell_output_model, fixture("exec_code")["cell_output_model"]);
        assert_eq!(code[0].t_finish.to_rfc3339(), "2024-03-05T10:15:02.456789+00:00");
        assert_eq!(markdown_execution::Entity::find().count(db).await.unwrap(), 1);
        let focus = cell_focus_event::Entity::find().all(db).await.unwrap();
        assert_eq!(focus[0].click_duration, Some(42.5));
        assert_eq!(notebook_focus_event::Entity::find().count(db).await.unwrap(), 1);
        assert_eq!(cell_alteration::Entity::find().count(db).await.unwrap(), 1);
        let pending = pending_update_interaction::Entity::find().all(db).await.unwrap();
        assert_eq!(pending[0].action, PendingUpdateAction::UpdateLater);
        // The sender is already a pseudonym and must not be hashed again.
        assert_eq!(
            pending[0].sender.as_deref(),
            fixture("pending_update_interaction")["sender"].as_str()
        );
    }

    async fn malformed_bodies_get_400_with_a_json_error_and_store_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        let mut wrong_enum = fixture("clickevent_cell");
        wrong_enum["click_type"] = json!("MAYBE");
        let mut missing_field = fixture("alter");
        missing_field.as_object_mut().unwrap().remove("cell_id");
        let mut bad_time = fixture("exec_markdown");
        bad_time["time"] = json!("last tuesday");
        let mut server_only_action = fixture("pending_update_interaction");
        server_only_action["action"] = json!("OVERRIDE");
        let cases = [
            ("/send/clickevent/cell", "{not json".to_owned()),
            ("/send/clickevent/cell", wrong_enum.to_string()),
            ("/send/alter", missing_field.to_string()),
            ("/send/exec/markdown", bad_time.to_string()),
            ("/send/pending_update_interaction", server_only_action.to_string()),
        ];
        for (route, body) in cases {
            let (status, json) = post(&app, route, body.clone()).await;
            assert_eq!(status, 400, "{route} {body}");
            assert_eq!(json["error"]["code"], "BAD_USER_INPUT", "{route}");
        }
        let db = &app.state.db;
        assert_eq!(cell_focus_event::Entity::find().count(db).await.unwrap(), 0);
        assert_eq!(cell_alteration::Entity::find().count(db).await.unwrap(), 0);
        assert_eq!(pending_update_interaction::Entity::find().count(db).await.unwrap(), 0);
    }

    async fn an_unknown_notebook_gets_404(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, json) = post(&app, "/send/alter", fixture("alter").to_string()).await;
        assert_eq!(status, 404);
        assert_eq!(json["error"]["code"], "NOT_FOUND");
    }

    async fn a_body_over_one_mebibyte_gets_413(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        let mut big = fixture("exec_code");
        big["cell_input"] = json!("y".repeat(1024 * 1024 + 10));
        let (status, json) = post(&app, "/send/exec/code", big.to_string()).await;
        assert_eq!(status, 413);
        assert_eq!(json["error"]["code"], "PAYLOAD_TOO_LARGE");
        assert_eq!(code_execution::Entity::find().count(&app.state.db).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn cors_preflight_passes_for_any_origin_and_is_cached() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    for (route, _) in ROUTES {
        let response = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(route))
            .header("origin", "https://hub.some-university.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{route}: {}",
            response.status()
        );
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*", "{route}");
        assert_eq!(headers["access-control-max-age"], "86400", "{route}");
    }
}
