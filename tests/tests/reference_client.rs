//! The reference clients against a real server: `tests/node/reference-client.mjs` (graphql-ws)
//! and `tests/node/socketio-client.mjs` (socket.io-client 4.7.5, as the deployed extensions),
//! pinned in `tests/node/package.json`. It needs Node and `npm ci --prefix
//! tests/node`; without them the test says it is skipped, unless `REQUIRE_NODE_CLIENT` is set
//! (as `.ci/run` does), when their absence is a failure.

use std::{path::PathBuf, process::Stdio, time::Duration};

use api::{auth::Role, auth::TokenType, services::users};
use serde_json::Value;
use tests::{Backend, TestApp};

const NOTEBOOK: &str = "nb-reference-client";

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Why the client cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("`node` is not on PATH".to_owned());
    }
    if !client_dir().join("node_modules/graphql-ws").is_dir() {
        return Some("run `npm ci --prefix tests/node` first".to_owned());
    }
    None
}

/// Whether the clients can run; says why not, and fails when `REQUIRE_NODE_CLIENT` is set.
fn clients_can_run() -> bool {
    let Some(reason) = missing_prerequisite() else {
        return true;
    };
    assert!(
        std::env::var_os("REQUIRE_NODE_CLIENT").is_none(),
        "REQUIRE_NODE_CLIENT is set but {reason}"
    );
    println!("skipped: the reference clients cannot run: {reason}");
    false
}

/// Runs `script` with `envs`; its one line of JSON output.
async fn run_node(script: &str, envs: &[(&str, String)]) -> Value {
    let mut command = tokio::process::Command::new("node");
    command.arg(client_dir().join(script)).kill_on_drop(true);
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the client finished within a minute")
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).expect("one JSON line")
}

#[tokio::test]
async fn the_graphql_ws_client_subscribes_receives_and_reconnects_after_4403() {
    if !clients_can_run() {
        return;
    }
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.refresh_throttle_ms = 200).await;
    app.register_notebook(NOTEBOOK).await;
    app.create_user("node-teacher", "node-teacher-password", Role::User)
        .await;
    app.authorize("node-teacher", NOTEBOOK).await;
    let teacher = users::get_by_username_hash(&app.state.db, &app.pseudonym("node-teacher"))
        .await
        .expect("teacher");
    // Expired 3 s ago, inside the 5 s clock leeway: accepted for about two more seconds.
    let expires_at = chrono::Utc::now() - chrono::Duration::seconds(3);
    let short_token = app
        .state
        .accounts
        .jwt
        .issue_expiring_at(teacher.id, TokenType::Access, expires_at)
        .expect("token")
        .token;

    let summary = run_node(
        "reference-client.mjs",
        &[
            ("SERVER_URL", app.url("")),
            ("NOTEBOOK_ID", NOTEBOOK.to_owned()),
            ("TEACHER_USERNAME", "node-teacher".to_owned()),
            ("TEACHER_PASSWORD", "node-teacher-password".to_owned()),
            ("TEACHER_SHORT_TOKEN", short_token),
        ],
    )
    .await;

    assert_eq!(
        summary["studentConnectedUser"],
        app.pseudonym("node-student"),
        "{summary}"
    );
    let update = &summary["receivedUpdate"];
    assert_eq!(update["updateId"], summary["pushedUpdateId"], "{summary}");
    assert_eq!(update["hint"], "from node");
    assert_eq!(update["cells"][0]["source"], "print(42)");
    assert_eq!(summary["teacherCloseCodes"][0], 4403, "{summary}");
    assert_eq!(summary["teacherConnections"], 2, "{summary}");
    assert_eq!(summary["refreshAfterReconnect"], NOTEBOOK);
}

#[tokio::test]
async fn the_extensions_socket_io_client_is_served_like_the_old_server() {
    if !clients_can_run() {
        return;
    }
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.refresh_throttle_ms = 200).await;
    app.register_notebook(NOTEBOOK).await;
    let token = app.user_token("node-teacher", Role::User).await;
    app.authorize("node-teacher", NOTEBOOK).await;
    let summary = run_node(
        "socketio-client.mjs",
        &[
            ("SERVER_URL", app.url("")),
            ("NOTEBOOK_ID", NOTEBOOK.to_owned()),
            ("TEACHER_TOKEN", token),
        ],
    )
    .await;
    let received = &summary["received"];
    assert_eq!(
        received["push"]["update_id"], summary["pushedUpdateId"],
        "{summary}"
    );
    assert_eq!(received["push"]["action"], "update_cell");
    assert_eq!(received["push"]["content"]["source"], "print(1)");
    assert_eq!(received["push"]["hint"], "node");
    assert_eq!(received["sender"], app.pseudonym("node-teacher"));
    assert_eq!(received["senderType"], "teacher");
    assert_eq!(summary["refreshed"], true);
    assert_eq!(summary["located"], serde_json::json!({ "status": "ok" }));
    assert_eq!(
        summary["tokenlessPush"]["error"]["code"], "FORBIDDEN",
        "{summary}"
    );
    // The location it sent is kept in the presence store for its teammates.
    let student = app.pseudonym("node-student");
    let locations = app
        .state
        .presence
        .locations(NOTEBOOK, std::slice::from_ref(&student))
        .await
        .expect("locations");
    assert_eq!(
        locations.get(&student).map(|l| l.cell_id.as_str()),
        Some("c1")
    );
}

#[tokio::test]
async fn the_graphql_http_audit_finds_no_error_and_only_the_listed_warnings() {
    if !clients_can_run() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let summary = run_node("graphql-http-audit.mjs", &[("SERVER_URL", app.url(""))]).await;
    let not_passed = summary["notPassed"].as_array().expect("audit results");
    let errors: Vec<&Value> = not_passed
        .iter()
        .filter(|a| a["status"] == "error")
        .collect();
    assert!(errors.is_empty(), "audit errors: {errors:?}");
    // Every warning (a SHOULD not followed) is listed, with its reason, in the README.
    let warnings: Vec<&str> = not_passed
        .iter()
        .filter(|a| a["status"] == "warn")
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(
        warnings.is_empty(),
        "unlisted audit warnings: {not_passed:?}"
    );
    assert!(summary["audits"].as_u64().unwrap_or(0) > 50, "{summary}");
}
