//! The old extensions' Socket.IO channel over the same live services as GraphQL, with a
//! Socket.IO client speaking as the extensions do: a student socket is presence (seen in
//! `connectedStudents`), receives GraphQL pushes, sends locations that reach GraphQL teammates;
//! a tokenless teacher gets refresh signals only; a trusted one pushes with the old per-student
//! messages and `OVERRIDE`s are recorded once; refusals carry the old messages.

use std::time::Duration;

use api::{auth::Role, broker::presence::PresenceRole};
use entity::{enums::PendingUpdateAction, pending_update_interaction, pushed_update};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Backend, SioClient, TestApp, WsClient, backend_tests};

const NOTEBOOK: &str = "nb-sio";

async fn ready_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn_with(backend, |c| c.limits.refresh_throttle_ms = 200).await;
    app.register_notebook(NOTEBOOK).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NOTEBOOK).await;
    (app, token)
}

async fn student(app: &TestApp, raw: &str) -> SioClient {
    let query = format!("conType=STUDENT&nbId={NOTEBOOK}&userId={raw}");
    let socket = SioClient::connect(app.addr, &query, None)
        .await
        .expect("student connects");
    wait_presence(app, PresenceRole::Student, &app.pseudonym(raw), true).await;
    socket
}

async fn teacher(app: &TestApp, auth: Option<Value>) -> SioClient {
    let query = format!("conType=TEACHER&nbId={NOTEBOOK}&userId=teacher");
    SioClient::connect(app.addr, &query, auth)
        .await
        .expect("teacher connects")
}

