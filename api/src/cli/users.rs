//! `api user …`: create the first admin without touching the database by hand, change roles,
//! list accounts, disable, enable or delete one, reset a forgotten password. Changes are
//! audited with no actor (the command line); ending sessions is announced on the configured
//! broker, so with Redis the servers close the user's sockets at once (with the in-process
//! broker each server notices at its sockets' next keep-alive check).

use std::io::Read;

use anyhow::{Context, bail};
use serde_json::json;

use crate::{
    auth::{login::check_credentials_shape, password},
    config::{Config, UserAction},
    services::{self, users::admin::UserAdmin},
    state::AppState,
};

/// Users listed per query while printing them all.
const LIST_PAGE: u64 = 500;

pub async fn user(config: Config, action: UserAction) -> anyhow::Result<()> {
    let state = crate::startup::build_state(config).await?;
    let admin = UserAdmin {
        db: &state.db,
        broker: state.broker.as_ref(),
        actor: None,
    };
    let hash = |username: &str| state.pseudonyms.pseudonymize(username);
    match action {
        UserAction::Create { username, role } => create(&state, &username, role).await?,
        UserAction::SetRole { username, role } => {
            let username_hash = hash(&username);
            let user = services::users::get_by_username_hash(&state.db, &username_hash).await?;
            services::users::set_role(&state.db, user, role).await?;
            let details = json!({ "user": username_hash, "role": role_word(role) });
            services::audit::record(&state.db, None, "cli_set_role", details).await?;
            println!("user {username_hash} now has role {}", role_word(role));
        }
        UserAction::List => list(&state).await?,
        UserAction::Disable { username } => {
            let user = admin.disable(&hash(&username)).await?;
            println!("disabled user {}; their sessions ended", user.username_hash);
        }
        UserAction::Enable { username } => {
            let user = admin.enable(&hash(&username)).await?;
            println!("enabled user {}", user.username_hash);
        }
        UserAction::Delete { username } => {
            let grants = admin.delete(&hash(&username)).await?;
            println!(
                "deleted user {} and {grants} notebook grants",
                hash(&username)
            );
        }
        UserAction::ResetPassword { username } => {
            let password = read_password()?;
            check_credentials_shape(&username, &password, 8)?;
            let password_hash = password::hash(password).await?;
            let user = admin
                .reset_password(&hash(&username), password_hash)
                .await?;
            println!(
                "new password set for {}; their sessions ended",
                user.username_hash
            );
        }
    }
    Ok(())
}

async fn create(state: &AppState, username: &str, role: entity::enums::Role) -> anyhow::Result<()> {
    let password = read_password()?;
    check_credentials_shape(username, &password, 8)?;
    let hash = password::hash(password).await?;
    let username_hash = state.pseudonyms.pseudonymize(username);
    let user = services::users::create(&state.db, username_hash.clone(), hash, role).await?;
    let details = json!({ "user": username_hash, "role": role_word(role) });
    services::audit::record(&state.db, None, "cli_create_user", details).await?;
    println!(
        "created user {} with role {}",
        user.username_hash,
        role_word(role)
    );
    Ok(())
}

/// One tab-separated line per user: pseudonym, role, created, last login, disabled, notebooks.
async fn list(state: &AppState) -> anyhow::Result<()> {
    println!("pseudonym\trole\tcreated\tlast_login\tdisabled\tnotebooks");
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(|| "-".to_owned(), |at| at.to_rfc3339())
    };
    let mut offset = 0;
    loop {
        let (users, total) = services::users::admin::list(&state.db, LIST_PAGE, offset).await?;
        for user in &users {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                user.pseudonym,
                role_word(user.role),
                user.created_at.to_rfc3339(),
                time(user.last_login_at),
                time(user.disabled_at),
                user.notebooks.join(",")
            );
        }
        offset += LIST_PAGE;
        if users.is_empty() || offset >= total {
            return Ok(());
        }
    }
}
/// `USER_PASSWORD` if set, else the first line of standard input (so it never shows in the
/// process list or shell history).
fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("USER_PASSWORD") {
        return Ok(password);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        bail!("no password: pipe it on standard input or set USER_PASSWORD");
    }
    Ok(password)
}

fn role_word(role: entity::enums::Role) -> &'static str {
    match role {
        entity::enums::Role::User => "user",
        entity::enums::Role::Superuser => "superuser",
        entity::enums::Role::Admin => "admin",
    }
}
