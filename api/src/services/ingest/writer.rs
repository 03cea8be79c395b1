//! Group commit: requests hand their validated rows to a writer and wait; the writer inserts
//! whatever has arrived, from many requests, in one transaction and then answers each of them.
//! Every answered request is committed (durability per request), while the database sees one
//! transaction per burst instead of one per event — the shape of PostgreSQL's own WAL flush.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::EventRows;
use crate::error::{AppError, AppResult};

/// Most rows one transaction gathers before it commits.
const MAX_ROWS_PER_COMMIT: usize = 5000;
/// Requests waiting for a writer; past this, callers wait to enqueue (backpressure).
const QUEUE_CAPACITY: usize = 4096;

struct Job {
    rows: EventRows,
    done: oneshot::Sender<AppResult<()>>,
}

#[derive(Clone)]
pub struct IngestWriter {
    queue: mpsc::Sender<Job>,
}

impl IngestWriter {
    /// Starts `writers` tasks sharing one queue (SQLite has one writer at a time anyway; on
    /// PostgreSQL a few overlap one commit's flush with the next batch's inserts).
    pub fn start(db: DatabaseConnection, writers: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(db.clone(), Arc::clone(&receiver)));
        }
        Self { queue }
    }

    /// Returns once `rows` are committed (or failed; then nothing of them is stored).
    pub async fn write(&self, rows: EventRows) -> AppResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let (done, answer) = oneshot::channel();
        let stopped = || AppError::internal(anyhow::anyhow!("ingest writer stopped"));
        self.queue
            .send(Job { rows, done })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(db: DatabaseConnection, receiver: Arc<Mutex<mpsc::Receiver<Job>>>) {
    while let Some(jobs) = next_batch(&receiver).await {
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

async fn commit(db: &DatabaseConnection, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        if let Some(job) = jobs.pop() {
            let result = write_rows(db, job.rows).await;
            // The caller may have gone away (client disconnected): nothing to tell then.
            let _ = job.done.send(result);
        }
        return;
    }
    let mut all = EventRows::default();
    for job in &jobs {
        all.append(&mut job.rows.clone());
    }
    if write_rows(db, all).await.is_ok() {
        for job in jobs {
            let _ = job.done.send(Ok(()));
        }
        return;
    }
    // One job's rows failed the shared transaction (nothing was stored): write each job on its
    // own so only the faulty one fails.
    for job in jobs {
        let result = write_rows(db, job.rows).await;
        let _ = job.done.send(result);
    }
}

async fn write_rows(db: &DatabaseConnection, rows: EventRows) -> AppResult<()> {
    let txn = db.begin().await?;
    rows.insert(&txn).await?;
    txn.commit().await?;
    Ok(())
}
