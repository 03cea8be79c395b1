//! Configuration: the only module that reads the environment. Every setting is a CLI flag with
//! an environment variable behind it; secrets are wrapped so they never print.

use std::{fmt, net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use entity::enums::Role;

mod rate_limits;
mod trusted_proxy;

pub use rate_limits::RateLimits;
pub use trusted_proxy::TrustedProxy;

/// A secret value that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Generates and persists missing secrets next to the SQLite file.
    Dev,
    /// Refuses to start without `JWT_SECRET` and `SECRET_SALT`.
    Production,
}

/// Who may introspect the schema (`__schema`, `__type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Introspection {
    /// Everyone (the default in dev mode).
    On,
    /// Admins only (the default in production): GraphiQL then needs an admin's token.
    Admins,
    /// Nobody.
    Off,
}

/// Whether the old dashboard's token-less Socket.IO teacher socket may push cells and chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LegacyTeacherPush {
    /// Only a teacher socket that came with a token authorized for the notebook (the default).
    Refused,
    /// Any teacher socket, as the old backend allowed: for deployments that must keep
    /// dashboard 5.0.4's "Push the Selected Cell" while they move to an authenticated client.
    /// Anyone who can reach the server can then push to the students of a notebook.
    Unauthenticated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "api",
    version,
    about = "GraphQL server for Jupyter learning analytics"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve (the default).
    Serve,
    /// Apply or revert database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Write the GraphQL schema (SDL) to a file, or to stdout with `-`.
    ExportSchema {
        #[arg(default_value = "schema.graphql")]
        path: PathBuf,
    },
    /// Manage dashboard users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Upload and list notebooks.
    Notebook {
        #[command(subcommand)]
        action: NotebookAction,
    },
    /// Load a synthetic class (notebook, groups, every event kind) to try the dashboards on.
    DemoClass(DemoClassArgs),
    /// Delete every row of one student (events, interactions, group memberships) and print
    /// the counts; audited without the student's id.
    EraseStudent {
        /// The student's raw id, as the telemetry extension sends it (pseudonymized here).
        #[arg(long)]
        user: String,
        /// Only in this notebook (its public id); all notebooks without it.
        #[arg(long)]
        notebook: Option<String>,
    },
    /// Import the old Flask backend's PostgreSQL database (resumable, idempotent) and print a
    /// per-table count comparison.
    ImportLegacy(ImportLegacyArgs),
    /// Delete events older than a window (`365d`, `12h`) and print the counts.
    Retention {
        #[arg(long)]
        older_than: String,
        /// Count what would go, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ImportLegacyArgs {
    /// URL of the old database: `postgres://user@host:5432/name`.
    #[arg(long = "from")]
    pub from: String,
    /// Only this old notebook id (repeatable); every notebook without it.
    #[arg(long = "notebook")]
    pub notebooks: Vec<String>,
    /// Read and count, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The old notebooks' files: a directory, or `s3://BUCKET[/PREFIX]` (reached with the
    /// `S3_ENDPOINT`, `S3_REGION` and AWS credential settings). Each notebook's file is
    /// `<notebook id>.ipynb` or its old S3 object key under it.
    #[arg(
        long,
        visible_alias = "notebooks-dir",
        value_name = "DIR | s3://BUCKET[/PREFIX]"
    )]
    pub notebooks_from: Option<String>,
    /// Old rows per batch: one read and one insert transaction each.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_size: u64,
    /// Stop with an error after this many batches (tests resuming an interrupted import).
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoClassArgs {
    #[arg(long, default_value_t = 300)]
    pub students: usize,
    #[arg(long, default_value_t = 60)]
    pub cells: usize,
    #[arg(long, default_value_t = 1_500_000)]
    pub events: usize,
    /// Weekly two-hour sessions the events are spread over; the last one ends now.
    #[arg(long, default_value_t = 10)]
    pub sessions: usize,
    #[arg(long, default_value = "demo-class")]
    pub notebook_id: String,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// An existing dashboard user to authorize for the demo notebook.
    #[arg(long)]
    pub teacher: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum NotebookAction {
    /// Upload an `.ipynb` as `uploadNotebook` does: tag, store, register (or add a version).
    Upload {
        file: PathBuf,
        /// Display name; default: the file name without `.ipynb`.
        #[arg(long)]
        name: Option<String>,
        /// Upload as this dashboard user (authorized for the notebook afterwards).
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// List registered notebooks: id, version, name.
    List,
    /// Archive a notebook: read-only (ingest refused, dashboards still readable).
    Archive {
        notebook_id: String,
        /// Make it take events again.
        #[arg(long)]
        undo: bool,
    },
    /// Delete a notebook with its events, interactions, groups, versions, files and grants;
    /// prints the counts.
    Delete {
        notebook_id: String,
        /// Count what would go, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Revert the last `steps` migrations.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserAction {
    /// Create a dashboard user; the password is read from `USER_PASSWORD` or standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum, default_value_t = Role::User)]
        role: Role,
    },
    /// Change the role of an existing dashboard user.
    SetRole {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// List dashboard users: pseudonym, role, created, last login, disabled, notebooks.
    List,
    /// Disable a user and end every session they hold (not the last active admin).
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Let a disabled user log in again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Delete a user with their sessions and notebook grants (not the last active admin).
    Delete {
        #[arg(long)]
        username: String,
    },
    /// Set a new password (from `USER_PASSWORD` or standard input) and end every session.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// `dev` fills in missing secrets; `production` requires them.
    #[arg(long, env = "APP_MODE", value_enum, default_value_t = Mode::Dev, global = true)]
    pub mode: Mode,
    /// Directory for the default SQLite file, generated dev secrets and notebook files.
    #[arg(long, env = "DATA_DIR", default_value = ".", global = true)]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `<DATA_DIR>/analytics.sqlite`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Redis for multi-instance deployments; absent means the in-process broker.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments sharing one Redis stay apart.
    #[arg(
        long,
        env = "REDIS_KEY_PREFIX",
        default_value = "analytics",
        global = true
    )]
    pub redis_key_prefix: String,
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret>,
    /// Salt of the student-id pseudonyms; must match the old deployment's to keep data joined.
    #[arg(long, env = "SECRET_SALT", hide_env_values = true, global = true)]
    pub secret_salt: Option<Secret>,
    #[arg(
        long = "bind",
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind_addr: SocketAddr,
    /// Where notebook files are kept; default `<DATA_DIR>/notebooks`.
    #[arg(long, env = "STORAGE_DIR", global = true)]
    pub storage_dir: Option<PathBuf>,
    /// Origins allowed to call the authenticated API from a browser (comma separated, or `*`).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// When set (e.g. `365d`), the server deletes events older than this once a day.
    #[arg(long, env = "RETENTION", global = true)]
    pub retention: Option<String>,
    /// When set, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`.
    #[arg(long, env = "METRICS_TOKEN", global = true)]
    pub metrics_token: Option<Secret>,
    /// Who may introspect the schema; unset: `on` in dev mode, `admins` in production.
    #[arg(long, env = "INTROSPECTION", value_enum, global = true)]
    pub introspection: Option<Introspection>,
    /// Let anyone create a plain dashboard user through the `signup` mutation.
    #[arg(long, env = "SIGNUP_ENABLED", default_value_t = false, global = true)]
    pub signup_enabled: bool,
    /// `unauthenticated` lets the old dashboard's token-less Socket.IO socket push and chat
    /// (off by default; a warning at start while it is on).
    #[arg(
        long,
        env = "LEGACY_SOCKET_TEACHER_PUSH",
        value_enum,
        default_value_t = LegacyTeacherPush::Refused,
        global = true
    )]
    pub legacy_socket_teacher_push: LegacyTeacherPush,
    /// Base URL clients reach this server at (e.g. `https://analytics.example.org`), used in
    /// the download links the API returns; unset gives links relative to the server.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub s3: S3Config,
    #[command(flatten)]
    pub limits: Limits,
}

