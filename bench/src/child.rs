//! The real `api` binary as a child process on a fresh database: the server runs in its own
//! process, so its figures (latency, RSS) are not shared with the load generator's.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use tests::TempDatabase;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::Backend;

/// A fresh database (SQLite file in a temporary directory, or a new PostgreSQL database) and the
/// environment every `api` command needs to use it.
pub struct BenchDatabase {
    pub data_dir: PathBuf,
    pub url: String,
    postgres: Option<TempDatabase>,
}

impl BenchDatabase {
    pub async fn create(backend: Backend, admin_url: &str) -> anyhow::Result<Self> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("api-bench-{tag}"));
        std::fs::create_dir_all(&data_dir)?;
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TempDatabase::create(admin_url, "bench").await?),
        };
        let url = match &postgres {
            Some(database) => database.url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("analytics.sqlite").display()
            ),
        };
        Ok(Self {
            data_dir,
            url,
            postgres,
        })
    }

    /// `api <args>` on this database, waiting for it to finish.
    pub async fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<String> {
        let output = self
            .command(args, envs)?
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .await?;
        if !output.status.success() {
            bail!("api {} failed: {}", args.join(" "), output.status);
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Registers notebook `public_id` through a tiny demo class (one student, four events), as
    /// a teacher's upload would.
    pub async fn register_notebook(&self, public_id: &str) -> anyhow::Result<()> {
        let demo = [
            "demo-class",
            "--students",
            "1",
            "--cells",
            "2",
            "--events",
            "4",
        ];
        let options = ["--sessions", "1", "--notebook-id", public_id];
        self.run(&[&demo[..], &options[..]].concat(), &[]).await?;
        Ok(())
    }

    /// `api serve` on a free port; returns the child and its address.
    pub async fn serve(&self) -> anyhow::Result<(Child, String)> {
        self.serve_with(&[]).await
    }

    /// `api serve` with extra environment (`REDIS_URL`, limits).
    pub async fn serve_with(&self, envs: &[(&str, &str)]) -> anyhow::Result<(Child, String)> {
        let mut child = self
            .command(&["serve", "--bind", "127.0.0.1:0"], envs)?
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let read_url = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("GraphiQL: ") {
                    return anyhow::Ok(url.trim_end_matches("/graphql").to_owned());
                }
            }
            bail!("the server exited before printing its address")
        };
        let base = tokio::time::timeout(Duration::from_secs(60), read_url).await??;
        // Keep reading what the server prints, so it never writes into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((child, base))
    }

    fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Command> {
        let mut command = Command::new(api_binary()?);
        command
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("DATA_DIR", &self.data_dir)
            .env("JWT_SECRET", "bench-jwt-secret-bench-jwt-secret")
            .env("SECRET_SALT", "bench-salt")
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL");
        for (key, value) in envs {
            command.env(key, value);
        }
        Ok(command)
    }

    pub async fn drop_all(self) {
        if let Some(database) = &self.postgres
            && let Err(error) = database.drop_database().await
        {
            eprintln!("warning: {} not dropped: {error:#}", database.name);
        }
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

/// The `api` binary beside this one (`cargo build --release -p api -p bench` builds both).
fn api_binary() -> anyhow::Result<PathBuf> {
    let here = std::env::current_exe()?;
    let binary = here.parent().map(|dir| dir.join("api")).unwrap_or_default();
    if !binary.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p api -p bench`",
            binary.display()
        );
    }
    Ok(binary)
}

/// Resident memory of process `pid` in KiB, file-backed pages left out (`VmRSS` less
/// `RssFile`): the server maps its SQLite file for reads, and those pages are the OS page
/// cache, shared and reclaimable, not memory it holds. The binary's own mapped pages (about
/// 20 MiB) are left out with them. (`smaps` would tell the database's mappings apart, but
/// reading it every 100 ms slowed the server's page faults tenfold.)
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(field("VmRSS:")?.saturating_sub(field("RssFile:")?))
}
