//! Teacher pushes, teammate shares and the students' postponements, as the pending-update
//! statistics show them: a share overrides what its recipient postponed on that cell (as a push
//! does), a share is never the cell's teacher update, and the old route keeps the old shape
//! (naive UTC times, no `override` among the answers).

use std::time::Duration;

use api::{auth::Role, broker::presence::PresenceRole};
use entity::{
    enums::{PendingUpdateAction, SenderType},
    pending_update_interaction,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Backend, TestApp, WsClient, backend_tests};

const NB: &str = "nb-pending";

async fn ready_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NB).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NB).await;
    let group = r#"mutation($nb: ID!) { createGroup(notebookId: $nb, name: "A", userIds: ["alice", "bob"]) { id } }"#;
    app.graphql_as(&token, group, json!({ "nb": NB }))
        .await
        .data();
    (app, token)
}

/// A student's live session, open once they count as connected (shares reach connected teammates).
async fn connect(app: &TestApp, raw: &str) -> WsClient {
    let mut socket = app.websocket(json!({})).await;
    let session = r#"subscription($nb: ID!, $user: String!) { studentSession(notebookId: $nb, userId: $user) {
        __typename ... on PushedUpdate { updateId } } }"#;
    socket
        .subscribe("s", session, json!({ "nb": NB, "user": raw }))
        .await;
    let me = app.pseudonym(raw);
    for _ in 0..200 {
        let connected = app
            .state
            .presence
            .connected(NB, PresenceRole::Student)
            .await
            .unwrap();
        if connected.contains(&me) {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{raw} never connected");
}

async fn push(app: &TestApp, token: &str, to: &str) -> String {
    let mutation = r#"mutation($nb: ID!, $to: [String!]) { pushUpdate(notebookId: $nb, toStudents: $to,
        cells: [{ cellId: "c1", cellType: "code", source: "x = 1" }]) { updateId } }"#;
    let answer = app
        .graphql_as(
            token,
            mutation,
            json!({ "nb": NB, "to": [app.pseudonym(to)] }),
        )
        .await;
    answer.data()["pushUpdate"]["updateId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn postpone(app: &TestApp, raw: &str, update_id: &str, sender_type: &str) {
    let event = json!({ "notebookId": NB, "userId": raw, "cellId": "c1", "updateId": update_id,
        "action": "UPDATE_LATER", "senderType": sender_type, "time": chrono::Utc::now() });
    let mutation = "mutation($e: PendingUpdateInteractionInput!) { recordPendingUpdateInteraction(event: $e) { acceptedCount } }";
    app.graphql(mutation, json!({ "e": event })).await.data();
}

async fn share(app: &TestApp, from: &str) {
    let mutation = r#"mutation($nb: ID!, $user: String!) { shareCellWithTeammates(notebookId: $nb, userId: $user,
        cell: { cellId: "c1", cellType: "code", source: "y = 2" }) }"#;
    let answer = app
        .graphql(mutation, json!({ "nb": NB, "user": from }))
        .await;
    assert_eq!(
        answer.data()["shareCellWithTeammates"],
        1,
        "{:?}",
        answer.body
    );
}

async fn overrides(app: &TestApp) -> Vec<pending_update_interaction::Model> {
    pending_update_interaction::Entity::find()
        .filter(pending_update_interaction::Column::Action.eq(PendingUpdateAction::Override))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn stats(app: &TestApp, token: &str) -> Value {
    let query = r#"query($nb: ID!) { notebook(id: $nb) { pendingUpdateStats { cellId updateId
        postponed { userId laterActions { action } } } } }"#;
    app.graphql_as(token, query, json!({ "nb": NB }))
        .await
        .data()["notebook"]["pendingUpdateStats"]
        .clone()
}

