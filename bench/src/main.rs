//! `bench`: load generators. `ingest` runs the real `api::Application` in this process (fresh
//! database), drives it over loopback HTTP with many client tasks, and checks afterwards that
//! every acknowledged event is a row in the database. `dashboards` runs the `api` binary as a
//! child process on a synthetic class and times every dashboard query and the CSV export.
//!
//! ```sh
//! cargo run --release -p bench -- ingest --backend sqlite --mode graphql --concurrency 1,16,64
//! cargo build --release -p api -p bench && target/release/bench dashboards --backend postgres
//! ```

mod child;
mod dashboards;
mod kill;
mod live;
mod load;
mod report;
mod server;

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    load::{Mode, Workload},
    report::{RssSampler, RunReport},
    server::BenchServer,
};

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Benchmarks of the analytics server, run in-process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest throughput, latency, durability (rows = acknowledged events) and memory.
    Ingest(IngestArgs),
    /// Latency of every dashboard query and the CSV export on a synthetic class, with the
    /// server (`api`, built beside `bench`) in its own process.
    Dashboards(DashboardArgs),
    /// Student subscriptions on one server process: RSS, push and refresh latencies.
    Live(LiveArgs),
    /// Ingest load against an `api` child process killed with SIGKILL midway: acknowledged
    /// events must all be stored.
    Kill(KillArgs),
}

#[derive(Debug, Clone, Args)]
struct KillArgs {
    #[arg(long, value_enum, default_value_t = Backend::Postgres)]
    backend: Backend,
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    #[arg(long, value_enum, default_value_t = Mode::Rest)]
    mode: Mode,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 6)]
    seconds: u64,
    /// When the server is killed (ms after the load starts).
    #[arg(long, default_value_t = 3000)]
    kill_after_ms: u64,
}

#[derive(Debug, Clone, Args)]
struct LiveArgs {
    #[arg(long, value_enum, default_value_t = Backend::Postgres)]
    backend: Backend,
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    #[arg(long, default_value_t = 1000)]
    students: usize,
    /// Pushes and refreshes measured.
    #[arg(long, default_value_t = 30)]
    samples: usize,
    /// Use the Redis broker at this URL (default: in-process).
    #[arg(long)]
    redis_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct DashboardArgs {
    #[arg(long, value_enum, default_value_t = Backend::Postgres)]
    backend: Backend,
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    #[arg(long, default_value_t = 300)]
    students: usize,
    #[arg(long, default_value_t = 60)]
    cells: usize,
    /// Class sizes (events); one class and one set of measurements per size.
    #[arg(long, value_delimiter = ',', default_value = "150000,1500000")]
    events: Vec<usize>,
    #[arg(long, default_value_t = 50)]
    repeats: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// A SQLite file (WAL) in a fresh temporary directory.
    Sqlite,
    /// A fresh database created on `--database-url`, dropped afterwards.
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Args)]
struct IngestArgs {
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// PostgreSQL server URL on which a fresh database is created (postgres backend only).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Concurrent clients; one measured run per level.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Length of each measured run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, value_enum, default_value_t = Mode::Graphql)]
    mode: Mode,
    /// Events per `recordEvents` request (batch mode).
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Measured runs per concurrency level; with more than one, a median line follows.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Unmeasured load before each level (opens the connections, warms caches); its rows are
    /// checked too.
    #[arg(long, default_value_t = 1)]
    warmup_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    api::telemetry::init(api::config::LogFormat::Pretty);
    match cli.command {
        Command::Ingest(args) => ingest(args).await,
        Command::Kill(args) => {
            let database = child::BenchDatabase::create(args.backend, &args.database_url).await?;
            let run = kill::KillRun {
                database: &database,
                mode: args.mode,
                concurrency: args.concurrency,
                seconds: args.seconds,
                kill_after: Duration::from_millis(args.kill_after_ms),
            };
            let outcome = kill::run(&run).await;
            database.drop_all().await;
            outcome
        }
        Command::Live(args) => {
            let database = child::BenchDatabase::create(args.backend, &args.database_url).await?;
            let run = live::LiveRun {
                database: &database,
                students: args.students,
                samples: args.samples,
                redis_url: args.redis_url,
            };
            let outcome = live::run(&run).await;
            database.drop_all().await;
            outcome
        }
        Command::Dashboards(args) => {
            for events in args.events {
                let run = dashboards::DashboardRun {
                    backend: args.backend,
                    admin_url: args.database_url.clone(),
                    students: args.students,
                    cells: args.cells,
                    events,
                    repeats: args.repeats,
                };
                dashboards::run(&run).await?;
            }
            Ok(())
        }
    }
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        bail!("--concurrency needs positive numbers, e.g. 1,16,64");
    }
    if args.seconds == 0 || args.runs == 0 {
        bail!("--seconds and --runs must be positive");
    }
    if !(1..=1000).contains(&args.batch_size) {
        bail!("--batch-size must be 1..=1000 (the server's BATCH_MAX_EVENTS)");
    }
    let server = BenchServer::start(args.backend, &args.database_url).await?;
    // Stop the server and drop its database whatever the outcome of the runs.
    let outcome = run_levels(&server, &args).await;
    let stopped = server.stop().await;
    outcome?;
    stopped
}

