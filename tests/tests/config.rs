//! Settings: one default per setting, written once (in the command line's attributes), and every
//! setting documented in the README.

use api::config::{Cli, Config, Mode};
use clap::{CommandFactory, Parser};

#[test]
fn the_defaults_are_the_command_lines_own() {
    let parsed = Cli::command()
        .mut_args(|arg| arg.env(None))
        .try_get_matches_from(["api", "serve"])
        .unwrap();
    let from_command_line = <Config as clap::FromArgMatches>::from_arg_matches(&parsed).unwrap();
    assert_eq!(
        format!("{:?}", Config::defaults()),
        format!("{from_command_line:?}")
    );
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let defaults = Config::defaults();
    assert_eq!(defaults.mode, Mode::Dev);
    assert_eq!(defaults.bind_addr.to_string(), "127.0.0.1:8000");
    assert_eq!(defaults.redis_key_prefix, "analytics");
    assert_eq!(defaults.s3.region, "us-east-1");
    assert!(
        defaults
            .database_url()
            .ends_with("analytics.sqlite?mode=rwc")
    );
    let limits = &defaults.limits;
    assert_eq!(limits.batch_body_limit, 4 * 1024 * 1024);
    assert_eq!(limits.ingest_deadline_ms, 5000);
    assert_eq!(limits.access_token_ttl_secs, 1800);
    assert_eq!(limits.refresh_token_ttl_secs, 2_592_000);
    assert_eq!(limits.ws_init_timeout_ms, 3000);
    assert_eq!(
        (
            limits.rate.ingest_student_per_sec,
            limits.rate.ingest_student_burst
        ),
        (20, 100)
    );
    assert_eq!(
        (limits.rate.user_per_sec, limits.rate.user_burst),
        (50, 200)
    );
    assert!(limits.rate.trusted_proxies.is_empty());
}

#[test]
fn a_flag_overrides_its_default_and_nothing_else() {
    let cli = Cli::try_parse_from(["api", "--ingest-deadline-ms", "250", "serve"]).unwrap();
    assert_eq!(cli.config.limits.ingest_deadline_ms, 250);
    assert_eq!(
        cli.config.limits.ingest_queue_capacity,
        Config::defaults().limits.ingest_queue_capacity
    );
}

#[test]
fn every_environment_variable_is_documented_in_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let undocumented: Vec<String> = Cli::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !readme.contains(&format!("`{name}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "settings missing from the README: {undocumented:?}"
    );
}

#[test]
fn the_readme_gives_each_numeric_setting_the_default_the_server_uses() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let documented = |name: &str| -> Option<String> {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{name}` |")))?;
        Some(row.split('|').nth(2)?.trim().to_owned())
    };
    let mut compared = 0;
    let mut wrong = Vec::new();
    for arg in Cli::command().get_arguments() {
        let (Some(name), [default]) = (arg.get_env(), arg.get_default_values()) else {
            continue;
        };
        let name = name.to_string_lossy();
        // Rows such as "20 MiB" or "generated in dev" say it in words.
        let Some(readme_default) = documented(&name).filter(|text| text.parse::<u64>().is_ok())
        else {
            continue;
        };
        compared += 1;
        if readme_default != default.to_string_lossy() {
            wrong.push(format!(
                "{name}: README {readme_default}, server {default:?}"
            ));
        }
    }
    assert!(compared >= 10, "only {compared} numeric defaults compared");
    assert!(wrong.is_empty(), "README defaults differ: {wrong:?}");
}
