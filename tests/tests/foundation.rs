//! The edge every later feature stands on: probes, GraphQL over HTTP and websocket, GraphiQL,
//! the committed schema, and migrations on both backends.

use migration::{Migrator, MigratorTrait};
use serde_json::json;
use tests::{Backend, TestApp, backend_tests};

backend_tests! {
    async fn health_probes_answer_and_readiness_checks_the_database(backend) {
        let app = TestApp::spawn(backend).await;
        let healthz = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(healthz.status(), 200);
        let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(readyz.status(), 200);
        let body: serde_json::Value = readyz.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "status": "ready", "database": "up", "broker": "up",
            "ingest_writer": "up", "ingest_writer_restarts": 0 }));
    }

    async fn a_query_over_http_answers_with_data(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app
            .graphql("{ __typename version health { status database broker } }", json!({}))
            .await;
        let data = response.data();
        assert_eq!(data["__typename"], "Query");
        assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(data["health"]["status"], "ok");
        assert_eq!(data["health"]["database"], true);
    }

    async fn a_query_over_the_websocket_answers_with_next_then_complete(backend) {
        let app = TestApp::spawn(backend).await;
        let mut socket = app.websocket(json!({})).await;
        socket.subscribe("1", "{ version }", json!({})).await;
        let next = socket.receive().await;
        assert_eq!(next["type"], "next", "{next}");
        assert_eq!(next["id"], "1");
        assert_eq!(next["payload"]["data"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(socket.receive().await["type"], "complete");
    }

    async fn migrations_go_up_down_and_up_again(backend) {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let applied = Migrator::get_applied_migrations(db).await.unwrap().len();
        assert_eq!(applied, Migrator::migrations().len());
        Migrator::down(db, None).await.unwrap();
        assert!(Migrator::get_applied_migrations(db).await.unwrap().is_empty());
        Migrator::up(db, None).await.unwrap();
        assert_eq!(Migrator::get_pending_migrations(db).await.unwrap().len(), 0);
        // The schema is usable again after the round trip.
        app.register_notebook("after-round-trip").await;
    }
}

#[tokio::test]
async fn a_text_plain_body_is_refused_so_browsers_cannot_forge_requests() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ version }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_payload_too_large() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.batch_body_limit = 1024;
    })
    .await;
    let query = format!("{{ version }} # {}", "x".repeat(2048));
    let response = app.graphql(&query, json!({})).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn graphiql_and_its_assets_are_served_by_the_binary() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // What a browser sends when it navigates to the URL.
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js"));
    assert!(
        !html.contains("https://"),
        "the page must not load from a CDN"
    );
    for (file, content_type) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
    ] {
        let asset = app
            .client
            .get(app.url(&format!("/graphiql/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200, "{file}");
        let header = asset.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(header.starts_with(content_type), "{file}: {header}");
        assert!(asset.bytes().await.unwrap().len() > 1000, "{file}");
    }
    let missing = app
        .client
        .get(app.url("/graphiql/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn the_committed_schema_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql"))
            .unwrap_or_default();
    assert!(
        committed == api::graphql::sdl(),
        "schema.graphql is out of date: run `cargo run -p api -- export-schema` and commit it"
    );
}
