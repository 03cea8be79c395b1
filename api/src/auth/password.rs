//! Password hashing: Argon2id for everything we write, Werkzeug hashes accepted from imported
//! users (and re-hashed on their next successful login). Hashing runs on the blocking pool,
//! never on the async runtime.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use super::legacy_hash;
use crate::error::{AppError, AppResult};

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Valid,
    /// Valid, but stored in a legacy format: store a fresh Argon2id hash.
    ValidNeedsRehash,
    Invalid,
}

/// Longest password accepted; longer inputs are refused before any hashing work.
pub const MAX_PASSWORD_LEN: usize = 1024;

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::internal(anyhow::anyhow!("argon2: {error}")))
    })
    .await
    .map_err(AppError::internal)?
}

pub async fn verify(stored: String, password: String) -> AppResult<PasswordCheck> {
    tokio::task::spawn_blocking(move || verify_blocking(&stored, &password))
        .await
        .map_err(AppError::internal)
}

fn verify_blocking(stored: &str, password: &str) -> PasswordCheck {
    if legacy_hash::is_werkzeug_hash(stored) {
        return match legacy_hash::verify_werkzeug(stored, password) {
            Ok(true) => PasswordCheck::ValidNeedsRehash,
            Ok(false) => PasswordCheck::Invalid,
            Err(error) => {
                tracing::warn!(%error, "unusable legacy password hash");
                PasswordCheck::Invalid
            }
        };
    }
    match Argon2::default().verify_password(password.as_bytes(), stored) {
        Ok(()) => PasswordCheck::Valid,
        Err(_) => PasswordCheck::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_argon2id_hash_verifies_its_password_only() -> AppResult<()> {
        let stored = hash("s3cret!".into()).await?;
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(
            verify(stored.clone(), "s3cret!".into()).await?,
            PasswordCheck::Valid
        );
        assert_eq!(
            verify(stored, "wrong".into()).await?,
            PasswordCheck::Invalid
        );
        Ok(())
    }

    #[tokio::test]
    async fn garbage_in_the_hash_column_is_invalid_not_a_crash() -> AppResult<()> {
        assert_eq!(
            verify("not a hash".into(), "x".into()).await?,
            PasswordCheck::Invalid
        );
        Ok(())
    }
}
