//! `bench live`: 1 000 student subscriptions on one server process (in-process broker or
//! Redis), the server's RSS with them open, the latency from a push to each student, and from
//! an ingested event to the teacher's refresh signal (leading edge).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::child::{BenchDatabase, rss_kib};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const NOTEBOOK: &str = "demo-class";

pub struct LiveRun<'a> {
    pub database: &'a BenchDatabase,
    pub students: usize,
    pub samples: usize,
    pub redis_url: Option<String>,
}

pub async fn run(run: &LiveRun<'_>) -> anyhow::Result<()> {
    let database = run.database;
    database
        .run(
            &[
                "demo-class",
                "--students",
                "30",
                "--cells",
                "10",
                "--events",
                "1000",
            ],
            &[],
        )
        .await?;
    database
        .run(
            &[
                "user",
                "create",
                "--username",
                "bench-admin",
                "--role",
                "admin",
            ],
            &[("USER_PASSWORD", "bench-admin-password")],
        )
        .await?;
    let mut envs = vec![("REFRESH_THROTTLE_MS", "200".to_owned())];
    if let Some(url) = &run.redis_url {
        envs.push(("REDIS_URL", url.clone()));
        envs.push((
            "REDIS_KEY_PREFIX",
            format!("bench-{}", uuid::Uuid::new_v4().simple()),
        ));
    }
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (server, base) = database.serve_with(&envs).await?;
    let pid = server.id().context("server pid")?;
    let idle = rss_kib(pid).unwrap_or(0);
    let client = reqwest::Client::builder().no_proxy().build()?;
    let token = login(&client, &base).await?;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut teacher = open(&addr, json!({ "authorization": format!("Bearer {token}") })).await?;
    subscribe(
        &mut teacher,
        "d",
        "subscription { dashboardSession(notebookId: \"demo-class\") { __typename } }",
    )
    .await?;
    let (arrivals, _readers) = open_students(&addr, run.students).await?;
    let connected = wait_connected(&client, &base, &token, run.students).await?;
    let rss = rss_kib(pid).unwrap_or(0);
    println!(
        "# bench live: {} student subscriptions ({} broker); server RSS {:.1} MiB idle, {:.1} MiB with them open; all listed in connectedStudents {:.2} s after the last socket opened",
        run.students,
        if run.redis_url.is_some() {
            "Redis"
        } else {
            "in-process"
        },
        idle as f64 / 1024.0,
        rss as f64 / 1024.0,
        connected.as_secs_f64()
    );
    push_latency(&client, &base, &token, run, arrivals).await?;
    refresh_latency(&client, &base, &mut teacher, run.samples).await?;
    drop(server);
    Ok(())
}

pub(crate) async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let body = json!({ "query": "mutation { login(username: \"bench-admin\", password: \"bench-admin-password\") { accessToken } }" });
    let response: Value = client
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    response["data"]["login"]["accessToken"]
        .as_str()
        .map(str::to_owned)
        .context("login")
}

pub(crate) async fn open(addr: &str, payload: Value) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = connect_async(request).await?;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await?;
    let ack = receive(&mut socket).await?;
    if ack["type"] != "connection_ack" {
        bail!("no ack: {ack}");
    }
    Ok(socket)
}

async fn send(socket: &mut Socket, message: Value) -> anyhow::Result<()> {
    socket
        .send(Message::Text(message.to_string().into()))
        .await?;
    Ok(())
}

pub(crate) async fn subscribe(socket: &mut Socket, id: &str, query: &str) -> anyhow::Result<()> {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await
}

/// The next protocol message, answering pings.
pub(crate) async fn receive(socket: &mut Socket) -> anyhow::Result<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no message within 30 s")?
            .context("socket closed")??;
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text)?;
            if value["type"] == "ping" {
                send(socket, json!({ "type": "pong" })).await?;
                continue;
            }
            return Ok(value);
        }
    }
}

/// Opens `count` student sessions; each reader task reports (student, update id, when).
type Arrivals = mpsc::UnboundedReceiver<(usize, String, Instant)>;

