//! Faults injected for real through a TCP proxy: PostgreSQL cut under concurrent ingest (fast
//! `UNAVAILABLE` / 503 within the deadline, no late commits, recovery without a restart), and
//! a server that starts and ingests while Redis is unreachable, reporting itself degraded.

use std::time::{Duration, Instant};

use entity::cell_focus_event;
use futures::future::join_all;
use sea_orm::{
    EntityTrait, PaginatorTrait,
    sqlx::{self, Row},
};
use serde_json::{Value, json};
use tests::{Backend, FaultProxy, TestApp};

const NOTEBOOK: &str = "nb-faults";
const DEADLINE_MS: u64 = 1500;

fn click(n: usize) -> Value {
    json!({ "notebookId": NOTEBOOK, "userId": format!("student-{n}"), "cellId": "c", "origCellId": "c",
        "clickType": "ON", "time": "2026-11-24T10:00:00Z" })
}

/// One click over GraphQL; `Ok(true)` accepted, `Ok(false)` refused as unavailable.
async fn ingest(app: &TestApp, n: usize) -> Result<bool, String> {
    let mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
    let response = app.graphql(mutation, json!({ "e": click(n) })).await;
    if response.errors().is_empty() {
        return Ok(true);
    }
    match response.error_code().as_str() {
        "UNAVAILABLE" => Ok(false),
        other => Err(format!("{other}: {}", response.body)),
    }
}

/// The same over the old REST route: 200 accepted, 503 with `Retry-After` refused.
async fn ingest_rest(app: &TestApp, n: usize) -> Result<bool, String> {
    let body = json!({ "notebook_id": NOTEBOOK, "user_id": format!("rest-{n}"), "cell_id": "c",
        "orig_cell_id": "c", "click_type": "ON", "time": "2026-11-24T10:00:00.000Z", "click_duration": null });
    let response = app
        .client
        .post(app.url("/send/clickevent/cell"))
        .json(&body)
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => Ok(true),
        503 if response.headers().contains_key("retry-after") => Ok(false),
        other => Err(format!(
            "HTTP {other}: {}",
            response.text().await.unwrap_or_default()
        )),
    }
}

