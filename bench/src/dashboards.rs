//! `bench dashboards`: p50/p99 of every dashboard query on a synthetic class (`api
//! demo-class`), at each class size, with the server in its own process; then the CSV export's
//! throughput and the server's peak RSS growth while it streams.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    Backend,
    child::{BenchDatabase, rss_kib},
};

const NOTEBOOK: &str = "demo-class";
const USER: &str = "bench-admin";
const PASSWORD: &str = "bench-admin-password";

/// A query whose first run takes longer than this is timed [`SLOW_REPEATS`] times, not
/// `repeats`: at 15 M events a whole-course read of raw values takes seconds, and thirty of
/// each would hold the bench for an hour. Its line shows its `n`.
const SLOW: Duration = Duration::from_secs(1);
const SLOW_REPEATS: usize = 5;

pub struct DashboardRun {
    pub backend: Backend,
    pub admin_url: String,
    pub students: usize,
    pub cells: usize,
    pub events: usize,
    /// Timed repetitions of each query (after three unmeasured ones).
    pub repeats: usize,
}

pub async fn run(run: &DashboardRun) -> anyhow::Result<()> {
    let database = BenchDatabase::create(run.backend, &run.admin_url).await?;
    let outcome = measure(run, &database).await;
    database.drop_all().await;
    outcome
}

async fn measure(run: &DashboardRun, database: &BenchDatabase) -> anyhow::Result<()> {
    let loaded = Instant::now();
    let students = run.students.to_string();
    let cells = run.cells.to_string();
    let events = run.events.to_string();
    // One two-hour session holds 150 000 events whatever the class size, so the dashboards'
    // window (the last session) reads the same rows at 0.15 M and at 1.5 M events: what grows
    // is the table, and the cost should not.
    let sessions = (run.events / 150_000).max(1).to_string();
    let summary = database
        .run(
            &[
                "demo-class",
                "--students",
                &students,
                "--cells",
                &cells,
                "--events",
                &events,
                "--sessions",
                &sessions,
            ],
            &[],
        )
        .await?;
    let last_session = summary
        .rsplit("started at ")
        .next()
        .map(str::trim)
        .context("demo-class printed no session start")?
        .to_owned();
    database
        .run(
            &["user", "create", "--username", USER, "--role", "admin"],
            &[("USER_PASSWORD", PASSWORD)],
        )
        .await?;
    println!(
        "# bench dashboards: {} students, {} cells, {} events in {sessions} sessions on {} (loaded in {:.0} s); window: the last session (after {last_session})",
        run.students,
        run.cells,
        run.events,
        run.backend.name(),
        loaded.elapsed().as_secs_f64()
    );
    // One dashboard user asks every query back to back: it measures the queries, not the
    // per-user rate limiter (fast answers run past its 50 per second).
    let (server, base) = database.serve_with(&[("RATE_USER_PER_SEC", "0")]).await?;
    let pid = server.id().context("server pid")?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let token = login(&client, &base).await?;
    let end = chrono::DateTime::parse_from_rfc3339(&last_session)?
        + chrono::Duration::minutes(api::services::demo::SESSION_LENGTH_MINUTES);
    for (label, after) in [
        ("last session", Some(last_session.as_str())),
        ("whole course", None),
    ] {
        println!("## {label}");
        let mut slowest: Option<(String, f64)> = None;
        for (name, query, variables) in queries(after, &end.to_rfc3339()) {
            let timings =
                match time_query(&client, &base, &token, &query, &variables, run.repeats).await {
                    Ok(timings) => timings,
                    // A read past the statement timeout is a figure too (the largest classes
                    // find them); the other queries are still measured.
                    Err(error) => {
                        println!("{name:<32} FAILED: {error:#}");
                        continue;
                    }
                };
            println!("{}", latency_line(name, &timings));
            let p50 = percentile(&timings, 0.5);
            if slowest.as_ref().is_none_or(|(_, worst)| p50 > *worst) {
                slowest = Some((name.to_owned(), p50));
            }
        }
        if let Some((name, p50)) = slowest {
            println!("slowest ({label}): {name} (p50 {p50:.2} ms)");
        }
    }
    explain(database, &last_session, &end.to_rfc3339()).await?;
    export(&client, &base, &token, pid).await?;
    drop(server);
    Ok(())
}

