//! Roles and notebook authorization: each administrative mutation allowed for its role and
//! FORBIDDEN for the role below, all-or-nothing changes with an audit record each, and the
//! notebook guard on every path that reaches a guarded field.

use api::auth::Role;
use entity::audit_log;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const GRANT_NOTEBOOKS: &str = r#"mutation($u: String!, $n: [ID!]!) {
    grantNotebooksToUser(username: $u, notebookIds: $n) { changedCount } }"#;
const REVOKE_NOTEBOOKS: &str = r#"mutation($u: String!, $n: [ID!]!) {
    revokeNotebooksFromUser(username: $u, notebookIds: $n) { changedCount } }"#;
const GRANT_USERS: &str = r#"mutation($n: ID!, $u: [String!]!) {
    grantUsersToNotebook(notebookId: $n, usernames: $u) { changedCount } }"#;
const REVOKE_USERS: &str = r#"mutation($n: ID!, $u: [String!]!) {
    revokeUsersFromNotebook(notebookId: $n, usernames: $u) { changedCount } }"#;
const GRANT_SUPERUSER: &str =
    r#"mutation($u: String!) { grantSuperuser(username: $u) { pseudonym role } }"#;
const REVOKE_SUPERUSER: &str =
    r#"mutation($u: String!) { revokeSuperuser(username: $u) { pseudonym role } }"#;
const NOTEBOOK: &str = r#"query($id: ID!) { notebook(id: $id) { id name } }"#;
const MY_NOTEBOOKS: &str = "{ me { role notebooks { id } } }";

/// An app with an admin, a superuser authorized for nb-1, and a plain user; returns their tokens.
async fn staffed_app(backend: tests::Backend) -> (TestApp, String, String, String) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook("nb-1").await;
    app.register_notebook("nb-2").await;
    let admin = app.user_token("admin", Role::Admin).await;
    let superuser = app.user_token("super", Role::Superuser).await;
    let user = app.user_token("teacher", Role::User).await;
    app.authorize("super", "nb-1").await;
    (app, admin, superuser, user)
}