async fn stored(app: &TestApp) -> u64 {
    cell_focus_event::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

fn postgres_target() -> std::net::SocketAddr {
    "127.0.0.1:5432".parse().unwrap()
}

#[tokio::test]
async fn a_database_cut_under_ingest_fails_fast_commits_nothing_late_and_recovers() {
    if !Backend::postgres_available() {
        return;
    }
    let proxy = FaultProxy::start(postgres_target()).await;
    let proxy_addr = proxy.addr.to_string();
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        let url = config.database_url.clone().unwrap();
        config.database_url = Some(url.replace("127.0.0.1:5432", &proxy_addr));
        config.limits.db_acquire_timeout_ms = 500;
        config.limits.ingest_deadline_ms = DEADLINE_MS;
    })
    .await;
    app.register_notebook(NOTEBOOK).await;
    let mut accepted = 0;
    for n in 0..10 {
        accepted += usize::from(ingest(&app, n).await.unwrap());
    }
    assert_eq!(accepted, 10);

    proxy.cut();
    let started = Instant::now();
    let graphql = (100..116).map(|n| ingest(&app, n));
    let rest = (200..216).map(|n| ingest_rest(&app, n));
    let (graphql, rest) = tokio::join!(join_all(graphql), join_all(rest));
    let answered_within = started.elapsed();
    for result in graphql.iter().chain(rest.iter()) {
        accepted += usize::from(*result.as_ref().unwrap());
    }
    assert!(
        answered_within < Duration::from_millis(DEADLINE_MS + 1500),
        "every request answered within its deadline: {answered_within:?}"
    );
    assert!(
        graphql.iter().chain(rest.iter()).any(|r| r == &Ok(false)),
        "refusals while cut"
    );

    proxy.restore();
    let restored = Instant::now();
    let mut n = 300;
    loop {
        n += 1;
        if ingest(&app, n).await.unwrap() {
            accepted += 1;
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(2),
            "ingest healthy within 2 s of the restore"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Nothing refused during the outage is committed afterwards.
    tokio::time::sleep(Duration::from_millis(DEADLINE_MS + 500)).await;
    assert_eq!(stored(&app).await as usize, accepted);
}

#[tokio::test]
async fn the_server_starts_and_ingests_while_redis_is_unreachable_and_says_it_is_degraded() {
    // A port nobody listens on: Redis "down" for the whole test.
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.redis_url = Some("redis://127.0.0.1:9".into());
    })
    .await;
    app.register_notebook(NOTEBOOK).await;
    let started = Instant::now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "readiness answers fast"
    );
    assert_eq!(ready.status().as_u16(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "status": "degraded", "database": "up", "broker": "down",
            "ingest_writer": "up", "ingest_writer_restarts": 0 })
    );
    let started = Instant::now();
    assert_eq!(ingest(&app, 1).await, Ok(true));
    assert_eq!(ingest_rest(&app, 2).await, Ok(true));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "ingest does not wait for Redis"
    );
    assert_eq!(stored(&app).await, 2);

    // Live features need Redis: they answer UNAVAILABLE with a retry delay, never INTERNAL.
    let mut socket = app.websocket(json!({})).await;
    let session = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "alice") {
        __typename } }"#;
    socket
        .subscribe("s", session, json!({ "nb": NOTEBOOK }))
        .await;
    let refused = socket.receive().await;
    let errors = match refused["type"].as_str() {
        Some("error") => refused["payload"].clone(),
        _ => refused["payload"]["errors"].clone(),
    };
    assert_eq!(errors[0]["extensions"]["code"], "UNAVAILABLE", "{refused}");
    assert_eq!(errors[0]["extensions"]["retryAfter"], 2, "{refused}");
    let token = app.user_token("teacher", api::auth::Role::Admin).await;
    let connected = r#"query($nb: ID!) { notebook(id: $nb) { connectedStudents } }"#;
    let answer = app
        .graphql_as(&token, connected, json!({ "nb": NOTEBOOK }))
        .await;
    assert_eq!(answer.error_code(), "UNAVAILABLE", "{:?}", answer.body);
    assert_eq!(answer.errors()[0]["extensions"]["retryAfter"], 2);
    let ready = app.readiness().await;
    assert_eq!(ready["status"], "degraded");
}

#[tokio::test]
async fn with_redis_cut_from_the_start_no_ingest_fails_and_live_features_resume_after_the_restore()
{
    let Some(redis) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!("Redis fault test skipped: TEST_REDIS_URL is not set");
        return;
    };
    let target = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = FaultProxy::start(target.parse().expect("host:port of TEST_REDIS_URL")).await;
    let proxied = format!("redis://{}", proxy.addr);
    // Redis is cut before the server starts, and stays cut while students send events.
    proxy.cut();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.redis_url = Some(proxied)).await;
    app.register_notebook(NOTEBOOK).await;
    let started = Instant::now();
    let results = join_all((0..20).map(|n| ingest(&app, n))).await;
    assert!(results.iter().all(|r| r == &Ok(true)), "{results:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ingest does not wait for Redis"
    );
    let ready = app.readiness().await;
    assert_eq!(ready["status"], "degraded");

    proxy.restore();
    // Live again: a student session opens and receives a push once Redis answers.
    let session = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "alice") {
        ... on PushedUpdate { updateId } } }"#;
    let token = app.user_token("teacher", api::auth::Role::Admin).await;
    let push = r#"mutation($nb: ID!) { pushUpdate(notebookId: $nb,
        cells: [{ cellId: "c", cellType: "code", source: "" }]) { updateId } }"#;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut socket = app.websocket(json!({})).await;
        socket
            .subscribe("s", session, json!({ "nb": NOTEBOOK }))
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pushed = app
            .graphql_as(&token, push, json!({ "nb": NOTEBOOK }))
            .await;
        if pushed.errors().is_empty() {
            let update = pushed.data()["pushUpdate"]["updateId"].clone();
            // A push published while the pub/sub connection is still reconnecting is lost (no
            // one was subscribed yet): try again rather than wait for it.
            let message = tokio::time::timeout(Duration::from_secs(2), socket.receive()).await;
            if message.is_ok_and(|m| m["payload"]["data"]["studentSession"]["updateId"] == update) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "live features never resumed: {}",
            pushed.body
        );
    }
    assert_eq!(stored(&app).await, 20);
}

