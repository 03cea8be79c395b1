//! `api import-legacy`: an old Flask-backend database (tests/fixtures/legacy/old_db/schema.sql,
//! filled with rows of every kind including a real pickled output) imported into a fresh one:
//! every field of every kind, re-running inserts nothing, an interrupted import resumes, and
//! the dashboards give the same numbers on imported events as on the same events ingested
//! live. PostgreSQL only (the old backend ran on PostgreSQL): skipped without
//! `TEST_DATABASE_URL`.

use api::services::legacy_import::{self, ImportOptions, ImportReport, Quiet, TableReport};
use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction, dashboard_user,
    enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, Role, SenderType},
    group_member, markdown_execution, notebook, notebook_authorization, notebook_focus_event,
    pending_update_interaction, student_group,
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryOrder, Statement,
};
use serde_json::{Value, json};
use tests::{Backend, TestApp};

use class::{Old, events};
use old_db::{OldDb, rfc3339, utc};

const SCHEMA: &str = include_str!("../fixtures/legacy/old_db/schema.sql");
const PICKLE: &[u8] = include_bytes!("../fixtures/legacy/old_db/cell_output_model.pkl");
const PICKLE_JSON: &str = include_str!("../fixtures/legacy/old_db/cell_output_model.json");
/// Werkzeug's `generate_password_hash("old-backend-password")` format, with few iterations.
const WERKZEUG_HASH: &str =
    "pbkdf2:sha256:1000$Zq8xP2rW$8a5a20c70ecf8608957632eb91b8d91c2ef6f10370332eacc12ffbaf27683575";
const OLD_PASSWORD: &str = "old-backend-password";
const NOTEBOOK: &str = "nb-legacy";
const OTHER: &str = "nb-other";

fn options(notebooks: &[&str]) -> ImportOptions {
    ImportOptions {
        notebooks: notebooks.iter().map(|id| id.to_string()).collect(),
        dry_run: false,
        notebook_files: None,
        batch_size: 3,
        stop_after_batches: None,
    }
}

async fn import(
    old: &OldDb,
    app: &TestApp,
    options: &ImportOptions,
) -> anyhow::Result<ImportReport> {
    legacy_import::run(
        &old.db,
        &app.state.db,
        &app.state.storage,
        options,
        &mut Quiet,
    )
    .await
}

fn table<'a>(report: &'a ImportReport, name: &str) -> &'a TableReport {
    report
        .tables
        .iter()
        .find(|table| table.table == name)
        .expect("table in report")
}

fn row(table: &'static str, in_old: u64, present: u64, inserted: u64, skipped: u64) -> TableReport {
    TableReport {
        table,
        in_old,
        present,
        inserted,
        skipped,
    }
}

/// Skips (with a message) when PostgreSQL is not configured.
fn postgres() -> bool {
    let available = Backend::postgres_available();
    if !available {
        eprintln!(
            "import_legacy: skipped, the old backend's database is PostgreSQL and TEST_DATABASE_URL is not set"
        );
    }
    available
}

async fn setup() -> (TestApp, OldDb) {
    let app = TestApp::spawn(Backend::Postgres).await;
    let old = OldDb::create().await;
    old.fill(&app).await;
    (app, old)
}

#[path = "import_legacy/class.rs"]
mod class;
#[path = "import_legacy/fields.rs"]
mod fields;
#[path = "import_legacy/files.rs"]
mod files;
#[path = "import_legacy/old_db.rs"]
mod old_db;
#[path = "import_legacy/resume.rs"]
mod resume;
#[path = "import_legacy/same_numbers.rs"]
mod same_numbers;

#[tokio::test]
async fn the_import_counts_every_table_and_a_second_run_inserts_nothing() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    let first = import(&old, &app, &options(&[])).await.expect("import");
    let expected = vec![
        row("Notebook", 2, 2, 2, 0),
        row("AuthUsers", 3, 3, 3, 0),
        row("AuthAssociation", 2, 2, 2, 0),
        row("UserGroups", 2, 2, 2, 0),
        row("UserGroupAssociation", 3, 3, 3, 0),
        row("CellExecution (code)", 4, 4, 4, 0),
        row("CellExecution (markdown)", 1, 1, 1, 0),
        row("CellClickEvent", 3, 3, 3, 0),
        row("NotebookClickEvent", 1, 1, 1, 0),
        row("CellAlteration", 1, 1, 1, 0),
        row("PendingUpdateInteraction", 2, 2, 2, 0),
        // The student dashboard's event has no user: read, skipped, warned about.
        row("DashboardEvent", 3, 2, 2, 1),
    ];
    assert_eq!(first.tables, expected);
    assert_eq!(
        first
            .warnings
            .get("undecodable cell_output_model pickles (stored as [])"),
        Some(&1)
    );
    assert_eq!(
        first
            .warnings
            .get("aborted executions (stored with status error)"),
        Some(&1)
    );
    assert_eq!(
        first
            .warnings
            .get("student-dashboard events without a user (skipped)"),
        Some(&1)
    );

    let second = import(&old, &app, &options(&[]))
        .await
        .expect("second import");
    let unchanged: Vec<TableReport> = expected
        .iter()
        .map(|t| TableReport {
            inserted: 0,
            skipped: t.in_old,
            ..t.clone()
        })
        .collect();
    assert_eq!(second.tables, unchanged);
    assert_eq!(
        counts(&app.state.db).await,
        [2, 3, 2, 2, 3, 4, 1, 3, 1, 1, 2, 2]
    );

    let text = legacy_import::format_report(&second, false);
    assert!(text.contains("CellExecution (code)"), "{text}");
    let audits = app
        .state
        .db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT details::text AS d FROM audit_log WHERE action = 'import_legacy'",
        ))
        .await
        .unwrap();
    assert_eq!(audits.len(), 2);
    let details: String = audits[0].try_get("", "d").unwrap();
    assert!(
        !details.contains(&app.pseudonym("student-1")),
        "the audit row names no student"
    );
    old.database.drop_database().await.ok();
}

/// Rows per table of ours, in the report's order.
async fn counts(db: &DatabaseConnection) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "notebooks",
        "dashboard_users",
        "notebook_authorizations",
        "student_groups",
        "group_members",
        "code_executions",
        "markdown_executions",
        "cell_focus_events",
        "notebook_focus_events",
        "cell_alterations",
        "pending_update_interactions",
        "dashboard_interactions",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = db
            .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
            .await
            .unwrap();
        counts.push(row.unwrap().try_get("", "n").unwrap());
    }
    counts
}

#[tokio::test]
async fn a_dry_run_counts_what_it_would_insert_and_writes_nothing() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    let dry = ImportOptions {
        dry_run: true,
        ..options(&[])
    };
    let report = import(&old, &app, &dry).await.expect("dry run");
    assert_eq!(
        table(&report, "CellExecution (code)"),
        &row("CellExecution (code)", 4, 0, 4, 0)
    );
    assert_eq!(
        table(&report, "UserGroupAssociation"),
        &row("UserGroupAssociation", 3, 0, 3, 0)
    );
    assert_eq!(counts(&app.state.db).await, [0; 12]);
    old.database.drop_database().await.ok();
}