async fn wait_presence(app: &TestApp, role: PresenceRole, user: &str, connected: bool) {
    for _ in 0..250 {
        let users = app.state.presence.connected(NOTEBOOK, role).await.unwrap();
        if users.iter().any(|u| u == user) == connected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{user} never became connected = {connected}");
}

async fn connected_students(app: &TestApp, token: &str) -> Value {
    let query = "query($nb: ID!) { notebook(id: $nb) { connectedStudents } }";
    let response = app
        .graphql_as(token, query, json!({ "nb": NOTEBOOK }))
        .await;
    response.data()["notebook"]["connectedStudents"].clone()
}

/// The push carried by an old-style `chat` payload (JSON in its message text).
fn pushed(payload: &Value) -> Value {
    let text = payload["message"].as_str().expect("message text");
    serde_json::from_str(text).expect("a JSON push")
}

backend_tests! {
    async fn a_student_socket_is_presence_and_receives_a_graphql_push(backend) {
        let (app, token) = ready_app(backend).await;
        let mut alice = student(&app, "alice").await;
        assert_eq!(connected_students(&app, &token).await, json!([app.pseudonym("alice")]));

        let push = r#"mutation($nb: ID!) { pushUpdate(notebookId: $nb, hint: "look",
            cells: [{ cellId: "c1", cellType: "code", source: "x = 1" }]) { updateId } }"#;
        let response = app.graphql_as(&token, push, json!({ "nb": NOTEBOOK })).await;
        let update_id = response.data()["pushUpdate"]["updateId"].clone();
        let chat = alice.event_named("chat").await;
        assert_eq!((chat["sender"].as_str(), chat["sender_type"].as_str()),
            (Some(app.pseudonym("teacher").as_str()), Some("teacher")));
        let message = pushed(&chat);
        assert_eq!(message["action"], "update_cell");
        assert_eq!(message["update_id"], update_id);
        assert_eq!(message["hint"], "look");
        assert_eq!(message["content"]["id"], "c1");
        assert_eq!(message["content"]["source"], "x = 1");

        alice.close().await;
        wait_presence(&app, PresenceRole::Student, &app.pseudonym("alice"), false).await;
        assert_eq!(connected_students(&app, &token).await, json!([]));
    }

    async fn a_trusted_teacher_pushes_with_per_student_messages_and_overrides_are_recorded_once(backend) {
        let (app, token) = ready_app(backend).await;
        let (alice, bob) = (app.pseudonym("alice"), app.pseudonym("bob"));
        for user in ["alice", "bob"] {
            let later = json!({ "notebookId": NOTEBOOK, "userId": user, "cellId": "c1",
                "updateId": "u-old", "action": "UPDATE_LATER", "time": "2026-11-24T09:00:00Z" });
            let record = "mutation($e: PendingUpdateInteractionInput!) { recordPendingUpdateInteraction(event: $e) { acceptedCount } }";
            app.graphql(record, json!({ "e": later })).await.data();
        }
        let mut alice_socket = student(&app, "alice").await;
        let mut bob_socket = student(&app, "bob").await;
        let mut dashboard = teacher(&app, Some(json!({ "token": token }))).await;
        wait_presence(&app, PresenceRole::Teacher, &app.pseudonym("teacher"), true).await;

        // The old dashboard: one `send_message` per connected student, one update id.
        let message = json!({ "content": { "id": "c1", "cell_type": "code", "source": "y = 2" },
            "action": "update_cell", "update_id": "u-new" }).to_string();
        for to in [&alice, &bob] {
            let ack = dashboard.emit_with_ack("send_message", json!({ "userId": to, "message": message })).await;
            assert_eq!(ack, json!({ "status": "ok" }));
        }
        for socket in [&mut alice_socket, &mut bob_socket] {
            let received = pushed(&socket.event_named("chat").await);
            assert_eq!((received["update_id"].as_str(), received["content"]["source"].as_str()), (Some("u-new"), Some("y = 2")));
        }
        let overrides = pending_update_interaction::Entity::find()
            .filter(pending_update_interaction::Column::Action.eq(PendingUpdateAction::Override))
            .all(&app.state.db).await.unwrap();
        let mut overridden: Vec<_> = overrides.iter().map(|row| row.user_id.clone()).collect();
        overridden.sort();
        let mut expected = vec![alice.clone(), bob.clone()];
        expected.sort();
        assert_eq!(overridden, expected, "one OVERRIDE per student: {overrides:?}");
        assert!(overrides.iter().all(|row| row.update_id.as_deref() == Some("u-old")));
        let pushes = pushed_update::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(pushes.len(), 1, "the push is recorded once: {pushes:?}");
        assert_eq!(pushes[0].update_id, "u-new");

        // Plain text is chat, which telemetry 5.1.1 cannot show (it reads every `chat` as a
        // cell update): refused to a student connected only through it, with a code the
        // teacher sees, and nothing reaches the student.
        let ack = dashboard.emit_with_ack("send_message", json!({ "userId": alice, "message": "well done" })).await;
        assert_eq!(ack["error"]["code"], "CONFLICT", "{ack}");
        let chat = r#"mutation($nb: ID!, $to: String!) { sendChatMessageToStudent(notebookId: $nb, student: $to, text: "hi") { text } }"#;
        let refused = app.graphql_as(&token, chat, json!({ "nb": NOTEBOOK, "to": alice })).await;
        assert_eq!(refused.error_code(), "CONFLICT");
        // A hint is text: the extension pastes it into the page as HTML, so it arrives escaped.
        let push = r#"mutation($nb: ID!, $to: [String!]) { pushUpdate(notebookId: $nb, toStudents: $to,
            hint: "<img src=x onerror=alert(1)>", cells: [{ cellId: "c2", cellType: "code", source: "z" }]) { updateId } }"#;
        app.graphql_as(&token, push, json!({ "nb": NOTEBOOK, "to": [alice] })).await.data();
        let received = pushed(&alice_socket.event_named("chat").await);
        assert_eq!(received["hint"], "&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(received["content"]["source"], "z", "the first chat event after the refusals is the push");
    }

    async fn a_tokenless_teacher_gets_refresh_signals_but_cannot_push_or_chat(backend) {
        let (app, _token) = ready_app(backend).await;
        let mut alice = student(&app, "alice").await;
        let mut dashboard = teacher(&app, None).await;
        // Not a connected teacher: only trusted teachers count.
        let teachers = app.state.presence.connected(NOTEBOOK, PresenceRole::Teacher).await.unwrap();
        assert!(teachers.is_empty(), "{teachers:?}");

        let event = json!({ "notebookId": NOTEBOOK, "userId": "alice", "cellId": "c1", "origCellId": "c1",
            "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
        let focus = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
        app.graphql(focus, json!({ "e": event })).await.data();
        assert_eq!(dashboard.event().await, ("refreshDashboard".to_owned(), Value::Null));

        let message = json!({ "content": { "id": "c1", "source": "rm -rf" }, "action": "update_cell",
            "update_id": "u-evil" }).to_string();
        for message in [message, "hello".to_owned()] {
            let ack = dashboard.emit_with_ack("send_message",
                json!({ "userId": app.pseudonym("alice"), "message": message })).await;
            assert_eq!(ack["error"]["code"], "FORBIDDEN", "{ack}");
        }
        alice.assert_quiet(Duration::from_millis(300)).await;
        assert!(pushed_update::Entity::find().all(&app.state.db).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_student_location_and_share_reach_graphql_teammates_only() {
    let (app, token) = ready_app(Backend::Sqlite).await;
    let create = r#"mutation($nb: ID!, $name: String!, $users: [String!]!) {
        createGroup(notebookId: $nb, name: $name, userIds: $users) { id } }"#;
    for (name, users) in [("A", json!(["alice", "bob"])), ("B", json!(["carol"]))] {
        let variables = json!({ "nb": NOTEBOOK, "name": name, "users": users });
        app.graphql_as(&token, create, variables).await.data();
    }
    let session = r#"subscription($nb: ID!, $user: String!) { studentSession(notebookId: $nb, userId: $user) {
        __typename ... on TeammateLocationUpdated { user cellId cellIndex }
        ... on PushedUpdate { updateId sender senderType cells { cellId source } } } }"#;
    let mut bob = WsClient::connect(app.addr, json!({})).await;
    bob.subscribe("s", session, json!({ "nb": NOTEBOOK, "user": "bob" }))
        .await;
    wait_presence(&app, PresenceRole::Student, &app.pseudonym("bob"), true).await;
    let mut alice = student(&app, "alice").await;
    // Bob hears alice connect (he subscribed first), then her location.
    let connected = bob.receive().await;
    assert_eq!(
        connected["payload"]["data"]["studentSession"]["__typename"],
        "TeammateConnected"
    );

    let ack = alice
        .emit_with_ack("update_location", json!({ "cellId": "c3", "cellIndex": 2 }))
        .await;
    assert_eq!(ack, json!({ "status": "ok" }));
    let location = bob.receive().await["payload"]["data"]["studentSession"].clone();
    assert_eq!(
        location,
        json!({ "__typename": "TeammateLocationUpdated",
        "user": app.pseudonym("alice"), "cellId": "c3", "cellIndex": 2 })
    );

    let share = json!({ "content": { "id": "c3", "cell_type": "code", "source": "z = 3" },
        "action": "update_cell", "update_id": "share-1" })
    .to_string();
    let ack = alice
        .emit_with_ack(
            "group_message",
            json!({ "userId": app.pseudonym("bob"), "message": share }),
        )
        .await;
    assert_eq!(ack, json!({ "status": "ok" }));
    let update = bob.receive().await["payload"]["data"]["studentSession"].clone();
    assert_eq!(
        (update["updateId"].as_str(), update["senderType"].as_str()),
        (Some("share-1"), Some("teammate"))
    );
    assert_eq!(update["sender"], app.pseudonym("alice"));
    // Carol is not her teammate: refused.
    let ack = alice
        .emit_with_ack(
            "group_message",
            json!({ "userId": app.pseudonym("carol"), "message": share }),
        )
        .await;
    assert_eq!(ack["error"]["code"], "FORBIDDEN", "{ack}");
}

#[tokio::test]
async fn connections_are_refused_with_the_old_messages() {
    let (app, token) = ready_app(Backend::Sqlite).await;
    let refused = |query: String, auth: Option<Value>| async move {
        match SioClient::connect(app.addr, &query, auth).await {
            Err(message) => message,
            Ok(_) => panic!("{query} was accepted"),
        }
    };
    assert_eq!(
        refused(format!("conType=STUDENT&nbId={NOTEBOOK}"), None).await,
        "Missing required identifiers"
    );
    assert_eq!(
        refused("conType=STUDENT&nbId=nope&userId=a".into(), None).await,
        "Notebook not registered"
    );
    assert_eq!(
        refused(format!("conType=ADMIN&nbId={NOTEBOOK}&userId=a"), None).await,
        "Invalid connection type"
    );
    let teacher = format!("conType=TEACHER&nbId={NOTEBOOK}&userId=t");
    assert_eq!(
        refused(teacher.clone(), Some(json!({ "token": "forged" }))).await,
        "Forbidden"
    );
    assert_eq!(
        refused(format!("{teacher}&token=forged"), None).await,
        "Forbidden"
    );
    // A valid token for another notebook's teacher is refused too.
    let other = app.user_token("other-teacher", Role::User).await;
    assert_eq!(
        refused(teacher.clone(), Some(json!({ "token": other }))).await,
        "Forbidden"
    );
    let ok = SioClient::connect(app.addr, &format!("{teacher}&token={token}"), None).await;
    assert!(ok.is_ok());
}
