//! Dev-mode secrets live with the database: commands run from different directories against
//! one database use the same salt (so a user created by one can log in to the other), a
//! secrets file of an earlier version is adopted, and production mode requires explicit,
//! strong secrets.

use api::config::{Config, Mode, Secret};
use tests::TempDatabase;

fn config(data_dir: &std::path::Path, database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.data_dir = data_dir.to_owned();
    config.database_url = Some(database_url.to_owned());
    config
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dev-secrets-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn pseudonym_seen_from(config: Config) -> String {
    let state = api::startup::build_state(config).await.unwrap();
    state.pseudonyms.pseudonymize("student-1")
}

/// Two commands from two directories on one database agree, and nothing is written beside
/// either directory.
async fn two_directories_agree(database_url: &str) {
    let (first, second) = (temp_dir(), temp_dir());
    let one = pseudonym_seen_from(config(&first, database_url)).await;
    let other = pseudonym_seen_from(config(&second, database_url)).await;
    assert_eq!(one, other);
    assert!(!first.join("analytics-secrets.json").exists());
}

#[tokio::test]
async fn commands_from_different_directories_share_the_databases_secrets() {
    let dir = temp_dir();
    let url = format!("sqlite://{}?mode=rwc", dir.join("shared.sqlite").display());
    two_directories_agree(&url).await;
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let database = TempDatabase::create(&admin_url, "secrets").await.unwrap();
            two_directories_agree(&database.url).await;
            database.drop_database().await.unwrap();
        }
        Err(_) => println!("PostgreSQL part skipped: TEST_DATABASE_URL is not set"),
    }
}

#[tokio::test]
async fn a_secrets_file_of_an_earlier_version_is_adopted() {
    let dir = temp_dir();
    let salt = "the-salt-of-the-old-file";
    let file = serde_json::json!({ "jwt_secret": "j".repeat(64), "secret_salt": salt });
    std::fs::write(dir.join("analytics-secrets.json"), file.to_string()).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("old.sqlite").display());
    let seen = pseudonym_seen_from(config(&dir, &url)).await;
    let expected = api::pseudonym::Pseudonymizer::new(Secret::new(salt)).pseudonymize("student-1");
    assert_eq!(seen, expected);
    // From elsewhere, without the file: the database remembers it.
    assert_eq!(
        pseudonym_seen_from(config(&temp_dir(), &url)).await,
        expected
    );
}

#[tokio::test]
async fn production_requires_a_salt_and_a_32_byte_jwt_secret() {
    let dir = temp_dir();
    let url = format!("sqlite://{}?mode=rwc", dir.join("prod.sqlite").display());
    let mut production = config(&dir, &url);
    production.mode = Mode::Production;
    production.jwt_secret = Some(Secret::new("x".repeat(40)));
    let error = api::startup::build_state(production.clone())
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("SECRET_SALT"), "{error:#}");
    production.secret_salt = Some(Secret::new("salt"));
    production.jwt_secret = Some(Secret::new("too-short"));
    let error = api::startup::build_state(production.clone())
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("at least 32 bytes"), "{error:#}");
    production.jwt_secret = Some(Secret::new("x".repeat(32)));
    assert!(api::startup::build_state(production).await.is_ok());
}
