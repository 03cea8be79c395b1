//! Subcommands other than `serve`: migrations, schema export, user administration (so
//! nobody edits the database by hand to make the first admin; `cli/users.rs`), notebook
//! uploads, and the import of the old backend's database (`cli/import_legacy.rs`).

use anyhow::Context;
use migration::{Migrator, MigratorTrait};

mod import_legacy;
mod users;

pub use import_legacy::import_legacy;
pub use users::user;

use crate::{
    config::Config,
    config::{DemoClassArgs, MigrateAction, NotebookAction, RollupsAction},
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
        NotebookAction::Archive { notebook_id, undo } => {
            let row = notebook_admin(&state).archive(&notebook_id, !undo).await?;
            let state_word = if row.archived_at.is_some() {
                "archived"
            } else {
                "active"
            };
            println!("notebook {notebook_id} is {state_word}");
        }
        NotebookAction::Delete {
            notebook_id,
            dry_run,
        } => {
            let counts = notebook_admin(&state).delete(&notebook_id, dry_run).await?;
            print_counts(if dry_run { "would delete" } else { "deleted" }, &counts);
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

/// The command line acts on notebooks with no dashboard user behind it.
fn notebook_admin(
    state: &crate::state::AppState,
) -> services::notebooks::lifecycle::NotebookAdmin<'_> {
    services::notebooks::lifecycle::NotebookAdmin {
        db: &state.db,
        storage: &state.storage,
        ids: &state.notebook_ids,
        actor: None,
    }
}

pub async fn demo_class(mut config: Config, args: DemoClassArgs) -> anyhow::Result<()> {
    // A bulk load, not a request: folding and vacuuming millions of events takes longer than
    // the statement timeout allows a request (0 disables it, as in the migrations).
    config.limits.db_statement_timeout_ms = 0;
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
    eprintln!("{} events added to the rollups", summary.applied);
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

pub async fn rollups(config: Config, action: RollupsAction) -> anyhow::Result<()> {
    let RollupsAction::Rebuild { notebook } = action;
    let state = crate::startup::build_state(config).await?;
    let row_id = match &notebook {
        Some(public_id) => Some(
            services::notebooks::get_by_public_id(&state.db, public_id)
                .await?
                .id,
        ),
        None => None,
    };
    let events = services::ingest::rebuild_rollups(&state.db, row_id).await?;
    // The rebuild went up to the watermarks; every row committed since is added now too.
    let applied = services::ingest::apply_all_rollups(&state.db).await?;
    println!("rebuilt the rollups from {events} events, then applied {applied} newer ones");
    Ok(())
}

fn print_counts(verb: &str, counts: &[(&str, u64)]) {
    for (table, rows) in counts {
        println!("{verb} {rows}\t{table}");
    }
}
