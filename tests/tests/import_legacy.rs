//! `api import-legacy`: an old Flask-backend database (tests/fixtures/legacy/old_db/schema.sql,
//! filled with rows of every kind including a real pickled output) imported into a fresh one:
//! every field of every kind, re-running inserts nothing, an interrupted import resumes, and
//! the dashboards give the same numbers on imported events as on the same events ingested
//! live. PostgreSQL only (the old backend ran on PostgreSQL): skipped without
//! `TEST_DATABASE_URL`.

use api::services::legacy_import::{self, ImportOptions, ImportReport, Quiet, TableReport};
use chrono::{DateTime, NaiveDateTime, Utc};
use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction, dashboard_user,
    enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, Role, SenderType},
    group_member, markdown_execution, notebook, notebook_authorization, notebook_focus_event,
    pending_update_interaction, student_group,
};
use sea_orm::{
    ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, EntityTrait, QueryOrder,
    Statement, Value as DbValue,
};
use serde_json::{Value, json};
use tests::{Backend, TempDatabase, TestApp};

const SCHEMA: &str = include_str!("../fixtures/legacy/old_db/schema.sql");
const PICKLE: &[u8] = include_bytes!("../fixtures/legacy/old_db/cell_output_model.pkl");
const PICKLE_JSON: &str = include_str!("../fixtures/legacy/old_db/cell_output_model.json");
/// Werkzeug's `generate_password_hash("old-backend-password")` format, with few iterations.
const WERKZEUG_HASH: &str =
    "pbkdf2:sha256:1000$Zq8xP2rW$8a5a20c70ecf8608957632eb91b8d91c2ef6f10370332eacc12ffbaf27683575";
const OLD_PASSWORD: &str = "old-backend-password";
const NOTEBOOK: &str = "nb-legacy";
const OTHER: &str = "nb-other";

/// An event of the old database, also expressible as a live ingest input.
enum Old {
    Code {
        id: i64,
        user: &'static str,
        cell: &'static str,
        orig: &'static str,
        start: &'static str,
        finish: &'static str,
        status: &'static str,
        input: &'static str,
        pickle: bool,
        length: i32,
    },
    Markdown {
        id: i64,
        user: &'static str,
        cell: &'static str,
        orig: &'static str,
        time: &'static str,
        content: &'static str,
    },
    CellClick {
        id: i64,
        user: &'static str,
        cell: &'static str,
        orig: &'static str,
        click: &'static str,
        time: &'static str,
        duration: Option<f64>,
    },
    NotebookClick {
        id: i64,
        user: &'static str,
        click: &'static str,
        time: &'static str,
        duration: Option<f64>,
    },
    Alteration {
        id: i64,
        user: &'static str,
        cell: &'static str,
        kind: &'static str,
        time: &'static str,
    },
    Pending {
        id: i64,
        user: &'static str,
        cell: Option<&'static str>,
        update: Option<&'static str>,
        action: &'static str,
        sender_type: Option<&'static str>,
        time: &'static str,
    },
}

