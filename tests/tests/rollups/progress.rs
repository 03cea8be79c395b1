//! The progress series from the progress rollups: a dense class (students running cells
//! for three hours, ties, minute boundaries, unmapped cells and a cell outside the order),
//! random windows (ends inside minutes, executions after the end in its last minute), cell
//! orders (repeated, partial) and group filters, against the reference; with nothing, part or
//! all of the executions applied, and after an erasure.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::{Value, json};
use tests::{Run, close, progress_reference};

use super::{
    Class,
    class::{self, Event, Kind, NB, STUDENTS},
};

const CELLS: [Option<&str>; 8] = [
    Some("c1"),
    Some("c2"),
    Some("c3"),
    Some("c4"),
    Some("c5"),
    Some("c2"),
    Some("x9"),
    None,
];

const ORDERS: [&[&str]; 3] = [
    &["c1", "c2", "c3", "c4", "c5", "x9"],
    &["c3", "c1", "c2", "c5", "c4", "c1", "x9"],
    &["c2", "c4"],
];

fn start() -> DateTime<Utc> {
    class::base() + TimeDelta::hours(9)
}

/// Every student runs cells through three hours, in bursts: whole seconds, whole minutes and
/// microseconds; recorded in random order.
pub fn dense_class(seed: u64) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = Vec::new();
    for student in 0..STUDENTS {
        for _ in 0..rng.random_range(20..90) {
            let micros = match rng.random_range(0..3) {
                0 => rng.random_range(0..180i64) * 60_000_000,
                1 => rng.random_range(0..10_800i64) * 1_000_000,
                _ => rng.random_range(0..10_800_000_000i64),
            };
            events.push(Event {
                student,
                cell: CELLS[rng.random_range(0..CELLS.len())],
                time: start() + TimeDelta::microseconds(micros),
                kind: Kind::Execution { ok: true },
                event_id: None,
            });
        }
    }
    events.shuffle(&mut rng);
    events
}

/// Windows of the class: all of it, and random ones of up to two hours whose ends fall on
/// minutes, seconds or microseconds.
fn windows(seed: u64, count: usize) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut windows = vec![(
        start() - TimeDelta::minutes(1),
        start() + TimeDelta::hours(3),
    )];
    let time = |rng: &mut StdRng| match rng.random_range(0..3) {
        0 => TimeDelta::minutes(rng.random_range(0..180)),
        1 => TimeDelta::seconds(rng.random_range(0..10_800)),
        _ => TimeDelta::microseconds(rng.random_range(0..10_800_000_000)),
    };
    while windows.len() < count {
        let from = start() + time(&mut rng);
        let to = from + TimeDelta::seconds(1) + time(&mut rng) / 2;
        windows.push((from, to.min(from + TimeDelta::hours(2))));
    }
    windows
}

/// The series the API answers, for every window, order and group filter, against the reference
/// over `events`.
pub async fn assert_progress_matches(class: &Class, events: &[Event], seed: u64, count: usize) {
    let query = "query($nb: ID!, $start: DateTime!, $end: DateTime!, $order: [String!], \
        $f: AnalyticsFilter) { notebook(id: $nb) { executionProgress(start: $start, end: $end, \
        cellOrder: $order, filter: $f) { minute mean median firstQuartile thirdQuartile \
        studentCount } } }";
    let mut filters: Vec<(Value, Option<BTreeSet<usize>>)> = vec![(json!(null), None)];
    for (id, members) in &class.groups {
        filters.push((json!([id]), Some(members.clone())));
    }
    for (index, (from, to)) in windows(seed, count).into_iter().enumerate() {
        let order = ORDERS[index % ORDERS.len()];
        for (groups, members) in &filters {
            let runs: Vec<Run> = events
                .iter()
                .filter(|e| members.as_ref().is_none_or(|m| m.contains(&e.student)))
                .map(|e| (e.student, e.time, e.cell))
                .collect();
            let expected = Value::from(progress_reference(&runs, from, to, order));
            let variables = json!({ "nb": NB, "start": from, "end": to, "order": order,
                "f": { "groups": groups } });
            let response = class.app.graphql_as(&class.token, query, variables).await;
            let got = &response.data()["notebook"]["executionProgress"];
            assert!(
                close(got, &expected),
                "{from} to {to}, {order:?}, groups {groups}\n  got: {got}\n want: {expected}"
            );
        }
    }
}

/// The series reads the rollups: with the executions of a window's inner minutes gone from the
/// events (their rollup rows kept), it still answers as the reference over every execution;
/// a scan of what is left would not.
pub async fn assert_reads_rollups(class: &Class, events: &[Event]) {
    use sea_orm::{
        ConnectionTrait,
        sea_query::{Alias, Expr, ExprTrait, Query},
    };
    let (from, to) = (
        start() + TimeDelta::seconds(30 * 60 + 15),
        start() + TimeDelta::seconds(90 * 60 + 20),
    );
    let (inner_from, inner_to) = (
        start() + TimeDelta::minutes(31),
        start() + TimeDelta::minutes(90),
    );
    let delete = Query::delete()
        .from_table(Alias::new("code_executions"))
        .and_where(Expr::col(Alias::new("t_finish")).gte(inner_from))
        .and_where(Expr::col(Alias::new("t_finish")).lt(inner_to))
        .to_owned();
    let db = &class.app.state.db;
    let deleted = db
        .execute_raw(db.get_database_backend().build(&delete))
        .await
        .unwrap();
    assert!(deleted.rows_affected() > 100, "{}", deleted.rows_affected());
    let order = ORDERS[0];
    let runs = |events: &[Event]| -> Vec<Value> {
        let runs: Vec<Run> = events.iter().map(|e| (e.student, e.time, e.cell)).collect();
        progress_reference(&runs, from, to, order)
    };
    let left: Vec<Event> = events
        .iter()
        .filter(|e| e.time < inner_from || e.time >= inner_to)
        .cloned()
        .collect();
    let (expected, scanned) = (Value::from(runs(events)), Value::from(runs(&left)));
    assert!(
        !close(&expected, &scanned),
        "the deletion changes a scan's answer"
    );
    let query = "query($nb: ID!, $start: DateTime!, $end: DateTime!, $order: [String!]) {
        notebook(id: $nb) { executionProgress(start: $start, end: $end, cellOrder: $order) {
        minute mean median firstQuartile thirdQuartile studentCount } } }";
    let variables = json!({ "nb": NB, "start": from, "end": to, "order": order });
    let response = class.app.graphql_as(&class.token, query, variables).await;
    let got = &response.data()["notebook"]["executionProgress"];
    assert!(close(got, &expected), "  got: {got}\n want: {expected}");
}