/// The writer's queue filled for real: another connection holds the event table locked, so
/// the writers' inserts wait, one request fills the queue (capacity 1) and the rest wait to
/// enqueue. Every request is answered `UNAVAILABLE` within its deadline (plus the writer's
/// grace), never hangs, and none of them is committed after the lock goes away.
#[tokio::test]
async fn a_full_ingest_queue_answers_unavailable_within_the_deadline_and_commits_nothing_late() {
    if !Backend::postgres_available() {
        return;
    }
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.limits.ingest_queue_capacity = 1;
        c.limits.ingest_deadline_ms = 500;
        c.limits.rate = api::config::RateLimits::off();
    })
    .await;
    app.register_notebook(NOTEBOOK).await;
    let blocker = sea_orm::Database::connect(app.state.config.database_url())
        .await
        .unwrap();
    let lock = sea_orm::TransactionTrait::begin(&blocker).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &lock,
        "LOCK TABLE cell_focus_events IN ACCESS EXCLUSIVE MODE",
    )
    .await
    .unwrap();

    let started = Instant::now();
    // Four writers each take one request, one fills the queue, the others wait to enqueue.
    let outcomes = join_all((0..12).map(|n| ingest(&app, n))).await;
    let elapsed = started.elapsed();
    assert_eq!(outcomes, vec![Ok(false); 12]);
    // 500 ms deadline + 1 s for a writer to answer what it holds, with room for a slow CI.
    assert!(elapsed < Duration::from_millis(3000), "{elapsed:?}");

    lock.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored(&app).await, 0, "a refused event was committed later");
    assert_eq!(ingest(&app, 99).await, Ok(true));
    assert_eq!(stored(&app).await, 1);
}

/// PostgreSQL's own shutdown of a connection (what `pg_ctl stop` and `pg_terminate_backend`
/// send: SQLSTATE 57P01) means "unavailable", not an internal error.
#[tokio::test]
async fn a_connection_the_database_terminates_is_unavailable_not_internal() {
    use sea_orm::{
        DbErr, RuntimeErr,
        sqlx::{self, Connection, PgConnection},
    };
    let Some(admin_url) = tests::admin_url_or_skip("PostgreSQL shutdown test") else {
        return;
    };
    let mut victim = PgConnection::connect(&admin_url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut victim)
        .await
        .unwrap();
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .unwrap();
    let error = sqlx::query("SELECT 1")
        .execute(&mut victim)
        .await
        .unwrap_err();
    let error = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(error)));
    assert!(api::error::is_connection_failure(&error), "{error}");
    let error = api::error::AppError::from(error);
    assert_eq!(
        (error.code(), error.status().as_u16()),
        ("UNAVAILABLE", 503)
    );
    assert!(
        ["57P01", "57P02", "57P03", "08006"]
            .iter()
            .all(|state| api::error::is_outage_state(state))
    );
    assert!(
        !api::error::is_outage_state("22021"),
        "a bad byte sequence is the request's fault"
    );
}

