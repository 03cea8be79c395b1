//! Students' data: erasing one student (in one notebook or everywhere) removes their events,
//! interactions and memberships and nothing of anyone else's; retention deletes only events
//! older than its window, and a dry run deletes nothing. Both are audited without the student.

use api::{
    auth::Role,
    broker::presence::{Connection, Location, PresenceRole},
    services::privacy::{self, LiveState, Student},
};
use entity::{audit_log, cell_focus_event, group_member, pending_update_interaction};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tests::{TestApp, backend_tests};

const NB1: &str = "nb-privacy-1";
const NB2: &str = "nb-privacy-2";

async fn focus(app: &TestApp, notebook: &str, user: &str, time: &str) {
    let event = json!({ "notebookId": notebook, "userId": user, "cellId": "c", "origCellId": "c",
        "clickType": "ON", "time": time });
    let mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
    app.graphql(mutation, json!({ "e": event })).await.data();
}

async fn later(app: &TestApp, notebook: &str, user: &str) {
    let event = json!({ "notebookId": notebook, "userId": user, "cellId": "c", "updateId": "u",
        "action": "UPDATE_LATER", "time": "2026-11-24T10:00:00Z" });
    let mutation = "mutation($e: PendingUpdateInteractionInput!) { recordPendingUpdateInteraction(event: $e) { acceptedCount } }";
    app.graphql(mutation, json!({ "e": event })).await.data();
}

async fn focus_rows(app: &TestApp, user: &str) -> u64 {
    cell_focus_event::Entity::find()
        .filter(cell_focus_event::Column::UserId.eq(app.pseudonym(user)))
        .count(&app.state.db)
        .await
        .unwrap()
}

fn live(app: &TestApp) -> LiveState<'_> {
    LiveState {
        presence: app.state.presence.as_ref(),
        rate_limits: &app.state.rate_limits,
    }
}

fn student(pseudonym: &str) -> Student<'_> {
    // The raw id only names rate-limit keys, checked in the test of the live state.
    Student {
        raw_id: "alice",
        pseudonym,
    }
}

fn tab(notebook: &str, user: &str) -> Connection {
    Connection {
        notebook_id: notebook.to_owned(),
        role: PresenceRole::Student,
        user: user.to_owned(),
        id: format!("tab-{notebook}-{user}"),
    }
}

fn location(cell: &str) -> Location {
    Location {
        cell_id: cell.to_owned(),
        cell_index: 0,
        updated_at: chrono::Utc::now(),
    }
}

/// Shared ingest rate-limit keys of the app in Redis, or `None` without `TEST_REDIS_URL`
/// (the counts are then in process and not reachable from an erasing command).
async fn ingest_limit_keys(app: &TestApp) -> Option<usize> {
    let url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!(
        "{}:ratelimit:ingest-student:*",
        app.state.config.redis_key_prefix
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut connection)
        .await
        .unwrap();
    Some(keys.len())
}

