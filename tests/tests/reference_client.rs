//! The reference client: `tests/node/reference-client.mjs` (graphql-ws and ws, pinned in
//! `tests/node/package.json`) against a real server. It needs Node and `npm ci --prefix
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

#[tokio::test]
async fn the_graphql_ws_client_subscribes_receives_and_reconnects_after_4403() {
    if let Some(reason) = missing_prerequisite() {
        assert!(
            std::env::var_os("REQUIRE_NODE_CLIENT").is_none(),
            "REQUIRE_NODE_CLIENT is set but {reason}"
        );
        println!("skipped: the reference client cannot run: {reason}");
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
        .jwt
        .issue_expiring_at(teacher.id, TokenType::Access, expires_at)
        .expect("token")
        .token;

    let run = tokio::process::Command::new("node")
        .arg(client_dir().join("reference-client.mjs"))
        .env("SERVER_URL", app.url(""))
        .env("NOTEBOOK_ID", NOTEBOOK)
        .env("TEACHER_USERNAME", "node-teacher")
        .env("TEACHER_PASSWORD", "node-teacher-password")
        .env("TEACHER_SHORT_TOKEN", short_token)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the client finished within a minute")
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "client failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");

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
