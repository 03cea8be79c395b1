//! The per-cell aggregates and the event counts read rollups (whole buckets) and events (a window's partial edges,
//! and the rows the applier has not added yet); they must give, to the microsecond, what
//! scanning every event gives: random classes, random windows (edges on and inside hour, day
//! and 30-day buckets, open ends), group filters, retried events; with nothing, part or all
//! of the events applied; after a rebuild, an erasure and a retention run; and while students
//! ingest with the applier running.

#[path = "rollups/applier.rs"]
mod applier;
#[path = "rollups/class.rs"]
mod class;
#[path = "rollups/progress.rs"]
mod progress;
#[path = "rollups/query.rs"]
mod query;
#[path = "rollups/rows.rs"]
mod rows;

use std::collections::BTreeSet;

use api::{
    auth::Role,
    services::{
        ingest, privacy,
        rollups::{
            fold,
            watermarks::{self, Unapplied, Watermarks},
        },
    },
};
use chrono::{DateTime, TimeDelta, Utc};
use class::{Event, NB, STUDENTS, Window};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rows::{assert_same_rows, execute, rollup_rows};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

struct Class {
    app: TestApp,
    token: String,
    events: Vec<Event>,
    /// Group id and its members.
    groups: Vec<(String, BTreeSet<usize>)>,
}

async fn record(app: &TestApp, events: &[Event]) {
    let query = r#"mutation($events: [EventInput!]!) { recordEvents(events: $events) { acceptedCount duplicateCount } }"#;
    for chunk in events.chunks(500) {
        let inputs: Vec<Value> = chunk.iter().map(class::input).collect();
        let response = app.graphql(query, json!({ "events": inputs })).await;
        let result = &response.data()["recordEvents"];
        let stored =
            result["acceptedCount"].as_u64().unwrap() + result["duplicateCount"].as_u64().unwrap();
        assert_eq!(stored as usize, chunk.len(), "{result}");
    }
}

async fn load(app: TestApp, seed: u64) -> Class {
    load_events(app, class::random_class(seed), seed).await
}

/// A class of `events`, recorded (keyed ones partly twice), with two random groups.
async fn load_events(app: TestApp, events: Vec<Event>, seed: u64) -> Class {
    app.register_notebook(NB).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NB).await;
    let mut rng = StdRng::seed_from_u64(seed);
    // Half in one go, then the rest with some keyed events sent again (a client's retry).
    let (first, second) = events.split_at(events.len() / 2);
    record(&app, first).await;
    let mut again: Vec<Event> = second.to_vec();
    again.extend(
        first
            .iter()
            .filter(|e| e.event_id.is_some() && rng.random_bool(0.2))
            .cloned(),
    );
    record(&app, &again).await;
    let mut groups = Vec::new();
    for name in ["g1", "g2"] {
        let members: BTreeSet<usize> = (0..STUDENTS).filter(|_| rng.random_bool(0.4)).collect();
        groups.push((create_group(&app, &token, name, &members).await, members));
    }
    Class {
        app,
        token,
        events,
        groups,
    }
}

async fn create_group(app: &TestApp, token: &str, name: &str, members: &BTreeSet<usize>) -> String {
    let query = r#"mutation($nb: ID!, $name: String!, $users: [String!]!) {
        createGroup(notebookId: $nb, name: $name, userIds: $users) { id } }"#;
    let users: Vec<String> = members.iter().map(|&s| class::raw(s)).collect();
    let response = app
        .graphql_as(
            token,
            query,
            json!({ "nb": NB, "name": name, "users": users }),
        )
        .await;
    response.data()["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn random_bound(rng: &mut StdRng) -> Option<DateTime<Utc>> {
    rng.random_bool(0.85).then(|| class::random_time(rng))
}

