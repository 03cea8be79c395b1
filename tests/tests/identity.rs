//! One rule per student identity, whatever carries it: GraphQL's student fields, the old REST
//! routes and the Socket.IO channel bound the same ids the same way (`services::identity`),
//! the live services bound what is pushed, and a dashboard window is checked once for both
//! dashboard APIs (`Scope::resolve`).

use api::auth::Role;
use entity::pushed_update;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{Backend, SioClient, TestApp, backend_tests};

const NB: &str = "nb-identity";

async fn ready_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NB).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NB).await;
    (app, token)
}

const TEAMMATES: &str = r#"query($nb: ID!, $user: String!) {
    myConnectedTeammates(notebookId: $nb, userId: $user) }"#;
const LOCATION: &str = r#"mutation($nb: ID!, $user: String!) {
    updateLocation(notebookId: $nb, userId: $user, cellId: "c1", cellIndex: 0) }"#;

async fn legacy_status(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn socket_refusal(app: &TestApp, notebook: &str, user: &str) -> String {
    let query = format!("conType=STUDENT&nbId={notebook}&userId={user}");
    match SioClient::connect(app.addr, &query, None).await {
        Err(message) => message,
        Ok(_) => panic!("{query} was accepted"),
    }
}

backend_tests! {
    async fn an_over_long_notebook_id_is_bad_input_on_every_transport(backend) {
        let (app, _token) = ready_app(backend).await;
        let long = "n".repeat(129);
        let answer = app.graphql(TEAMMATES, json!({ "nb": long, "user": "s1" })).await;
        assert_eq!(answer.error_code(), "BAD_USER_INPUT");
        let path = format!("/groups/location/teammates?userId=s1&notebookId={long}");
        assert_eq!(legacy_status(&app, reqwest::Method::GET, &path, None).await, 400);
        assert_eq!(socket_refusal(&app, &long, "s1").await, "Invalid identifiers");
        // An id within bounds that names no notebook is NOT_FOUND everywhere.
        let answer = app.graphql(TEAMMATES, json!({ "nb": "nope", "user": "s1" })).await;
        assert_eq!(answer.error_code(), "NOT_FOUND");
        let path = "/groups/location/teammates?userId=s1&notebookId=nope";
        assert_eq!(legacy_status(&app, reqwest::Method::GET, path, None).await, 404);
        assert_eq!(socket_refusal(&app, "nope", "s1").await, "Notebook not registered");
    }

    async fn an_over_long_student_id_is_bad_input_on_every_transport(backend) {
        let (app, _token) = ready_app(backend).await;
        let long = "s".repeat(257);
        let answer = app.graphql(LOCATION, json!({ "nb": NB, "user": long })).await;
        assert_eq!(answer.error_code(), "BAD_USER_INPUT");
        assert!(answer.errors()[0]["message"].as_str().unwrap().contains("userId"));
        let body = json!({ "userId": long, "notebookId": NB, "cellId": "c1", "cellIndex": 0 });
        let status =
            legacy_status(&app, reqwest::Method::POST, "/groups/location/update", Some(body)).await;
        assert_eq!(status, 400);
        assert_eq!(socket_refusal(&app, NB, &long).await, "Invalid identifiers");
        // 256 bytes is still a student.
        let answer = app.graphql(LOCATION, json!({ "nb": NB, "user": "s".repeat(256) })).await;
        assert_eq!(answer.data()["updateLocation"], true, "{answer:?}");
    }

    async fn a_push_to_an_over_long_recipient_is_refused_and_records_nothing(backend) {
        let (app, token) = ready_app(backend).await;
        let push = r#"mutation($nb: ID!, $to: [String!]) {
            pushUpdate(notebookId: $nb, toStudents: $to,
                cells: [{ cellId: "c1", cellType: "code", source: "x = 1" }]) { updateId } }"#;
        let answer = app.graphql_as(&token, push, json!({ "nb": NB, "to": ["x".repeat(257)] })).await;
        assert_eq!(answer.error_code(), "BAD_USER_INPUT");
        let stored = pushed_update::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(stored, 0);
        let answer = app.graphql_as(&token, push, json!({ "nb": NB, "to": [app.pseudonym("s1")] })).await;
        assert!(answer.data()["pushUpdate"]["updateId"].is_string(), "{answer:?}");
        let stored = pushed_update::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(stored, 1);
    }

    async fn a_window_that_ends_before_it_starts_is_refused_by_both_dashboard_apis(backend) {
        let (app, token) = ready_app(backend).await;
        let query = r#"query($nb: ID!) { notebook(id: $nb) { codeExecutionsPerCell(filter: {
            after: "2024-03-05T11:00:00Z", until: "2024-03-05T10:00:00Z" }) { cellId } } }"#;
        let answer = app.graphql_as(&token, query, json!({ "nb": NB })).await;
        assert_eq!(answer.error_code(), "BAD_USER_INPUT");
        let path = format!(
            "/dashboard/{NB}/user_code_execution?t1=2024-03-05T11:00:00.000Z&t2=2024-03-05T10:00:00.000Z"
        );
        let response = app.client.get(app.url(&path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
    }
}
