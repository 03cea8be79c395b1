//! Limits and timeouts: sizes, rates, deadlines and the websocket protocol's bounds. Every one is
//! a flag with an environment variable behind it, and its default is written once, here.

use clap::Args;

use super::RateLimits;

#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Largest JSON body on `/graphql` (bytes). A 1 000-event batch of code executions with
    /// their outputs is typically under 1 MiB; a larger batch gets `PAYLOAD_TOO_LARGE` (413)
    /// and is split by its client. Documents themselves are capped by `GRAPHQL_MAX_QUERY_BYTES`.
    #[arg(long, env = "BATCH_BODY_LIMIT", default_value_t = 4 * 1024 * 1024, global = true)]
    pub batch_body_limit: usize,
    /// Largest single event, and largest body on the REST `/send/*` routes (bytes).
    #[arg(long, env = "EVENT_BODY_LIMIT", default_value_t = 1024 * 1024, global = true)]
    pub event_body_limit: usize,
    /// Most JSON values (each scalar, array and object, at any depth) in one `/graphql` body,
    /// counted before its variables are built; more gets `PAYLOAD_TOO_LARGE` (413) and the
    /// client splits its batch. A 1 000-event batch of code executions with four nbformat
    /// outputs each holds 50 000; once built, a value costs the server 300-800 bytes, so the
    /// costliest accepted body stays under 50 MB.
    #[arg(
        long,
        env = "GRAPHQL_MAX_BODY_VALUES",
        default_value_t = 55_000,
        global = true
    )]
    pub graphql_max_body_values: usize,
    /// Deepest nesting of arrays and objects in one `/graphql` body (the body itself is 1);
    /// deeper gets `BAD_USER_INPUT`. An event with nbformat outputs nests about 8 deep.
    #[arg(
        long,
        env = "GRAPHQL_MAX_BODY_DEPTH",
        default_value_t = 64,
        global = true
    )]
    pub graphql_max_body_depth: usize,
    /// Most events accepted by one `recordEvents` call.
    #[arg(long, env = "BATCH_MAX_EVENTS", default_value_t = 1000, global = true)]
    pub batch_max_events: usize,
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 30 * 60, global = true)]
    pub access_token_ttl_secs: u64,
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600, global = true)]
    pub refresh_token_ttl_secs: u64,
    /// Longest wait for a database connection from the pool before `UNAVAILABLE` (ms).
    #[arg(
        long,
        env = "DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 3000,
        global = true
    )]
    pub db_acquire_timeout_ms: u64,
    /// Longest a PostgreSQL statement may run before it is cancelled (ms).
    #[arg(
        long,
        env = "DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub db_statement_timeout_ms: u64,
    /// At start, how long to keep retrying an unreachable database before giving up (s).
    #[arg(
        long,
        env = "DB_CONNECT_RETRY_SECS",
        default_value_t = 30,
        global = true
    )]
    pub db_connect_retry_secs: u64,
    /// An ingest request not committed within this many ms is answered `UNAVAILABLE` and
    /// never committed later.
    #[arg(
        long,
        env = "INGEST_DEADLINE_MS",
        default_value_t = 5000,
        global = true
    )]
    pub ingest_deadline_ms: u64,
    /// Ingest requests waiting for the writer; past this, requests wait to enqueue (bounded by
    /// `INGEST_DEADLINE_MS`, then `UNAVAILABLE`).
    #[arg(
        long,
        env = "INGEST_QUEUE_CAPACITY",
        default_value_t = 4096,
        global = true
    )]
    pub ingest_queue_capacity: usize,
    /// A live connection whose instance stopped renewing it is gone after this many seconds.
    #[arg(long, env = "PRESENCE_LEASE_SECS", default_value_t = 30, global = true)]
    pub presence_lease_secs: u64,
    /// Students' locations older than this many seconds are not shown to teammates.
    #[arg(
        long,
        env = "LOCATION_FRESHNESS_SECS",
        default_value_t = 300,
        global = true
    )]
    pub location_freshness_secs: u64,
    /// Password checks (Argon2id, ~19 MiB each) running at once; a login beyond them waits at
    /// most a second, then gets `RATE_LIMITED`.
    #[arg(long, env = "PASSWORD_CHECKS_MAX", default_value_t = 4, global = true)]
    pub password_checks_max: usize,
    /// Largest multipart request (a notebook upload), enforced while reading (bytes).
    #[arg(long, env = "UPLOAD_LIMIT", default_value_t = 20 * 1024 * 1024, global = true)]
    pub upload_limit: usize,
    /// On SIGTERM, how long the server keeps serving with readiness at 503 before it stops
    /// accepting connections, so load balancers move traffic away first (ms).
    #[arg(long, env = "SHUTDOWN_DRAIN_MS", default_value_t = 1000, global = true)]
    pub shutdown_drain_ms: u64,
    /// The longest a shutdown waits for in-flight requests and sockets after that (s).
    #[arg(
        long,
        env = "SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 20,
        global = true
    )]
    pub shutdown_timeout_secs: u64,
    /// Deepest selection an operation may nest (introspection needs about 15).
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 20, global = true)]
    pub graphql_max_depth: usize,
    /// Highest complexity of an operation: one per field, a paged list times its `limit`.
    #[arg(
        long,
        env = "GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 20_000,
        global = true
    )]
    pub graphql_max_complexity: usize,
    /// Most aliased fields in one document (each alias is another resolution of a field).
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value_t = 30, global = true)]
    pub graphql_max_aliases: usize,
    /// Most root fields in one operation.
    #[arg(
        long,
        env = "GRAPHQL_MAX_ROOT_FIELDS",
        default_value_t = 20,
        global = true
    )]
    pub graphql_max_root_fields: usize,
    /// Largest GraphQL document (the `query` text; data belongs in variables), in bytes.
    #[arg(
        long,
        env = "GRAPHQL_MAX_QUERY_BYTES",
        default_value_t = 64 * 1024,
        global = true
    )]
    pub graphql_max_query_bytes: usize,
    /// An HTTP operation still running after this many ms is stopped with `TIMEOUT`.
    #[arg(
        long,
        env = "GRAPHQL_TIMEOUT_MS",
        default_value_t = 15_000,
        global = true
    )]
    pub graphql_timeout_ms: u64,
    /// A websocket that sends no `connection_init` within this many ms is closed with 4408.
    #[arg(
        long,
        env = "WS_INIT_TIMEOUT_MS",
        default_value_t = 3000,
        global = true
    )]
    pub ws_init_timeout_ms: u64,
    /// The server pings every websocket this often (ms) and closes one silent for two
    /// intervals with 4000; 0 turns keep-alive off.
    #[arg(
        long,
        env = "WS_PING_INTERVAL_MS",
        default_value_t = 15_000,
        global = true
    )]
    pub ws_ping_interval_ms: u64,
    /// Operations running at once on one websocket; one more closes it with 1008.
    #[arg(
        long,
        env = "WS_MAX_SUBSCRIPTIONS",
        default_value_t = 100,
        global = true
    )]
    pub ws_max_subscriptions: usize,
    /// Largest message a client may send over a websocket (bytes); a larger one closes it
    /// with 1009.
    #[arg(
        long,
        env = "WS_MAX_MESSAGE_BYTES",
        default_value_t = 64 * 1024,
        global = true
    )]
    pub ws_max_message_bytes: usize,
    /// Dashboards are told to refresh at most once per this many milliseconds per notebook.
    #[arg(
        long,
        env = "REFRESH_THROTTLE_MS",
        default_value_t = 5000,
        global = true
    )]
    pub refresh_throttle_ms: u64,
    /// A `notebookAnalytics` subscription gets at most one new value per this many
    /// milliseconds per (notebook, filter), the last change always included. A feed whose
    /// computation takes more than half of this stays idle as long as it took before the next.
    /// An event waits up to this long for the next computation, then for the computation and
    /// its delivery: 150 leaves 100 ms of the 250 ms p99 that teachers are promised for those
    /// (at 200, one slow computation in fifty broke it on a loaded machine).
    #[arg(
        long,
        env = "ANALYTICS_PUSH_INTERVAL_MS",
        default_value_t = 150,
        global = true
    )]
    pub analytics_push_interval_ms: u64,
    /// Committed events are added to the rollups every this many milliseconds, or less often
    /// (up to eight times this on PostgreSQL, four on SQLite) when adding them takes more than
    /// a quarter of that: dashboards read the events not yet added from the event tables, so
    /// answers never wait for it.
    #[arg(
        long,
        env = "ROLLUP_APPLY_INTERVAL_MS",
        default_value_t = 500,
        global = true
    )]
    pub rollup_apply_interval_ms: u64,
    #[command(flatten)]
    pub rate: RateLimits,
}
