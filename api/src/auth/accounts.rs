//! The narrow handle that login, signup and sessions work with: the database, the token keys,
//! the pseudonymizer and the budget of password checks. The transports hold one and never hand
//! the whole application down.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;

use super::JwtKeys;
use crate::pseudonym::Pseudonymizer;

#[derive(Clone)]
pub struct Accounts {
    pub db: DatabaseConnection,
    pub jwt: Arc<JwtKeys>,
    pub pseudonyms: Pseudonymizer,
    /// Bounds the password checks running at once (each holds ~19 MiB for tens of ms).
    pub(super) password_checks: Arc<Semaphore>,
    /// A real Argon2id hash checked when a login names an unknown user, so that answer takes
    /// as long as a wrong password.
    pub(super) dummy_password_hash: Arc<str>,
    /// `SIGNUP_ENABLED`: anyone may create a plain dashboard user.
    pub(super) signup_enabled: bool,
}

impl Accounts {
    pub fn new(
        db: DatabaseConnection,
        jwt: Arc<JwtKeys>,
        pseudonyms: Pseudonymizer,
        password_checks_max: usize,
        dummy_password_hash: String,
        signup_enabled: bool,
    ) -> Self {
        Self {
            db,
            jwt,
            pseudonyms,
            password_checks: Arc::new(Semaphore::new(password_checks_max.max(1))),
            dummy_password_hash: dummy_password_hash.into(),
            signup_enabled,
        }
    }
}
