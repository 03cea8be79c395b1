//! A breaker in front of the database. A probe of its own (one connection outside the pool, so a
//! busy pool never looks like an outage) asks PostgreSQL `SELECT 1` a few times a second. Once
//! a probe fails, requests are refused with `UNAVAILABLE` at once instead of each waiting out
//! the pool's acquire timeout; the probe keeps trying, and the first answer closes the breaker
//! again, so the first request after the database's return finds it open for business.
//! SQLite is in process: it has no outage to wait out, so it gets no probe.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::sqlx::{Connection, PgConnection};

use crate::error::{AppError, AppResult};

/// How often the probe asks, and how long one question may take before it counts as failed.
const PROBE_PERIOD: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the database answered its last probe. Cloned into everything that refuses early.
#[derive(Clone, Default)]
pub struct DbHealth {
    down: Arc<AtomicBool>,
}

impl DbHealth {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// `UNAVAILABLE` while the last probe failed.
    pub fn check(&self) -> AppResult<()> {
        match self.is_down() {
            true => Err(AppError::unavailable()),
            false => Ok(()),
        }
    }

    fn set_down(&self, down: bool) {
        if self.down.swap(down, Ordering::Relaxed) != down {
            match down {
                true => tracing::warn!("database unreachable: refusing requests until it answers"),
                false => tracing::info!("database reachable again"),
            }
        }
    }

    /// Probes the PostgreSQL database at `url` until `stop` resolves (no-op for SQLite).
    pub async fn watch(self, url: String, stop: impl std::future::Future<Output = ()>) {
        if !url.starts_with("postgres") {
            return;
        }
        tokio::pin!(stop);
        let mut probe: Option<PgConnection> = None;
        let mut ticks = tokio::time::interval(PROBE_PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = &mut stop => return,
            }
            let answered = tokio::time::timeout(PROBE_TIMEOUT, ask(&url, &mut probe)).await;
            let up = matches!(answered, Ok(true));
            if !up {
                // A connection that failed or hung is not trusted again.
                probe = None;
            }
            self.set_down(!up);
        }
    }
}

/// One question on the probe's connection, opened first if there is none.
async fn ask(url: &str, probe: &mut Option<PgConnection>) -> bool {
    if probe.is_none() {
        match PgConnection::connect(url).await {
            Ok(connection) => *probe = Some(connection),
            Err(_) => return false,
        }
    }
    match probe {
        Some(connection) => connection.ping().await.is_ok(),
        None => false,
    }
}
