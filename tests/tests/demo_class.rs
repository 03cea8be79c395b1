//! `api demo-class`: the synthetic class is a registered, downloadable notebook with its cell
//! order, groups, and events of every kind inside its sessions; loading it twice is refused.

use api::services::demo::{self, DemoClass, SESSION_LENGTH_MINUTES};
use chrono::{Duration, TimeZone, Utc};
use entity::{
    cell_alteration, cell_focus_event, code_execution, markdown_execution, notebook_focus_event,
    pending_update_interaction, student_group,
};
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};
use tests::{TestApp, backend_tests};

fn small_class() -> DemoClass {
    DemoClass {
        notebook_id: "demo-small".into(),
        students: 25,
        cells: 8,
        events: 3_000,
        sessions: 2,
        end: Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap(),
        seed: 1,
    }
}

backend_tests! {
    async fn a_demo_class_has_a_notebook_groups_and_every_event_kind(backend) {
        let app = TestApp::spawn(backend).await;
        let (db, state) = (&app.state.db, &app.state);
        let class = small_class();
        let summary = demo::load(db, &state.storage, &state.pseudonyms, &class, |_| {}).await.unwrap();
        let order = api::services::notebooks::current_cell_order(db, summary.notebook_row_id).await.unwrap();
        assert_eq!(order, (1..=8).map(|n| format!("cell-{n:03}")).collect::<Vec<_>>());
        // 25 students in groups of ten: three groups.
        assert_eq!((summary.groups, student_group::Entity::find().count(db).await.unwrap()), (3, 3));
        let counts = [
            code_execution::Entity::find().count(db).await.unwrap(),
            markdown_execution::Entity::find().count(db).await.unwrap(),
            cell_focus_event::Entity::find().count(db).await.unwrap(),
            notebook_focus_event::Entity::find().count(db).await.unwrap(),
            cell_alteration::Entity::find().count(db).await.unwrap(),
            pending_update_interaction::Entity::find().count(db).await.unwrap(),
        ];
        assert!(counts.iter().all(|&count| count > 0), "every kind: {counts:?}");
        assert_eq!(counts.iter().sum::<u64>() as usize, summary.events);
        assert!(summary.events >= class.events, "{}", summary.events);
        // Every student answers each session's push once: 2 sessions × 25 students.
        assert_eq!(counts[5], 2 * 25);
        let first = cell_focus_event::Entity::find()
            .order_by_asc(cell_focus_event::Column::Time).one(db).await.unwrap().unwrap();
        let first_start = class.end - Duration::weeks(1) - Duration::minutes(SESSION_LENGTH_MINUTES);
        assert!(first.time >= first_start, "{} before {first_start}", first.time);
        let response = app.client.get(app.url("/notebooks/demo-small/download")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);

        let again = demo::load(db, &state.storage, &state.pseudonyms, &class, |_| {}).await;
        assert_eq!(again.err().map(|error| error.code()), Some("CONFLICT"));
    }
}
