//! Live notebook analytics: the dashboard aggregates of one (notebook, filter), recomputed
//! after each change and pushed to every subscriber.
//!
//! One feed per (notebook, resolved filter, progress start) and instance: a task that
//! computes a [`Snapshot`] through `services::dashboards`, publishes it on a
//! `tokio::sync::watch` channel shared by all that instance's subscribers, and recomputes when
//! the broker says the notebook has new committed events (`NotebookDataChanged`, at most one
//! per 100 ms per writing instance, crossing instances through Redis) or a student connected
//! or left. Recomputations are coalesced: at most one per push interval (longer after a
//! costly computation, see `feed`), and a change during the interval is always followed by one
//! more (the trailing edge). A value equal to the previous one (but for its time) is not
//! sent. The task ends, and its entry goes, when its last subscriber leaves.

mod feed;
mod snapshot;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::{StreamExt, stream::BoxStream};
use sea_orm::DatabaseConnection;
use tokio::sync::{Semaphore, watch};

pub use snapshot::Snapshot;

use crate::{
    broker::{Broker, Topic, presence::Presence},
    error::{AppError, AppResult},
    services::{
        dashboards::{GroupSelection, Scope, ScopeRequest},
        identity::NotebookRef,
    },
};

/// What a subscriber asks for: a dashboard filter and, optionally, the start of the execution
/// progress series (which then runs to now).
#[derive(Debug, Clone, Default)]
pub struct AnalyticsRequest {
    pub scope: ScopeRequest,
    pub progress_since: Option<DateTime<Utc>>,
}

/// The values of one subscription: the current one first, then one after each change. An
/// error ends it (the filter no longer holds, e.g. its group was deleted, or the first
/// computation failed).
pub type AnalyticsStream = BoxStream<'static, AppResult<Arc<Snapshot>>>;

/// The shared feeds of this instance.
#[derive(Clone)]
pub struct AnalyticsHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    db: DatabaseConnection,
    presence: Arc<dyn Presence>,
    broker: Arc<dyn Broker>,
    interval: Duration,
    /// Computations running at once, all feeds together: half the cores (at least one), so
    /// live analytics leave the rest to ingest and queries however many filters are watched.
    computing: Semaphore,
    feeds: Mutex<HashMap<FeedKey, Arc<watch::Sender<FeedState>>>>,
    computations: AtomicU64,
}

/// A filter once resolved: what one feed computes. "Live only" stays a flag, since the
/// connected students are read again at each computation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FeedKey {
    row_id: i64,
    public_id: String,
    after: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    groups: Vec<i64>,
    live_only: bool,
    progress_since: Option<DateTime<Utc>>,
}

impl FeedKey {
    fn scope_request(&self) -> ScopeRequest {
        ScopeRequest {
            after: self.after,
            until: self.until,
            live_only: self.live_only,
            groups: GroupSelection::Ids(self.groups.clone()),
        }
    }
}

#[derive(Debug, Clone)]
enum FeedState {
    /// Before the first computation.
    Pending,
    Ready(Arc<Snapshot>),
    /// The feed ended on this error.
    Failed(Arc<AppError>),
}

