//! The applier's passes: what commits while a pass runs. On PostgreSQL a lower id can commit
//! after a higher one; on SQLite a pass reads its rows before it takes the write lock, and a
//! deletion or other rows may come between.

use api::services::{ingest, privacy};
use chrono::{TimeDelta, Utc};
use tests::backend_tests;

use super::{
    app_applied_by_hand, assert_matches,
    class::{self, Event, NB},
    load, record,
    rows::{assert_same_rows, rollup_rows},
};

/// A pass's first half (the read ahead, on SQLite), with no closed hour left to fold, so that
/// what the second half checks is the rows alone.
async fn started(db: &sea_orm::DatabaseConnection) -> ingest::Start {
    let now = Utc::now();
    // Folds the closed hours and adds no row.
    ingest::apply_rollups_at(db, 0, now).await.unwrap();
    ingest::start_pass(db, u64::MAX, now)
        .await
        .unwrap()
        .unwrap()
}

backend_tests! {
    async fn rows_erased_between_a_passs_read_and_its_write_are_not_added(backend) {
        let class = load(app_applied_by_hand(backend).await, 5).await;
        let state = &class.app.state;
        let start = started(&state.db).await;
        let (raw, pseudonym) = (class::raw(0), class.app.pseudonym(&class::raw(0)));
        let live = privacy::LiveState { presence: state.presence.as_ref(), rate_limits: &state.rate_limits };
        let student = privacy::Student { raw_id: &raw, pseudonym: &pseudonym };
        privacy::erase_student(&state.db, live, student, None).await.unwrap();
        let pass = ingest::write_pass(&state.db, (start, None), u64::MAX, Utc::now()).await.unwrap();
        let left: Vec<Event> = class.events.iter().filter(|e| e.student != 0).cloned().collect();
        assert!(pass.caught_up, "{pass:?}");
        // The stored rows are what the events left make, not the student's read before.
        let applied = rollup_rows(&class.app).await;
        ingest::rebuild_rollups(&state.db, None).await.unwrap();
        assert_same_rows(&applied, &rollup_rows(&class.app).await);
        assert_matches(&class, &left, 5, 6).await;
    }

    async fn rows_read_ahead_of_a_fold_are_summed_in_the_tiers_the_fold_leaves(backend) {
        let app = app_applied_by_hand(backend).await;
        app.register_notebook(NB).await;
        let db = &app.state.db;
        let recent = Event {
            student: 2,
            cell: Some("c2"),
            time: Utc::now(),
            kind: class::Kind::Focus { on: false, duration: Some(1.25) },
            event_id: None,
        };
        record(&app, &[recent]).await;
        // Read in the event's hour (the hourly tier), written once it has closed: the write
        // folds that hour first, and the event belongs to the all-time tier too.
        let start = started(db).await;
        let later = Utc::now() + TimeDelta::hours(2);
        let pass = ingest::write_pass(db, (start, None), u64::MAX, later).await.unwrap();
        assert_eq!(pass.events, 1, "{pass:?}");
        let applied = rollup_rows(&app).await;
        ingest::rebuild_rollups(db, None).await.unwrap();
        assert_same_rows(&applied, &rollup_rows(&app).await);
    }

    async fn rows_committed_between_a_passs_read_and_its_write_wait_for_the_next_pass(backend) {
        let class = load(app_applied_by_hand(backend).await, 6).await;
        let db = &class.app.state.db;
        let start = started(db).await;
        let later = Event {
            student: 1,
            cell: Some("c1"),
            time: class::base() + TimeDelta::minutes(3),
            kind: class::Kind::Focus { on: false, duration: Some(2.5) },
            event_id: None,
        };
        record(&class.app, std::slice::from_ref(&later)).await;
        let pass = ingest::write_pass(db, (start, None), u64::MAX, Utc::now()).await.unwrap();
        assert_eq!(pass.events as usize, class.events.len(), "{pass:?}");
        let mut all = class.events.clone();
        all.push(later);
        assert_matches(&class, &all, 6, 6).await;
        assert_eq!(ingest::apply_all_rollups(db).await.unwrap(), 1);
        let applied = rollup_rows(&class.app).await;
        ingest::rebuild_rollups(db, None).await.unwrap();
        assert_same_rows(&applied, &rollup_rows(&class.app).await);
        assert_matches(&class, &all, 6, 6).await;
    }
}

/// PostgreSQL takes ids before commit, so a lower id can commit after a higher one (SQLite has
/// one writer: there it cannot).
#[tokio::test]
async fn a_row_committed_after_a_higher_id_is_still_applied() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if !tests::Backend::postgres_available() {
        return;
    }
    let app = app_applied_by_hand(tests::Backend::Postgres).await;
    app.register_notebook(NB).await;
    let db = &app.state.db;
    // A writer takes an id and has not committed yet when a later one commits.
    let slow = db.begin().await.unwrap();
    slow.execute_unprepared(&format!(
        "INSERT INTO cell_focus_events (notebook_id, user_id, cell_id, orig_cell_id, \
         click_type, time) SELECT id, 'slow-student', 'c', 'o', 'ON', '2026-01-05T00:00:00Z' \
         FROM notebooks WHERE public_id = '{NB}'"
    ))
    .await
    .unwrap();
    let later = Event {
        student: 0,
        cell: Some("c1"),
        time: class::base() + TimeDelta::minutes(1),
        kind: class::Kind::Focus {
            on: true,
            duration: None,
        },
        event_id: None,
    };
    record(&app, &[later]).await;
    // The applier waits for the open writer (briefly), then leaves the rows for its next pass.
    let pass = ingest::apply_rollups(db, 100).await.unwrap();
    assert!(pass.blocked && pass.events == 0, "{pass:?}");
    slow.commit().await.unwrap();
    assert_eq!(ingest::apply_all_rollups(db).await.unwrap(), 2);
    let applied = rollup_rows(&app).await;
    assert!(
        applied.iter().any(|(key, _)| key.contains("slow-student")),
        "{applied:?}"
    );
    ingest::rebuild_rollups(db, None).await.unwrap();
    assert_same_rows(&applied, &rollup_rows(&app).await);
}