async fn run_levels(server: &BenchServer, args: &IngestArgs) -> anyhow::Result<()> {
    let notebook = "bench-notebook-0001";
    let notebook_id = api::services::notebooks::register(
        &server.state.db,
        notebook,
        "bench-notebook-0001.ipynb",
        None,
    )
    .await
    .map_err(|error| anyhow::anyhow!("registering the benchmark notebook: {error:?}"))?
    .id;
    // Idle: server started, migrated, notebook registered, no client yet.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = report::rss_kib().context("reading VmRSS from /proc/self/status")?;
    println!(
        "# bench ingest: mode {} backend {} ({}) seconds {} runs {} warmup {} s{}",
        args.mode.name(),
        args.backend.name(),
        server.database_label,
        args.seconds,
        args.runs,
        args.warmup_seconds,
        if args.mode == Mode::Batch {
            format!(" batch size {}", args.batch_size)
        } else {
            String::new()
        },
    );
    println!(
        "# idle RSS after start: {:.1} MiB (one process: server + load generator)",
        report::mib(idle_kib)
    );

    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    let workload = std::sync::Arc::new(Workload::new(
        args.mode,
        notebook.to_owned(),
        args.batch_size,
        format!("http://{}", server.addr),
    ));

    let mut failures = Vec::new();
    for &concurrency in &args.concurrency {
        if args.warmup_seconds > 0 {
            let before = report::count_rows(&server.state.db, notebook_id).await?;
            let warm = load::run(
                &client,
                &workload,
                concurrency,
                Duration::from_secs(args.warmup_seconds),
            )
            .await?;
            let after = report::count_rows(&server.state.db, notebook_id).await?;
            let rows = after.saturating_sub(before);
            if rows < warm.ok_events {
                failures.push(format!(
                    "warm-up at {concurrency} clients: {} events acknowledged, {rows} rows",
                    warm.ok_events
                ));
            }
        }
        let mut reports = Vec::new();
        for _ in 0..args.runs {
            let before = report::count_rows(&server.state.db, notebook_id).await?;
            let sampler = RssSampler::start();
            let result = load::run(
                &client,
                &workload,
                concurrency,
                Duration::from_secs(args.seconds),
            )
            .await?;
            let peak_kib = sampler.finish()?;
            let after = report::count_rows(&server.state.db, notebook_id).await?;
            let run = RunReport::new(
                args.mode,
                args.backend.name(),
                args.batch_size,
                concurrency,
                &result,
                after.saturating_sub(before),
                idle_kib,
                peak_kib,
            );
            println!("{}", run.line("run"));
            if let Some(error) = &result.first_error {
                eprintln!("  first error: {error}");
            }
            if let Some(problem) = run.durability_problem() {
                failures.push(problem);
            }
            reports.push(run);
        }
        if reports.len() > 1 {
            println!("{}", RunReport::median(&reports).line("median"));
        }
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("DURABILITY FAILURE: {failure}");
        }
        bail!("{} run(s) lost acknowledged events", failures.len());
    }
    Ok(())
}
