//! A second server instance as a real process (`target/debug/api serve`) sharing a test app's
//! PostgreSQL database, Redis and secrets: the multi-instance tests kill it with SIGKILL, which
//! no in-process server can imitate (its sessions would still leave presence on the way out).

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::{TestApp, app::TEST_SALT};

/// The `api` binary cargo built beside the running test (`target/debug/api`).
pub fn api_binary() -> PathBuf {
    let binary = std::env::current_exe()
        .expect("test binary path")
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("api"))
        .expect("target directory");
    assert!(
        binary.exists(),
        "{} missing: run `cargo test --workspace`",
        binary.display()
    );
    binary
}

pub struct Instance {
    pub addr: SocketAddr,
    child: Child,
}

impl Instance {
    /// Starts `api serve` on the same database, Redis and key prefix as `app`, with `envs`.
    pub async fn start(app: &TestApp, envs: &[(&str, &str)]) -> Self {
        let config = &app.state.config;
        let binary = api_binary();
        let data_dir = std::env::temp_dir().join(format!("api-instance-{}", uuid::Uuid::new_v4()));
        let mut command = Command::new(binary);
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", config.database_url())
            .env("DATA_DIR", &data_dir)
            .env("JWT_SECRET", "test-jwt-secret")
            .env("SECRET_SALT", TEST_SALT)
            .env("REDIS_KEY_PREFIX", &config.redis_key_prefix)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        match &config.redis_url {
            Some(url) => command.env("REDIS_URL", url),
            None => command.env_remove("REDIS_URL"),
        };
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start api serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(url) = line.strip_prefix("GraphiQL: http://") {
                    return url.trim_end_matches("/graphql").parse().expect("address");
                }
            }
            panic!("the instance exited before listening")
        })
        .await
        .expect("the instance listens within a minute");
        Self {
            addr: address,
            child,
        }
    }

    /// The process id, to read its memory from `/proc`.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no goodbye to the broker or to presence.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the instance");
    }
}
