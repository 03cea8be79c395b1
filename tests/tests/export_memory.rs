//! The events export streams: exporting a notebook whose CSV is far larger than the allowed
//! growth of the process's memory must not grow it by more than a few MiB. A test binary of its
//! own, so no other test allocates in the process while it measures.

use api::auth::Role;
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
use serde_json::json;
use tests::{Backend, TestApp};

const NOTEBOOK: &str = "nb-large";
const ROWS: u64 = 400_000;
/// TARGETS.md: peak RSS growth of an export ≤ 20 MB.
const MAX_GROWTH_BYTES: u64 = 20 * 1024 * 1024;

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// One focus event through the API (so its time is stored exactly as ingest stores it), then
/// `ROWS - 1` copies of it with 300 students (64-character pseudonyms, like real ones) and 60
/// cells, made by the database itself.
async fn fill(app: &TestApp) {
    let event = json!({ "notebookId": NOTEBOOK, "userId": "seed", "cellId": "c", "origCellId": "c",
        "clickType": "OFF", "time": "2026-11-02T09:00:00Z", "clickDuration": 12.5 });
    let mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
    app.graphql(mutation, json!({ "e": event })).await.data();
    let copies = match app.backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS} - 1)
             INSERT INTO cell_focus_events
                 (notebook_id, user_id, cell_id, orig_cell_id, click_type, time, click_duration)
             SELECT e.notebook_id, substr(e.user_id, 1, 60) || printf('%04d', n.i % 300), 'cell-' || (n.i % 60),
                    'orig-cell-' || (n.i % 60), e.click_type, e.time, n.i % 97
             FROM n, cell_focus_events e"
        ),
        Backend::Postgres => format!(
            "INSERT INTO cell_focus_events
                 (notebook_id, user_id, cell_id, orig_cell_id, click_type, time, click_duration)
             SELECT e.notebook_id, substr(e.user_id, 1, 60) || lpad((n % 300)::text, 4, '0'), 'cell-' || (n % 60),
                    'orig-cell-' || (n % 60), e.click_type, e.time, n % 97
             FROM generate_series(1, {ROWS} - 1) AS n, cell_focus_events e"
        ),
    };
    let backend = match app.backend {
        Backend::Sqlite => DatabaseBackend::Sqlite,
        Backend::Postgres => DatabaseBackend::Postgres,
    };
    // One big statement: exempt it from the server's statement timeout like a migration.
    let txn = app.state.db.begin().await.unwrap();
    if backend == DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await
            .unwrap();
    }
    txn.execute_raw(Statement::from_string(backend, copies))
        .await
        .unwrap();
    txn.commit().await.unwrap();
}

/// Streams the export, discarding chunks, and returns (CSV bytes, largest RSS growth seen).
async fn export_and_measure(app: &TestApp, token: &str) -> (u64, u64) {
    let baseline = resident_bytes();
    let response = app
        .client
        .get(app.url(&format!("/export/notebooks/{NOTEBOOK}/events.csv")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.bytes_stream();
    let (mut bytes, mut peak) = (0u64, 0u64);
    while let Some(chunk) = body.next().await {
        bytes += chunk.unwrap().len() as u64;
        peak = peak.max(resident_bytes().saturating_sub(baseline));
    }
    (bytes, peak)
}

async fn check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NOTEBOOK).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NOTEBOOK).await;
    fill(&app).await;
    let (bytes, growth) = export_and_measure(&app, &token).await;
    eprintln!(
        "{backend:?}: exported {:.1} MB, RSS growth at most {:.1} MB",
        bytes as f64 / 1e6,
        growth as f64 / 1e6
    );
    assert!(
        bytes > 2 * MAX_GROWTH_BYTES,
        "the export ({bytes} bytes) is not large enough"
    );
    assert!(
        growth <= MAX_GROWTH_BYTES,
        "{backend:?}: exporting {bytes} bytes grew RSS by {growth} bytes"
    );
}

/// Both backends in one test, one after the other, so neither measures the other's work.
#[tokio::test]
async fn exporting_a_large_notebook_streams_in_bounded_memory() {
    check(Backend::Sqlite).await;
    if Backend::postgres_available() {
        check(Backend::Postgres).await;
    }
}
