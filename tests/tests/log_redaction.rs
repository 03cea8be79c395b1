//! No raw student id, username, password or token reaches the logs: a whole class's worth of
//! flows (logins right and wrong, GraphQL and REST ingest, a websocket session, a Socket.IO
//! student, the old group lookups with raw ids in their URLs, bearer tokens) run with the
//! server's logs at their most verbose, captured as JSON, and searched.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use api::auth::Role;
use serde_json::json;
use tests::{Backend, SioClient, TestApp};
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

const NOTEBOOK: &str = "nb-redaction";
const RAW_STUDENT: &str = "raw-student-id-4711";
const USERNAME: &str = "raw-teacher-name-0815";
const PASSWORD: &str = "raw-password-9999";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_raw_id_username_password_or_token_reaches_the_logs() {
    let captured = Captured::default();
    // The server's own crates at their most verbose (the test's HTTP client is left out: it
    // is not the server).
    let filter = EnvFilter::new(
        "api=trace,tower_http=trace,axum=trace,async_graphql=trace,sqlx=debug,sea_orm=debug",
    );
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let app = TestApp::spawn(Backend::Sqlite).await;
    app.register_notebook(NOTEBOOK).await;
    app.create_user(USERNAME, PASSWORD, Role::User).await;
    app.authorize(USERNAME, NOTEBOOK).await;
    let login = r#"mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }"#;
    let wrong = app
        .graphql(login, json!({ "u": USERNAME, "p": "not-the-password" }))
        .await;
    assert_eq!(wrong.error_code(), "UNAUTHENTICATED");
    let session = app
        .graphql(login, json!({ "u": USERNAME, "p": PASSWORD }))
        .await;
    let access = session.data()["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = session.data()["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_login = app
        .client
        .post(app.url("/jwt/login"))
        .json(&json!({ "username": USERNAME, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(old_login.status(), 200);

    let event = json!({ "notebookId": NOTEBOOK, "userId": RAW_STUDENT, "cellId": "c1",
        "origCellId": "c1", "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
    let focus = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
    app.graphql_as(&access, focus, json!({ "e": event }))
        .await
        .data();
    let old_event = json!({ "notebook_id": NOTEBOOK, "user_id": RAW_STUDENT, "cell_id": "c1",
        "orig_cell_id": "c1", "click_type": "ON", "time": "2026-11-24T10:00:00.000Z", "click_duration": null });
    let sent = app
        .client
        .post(app.url("/send/clickevent/cell"))
        .json(&old_event)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let bad = app
        .graphql(focus, json!({ "e": { "userId": RAW_STUDENT } }))
        .await;
    assert!(!bad.errors().is_empty());

    let mut socket = app.websocket(json!({ "token": access })).await;
    let subscription = r#"subscription($nb: ID!, $u: String!) { studentSession(notebookId: $nb, userId: $u) { __typename } }"#;
    socket
        .subscribe(
            "s",
            subscription,
            json!({ "nb": NOTEBOOK, "u": RAW_STUDENT }),
        )
        .await;
    let student_query = format!("conType=STUDENT&nbId={NOTEBOOK}&userId={RAW_STUDENT}");
    let student = SioClient::connect(app.addr, &student_query, None)
        .await
        .unwrap();
    for path in [
        format!("/groups/users/{RAW_STUDENT}/teammates/connected?notebookId={NOTEBOOK}"),
        format!("/groups/location/teammates?userId={RAW_STUDENT}&notebookId={NOTEBOOK}"),
        format!("/groups/users/{RAW_STUDENT}/no-such-route"),
    ] {
        app.client.get(app.url(&path)).send().await.unwrap();
    }
    let me = app.graphql_as(&access, "{ me { role } }", json!({})).await;
    me.data();
    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
    app.graphql(logout, json!({ "t": refresh })).await.data();
    student.close().await;
    drop(socket);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // A refused login and a Socket.IO connection are logged (by pseudonym and outcome).
    assert!(logs.contains("\"outcome\":\"wrong password\""), "{logs}");
    assert!(logs.contains("socket.io connection"), "{logs}");
    // The capture works: the requests above are in it.
    assert!(
        logs.contains("\"route\":\"/groups/users/{user}/teammates/connected\""),
        "{logs}"
    );
    for secret in [RAW_STUDENT, USERNAME, PASSWORD, &access, &refresh] {
        assert!(!logs.contains(secret), "{secret} reached the logs");
    }
}
