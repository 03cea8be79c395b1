//! Assembly: builds the application state from a [`Config`] (database, secrets, broker,
//! writer), the schema and the router, and serves until told to stop. `main` and the tests use
//! the same `Application::build`, so tests run the server exactly as deployed.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    auth::{self, Accounts, JwtKeys},
    broker::{
        Broker, LocalGate, MemoryBroker, RedisBroker, RefreshGate, RefreshThrottle,
        presence::{MemoryPresence, Presence},
    },
    config::{Config, LegacyTeacherPush},
    db, graphql, http, metrics,
    pseudonym::Pseudonymizer,
    ratelimit::{RateLimiter, RedisBackend as RedisLimits},
    secrets, services,
    services::{
        analytics::AnalyticsHub,
        identity::Identity,
        ingest::{Ingest, IngestWriter},
        notebooks::NotebookIds,
    },
    shutdown,
    state::{AppState, AppStateInner},
    storage::NotebookStorage,
};

/// How long a stopping server waits for its websockets to send their close frames.
const WEBSOCKET_CLOSE_WAIT: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    /// Connects and migrates the database, builds the state and binds the listener (port 0
    /// picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.legacy_socket_teacher_push == LegacyTeacherPush::Unauthenticated {
            tracing::warn!(
                "LEGACY_SOCKET_TEACHER_PUSH=unauthenticated: any Socket.IO teacher socket may \
                 push cells and chat to a notebook's students without a token"
            );
        }
        let state = build_state(config).await?;
        let shutdown = state.shutdown.clone();
        tokio::spawn(
            state
                .db_health
                .clone()
                .watch(state.config.database_url(), async move {
                    shutdown.cancelled().await
                }),
        );
        // Students of an instance that died leave presence when their lease runs out; the
        // sweep announces it to teachers and teammates.
        let shutdown = state.shutdown.clone();
        tokio::spawn(
            state
                .live()
                .sweep_expired_leases(async move { shutdown.cancelled().await }),
        );
        // Committed events reach the rollups here, off the acknowledgement path.
        let shutdown = state.shutdown.clone();
        tokio::spawn(services::ingest::run_rollup_applier(
            state.db.clone(),
            Duration::from_millis(state.config.limits.rollup_apply_interval_ms.max(1)),
            state.ingest.writer.write_turns(),
            async move { shutdown.cancelled().await },
        ));
        let engine = graphql::build_engine(state.clone());
        let router = http::router(state.clone(), engine);
        let listener = TcpListener::bind(state.config.bind_addr)
            .await
            .with_context(|| format!("binding {}", state.config.bind_addr))?;
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until ctrl-c / SIGTERM (or `state.shutdown.cancel()`). Then, in order: readiness
    /// answers 503 and websockets close with 1001 at once; the server keeps serving for
    /// `SHUTDOWN_DRAIN_MS` while load balancers move away; it stops accepting; in-flight
    /// requests (their events committed) and sockets finish, presence is left; all of it
    /// bounded by `SHUTDOWN_TIMEOUT_SECS`.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = self.state.shutdown.clone();
        if let Some(window) = &self.state.config.retention {
            let window = services::privacy::parse_window(window).context("RETENTION")?;
            tokio::spawn(apply_retention_daily(self.state.clone(), window));
        }
        let limits = &self.state.config.limits;
        let drain = Duration::from_millis(limits.shutdown_drain_ms);
        let timeout = Duration::from_secs(limits.shutdown_timeout_secs);
        let stop = {
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    () = shutdown_signal() => {},
                    () = shutdown.cancelled() => {},
                }
                // Upgraded sockets are not among the connections axum waits for: they are
                // told themselves, through the token.
                shutdown.cancel();
                tokio::time::sleep(drain).await;
            }
        };
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop);
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(drain + timeout).await;
        };
        tokio::select! {
            served = serve => served?,
            () = deadline => tracing::warn!("in-flight requests outlived the shutdown timeout"),
        }
        if !shutdown.connections_closed(WEBSOCKET_CLOSE_WAIT).await {
            tracing::warn!("some websockets were still open at shutdown");
        }
        Ok(())
    }
}

