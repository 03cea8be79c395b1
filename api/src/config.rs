//! Configuration: the only module that reads the environment. Every setting is a CLI flag with
//! an environment variable behind it; secrets are wrapped so they never print.

use std::{fmt, net::SocketAddr, path::PathBuf};

use clap::{Args, ValueEnum};

mod commands;
mod limits;
mod rate_limits;
mod trusted_proxy;

pub use commands::{
    Cli, Command, DemoClassArgs, ImportLegacyArgs, MigrateAction, NotebookAction, RollupsAction,
    UserAction,
};
pub use limits::Limits;
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
