//! Introspection by policy: everyone in dev mode, admins only in production (or when set), nobody
//! when off; `__typename` always works.

use api::{
    auth::Role,
    config::{Introspection, Mode},
};
use serde_json::json;
use tests::{Backend, TestApp};

const SCHEMA: &str = "{ __schema { queryType { name } } }";
const TYPE: &str = r#"{ __type(name: "Query") { name } }"#;

#[tokio::test]
async fn admins_only_introspection_refuses_everyone_else() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.introspection = Some(Introspection::Admins)
    })
    .await;
    let admin = app.user_token("root", Role::Admin).await;
    let teacher = app.user_token("teacher", Role::Superuser).await;
    for query in [SCHEMA, TYPE] {
        let anonymous = app.graphql(query, json!({})).await;
        assert_eq!(anonymous.error_code(), "FORBIDDEN", "{:?}", anonymous.body);
        let refused = app.graphql_as(&teacher, query, json!({})).await;
        assert_eq!(refused.error_code(), "FORBIDDEN");
        assert!(
            app.graphql_as(&admin, query, json!({}))
                .await
                .errors()
                .is_empty()
        );
    }
    assert_eq!(
        app.graphql("{ __typename }", json!({})).await.data()["__typename"],
        "Query"
    );
    // The websocket path follows the same policy.
    let mut socket = app.websocket(json!({})).await;
    socket.subscribe("i", SCHEMA, json!({})).await;
    let answer = socket.receive().await;
    assert_eq!(answer["type"], "error", "{answer}");
}

#[tokio::test]
async fn off_refuses_admins_too_and_the_default_follows_the_mode() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.introspection = Some(Introspection::Off)
    })
    .await;
    let admin = app.user_token("root", Role::Admin).await;
    assert_eq!(
        app.graphql_as(&admin, SCHEMA, json!({})).await.error_code(),
        "FORBIDDEN"
    );
    let mut config = api::config::Config::defaults();
    assert_eq!(config.introspection(), Introspection::On);
    config.mode = Mode::Production;
    assert_eq!(config.introspection(), Introspection::Admins);
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(app.graphql(SCHEMA, json!({})).await.errors().is_empty());
}
