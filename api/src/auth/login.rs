//! Password login and the shape rules of credentials, shared by the GraphQL mutations, the
//! old REST routes (`/jwt/*`) and the command line.

use std::net::IpAddr;

use entity::dashboard_user;

use super::{
    Accounts,
    password::{self, MAX_PASSWORD_LEN, PasswordCheck},
};
use crate::{
    error::{AppError, AppResult},
    services,
};

pub const MAX_USERNAME_LEN: usize = 256;
pub const MIN_NEW_PASSWORD_LEN: usize = 8;

pub fn check_credentials_shape(
    username: &str,
    password: &str,
    min_password_len: usize,
) -> AppResult<()> {
    if username.is_empty() || username.len() > MAX_USERNAME_LEN {
        return Err(AppError::bad_input(format!(
            "username must be 1 to {MAX_USERNAME_LEN} bytes"
        )));
    }
    if password.chars().count() < min_password_len || password.len() > MAX_PASSWORD_LEN {
        return Err(AppError::bad_input(format!(
            "password must be {min_password_len} to {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
}

/// Checks the password; an unknown user costs the same hashing work as a wrong password. A
/// valid legacy (Werkzeug) hash is replaced by an Argon2id one.
pub async fn authenticate(
    accounts: &Accounts,
    username: &str,
    password: String,
    client: Option<IpAddr>,
) -> AppResult<dashboard_user::Model> {
    let rejected = || AppError::Unauthenticated("invalid username or password");
    // A flood of logins must not queue Argon2 checks without bound (each holds ~19 MiB).
    let _permit = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        accounts.password_checks.acquire(),
    )
    .await
    .map_err(|_| AppError::RateLimited {
        retry_after_secs: 1,
    })?
    .map_err(AppError::internal)?;
    let username_hash = accounts.pseudonyms.pseudonymize(username);
    let refused = |outcome: &str| {
        // The name reaches the log only as the first characters of its salted hash.
        let pseudonym = username_hash.get(..12).unwrap_or_default();
        let address = client.map(|ip| ip.to_string());
        tracing::warn!(
            user.pseudonym = pseudonym,
            client.address = address,
            outcome,
            "login refused"
        );
        rejected()
    };
    let Some(user) = services::users::find_by_username_hash(&accounts.db, &username_hash).await?
    else {
        password::verify(accounts.dummy_password_hash.to_string(), password).await?;
        return Err(refused("unknown user"));
    };
    let user = match password::verify(user.password_hash.clone(), password.clone()).await? {
        PasswordCheck::Valid => user,
        PasswordCheck::ValidNeedsRehash => {
            let fresh = password::hash(password).await?;
            services::users::set_password_hash(&accounts.db, user, fresh).await?
        }
        PasswordCheck::Invalid => return Err(refused("wrong password")),
    };
    // Told only after the right password, so it reveals nothing to someone guessing.
    if user.disabled_at.is_some() {
        refused("disabled");
        return Err(AppError::Unauthenticated(super::sessions::ACCOUNT_DISABLED));
    }
    services::users::record_login(&accounts.db, user.id).await?;
    let address = client.map(|ip| ip.to_string());
    tracing::info!(
        user.id = user.id,
        client.address = address,
        outcome = "ok",
        "login"
    );
    Ok(user)
}

/// Creates a plain user (only when the server runs with `SIGNUP_ENABLED=true`; `FORBIDDEN`
/// otherwise). A taken username is `CONFLICT`.
pub async fn signup(
    accounts: &Accounts,
    username: &str,
    password: String,
) -> AppResult<dashboard_user::Model> {
    if !accounts.signup_enabled {
        return Err(AppError::forbidden("signup is disabled on this server"));
    }
    check_credentials_shape(username, &password, MIN_NEW_PASSWORD_LEN)?;
    let password_hash = password::hash(password).await?;
    let username_hash = accounts.pseudonyms.pseudonymize(username);
    services::users::create(
        &accounts.db,
        username_hash,
        password_hash,
        entity::enums::Role::User,
    )
    .await
}