async fn open_students(
    addr: &str,
    count: usize,
) -> anyhow::Result<(Arrivals, Vec<tokio::task::JoinHandle<()>>)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut readers = Vec::with_capacity(count);
    for index in 0..count {
        let mut socket = open(addr, json!({})).await?;
        let query = format!(
            "subscription {{ studentSession(notebookId: \"{NOTEBOOK}\", userId: \"bench-student-{index}\") {{ ... on PushedUpdate {{ updateId }} }} }}"
        );
        subscribe(&mut socket, "s", &query).await?;
        let sender = sender.clone();
        readers.push(tokio::spawn(async move {
            while let Ok(message) = receive(&mut socket).await {
                let update = &message["payload"]["data"]["studentSession"]["updateId"];
                if let Some(update) = update.as_str() {
                    let _ = sender.send((index, update.to_owned(), Instant::now()));
                }
            }
        }));
    }
    Ok((receiver, readers))
}

/// Waits until the dashboards' `connectedStudents` lists `count` students.
async fn wait_connected(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    count: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let query = json!({ "query": "{ notebook(id: \"demo-class\") { connectedStudents } }" });
    loop {
        let response: Value = client
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&query)
            .send()
            .await?
            .json()
            .await?;
        let connected = response["data"]["notebook"]["connectedStudents"]
            .as_array()
            .map_or(0, Vec::len);
        if connected >= count {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("only {connected} of {count} students connected after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

async fn push_latency(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    run: &LiveRun<'_>,
    mut arrivals: Arrivals,
) -> anyhow::Result<()> {
    let push = json!({ "query": "mutation { pushUpdate(notebookId: \"demo-class\", cells: [{ cellId: \"cell-002\", cellType: \"code\", source: \"x = 1\" }]) { updateId } }" });
    let (mut each, mut last) = (Vec::new(), Vec::new());
    for _ in 0..run.samples {
        let sent = Instant::now();
        let response: Value = client
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&push)
            .send()
            .await?
            .json()
            .await?;
        let update = response["data"]["pushUpdate"]["updateId"]
            .as_str()
            .context("push failed")?
            .to_owned();
        let mut received = 0;
        let mut slowest = Duration::ZERO;
        while received < run.students {
            let (_, id, at) = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
                .await
                .context("a student never received the push")?
                .context("readers gone")?;
            if id == update {
                received += 1;
                let latency = at - sent;
                slowest = slowest.max(latency);
                each.push(latency);
            }
        }
        last.push(slowest);
    }
    each.sort();
    last.sort();
    println!(
        "push to {} students: per student p50 {:.1} ms p99 {:.1} ms; last student p50 {:.1} ms p99 {:.1} ms ({} pushes)",
        run.students,
        percentile(&each, 0.5),
        percentile(&each, 0.99),
        percentile(&last, 0.5),
        percentile(&last, 0.99),
        run.samples
    );
    Ok(())
}

/// Ingest → teacher refresh, leading edge: one event, then a pause longer than the throttle.
async fn refresh_latency(
    client: &reqwest::Client,
    base: &str,
    teacher: &mut Socket,
    samples: usize,
) -> anyhow::Result<()> {
    let mut latencies = Vec::new();
    for n in 0..samples {
        tokio::time::sleep(Duration::from_millis(450)).await;
        let event = json!({ "notebookId": NOTEBOOK, "userId": format!("bench-ingest-{n}"), "cellId": "c",
            "origCellId": "c", "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
        let body = json!({ "query": "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }", "variables": { "e": event } });
        let sent = Instant::now();
        client
            .post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await?;
        loop {
            let message = receive(teacher).await?;
            if message["payload"]["data"]["dashboardSession"]["__typename"] == "RefreshRequested" {
                latencies.push(sent.elapsed());
                break;
            }
        }
    }
    latencies.sort();
    println!(
        "ingest → teacher refresh (leading edge): p50 {:.1} ms p99 {:.1} ms ({samples} samples)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    Ok(())
}