/// Records a student's answer at 10:`minute` on `(cell, update)`, or notebook-wide.
async fn answer(app: &TestApp, raw: &str, action: &str, on: Option<(&str, &str)>, minute: u32) {
    let time = format!("2026-01-05T10:{minute:02}:00Z");
    let event = json!({ "notebookId": NB, "userId": raw, "cellId": on.map(|(cell, _)| cell),
        "updateId": on.map(|(_, update)| update), "action": action, "time": time });
    let mutation = "mutation($e: PendingUpdateInteractionInput!) { recordPendingUpdateInteraction(event: $e) { acceptedCount } }";
    app.graphql(mutation, json!({ "e": event })).await.data();
}

backend_tests! {
    async fn an_update_without_a_recorded_push_is_dated_by_its_first_answer_in_the_window(backend) {
        let (app, token) = ready_app(backend).await;
        answer(&app, "bob", "UPDATE_NOW", Some(("c1", "u0")), 0).await;
        answer(&app, "alice", "UPDATE_LATER", Some(("c1", "u1")), 5).await;
        answer(&app, "carol", "UPDATE_NOW", Some(("c1", "u0")), 8).await;
        let query = r#"query($nb: ID!, $f: AnalyticsFilter) { notebook(id: $nb) {
            pendingUpdateStats(filter: $f) { cellId updateId pushedAt updateNowCount updateLaterCount } } }"#;
        let ask = async |filter: Value| {
            let answer = app.graphql_as(&token, query, json!({ "nb": NB, "f": filter })).await;
            answer.data()["notebook"]["pendingUpdateStats"].clone()
        };
        let at = |minute: u32| format!("2026-01-05T10:{minute:02}:00+00:00");
        let c1 = |update: &str, pushed: u32, now: i64, later: i64| json!([{ "cellId": "c1",
            "updateId": update, "pushedAt": at(pushed), "updateNowCount": now, "updateLaterCount": later }]);
        // Up to 10:03, u1 was never answered: u0 (10:00) is the latest.
        assert_eq!(ask(json!({ "until": at(3) })).await, c1("u0", 0, 1, 0));
        // Up to 10:10, u1 (10:05) is later than u0 (10:00, its first answer, not carol's).
        assert_eq!(ask(json!({ "until": at(10) })).await, c1("u1", 5, 0, 1));
        assert_eq!(ask(Value::Null).await, c1("u1", 5, 0, 1));
        // From 10:06 on, only carol answered u0: it is dated by her answer.
        assert_eq!(ask(json!({ "after": at(6) })).await, c1("u0", 8, 1, 0));
    }

    async fn a_postponing_students_later_actions_are_on_that_update_or_notebook_wide(backend) {
        let (app, token) = ready_app(backend).await;
        // No push recorded: each update is dated by its first answer. c1's u0 (10:00, bob's)
        // is older than u1 (10:01), which alice postponed.
        answer(&app, "bob", "UPDATE_NOW", Some(("c1", "u0")), 0).await;
        answer(&app, "alice", "UPDATE_LATER", Some(("c1", "u1")), 1).await;
        answer(&app, "bob", "UPDATE_NOW", Some(("c2", "u2")), 2).await;
        // Then: an answer on another cell, one on the postponed update and one notebook-wide
        // (recorded in that order, the other way round in time), one on c1's older update, and
        // one more on the postponed update. Only the second, third and last follow her
        // postponement, in time order.
        answer(&app, "alice", "UPDATE_NOW", Some(("c2", "u2")), 3).await;
        answer(&app, "alice", "APPLY_SINGLE", Some(("c1", "u1")), 5).await;
        answer(&app, "alice", "UPDATE_ALL", None, 4).await;
        answer(&app, "alice", "REMOVE_SINGLE", Some(("c1", "u0")), 6).await;
        answer(&app, "alice", "REMOVE_SINGLE", Some(("c1", "u1")), 7).await;
        // And one with c1's latest update id under c2, at 10:02: not that update either (nor
        // c2's latest: u2 ties at 10:02 and is the greater id).
        answer(&app, "alice", "REMOVE_SINGLE", Some(("c2", "u1")), 2).await;
        let query = r#"query($nb: ID!) { notebook(id: $nb) { pendingUpdateStats { cellId updateId
            updateNowCount updateLaterCount postponed { userId laterActions { action } } } } }"#;
        let got = app.graphql_as(&token, query, json!({ "nb": NB })).await.data()["notebook"]["pendingUpdateStats"].clone();
        let alice = json!({ "userId": app.pseudonym("alice"),
            "laterActions": [{ "action": "UPDATE_ALL" }, { "action": "APPLY_SINGLE" },
                { "action": "REMOVE_SINGLE" }] });
        assert_eq!(got, json!([
            { "cellId": "c1", "updateId": "u1", "updateNowCount": 0, "updateLaterCount": 1, "postponed": [alice] },
            { "cellId": "c2", "updateId": "u2", "updateNowCount": 2, "updateLaterCount": 0, "postponed": [] },
        ]));
    }

    async fn a_teammates_share_overrides_the_update_its_recipient_postponed(backend) {
        let (app, token) = ready_app(backend).await;
        let _alice = connect(&app, "alice").await;
        let _bob = connect(&app, "bob").await;
        let update = push(&app, &token, "alice").await;
        postpone(&app, "alice", &update, "TEACHER").await;
        share(&app, "bob").await;
        let rows = overrides(&app).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!((row.user_id.clone(), row.update_id.clone()), (app.pseudonym("alice"), Some(update.clone())));
        assert_eq!((row.sender.clone(), row.sender_type), (Some(app.pseudonym("bob")), Some(SenderType::Teammate)));
        // The teacher's update is still the cell's; the override is among alice's answers on
        // GraphQL, and left out on the old route.
        let cells = stats(&app, &token).await;
        assert_eq!(cells[0]["updateId"], update.as_str());
        assert_eq!(cells[0]["postponed"][0]["laterActions"], json!([{ "action": "OVERRIDE" }]));
        let old = app.client.get(app.url(&format!("/dashboard/{NB}/pending_updates_stats?displayRealTime=false")))
            .bearer_auth(&token).send().await.unwrap();
        let old: Value = old.json().await.unwrap();
        assert_eq!(old[0]["update_id"], update.as_str());
        assert_eq!(old[0]["detailed_actions"], json!([]), "{old}");
        // Naive UTC, as the old backend sent (the dashboard appends `Z`).
        let pushed = old[0]["timestamp"].as_str().unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(pushed, "%Y-%m-%dT%H:%M:%S%.f").is_ok(), "{pushed}");
    }

    async fn after_a_push_overrides_a_share_the_push_is_the_cells_teacher_update(backend) {
        let (app, token) = ready_app(backend).await;
        let mut alice = connect(&app, "alice").await;
        let _bob = connect(&app, "bob").await;
        share(&app, "bob").await;
        // Bob's arrival may come first.
        let shared = loop {
            let event = alice.receive().await["payload"]["data"]["studentSession"].clone();
            if event["__typename"] != "TeammateConnected" {
                break event;
            }
        };
        assert_eq!(shared["__typename"], "PushedUpdate", "{shared}");
        let rows = pending_update_interaction::Entity::find().all(&app.state.db).await.unwrap();
        assert!(rows.is_empty(), "nothing postponed yet: {rows:?}");
        // Alice postpones the share; then the teacher pushes the same cell.
        let share_id = shared["updateId"].as_str().unwrap().to_owned();
        postpone(&app, "alice", &share_id, "TEAMMATE").await;
        let update = push(&app, &token, "alice").await;
        let rows = overrides(&app).await;
        assert_eq!(rows.iter().map(|row| row.update_id.clone()).collect::<Vec<_>>(), [Some(share_id)]);
        let cells = stats(&app, &token).await;
        assert_eq!(cells.as_array().unwrap().len(), 1, "{cells}");
        assert_eq!(cells[0]["updateId"], update.as_str(), "the push, not the share: {cells}");
    }
}
