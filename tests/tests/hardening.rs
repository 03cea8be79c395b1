//! What real clients and abuse runs sent: text a database cannot hold, times no event has,
//! variables of the wrong JSON type, a teacher writing about another teacher's notebook, and a
//! mean on half a microsecond. Each is refused with a code (or answered the same on both
//! backends), and nothing is stored by a refusal.

use api::auth::Role;
use entity::{cell_focus_event, dashboard_interaction};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{Backend, TestApp, backend_tests};

const NB: &str = "nb-hardening";
const FOCUS: &str =
    "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";

async fn ready_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NB).await;
    app
}

fn focus(cell: &str, time: &str) -> Value {
    json!({ "notebookId": NB, "userId": "s1", "cellId": cell, "origCellId": cell,
        "clickType": "OFF", "clickDuration": 1.0, "time": time })
}

async fn rest_status(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/send/clickevent/cell"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn rest_focus(cell: &str, time: &str) -> Value {
    json!({ "notebook_id": NB, "user_id": "s1", "cell_id": cell, "orig_cell_id": cell,
        "click_type": "ON", "time": time, "click_duration": null })
}

async fn stored(app: &TestApp) -> u64 {
    cell_focus_event::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

backend_tests! {
    async fn nul_characters_and_far_times_are_refused_with_a_code_on_both_apis(backend) {
        let app = ready_app(backend).await;
        for event in [focus("c\u{0}1", "2026-11-24T10:00:00Z"), focus("c1", "-262143-01-01T00:00:00Z")] {
            let answer = app.graphql(FOCUS, json!({ "e": event })).await;
            assert_eq!(answer.error_code(), "BAD_USER_INPUT", "{:?}", answer.body);
        }
        for body in [rest_focus("c\u{0}1", "2026-11-24T10:00:00.000Z"), rest_focus("c1", "+262142-01-01T00:00:00Z")] {
            let (status, error) = rest_status(&app, body).await;
            assert_eq!(status, 400, "{error}");
            assert_eq!(error["error"]["code"], "BAD_USER_INPUT", "{error}");
        }
        let code = json!({ "notebookId": NB, "userId": "s1", "cellId": "c1", "origCellId": "c1",
            "tStart": "2026-11-24T10:00:00Z", "tFinish": "2026-11-24T10:00:01Z", "status": "OK",
            "cellInput": "print(1)", "cellOutputModel": [{ "text": "a\u{0}b" }], "cellOutputLength": 1,
            "languageMimetype": "text/x-python" });
        let mutation = "mutation($e: CodeExecutionInput!) { recordCodeExecution(event: $e) { acceptedCount } }";
        assert_eq!(app.graphql(mutation, json!({ "e": code })).await.error_code(), "BAD_USER_INPUT");
        let filter = r#"query($nb: ID!) { notebook(id: $nb) { codeExecutionsPerCell(filter: { after: "-262143-01-01T00:00:00Z" }) { cellId } } }"#;
        let token = app.user_token("admin", Role::Admin).await;
        assert_eq!(app.graphql_as(&token, filter, json!({ "nb": NB })).await.error_code(), "BAD_USER_INPUT");
        assert_eq!(stored(&app).await, 0);
    }

    async fn a_variable_of_the_wrong_json_type_is_bad_user_input(backend) {
        let app = ready_app(backend).await;
        let mut event = focus("c1", "2026-11-24T10:00:00Z");
        event["time"] = json!(0);
        let answer = app.graphql(FOCUS, json!({ "e": event })).await;
        assert_eq!(answer.error_code(), "BAD_USER_INPUT", "{:?}", answer.body);
        let mut event = focus("c1", "2026-11-24T10:00:00Z");
        event["eventId"] = json!(true);
        let answer = app.graphql(FOCUS, json!({ "e": event })).await;
        assert_eq!(answer.error_code(), "BAD_USER_INPUT", "{:?}", answer.body);
        assert_eq!(stored(&app).await, 0);
    }

    async fn a_teacher_records_dashboard_interactions_only_for_their_own_notebooks(backend) {
        let app = ready_app(backend).await;
        app.register_notebook("nb-other").await;
        let token = app.user_token("teacher", Role::User).await;
        app.authorize("teacher", NB).await;
        let mutation = r#"mutation($nb: ID) { recordDashboardInteraction(event: { clickType: ON,
            signalOrigin: "TOC", time: "2026-11-24T10:00:00Z", notebookId: $nb }) { acceptedCount } }"#;
        let refused = app.graphql_as(&token, mutation, json!({ "nb": "nb-other" })).await;
        assert_eq!(refused.error_code(), "FORBIDDEN");
        let body = json!({ "click_type": "ON", "signal_origin": "TOC", "time": "2026-11-24T10:00:00.000Z",
            "notebook_id": "nb-other" });
        let old = app.client.post(app.url("/dashboard_interaction/add")).bearer_auth(&token)
            .json(&body).send().await.unwrap();
        assert_eq!(old.status().as_u16(), 403);
        let stored = dashboard_interaction::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(stored, 0);
        // Their own notebook, and none at all, are recorded.
        for nb in [json!(NB), Value::Null] {
            let accepted = app.graphql_as(&token, mutation, json!({ "nb": nb })).await;
            assert_eq!(accepted.data()["recordDashboardInteraction"]["acceptedCount"], 1);
        }
    }

    async fn a_mean_on_half_a_microsecond_is_the_same_on_both_backends(backend) {
        let app = ready_app(backend).await;
        for (n, duration) in [516.522355, 566.844309, 439.357069, 106.849753].into_iter().enumerate() {
            let mut event = focus("c1", &format!("2026-11-24T10:00:0{n}Z"));
            event["clickDuration"] = json!(duration);
            app.graphql(FOCUS, json!({ "e": event })).await.data();
        }
        let token = app.user_token("admin", Role::Admin).await;
        let query = r#"query($nb: ID!) { notebook(id: $nb) { timePerCell { cells { cellId averageDuration } } } }"#;
        let answer = app.graphql_as(&token, query, json!({ "nb": NB })).await;
        let cells = &answer.data()["notebook"]["timePerCell"]["cells"];
        assert_eq!(cells, &json!([{ "cellId": "c1", "averageDuration": 407.393372 }]));
    }
}
