//! `bench live-analytics`: teachers' `notebookAnalytics` subscriptions (graphql-ws) on one
//! server process while students ingest: the latency from an event's commit (its ingest
//! request acknowledged) to each teacher's first value that counts it, and the server's CPU
//! time per ingested event without subscriptions, with one, and with all of them open.
//!
//! Latency is sampled with probe events: every 250 ms one execution of a cell of its own
//! (`bench-probe`), so the k-th probe is counted once a value shows k executions there, while
//! the students' events load the rest of the notebook.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    child::BenchDatabase,
    live::{open, percentile, receive, subscribe},
};

const NOTEBOOK: &str = "demo-class";
const PROBE_CELL: &str = "bench-probe";
const PROBE_EVERY: Duration = Duration::from_millis(250);
const SUBSCRIPTION: &str = "subscription { notebookAnalytics(notebookId: \"demo-class\") {
    computedAt codeExecutionsPerCell { cellId executionCount okExecutionCount focusCount }
    timePerCell { totalStudentCount } studentLocations { cellId studentCount } connectedStudents } }";

pub struct AnalyticsRun<'a> {
    pub database: &'a BenchDatabase,
    pub teachers: usize,
    pub students: usize,
    /// Events per second per student.
    pub rate: f64,
    pub seconds: u64,
    pub push_interval_ms: u64,
    pub refresh_throttle_ms: u64,
    pub redis_url: Option<String>,
}

/// A value a teacher received: how many probes it counts, and when it was read on the server
/// (`computedAt`) and received (wall clock: the bench and the server share the machine's).
struct Arrival {
    teacher: usize,
    counted: i64,
    computed_at: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
}

/// When a probe's ingest request was acknowledged (its event committed).
type Probe = DateTime<Utc>;
type Arrivals = mpsc::UnboundedReceiver<Arrival>;

pub async fn run(run: &AnalyticsRun<'_>) -> anyhow::Result<()> {
    if run.teachers == 0 {
        bail!("--teachers must be at least 1");
    }
    let database = run.database;
    let demo = ["demo-class", "--students", "30", "--cells", "10"];
    database
        .run(&[&demo[..], &["--events", "1000"]].concat(), &[])
        .await?;
    let admin = [
        "user",
        "create",
        "--username",
        "bench-admin",
        "--role",
        "admin",
    ];
    database
        .run(&admin, &[("USER_PASSWORD", "bench-admin-password")])
        .await?;
    let envs = server_env(run);
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (server, base) = database.serve_with(&envs).await?;
    let pid = server.id().context("server pid")?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let token = crate::live::login(&client, &base).await?;
    let addr = base.trim_start_matches("http://").to_owned();
    print_header(run);
    let (events, cpu) = measure_cpu(pid, load(&client, &base, run, None)).await?;
    let without = cpu / events as f64;
    // The figure compares 100 subscribers with one, which already pays for the computations.
    let (sender, mut arrivals) = mpsc::unbounded_channel();
    let mut readers = open_teachers(&addr, &token, 0..1, &sender).await?;
    let (events, cpu) = measure_cpu(pid, load(&client, &base, run, None)).await?;
    let one = cpu / events as f64;
    readers.extend(open_teachers(&addr, &token, 1..run.teachers, &sender).await?);
    // The first teacher's values so far counted no probe.
    while arrivals.try_recv().is_ok() {}
    let before = ComputationMetrics::read(&client, &base).await;
    let mut probes = Vec::new();
    let (events, cpu) = measure_cpu(pid, load(&client, &base, run, Some(&mut probes))).await?;
    tokio::time::sleep(Duration::from_millis(run.push_interval_ms) * 2 + PROBE_EVERY).await;
    let computations = ComputationMetrics::read(&client, &base)
        .await
        .since(&before);
    readers.iter().for_each(JoinHandle::abort);
    report_latency(&probes, arrivals, run.teachers);
    computations.report();
    let all = cpu / events as f64;
    println!(
        "server CPU per ingested event: {:.3} ms without subscriptions, {:.3} ms with 1 open, {:.3} ms with {} open ({:.2}× of one; {} events)",
        without * 1000.0,
        one * 1000.0,
        all * 1000.0,
        run.teachers,
        all / one,
        events
    );
    drop(server);
    Ok(())
}