/// The class: two students on `NOTEBOOK`, cells c1 and c2, every kind of event.
fn events() -> Vec<Old> {
    use Old::*;
    vec![
        Code {
            id: 1,
            user: "student-1",
            cell: "s1c1",
            orig: "c1",
            start: "2024-03-05 10:00:00",
            finish: "2024-03-05 10:00:02.250000",
            status: "ok",
            input: "print(6 * 7)",
            pickle: true,
            length: 42,
        },
        Code {
            id: 2,
            user: "student-1",
            cell: "s1c2",
            orig: "c2",
            start: "2024-03-05 10:01:00",
            finish: "2024-03-05 10:01:01",
            status: "error",
            input: "1 / 0",
            pickle: false,
            length: 0,
        },
        Code {
            id: 3,
            user: "student-2",
            cell: "s2c1",
            orig: "c1",
            start: "2024-03-05 10:02:00",
            finish: "2024-03-05 10:02:03",
            status: "ok",
            input: "x = 1",
            pickle: false,
            length: 0,
        },
        Markdown {
            id: 4,
            user: "student-2",
            cell: "s2m1",
            orig: "m1",
            time: "2024-03-05 10:03:00",
            content: "# Title",
        },
        CellClick {
            id: 5,
            user: "student-1",
            cell: "s1c1",
            orig: "c1",
            click: "ON",
            time: "2024-03-05 10:00:00",
            duration: None,
        },
        CellClick {
            id: 6,
            user: "student-1",
            cell: "s1c1",
            orig: "c1",
            click: "OFF",
            time: "2024-03-05 10:00:30",
            duration: Some(30.5),
        },
        CellClick {
            id: 7,
            user: "student-2",
            cell: "s2x",
            orig: "",
            click: "ON",
            time: "2024-03-05 10:04:00",
            duration: None,
        },
        NotebookClick {
            id: 8,
            user: "student-2",
            click: "OFF",
            time: "2024-03-05 10:05:00",
            duration: Some(300.0),
        },
        Alteration {
            id: 9,
            user: "student-1",
            cell: "s1new",
            kind: "ADD",
            time: "2024-03-05 10:06:00",
        },
        Pending {
            id: 1,
            user: "student-1",
            cell: Some("c1"),
            update: Some("u-1"),
            action: "UPDATE_LATER",
            sender_type: Some("teacher"),
            time: "2024-03-05 10:07:00",
        },
        Pending {
            id: 2,
            user: "student-2",
            cell: None,
            update: None,
            action: "UPDATE_ALL",
            sender_type: None,
            time: "2024-03-05 10:08:00",
        },
    ]
}

fn naive(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("fixture time")
}

fn utc(text: &str) -> DateTime<Utc> {
    naive(text).and_utc()
}

fn rfc3339(text: &str) -> String {
    utc(text).to_rfc3339()
}

struct OldDb {
    database: TempDatabase,
    db: DatabaseConnection,
}

impl OldDb {
    async fn create() -> Self {
        let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
        let database = TempDatabase::create(&admin, "legacy")
            .await
            .expect("old database");
        let db = Database::connect(&database.url)
            .await
            .expect("connect to the old database");
        db.execute_unprepared(SCHEMA).await.expect("old schema");
        Self { database, db }
    }