/// Random windows (ordered ends), the whole course, and windows of whole buckets.
/// `after` and `until` of a filter.
type Ends = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn windows(seed: u64, count: usize) -> Vec<Ends> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut windows = vec![
        (None, None),
        (
            Some(class::base()),
            Some(class::base() + TimeDelta::days(30)),
        ),
        (
            Some(class::base() + TimeDelta::hours(5)),
            Some(class::base() + TimeDelta::hours(6)),
        ),
    ];
    while windows.len() < count {
        let (a, b) = (random_bound(&mut rng), random_bound(&mut rng));
        match (a, b) {
            (Some(a), Some(b)) if a < b => windows.push((Some(a), Some(b))),
            (Some(a), Some(b)) if b < a => windows.push((Some(b), Some(a))),
            (Some(_), Some(_)) => {}
            other => windows.push(other),
        }
    }
    windows
}

fn text(time: Option<DateTime<Utc>>) -> Value {
    json!(time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
}

/// Every window, unfiltered and per group, against the reference over `events`.
async fn assert_matches(class: &Class, events: &[Event], seed: u64, count: usize) {
    for (after, until) in windows(seed, count) {
        let mut filters = vec![(json!(null), None)];
        for (id, members) in &class.groups {
            filters.push((json!([id]), Some(members.clone())));
        }
        for (groups, students) in filters {
            let filter = json!({ "after": text(after), "until": text(until), "groups": groups });
            let response = class
                .app
                .graphql_as(
                    &class.token,
                    &query::cells_query(),
                    json!({ "nb": NB, "f": filter }),
                )
                .await;
            let data = &response.data()["notebook"];
            let window = Window {
                after,
                until,
                students,
            };
            assert_eq!(
                data["codeExecutionsPerCell"],
                class::executions_per_cell(events, &window),
                "{filter}"
            );
            assert_eq!(
                data["timePerCell"],
                class::time_per_cell(events, &window),
                "{filter}"
            );
            assert_eq!(
                data["studentLocations"],
                class::student_locations(events, &window),
                "{filter}"
            );
            assert_eq!(
                data["focusDurationsPerCell"],
                class::duration_pages(events, &window, (3, 2)),
                "{filter}"
            );
            assert_eq!(
                data["focusDurationSummary"],
                class::duration_summary(events, &window),
                "{filter}"
            );
            assert_eq!(
                data["eventCounts"],
                class::event_counts(events, &window),
                "{filter}"
            );
            query::assert_latest_attempts(&class.app, (data, events), &window);
        }
    }
}

/// The start of the class's day `days`.
fn day(days: i64) -> DateTime<Utc> {
    class::base() + TimeDelta::days(days)
}

/// An app whose background applier never runs: the test applies.
async fn app_applied_by_hand(backend: tests::Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.limits.rollup_apply_interval_ms = 3_600_000;
    })
    .await
}