fn server_env(run: &AnalyticsRun<'_>) -> Vec<(&'static str, String)> {
    let mut envs = vec![
        ("REFRESH_THROTTLE_MS", run.refresh_throttle_ms.to_string()),
        (
            "ANALYTICS_PUSH_INTERVAL_MS",
            run.push_interval_ms.to_string(),
        ),
        // The load comes from one address and the probes from one student.
        ("RATE_INGEST_IP_PER_SEC", "0".to_owned()),
    ];
    if let Some(url) = &run.redis_url {
        envs.push(("REDIS_URL", url.clone()));
        let prefix = format!("bench-{}", uuid::Uuid::new_v4().simple());
        envs.push(("REDIS_KEY_PREFIX", prefix));
    }
    envs
}

fn print_header(run: &AnalyticsRun<'_>) {
    println!(
        "# bench live-analytics: {} teacher subscriptions (one filter), {} students ingesting {}/s each for {} s, {} broker; ANALYTICS_PUSH_INTERVAL_MS={} REFRESH_THROTTLE_MS={}",
        run.teachers,
        run.students,
        run.rate,
        run.seconds,
        if run.redis_url.is_some() {
            "Redis"
        } else {
            "in-process"
        },
        run.push_interval_ms,
        run.refresh_throttle_ms
    );
}

/// Runs `work` and returns its result with the server's CPU seconds meanwhile.
async fn measure_cpu(
    pid: u32,
    work: impl Future<Output = anyhow::Result<u64>>,
) -> anyhow::Result<(u64, f64)> {
    let before = cpu_seconds(pid).context("server CPU time")?;
    let events = work.await?;
    let after = cpu_seconds(pid).context("server CPU time")?;
    Ok((events.max(1), after - before))
}

/// User + system CPU seconds of process `pid` (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The server's live analytics computations (`/metrics`), all feeds together: how many, and
/// how long they took. The latency is the push interval plus about one computation, so this
/// says which of the two a missed figure comes from.
#[derive(Default)]
struct ComputationMetrics {
    count: f64,
    seconds: f64,
    /// Computations that took at most 50 ms (a bucket of the server's histogram: what the
    /// 250 ms figure left a computation and its delivery at the old 200 ms push interval).
    within_50_ms: f64,
}

impl ComputationMetrics {
    async fn read(client: &reqwest::Client, base: &str) -> Self {
        let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
            return Self::default();
        };
        let text = response.text().await.unwrap_or_default();
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|value| value.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Self {
            count: value("analytics_computation_seconds_count"),
            seconds: value("analytics_computation_seconds_sum"),
            within_50_ms: value("analytics_computation_seconds_bucket{le=\"0.05\"}"),
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            count: self.count - before.count,
            seconds: self.seconds - before.seconds,
            within_50_ms: self.within_50_ms - before.within_50_ms,
        }
    }

    fn report(&self) {
        let count = self.count.max(1.0);
        println!(
            "analytics computations: {:.0}, mean {:.1} ms, {:.0} % within 50 ms",
            self.count,
            self.seconds / count * 1000.0,
            self.within_50_ms / count * 100.0
        );
    }
}

/// The students' load for the run's duration, and probes (their acknowledgement times) when
/// `probes` is given; returns the events acknowledged.
async fn load(
    client: &reqwest::Client,
    base: &str,
    run: &AnalyticsRun<'_>,
    probes: Option<&mut Vec<Probe>>,
) -> anyhow::Result<u64> {
    let until = Instant::now() + Duration::from_secs(run.seconds);
    let every = Duration::from_secs_f64(1.0 / run.rate.max(0.01));
    let students: Vec<JoinHandle<anyhow::Result<u64>>> = (0..run.students)
        .map(|index| {
            let (client, base) = (client.clone(), base.to_owned());
            let cell = format!("cell-{:03}", index % 10);
            tokio::spawn(async move {
                let user = format!("bench-load-{index}");
                let mut sent = 0;
                while Instant::now() < until {
                    ingest(&client, &base, &user, &cell).await?;
                    sent += 1;
                    tokio::time::sleep(every).await;
                }
                Ok(sent)
            })
        })
        .collect();
    let mut events = 0;
    if let Some(probes) = probes {
        while Instant::now() < until {
            ingest(client, base, "bench-prober", PROBE_CELL).await?;
            probes.push(Utc::now());
            tokio::time::sleep(PROBE_EVERY).await;
        }
        events += probes.len() as u64;
    }
    for student in students {
        events += student.await??;
    }
    Ok(events)
}