    async fn exec(&self, sql: &str, values: Vec<DbValue>) {
        let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
        self.db
            .execute_raw(statement)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    async fn event(&self, id: i64, notebook: &str, user: &str, kind: &str) {
        self.exec(
            r#"INSERT INTO "Event" (id, notebook_id, user_id, event_type) VALUES ($1, $2, $3, $4)"#,
            vec![id.into(), notebook.into(), user.into(), kind.into()],
        )
        .await;
    }

    async fn click(
        &self,
        id: i64,
        notebook: &str,
        user: &str,
        kind: &str,
        click: &str,
        time: &str,
        duration: Option<f64>,
    ) {
        self.event(id, notebook, user, kind).await;
        self.exec(
            r#"INSERT INTO "ClickEvent" (id, time, click_duration, click_type)
                     VALUES ($1, $2, $3, $4::clicktype)"#,
            vec![id.into(), naive(time).into(), duration.into(), click.into()],
        )
        .await;
    }

    /// Inserts `event` of `notebook` by the student whose pseudonym is `user`.
    async fn insert(&self, notebook: &str, user: &str, event: &Old) {
        match event {
            Old::Code {
                id,
                cell,
                orig,
                start,
                finish,
                status,
                input,
                pickle,
                length,
                ..
            } => {
                self.event(*id, notebook, user, "CellExecution").await;
                let pickle = pickle.then(|| PICKLE.to_vec());
                self.exec(r#"INSERT INTO "CellExecution" (id, cell_id, orig_cell_id, t_start, cell_input,
                        cell_output, cell_type, language_mimetype, t_finish, status, cell_output_model,
                        cell_output_length, error_type)
                     VALUES ($1, $2, $3, $4, $5, NULL, 'CodeExecution', 'text/x-python', $6, $7, $8, $9, NULL)"#,
                    vec![(*id).into(), (*cell).into(), (*orig).into(), naive(start).into(), (*input).into(),
                         naive(finish).into(), (*status).into(), pickle.into(), (*length).into()]).await;
            }
            Old::Markdown {
                id,
                cell,
                orig,
                time,
                content,
                ..
            } => {
                self.event(*id, notebook, user, "CellExecution").await;
                self.exec(r#"INSERT INTO "CellExecution" (id, cell_id, orig_cell_id, t_start, cell_input, cell_type)
                     VALUES ($1, $2, $3, $4, $5, 'MarkdownExecution')"#,
                    vec![(*id).into(), (*cell).into(), (*orig).into(), naive(time).into(), (*content).into()]).await;
            }
            Old::CellClick {
                id,
                cell,
                orig,
                click,
                time,
                duration,
                ..
            } => {
                self.click(
                    *id,
                    notebook,
                    user,
                    "CellClickEvent",
                    click,
                    time,
                    *duration,
                )
                .await;
                self.exec(r#"INSERT INTO "CellClickEvent" (id, cell_id, orig_cell_id) VALUES ($1, $2, $3)"#,
                    vec![(*id).into(), (*cell).into(), (*orig).into()]).await;
            }
            Old::NotebookClick {
                id,
                click,
                time,
                duration,
                ..
            } => {
                self.click(
                    *id,
                    notebook,
                    user,
                    "NotebookClickEvent",
                    click,
                    time,
                    *duration,
                )
                .await;
                self.exec(
                    r#"INSERT INTO "NotebookClickEvent" (id) VALUES ($1)"#,
                    vec![(*id).into()],
                )
                .await;
            }
            Old::Alteration {
                id,
                cell,
                kind,
                time,
                ..
            } => {
                self.event(*id, notebook, user, "CellAlteration").await;
                self.exec(
                    r#"INSERT INTO "CellAlteration" (id, cell_id, alteration_type, time)
                             VALUES ($1, $2, $3::alterationtype, $4)"#,
                    vec![
                        (*id).into(),
                        (*cell).into(),
                        (*kind).into(),
                        naive(time).into(),
                    ],
                )
                .await;
            }
            Old::Pending {
                id,
                cell,
                update,
                action,
                sender_type,
                time,
                ..
            } => {
                let sender = sender_type.map(|_| "f".repeat(64));
                self.exec(
                    r#"INSERT INTO "PendingUpdateInteraction" (id, notebook_id, user_id, cell_id,
                        update_id, action, sender, sender_type, timestamp)
                     VALUES ($1, $2, $3, $4, $5, $6::pendingupdateaction, $7, $8, $9)"#,
                    vec![
                        (*id).into(),
                        notebook.into(),
                        user.into(),
                        (*cell).into(),
                        (*update).into(),
                        (*action).into(),
                        sender.into(),
                        (*sender_type).into(),
                        naive(time).into(),
                    ],
                )
                .await;
            }
        }
    }

    /// The whole old deployment: notebooks, users, authorizations, groups, the class's events
    /// on `NOTEBOOK`, a few rows on `OTHER`, and rows the import must warn about.
    async fn fill(&self, app: &TestApp) {
        for (id, public_id, name) in [(1, NOTEBOOK, "Week 1: loops"), (2, OTHER, "Other")] {
            self.exec(r#"INSERT INTO "Notebook" (id, name, notebook_id, s3_bucket_name, s3_object_key, time)
                         VALUES ($1, $2, $3, 'bucket', $4, $5)"#,
                vec![id.into(), name.into(), public_id.into(), format!("notebooks/{public_id}.ipynb").into(),
                     naive("2024-02-01 08:30:00").into()]).await;
        }
        for (username, superuser, admin) in [
            ("teacher", false, false),
            ("head", true, false),
            ("root", true, true),
        ] {
            self.exec(
                r#"INSERT INTO "AuthUsers" (username_hash, password_hash, is_superuser, is_admin)
                         VALUES ($1, $2, $3, $4)"#,
                vec![
                    app.pseudonym(username).into(),
                    WERKZEUG_HASH.into(),
                    superuser.into(),
                    admin.into(),
                ],
            )
            .await;
        }
        for public_id in [NOTEBOOK, OTHER] {
            self.exec(
                r#"INSERT INTO "AuthNotebooks" (notebook_id) VALUES ($1)"#,
                vec![public_id.into()],
            )
            .await;
        }
        for (user, public_id) in [("teacher", NOTEBOOK), ("head", OTHER)] {
            self.exec(
                r#"INSERT INTO "AuthAssociation" (username_hash, notebook_id) VALUES ($1, $2)"#,
                vec![app.pseudonym(user).into(), public_id.into()],
            )
            .await;
        }
        for student in ["student-1", "student-2", "student-9"] {
            self.exec(
                r#"INSERT INTO "Users" (user_id) VALUES ($1)"#,
                vec![app.pseudonym(student).into()],
            )
            .await;
        }
        for (group, public_id, members) in [
            ("team-a", NOTEBOOK, vec!["student-1", "student-2"]),
            ("team-z", OTHER, vec!["student-9"]),
        ] {
            let pk = format!("{group}-{public_id}");
            self.exec(r#"INSERT INTO "UserGroups" (group_pk, group_name, notebook_id) VALUES ($1, $2, $3)"#,
                vec![pk.clone().into(), group.into(), public_id.into()]).await;
            for member in members {
                self.exec(
                    r#"INSERT INTO "UserGroupAssociation" (group_pk, user_id) VALUES ($1, $2)"#,
                    vec![pk.clone().into(), app.pseudonym(member).into()],
                )
                .await;
            }
        }
        for event in events() {
            let user = match &event {
                Old::Code { user, .. }
                | Old::Markdown { user, .. }
                | Old::CellClick { user, .. }
                | Old::NotebookClick { user, .. }
                | Old::Alteration { user, .. }
                | Old::Pending { user, .. } => app.pseudonym(user),
            };
            self.insert(NOTEBOOK, &user, &event).await;
        }
        self.fill_other(app).await;
    }

    /// On `OTHER`: an execution with an undecodable pickle and `abort` status, and dashboard
    /// events of both kinds (a teacher's, and the student dashboard's without a user).
    async fn fill_other(&self, app: &TestApp) {
        let nine = app.pseudonym("student-9");
        self.event(20, OTHER, &nine, "CellExecution").await;
        self.exec(r#"INSERT INTO "CellExecution" (id, cell_id, orig_cell_id, t_start, cell_input, cell_type,
                language_mimetype, t_finish, status, cell_output_model, cell_output_length)
             VALUES (20, 'z1', 'z1', $1, 'while True: pass', 'CodeExecution', NULL, NULL, 'abort', $2, NULL)"#,
            vec![naive("2024-03-06 09:00:00").into(), b"\x80\x04not a pickle".to_vec().into()]).await;
        for (id, user, kind, notebook) in [
            (1, Some(app.pseudonym("teacher")), "TEACHER", Some(NOTEBOOK)),
            (2, None, "STUDENT", Some(NOTEBOOK)),
            (3, Some(app.pseudonym("head")), "TEACHER", None),
        ] {
            self.exec(
                r#"INSERT INTO "DashboardEvent" (id, click_type, signal_origin, timestamp,
                    dashboard_type, dashboard_user_id, notebook_id)
                 VALUES ($1, 'ON', 'exec-chart', $2, $3::dashboardtype, $4, $5)"#,
                vec![
                    id.into(),
                    naive("2024-03-05 11:00:00").into(),
                    kind.into(),
                    user.into(),
                    notebook.into(),
                ],
            )
            .await;
        }
    }
}

fn options(notebooks: &[&str]) -> ImportOptions {
    ImportOptions {
        notebooks: notebooks.iter().map(|id| id.to_string()).collect(),
        dry_run: false,
        notebooks_dir: None,
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

#[path = "import_legacy/fields.rs"]
mod fields;
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
