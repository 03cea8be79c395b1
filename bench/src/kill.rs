//! `bench kill`: ingest load against an `api` child process that is killed with SIGKILL in the
//! middle of the run. Afterwards every event the server acknowledged must be a row: acknowledged
//! ≤ stored (requests cut off by the kill may or may not have been committed, so stored can be
//! higher, never lower).

use std::{sync::Arc, time::Duration};

use anyhow::{Context, bail};

use crate::{
    child::BenchDatabase,
    load::{self, Mode, Workload},
    report,
};

const NOTEBOOK: &str = "bench-notebook-0001";

pub struct KillRun<'a> {
    pub database: &'a BenchDatabase,
    pub mode: Mode,
    pub concurrency: usize,
    pub seconds: u64,
    pub kill_after: Duration,
}

pub async fn run(run: &KillRun<'_>) -> anyhow::Result<()> {
    let database = run.database;
    database.register_notebook(NOTEBOOK).await?;
    let db = api::db::connect(&database.url, api::db::DbTimeouts::default()).await?;
    let notebook = api::services::notebooks::get_by_public_id(&db, NOTEBOOK)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))?;
    let before = report::count_rows(&db, notebook.id).await?;
    let (mut server, base) = database.serve().await?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let workload = Arc::new(Workload::new(run.mode, NOTEBOOK.to_owned(), 100, base));
    let kill_after = run.kill_after;
    let killer = tokio::spawn(async move {
        tokio::time::sleep(kill_after).await;
        server.start_kill().context("SIGKILL the server")?;
        server.wait().await.context("reap the server")?;
        anyhow::Ok(())
    });
    let result = load::run(
        &client,
        &workload,
        run.concurrency,
        Duration::from_secs(run.seconds),
    )
    .await?;
    killer.await??;
    let stored = report::count_rows(&db, notebook.id)
        .await?
        .saturating_sub(before);
    // Let the database be dropped afterwards.
    db.close().await.ok();
    println!(
        "# bench kill: {} mode, {} clients, SIGKILL after {:.1} s of {} s: acknowledged {} events, stored {} rows, {} requests failed (server gone)",
        run.mode.name(),
        run.concurrency,
        run.kill_after.as_secs_f64(),
        run.seconds,
        result.ok_events,
        stored,
        result.errors
    );
    if stored < result.ok_events {
        bail!(
            "{} acknowledged events were lost",
            result.ok_events - stored
        );
    }
    Ok(())
}
