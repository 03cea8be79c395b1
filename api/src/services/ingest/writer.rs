//! Group commit: requests hand their validated rows to a writer and wait; the writer inserts
//! whatever has arrived, from many requests, in one transaction and then answers each of them.
//! Every answered request is committed (durability per request), while the database sees one
//! transaction per burst instead of one per event — the shape of PostgreSQL's own WAL flush.
//!
//! Every request has a deadline. A request still queued at its deadline is answered
//! `UNAVAILABLE` and never written; a transaction that would commit a request past its
//! deadline is rolled back and retried without it. So a client told "unavailable" can retry
//! without risking a duplicate, and rows refused during an outage are not committed after it.
//! When the database cannot be reached, the whole batch fails at once instead of being retried
//! request by request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::{
    sync::{Mutex, mpsc, oneshot},
    time::Instant,
};

use super::{
    super::catalogue::EventTable,
    EventRows,
    columns::tables,
    transaction::{self, WriteError},
};
use crate::error::{AppError, AppResult};

/// Most rows one transaction gathers before it commits.
const MAX_ROWS_PER_COMMIT: usize = 5000;

/// How much longer than the deadline a request waits for the writer's answer, so that the
/// writer (which knows whether it committed) is the one that decides.
const ANSWER_GRACE: Duration = Duration::from_secs(1);

struct Job {
    rows: EventRows,
    /// Answered with how many of the rows were duplicates of stored events.
    done: oneshot::Sender<AppResult<usize>>,
    deadline: Instant,
}

impl Job {
    fn expired(&self, now: Instant) -> bool {
        now >= self.deadline || self.done.is_closed()
    }
}

/// Turns at SQLite's single write lock among this process's steady writers (the ingest writer
/// and the rollup applier): a fair queue in the process, where SQLite's own busy handler would
/// have each of them sleep and poll while the other holds the lock.
pub type WriteTurns = Arc<Mutex<()>>;

#[derive(Clone)]
pub struct IngestWriter {
    queue: mpsc::Sender<Job>,
    /// SQLite only.
    turns: Option<WriteTurns>,
    /// Requests waiting for a writer; past this, callers wait to enqueue (backpressure).
    capacity: usize,
    deadline: Duration,
    /// Writer tasks restarted after a panic, since the start.
    restarts: Arc<AtomicU64>,
}

impl IngestWriter {
    /// Starts `writers` tasks sharing one queue (SQLite has one writer at a time anyway; on
    /// PostgreSQL a few overlap one commit's flush with the next batch's inserts).
    pub fn start(
        db: DatabaseConnection,
        writers: usize,
        deadline: Duration,
        capacity: usize,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let restarts = Arc::new(AtomicU64::new(0));
        let turns = (db.get_database_backend() == DbBackend::Sqlite).then(WriteTurns::default);
        for _ in 0..writers.max(1) {
            let (db, receiver, turns) = (db.clone(), Arc::clone(&receiver), turns.clone());
            let writer = move || run(db.clone(), Arc::clone(&receiver), turns.clone());
            tokio::spawn(supervise(writer, Arc::clone(&restarts)));
        }
        Self {
            queue,
            turns,
            capacity,
            deadline,
            restarts,
        }
    }

    /// The turns at SQLite's write lock this writer takes (`None` on PostgreSQL).
    pub fn write_turns(&self) -> Option<WriteTurns> {
        self.turns.clone()
    }

    /// How many writer tasks were restarted after a panic.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Whether a writer still takes requests (its supervisors restart any that panics).
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Requests queued for the writers now.
    pub fn queue_depth(&self) -> usize {
        self.capacity - self.queue.capacity()
    }

    /// Returns once `rows` are committed, with how many of them were already stored (retries
    /// of the same event id), or with an error (then nothing of them is stored, now or later):
    /// `UNAVAILABLE` when the deadline passed first.
    pub async fn write(&self, rows: EventRows) -> AppResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        let deadline = Instant::now() + self.deadline;
        let (done, answer) = oneshot::channel();
        let stopped = || AppError::internal(anyhow::anyhow!("ingest writer stopped"));
        let job = Job {
            rows,
            done,
            deadline,
        };
        match tokio::time::timeout_at(deadline, self.queue.send(job)).await {
            Ok(sent) => sent.map_err(|_| stopped())?,
            Err(_) => return Err(AppError::unavailable()),
        }
        match tokio::time::timeout_at(deadline + ANSWER_GRACE, answer).await {
            Ok(answer) => answer.map_err(|_| stopped())?,
            Err(_) => Err(AppError::unavailable()),
        }
    }
}