async fn audit_rows(app: &TestApp) -> u64 {
    audit_log::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

fn notebook_ids(response: &tests::GraphQLResponse) -> Value {
    response.data()["me"]["notebooks"].clone()
}

backend_tests! {
    async fn superusers_grant_and_revoke_notebooks_for_a_user_and_users_below_are_forbidden(backend) {
        let (app, _admin, superuser, user) = staffed_app(backend).await;
        let vars = json!({ "u": "teacher", "n": ["nb-1"] });
        let denied = app.graphql_as(&user, GRANT_NOTEBOOKS, vars.clone()).await;
        assert_eq!(denied.error_code(), "FORBIDDEN");
        assert_eq!(audit_rows(&app).await, 0);

        let granted = app.graphql_as(&superuser, GRANT_NOTEBOOKS, vars.clone()).await;
        assert_eq!(granted.data()["grantNotebooksToUser"]["changedCount"], 1);
        let mine = app.graphql_as(&user, MY_NOTEBOOKS, json!({})).await;
        assert_eq!(notebook_ids(&mine), json!([{ "id": "nb-1" }]));
        let seen = app.graphql_as(&user, NOTEBOOK, json!({ "id": "nb-1" })).await;
        assert_eq!(seen.data()["notebook"]["id"], "nb-1");

        let denied = app.graphql_as(&user, REVOKE_NOTEBOOKS, vars.clone()).await;
        assert_eq!(denied.error_code(), "FORBIDDEN");
        let revoked = app.graphql_as(&superuser, REVOKE_NOTEBOOKS, vars).await;
        assert_eq!(revoked.data()["revokeNotebooksFromUser"]["changedCount"], 1);
        let unseen = app.graphql_as(&user, NOTEBOOK, json!({ "id": "nb-1" })).await;
        assert_eq!(unseen.error_code(), "FORBIDDEN");
        assert_eq!(audit_rows(&app).await, 2);
    }

    async fn superusers_grant_and_revoke_users_for_a_notebook(backend) {
        let (app, _admin, superuser, user) = staffed_app(backend).await;
        app.create_user("assistant", "password of assistant", Role::User).await;
        let vars = json!({ "n": "nb-1", "u": ["teacher", "assistant"] });
        let denied = app.graphql_as(&user, GRANT_USERS, vars.clone()).await;
        assert_eq!(denied.error_code(), "FORBIDDEN");
        let granted = app.graphql_as(&superuser, GRANT_USERS, vars.clone()).await;
        assert_eq!(granted.data()["grantUsersToNotebook"]["changedCount"], 2);
        // Granting again changes nothing and is not an error.
        let again = app.graphql_as(&superuser, GRANT_USERS, vars.clone()).await;
        assert_eq!(again.data()["grantUsersToNotebook"]["changedCount"], 0);
        let assistant = app.login("assistant", "password of assistant").await;
        let mine = app.graphql_as(&assistant, MY_NOTEBOOKS, json!({})).await;
        assert_eq!(notebook_ids(&mine), json!([{ "id": "nb-1" }]));

        let denied = app.graphql_as(&user, REVOKE_USERS, vars.clone()).await;
        assert_eq!(denied.error_code(), "FORBIDDEN");
        let revoked = app.graphql_as(&superuser, REVOKE_USERS, vars).await;
        assert_eq!(revoked.data()["revokeUsersFromNotebook"]["changedCount"], 2);
        let mine = app.graphql_as(&assistant, MY_NOTEBOOKS, json!({})).await;
        assert_eq!(notebook_ids(&mine), json!([]));
        let details: Vec<Value> = audit_log::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.details)
            .collect();
        let text = serde_json::to_string(&details).unwrap();
        assert!(text.contains(&app.pseudonym("assistant")));
        assert!(!text.contains("\"assistant\""), "raw usernames in the audit log: {text}");
    }

    async fn a_change_naming_one_unknown_user_changes_nothing(backend) {
        let (app, _admin, superuser, _user) = staffed_app(backend).await;
        let vars = json!({ "n": "nb-1", "u": ["teacher", "ghost"] });
        let response = app.graphql_as(&superuser, GRANT_USERS, vars).await;
        assert_eq!(response.error_code(), "NOT_FOUND");
        let teacher = app.login("teacher", "password-of-test-user").await;
        let mine = app.graphql_as(&teacher, MY_NOTEBOOKS, json!({})).await;
        assert_eq!(notebook_ids(&mine), json!([]));
        assert_eq!(audit_rows(&app).await, 0);
    }

    async fn a_superuser_cannot_hand_out_a_notebook_they_do_not_see(backend) {
        let (app, admin, superuser, _user) = staffed_app(backend).await;
        let vars = json!({ "u": "teacher", "n": ["nb-2"] });
        let response = app.graphql_as(&superuser, GRANT_NOTEBOOKS, vars.clone()).await;
        assert_eq!(response.error_code(), "FORBIDDEN");
        // Admins may grant any notebook.
        let response = app.graphql_as(&admin, GRANT_NOTEBOOKS, vars).await;
        assert_eq!(response.data()["grantNotebooksToUser"]["changedCount"], 1);
        // An unknown id looks the same as a hidden one, so ids cannot be probed.
        let unknown = json!({ "u": "teacher", "n": ["nb-none"] });
        let response = app.graphql_as(&superuser, GRANT_NOTEBOOKS, unknown.clone()).await;
        assert_eq!(response.error_code(), "FORBIDDEN");
        let response = app.graphql_as(&admin, GRANT_NOTEBOOKS, unknown).await;
        assert_eq!(response.error_code(), "NOT_FOUND");
    }

    async fn admins_grant_and_revoke_superuser_and_superusers_are_forbidden(backend) {
        let (app, admin, superuser, user) = staffed_app(backend).await;
        let vars = json!({ "u": "teacher" });
        let denied = app.graphql_as(&superuser, GRANT_SUPERUSER, vars.clone()).await;
        assert_eq!(denied.error_code(), "FORBIDDEN");
        let granted = app.graphql_as(&admin, GRANT_SUPERUSER, vars.clone()).await;
        assert_eq!(granted.data()["grantSuperuser"]["role"], "SUPERUSER");
        assert_eq!(granted.data()["grantSuperuser"]["pseudonym"], app.pseudonym("teacher"));
        // The token issued before the change already carries the new role.
        let me = app.graphql_as(&user, MY_NOTEBOOKS, json!({})).await;
        assert_eq!(me.data()["me"]["role"], "SUPERUSER");

        let denied = app.graphql_as(&superuser, REVOKE_SUPERUSER, vars.clone()).await;
        assert_eq!(denied.error_code(), "FORBIDDEN");
        let revoked = app.graphql_as(&admin, REVOKE_SUPERUSER, vars).await;
        assert_eq!(revoked.data()["revokeSuperuser"]["role"], "USER");
        let me = app.graphql_as(&user, MY_NOTEBOOKS, json!({})).await;
        assert_eq!(me.data()["me"]["role"], "USER");
        let actions: Vec<String> = audit_log::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.action)
            .collect();
        assert_eq!(actions, ["grant_superuser", "revoke_superuser"]);
        let demote_admin = app.graphql_as(&admin, REVOKE_SUPERUSER, json!({ "u": "admin" })).await;
        assert_eq!(demote_admin.error_code(), "CONFLICT");
    }

    async fn the_notebook_guard_holds_on_every_path_to_the_field(backend) {
        let (app, admin, superuser, user) = staffed_app(backend).await;
        let queries = [
            r#"query($id: ID!) { notebook(id: $id) { id } }"#,
            r#"query($id: ID!) { aliased: notebook(id: $id) { id } }"#,
            r#"query($id: ID!) { ...Q } fragment Q on Query { notebook(id: $id) { id } }"#,
            r#"query($id: ID!) { ... on Query { notebook(id: $id) { id } } }"#,
            r#"query($id: ID!) { ... on Query { ...Q } } fragment Q on Query { notebook(id: $id) { name } }"#,
        ];
        for query in queries {
            let denied = app.graphql_as(&user, query, json!({ "id": "nb-1" })).await;
            assert_eq!(denied.error_code(), "FORBIDDEN", "{query}");
            assert!(!denied.body.to_string().contains("nb-1.ipynb"), "{query}");
            let allowed = app.graphql_as(&superuser, query, json!({ "id": "nb-1" })).await;
            assert!(allowed.errors().is_empty(), "{query}: {}", allowed.body);
            let other = app.graphql_as(&superuser, query, json!({ "id": "nb-2" })).await;
            assert_eq!(other.error_code(), "FORBIDDEN", "{query}");
            let any = app.graphql_as(&admin, query, json!({ "id": "nb-2" })).await;
            assert!(any.errors().is_empty(), "{query}: {}", any.body);
        }
        // Next to an allowed field, the guarded one is null with its error; the rest answers.
        let mixed = app
            .graphql_as(&user, r#"{ version notebook(id: "nb-1") { id } }"#, json!({}))
            .await;
        assert_eq!(mixed.error_code(), "FORBIDDEN");
        assert_eq!(mixed.body["data"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(mixed.body["data"]["notebook"], Value::Null);
        let anonymous = app.graphql(NOTEBOOK, json!({ "id": "nb-1" })).await;
        assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
        let unknown = app.graphql_as(&user, NOTEBOOK, json!({ "id": "nb-none" })).await;
        assert_eq!(unknown.error_code(), "FORBIDDEN");
        let unknown_for_admin = app.graphql_as(&admin, NOTEBOOK, json!({ "id": "nb-none" })).await;
        assert_eq!(unknown_for_admin.error_code(), "NOT_FOUND");
    }

    async fn a_revocation_reaches_an_open_websocket_at_the_next_operation(backend) {
        let (app, _admin, superuser, user) = staffed_app(backend).await;
        app.authorize("teacher", "nb-1").await;
        let mut socket = app.websocket(json!({ "token": user })).await;
        socket.subscribe("1", NOTEBOOK, json!({ "id": "nb-1" })).await;
        let allowed = socket.receive().await;
        assert_eq!(allowed["payload"]["data"]["notebook"]["id"], "nb-1", "{allowed}");
        assert_eq!(socket.receive().await["type"], "complete");
        let vars = json!({ "u": "teacher", "n": ["nb-1"] });
        app.graphql_as(&superuser, REVOKE_NOTEBOOKS, vars).await.data();
        socket.subscribe("2", NOTEBOOK, json!({ "id": "nb-1" })).await;
        let denied = socket.receive().await;
        assert_eq!(denied["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{denied}");
    }

    async fn the_guard_applies_over_the_websocket_with_the_init_token(backend) {
        let (app, _admin, superuser, user) = staffed_app(backend).await;
        let mut socket = app.websocket(json!({ "authorization": format!("Bearer {user}") })).await;
        socket.subscribe("1", NOTEBOOK, json!({ "id": "nb-1" })).await;
        let denied = socket.receive().await;
        assert_eq!(denied["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{denied}");
        let mut socket = app.websocket(json!({ "token": superuser })).await;
        socket.subscribe("1", NOTEBOOK, json!({ "id": "nb-1" })).await;
        let allowed = socket.receive().await;
        assert_eq!(allowed["payload"]["data"]["notebook"]["id"], "nb-1", "{allowed}");
    }
}
