//! A fresh PostgreSQL database per test (and per benchmark run), dropped when it goes out of
//! scope.

use sea_orm::{ConnectionTrait, Database};

pub const ENV: &str = "TEST_DATABASE_URL";

/// The PostgreSQL server's URL for a test that talks to it directly; `None`, after saying that
/// `test` is skipped, when it is not set.
pub fn admin_url_or_skip(test: &str) -> Option<String> {
    let url = std::env::var(ENV).ok();
    if url.is_none() {
        eprintln!("{test} skipped: {ENV} is not set");
    }
    url
}

pub struct TempDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl TempDatabase {
    /// Creates database `<prefix>_<uuid>` on the server of `admin_url`.
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await.ok();
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: replace_database(admin_url, &name),
            name,
        })
    }

    /// Drops the database now (also done on drop, for tests that fail before they get here).
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        drop_database(&self.admin_url, &self.name).await
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(admin_url).await?;
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    admin.execute_unprepared(&sql).await?;
    admin.close().await.ok();
    Ok(())
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async code; a short-lived runtime on its own thread does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drop_database(&admin_url, &name))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
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
            super::replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            super::replace_database("postgres://u@h/db?sslmode=disable", "t2"),
            "postgres://u@h/t2?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "t3"),
            "postgres://u@h/t3"
        );
    }
}
