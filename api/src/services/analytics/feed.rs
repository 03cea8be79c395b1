//! One feed's task: compute, publish, wait for a change, hold until the push interval has
//! passed since the last computation started, and compute again, until the last subscriber
//! leaves. Counted from the start, an event that just missed a computation waits the interval
//! and one computation, not two (by hand over a websocket, on a 100 k-event class whose
//! values take about 35 ms: values 224-251 ms apart counted from the end, 199-210 from the
//! start). A value that took less than the one before it is held until the interval has
//! passed since that one was sent.
//!
//! The hold also grows with the computation's cost: a feed is idle at least as long as its
//! last computation took, so a whole-course value of a large class (a few hundred
//! milliseconds) keeps a feed busy half the time at most, while a small class follows its
//! events within the push interval. Computations of all feeds share the hub's permits, so
//! together they never take every core.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures::{FutureExt, StreamExt, stream::BoxStream};
use tokio::{sync::watch, time::Instant};

use super::{FeedKey, FeedState, HubInner, snapshot};
use crate::{broker::BrokerEvent, error::AppError, services::pacing::Pacing};

pub(super) struct Feed {
    hub: Arc<HubInner>,
    key: FeedKey,
    sender: Arc<watch::Sender<FeedState>>,
    /// The notebook's committed-events and teachers' topics (fused: read again after they end).
    triggers: BoxStream<'static, BrokerEvent>,
    /// When the last value was sent to the subscribers.
    last_sent: Option<Instant>,
}

impl Feed {
    pub(super) fn new(
        hub: Arc<HubInner>,
        key: FeedKey,
        sender: Arc<watch::Sender<FeedState>>,
        triggers: BoxStream<'static, BrokerEvent>,
    ) -> Self {
        Self {
            hub,
            key,
            sender,
            triggers,
            last_sent: None,
        }
    }

    pub(super) async fn run(mut self) {
        let active = metrics::gauge!("analytics_feeds_active");
        active.increment(1.0);
        let pacing = Pacing {
            interval: self.hub.interval,
            share: FEED_SHARE,
            longest: None,
        };
        while let Some((started, took)) = self.publish().await {
            let next_allowed = pacing.next_start(started, took);
            if !self.wait_for_change().await || !self.hold_until(next_allowed).await {
                break;
            }
        }
        self.hub.remove(&self.key, &self.sender);
        active.decrement(1.0);
    }

    /// Computes and publishes a value (unless equal to the current one), no sooner than the
    /// push interval after the last one sent, and returns when the computation started and
    /// how long it took (not counting the wait for a permit); `None` when the feed must end on
    /// the error it published.
    async fn publish(&mut self) -> Option<(Instant, Duration)> {
        // The semaphore is never closed; without a permit the computation would still be right.
        let permit = self.hub.computing.acquire().await.ok();
        self.hub.computations.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("analytics_computations_total").increment(1);
        let started = Instant::now();
        let computed = snapshot::compute(&self.hub, &self.key).await;
        let took = started.elapsed();
        drop(permit);
        metrics::histogram!("analytics_computation_seconds").record(took.as_secs_f64());
        match computed {
            Ok(snapshot) => {
                if let Some(last_sent) = self.last_sent {
                    // At most a few milliseconds: this computation started an interval after
                    // the last one, and took less.
                    tokio::time::sleep_until(last_sent + self.hub.interval).await;
                }
                let sent = self.sender.send_if_modified(|state| match state {
                    FeedState::Ready(current) if current.same_values(&snapshot) => false,
                    _ => {
                        *state = FeedState::Ready(Arc::new(snapshot));
                        true
                    }
                });
                if sent {
                    self.last_sent = Some(Instant::now());
                }
                Some((started, took))
            }
            Err(error) => self.failed(error).then_some((started, took)),
        }
    }

    /// A computation failed. Subscribers keep the last value through a passing outage (the
    /// next change retries); a first computation that fails, or a filter that no longer
    /// holds (its group was deleted), ends the feed with the error.
    fn failed(&self, error: AppError) -> bool {
        let first = matches!(*self.sender.borrow(), FeedState::Pending);
        let lasting = matches!(
            error,
            AppError::BadUserInput(_) | AppError::NotFound(_) | AppError::Forbidden(_)
        );
        tracing::warn!(
            notebook.id = %self.key.public_id,
            code = error.code(),
            ending = first || lasting,
            "live analytics computation failed"
        );
        if first || lasting {
            self.sender.send_replace(FeedState::Failed(Arc::new(error)));
            return false;
        }
        true
    }

    /// Waits for a change: new events, a student coming or going, or (with a progress
    /// series) a new minute. `false` when the feed ends: no subscriber left, or the broker's
    /// stream ended.
    async fn wait_for_change(&mut self) -> bool {
        loop {
            let minute = next_minute(self.key.progress_since.is_some());
            tokio::select! {
                event = self.triggers.next() => match event {
                    Some(BrokerEvent::NotebookDataChanged { .. } | BrokerEvent::StudentPresence { .. }) => return true,
                    Some(_) => {}
                    None => {
                        tracing::warn!(notebook.id = %self.key.public_id, "live analytics lost the broker");
                        return false;
                    }
                },
                () = minute => return true,
                () = self.sender.closed() => {
                    if self.hub.release(&self.key, &self.sender) {
                        return false;
                    }
                }
            }
        }
    }

    /// Holds until `deadline` (the push interval), then takes every change noticed so far
    /// as covered by the computation that follows. `false` when the last subscriber left.
    async fn hold_until(&mut self, deadline: Instant) -> bool {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                () = self.sender.closed() => {
                    if self.hub.release(&self.key, &self.sender) {
                        return false;
                    }
                }
            }
        }
        while let Some(Some(_)) = self.triggers.next().now_or_never() {}
        true
    }
}

/// A feed computes again one push interval after its last computation started, or later
/// when that took more than half the interval: it computes half the time at most.
const FEED_SHARE: u32 = 2;

/// Sleeps until just after the next UTC minute starts (a progress series gains a point), or
/// forever when there is no series.
async fn next_minute(enabled: bool) {
    if !enabled {
        return std::future::pending().await;
    }
    let into_minute = chrono::Utc::now().timestamp_millis().rem_euclid(60_000);
    let left = u64::try_from(60_000 - into_minute).unwrap_or(60_000);
    tokio::time::sleep(Duration::from_millis(left + 50)).await;
}