/// (name, query, variables) of every dashboard aggregate over the last session (`after`),
/// what a teacher's dashboard asks while the class runs, or over the whole course (`None`;
/// the progress series, at most a day long, is left out there).
pub fn queries(after: Option<&str>, end: &str) -> Vec<(&'static str, String, Value)> {
    let filter = json!({ "nb": NOTEBOOK, "filter": { "after": after } });
    let field = |selection: &str| {
        format!(
            "query($nb: ID!, $filter: AnalyticsFilter) {{ notebook(id: $nb) {{ {selection} }} }}"
        )
    };
    let progress =
        json!({ "nb": NOTEBOOK, "filter": { "after": after }, "start": after, "end": end });
    let groups = json!({ "nb": NOTEBOOK, "filter": { "after": after, "groups": ["1", "2", "3"] } });
    let mut queries = vec![
        ("codeExecutionsPerCell", field("codeExecutionsPerCell(filter: $filter) { cellId executionCount okExecutionCount focusCount }"), filter.clone()),
        ("codeExecutionsPerCell, 3 groups", field("codeExecutionsPerCell(filter: $filter) { cellId executionCount okExecutionCount focusCount }"), groups),
        ("timePerCell", field("timePerCell(filter: $filter) { totalStudentCount cells { cellId averageDuration studentCount } }"), filter.clone()),
        ("focusDurationsPerCell (page of 1000)", field("focusDurationsPerCell(filter: $filter) { cellId durations totalCount }"), filter.clone()),
        ("focusDurationSummary", field("focusDurationSummary(filter: $filter) { cellId count min firstQuartile median thirdQuartile max mean histogram { count } }"), filter.clone()),
        ("executionProgress (120 min)", "query($nb: ID!, $filter: AnalyticsFilter, $start: DateTime!, $end: DateTime!) { notebook(id: $nb) { executionProgress(start: $start, end: $end, filter: $filter) { minute mean median firstQuartile thirdQuartile studentCount } } }".to_owned(), progress),
        ("latestAttempts (by input length)", field("latestAttempts(cellId: \"cell-002\", sort: INPUT_LENGTH, limit: 50, filter: $filter) { totalCount attempts { userId inputLength outputLength status } }"), filter.clone()),
        ("studentLocations", field("studentLocations(filter: $filter) { cellId studentCount }"), filter.clone()),
        ("connectedStudents", field("connectedStudents(filter: $filter)"), filter.clone()),
        ("groups", field("groups(filter: $filter) { id name memberCount }"), filter.clone()),
        ("pendingUpdateStats", field("pendingUpdateStats(filter: $filter) { cellId updateId pushedAt updateNowCount updateLaterCount postponed { userId laterActions { action time } } }"), filter.clone()),
        ("eventCounts", field("eventCounts(filter: $filter) { totalCount firstEventAt lastEventAt kinds { kind count } }"), filter),
    ];
    if after.is_none() {
        queries.retain(|(name, _, _)| !name.starts_with("executionProgress"));
    }
    queries
}

async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let query =
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }";
    let body = graphql(
        client,
        base,
        None,
        query,
        &json!({ "u": USER, "p": PASSWORD }),
    )
    .await?;
    body["data"]["login"]["accessToken"]
        .as_str()
        .map(str::to_owned)
        .context("no access token")
}

async fn graphql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: &Value,
) -> anyhow::Result<Value> {
    let body = answer(client, base, token, query, variables).await?;
    parsed(body.as_ref())
}

/// The answer's bytes, all of them received: what a latency is timed to, as HTTP load
/// generators (wrk, oha) time it; parsing them is the client's work, not the server's (for
/// the whole course's pages, 417 KB of JSON, it took 2-3 ms here).
async fn answer(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: &Value,
) -> anyhow::Result<impl AsRef<[u8]>> {
    let mut request = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.bytes().await?)
}

/// `body` as JSON, failing on GraphQL errors.
fn parsed(body: &[u8]) -> anyhow::Result<Value> {
    let body: Value = serde_json::from_slice(body)?;
    if body.get("errors").is_some() {
        bail!("query failed: {body}");
    }
    Ok(body)
}

