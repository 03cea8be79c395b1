//! The `/dashboard` page: served from the binary with a strict Content-Security-Policy, and,
//! in headless Chromium (`tests/node/dashboard-page.mjs`, playwright-core over Debian's
//! `chromium`), it logs in, opens a demo class and shows events ingested through the API
//! without a reload. Without Chromium or `npm ci --prefix tests/node` the browser test says it
//! is skipped, unless `REQUIRE_BROWSER` is set (as `.ci/run` does).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use api::{
    auth::Role,
    services::demo::{self, DemoClass},
};
use serde_json::{Value, json};
use tests::{Backend, TestApp, backend_tests};
use tokio::io::{AsyncBufReadExt, BufReader};

backend_tests! {
    async fn the_page_and_its_assets_are_served_with_a_self_only_policy(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.client.get(app.url("/dashboard")).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let header = |name: &str| page.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("content-type").as_deref(), Some("text/html; charset=utf-8"));
        let csp = header("content-security-policy").expect("a policy");
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains(&format!("ws://{}", app.addr)), "{csp}");
        assert!(!csp.contains("http:") && !csp.contains("https:") && !csp.contains("unsafe"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains("/dashboard/assets/dashboard.js"), "{html}");
        assert!(html.contains("/dashboard/assets/dashboard.css"));
        assert!(!html.contains("http://") && !html.contains("https://"), "nothing from another origin");

        for (file, content_type, marker) in [
            ("dashboard.js", "text/javascript; charset=utf-8", "notebookAnalytics"),
            ("dashboard.css", "text/css; charset=utf-8", ".chart"),
        ] {
            let asset = app.client.get(app.url(&format!("/dashboard/assets/{file}"))).send().await.unwrap();
            assert_eq!(asset.status().as_u16(), 200, "{file}");
            assert_eq!(asset.headers()["content-type"], content_type);
            assert!(asset.text().await.unwrap().contains(marker), "{file}");
        }
        let missing = app.client.get(app.url("/dashboard/assets/other.js")).send().await.unwrap();
        assert_eq!(missing.status().as_u16(), 404);
        // The old dashboard routes under /dashboard/{id}/… are untouched.
        let legacy = app.client.get(app.url("/dashboard/some-notebook/check")).send().await.unwrap();
        assert_eq!(legacy.status().as_u16(), 401);
    }
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite(chromium: &Path) -> Option<String> {
    if !chromium.exists() {
        return Some(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("`node` is not on PATH".to_owned());
    }
    if !node_dir().join("node_modules/playwright-core").is_dir() {
        return Some("run `npm ci --prefix tests/node` first".to_owned());
    }
    None
}

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// The target directory this test binary was built in (…/target/debug/deps/this).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf()
}

fn small_class() -> DemoClass {
    DemoClass {
        notebook_id: "demo-browser".into(),
        students: 20,
        cells: 8,
        events: 2_000,
        sessions: 1,
        end: chrono::Utc::now(),
        seed: 7,
    }
}

/// Three executions of the first cell by a new student, through the public API.
async fn ingest_executions(app: &TestApp, notebook: &str) {
    let now = chrono::Utc::now();
    let events: Vec<Value> = (0..3)
        .map(|n| {
            json!({ "codeExecution": {
                "notebookId": notebook, "userId": "browser-student", "cellId": "cell-001",
                "origCellId": "cell-001", "tStart": now - chrono::Duration::seconds(5 - n),
                "tFinish": now - chrono::Duration::seconds(4 - n), "status": "OK",
                "cellInput": "print(1)", "cellOutputModel": [], "cellOutputLength": 0,
                "languageMimetype": "text/x-python" } })
        })
        .collect();
    let response = app
        .graphql(
            "mutation($e: [EventInput!]!) { recordEvents(events: $e) { acceptedCount } }",
            json!({ "e": events }),
        )
        .await;
    assert_eq!(response.data()["recordEvents"]["acceptedCount"], 3);
}

