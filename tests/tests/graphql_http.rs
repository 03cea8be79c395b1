//! GraphQL over HTTP as the spec and the graphql-http audit read it: media types by `Accept`
//! (406 when neither fits), request errors as 400 without `data` under
//! `application/graphql-response+json` and 200 under `application/json`, parameters checked
//! before execution, queries over GET and mutations refused there with 405 and `Allow`.

use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};
use tests::{Backend, TestApp};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut request = app.client.post(app.url("/graphql")).json(&body);
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    (
        status,
        content_type,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn request_errors_are_400_without_data_under_graphql_response_json_and_200_under_json() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bad = [
        json!({ "query": "{" }),
        json!({ "query": "{ nope }" }),
        json!({ "query": "query($n: Int!) { __typename }", "variables": { "n": "x" } }),
    ];
    for body in bad {
        let (status, content_type, answer) = post(&app, Some(GRAPHQL_RESPONSE), body.clone()).await;
        assert_eq!(
            (status, content_type.as_str()),
            (400, GRAPHQL_RESPONSE),
            "{body}"
        );
        assert!(
            answer.get("data").is_none() && answer["errors"][0]["message"].is_string(),
            "{answer}"
        );
        let (status, content_type, answer) =
            post(&app, Some("application/json"), body.clone()).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/json"),
            "{body}"
        );
        assert!(answer.get("data").is_none(), "{answer}");
    }
    // A field error is a result: 200 with data.
    let (status, _, answer) = post(
        &app,
        Some(GRAPHQL_RESPONSE),
        json!({ "query": "{ me { role } }" }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // Without Accept: JSON.
    let (status, content_type, _) = post(&app, None, json!({ "query": "{ __typename }" })).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
}

#[tokio::test]
async fn an_accept_that_fits_neither_type_is_406_and_bad_parameters_are_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, _, answer) =
        post(&app, Some("text/xml"), json!({ "query": "{ __typename }" })).await;
    assert_eq!(status, 406, "{answer}");
    for body in [
        json!({ "qeury": "{ __typename }" }),
        json!({ "query": 1 }),
        json!({ "query": "{ __typename }", "variables": "x" }),
        json!([{ "query": "{ __typename }" }]),
    ] {
        let (status, _, answer) = post(&app, Some(GRAPHQL_RESPONSE), body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn a_get_runs_a_query_but_never_a_mutation() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let get = |params: Vec<(&'static str, String)>| {
        let mut url = reqwest::Url::parse(&app.url("/graphql")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        app.client.get(url).header(ACCEPT, GRAPHQL_RESPONSE).send()
    };
    let response = get(vec![
        (
            "query",
            "query($t: String!) { echo: __type(name: $t) { name } }".into(),
        ),
        ("variables", json!({ "t": "Query" }).to_string()),
    ])
    .await
    .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["echo"]["name"], "Query", "{answer}");

    let mutation = "mutation { login(username: \"a\", password: \"b\") { accessToken } }";
    let response = get(vec![("query", mutation.into())]).await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()[ALLOW], "POST");
    // Named operations: the selected one decides.
    let document =
        format!("query Q {{ __typename }} {mutation}").replace("mutation {", "mutation M {");
    let response = get(vec![
        ("query", document.clone()),
        ("operationName", "M".into()),
    ])
    .await
    .unwrap();
    assert_eq!(response.status(), 405);
    let response = get(vec![("query", document), ("operationName", "Q".into())])
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // No query and no browser: a 400, not GraphiQL.
    let response = get(vec![]).await.unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn every_response_has_a_request_id_that_its_errors_carry() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["errors"][0]["extensions"]["requestId"], id.as_str());
    // A client's own id is kept (a proxy's, for example).
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "from-the-proxy-1")
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "from-the-proxy-1");
}

#[tokio::test]
async fn an_answer_lists_its_fields_in_the_order_the_query_selected_them() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Not alphabetical: `version` before `__typename`, and the alias `a` last.
    let body = json!({ "query": "{ version __typename a: __typename }" });
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap_or(usize::MAX);
    assert!(at("data") < at("version"), "{text}");
    assert!(at("version") < at("__typename"), "{text}");
    assert!(at("__typename") < at("a"), "{text}");
}
