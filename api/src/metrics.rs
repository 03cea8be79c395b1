//! Prometheus metrics (`GET /metrics`). Counters and histograms are recorded where things happen
//! (through the `metrics` facade); gauges that are cheaper to read than to track (database pool,
//! ingest queue, writer restarts) are sampled at scrape time.
//!
//! Names: `graphql_requests_total{operation,outcome}`, `graphql_request_duration_seconds`,
//! `ingest_events_total{kind}`, `ingest_commit_rows`, `ingest_queue_depth`,
//! `ingest_writer_restarts_total`, `websocket_connections{protocol}`,
//! `graphql_ws_active_operations`, `live_sessions{role}`, `broker_published_total`,
//! `live_events_delivered_total{transport}`, `db_pool_connections{state}`,
//! `rate_limited_total{key}`, `analytics_feeds_active` (live analytics computations running),
//! `analytics_computations_total`.

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseBackend, DatabaseConnection};

/// Distinct operation names kept as labels; later ones are counted as `other`, so clients
/// cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static OPERATION_NAMES: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// Installs the process-wide recorder once (every app of a test process shares it).
pub fn install() {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".to_owned()),
                &[
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("ingest_commit_rows".to_owned()),
                    &[1.0, 10.0, 100.0, 500.0, 1000.0, 5000.0],
                )
            })
            .map(PrometheusBuilder::build_recorder);
        match recorder {
            Ok(recorder) => {
                let handle = recorder.handle();
                // Fails only if another recorder is installed: then ours records nothing.
                metrics::set_global_recorder(recorder).ok().map(|()| handle)
            }
            Err(error) => {
                tracing::error!(%error, "metrics recorder not installed");
                None
            }
        }
    });
}

/// The text exposition, with the sampled gauges refreshed first: the ingest queue's depth and
/// the database pool's use.
pub fn render(ingest_queue_depth: usize, db: &DatabaseConnection) -> String {
    sample(ingest_queue_depth, db);
    match HANDLE.get() {
        Some(Some(handle)) => handle.render(),
        _ => String::new(),
    }
}

fn sample(ingest_queue_depth: usize, db: &DatabaseConnection) {
    metrics::gauge!("ingest_queue_depth").set(ingest_queue_depth as f64);
    let (size, idle) = pool_usage(db);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
}

/// (open, idle) connections of the database pool.
fn pool_usage(db: &DatabaseConnection) -> (u32, u32) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            )
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            )
        }
        _ => (0, 0),
    }
}

/// Counts one request of `operation` (its name, if any) that ended with `outcome`.
pub fn record_request(operation: Option<&str>, outcome: &str, started: std::time::Instant) {
    let operation = label_for(operation);
    metrics::histogram!("graphql_request_duration_seconds", "operation" => operation.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("graphql_requests_total", "operation" => operation, "outcome" => outcome.to_owned())
        .increment(1);
}

/// The label for a client-chosen operation name.
fn label_for(name: Option<&str>) -> String {
    let Some(name) = name.filter(|name| {
        name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) else {
        return "anonymous".to_owned();
    };
    let names = OPERATION_NAMES.get_or_init(|| Mutex::new(HashSet::new()));
    let mut names = names
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if names.contains(name) || names.len() < MAX_OPERATION_NAMES {
        names.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}
