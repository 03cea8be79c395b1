//! Subcommands other than `serve`: migrations, schema export, user administration (so
//! nobody edits the database by hand to make the first admin), notebook uploads, and the
//! import of the old backend's database (`cli/import_legacy.rs`).

use std::io::Read;

use anyhow::{Context, bail};
use migration::{Migrator, MigratorTrait};
use serde_json::json;

mod import_legacy;

pub use import_legacy::import_legacy;

use crate::{
    auth::login::check_credentials_shape,
    auth::password,
    config::Config,
    config::{DemoClassArgs, MigrateAction, NotebookAction, UserAction},
    db, services,
    services::privacy::{LiveState, Student},
};

pub async fn migrate(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    let db = db::connect_with_retry(
        &config.database_url(),
        db::DbTimeouts::from_limits(&config.limits),
    )
    .await?;
    match action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down { steps } => Migrator::down(&db, Some(steps)).await?,
        MigrateAction::Status => Migrator::status(&db).await?,
    }
    Ok(())
}

pub fn export_schema(path: &std::path::Path) -> anyhow::Result<()> {
    let sdl = crate::graphql::sdl();
    if path.as_os_str() == "-" {
        print!("{sdl}");
    } else {
        std::fs::write(path, sdl).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

pub async fn user(config: Config, action: UserAction) -> anyhow::Result<()> {
    let state = crate::startup::build_state(config).await?;
    match action {
        UserAction::Create { username, role } => {
            let password = read_password()?;
            check_credentials_shape(&username, &password, 8)?;
            let hash = password::hash(password).await?;
            let username_hash = state.pseudonyms.pseudonymize(&username);
            let user =
                services::users::create(&state.db, username_hash.clone(), hash, role).await?;
            let details = json!({ "user": username_hash, "role": role_word(role) });
            services::audit::record(&state.db, None, "cli_create_user", details).await?;
            println!(
                "created user {} with role {}",
                user.username_hash,
                role_word(role)
            );
        }
        UserAction::SetRole { username, role } => {
            let username_hash = state.pseudonyms.pseudonymize(&username);
            let user = services::users::get_by_username_hash(&state.db, &username_hash).await?;
            services::users::set_role(&state.db, user, role).await?;
            let details = json!({ "user": username_hash, "role": role_word(role) });
            services::audit::record(&state.db, None, "cli_set_role", details).await?;
            println!("user {username_hash} now has role {}", role_word(role));
        }
    }
    Ok(())
}

pub async fn notebook(config: Config, action: NotebookAction) -> anyhow::Result<()> {
    let state = crate::startup::build_state(config).await?;
    match action {
        NotebookAction::Upload {
            file,
            name,
            as_user,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let uploader = match as_user {
                Some(username) => {
                    let hash = state.pseudonyms.pseudonymize(&username);
                    Some(services::users::get_by_username_hash(&state.db, &hash).await?)
                }
                None => None,
            };
            let file_name = file.file_name().unwrap_or_default().to_string_lossy();
            let upload = services::notebooks::NotebookUpload {
                bytes: &bytes,
                file_name: &file_name,
                name: name.as_deref(),
                uploader: uploader.as_ref(),
            };
            let uploaded = services::notebooks::upload(&state.db, &state.storage, upload).await?;
            let notebook = uploaded.notebook;
            println!(
                "uploaded {} version {} ({}); download: /notebooks/{}/download",
                notebook.public_id,
                notebook.version,
                notebook.name,
                services::notebooks::archive::percent_encode(&notebook.public_id)
            );
        }
        NotebookAction::List => {
            for notebook in services::notebooks::list(&state.db).await? {
                println!(
                    "{}\tv{}\t{}",
                    notebook.public_id, notebook.version, notebook.name
                );
            }
        }
    }
    Ok(())
}

pub async fn demo_class(config: Config, args: DemoClassArgs) -> anyhow::Result<()> {
    let state = crate::startup::build_state(config).await?;
    let class = services::demo::DemoClass {
        notebook_id: args.notebook_id,
        students: args.students,
        cells: args.cells,
        events: args.events,
        sessions: args.sessions,
        end: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0),
        seed: args.seed,
    };
    let started = std::time::Instant::now();
    let summary = services::demo::load(
        &state.db,
        &state.storage,
        &state.pseudonyms,
        &class,
        |written| {
            eprint!("\r{written} / {} events", class.events);
        },
    )
    .await?;
    eprintln!();
    if let Some(username) = args.teacher {
        let hash = state.pseudonyms.pseudonymize(&username);
        let user = services::users::get_by_username_hash(&state.db, &hash).await?;
        services::authorizations::grant_one(&state.db, user.id, summary.notebook_row_id).await?;
    }
    println!(
        "loaded notebook {} with {} students, {} groups and {} events in {:.0} s; \
         its last session started at {}",
        class.notebook_id,
        class.students,
        summary.groups,
        summary.events,
        started.elapsed().as_secs_f64(),
        summary.last_session_start.to_rfc3339()
    );
    Ok(())
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

pub async fn erase_student(
    config: Config,
    user: String,
    notebook: Option<String>,
) -> anyhow::Result<()> {
    let state = crate::startup::build_state(config).await?;
    let pseudonym = state.pseudonyms.pseudonymize(&user);
    let notebook = match &notebook {
        Some(public_id) => Some((
            state.notebook_ids.resolve(&state.db, public_id).await?,
            public_id.as_str(),
        )),
        None => None,
    };
    let live = LiveState {
        presence: state.presence.as_ref(),
        rate_limits: &state.rate_limits,
    };
    let student = Student {
        raw_id: &user,
        pseudonym: &pseudonym,
    };
    let counts = services::privacy::erase_student(&state.db, live, student, notebook).await?;
    print_counts("deleted", &counts);
    Ok(())
}

pub async fn retention(config: Config, older_than: &str, dry_run: bool) -> anyhow::Result<()> {
    let window = services::privacy::parse_window(older_than)?;
    let state = crate::startup::build_state(config).await?;
    let cutoff = chrono::Utc::now() - window;
    let counts = services::privacy::apply_retention(&state.db, cutoff, dry_run).await?;
    print_counts(if dry_run { "would delete" } else { "deleted" }, &counts);
    Ok(())
}

fn print_counts(verb: &str, counts: &[(&str, u64)]) {
    for (table, rows) in counts {
        println!("{verb} {rows}\t{table}");
    }
}