/// `RETENTION`: deletes events older than `window` now and then once a day, until shutdown.
async fn apply_retention_daily(state: AppState, window: chrono::Duration) {
    let mut daily = tokio::time::interval(Duration::from_secs(24 * 60 * 60));
    loop {
        tokio::select! {
            _ = daily.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        let cutoff = chrono::Utc::now() - window;
        match services::privacy::apply_retention(&state.db, cutoff, false).await {
            Ok(counts) => {
                let deleted: u64 = counts.iter().map(|(_, rows)| rows).sum();
                tracing::info!(deleted, %cutoff, "retention applied");
            }
            Err(error) => tracing::warn!(code = error.code(), "retention failed; retried tomorrow"),
        }
    }
}

/// How often, at most, one instance tells the live analytics that a notebook has new events:
/// often enough that a coalesced value follows its events within a fraction of
/// `ANALYTICS_PUSH_INTERVAL_MS`, rarely enough that a busy class is a few messages a second.
const DATA_CHANGE_PERIOD: Duration = Duration::from_millis(100);

/// Builds the state without binding a port (commands that do not serve use this too).
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    metrics::install();
    // Missing production secrets fail at once, before waiting on a database.
    secrets::check_production(&config)?;
    let timeouts = db::DbTimeouts::from_limits(&config.limits);
    let db = db::connect_with_retry(&config.database_url(), timeouts).await?;
    db::migrate(&config.database_url(), &db, timeouts)
        .await
        .context("migrating the database")?;
    let secrets = secrets::resolve(&config, &db).await?;
    let (broker, presence, gate, shared_limits) = build_broker(&config).await?;
    let refresh = RefreshThrottle::new(
        Arc::clone(&broker),
        gate,
        Duration::from_millis(config.limits.refresh_throttle_ms),
    );
    let jwt = JwtKeys::new(
        &secrets.jwt_secret,
        Duration::from_secs(config.limits.access_token_ttl_secs),
        Duration::from_secs(config.limits.refresh_token_ttl_secs),
    );
    let storage = NotebookStorage::from_config(&config)?;
    let dummy_password_hash = auth::password::hash(secrets::random_hex(16)).await?;
    // SQLite admits one writer at a time; PostgreSQL overlaps a few commits.
    let writers = if config.database_url().starts_with("postgres") {
        4
    } else {
        1
    };
    let deadline = Duration::from_millis(config.limits.ingest_deadline_ms);
    let queue = config.limits.ingest_queue_capacity.max(1);
    let writer = IngestWriter::start(db.clone(), writers, deadline, queue);
    let pseudonyms = Pseudonymizer::new(secrets.secret_salt);
    let notebook_ids = NotebookIds::default();
    let identity = Identity::new(db.clone(), notebook_ids.clone(), pseudonyms.clone());
    let ingest = Ingest::new(
        db.clone(),
        identity.clone(),
        writer,
        (
            refresh.clone(),
            RefreshThrottle::data_changes(Arc::clone(&broker), DATA_CHANGE_PERIOD),
        ),
        config.limits.event_body_limit,
    );
    let accounts = Accounts::new(
        db.clone(),
        Arc::new(jwt),
        pseudonyms.clone(),
        config.limits.password_checks_max,
        dummy_password_hash,
        config.signup_enabled,
    );
    let rate_limits = RateLimiter::new(&config.limits.rate, pseudonyms.clone(), shared_limits);
    let analytics = AnalyticsHub::new(
        db.clone(),
        Arc::clone(&presence),
        Arc::clone(&broker),
        Duration::from_millis(config.limits.analytics_push_interval_ms),
    );
    Ok(AppState::new(AppStateInner {
        pseudonyms,
        rate_limits,
        config,
        db,
        db_health: db::DbHealth::default(),
        broker,
        presence,
        refresh,
        shutdown: shutdown::Shutdown::default(),
        accounts,
        storage,
        notebook_ids,
        identity,
        ingest,
        analytics,
    }))
}

/// The broker, the presence store, the refresh gate and the rate limiter's shared counts: in
/// process, or shared through Redis.
type LiveBackends = (
    Arc<dyn Broker>,
    Arc<dyn Presence>,
    Arc<dyn RefreshGate>,
    Option<RedisLimits>,
);

async fn build_broker(config: &Config) -> anyhow::Result<LiveBackends> {
    let lease = Duration::from_secs(config.limits.presence_lease_secs);
    let freshness = Duration::from_secs(config.limits.location_freshness_secs);
    match &config.redis_url {
        Some(url) => {
            let broker = RedisBroker::connect(url, &config.redis_key_prefix)
                .await
                .context("connecting to Redis")?;
            let presence = broker.presence(lease, freshness);
            let gate = broker.refresh_gate();
            let (connection, prefix) = broker.connection();
            let limits = RedisLimits::new(connection, prefix);
            Ok((
                Arc::new(broker),
                Arc::new(presence),
                Arc::new(gate),
                Some(limits),
            ))
        }
        None => Ok((
            Arc::new(MemoryBroker::new()),
            Arc::new(MemoryPresence::new(freshness)),
            Arc::new(LocalGate),
            None,
        )),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
