//! The dashboards give the same numbers on imported events as on the same events ingested
//! live: the class of `events()` is imported into `NOTEBOOK` and sent through `recordEvents`
//! into a second notebook, and every aggregate is compared.

use super::*;

const LIVE: &str = "nb-live";

const RECORD_EVENTS: &str = r#"mutation($events: [EventInput!]!) {
    recordEvents(events: $events) { acceptedCount duplicateCount } }"#;

const DASHBOARD: &str = r#"query($id: ID!) { notebook(id: $id) {
    codeExecutionsPerCell { cellId executionCount okExecutionCount focusCount focusOnCount }
    timePerCell { totalStudentCount cells { cellId averageDuration studentCount } }
    focusDurationsPerCell { cellId durations }
    eventCounts { totalCount firstEventAt lastEventAt kinds { kind count firstEventAt lastEventAt } }
    studentLocations { cellId studentCount }
    latestAttempts(cellId: "c1") { totalCount attempts { userId cellId origCellId status input
        inputLength output outputLength languageMimetype tStart tFinish } }
} }"#;

fn orig(orig: &str) -> Value {
    if orig.is_empty() {
        Value::Null
    } else {
        json!(orig)
    }
}

/// `event` as a live ingest input.
fn input(event: &Old) -> Value {
    let base = |user: &str| json!({ "notebookId": LIVE, "userId": user });
    let merged = |user: &str, kind: &str, fields: Value| {
        let mut object = base(user);
        for (key, value) in fields.as_object().unwrap() {
            object[key] = value.clone();
        }
        json!({ kind: object })
    };
    match event {
        Old::Code {
            user,
            cell,
            orig: o,
            start,
            finish,
            status,
            input,
            pickle,
            length,
            ..
        } => {
            let outputs: Value = if *pickle {
                serde_json::from_str(PICKLE_JSON).unwrap()
            } else {
                json!([])
            };
            merged(
                user,
                "codeExecution",
                json!({ "cellId": cell, "origCellId": orig(o),
                "tStart": rfc3339(start), "tFinish": rfc3339(finish), "status": status.to_uppercase(),
                "cellInput": input, "cellOutputModel": outputs, "cellOutputLength": length,
                "languageMimetype": "text/x-python" }),
            )
        }
        Old::Markdown {
            user,
            cell,
            orig: o,
            time,
            content,
            ..
        } => merged(
            user,
            "markdownExecution",
            json!({ "cellId": cell, "origCellId": orig(o), "time": rfc3339(time), "cellContent": content }),
        ),
        Old::CellClick {
            user,
            cell,
            orig: o,
            click,
            time,
            duration,
            ..
        } => merged(
            user,
            "cellFocus",
            json!({ "cellId": cell, "origCellId": orig(o), "clickType": click, "time": rfc3339(time),
                    "clickDuration": duration }),
        ),
        Old::NotebookClick {
            user,
            click,
            time,
            duration,
            ..
        } => merged(
            user,
            "notebookFocus",
            json!({ "clickType": click, "time": rfc3339(time), "clickDuration": duration }),
        ),
        Old::Alteration {
            user,
            cell,
            kind,
            time,
            ..
        } => merged(
            user,
            "cellAlteration",
            json!({ "cellId": cell, "alterationType": kind, "time": rfc3339(time) }),
        ),
        Old::Pending {
            user,
            cell,
            update,
            action,
            sender_type,
            time,
            ..
        } => merged(
            user,
            "pendingUpdateInteraction",
            json!({ "cellId": cell, "updateId": update, "action": action,
                "sender": sender_type.map(|_| "f".repeat(64)),
                "senderType": sender_type.map(str::to_uppercase), "time": rfc3339(time) }),
        ),
    }
}

#[tokio::test]
async fn the_dashboards_give_the_same_numbers_on_imported_and_live_ingested_events() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    import(&old, &app, &options(&[NOTEBOOK]))
        .await
        .expect("import");
    app.register_notebook(LIVE).await;
    let inputs: Vec<Value> = events().iter().map(input).collect();
    let response = app
        .graphql(RECORD_EVENTS, json!({ "events": inputs }))
        .await;
    assert_eq!(
        response.data()["recordEvents"]["acceptedCount"],
        inputs.len(),
        "{:?}",
        response.body
    );

    let token = app.user_token("admin", Role::Admin).await;
    let imported = app
        .graphql_as(&token, DASHBOARD, json!({ "id": NOTEBOOK }))
        .await
        .data()
        .clone();
    let live = app
        .graphql_as(&token, DASHBOARD, json!({ "id": LIVE }))
        .await
        .data()
        .clone();
    assert_eq!(imported, live);
    // And they are not trivially equal: every kind is there, the pickled output too.
    assert_eq!(imported["notebook"]["eventCounts"]["totalCount"], 11);
    assert_eq!(
        imported["notebook"]["codeExecutionsPerCell"][0],
        json!({ "cellId": "", "executionCount": 0, "okExecutionCount": 0, "focusCount": 1, "focusOnCount": 1 })
    );
    let attempts = &imported["notebook"]["latestAttempts"]["attempts"];
    let outputs: Value = serde_json::from_str(PICKLE_JSON).unwrap();
    assert!(
        attempts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["output"] == outputs),
        "{attempts}"
    );
    old.database.drop_database().await.ok();
}
