//! Dashboard refresh throttle: at most one signal per period per notebook, sent on the leading
//! edge of a burst AND once more after it (the old server only fired on the leading edge, so a
//! quiet period after a burst could leave a dashboard stale).
//!
//! Each process throttles its own notifications first; every signal it then decides to send
//! passes a [`RefreshGate`], which with Redis is shared by all instances (`SET NX PX`), so a
//! burst spread over several instances still gives one signal per period. An instance that
//! finds the gate closed looks at when it was opened: if after its own data, that signal
//! covers it; otherwise it tries again when the gate reopens, so the trailing edge is never
//! lost.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{Broker, BrokerError, BrokerEvent, Topic};

/// The outcome of asking the shared gate for the right to send a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateAnswer {
    /// This instance sends now.
    Open,
    /// Another instance sent after our data arrived: nothing to do.
    Covered,
    /// Another instance sent before our data: try again after this long.
    RetryIn(Duration),
}

/// Who may send a notebook's refresh signal right now, across every instance.
#[async_trait::async_trait]
pub trait RefreshGate: Send + Sync + 'static {
    async fn try_open(
        &self,
        notebook_id: &str,
        period: Duration,
        data_since: DateTime<Utc>,
    ) -> Result<GateAnswer, BrokerError>;
}

/// One instance: the local throttle is the whole story.
pub struct LocalGate;

#[async_trait::async_trait]
impl RefreshGate for LocalGate {
    async fn try_open(
        &self,
        _notebook_id: &str,
        _period: Duration,
        _data_since: DateTime<Utc>,
    ) -> Result<GateAnswer, BrokerError> {
        Ok(GateAnswer::Open)
    }
}

#[derive(Clone)]
pub struct RefreshThrottle {
    inner: Arc<Inner>,
}

/// What a throttle publishes.
#[derive(Clone, Copy)]
enum Signal {
    /// The old dashboards' refresh (they re-query everything), shared across instances.
    DashboardRefresh,
    /// Committed events, for the live analytics (which compute once per instance and filter).
    DataChanged,
}

struct Inner {
    signal: Signal,
    broker: Arc<dyn Broker>,
    gate: Arc<dyn RefreshGate>,
    period: Duration,
    slots: Mutex<HashMap<String, Slot>>,
}

struct Slot {
    last_sent: Instant,
    trailing_scheduled: bool,
}

impl RefreshThrottle {
    pub fn new(broker: Arc<dyn Broker>, gate: Arc<dyn RefreshGate>, period: Duration) -> Self {
        Self::with_signal(Signal::DashboardRefresh, broker, gate, period)
    }

    /// The committed-events signal of the live analytics: per instance, at most one per
    /// `period` per notebook (leading and trailing edge).
    pub fn data_changes(broker: Arc<dyn Broker>, period: Duration) -> Self {
        Self::with_signal(Signal::DataChanged, broker, Arc::new(LocalGate), period)
    }