backend_tests! {
    async fn erasing_a_student_forgets_their_presence_location_and_rate_limit_counts(backend) {
        // One request a second with a deep burst: each student's shared count lives ~5 s.
        let app = TestApp::spawn_with(backend, |config| {
            config.limits.rate.ingest_student_per_sec = 1;
            config.limits.rate.ingest_student_burst = 100;
        }).await;
        app.register_notebook(NB1).await;
        app.register_notebook(NB2).await;
        let now = chrono::Utc::now().to_rfc3339();
        for (notebook, user) in [(NB1, "alice"), (NB2, "alice"), (NB1, "bob")] {
            for _ in 0..5 {
                focus(&app, notebook, user, &now).await;
            }
        }
        let (alice, bob) = (app.pseudonym("alice"), app.pseudonym("bob"));
        let presence = app.state.presence.as_ref();
        for (notebook, user) in [(NB1, &alice), (NB2, &alice), (NB1, &bob)] {
            presence.join(&tab(notebook, user)).await.unwrap();
            presence.set_location(notebook, user, &location("c")).await.unwrap();
        }
        let shared_before = ingest_limit_keys(&app).await;
        if let Some(keys) = shared_before {
            assert_eq!(keys, 3, "one shared count per (notebook, student)");
        }

        let hers = Student { raw_id: "alice", pseudonym: &alice };
        let counts = privacy::erase_student(&app.state.db, live(&app), hers, None).await.unwrap();

        assert!(counts.contains(&("cell_focus_events", 10)), "{counts:?}");
        let expected_keys = if shared_before.is_some() { 2 } else { 0 };
        assert!(counts.contains(&("rate-limit keys", expected_keys)), "{counts:?}");
        if shared_before.is_some() {
            assert_eq!(ingest_limit_keys(&app).await, Some(1), "bob's count stays");
        }
        assert_eq!(presence.connected(NB1, PresenceRole::Student).await.unwrap(), vec![bob.clone()]);
        assert!(presence.connected(NB2, PresenceRole::Student).await.unwrap().is_empty());
        let users = [alice.clone(), bob.clone()];
        let located: Vec<String> = presence.locations(NB1, &users).await.unwrap().into_keys().collect();
        assert_eq!(located, vec![bob.clone()]);
        assert!(presence.locations(NB2, &users).await.unwrap().is_empty());
        assert_eq!(focus_rows(&app, "bob").await, 5);
    }


    async fn erasing_a_student_removes_their_rows_and_nobody_elses(backend) {
        let app = TestApp::spawn(backend).await;
        let nb1 = app.register_notebook(NB1).await;
        app.register_notebook(NB2).await;
        let token = app.user_token("teacher", Role::Admin).await;
        let create = r#"mutation($nb: ID!) { createGroup(notebookId: $nb, name: "g", userIds: ["alice", "bob"]) { id } }"#;
        app.graphql_as(&token, create, json!({ "nb": NB1 })).await.data();
        for notebook in [NB1, NB2] {
            for user in ["alice", "bob"] {
                focus(&app, notebook, user, "2026-11-24T10:00:00Z").await;
                later(&app, notebook, user).await;
            }
        }
        let alice = app.pseudonym("alice");
        let counts = privacy::erase_student(&app.state.db, live(&app), student(&alice), Some((nb1, NB1)))
            .await.unwrap();
        let deleted = |table: &str| counts.iter().find(|(t, _)| *t == table).map(|(_, n)| *n);
        assert_eq!(deleted("cell_focus_events"), Some(1));
        assert_eq!(deleted("pending_update_interactions"), Some(1));
        assert_eq!(deleted("group_members"), Some(1));
        assert_eq!(focus_rows(&app, "alice").await, 1, "her other notebook stays");
        assert_eq!(focus_rows(&app, "bob").await, 2);
        let members = group_member::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].user_id, app.pseudonym("bob"));

        privacy::erase_student(&app.state.db, live(&app), student(&alice), None).await.unwrap();
        assert_eq!(focus_rows(&app, "alice").await, 0);
        let hers = pending_update_interaction::Entity::find()
            .filter(pending_update_interaction::Column::UserId.eq(alice.as_str()))
            .count(&app.state.db).await.unwrap();
        assert_eq!(hers, 0);
        let audit = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("erase_student"))
            .all(&app.state.db).await.unwrap();
        assert_eq!(audit.len(), 2);
        let text = serde_json::to_string(&audit.iter().map(|row| &row.details).collect::<Vec<_>>()).unwrap();
        assert!(!text.contains(&alice) && !text.contains("alice"), "{text}");
    }

    async fn retention_deletes_only_events_older_than_its_window(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB1).await;
        focus(&app, NB1, "alice", "2020-01-01T10:00:00Z").await;
        focus(&app, NB1, "bob", "2020-06-01T10:00:00Z").await;
        let recent = chrono::Utc::now().to_rfc3339();
        focus(&app, NB1, "alice", &recent).await;
        let cutoff = chrono::Utc::now() - api::services::privacy::parse_window("365d").unwrap();

        let dry = privacy::apply_retention(&app.state.db, cutoff, true).await.unwrap();
        assert!(dry.contains(&("cell_focus_events", 2)), "{dry:?}");
        let all = cell_focus_event::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(all, 3, "a dry run deletes nothing");

        let done = privacy::apply_retention(&app.state.db, cutoff, false).await.unwrap();
        assert!(done.contains(&("cell_focus_events", 2)), "{done:?}");
        let left = cell_focus_event::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].user_id, app.pseudonym("alice"));
    }
}

#[test]
fn retention_windows_are_days_hours_or_minutes() {
    assert_eq!(
        api::services::privacy::parse_window("365d").unwrap(),
        chrono::Duration::days(365)
    );
    assert_eq!(
        api::services::privacy::parse_window("48h").unwrap(),
        chrono::Duration::hours(48)
    );
    assert!(api::services::privacy::parse_window("soon").is_err());
    assert!(api::services::privacy::parse_window("").is_err());
}

#[tokio::test]
async fn a_server_with_retention_set_applies_it_at_start() {
    let dir = std::env::temp_dir().join(format!("retention-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("r.sqlite").display());
    let first = {
        let url = url.clone();
        TestApp::spawn_with(tests::Backend::Sqlite, move |c| c.database_url = Some(url)).await
    };
    first.register_notebook(NB1).await;
    focus(&first, NB1, "alice", "2020-01-01T10:00:00Z").await;
    focus(&first, NB1, "alice", &chrono::Utc::now().to_rfc3339()).await;
    let second = TestApp::spawn_with(tests::Backend::Sqlite, move |c| {
        c.database_url = Some(url);
        c.retention = Some("365d".to_owned());
    })
    .await;
    for _ in 0..100 {
        if cell_focus_event::Entity::find()
            .count(&second.state.db)
            .await
            .unwrap()
            == 1
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the old event was never deleted");
}
