//! Figures of a run: throughput, latency percentiles, durability (rows against acknowledged
//! events) and the process's resident memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use entity::{cell_focus_event, code_execution};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::load::{LoadResult, Mode};

/// Rows of the benchmark notebook in the tables the workloads write.
pub async fn count_rows(db: &DatabaseConnection, notebook_id: i64) -> anyhow::Result<u64> {
    let focus = cell_focus_event::Entity::find()
        .filter(cell_focus_event::Column::NotebookId.eq(notebook_id))
        .count(db)
        .await
        .context("counting cell_focus_events")?;
    let executions = code_execution::Entity::find()
        .filter(code_execution::Column::NotebookId.eq(notebook_id))
        .count(db)
        .await
        .context("counting code_executions")?;
    Ok(focus + executions)
}

/// How often [`rolled_up_after`] looks at the watermarks, and how long it waits at most.
const ROLLUP_POLL: Duration = Duration::from_millis(10);
const ROLLUP_PATIENCE: Duration = Duration::from_secs(300);

/// How long after the load the rollup applier took to add every committed event (`None` for
/// a server without rollups: a binary from before them, measured for comparison). Throughput
/// alone would flatter a server that defers its rollup work past the end of a run.
pub async fn rolled_up_after(db: &DatabaseConnection) -> anyhow::Result<Option<Duration>> {
    use api::services::rollups::watermarks::{Unapplied, unapplied};
    let started = Instant::now();
    loop {
        match unapplied(db).await {
            Ok(left) if left == Unapplied::default() => return Ok(Some(started.elapsed())),
            Ok(_) if started.elapsed() > ROLLUP_PATIENCE => {
                bail!("the rollups were still behind {ROLLUP_PATIENCE:?} after the load")
            }
            Ok(_) => tokio::time::sleep(ROLLUP_POLL).await,
            // No watermarks table: this server keeps no rollups.
            Err(_) => return Ok(None),
        }
    }
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Samples the resident memory ([`crate::child::rss_kib`]) of process `pid` every 100 ms on
/// its own thread (so a saturated runtime cannot delay it) and keeps the highest value.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            std::thread::spawn(move || {
                loop {
                    if let Some(kib) = crate::child::rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Self { stop, peak, thread }
    }

    /// Stops sampling; the peak in KiB.
    pub fn finish(self) -> anyhow::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the RSS sampler panicked"))?;
        Ok(self.peak.load(Ordering::Relaxed))
    }
}

/// The p-th percentile (0..=100) of sorted latencies, nearest rank.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[derive(Debug, Clone)]
pub struct RunReport {
    mode: Mode,
    backend: &'static str,
    batch_size: usize,
    concurrency: usize,
    events_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok_requests: u64,
    ok_events: u64,
    errors: u64,
    rows: u64,
    idle_kib: u64,
    peak_kib: u64,
    /// Events per second counted until the rollups held them too, when the server has them.
    rolled_up_per_sec: Option<f64>,
}

impl RunReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mode: Mode,
        backend: &'static str,
        batch_size: usize,
        concurrency: usize,
        result: &LoadResult,
        rows: u64,
        idle_kib: u64,
        peak_kib: u64,
    ) -> Self {
        Self {
            mode,
            backend,
            batch_size,
            concurrency,
            events_per_sec: result.ok_events as f64 / result.elapsed.as_secs_f64().max(1e-9),
            p50_ms: ms(percentile(&result.latencies, 50.0)),
            p99_ms: ms(percentile(&result.latencies, 99.0)),
            ok_requests: result.ok_requests,
            ok_events: result.ok_events,
            errors: result.errors,
            rows,
            idle_kib,
            peak_kib,
            rolled_up_per_sec: None,
        }
    }

    /// Adds the throughput counted until the applier had caught up, `rolled_up` after a load
    /// that lasted `elapsed`.
    pub fn with_rolled_up(mut self, elapsed: Duration, rolled_up: Option<Duration>) -> Self {
        self.rolled_up_per_sec = rolled_up
            .map(|after| self.ok_events as f64 / (elapsed + after).as_secs_f64().max(1e-9));
        self
    }

    /// Acknowledged events that are not rows (a request that failed may still have been
    /// committed, so extra rows are only suspicious when nothing failed).
    fn lost(&self) -> u64 {
        self.ok_events.saturating_sub(self.rows)
    }

    pub fn durability_problem(&self) -> Option<String> {
        let unexplained_extra = self.rows > self.ok_events && self.errors == 0;
        (self.lost() > 0 || unexplained_extra).then(|| {
            format!(
                "{} {} at {} clients: {} events acknowledged, {} rows",
                self.mode.name(),
                self.backend,
                self.concurrency,
                self.ok_events,
                self.rows
            )
        })
    }

    pub fn line(&self, label: &str) -> String {
        let batch = match self.mode {
            Mode::Batch => format!(" batch={}", self.batch_size),
            Mode::Graphql | Mode::Rest => String::new(),
        };
        let lost = self.lost();
        let rolled_up = match self.rolled_up_per_sec {
            Some(rate) => format!(" rolled_up_events/s={rate:.0}"),
            None => String::new(),
        };
        format!(
            "{label:<6} mode={}{batch} backend={} concurrency={} events/s={:.0}{rolled_up} p50={:.2}ms p99={:.2}ms 2xx={} events={} errors={} rows={} lost: {lost}{} rss_idle={:.1}MiB rss_peak={:.1}MiB",
            self.mode.name(),
            self.backend,
            self.concurrency,
            self.events_per_sec,
            self.p50_ms,
            self.p99_ms,
            self.ok_requests,
            self.ok_events,
            self.errors,
            self.rows,
            if lost > 0 {
                " <-- ACKNOWLEDGED EVENTS LOST"
            } else {
                ""
            },
            mib(self.idle_kib),
            mib(self.peak_kib),
        )
    }

    /// Field-wise medians (counts are summed, memory peak is the highest).
    pub fn median(runs: &[RunReport]) -> RunReport {
        let median = |values: Vec<f64>| {
            let mut values = values;
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        let first = &runs[0];
        RunReport {
            events_per_sec: median(runs.iter().map(|r| r.events_per_sec).collect()),
            p50_ms: median(runs.iter().map(|r| r.p50_ms).collect()),
            p99_ms: median(runs.iter().map(|r| r.p99_ms).collect()),
            rolled_up_per_sec: first
                .rolled_up_per_sec
                .map(|_| median(runs.iter().filter_map(|r| r.rolled_up_per_sec).collect())),
            ok_requests: runs.iter().map(|r| r.ok_requests).sum(),
            ok_events: runs.iter().map(|r| r.ok_events).sum(),
            errors: runs.iter().map(|r| r.errors).sum(),
            rows: runs.iter().map(|r| r.rows).sum(),
            peak_kib: runs.iter().map(|r| r.peak_kib).max().unwrap_or(0),
            ..first.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&sorted[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
