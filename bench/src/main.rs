//! `bench`: load generators. `ingest` runs the real `api::startup::Application` in this process (fresh
//! database), drives it over loopback HTTP with many client tasks, and checks afterwards that
//! every acknowledged event is a row in the database. `dashboards` runs the `api` binary as a
//! child process on a synthetic class and times every dashboard query and the CSV export.
//!
//! ```sh
//! cargo run --release -p bench -- ingest --backend sqlite --mode graphql --concurrency 1,16,64
//! cargo build --release -p api -p bench && target/release/bench dashboards --backend postgres
//! target/release/bench live-analytics --teachers 100 --students 50 --rate 2 --seconds 10
//! ```

mod child;
mod dashboards;
mod ingest;
mod kill;
mod live;
mod live_analytics;
mod load;
mod report;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::load::Mode;

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
    /// Teachers' `notebookAnalytics` subscriptions while students ingest: event committed →
    /// value received, and the server's CPU per event.
    LiveAnalytics(LiveAnalyticsArgs),
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
struct LiveAnalyticsArgs {
    #[arg(long, value_enum, default_value_t = Backend::Postgres)]
    backend: Backend,
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    #[arg(long, default_value_t = 100)]
    teachers: usize,
    #[arg(long, default_value_t = 50)]
    students: usize,
    /// Events per second per student.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Length of each phase (without, then with the subscriptions).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server's `ANALYTICS_PUSH_INTERVAL_MS` (its default).
    #[arg(long, default_value_t = 150)]
    push_interval_ms: u64,
    #[arg(long, default_value_t = 200)]
    refresh_throttle_ms: u64,
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
pub struct IngestArgs {
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    pub backend: Backend,
    /// PostgreSQL server URL on which a fresh database is created (postgres backend only).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Concurrent clients; one measured run per level.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<usize>,
    /// Length of each measured run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[arg(long, value_enum, default_value_t = Mode::Graphql)]
    pub mode: Mode,
    /// Events per `recordEvents` request (batch mode).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Measured runs per concurrency level; with more than one, a median line follows.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Unmeasured load before each level (opens the connections, warms caches); its rows are
    /// checked too.
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    api::telemetry::init(api::config::LogFormat::Pretty);
    match cli.command {
        Command::Ingest(args) => ingest::run(args).await,
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
        Command::LiveAnalytics(args) => {
            let database = child::BenchDatabase::create(args.backend, &args.database_url).await?;
            let run = live_analytics::AnalyticsRun {
                database: &database,
                teachers: args.teachers,
                students: args.students,
                rate: args.rate,
                seconds: args.seconds,
                push_interval_ms: args.push_interval_ms,
                refresh_throttle_ms: args.refresh_throttle_ms,
                redis_url: args.redis_url,
            };
            let outcome = live_analytics::run(&run).await;
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
