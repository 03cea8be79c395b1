//! `api import-legacy`: the old backend's database into ours, with a progress bar per table
//! (drawn only when standard error is a terminal) and the per-table counts at the end.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    config::Config,
    config::ImportLegacyArgs,
    db,
    services::legacy_import::{self, ImportOptions, Progress},
    storage::NotebookStorage,
};

pub async fn import_legacy(config: Config, args: ImportLegacyArgs) -> anyhow::Result<()> {
    if !args.from.starts_with("postgres") {
        anyhow::bail!("--from must be a postgres:// URL of the old backend's database");
    }
    // Counting a semester of old events can outlast the server's per-statement timeout, which
    // is for requests; an operator's import may take its time (0 = none).
    let timeouts = db::DbTimeouts {
        statement: std::time::Duration::ZERO,
        ..db::DbTimeouts::from_limits(&config.limits)
    };
    let old = db::connect(&args.from, timeouts)
        .await
        .context("connecting to the old database (--from)")?;
    let notebook_files = args
        .notebooks_from
        .as_deref()
        .map(|location| NotebookStorage::open(location, &config.s3))
        .transpose()
        .context("opening the old notebooks' files (--notebooks-from)")?;
    let state = crate::startup::build_state(config).await?;
    let options = ImportOptions {
        notebooks: args.notebooks,
        dry_run: args.dry_run,
        notebook_files,
        batch_size: args.batch_size,
        stop_after_batches: args.stop_after_batches,
    };
    let mut progress = Bars::default();
    let report = legacy_import::run(&old, &state.db, &state.storage, &options, &mut progress)
        .await
        .context("importing the old database")?;
    old.close().await.ok();
    print!("{}", legacy_import::format_report(&report, options.dry_run));
    if options.dry_run {
        println!("dry run: nothing was written");
    }
    Ok(())
}

/// One progress bar per table, on standard error.
#[derive(Default)]
struct Bars {
    current: Option<ProgressBar>,
}

impl Progress for Bars {
    fn start(&mut self, table: &str, rows: u64) {
        let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>26} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta})",
        )
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(table.to_owned());
        self.current = Some(bar);
    }

    fn advance(&mut self, rows: u64) {
        if let Some(bar) = &self.current {
            bar.inc(rows);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.current.take() {
            bar.finish();
        }
    }
}
