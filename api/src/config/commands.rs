//! The command line: the `api` binary's subcommands and their arguments (the settings every
//! command shares are `Config`, flattened in).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use entity::enums::Role;

use super::Config;

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
    /// Dashboard rollups (kept at every insert; rebuild after editing events by hand).
    Rollups {
        #[command(subcommand)]
        action: RollupsAction,
    },
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

#[derive(Debug, Clone, Subcommand)]
pub enum RollupsAction {
    /// Recompute the rollups from the events, in one transaction, then apply every newer event.
    Rebuild {
        /// Only this notebook (its public id); every notebook without it.
        #[arg(long)]
        notebook: Option<String>,
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
