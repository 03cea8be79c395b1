//! The clients: N tasks sharing one `reqwest::Client`, each sending one request after the other
//! until the deadline (a request in flight at the deadline is finished and counted).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::{SecondsFormat, Utc};
use clap::ValueEnum;
use serde_json::{Value, json};

/// Students and cells of the simulated class (300 students × 60 cells).
const STUDENTS: usize = 300;
const CELLS: usize = 60;

const CELL_FOCUS_MUTATION: &str =
    "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
const RECORD_EVENTS_MUTATION: &str =
    "mutation($events: [EventInput!]!) { recordEvents(events: $events) { acceptedCount } }";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One `recordCellFocus` mutation per request.
    Graphql,
    /// One old-extension `POST /send/clickevent/cell` per request.
    Rest,
    /// `recordEvents` with `--batch-size` mixed events (code executions and cell focus).
    Batch,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Graphql => "graphql",
            Self::Rest => "rest",
            Self::Batch => "batch",
        }
    }
}

pub struct Workload {
    mode: Mode,
    notebook: String,
    batch_size: usize,
    graphql_url: String,
    rest_url: String,
    students: Vec<String>,
    cells: Vec<String>,
}

impl Workload {
    pub fn new(mode: Mode, notebook: String, batch_size: usize, base_url: String) -> Self {
        // Student ids as JupyterHub hands them out (uuids); cell ids of 30 characters.
        let students = (0..STUDENTS)
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let cells = (0..CELLS)
            .map(|_| uuid::Uuid::new_v4().simple().to_string()[..30].to_owned())
            .collect();
        Self {
            mode,
            notebook,
            batch_size,
            graphql_url: format!("{base_url}/graphql"),
            rest_url: format!("{base_url}/send/clickevent/cell"),
            students,
            cells,
        }
    }

    /// Events carried by one request.
    fn events_per_request(&self) -> u64 {
        match self.mode {
            Mode::Graphql | Mode::Rest => 1,
            Mode::Batch => self.batch_size as u64,
        }
    }

    fn body(&self, rng: &mut Rng) -> Value {
        match self.mode {
            Mode::Graphql => json!({
                "query": CELL_FOCUS_MUTATION,
                "variables": { "e": self.cell_focus(rng) },
            }),
            Mode::Rest => {
                let (student, cell) = (self.student(rng), self.cell(rng));
                let on = rng.next().is_multiple_of(2);
                json!({
                    "notebook_id": self.notebook,
                    "user_id": student,
                    "cell_id": cell,
                    "orig_cell_id": cell,
                    "click_type": if on { "ON" } else { "OFF" },
                    "time": now(),
                    "click_duration": if on { Value::Null } else { json!(duration(rng)) },
                })
            }
            Mode::Batch => {
                let events: Vec<Value> = (0..self.batch_size)
                    .map(|i| {
                        if i % 2 == 0 {
                            json!({ "codeExecution": self.code_execution(rng) })
                        } else {
                            json!({ "cellFocus": self.cell_focus(rng) })
                        }
                    })
                    .collect();
                json!({
                    "query": RECORD_EVENTS_MUTATION,
                    "variables": { "events": events },
                })
            }
        }
    }

