//! `bench ingest`: the `api` binary as a child process on a fresh database, driven over
//! loopback HTTP by N client tasks in this process. The server's RSS is its own; afterwards
//! every acknowledged event must be a row.

use std::{sync::Arc, time::Duration};

use anyhow::{Context, bail};
use sea_orm::DatabaseConnection;

use crate::{
    IngestArgs,
    child::{BenchDatabase, rss_kib},
    load::{self, Mode, Workload},
    report::{self, RssSampler, RunReport},
};

const NOTEBOOK: &str = "bench-notebook-0001";

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        bail!("--concurrency needs positive numbers, e.g. 1,16,64");
    }
    if args.seconds == 0 || args.runs == 0 {
        bail!("--seconds and --runs must be positive");
    }
    if !(1..=1000).contains(&args.batch_size) {
        bail!("--batch-size must be 1..=1000 (the server's BATCH_MAX_EVENTS)");
    }
    let database = BenchDatabase::create(args.backend, &args.database_url).await?;
    // Drop the database whatever the outcome of the runs.
    let outcome = serve_and_measure(&database, &args).await;
    database.drop_all().await;
    outcome
}

async fn serve_and_measure(database: &BenchDatabase, args: &IngestArgs) -> anyhow::Result<()> {
    database.register_notebook(NOTEBOOK).await?;
    // The load generator is one address hammering a few hundred students: it measures the
    // server, not the rate limiter.
    let no_limits = [
        ("RATE_INGEST_STUDENT_PER_SEC", "0"),
        ("RATE_INGEST_IP_PER_SEC", "0"),
        ("RATE_USER_PER_SEC", "0"),
    ];
    let (mut server, base) = database.serve_with(&no_limits).await?;
    let pid = server.id().context("server pid")?;
    let db = api::db::connect(&database.url, api::db::DbTimeouts::default()).await?;
    let outcome = measure(args, &db, pid, base).await;
    db.close().await.ok();
    server.start_kill().ok();
    server.wait().await.ok();
    outcome
}

async fn measure(
    args: &IngestArgs,
    db: &DatabaseConnection,
    pid: u32,
    base: String,
) -> anyhow::Result<()> {
    let notebook = api::services::notebooks::get_by_public_id(db, NOTEBOOK)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = rss_kib(pid).context("reading the server's resident memory")?;
    print_header(args, idle_kib);
    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    let workload = Arc::new(Workload::new(
        args.mode,
        NOTEBOOK.to_owned(),
        args.batch_size,
        base,
    ));
    let level = Level {
        args,
        db,
        notebook_id: notebook.id,
        pid,
        idle_kib,
        client: &client,
        workload: &workload,
    };
    let mut failures = Vec::new();
    for &concurrency in &args.concurrency {
        failures.extend(level.run(concurrency).await?);
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("DURABILITY FAILURE: {failure}");
        }
        bail!("{} run(s) lost acknowledged events", failures.len());
    }
    Ok(())
}

fn print_header(args: &IngestArgs, idle_kib: u64) {
    let batch = match args.mode {
        Mode::Batch => format!(" batch size {}", args.batch_size),
        _ => String::new(),
    };
    println!(
        "# bench ingest: mode {} backend {} seconds {} runs {} warmup {} s{batch}",
        args.mode.name(),
        args.backend.name(),
        args.seconds,
        args.runs,
        args.warmup_seconds,
    );
    println!(
        "# server (api child process) idle RSS after start: {:.1} MiB; load generator in this process",
        report::mib(idle_kib)
    );
}

/// One concurrency level's warm-up and measured runs.
struct Level<'a> {
    args: &'a IngestArgs,
    db: &'a DatabaseConnection,
    notebook_id: i64,
    pid: u32,
    idle_kib: u64,
    client: &'a reqwest::Client,
    workload: &'a Arc<Workload>,
}

impl Level<'_> {
    /// Runs the level; returns the durability failures.
    async fn run(&self, concurrency: usize) -> anyhow::Result<Vec<String>> {
        let mut failures = Vec::new();
        if self.args.warmup_seconds > 0 {
            let warmup = Duration::from_secs(self.args.warmup_seconds);
            let before = report::count_rows(self.db, self.notebook_id).await?;
            let warm = load::run(self.client, self.workload, concurrency, warmup).await?;
            let rows = report::count_rows(self.db, self.notebook_id).await? - before;
            if rows < warm.ok_events {
                failures.push(format!(
                    "warm-up at {concurrency} clients: {} events acknowledged, {rows} rows",
                    warm.ok_events
                ));
            }
        }
        let mut reports = Vec::new();
        for _ in 0..self.args.runs {
            let before = report::count_rows(self.db, self.notebook_id).await?;
            let sampler = RssSampler::start(self.pid);
            let seconds = Duration::from_secs(self.args.seconds);
            let result = load::run(self.client, self.workload, concurrency, seconds).await?;
            // Before the next run, which would otherwise start with this one's backlog.
            let rolled_up = report::rolled_up_after(self.db).await?;
            let peak_kib = sampler.finish()?;
            let after = report::count_rows(self.db, self.notebook_id).await?;
            let run = RunReport::new(
                self.args.mode,
                self.args.backend.name(),
                self.args.batch_size,
                concurrency,
                &result,
                after.saturating_sub(before),
                self.idle_kib,
                peak_kib,
            )
            .with_rolled_up(result.elapsed, rolled_up);
            println!("{}", run.line("run"));
            if let Some(error) = &result.first_error {
                eprintln!("  first error: {error}");
            }
            failures.extend(run.durability_problem());
            reports.push(run);
        }
        if reports.len() > 1 {
            println!("{}", RunReport::median(&reports).line("median"));
        }
        Ok(failures)
    }
}
