//! The `api` binary: parse the command line, start logging, run a subcommand.

use api::{
    config::{Cli, Command, LogFormat},
    startup::Application,
};
use std::io::Write;

use clap::Parser;

/// jemalloc instead of the system allocator: a request allocates and frees many small values
/// (JSON, GraphQL values, rows), and glibc's malloc/free were a third of the server's CPU time
/// under ingest load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    api::telemetry::init(cli.config.log_format);
    // jemalloc keeps the pages a burst freed until its arenas happen to reuse them; with its
    // background thread they go back to the OS after the decay time (10 s), so one large
    // request does not leave the server's resident size high.
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(%error, "jemalloc background purging is off");
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate { action } => api::cli::migrate(&cli.config, action).await,
        Command::ExportSchema { path } => api::cli::export_schema(&path),
        Command::User { action } => api::cli::user(cli.config, action).await,
        Command::Notebook { action } => api::cli::notebook(cli.config, action).await,
        Command::DemoClass(args) => api::cli::demo_class(cli.config, args).await,
        Command::EraseStudent { user, notebook } => {
            api::cli::erase_student(cli.config, user, notebook).await
        }
        Command::ImportLegacy(args) => api::cli::import_legacy(cli.config, args).await,
        Command::Rollups { action } => api::cli::rollups(cli.config, action).await,
        Command::Retention {
            older_than,
            dry_run,
        } => api::cli::retention(cli.config, &older_than, dry_run).await,
    }
}

async fn serve(config: api::config::Config) -> anyhow::Result<()> {
    let json_logs = config.log_format == LogFormat::Json;
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    let graphiql = format!("http://{addr}/graphql");
    tracing::info!(%addr, %graphiql, "listening");
    // A person reading the terminal gets the URL on a line of its own; a log collector reading
    // JSON lines gets nothing that is not JSON.
    // Written once and never `println!`: a reader that stops reading after the first line
    // (a script waiting for the URL) must not make the server panic on a closed pipe.
    if !json_logs {
        let urls = format!("GraphiQL: {graphiql}\nDashboard: http://{addr}/dashboard\n");
        let mut stdout = std::io::stdout().lock();
        if let Err(error) = stdout
            .write_all(urls.as_bytes())
            .and_then(|()| stdout.flush())
        {
            tracing::warn!(%error, "could not print the URLs");
        }
    }
    app.run_until_stopped().await
}
