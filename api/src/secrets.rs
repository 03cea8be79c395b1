//! The two deployment secrets. Production requires them from the environment (`SECRET_SALT`,
//! and a `JWT_SECRET` of at least 32 bytes). Dev mode generates them once and keeps them in the
//! database itself (`dev_secrets`), so every command run against one database, from any
//! directory, uses the same pseudonym salt and token key: a user created by `api user create`
//! in one directory can log in to `api serve` started from another.

use std::path::Path;

use anyhow::{Context, bail};
use rand::RngCore;
use sea_orm::{
    ConnectionTrait, DatabaseConnection,
    sea_query::{Alias, Expr, ExprTrait, OnConflict, Query},
};
use serde::Deserialize;

use crate::config::{Config, Mode, Secret};

pub struct Secrets {
    pub jwt_secret: Secret,
    pub secret_salt: Secret,
}

/// Shorter HS256 keys can be brute-forced offline from one token.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Where earlier versions kept generated dev secrets; adopted once, so their pseudonyms stay.
const LEGACY_FILE_NAME: &str = "analytics-secrets.json";
const JWT_SECRET: &str = "jwt_secret";
const SECRET_SALT: &str = "secret_salt";

/// The generated pair, as stored in `dev_secrets` (and in the file of earlier versions).
#[derive(Deserialize)]
struct DevSecrets {
    jwt_secret: String,
    secret_salt: String,
}

pub async fn resolve(config: &Config, db: &DatabaseConnection) -> anyhow::Result<Secrets> {
    if config.mode == Mode::Production {
        return from_environment(config);
    }
    let (jwt_secret, secret_salt) = match (&config.jwt_secret, &config.secret_salt) {
        (Some(jwt), Some(salt)) => (jwt.clone(), salt.clone()),
        (jwt, salt) => {
            let stored = stored_dev_secrets(db, &config.data_dir).await?;
            (
                jwt.clone()
                    .unwrap_or_else(|| Secret::new(stored.jwt_secret)),
                salt.clone()
                    .unwrap_or_else(|| Secret::new(stored.secret_salt)),
            )
        }
    };
    Ok(Secrets {
        jwt_secret,
        secret_salt,
    })
}

/// In production mode, that both secrets are set and strong enough; nothing in dev mode.
pub fn check_production(config: &Config) -> anyhow::Result<()> {
    match config.mode {
        Mode::Production => from_environment(config).map(|_| ()),
        Mode::Dev => Ok(()),
    }
}

fn from_environment(config: &Config) -> anyhow::Result<Secrets> {
    let (Some(jwt_secret), Some(secret_salt)) = (&config.jwt_secret, &config.secret_salt) else {
        bail!("JWT_SECRET and SECRET_SALT must be set in production mode");
    };
    if jwt_secret.expose().len() < MIN_JWT_SECRET_BYTES {
        bail!("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in production mode");
    }
    if secret_salt.expose().is_empty() {
        bail!("SECRET_SALT must not be empty in production mode");
    }
    Ok(Secrets {
        jwt_secret: jwt_secret.clone(),
        secret_salt: secret_salt.clone(),
    })
}

/// The database's dev secrets, created on first use (from a legacy file in `data_dir` if there
/// is one, else random). Inserted only where absent and read back, so instances starting
/// together agree.
async fn stored_dev_secrets(
    db: &DatabaseConnection,
    data_dir: &Path,
) -> anyhow::Result<DevSecrets> {
    if let Some(stored) = read(db).await? {
        return Ok(stored);
    }
    let legacy = data_dir.join(LEGACY_FILE_NAME);
    let candidate = match std::fs::read_to_string(&legacy) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("parsing {}", legacy.display()))?
        }
        Err(_) => DevSecrets {
            jwt_secret: random_hex(32),
            secret_salt: random_hex(32),
        },
    };
    for (name, value) in [
        (JWT_SECRET, &candidate.jwt_secret),
        (SECRET_SALT, &candidate.secret_salt),
    ] {
        let insert = Query::insert()
            .into_table(Alias::new("dev_secrets"))
            .columns([Alias::new("name"), Alias::new("value")])
            .values([name.into(), value.as_str().into()])?
            .on_conflict(
                OnConflict::column(Alias::new("name"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        db.execute(&insert).await?;
    }
    tracing::warn!(
        "dev mode: JWT_SECRET and SECRET_SALT are kept in this database (table dev_secrets); \
         set them explicitly in production"
    );
    read(db)
        .await?
        .context("dev secrets missing right after being stored")
}

async fn read(db: &DatabaseConnection) -> anyhow::Result<Option<DevSecrets>> {
    let select = Query::select()
        .columns([Alias::new("name"), Alias::new("value")])
        .from(Alias::new("dev_secrets"))
        .and_where(Expr::col(Alias::new("name")).is_in([JWT_SECRET, SECRET_SALT]))
        .to_owned();
    let rows = db.query_all(&select).await?;
    let (mut jwt_secret, mut secret_salt) = (None, None);
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let value: String = row.try_get("", "value")?;
        match name.as_str() {
            JWT_SECRET => jwt_secret = Some(value),
            SECRET_SALT => secret_salt = Some(value),
            _ => {}
        }
    }
    Ok(jwt_secret
        .zip(secret_salt)
        .map(|(jwt_secret, secret_salt)| DevSecrets {
            jwt_secret,
            secret_salt,
        }))
}

pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}
