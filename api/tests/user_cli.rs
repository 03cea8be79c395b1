//! The `api user` command: the first admin is created without editing the database by hand,
//! and can then log in over HTTP. Runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL`
//! is set.
#![expect(
    clippy::expect_used,
    reason = "test helpers: a failed step must stop the test with its message"
)]

use std::{
    io::Write,
    net::SocketAddr,
    path::Path,
    process::{Command, Output, Stdio},
};

use api::{
    config::{Config, Secret},
    startup::Application,
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const JWT_SECRET: &str = "cli-test-jwt";
const SALT: &str = "cli-test-salt";

fn run_cli(database_url: &str, data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_api"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", data_dir)
        .env("JWT_SECRET", JWT_SECRET)
        .env("SECRET_SALT", SALT)
        .env_remove("USER_PASSWORD")
        .env_remove("REDIS_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the api binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the password");
    child.wait_with_output().expect("api exits")
}

async fn login_role(database_url: &str, data_dir: &Path, password: &str) -> Value {
    let mut config = Config::defaults();
    config.bind_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.data_dir = data_dir.to_path_buf();
    config.database_url = Some(database_url.to_owned());
    config.jwt_secret = Some(Secret::new(JWT_SECRET));
    config.secret_salt = Some(Secret::new(SALT));
    let app = Application::build(config).await.expect("build");
    let addr = app.local_addr().expect("address");
    let server = tokio::spawn(app.run_until_stopped());
    let response: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { user { role } } }",
            "variables": { "u": "first-admin", "p": password },
        }))
        .send()
        .await
        .expect("login request")
        .json()
        .await
        .expect("JSON");
    server.abort();
    response
}

async fn the_first_admin_is_created_by_the_cli_and_logs_in(database_url: &str) {
    let data_dir = std::env::temp_dir().join(format!("cli-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let password = "a long admin password";
    let created = run_cli(
        database_url,
        &data_dir,
        &[
            "user",
            "create",
            "--username",
            "first-admin",
            "--role",
            "admin",
        ],
        &format!("{password}\n"),
    );
    let output = String::from_utf8_lossy(&created.stdout).to_string()
        + &String::from_utf8_lossy(&created.stderr);
    assert!(created.status.success(), "{output}");
    assert!(
        !output.contains("first-admin") && !output.contains(password),
        "{output}"
    );

    let response = login_role(database_url, &data_dir, password).await;
    assert_eq!(
        response["data"]["login"]["user"]["role"], "ADMIN",
        "{response}"
    );

    let duplicate = run_cli(
        database_url,
        &data_dir,
        &[
            "user",
            "create",
            "--username",
            "first-admin",
            "--role",
            "user",
        ],
        "another password\n",
    );
    assert!(!duplicate.status.success());

    let demoted = run_cli(
        database_url,
        &data_dir,
        &[
            "user",
            "set-role",
            "--username",
            "first-admin",
            "--role",
            "user",
        ],
        "",
    );
    assert!(
        demoted.status.success(),
        "{}",
        String::from_utf8_lossy(&demoted.stderr)
    );
    let response = login_role(database_url, &data_dir, password).await;
    assert_eq!(
        response["data"]["login"]["user"]["role"], "USER",
        "{response}"
    );

    let no_password = run_cli(
        database_url,
        &data_dir,
        &["user", "create", "--username", "second", "--role", "admin"],
        "",
    );
    assert!(!no_password.status.success());
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test]
async fn the_cli_creates_an_admin_who_can_log_in_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("cli-db-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("db dir");
    let url = format!("sqlite://{}/cli.sqlite?mode=rwc", dir.display());
    the_first_admin_is_created_by_the_cli_and_logs_in(&url).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_cli_creates_an_admin_who_can_log_in_on_postgres() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped on PostgreSQL: TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("cli_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await.expect("connect");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    the_first_admin_is_created_by_the_cli_and_logs_in(&format!("{base}/{name}")).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop database");
}
