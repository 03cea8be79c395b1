//! The old database of the tests: its schema from the fixture, and a class with rows of every
//! kind (the events also expressible as live ingest inputs, for the comparison).

use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::{
    ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement, Value as DbValue,
};
use tests::{TempDatabase, TestApp};

use super::{
    NOTEBOOK, OTHER, PICKLE, SCHEMA, WERKZEUG_HASH,
    class::{Old, events},
};

pub fn naive(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("fixture time")
}

pub fn utc(text: &str) -> DateTime<Utc> {
    naive(text).and_utc()
}

pub fn rfc3339(text: &str) -> String {
    utc(text).to_rfc3339()
}

pub struct OldDb {
    pub database: TempDatabase,
    pub db: DatabaseConnection,
}

impl OldDb {
    pub async fn create() -> Self {
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

    pub async fn exec(&self, sql: &str, values: Vec<DbValue>) {
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

    /// A click event's two rows; `at` is (click type, time, duration).
    async fn click(
        &self,
        id: i64,
        notebook: &str,
        user: &str,
        kind: &str,
        at: (&str, &str, Option<f64>),
    ) {
        let (click, time, duration) = at;
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
                    (click, time, *duration),
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
                    (click, time, *duration),
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
    pub async fn fill(&self, app: &TestApp) {
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