    fn student<'a>(&'a self, rng: &mut Rng) -> &'a str {
        &self.students[rng.below(self.students.len())]
    }

    fn cell<'a>(&'a self, rng: &mut Rng) -> &'a str {
        &self.cells[rng.below(self.cells.len())]
    }

    /// A GraphQL `CellFocusInput` (the current extension sends an `eventId` for retries).
    fn cell_focus(&self, rng: &mut Rng) -> Value {
        let (student, cell) = (self.student(rng), self.cell(rng));
        let on = rng.next().is_multiple_of(2);
        json!({
            "notebookId": self.notebook,
            "userId": student,
            "eventId": uuid::Uuid::new_v4(),
            "cellId": cell,
            "origCellId": cell,
            "clickType": if on { "ON" } else { "OFF" },
            "time": now(),
            "clickDuration": if on { Value::Null } else { json!(duration(rng)) },
        })
    }

    /// A GraphQL `CodeExecutionInput` with a small nbformat outputs array.
    fn code_execution(&self, rng: &mut Rng) -> Value {
        let (student, cell) = (self.student(rng), self.cell(rng));
        let finish = Utc::now();
        let start = finish - chrono::Duration::milliseconds(rng.below(2000) as i64 + 5);
        let n = rng.below(1000);
        json!({
            "notebookId": self.notebook,
            "userId": student,
            "eventId": uuid::Uuid::new_v4(),
            "cellId": cell,
            "origCellId": cell,
            "tStart": start.to_rfc3339_opts(SecondsFormat::Millis, true),
            "tFinish": finish.to_rfc3339_opts(SecondsFormat::Millis, true),
            "status": "OK",
            "cellInput": format!("import numpy as np\nx = np.arange({n})\nprint(x.sum())"),
            "cellOutputModel": [
                { "output_type": "stream", "name": "stdout", "text": format!("{}\n", n * n.saturating_sub(1) / 2) }
            ],
            "cellOutputLength": 1,
            "languageMimetype": "text/x-python",
        })
    }

    /// Sends one request; `Ok` only when the server acknowledged every event in it.
    async fn send(&self, client: &reqwest::Client, body: &Value) -> Result<(), String> {
        let url = match self.mode {
            Mode::Rest => &self.rest_url,
            Mode::Graphql | Mode::Batch => &self.graphql_url,
        };
        let response = client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|error| format!("transport: {error}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| format!("reading the body: {error}"))?;
        if !status.is_success() {
            return Err(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        if self.mode == Mode::Rest {
            return Ok(());
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|error| format!("not JSON ({error}): {}", String::from_utf8_lossy(&bytes)))?;
        let field = match self.mode {
            Mode::Batch => "recordEvents",
            Mode::Graphql | Mode::Rest => "recordCellFocus",
        };
        let accepted = answer["data"][field]["acceptedCount"].as_u64();
        if answer.get("errors").is_some() || accepted != Some(self.events_per_request()) {
            return Err(format!("GraphQL: {answer}"));
        }
        Ok(())
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Seconds a cell stayed focused.
fn duration(rng: &mut Rng) -> f64 {
    (rng.below(120_000) as f64 + 200.0) / 1000.0
}

/// What one run produced, all client tasks merged.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Latency of every request, sorted.
    pub latencies: Vec<Duration>,
    pub ok_requests: u64,
    pub ok_events: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

/// Runs `concurrency` clients for `duration`, then waits for the requests in flight.
pub async fn run(
    client: &reqwest::Client,
    workload: &Arc<Workload>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|index| {
            let client = client.clone();
            let workload = Arc::clone(workload);
            tokio::spawn(async move { client_loop(&client, &workload, index, deadline).await })
        })
        .collect();
    let mut merged = LoadResult::default();
    for task in futures::future::join_all(tasks).await {
        let part = task.context("a client task panicked")?;
        merged.latencies.extend(part.latencies);
        merged.ok_requests += part.ok_requests;
        merged.ok_events += part.ok_events;
        merged.errors += part.errors;
        if merged.first_error.is_none() {
            merged.first_error = part.first_error;
        }
    }
    merged.elapsed = started.elapsed();
    merged.latencies.sort_unstable();
    Ok(merged)
}

async fn client_loop(
    client: &reqwest::Client,
    workload: &Workload,
    index: usize,
    deadline: Instant,
) -> LoadResult {
    let mut rng = Rng::new(index as u64);
    let mut result = LoadResult::default();
    let events = workload.events_per_request();
    while Instant::now() < deadline {
        let body = workload.body(&mut rng);
        let started = Instant::now();
        let outcome = workload.send(client, &body).await;
        result.latencies.push(started.elapsed());
        match outcome {
            Ok(()) => {
                result.ok_requests += 1;
                result.ok_events += events;
            }
            Err(error) => {
                result.errors += 1;
                result.first_error.get_or_insert(error);
            }
        }
    }
    result
}

/// xorshift64*: cheap, deterministic per client, good enough to pick students and cells.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