impl AnalyticsHub {
    pub fn new(
        db: DatabaseConnection,
        presence: Arc<dyn Presence>,
        broker: Arc<dyn Broker>,
        interval: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(HubInner {
                db,
                presence,
                broker,
                interval,
                computing: Semaphore::new(computations_at_once()),
                feeds: Mutex::new(HashMap::new()),
                computations: AtomicU64::new(0),
            }),
        }
    }

    /// Subscribes to the analytics `request` selects in `notebook`. The filter is checked
    /// now (`BAD_USER_INPUT` for a bad window, an unknown group or a progress start that is
    /// not within the last 1440 minutes); the caller has checked the viewer's rights.
    pub async fn subscribe(
        &self,
        notebook: NotebookRef,
        request: AnalyticsRequest,
    ) -> AppResult<AnalyticsStream> {
        let key = self.key(notebook, request).await?;
        let existing = self
            .inner
            .feeds()
            .get(&key)
            .map(|sender| sender.subscribe());
        let receiver = match existing {
            Some(receiver) => receiver,
            None => self.start(key).await?,
        };
        Ok(values(receiver))
    }

    /// Computations run since this hub was built, all feeds together.
    pub fn computations(&self) -> u64 {
        self.inner.computations.load(Ordering::Relaxed)
    }

    /// Feeds running now (one per notebook and filter with at least one subscriber).
    pub fn active_feeds(&self) -> usize {
        self.inner.feeds().len()
    }

    async fn key(&self, notebook: NotebookRef, request: AnalyticsRequest) -> AppResult<FeedKey> {
        if let Some(since) = request.progress_since {
            snapshot::check_progress_since(since, Utc::now())?;
        }
        let live_only = request.scope.live_only && request.scope.until.is_none();
        let presence = self.inner.presence.as_ref();
        let ids = (notebook.row_id, notebook.public_id.as_str());
        let scope = Scope::resolve(&self.inner.db, presence, ids, request.scope).await?;
        Ok(FeedKey {
            row_id: notebook.row_id,
            public_id: notebook.public_id,
            after: scope.after,
            until: scope.until,
            groups: scope.groups,
            live_only,
            progress_since: request.progress_since,
        })
    }

    /// Starts the feed of `key`, unless another subscriber started it meanwhile. The topics
    /// are subscribed before the first computation, so no change after it is missed.
    async fn start(&self, key: FeedKey) -> AppResult<watch::Receiver<FeedState>> {
        let mut topics = Vec::with_capacity(2);
        // Committed events (not the old dashboards' refresh, throttled to REFRESH_THROTTLE_MS)
        // and presence.
        for topic in [
            Topic::notebook_data(&key.public_id),
            Topic::teachers(&key.public_id),
        ] {
            let events = self.inner.broker.subscribe(&topic).await.map_err(|error| {
                tracing::warn!(%error, "broker unavailable for live analytics");
                AppError::broker_unavailable()
            })?;
            topics.push(events);
        }
        let mut feeds = self.inner.feeds();
        if let Some(sender) = feeds.get(&key) {
            return Ok(sender.subscribe());
        }
        let (sender, receiver) = watch::channel(FeedState::Pending);
        let sender = Arc::new(sender);
        feeds.insert(key.clone(), Arc::clone(&sender));
        drop(feeds);
        let triggers = futures::stream::select_all(topics).fuse().boxed();
        let feed = feed::Feed::new(Arc::clone(&self.inner), key, sender, triggers);
        tokio::spawn(feed.run());
        Ok(receiver)
    }
}

fn computations_at_once() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).max(1))
}

impl HubInner {
    fn feeds(&self) -> std::sync::MutexGuard<'_, HashMap<FeedKey, Arc<watch::Sender<FeedState>>>> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the feed of `key` if it has no subscriber left (checked under the lock that
    /// subscribers join under, so none joins a feed that is ending); `true` when it ends.
    fn release(&self, key: &FeedKey, sender: &Arc<watch::Sender<FeedState>>) -> bool {
        let mut feeds = self.feeds();
        if sender.receiver_count() > 0 {
            return false;
        }
        forget(&mut feeds, key, sender);
        true
    }

    /// Removes the feed of `key` whatever its subscribers (it ends).
    fn remove(&self, key: &FeedKey, sender: &Arc<watch::Sender<FeedState>>) {
        forget(&mut self.feeds(), key, sender);
    }
}

/// Removes `key`'s entry if it is still `sender`'s (a new feed may have taken the key).
fn forget(
    feeds: &mut HashMap<FeedKey, Arc<watch::Sender<FeedState>>>,
    key: &FeedKey,
    sender: &Arc<watch::Sender<FeedState>>,
) {
    if feeds.get(key).is_some_and(|held| Arc::ptr_eq(held, sender)) {
        feeds.remove(key);
    }
}

/// A subscriber's values: the current one (once there is one), then each new one; a
/// failure is the last item.
fn values(mut receiver: watch::Receiver<FeedState>) -> AnalyticsStream {
    receiver.mark_changed();
    futures::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        loop {
            receiver.changed().await.ok()?;
            let state = receiver.borrow_and_update().clone();
            match state {
                FeedState::Pending => continue,
                FeedState::Ready(snapshot) => return Some((Ok(snapshot), Some(receiver))),
                FeedState::Failed(error) => return Some((Err(replay(&error)), None)),
            }
        }
    })
    .boxed()
}

/// The same answer for each subscriber of a failed feed (internal details were logged once
/// by the feed).
fn replay(error: &AppError) -> AppError {
    match error {
        AppError::BadUserInput(message) => AppError::BadUserInput(message.clone()),
        AppError::NotFound(message) => AppError::NotFound(message.clone()),
        AppError::Forbidden(message) => AppError::Forbidden(message.clone()),
        AppError::Unavailable {
            dependency,
            retry_after_secs,
        } => AppError::Unavailable {
            dependency: *dependency,
            retry_after_secs: *retry_after_secs,
        },
        _ => AppError::internal(anyhow::anyhow!(
            "live analytics computation failed ({})",
            error.code()
        )),
    }
}
