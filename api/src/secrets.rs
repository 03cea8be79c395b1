//! The two deployment secrets. Production requires them from the environment; dev mode
//! generates them once and keeps them beside the SQLite file, so pseudonyms and tokens stay
//! valid across restarts.

use std::path::Path;

use anyhow::{Context, bail};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Mode, Secret};

pub struct Secrets {
    pub jwt_secret: Secret,
    pub secret_salt: Secret,
}

#[derive(Serialize, Deserialize)]
struct StoredSecrets {
    jwt_secret: String,
    secret_salt: String,
}

const FILE_NAME: &str = "analytics-secrets.json";

pub fn resolve(config: &Config) -> anyhow::Result<Secrets> {
    if let (Some(jwt_secret), Some(secret_salt)) = (&config.jwt_secret, &config.secret_salt) {
        return Ok(Secrets {
            jwt_secret: jwt_secret.clone(),
            secret_salt: secret_salt.clone(),
        });
    }
    if config.mode == Mode::Production {
        bail!("JWT_SECRET and SECRET_SALT must be set in production mode");
    }
    let stored = load_or_create(&config.data_dir.join(FILE_NAME))?;
    Ok(Secrets {
        jwt_secret: config
            .jwt_secret
            .clone()
            .unwrap_or_else(|| Secret::new(stored.jwt_secret)),
        secret_salt: config
            .secret_salt
            .clone()
            .unwrap_or_else(|| Secret::new(stored.secret_salt)),
    })
}

fn load_or_create(path: &Path) -> anyhow::Result<StoredSecrets> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()));
    }
    let stored = StoredSecrets {
        jwt_secret: random_hex(32),
        secret_salt: random_hex(32),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&stored)?)
        .with_context(|| format!("writing {}", path.display()))?;
    restrict_permissions(path)?;
    tracing::warn!(
        path = %path.display(),
        "dev mode: generated JWT_SECRET and SECRET_SALT; set them explicitly in production"
    );
    Ok(stored)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}
