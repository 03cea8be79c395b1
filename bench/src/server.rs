//! The real application on `127.0.0.1:0` with a fresh database: a SQLite file in a new
//! temporary directory, or a new PostgreSQL database that is dropped afterwards.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Context;
use api::{AppState, Application, Config, config::Secret};
use sea_orm::{ConnectionTrait, Database};
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

struct TempDatabase {
    admin_url: String,
    name: String,
}

impl BenchServer {
    pub async fn start(backend: Backend, admin_url: &str) -> anyhow::Result<Self> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("api-bench-{tag}"));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => match TempDatabase::create(admin_url, &tag).await {
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
        config.database_url = postgres.as_ref().map(TempDatabase::url);
        config.jwt_secret = Some(Secret::new("bench-jwt-secret"));
        config.secret_salt = Some(Secret::new("bench-salt"));
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

impl TempDatabase {
    async fn create(admin_url: &str, tag: &str) -> anyhow::Result<Self> {
        let name = format!("bench_{tag}");
        let admin = Database::connect(admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url}"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .context("creating the benchmark database")?;
        admin.close().await.ok();
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    fn url(&self) -> String {
        replace_database(&self.admin_url, &self.name)
    }

    async fn drop_database(&self) -> anyhow::Result<()> {
        let admin = Database::connect(&self.admin_url).await?;
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        admin.execute_unprepared(&sql).await?;
        admin.close().await.ok();
        Ok(())
    }
}

/// `postgres://u@h:p/db?x` with the database part replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced_and_options_kept() {
        assert_eq!(
            super::replace_database("postgres://postgres@127.0.0.1:5432/postgres", "b1"),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            super::replace_database("postgres://u@h/db?sslmode=disable", "b2"),
            "postgres://u@h/b2?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "b3"),
            "postgres://u@h/b3"
        );
    }
}