#[tokio::test]
async fn in_chromium_the_page_logs_in_and_shows_new_events_without_a_reload() {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    if let Some(reason) = missing_prerequisite(&chromium) {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "REQUIRE_BROWSER is set but {reason}"
        );
        println!("skipped: the dashboard browser test cannot run: {reason}");
        return;
    }
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.refresh_throttle_ms = 200).await;
    let class = small_class();
    let state = &app.state;
    demo::load(&state.db, &state.storage, &state.pseudonyms, &class, |_| {})
        .await
        .expect("demo class");
    app.create_user("page-teacher", "page-teacher-password", Role::User)
        .await;
    app.authorize("page-teacher", &class.notebook_id).await;
    // A connected student, so the page has someone to list.
    let mut student = app.websocket(json!({})).await;
    student
        .subscribe(
            "s",
            "subscription($n: ID!) { studentSession(notebookId: $n, userId: \"browser-student\") {
                __typename ... on PushedUpdate { hint cells { cellId source } } ... on ChatMessage { text } } }",
            json!({ "n": class.notebook_id }),
        )
        .await;

    let screenshot = target_dir().join("dashboard-screenshot.png");
    let mut child = tokio::process::Command::new("node")
        .arg(node_dir().join("dashboard-page.mjs"))
        .env("SERVER_URL", app.url(""))
        .env("NOTEBOOK_ID", &class.notebook_id)
        .env("TEACHER_USERNAME", "page-teacher")
        .env("TEACHER_PASSWORD", "page-teacher-password")
        .env("SCREENSHOT", &screenshot)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next_line = async || -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the page answered within a minute")
            .expect("stdout readable")?;
        Some(serde_json::from_str(&line).expect("a JSON line"))
    };

    let ready = next_line().await;
    if let Some(ready) = &ready {
        assert_eq!(ready["phase"], "ready", "{ready}");
        assert!(ready["executions"].as_u64().unwrap_or(0) > 0, "{ready}");
        ingest_executions(&app, &class.notebook_id).await;
    }
    let done = next_line().await;
    let output = child.wait_with_output().await.expect("node finished");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the page failed: {stderr}");
    let (ready, done) = (ready.expect("ready line"), done.expect("done line"));
    assert_eq!(
        done["after"].as_u64(),
        ready["executions"].as_u64().map(|n| n + 3),
        "{done}"
    );
    assert_eq!(done["sameDocument"], true, "no reload: {done}");
    assert_eq!(done["connected"], 1, "{done}");
    assert_eq!(done["tocRows"], 8, "{done}");
    assert!(
        done["url"]
            .as_str()
            .unwrap_or("")
            .contains("notebook=demo-browser"),
        "{done}"
    );
    assert_eq!(done["problems"], json!([]), "{done}");
    let operations = done["operations"].as_array().expect("operations");
    for operation in [
        "Login",
        "Me",
        "Notebook",
        "Analytics",
        "Session",
        "Push",
        "Chat",
    ] {
        assert!(
            operations.contains(&json!(operation)),
            "{operation}: {done}"
        );
    }
    assert!(
        done["largeUrl"].as_str().unwrap_or("").contains("large=1"),
        "{done}"
    );
    assert!(
        screenshot.exists(),
        "screenshot at {}",
        screenshot.display()
    );

    // What the student received from the page: the whole notebook, then the chat message.
    let pushed = student.receive().await;
    let update = &pushed["payload"]["data"]["studentSession"];
    assert_eq!(update["hint"], "from the browser test", "{pushed}");
    let cells = update["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 8, "{pushed}");
    assert_eq!(cells[0]["cellId"], "cell-001");
    assert!(
        !cells[1]["source"].as_str().unwrap_or("").is_empty(),
        "{pushed}"
    );
    let chat = student.receive().await;
    assert_eq!(
        chat["payload"]["data"]["studentSession"]["text"], "hello from the page",
        "{chat}"
    );
    println!("screenshot: {}", screenshot.display());
}
