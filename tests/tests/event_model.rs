//! One event model behind both wire formats: every kind sent as the old extension's REST body
//! and as the GraphQL mutation's input (the same event, translated field by field) gives the
//! same stored row; a null original cell id is stored and counted in the unmapped bucket.

use entity::{
    cell_alteration, cell_focus_event, code_execution, markdown_execution, notebook_focus_event,
    pending_update_interaction,
};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Map, Value, json};
use tests::{TestApp, backend_tests};

const NOTEBOOK: &str = "nb-legacy";

/// Each kind: the REST route, its fixture, the GraphQL `EventInput` field, and the fields whose
/// enum words are lower case on the old wire but GraphQL names (upper case) in the schema.
const KINDS: [(&str, &str, &str, &[&str]); 6] = [
    ("/send/exec/code", "exec_code", "codeExecution", &["status"]),
    (
        "/send/exec/markdown",
        "exec_markdown",
        "markdownExecution",
        &[],
    ),
    ("/send/clickevent/cell", "clickevent_cell", "cellFocus", &[]),
    (
        "/send/clickevent/notebook",
        "clickevent_notebook",
        "notebookFocus",
        &[],
    ),
    ("/send/alter", "alter", "cellAlteration", &[]),
    (
        "/send/pending_update_interaction",
        "pending_update_interaction",
        "pendingUpdateInteraction",
        &["sender_type"],
    ),
];

const RECORD_EVENTS: &str = r#"mutation($events: [EventInput!]!) {
    recordEvents(events: $events) { acceptedCount duplicateCount } }"#;

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/legacy/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn camel_case(name: &str) -> String {
    let mut parts = name.split('_');
    let first = parts.next().unwrap_or_default().to_owned();
    parts.fold(first, |mut out, part| {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
        out
    })
}

/// The GraphQL input for the same event as a REST body.
fn as_graphql_input(body: &Value, enum_fields: &[&str]) -> Value {
    let fields = body.as_object().unwrap().iter().map(|(name, value)| {
        let value = match (enum_fields.contains(&name.as_str()), value) {
            (true, Value::String(word)) => json!(word.to_uppercase()),
            _ => value.clone(),
        };
        (camel_case(name), value)
    });
    Value::Object(fields.collect::<Map<_, _>>())
}

/// Every row of the six event tables, ids left out (they depend on arrival order).
async fn stored_rows(db: &DatabaseConnection) -> Vec<String> {
    macro_rules! rows {
        ($entity:ident) => {
            $entity::Entity::find()
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|mut row| {
                    row.id = 0;
                    format!("{row:?}")
                })
        };
    }
    let mut rows: Vec<String> = rows!(code_execution)
        .chain(rows!(markdown_execution))
        .chain(rows!(cell_focus_event))
        .chain(rows!(notebook_focus_event))
        .chain(rows!(cell_alteration))
        .chain(rows!(pending_update_interaction))
        .collect();
    rows.sort();
    rows
}

backend_tests! {
    async fn both_wire_formats_of_every_kind_store_identical_rows(backend) {
        let over_rest = TestApp::spawn(backend).await;
        let over_graphql = TestApp::spawn(backend).await;
        let mut inputs = Vec::new();
        for (route, name, field, enum_fields) in KINDS {
            let body = fixture(name);
            inputs.push(json!({ field: as_graphql_input(&body, enum_fields) }));
            if inputs.len() == 1 {
                over_rest.register_notebook(NOTEBOOK).await;
                over_graphql.register_notebook(NOTEBOOK).await;
            }
            let response = over_rest
                .client
                .post(over_rest.url(route))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{route}");
        }
        let response = over_graphql.graphql(RECORD_EVENTS, json!({ "events": inputs })).await;
        assert_eq!(response.data()["recordEvents"]["acceptedCount"], 6);
        let rest_rows = stored_rows(&over_rest.state.db).await;
        assert_eq!(rest_rows.len(), 6);
        assert_eq!(rest_rows, stored_rows(&over_graphql.state.db).await);
    }

    async fn a_click_without_original_cell_is_stored_and_counted_as_unmapped(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NOTEBOOK).await;
        let mut click = fixture("clickevent_cell");
        click["orig_cell_id"] = Value::Null;
        click["click_type"] = json!("ON");
        let response = app.client.post(app.url("/send/clickevent/cell")).json(&click).send().await;
        assert_eq!(response.unwrap().status(), 200);
        let mut input = as_graphql_input(&fixture("clickevent_cell"), &[]);
        input["origCellId"] = Value::Null;
        input["userId"] = json!("student-002");
        let mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
        assert_eq!(app.graphql(mutation, json!({ "e": input })).await.data()["recordCellFocus"]["acceptedCount"], 1);

        let stored = cell_focus_event::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(stored.iter().map(|row| row.orig_cell_id.clone()).collect::<Vec<_>>(), [None, None]);
        let token = app.user_token("admin", api::auth::Role::Admin).await;
        let query = format!(
            r#"{{ notebook(id: "{NOTEBOOK}") {{ codeExecutionsPerCell {{ cellId focusCount focusOnCount }}
                studentLocations {{ cellId studentCount }} }} }}"#
        );
        let data = app.graphql_as(&token, &query, json!({})).await.data().clone();
        assert_eq!(
            data["notebook"]["codeExecutionsPerCell"],
            json!([{ "cellId": "", "focusCount": 2, "focusOnCount": 1 }])
        );
        assert_eq!(data["notebook"]["studentLocations"], json!([{ "cellId": "", "studentCount": 1 }]));
    }
}