async fn time_query(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: &Value,
    repeats: usize,
) -> anyhow::Result<Vec<Duration>> {
    let started = Instant::now();
    graphql(client, base, Some(token), query, variables).await?;
    let repeats = if started.elapsed() > SLOW {
        SLOW_REPEATS
    } else {
        repeats
    };
    for _ in 0..2 {
        graphql(client, base, Some(token), query, variables).await?;
    }
    let mut timings = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let started = Instant::now();
        let body = answer(client, base, Some(token), query, variables).await?;
        timings.push(started.elapsed());
        parsed(body.as_ref())?;
    }
    timings.sort();
    Ok(timings)
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn latency_line(name: &str, sorted: &[Duration]) -> String {
    format!(
        "{name:<32} p50 {:>7.2} ms  p99 {:>7.2} ms  (n = {})",
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted.len()
    )
}

/// Streams the whole notebook's events CSV, sampling the server's RSS as it goes.
async fn export(client: &reqwest::Client, base: &str, token: &str, pid: u32) -> anyhow::Result<()> {
    let baseline = rss_kib(pid).context("server RSS")?;
    let started = Instant::now();
    let response = client
        .get(format!("{base}/export/notebooks/{NOTEBOOK}/events.csv"))
        .bearer_auth(token)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("export failed: {}", response.status());
    }
    let mut body = response.bytes_stream();
    let (mut bytes, mut peak) = (0u64, baseline);
    while let Some(chunk) = body.next().await {
        bytes += chunk?.len() as u64;
        peak = peak.max(rss_kib(pid).unwrap_or(0));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "csv export: {:.1} MB in {seconds:.2} s = {:.1} MB/s; server RSS {:.1} MiB before, peak growth {:.1} MiB",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / seconds,
        baseline as f64 / 1024.0,
        peak.saturating_sub(baseline) as f64 / 1024.0
    );
    Ok(())
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the two heaviest aggregates (the pending-update statistics
/// and the progress series, its rollup statement and its fallback scan), on the bench's database, with the bench's window.
async fn explain(database: &BenchDatabase, after: &str, end: &str) -> anyhow::Result<()> {
    use api::services::{dashboards, notebooks};
    use sea_orm::{ConnectionTrait, Statement};
    let db = api::db::connect(&database.url, api::db::DbTimeouts::default()).await?;
    let notebook = notebooks::get_by_public_id(&db, NOTEBOOK)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))?;
    let scope = dashboards::Scope {
        notebook_id: notebook.id,
        after: Some(chrono::DateTime::parse_from_rfc3339(after)?.to_utc()),
        ..Default::default()
    };
    let request = dashboards::ProgressRequest {
        start: chrono::DateTime::parse_from_rfc3339(after)?.to_utc(),
        end: chrono::DateTime::parse_from_rfc3339(end)?.to_utc(),
        cell_order: notebooks::current_cell_order(&db, notebook.id)
            .await
            .map_err(|error| anyhow::anyhow!("{error:?}"))?,
        now: chrono::Utc::now(),
    };
    let progress = dashboards::execution_progress_statements(&db, &scope, &request)
        .map_err(|error| anyhow::anyhow!("{error:?}"))?;
    let pending = (
        "pendingUpdateStats",
        dashboards::pending_updates_statement(&db, &scope),
    );
    let statements = std::iter::once(pending).chain(progress);
    let backend = db.get_database_backend();
    let prefix = match backend {
        sea_orm::DbBackend::Postgres => "EXPLAIN (ANALYZE, BUFFERS) ",
        _ => "EXPLAIN QUERY PLAN ",
    };
    for (name, statement) in statements {
        let sql = format!("{prefix}{}", statement.sql);
        let explained = Statement::from_sql_and_values(
            backend,
            sql,
            statement.values.map(|v| v.0).unwrap_or_default(),
        );
        println!("EXPLAIN {name}:");
        for row in db.query_all_raw(explained).await? {
            let line: String = row
                .try_get_by_index(0)
                .or_else(|_| row.try_get_by_index::<String>(3))
                .unwrap_or_default();
            println!("    {line}");
        }
    }
    db.close().await.ok();
    Ok(())
}
