//! Accounts over their whole life: admins list users, disable, enable, delete them and reset
//! passwords (admin-only, audited with pseudonyms, the last active admin kept), and disabling
//! or deleting ends everything the user holds at once: access and refresh tokens on HTTP, the
//! old REST routes and websockets, open sockets on every instance.

use std::time::{Duration, Instant};

use api::{auth::Role, services::users::admin::UserAdmin};
use entity::{audit_log, notebook_authorization};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use tests::{Backend, Instance, TestApp, WsClient, backend_tests};

const PASSWORD: &str = "password-of-test-user";
const LOGIN: &str = r#"mutation($u: String!, $p: String!) {
    login(username: $u, password: $p) { accessToken refreshToken } }"#;
const REFRESH: &str = r#"mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"#;
const USERS: &str = r#"query($l: Int, $o: Int) { users(limit: $l, offset: $o) { totalCount
    users { pseudonym role createdAt lastLoginAt disabledAt notebookIds } } }"#;
const DISABLE: &str = r#"mutation($u: String!) { disableUser(username: $u) { disabledAt } }"#;
const ENABLE: &str = r#"mutation($u: String!) { enableUser(username: $u) { disabledAt } }"#;
const DELETE: &str =
    r#"mutation($u: String!) { deleteUser(username: $u) { pseudonym notebookGrantCount } }"#;
const RESET: &str = r#"mutation($u: String!, $p: String!) {
    resetPassword(username: $u, newPassword: $p) { pseudonym } }"#;
const ME: &str = "{ me { role } }";
const SESSION: &str = r#"subscription { dashboardSession(notebookId: "nb") { __typename } }"#;

/// An app with an admin and a teacher authorized for `nb`; their access tokens.
async fn staffed(backend: Backend) -> (TestApp, String, String) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook("nb").await;
    let admin = app.user_token("admin", Role::Admin).await;
    let teacher = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", "nb").await;
    (app, admin, teacher)
}

async fn login(app: &TestApp, username: &str, password: &str) -> tests::GraphQLResponse {
    app.graphql(LOGIN, json!({ "u": username, "p": password }))
        .await
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let rows = audit_log::Entity::find().all(&app.state.db).await.unwrap();
    rows.into_iter().map(|row| row.action).collect()
}

