//! The real application on `127.0.0.1:0` with a fresh database: a SQLite file in a new
//! temporary directory, or a new PostgreSQL database that is dropped afterwards.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Context;
use api::{AppState, Application, Config, config::Secret};
use tests::TempDatabase;
use tokio::task::JoinHandle;

use crate::Backend;

pub struct BenchServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Where the data is, for the report header.
    pub database_label: String,
    server: JoinHandle<()>,
    data_dir: PathBuf,
    postgres: Option<TempDatabase>,
}

impl BenchServer {
    pub async fn start(backend: Backend, admin_url: &str) -> anyhow::Result<Self> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("api-bench-{tag}"));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => match TempDatabase::create(admin_url, "bench").await {
                Ok(database) => Some(database),
                Err(error) => {
                    std::fs::remove_dir_all(&data_dir).ok();
                    return Err(error);
                }
            },
        };
        let mut config = Config::defaults();
        config.bind_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir.clone();
        // SQLite: the default file `<data_dir>/analytics.sqlite` (WAL, synchronous FULL), as
        // deployed; never `:memory:`.
        config.database_url = postgres.as_ref().map(|database| database.url.clone());
        config.jwt_secret = Some(Secret::new("bench-jwt-secret"));
        config.secret_salt = Some(Secret::new("bench-salt"));
        // The load generator is one address hammering a few hundred students: it measures the
        // server, not the rate limiter.
        config.limits.rate = api::config::RateLimits::off();
        let database_label = match &postgres {
            Some(database) => format!("database {}", database.name),
            None => format!("file {}", data_dir.join("analytics.sqlite").display()),
        };
        let built = async {
            let app = Application::build(config).await?;
            let addr = app.local_addr()?;
            anyhow::Ok((app, addr))
        }
        .await;
        let (app, addr) = match built {
            Ok(built) => built,
            Err(error) => {
                cleanup(&data_dir, postgres.as_ref()).await;
                return Err(error.context("building the application"));
            }
        };
        let state = app.state().clone();
        let server = tokio::spawn(async move {
            if let Err(error) = app.run_until_stopped().await {
                eprintln!("bench server stopped: {error:#}");
            }
        });
        Ok(Self {
            addr,
            state,
            database_label,
            server,
            data_dir,
            postgres,
        })
    }

    /// Stops serving and removes the database (file or PostgreSQL database).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.abort();
        let _ = self.server.await;
        self.state.db.clone().close().await.ok();
        cleanup(&self.data_dir, self.postgres.as_ref()).await;
        Ok(())
    }
}

async fn cleanup(data_dir: &Path, postgres: Option<&TempDatabase>) {
    if let Some(database) = postgres
        && let Err(error) = database.drop_database().await
    {
        eprintln!(
            "warning: benchmark database {} was not dropped: {error:#}",
            database.name
        );
    }
    std::fs::remove_dir_all(data_dir).ok();
}