    fn with_signal(
        signal: Signal,
        broker: Arc<dyn Broker>,
        gate: Arc<dyn RefreshGate>,
        period: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                signal,
                broker,
                gate,
                period,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Records that `notebook_id` has new data. Never waits: sending happens in the background.
    pub fn notify(&self, notebook_id: &str) {
        let now = Instant::now();
        let mut slots = self.inner.lock_slots();
        let period = self.inner.period;
        match slots.get_mut(notebook_id) {
            Some(slot) if slot.trailing_scheduled => {}
            Some(slot) if now < slot.last_sent + period => {
                slot.trailing_scheduled = true;
                let due = slot.last_sent + period;
                let inner = Arc::clone(&self.inner);
                let id = notebook_id.to_owned();
                let since = Utc::now();
                tokio::spawn(async move {
                    tokio::time::sleep_until(due).await;
                    if let Some(slot) = inner.lock_slots().get_mut(&id) {
                        slot.last_sent = Instant::now();
                        slot.trailing_scheduled = false;
                    }
                    inner.send(id, since).await;
                });
            }
            _ => {
                slots.insert(
                    notebook_id.to_owned(),
                    Slot {
                        last_sent: now,
                        trailing_scheduled: false,
                    },
                );
                // Forget notebooks that have been quiet, so the map stays as small as the set
                // of active notebooks.
                slots.retain(|_, slot| slot.trailing_scheduled || now < slot.last_sent + period);
                let inner = Arc::clone(&self.inner);
                let id = notebook_id.to_owned();
                let since = Utc::now();
                tokio::spawn(async move { inner.send(id, since).await });
            }
        }
    }
}

impl Inner {
    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends once the shared gate allows it, unless another instance's signal covers
    /// `data_since`.
    async fn send(&self, notebook_id: String, data_since: DateTime<Utc>) {
        // Each retry waits for the gate to reopen, so a handful always suffices.
        for _ in 0..5 {
            match self
                .gate
                .try_open(&notebook_id, self.period, data_since)
                .await
            {
                Ok(GateAnswer::Open) => break,
                Ok(GateAnswer::Covered) => return,
                Ok(GateAnswer::RetryIn(wait)) => tokio::time::sleep(wait).await,
                Err(error) => {
                    // Better a signal too many than a stale dashboard.
                    tracing::warn!(%error, "refresh gate unavailable; sending anyway");
                    break;
                }
            }
        }
        let (topic, event) = match self.signal {
            Signal::DashboardRefresh => (
                Topic::refresh(&notebook_id),
                BrokerEvent::DashboardRefresh { notebook_id },
            ),
            Signal::DataChanged => (
                Topic::notebook_data(&notebook_id),
                BrokerEvent::NotebookDataChanged { notebook_id },
            ),
        };
        if let Err(error) = self.broker.publish(&topic, event).await {
            tracing::warn!(%error, "dashboard refresh signal not published");
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::broker::MemoryBroker;

    const PERIOD: Duration = Duration::from_secs(5);

    #[tokio::test(start_paused = true)]
    async fn a_single_event_signals_at_once_and_only_once() {
        let times = signal_times(&[0], 20_000).await;
        assert_eq!(times, vec![0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_signals_on_the_leading_edge_and_after_the_burst() {
        let times = signal_times(&[0, 1_000, 2_000, 3_000], 20_000).await;
        assert_eq!(times, vec![0, 5_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_stream_signals_no_more_than_once_per_period() {
        let events: Vec<u64> = (0..60).map(|i| i * 500).collect(); // 30 s, one every 0.5 s
        let times = signal_times(&events, 60_000).await;
        assert_eq!(
            times,
            vec![0, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000]
        );
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= 5_000, "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_after_a_quiet_period_signals_at_once_again() {
        let times = signal_times(&[0, 12_000], 30_000).await;
        assert_eq!(times, vec![0, 12_000]);
    }

    /// Times (ms since start) at which refresh signals for notebook "nb" arrive, for events
    /// notified at `event_times_ms`, observed until `until_ms` on a paused clock.
    async fn signal_times(event_times_ms: &[u64], until_ms: u64) -> Vec<u64> {
        let broker = Arc::new(MemoryBroker::new());
        let topic = Topic::DashboardRefresh {
            notebook_id: "nb".into(),
        };
        let mut stream = broker.subscribe(&topic).await.expect("subscribe");
        let throttle = RefreshThrottle::new(broker, Arc::new(LocalGate), PERIOD);
        let start = Instant::now();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while stream.next().await.is_some() {
                if sender.send(start.elapsed().as_millis() as u64).is_err() {
                    break;
                }
            }
        });
        for &at in event_times_ms {
            tokio::time::sleep_until(start + Duration::from_millis(at)).await;
            throttle.notify("nb");
        }
        tokio::time::sleep_until(start + Duration::from_millis(until_ms)).await;
        let mut times = Vec::new();
        while let Ok(time) = receiver.try_recv() {
            times.push(time);
        }
        times
    }
}