async fn ingest(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    cell: &str,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().to_rfc3339();
    let event = json!({ "notebookId": NOTEBOOK, "userId": user, "cellId": cell, "origCellId": cell,
        "tStart": now, "tFinish": now, "status": "OK", "cellInput": "x = 1", "cellOutputModel": [],
        "cellOutputLength": 0, "languageMimetype": "text/x-python" });
    let body = json!({ "query": "mutation($e: CodeExecutionInput!) { recordCodeExecution(event: $e) { acceptedCount } }",
        "variables": { "e": event } });
    let response: Value = client
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    if response["data"]["recordCodeExecution"]["acceptedCount"] != 1 {
        bail!("ingest refused: {response}");
    }
    Ok(())
}

/// Opens the subscriptions of teachers `teachers`, waits for each one's first value, and starts
/// a reader per socket, which sends what it receives to `sender`.
async fn open_teachers(
    addr: &str,
    token: &str,
    teachers: std::ops::Range<usize>,
    sender: &mpsc::UnboundedSender<Arrival>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let mut readers = Vec::with_capacity(teachers.len());
    for teacher in teachers {
        let payload = json!({ "authorization": format!("Bearer {token}") });
        let mut socket = open(addr, payload).await?;
        subscribe(&mut socket, "a", SUBSCRIPTION).await?;
        let first = receive(&mut socket).await?;
        if first["type"] != "next" || first["payload"]["errors"].is_array() {
            bail!("no first value: {first}");
        }
        let sender = sender.clone();
        readers.push(tokio::spawn(async move {
            while let Ok(message) = receive(&mut socket).await {
                let value = &message["payload"]["data"]["notebookAnalytics"];
                let computed_at = value["computedAt"].as_str().and_then(|at| at.parse().ok());
                let _ = sender.send(Arrival {
                    teacher,
                    counted: probes_counted(value),
                    computed_at,
                    received_at: Utc::now(),
                });
            }
        }));
    }
    Ok(readers)
}

fn probes_counted(value: &Value) -> i64 {
    let cells = value["codeExecutionsPerCell"].as_array();
    cells
        .into_iter()
        .flatten()
        .find(|cell| cell["cellId"] == PROBE_CELL)
        .and_then(|cell| cell["executionCount"].as_i64())
        .unwrap_or(0)
}

/// Per probe and teacher: from the probe's acknowledgement to the teacher's first value
/// counting it, and that split in two: until the value was read on the server (the wait for
/// the next computation, at most a push interval) and from then until it was received (the
/// computation, the hold to keep values an interval apart, and the delivery).
fn report_latency(probes: &[Probe], mut arrivals: Arrivals, teachers: usize) {
    let mut values: Vec<Vec<Arrival>> = (0..teachers).map(|_| Vec::new()).collect();
    while let Ok(arrival) = arrivals.try_recv() {
        if let Some(received) = values.get_mut(arrival.teacher) {
            received.push(arrival);
        }
    }
    let (mut latencies, mut waits, mut afters) = (Vec::new(), Vec::new(), Vec::new());
    let mut missed = 0;
    let span = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).to_std().unwrap_or_default();
    for received in &values {
        for (k, acked) in probes.iter().enumerate() {
            let Some(first) = received.iter().find(|value| value.counted > k as i64) else {
                missed += 1;
                continue;
            };
            latencies.push(span(*acked, first.received_at));
            if let Some(computed_at) = first.computed_at {
                waits.push(span(*acked, computed_at));
                afters.push(span(computed_at, first.received_at));
            }
        }
    }
    for list in [&mut latencies, &mut waits, &mut afters] {
        list.sort();
    }
    let per_teacher = values.iter().map(Vec::len).sum::<usize>() as f64 / teachers.max(1) as f64;
    println!(
        "event committed → value received: p50 {:.1} ms p99 {:.1} ms max {:.1} ms ({} samples: {} probes × {teachers} teachers; {missed} never counted); {per_teacher:.1} values per teacher",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies
            .last()
            .map_or(f64::NAN, |max| max.as_secs_f64() * 1000.0),
        latencies.len(),
        probes.len()
    );
    println!(
        "  of which committed → read (computedAt): p50 {:.1} ms p99 {:.1} ms; read → received: p50 {:.1} ms p99 {:.1} ms",
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        percentile(&afters, 0.5),
        percentile(&afters, 0.99),
    );
}