/// A statement PostgreSQL cancels at its statement timeout (SQLSTATE 57014: a whole-course read
/// of a very large class) is a `TIMEOUT` the client can act on, not an internal error.
#[tokio::test]
async fn a_statement_past_the_database_timeout_is_timeout_not_internal() {
    use sea_orm::{
        DbErr, RuntimeErr,
        sqlx::{self, Connection, PgConnection},
    };
    let Some(admin_url) = tests::admin_url_or_skip("PostgreSQL statement timeout test") else {
        return;
    };
    let mut connection = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query("SET statement_timeout = '20ms'")
        .execute(&mut connection)
        .await
        .unwrap();
    let error = sqlx::query("SELECT pg_sleep(2)")
        .execute(&mut connection)
        .await
        .unwrap_err();
    let error = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(error)));
    assert!(!api::error::is_connection_failure(&error), "{error}");
    let error = api::error::AppError::from(error);
    assert_eq!((error.code(), error.status().as_u16()), ("TIMEOUT", 503));
    assert!(
        error.message().contains("time limit"),
        "{}",
        error.message()
    );
    // The connection stays usable: a cancelled statement is not an outage.
    sqlx::query("SELECT 1")
        .execute(&mut connection)
        .await
        .unwrap();
}

/// The breaker: once the server has seen the database go, it refuses at once (not after the
/// pool's 3 s acquire timeout, the default here), and the first request after the database's
/// return succeeds.
#[tokio::test]
async fn while_the_database_is_down_refusals_are_immediate_and_recovery_needs_no_failed_request() {
    if !Backend::postgres_available() {
        return;
    }
    let proxy = FaultProxy::start(postgres_target()).await;
    let proxy_addr = proxy.addr.to_string();
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        let url = config.database_url.clone().unwrap();
        config.database_url = Some(url.replace("127.0.0.1:5432", &proxy_addr));
    })
    .await;
    app.register_notebook(NOTEBOOK).await;
    assert_eq!(ingest(&app, 0).await, Ok(true));

    proxy.cut();
    let cut = Instant::now();
    while ingest(&app, 1).await != Ok(false) {
        assert!(
            cut.elapsed() < Duration::from_secs(10),
            "the outage is never noticed"
        );
    }
    let mut slowest = Duration::ZERO;
    for n in 0..20 {
        let started = Instant::now();
        assert_eq!(ingest(&app, 100 + n).await, Ok(false));
        assert_eq!(ingest_rest(&app, 100 + n).await, Ok(false));
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "refusals wait: {slowest:?}"
    );

    proxy.restore();
    // The probe notices the return within a few of its periods; the first request after that
    // is accepted (no request pays for finding out).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ingest(&app, 200).await, Ok(true));
    assert_eq!(ingest_rest(&app, 200).await, Ok(true));
    assert_eq!(stored(&app).await, 3);
}

/// Every acknowledged commit of a SQLite file survives power loss (WAL with full sync),
/// checkpoints wait until the WAL holds 10 000 pages (group commit's writer pays for them),
/// reads map the file, and SQLite counts no allocations.
#[tokio::test]
async fn a_sqlite_file_is_durable_with_rare_checkpoints_mapped_reads_and_no_memory_statistics() {
    let dir = std::env::temp_dir().join(format!("api-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("events.db").display());
    let db = api::db::connect(&url, api::db::DbTimeouts::default())
        .await
        .unwrap();
    let pool = db.get_sqlite_connection_pool();
    for (pragma, expected) in [
        ("PRAGMA journal_mode", "wal"),
        ("PRAGMA synchronous", "2"),
        ("PRAGMA wal_autocheckpoint", "10000"),
        ("PRAGMA mmap_size", "2147418112"),
        ("PRAGMA journal_size_limit", "67108864"),
    ] {
        let row = sqlx::query(pragma).fetch_one(pool).await.unwrap();
        let value = row
            .try_get::<String, _>(0)
            .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
            .unwrap();
        assert_eq!(value, expected, "{pragma}");
    }
    // The bundled SQLite keeps no memory statistics (`.cargo/config.toml`), which would take a
    // global mutex at every allocation.
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(
        options.iter().any(|option| option == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
    db.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