/// `/jwt/check` of the old dashboard with `token`: its status.
async fn legacy_check(app: &TestApp, token: &str) -> u16 {
    let response = app
        .client
        .get(app.url("/jwt/check"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

backend_tests! {
    async fn admins_list_users_with_role_last_login_and_notebooks_and_others_are_forbidden(backend) {
        let (app, admin, teacher) = staffed(backend).await;
        let page = app.graphql_as(&admin, USERS, json!({ "l": 1, "o": 1 })).await;
        let data = &page.data()["users"];
        assert_eq!(data["totalCount"], 2, "{data}");
        let listed = &data["users"][0];
        assert_eq!(listed["pseudonym"], app.pseudonym("teacher"));
        assert_eq!(listed["role"], "USER");
        assert_eq!(listed["notebookIds"], json!(["nb"]));
        assert!(listed["lastLoginAt"].is_string(), "{listed}");
        assert!(listed["disabledAt"].is_null());
        // Only pseudonyms: the raw username appears nowhere.
        assert!(!page.body.to_string().contains("\"teacher\""));
        let refused = app.graphql_as(&teacher, USERS, json!({ "l": 10, "o": 0 })).await;
        assert_eq!(refused.error_code(), "FORBIDDEN");
        let mutation = app.graphql_as(&teacher, DISABLE, json!({ "u": "admin" })).await;
        assert_eq!(mutation.error_code(), "FORBIDDEN");
    }

    async fn a_disabled_user_is_refused_everywhere_at_once_and_enabled_again(backend) {
        let (app, admin, teacher) = staffed(backend).await;
        let refresh = login(&app, "teacher", PASSWORD).await.data()["login"]["refreshToken"].clone();
        let disabled = app.graphql_as(&admin, DISABLE, json!({ "u": "teacher" })).await;
        assert!(disabled.data()["disableUser"]["disabledAt"].is_string());
        assert_eq!(app.graphql_as(&teacher, ME, json!({})).await.error_code(), "UNAUTHENTICATED");
        assert_eq!(legacy_check(&app, &teacher).await, 401);
        let refreshed = app.graphql(REFRESH, json!({ "t": refresh })).await;
        assert_eq!(refreshed.error_code(), "UNAUTHENTICATED");
        assert_eq!(login(&app, "teacher", PASSWORD).await.error_code(), "UNAUTHENTICATED");
        // A correctly signed token of a disabled user is refused at connection_init.
        let mut socket = app.websocket_unacknowledged().await;
        let answer = socket.init(json!({ "token": teacher })).await;
        assert_eq!(answer["code"], 4403, "{answer}");

        app.graphql_as(&admin, ENABLE, json!({ "u": "teacher" })).await.data();
        let again = login(&app, "teacher", PASSWORD).await;
        let token = again.data()["login"]["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(app.graphql_as(&token, ME, json!({})).await.data()["me"]["role"], "USER");
        // Old tokens stay ended after enabling.
        assert_eq!(app.graphql_as(&teacher, ME, json!({})).await.error_code(), "UNAUTHENTICATED");
        let actions = audit_actions(&app).await;
        assert!(actions.contains(&"disable_user".to_owned()) && actions.contains(&"enable_user".to_owned()), "{actions:?}");
    }

    async fn the_last_active_admin_and_ones_own_account_cannot_be_disabled_or_deleted(backend) {
        let (app, admin, _teacher) = staffed(backend).await;
        let own = app.graphql_as(&admin, DISABLE, json!({ "u": "admin" })).await;
        assert_eq!(own.error_code(), "CONFLICT");
        // The command line acts without an actor: only the last-admin rule stops it.
        let cli = UserAdmin { db: &app.state.db, broker: app.state.broker.as_ref(), actor: None };
        let disabled = cli.disable(&app.pseudonym("admin")).await.expect_err("refused");
        let deleted = cli.delete(&app.pseudonym("admin")).await.expect_err("refused");
        for error in [disabled, deleted] {
            assert_eq!(error.code(), "CONFLICT");
            assert!(error.message().contains("last active admin"), "{}", error.message());
        }
        // With a second admin, one of them may go.
        app.create_user("admin2", PASSWORD, Role::Admin).await;
        let deleted = app.graphql_as(&admin, DELETE, json!({ "u": "admin2" })).await;
        assert_eq!(deleted.data()["deleteUser"]["pseudonym"], app.pseudonym("admin2"));
    }

    async fn a_deleted_users_grants_tokens_and_open_socket_end_at_once(backend) {
        let (app, admin, teacher) = staffed(backend).await;
        let mut socket = app.websocket(json!({ "token": teacher })).await;
        socket.subscribe("d", SESSION, json!({})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let deleted = app.graphql_as(&admin, DELETE, json!({ "u": "teacher" })).await;
        assert_eq!(deleted.data()["deleteUser"]["notebookGrantCount"], 1);
        // Closed by the broker's announcement, long before the 15 s keep-alive check.
        assert_eq!(socket.closed().await, (4403, "Forbidden".to_owned()));
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(app.graphql_as(&teacher, ME, json!({})).await.error_code(), "UNAUTHENTICATED");
        assert_eq!(legacy_check(&app, &teacher).await, 401);
        let grants = notebook_authorization::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(grants, 0);
        let rows = audit_log::Entity::find().all(&app.state.db).await.unwrap();
        let row = rows.iter().find(|row| row.action == "delete_user").expect("audited");
        assert_eq!(row.details["user"], app.pseudonym("teacher"));
        assert!(!row.details.to_string().contains("\"teacher\""));
    }

    async fn a_reset_password_works_and_ends_the_old_sessions(backend) {
        let (app, admin, teacher) = staffed(backend).await;
        let refresh = login(&app, "teacher", PASSWORD).await.data()["login"]["refreshToken"].clone();
        let short = app.graphql_as(&admin, RESET, json!({ "u": "teacher", "p": "short" })).await;
        assert_eq!(short.error_code(), "BAD_USER_INPUT");
        let reset = app.graphql_as(&admin, RESET, json!({ "u": "teacher", "p": "a-new-password" })).await;
        assert_eq!(reset.data()["resetPassword"]["pseudonym"], app.pseudonym("teacher"));
        assert_eq!(app.graphql_as(&teacher, ME, json!({})).await.error_code(), "UNAUTHENTICATED");
        assert_eq!(app.graphql(REFRESH, json!({ "t": refresh })).await.error_code(), "UNAUTHENTICATED");
        assert_eq!(login(&app, "teacher", PASSWORD).await.error_code(), "UNAUTHENTICATED");
        let fresh = login(&app, "teacher", "a-new-password").await;
        assert!(fresh.data()["login"]["accessToken"].is_string());
        assert!(audit_actions(&app).await.contains(&"reset_password".to_owned()));
    }
}

/// On PostgreSQL and Redis: a user deleted through this app has their websocket on another
/// `api` process closed 4403 at once, and that process refuses their access token.
#[tokio::test]
async fn a_deleted_users_socket_and_token_end_on_another_instance() {
    let redis = std::env::var("TEST_REDIS_URL").is_ok_and(|url| !url.is_empty());
    if !redis || !Backend::postgres_available() {
        eprintln!("skipped: needs TEST_DATABASE_URL and TEST_REDIS_URL");
        return;
    }
    let (app, admin, teacher) = staffed(Backend::Postgres).await;
    let other = Instance::start(&app, &[]).await;
    let mut socket = WsClient::connect(other.addr, json!({ "token": teacher })).await;
    socket.subscribe("d", SESSION, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    app.graphql_as(&admin, DELETE, json!({ "u": "teacher" }))
        .await
        .data();
    assert_eq!(socket.closed().await, (4403, "Forbidden".to_owned()));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let on_other: serde_json::Value = app
        .client
        .post(format!("http://{}/graphql", other.addr))
        .bearer_auth(&teacher)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        on_other["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{on_other}"
    );
    other.kill().await;
}

const FOCUS: &str = r#"mutation($nb: String!) { recordCellFocus(event: { notebookId: $nb,
    userId: "student", cellId: "c", origCellId: "c", clickType: "ON",
    time: "2026-11-24T10:00:00Z" }) { acceptedCount } }"#;
const LOCATIONS: &str = r#"{ notebook(id: "nb") { studentLocations { cellId studentCount } } }"#;
const ARCHIVE: &str = r#"mutation { archiveNotebook(notebookId: "nb") { archivedAt } }"#;
const DELETE_NOTEBOOK: &str = r#"mutation { deleteNotebook(notebookId: "nb") { table count } }"#;

/// Every row that names a notebook, summed over the tables the deletion covers.
async fn rows_naming_notebooks(app: &TestApp) -> u64 {
    use sea_orm::{ConnectionTrait, Statement};
    let mut total = 0;
    for table in [
        "cell_focus_events",
        "student_groups",
        "group_members",
        "notebook_authorizations",
        "notebooks",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let statement = Statement::from_string(app.state.db.get_database_backend(), sql);
        let row = app
            .state
            .db
            .query_one_raw(statement)
            .await
            .unwrap()
            .unwrap();
        total += u64::try_from(row.try_get::<i64>("", "n").unwrap()).unwrap();
    }
    total
}

backend_tests! {
    async fn an_archived_notebook_refuses_ingest_with_its_code_and_its_dashboards_still_answer(backend) {
        let (app, admin, teacher) = staffed(backend).await;
        let accepted = app.graphql(FOCUS, json!({ "nb": "nb" })).await;
        assert_eq!(accepted.data()["recordCellFocus"]["acceptedCount"], 1);
        let refused = app.graphql_as(&teacher, ARCHIVE, json!({})).await;
        assert_eq!(refused.error_code(), "FORBIDDEN");
        let archived = app.graphql_as(&admin, ARCHIVE, json!({})).await;
        assert!(archived.data()["archiveNotebook"]["archivedAt"].is_string());
        let refused = app.graphql(FOCUS, json!({ "nb": "nb" })).await;
        assert_eq!(refused.error_code(), "NOTEBOOK_ARCHIVED");
        let dashboard = app.graphql_as(&teacher, LOCATIONS, json!({})).await;
        assert_eq!(dashboard.data()["notebook"]["studentLocations"][0]["studentCount"], 1);
        assert!(audit_actions(&app).await.contains(&"archive_notebook".to_owned()));
    }

    async fn deleting_a_notebook_removes_every_row_and_the_dry_run_deletes_nothing(backend) {
        let (app, admin, teacher) = staffed(backend).await;
        app.graphql(FOCUS, json!({ "nb": "nb" })).await.data();
        let group = r#"mutation { createGroup(notebookId: "nb", name: "g", userIds: ["student"]) { id } }"#;
        let created = app.graphql_as(&teacher, group, json!({})).await;
        let before = rows_naming_notebooks(&app).await;
        let admin_handle = api::services::notebooks::lifecycle::NotebookAdmin {
            db: &app.state.db, storage: &app.state.storage, ids: &app.state.notebook_ids, actor: None,
        };
        let would = admin_handle.delete("nb", true).await.unwrap();
        assert_eq!(rows_naming_notebooks(&app).await, before);
        let deleted = app.graphql_as(&admin, DELETE_NOTEBOOK, json!({})).await;
        let counts = deleted.data()["deleteNotebook"].as_array().unwrap().clone();
        let count = |table: &str| counts.iter().find(|row| row["table"] == table).unwrap()["count"].clone();
        assert_eq!(count("cell_focus_events"), 1);
        assert_eq!(count("notebook_authorizations"), 1);
        assert_eq!(count("notebooks"), 1);
        assert!(created.errors().is_empty(), "{:?}", created.errors());
        assert_eq!(count("student_groups"), 1);
        assert_eq!(count("group_members"), 1);
        let would_total: u64 = would.iter().filter(|(t, _)| *t != "stored files").map(|(_, n)| n).sum();
        let total: u64 = counts.iter().filter(|row| row["table"] != "stored files").map(|row| row["count"].as_u64().unwrap()).sum();
        assert_eq!(would_total, total, "{would:?} vs {counts:?}");
        assert_eq!(rows_naming_notebooks(&app).await, 0, "every row of the only notebook is gone");
        // Gone for ingest at once on this instance (its cache entry was cleared).
        assert_eq!(app.graphql(FOCUS, json!({ "nb": "nb" })).await.error_code(), "NOT_FOUND");
    }
}

#[tokio::test]
async fn a_disabled_teachers_socket_io_connection_is_disconnected_at_once() {
    let (app, admin, teacher) = staffed(Backend::Sqlite).await;
    let query = "conType=TEACHER&nbId=nb&userId=t";
    let mut socket = tests::SioClient::connect(app.addr, query, Some(json!({ "token": teacher })))
        .await
        .unwrap();
    // Counted as a connected teacher once its live session is open.
    for _ in 0..100 {
        let teachers = app
            .state
            .presence
            .connected("nb", api::broker::presence::PresenceRole::Teacher)
            .await
            .unwrap();
        if !teachers.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.graphql_as(&admin, DISABLE, json!({ "u": "teacher" }))
        .await
        .data();
    socket.disconnected().await;
}
