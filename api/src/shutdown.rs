//! The server's stop signal, shared by everything that outlives a request: long-lived
//! connections watch it to close themselves cleanly, and `Application::run_until_stopped`
//! waits (bounded) for them before returning, since axum's graceful shutdown no longer sees a
//! connection once it is upgraded to a websocket.

use std::{future::Future, time::Duration};

use tokio_util::{
    sync::{CancellationToken, WaitForCancellationFuture},
    task::{TaskTracker, task_tracker::TrackedFuture},
};

#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    connections: TaskTracker,
}

impl Shutdown {
    /// Starts the shutdown: the server stops accepting and every websocket closes with 1001.
    /// Tests call it directly; the binary on ctrl-c / SIGTERM.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The tracker of everything the shutdown waits for (connections, presence leaves).
    pub fn tasks(&self) -> TaskTracker {
        self.connections.clone()
    }

    /// Counts `connection` among those the shutdown waits for.
    pub fn track<F: Future>(&self, connection: F) -> TrackedFuture<F> {
        self.connections.track_future(connection)
    }

    /// Waits until every tracked connection and task ended, or `limit` passed; says which.
    pub async fn connections_closed(&self, limit: Duration) -> bool {
        self.connections.close();
        tokio::time::timeout(limit, self.connections.wait())
            .await
            .is_ok()
    }
}
