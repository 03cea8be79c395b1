//! Live features over real websockets: presence (two tabs), teachers told of students coming
//! and going and of new events, pushed updates fanned out (to all or to some), `OVERRIDE`
//! rows recorded exactly once, group-scoped teammate events and locations, chat, and the
//! guards of the teacher's side.

use std::time::Duration;

use api::{auth::Role, broker::presence::PresenceRole};
use entity::{enums::PendingUpdateAction, pending_update_interaction, pushed_update};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Backend, TestApp, WsClient, backend_tests};

const NOTEBOOK: &str = "nb-live";

const STUDENT_SESSION: &str = r#"subscription($nb: ID!, $user: String!) {
    studentSession(notebookId: $nb, userId: $user) {
        __typename
        ... on PushedUpdate { updateId hint sender senderType cells { cellId cellType source } }
        ... on ChatMessage { from toStudent text }
        ... on TeammateConnected { user }
        ... on TeammateDisconnected { user }
        ... on TeammateLocationUpdated { user cellId cellIndex }
        ... on TeammateLocationCleared { user } } }"#;
const DASHBOARD_SESSION: &str = r#"subscription($nb: ID!) {
    dashboardSession(notebookId: $nb) {
        __typename
        ... on RefreshRequested { notebookId }
        ... on StudentConnected { user }
        ... on StudentDisconnected { user }
        ... on ChatMessage { from text } } }"#;
const PUSH: &str = r#"mutation($nb: ID!, $to: [String!], $cell: String!) {
    pushUpdate(notebookId: $nb, toStudents: $to, hint: "look",
        cells: [{ cellId: $cell, cellType: "code", source: "x = 1" }]) { updateId } }"#;

async fn ready_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn_with(backend, |config| config.limits.refresh_throttle_ms = 200).await;
    app.register_notebook(NOTEBOOK).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NOTEBOOK).await;
    (app, token)
}

/// Waits until `user` (a pseudonym) is connected: the session has subscribed its topics by then.
async fn wait_connected(app: &TestApp, role: PresenceRole, user: &str, connected: bool) {
    for _ in 0..200 {
        let users = app.state.presence.connected(NOTEBOOK, role).await.unwrap();
        if users.iter().any(|u| u == user) == connected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{user} never became connected = {connected}");
}

async fn student_socket(app: &TestApp, raw: &str) -> WsClient {
    let mut socket = app.websocket(json!({})).await;
    socket
        .subscribe("s", STUDENT_SESSION, json!({ "nb": NOTEBOOK, "user": raw }))
        .await;
    wait_connected(app, PresenceRole::Student, &app.pseudonym(raw), true).await;
    socket
}

async fn teacher_socket(app: &TestApp, token: &str) -> WsClient {
    let mut socket = app
        .websocket(json!({ "authorization": format!("Bearer {token}") }))
        .await;
    socket
        .subscribe("d", DASHBOARD_SESSION, json!({ "nb": NOTEBOOK }))
        .await;
    wait_connected(app, PresenceRole::Teacher, &app.pseudonym("teacher"), true).await;
    socket
}

/// The payload of the next `next` message of a session.
async fn next_event(socket: &mut WsClient, field: &str) -> Value {
    let message = socket.receive().await;
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"][field].clone()
}

async fn create_group(app: &TestApp, token: &str, name: &str, users: &[&str]) {
    let mutation = r#"mutation($nb: ID!, $name: String!, $users: [String!]!) {
        createGroup(notebookId: $nb, name: $name, userIds: $users) { id } }"#;
    let variables = json!({ "nb": NOTEBOOK, "name": name, "users": users });
    app.graphql_as(token, mutation, variables).await.data();
}