/// S3-compatible object storage for notebook files; used instead of `STORAGE_DIR` when
/// `S3_BUCKET` is set.
#[derive(Debug, Clone, Default, Args)]
pub struct S3Config {
    #[arg(long, env = "S3_BUCKET", global = true)]
    pub bucket: Option<String>,
    /// Key prefix inside the bucket, so deployments can share one.
    #[arg(
        long = "s3-prefix",
        env = "S3_PREFIX",
        default_value = "",
        global = true
    )]
    pub prefix: String,
    /// Endpoint of a non-AWS store (MinIO, Ceph, …); unset means AWS.
    #[arg(long = "s3-endpoint", env = "S3_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    #[arg(
        long = "s3-region",
        env = "S3_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub region: String,
    #[arg(
        long = "s3-access-key-id",
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true,
        global = true
    )]
    pub access_key_id: Option<Secret>,
    #[arg(
        long = "s3-secret-access-key",
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_access_key: Option<Secret>,
    /// Allow a plain-http endpoint (a local MinIO); never for a store across a network.
    #[arg(
        long = "s3-allow-http",
        env = "S3_ALLOW_HTTP",
        default_value_t = false,
        global = true
    )]
    pub allow_http: bool,
}

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
    #[command(flatten)]
    pub rate: RateLimits,
}

impl Config {
    /// The introspection policy in force: the configured one, else by mode.
    pub fn introspection(&self) -> Introspection {
        self.introspection.unwrap_or(match self.mode {
            Mode::Dev => Introspection::On,
            Mode::Production => Introspection::Admins,
        })
    }

    /// Defaults as if no flag or variable was given (used by tests and tools): the command
    /// line's own defaults, read from the same attributes with the environment ignored, so a
    /// default is written once.
    #[expect(
        clippy::expect_used,
        reason = "no setting is required, so an empty command line always parses (tested)"
    )]
    pub fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(["api"])
            .expect("an empty command line parses");
        Self::from_arg_matches(&matches).expect("the defaults form a configuration")
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            let file = self.data_dir.join("analytics.sqlite");
            format!("sqlite://{}?mode=rwc", file.display())
        })
    }

    pub fn storage_dir(&self) -> PathBuf {
        self.storage_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("notebooks"))
    }
}