/// Runs a writer and restarts it if it panics (a bug in one batch must not stop ingest for
/// good). The panicking batch's requests get an error and nothing of it is committed: its
/// transaction is dropped with the task.
async fn supervise<W, F>(writer: W, restarts: Arc<AtomicU64>)
where
    W: Fn() -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(writer()).await {
            // The queue closed: the server is gone.
            Ok(()) => return,
            Err(error) if error.is_panic() => {
                restarts.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("ingest_writer_restarts_total").increment(1);
                tracing::error!("an ingest writer panicked; restarting it");
            }
            Err(_cancelled) => return,
        }
    }
}

async fn run(
    db: DatabaseConnection,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    turns: Option<WriteTurns>,
) {
    while let Some(jobs) = next_batch(&receiver).await {
        let _turn = match &turns {
            Some(turns) => Some(turns.lock().await),
            None => None,
        };
        commit(&db, jobs).await;
    }
}

/// Waits for one job, then takes whatever else is already queued, up to the row cap.
async fn next_batch(receiver: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut rows = first.rows.len();
    let mut jobs = vec![first];
    while rows < MAX_ROWS_PER_COMMIT {
        match receiver.try_recv() {
            Ok(job) => {
                rows += job.rows.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    Some(jobs)
}

async fn commit(db: &DatabaseConnection, jobs: Vec<Job>) {
    let mut jobs = answer_expired(jobs);
    while !jobs.is_empty() {
        let batches: Vec<&EventRows> = jobs.iter().map(|job| &job.rows).collect();
        let first_deadline = jobs.iter().map(|job| job.deadline).min();
        match transaction::write(db, &tables(&batches), first_deadline).await {
            Ok(mut inserted) => {
                record_commit(jobs.iter().map(|job| job.rows.counts()));
                for job in jobs {
                    let duplicates = job.rows.duplicates(&mut inserted);
                    // The caller may have gone away (client disconnected): nothing to tell then.
                    let _ = job.done.send(Ok(duplicates));
                }
                return;
            }
            // Some request reached its deadline first: nothing was committed; go again
            // without it.
            Err(WriteError::PastDeadline) => jobs = answer_expired(jobs),
            Err(WriteError::Failed(error)) => {
                let error = AppError::from(error);
                if matches!(error, AppError::Unavailable { .. }) {
                    for job in jobs {
                        let _ = job.done.send(Err(AppError::unavailable()));
                    }
                } else if jobs.len() > 1 {
                    isolate(db, jobs).await;
                } else if let Some(job) = jobs.pop() {
                    let _ = job.done.send(Err(error));
                }
                return;
            }
        }
    }
}

/// Counts one commit of the requests whose rows per kind are `counts`.
fn record_commit<const KINDS: usize>(
    counts: impl IntoIterator<Item = [(&'static EventTable, usize); KINDS]>,
) {
    let mut rows = 0;
    let all = counts.into_iter().flatten();
    for (table, count) in all.filter(|(_, count)| *count > 0) {
        metrics::counter!("ingest_events_total", "kind" => table.word).increment(count as u64);
        rows += count;
    }
    metrics::histogram!("ingest_commit_rows").record(rows as f64);
}

/// One job's rows failed the shared transaction (nothing was stored): write each job on its own
/// so only the faulty one fails.
async fn isolate(db: &DatabaseConnection, jobs: Vec<Job>) {
    for job in answer_expired(jobs) {
        let result = match transaction::write(db, &tables(&[&job.rows]), Some(job.deadline)).await {
            Ok(mut inserted) => {
                record_commit([job.rows.counts()]);
                Ok(job.rows.duplicates(&mut inserted))
            }
            Err(WriteError::PastDeadline) => Err(AppError::unavailable()),
            Err(WriteError::Failed(error)) => Err(error.into()),
        };
        let _ = job.done.send(result);
    }
}

/// Answers `UNAVAILABLE` to the jobs past their deadline (or whose caller left) and returns the
/// others.
fn answer_expired(jobs: Vec<Job>) -> Vec<Job> {
    let now = Instant::now();
    let (expired, live): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|job| job.expired(now));
    for job in expired {
        let _ = job.done.send(Err(AppError::unavailable()));
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_writer_that_panics_is_restarted_and_counted() {
        let runs = Arc::new(AtomicU64::new(0));
        let restarts = Arc::new(AtomicU64::new(0));
        let writer = {
            let runs = Arc::clone(&runs);
            move || {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    // The first two runs die; the third ends normally (its queue closed).
                    assert!(run >= 2, "a bug in a batch");
                }
            }
        };
        supervise(writer, Arc::clone(&restarts)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(restarts.load(Ordering::SeqCst), 2);
    }
}
