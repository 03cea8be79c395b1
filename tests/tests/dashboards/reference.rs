//! The progress series against a plain reference implementation of DOMAIN.md's rule (as the
//! field describes it): for every minute, for every student, scan all executions. A seeded
//! random class of 50 students, with whole-second times (ties, minute boundaries) and
//! microsecond ones, a cell outside the order, and a repeated cell in the order.

use api::auth::Role;
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::{Value, json};
use tests::{Backend, Run, TestApp, progress_reference};

use super::class::record;

const NOTEBOOK: &str = "nb-random";
const STUDENTS: usize = 50;
const CELLS: [&str; 9] = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "x9"];

struct Execution {
    student: usize,
    finish: DateTime<Utc>,
    cell: &'static str,
}

fn random_class(rng: &mut StdRng) -> Vec<Execution> {
    let base = DateTime::parse_from_rfc3339("2024-03-05T10:00:00Z")
        .unwrap()
        .to_utc();
    let mut executions = Vec::new();
    for student in 0..STUDENTS {
        for _ in 0..rng.random_range(0..40) {
            let micros = if rng.random_bool(0.5) {
                rng.random_range(0..3600i64) * 1_000_000
            } else {
                rng.random_range(0..3_600_000_000i64)
            };
            executions.push(Execution {
                student,
                finish: base + TimeDelta::microseconds(micros),
                cell: CELLS[rng.random_range(0..CELLS.len())],
            });
        }
    }
    // Recorded in random order: among equal finish times the later-recorded one is latest.
    executions.shuffle(rng);
    executions
}

fn event(execution: &Execution) -> Value {
    let finish = execution
        .finish
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    json!({ "codeExecution": {
        "notebookId": NOTEBOOK, "userId": format!("random-{}", execution.student),
        "cellId": execution.cell, "origCellId": execution.cell,
        "tStart": finish, "tFinish": finish, "status": "OK", "cellInput": "x",
        "cellOutputModel": [], "cellOutputLength": 0, "languageMimetype": "text/x-python" } })
}

pub async fn randomized_class_matches(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NOTEBOOK).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NOTEBOOK).await;
    let mut rng = StdRng::seed_from_u64(20_261_124);
    let executions = random_class(&mut rng);
    assert!(
        executions.len() > 500,
        "a class big enough: {}",
        executions.len()
    );
    record(&app, executions.iter().map(event).collect()).await;

    let query = "query($nb: ID!, $start: DateTime!, $end: DateTime!, $order: [String!]) {
        notebook(id: $nb) { executionProgress(start: $start, end: $end, cellOrder: $order) {
            minute mean median firstQuartile thirdQuartile studentCount } } }";
    let cases: [(&str, &str, &[&str]); 3] = [
        ("2024-03-05T09:59:00Z", "2024-03-05T11:00:30Z", &CELLS[..8]),
        (
            "2024-03-05T10:07:30.25Z",
            "2024-03-05T10:52:10Z",
            &["c3", "c1", "c2", "c5", "c4", "c6", "c1", "c8"],
        ),
        (
            "2024-03-05T10:20:00Z",
            "2024-03-05T10:21:00Z",
            &["c8", "c2"],
        ),
    ];
    for (start, end, order) in cases {
        let response = app
            .graphql_as(
                &token,
                query,
                json!({ "nb": NOTEBOOK, "start": start, "end": end, "order": order }),
            )
            .await;
        let got = response.data()["notebook"]["executionProgress"]
            .as_array()
            .unwrap()
            .clone();
        let parse = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let runs: Vec<Run> = executions
            .iter()
            .map(|e| (e.student, e.finish, Some(e.cell)))
            .collect();
        let expected = progress_reference(&runs, parse(start), parse(end), order);
        assert!(!expected.is_empty());
        assert_eq!(got.len(), expected.len(), "points from {start} to {end}");
        for (got, expected) in got.iter().zip(&expected) {
            crate::assert_close!(got, expected, "from {start} to {end} with {order:?}");
        }
    }
}