backend_tests! {
    async fn rollups_answer_as_a_scan_of_every_event_on_random_classes_and_windows(backend) {
        for seed in [1, 2] {
            let class = load(app_applied_by_hand(backend).await, seed).await;
            let db = &class.app.state.db;
            // Nothing applied: every answer comes from the events.
            assert_eq!(watermarks::read(db).await.unwrap(), Watermarks::default());
            assert_matches(&class, &class.events, seed, 10).await;
            // Part applied, the hours before day 20 folded: whole buckets split between the
            // two tiers and the events above the marks.
            let third = class.events.len() as u64 / 3;
            let pass = ingest::apply_rollups_at(db, third, day(20)).await.unwrap();
            assert!(!pass.caught_up && pass.events > 0, "{pass:?}");
            assert_eq!(fold::folded_before(db).await.unwrap(), Some(day(20).timestamp()));
            assert_matches(&class, &class.events, seed + 100, 10).await;
            // The fold moves on while older hours are still unapplied: those rows then go to
            // both tiers.
            ingest::apply_rollups_at(db, third, day(35)).await.unwrap();
            assert_matches(&class, &class.events, seed + 200, 10).await;
            ingest::apply_all_rollups(db).await.unwrap();
            assert_eq!(watermarks::unapplied(db).await.unwrap(), Unapplied::default());
            assert_matches(&class, &class.events, seed, 40).await;
        }
    }

    async fn a_rebuild_gives_the_same_rollups_as_the_applier_kept(backend) {
        let class = load(app_applied_by_hand(backend).await, 3).await;
        let db = &class.app.state.db;
        // Applied in parts, the fold moving between them, and the rest now.
        let mut applied = 0;
        for days in [10, 30] {
            let pass = ingest::apply_rollups_at(db, class.events.len() as u64 / 3, day(days));
            applied += pass.await.unwrap().events;
        }
        applied += ingest::apply_all_rollups(db).await.unwrap();
        assert_eq!(applied as usize, class.events.len(), "every stored event applied once");
        let kept = rollup_rows(&class.app).await;
        let read = ingest::rebuild_rollups(db, None).await.unwrap();
        assert_eq!(read as usize, class.events.len(), "every stored event read once");
        assert_same_rows(&kept, &rollup_rows(&class.app).await);
        assert_matches(&class, &class.events, 3, 10).await;
        // As after the upgrade that introduced the applier: no rollups, watermarks at 0.
        execute(db, "DELETE FROM cell_rollups").await;
        execute(db, "DELETE FROM location_rollups").await;
        execute(db, "DELETE FROM duration_rollups").await;
        execute(db, "DELETE FROM progress_rollups").await;
        execute(db, "UPDATE rollup_watermarks SET applied_id = 0").await;
        execute(db, "UPDATE rollup_fold SET folded_before = NULL").await;
        assert_matches(&class, &class.events, 3, 5).await;
        assert_eq!(ingest::apply_all_rollups(db).await.unwrap() as usize, class.events.len());
        assert_eq!(ingest::apply_all_rollups(db).await.unwrap(), 0, "nothing twice");
        assert_same_rows(&kept, &rollup_rows(&class.app).await);
    }

    async fn the_upgrades_give_the_stored_rollups_their_latest_executions_and_durations(backend) {
        use migration::{Migrator, MigratorTrait};
        let class = load(app_applied_by_hand(backend).await, 8).await;
        let db = &class.app.state.db;
        // Applied in parts with the fold moving between them: both tiers hold latest
        // executions, and the rows above the marks are not the rollups' yet.
        let quarter = class.events.len() as u64 / 4;
        ingest::apply_rollups_at(db, 2 * quarter, day(20)).await.unwrap();
        ingest::apply_rollups_at(db, quarter, day(35)).await.unwrap();
        let kept = rollup_rows(&class.app).await;
        // Back to before the migrations that added them (from 14, the latest executions), and
        // through them again.
        let since_latest_executions = Migrator::migrations()
            .iter()
            .rev()
            .position(|step| step.name() == "m20261205_000014_latest_execution_rollups")
            .expect("migration 14")
            + 1;
        Migrator::down(db, Some(since_latest_executions as u32)).await.unwrap();
        Migrator::up(db, None).await.unwrap();
        assert_same_rows(&kept, &rollup_rows(&class.app).await);
        assert_matches(&class, &class.events, 8, 10).await;
    }

    async fn the_applier_adds_committed_events_in_the_background(backend) {
        let app = TestApp::spawn_with(backend, |config| {
            config.limits.rollup_apply_interval_ms = 20;
        })
        .await;
        let class = load(app, 5).await;
        let db = &class.app.state.db;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while watermarks::unapplied(db).await.unwrap() != Unapplied::default() {
            assert!(std::time::Instant::now() < deadline, "the applier did not catch up");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let applied = rollup_rows(&class.app).await;
        ingest::rebuild_rollups(db, None).await.unwrap();
        assert_same_rows(&applied, &rollup_rows(&class.app).await);
    }

    async fn an_event_for_an_hour_already_folded_counts_in_both_tiers(backend) {
        let class = load(app_applied_by_hand(backend).await, 7).await;
        let db = &class.app.state.db;
        ingest::apply_all_rollups(db).await.unwrap();
        let late = Event {
            student: 1,
            cell: Some("c2"),
            time: class::base() + TimeDelta::hours(3) + TimeDelta::seconds(7),
            kind: class::Kind::Execution { ok: true },
            event_id: None,
        };
        record(&class.app, std::slice::from_ref(&late)).await;
        let mut events = class.events.clone();
        events.push(late);
        assert_matches(&class, &events, 7, 10).await;
        assert_eq!(ingest::apply_all_rollups(db).await.unwrap(), 1);
        assert_matches(&class, &events, 7, 10).await;
        let applied = rollup_rows(&class.app).await;
        ingest::rebuild_rollups(db, None).await.unwrap();
        assert_same_rows(&applied, &rollup_rows(&class.app).await);
    }

    async fn rollups_stay_exact_while_students_ingest_and_the_applier_runs(backend) {
        let app = TestApp::spawn_with(backend, |config| {
            config.limits.rollup_apply_interval_ms = 5;
        })
        .await;
        app.register_notebook(NB).await;
        let events = class::random_class(6);
        // Eight clients in small batches: on PostgreSQL several commits overlap, so ids commit
        // out of order while the applier moves its watermarks.
        let chunks: Vec<&[Event]> = events.chunks(events.len().div_ceil(8)).collect();
        futures::future::join_all(chunks.iter().map(|chunk| async {
            for batch in chunk.chunks(25) {
                record(&app, batch).await;
            }
        }))
        .await;
        let db = &app.state.db;
        ingest::apply_all_rollups(db).await.unwrap();
        let applied = rollup_rows(&app).await;
        assert!(!applied.is_empty());
        ingest::rebuild_rollups(db, None).await.unwrap();
        assert_same_rows(&applied, &rollup_rows(&app).await);
    }

    async fn an_erasure_and_a_retention_run_keep_the_rollups_exact(backend) {
        let class = load(app_applied_by_hand(backend).await, 4).await;
        let state = &class.app.state;
        // Half applied: the erasure and the retention run meet rows on both sides of the marks.
        ingest::apply_rollups(&state.db, class.events.len() as u64 / 2).await.unwrap();
        let (raw, pseudonym) = (class::raw(0), class.app.pseudonym(&class::raw(0)));
        let live = privacy::LiveState { presence: state.presence.as_ref(), rate_limits: &state.rate_limits };
        let student = privacy::Student { raw_id: &raw, pseudonym: &pseudonym };
        privacy::erase_student(&state.db, live, student, None).await.unwrap();
        // The per-notebook duration rows lose exactly the student's applied durations.
        let kept = rollup_rows(&class.app).await;
        ingest::rebuild_rollups(&state.db, None).await.unwrap();
        assert_same_rows(&kept, &rollup_rows(&class.app).await);
        let mut left: Vec<Event> = class.events.iter().filter(|e| e.student != 0).cloned().collect();
        assert_matches(&class, &left, 4, 10).await;
        let cutoff = class::base() + TimeDelta::days(20) + TimeDelta::minutes(30);
        privacy::apply_retention(&state.db, cutoff, false).await.unwrap();
        left.retain(|e| e.time >= cutoff);
        assert_matches(&class, &left, 4, 10).await;
        ingest::apply_all_rollups(&state.db).await.unwrap();
        assert_matches(&class, &left, 4, 10).await;
    }
    async fn the_progress_series_from_rollups_is_a_scan_of_every_execution(backend) {
        let events = progress::dense_class(11);
        let class = load_events(app_applied_by_hand(backend).await, events, 11).await;
        let state = &class.app.state;
        // Nothing applied, then a third (every student's rows split at the mark), then all.
        progress::assert_progress_matches(&class, &class.events, 11, 8).await;
        ingest::apply_rollups(&state.db, class.events.len() as u64 / 3).await.unwrap();
        progress::assert_progress_matches(&class, &class.events, 12, 8).await;
        ingest::apply_all_rollups(&state.db).await.unwrap();
        progress::assert_progress_matches(&class, &class.events, 13, 16).await;
        let kept = rollup_rows(&class.app).await;
        ingest::rebuild_rollups(&state.db, None).await.unwrap();
        assert_same_rows(&kept, &rollup_rows(&class.app).await);
        let (raw, pseudonym) = (class::raw(0), class.app.pseudonym(&class::raw(0)));
        let live = privacy::LiveState { presence: state.presence.as_ref(), rate_limits: &state.rate_limits };
        let student = privacy::Student { raw_id: &raw, pseudonym: &pseudonym };
        privacy::erase_student(&state.db, live, student, None).await.unwrap();
        let left: Vec<Event> = class.events.iter().filter(|e| e.student != 0).cloned().collect();
        progress::assert_progress_matches(&class, &left, 14, 8).await;
        progress::assert_reads_rollups(&class, &left).await;
    }
}