backend_tests! {
    async fn a_student_with_two_tabs_stays_connected_until_both_close(backend) {
        let (app, token) = ready_app(backend).await;
        let mut dashboard = teacher_socket(&app, &token).await;
        let alice = app.pseudonym("alice");
        let first = student_socket(&app, "alice").await;
        let second = student_socket(&app, "alice").await;
        let event = next_event(&mut dashboard, "dashboardSession").await;
        assert_eq!(event, json!({ "__typename": "StudentConnected", "user": alice }));
        let listed = app.state.presence.connected(NOTEBOOK, PresenceRole::Student).await.unwrap();
        assert_eq!(listed, vec![alice.clone()]);
        drop(first);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listed = app.state.presence.connected(NOTEBOOK, PresenceRole::Student).await.unwrap();
        assert_eq!(listed, vec![alice.clone()], "one tab is still open");
        drop(second);
        wait_connected(&app, PresenceRole::Student, &alice, false).await;
        // Announced once for the first tab, once for the last: the next event is the departure.
        let event = next_event(&mut dashboard, "dashboardSession").await;
        assert_eq!(event, json!({ "__typename": "StudentDisconnected", "user": alice }));
    }

    async fn teachers_are_told_to_refresh_after_new_events(backend) {
        let (app, token) = ready_app(backend).await;
        let mut dashboard = teacher_socket(&app, &token).await;
        let event = json!({ "notebookId": NOTEBOOK, "userId": "alice", "cellId": "c", "origCellId": "c",
            "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
        let mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
        app.graphql(mutation, json!({ "e": event })).await.data();
        let event = next_event(&mut dashboard, "dashboardSession").await;
        assert_eq!(event, json!({ "__typename": "RefreshRequested", "notebookId": NOTEBOOK }));
    }

    async fn a_push_reaches_every_connected_student_or_only_those_named(backend) {
        let (app, token) = ready_app(backend).await;
        let mut alice = student_socket(&app, "alice").await;
        let mut bob = student_socket(&app, "bob").await;
        let to_bob = json!({ "nb": NOTEBOOK, "to": [app.pseudonym("bob")], "cell": "c1" });
        let only_bob = app.graphql_as(&token, PUSH, to_bob).await;
        let only_bob_id = only_bob.data()["pushUpdate"]["updateId"].clone();
        let to_all = app.graphql_as(&token, PUSH, json!({ "nb": NOTEBOOK, "cell": "c2" })).await;
        let to_all_id = to_all.data()["pushUpdate"]["updateId"].clone();

        let first_for_bob = next_event(&mut bob, "studentSession").await;
        assert_eq!(first_for_bob["updateId"], only_bob_id);
        assert_eq!(first_for_bob["cells"], json!([{ "cellId": "c1", "cellType": "code", "source": "x = 1" }]));
        assert_eq!(first_for_bob["sender"], app.pseudonym("teacher").as_str());
        assert_eq!((first_for_bob["senderType"].as_str(), first_for_bob["hint"].as_str()), (Some("teacher"), Some("look")));
        assert_eq!(next_event(&mut bob, "studentSession").await["updateId"], to_all_id);
        // Alice's first message is the push to all: the one for bob never reached her.
        assert_eq!(next_event(&mut alice, "studentSession").await["updateId"], to_all_id);
    }

    async fn a_push_records_one_override_per_postponed_update_however_many_pushes_race(backend) {
        let (app, token) = ready_app(backend).await;
        let alice = app.pseudonym("alice");
        let later = json!({ "notebookId": NOTEBOOK, "userId": "alice", "cellId": "c1", "updateId": "u-old",
            "action": "UPDATE_LATER", "time": "2026-11-24T09:00:00Z" });
        let record = "mutation($e: PendingUpdateInteractionInput!) { recordPendingUpdateInteraction(event: $e) { acceptedCount } }";
        app.graphql(record, json!({ "e": later })).await.data();
        let to_alice = json!({ "nb": NOTEBOOK, "to": [alice], "cell": "c1" });
        let pushes = (0..5).map(|_| app.graphql_as(&token, PUSH, to_alice.clone()));
        for response in futures::future::join_all(pushes).await {
            response.data();
        }
        // A push of another cell overrides nothing.
        app.graphql_as(&token, PUSH, json!({ "nb": NOTEBOOK, "to": [alice], "cell": "c2" })).await.data();
        let overrides = pending_update_interaction::Entity::find()
            .filter(pending_update_interaction::Column::Action.eq(PendingUpdateAction::Override))
            .all(&app.state.db).await.unwrap();
        assert_eq!(overrides.len(), 1, "{overrides:?}");
        let row = &overrides[0];
        assert_eq!((row.user_id.as_str(), row.cell_id.as_deref(), row.update_id.as_deref()), (alice.as_str(), Some("c1"), Some("u-old")));
        assert_eq!(row.sender.as_deref(), Some(app.pseudonym("teacher").as_str()));
        // Every push is recorded with its own time, one row per cell.
        let pushes = pushed_update::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(pushes.len(), 6);
        assert_eq!(pushes.iter().filter(|push| push.cell_id == "c1").count(), 5);
    }

    async fn teammate_events_and_locations_reach_only_members_of_the_same_groups(backend) {
        let (app, token) = ready_app(backend).await;
        create_group(&app, &token, "A", &["alice", "bob"]).await;
        create_group(&app, &token, "B", &["carol", "dave"]).await;
        let mut bob = student_socket(&app, "bob").await;
        let mut carol = student_socket(&app, "carol").await;
        let alice_socket = student_socket(&app, "alice").await;
        let alice = app.pseudonym("alice");
        assert_eq!(next_event(&mut bob, "studentSession").await, json!({ "__typename": "TeammateConnected", "user": alice }));
        let location = r#"mutation($nb: ID!) { updateLocation(notebookId: $nb, userId: "alice", cellId: "c3", cellIndex: 3) }"#;
        app.graphql(location, json!({ "nb": NOTEBOOK })).await.data();
        assert_eq!(next_event(&mut bob, "studentSession").await,
            json!({ "__typename": "TeammateLocationUpdated", "user": alice, "cellId": "c3", "cellIndex": 3 }));
        let query = r#"query($nb: ID!) { myConnectedTeammates(notebookId: $nb, userId: "bob")
            myTeammateLocations(notebookId: $nb, userId: "bob") { user cellId cellIndex } }"#;
        let data = app.graphql(query, json!({ "nb": NOTEBOOK })).await;
        assert_eq!(data.data()["myConnectedTeammates"], json!([alice]));
        assert_eq!(data.data()["myTeammateLocations"], json!([{ "user": alice, "cellId": "c3", "cellIndex": 3 }]));
        drop(alice_socket);
        assert_eq!(next_event(&mut bob, "studentSession").await, json!({ "__typename": "TeammateDisconnected", "user": alice }));
        // Carol, in another group, heard none of it: her first message is the teacher's chat.
        let chat = r#"mutation($nb: ID!, $to: String!) { sendChatMessageToStudent(notebookId: $nb, student: $to, text: "hi") { text } }"#;
        app.graphql_as(&token, chat, json!({ "nb": NOTEBOOK, "to": app.pseudonym("carol") })).await.data();
        let message = next_event(&mut carol, "studentSession").await;
        assert_eq!(message["__typename"], "ChatMessage");
        assert_eq!((message["text"].as_str(), message["toStudent"].as_str()), (Some("hi"), Some(app.pseudonym("carol").as_str())));
    }

    async fn students_chat_reaches_teachers_and_stranger_teachers_cannot_subscribe(backend) {
        let (app, token) = ready_app(backend).await;
        let mut dashboard = teacher_socket(&app, &token).await;
        let chat = r#"mutation($nb: ID!) { sendChatMessageToTeachers(notebookId: $nb, userId: "alice", text: "help") { from } }"#;
        app.graphql(chat, json!({ "nb": NOTEBOOK })).await.data();
        let event = next_event(&mut dashboard, "dashboardSession").await;
        assert_eq!(event, json!({ "__typename": "ChatMessage", "from": app.pseudonym("alice"), "text": "help" }));

        let stranger = app.user_token("stranger", Role::User).await;
        let mut socket = app.websocket(json!({ "authorization": format!("Bearer {stranger}") })).await;
        socket.subscribe("d", DASHBOARD_SESSION, json!({ "nb": NOTEBOOK })).await;
        let refused = socket.receive().await;
        let errors = if refused["type"] == "error" { refused["payload"].clone() } else { refused["payload"]["errors"].clone() };
        assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{refused}");
        let push = app.graphql_as(&stranger, PUSH, json!({ "nb": NOTEBOOK, "cell": "c1" })).await;
        assert_eq!(push.error_code(), "FORBIDDEN");
        let anonymous = app.graphql(PUSH, json!({ "nb": NOTEBOOK, "cell": "c1" })).await;
        assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
        let mut student = app.websocket(json!({})).await;
        student.subscribe("s", STUDENT_SESSION, json!({ "nb": "nb-unknown", "user": "alice" })).await;
        let refused = student.receive().await;
        let errors = if refused["type"] == "error" { refused["payload"].clone() } else { refused["payload"]["errors"].clone() };
        assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{refused}");
    }
}
