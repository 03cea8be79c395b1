//! Student groups: the teachers' mutations and their effects in the database and through the
//! reads, every refusal with its code and nothing stored, the roster import, the audit log, and
//! the students' own groups and teammates. Raw student ids never come back.

use std::time::Instant;

use api::auth::Role;
use entity::{audit_log, group_member, student_group};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tests::{Backend, TestApp, backend_tests};

const NOTEBOOK: &str = "nb-groups";
const OTHER_NOTEBOOK: &str = "nb-other";

const CREATE: &str = r#"mutation($nb: ID!, $name: String!, $users: [String!]!) {
    createGroup(notebookId: $nb, name: $name, userIds: $users) {
        id notebookId name memberCount members } }"#;
const SET_MEMBERS: &str = r#"mutation($id: ID!, $users: [String!]!) {
    setGroupMembers(groupId: $id, userIds: $users) { id notebookId name memberCount members } }"#;
const RENAME: &str = r#"mutation($id: ID!, $name: String!) {
    renameGroup(groupId: $id, name: $name) { id notebookId name memberCount members } }"#;
const DELETE: &str = r#"mutation($id: ID!) { deleteGroup(groupId: $id) }"#;
const IMPORT: &str = r#"mutation(
    $nb: ID!, $groups: [GroupRosterInput!]!, $replace: Boolean! = false) {
    importGroupRoster(notebookId: $nb, groups: $groups, replaceExisting: $replace) {
        id notebookId name memberCount members } }"#;
const LIST: &str = r#"query($nb: ID!) {
    notebookGroups(notebookId: $nb) { id notebookId name memberCount members } }"#;
const MY_GROUPS: &str = r#"query($nb: ID!, $user: String!) {
    myGroups(notebookId: $nb, userId: $user) { id name } }"#;
const MY_TEAMMATES: &str = r#"query($nb: ID!, $user: String!) {
    myTeammates(notebookId: $nb, userId: $user) }"#;

/// An app with two notebooks, a teacher of each, and the first teacher's token.
async fn ready_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    app.register_notebook(NOTEBOOK).await;
    app.register_notebook(OTHER_NOTEBOOK).await;
    let token = app.user_token("teacher", Role::User).await;
    app.authorize("teacher", NOTEBOOK).await;
    (app, token)
}

async fn other_teacher(app: &TestApp) -> String {
    let token = app.user_token("other-teacher", Role::User).await;
    app.authorize("other-teacher", OTHER_NOTEBOOK).await;
    token
}

async fn create(app: &TestApp, token: &str, name: &str, users: &[&str]) -> Value {
    let variables = json!({ "nb": NOTEBOOK, "name": name, "users": users });
    let response = app.graphql_as(token, CREATE, variables).await;
    response.data()["createGroup"].clone()
}

fn pseudonyms(app: &TestApp, raw: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = raw.iter().map(|user| app.pseudonym(user)).collect();
    list.sort();
    list.dedup();
    list
}

async fn members_in_db(app: &TestApp, group_id: &Value) -> Vec<String> {
    let id: i64 = group_id.as_str().unwrap().parse().unwrap();
    group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(id))
        .order_by_asc(group_member::Column::UserId)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.user_id)
        .collect()
}

async fn group_names_in_db(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = student_group::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|group| group.name)
        .collect();
    names.sort();
    names
}

async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let db = &app.state.db;
    (
        student_group::Entity::find().count(db).await.unwrap(),
        group_member::Entity::find().count(db).await.unwrap(),
        audit_log::Entity::find().count(db).await.unwrap(),
    )
}

async fn list(app: &TestApp, token: &str, notebook: &str) -> Vec<Value> {
    let response = app.graphql_as(token, LIST, json!({ "nb": notebook })).await;
    response.data()["notebookGroups"]
        .as_array()
        .unwrap()
        .clone()
}

fn assert_no_raw_ids(body: &Value) {
    let text = body.to_string();
    assert!(!text.contains("student-"), "a raw id leaked: {text}");
}

/// One call of every teacher field on `group_id` (or the notebook), as (label, query, vars).
fn teacher_fields(group_id: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "createGroup",
            CREATE,
            json!({ "nb": NOTEBOOK, "name": "new", "users": ["student-9"] }),
        ),
        (
            "setGroupMembers",
            SET_MEMBERS,
            json!({ "id": group_id, "users": ["student-9"] }),
        ),
        (
            "renameGroup",
            RENAME,
            json!({ "id": group_id, "name": "renamed" }),
        ),
        ("deleteGroup", DELETE, json!({ "id": group_id })),
        (
            "importGroupRoster",
            IMPORT,
            json!({
                "nb": NOTEBOOK, "replace": true,
                "groups": [{ "name": "new", "userIds": ["student-9"] }],
            }),
        ),
        ("notebookGroups", LIST, json!({ "nb": NOTEBOOK })),
    ]
}

backend_tests! {
    async fn a_created_group_stores_and_returns_its_members_as_pseudonyms(backend) {
        let (app, token) = ready_app(backend).await;
        let variables = json!({
            "nb": NOTEBOOK, "name": "  Team A  ",
            "users": ["student-2", "student-1", "student-2"],
        });
        let response = app.graphql_as(&token, CREATE, variables).await;
        assert_no_raw_ids(&response.body);
        let group = &response.data()["createGroup"];
        assert_eq!(group["name"], "Team A", "the name is trimmed");
        assert_eq!(group["notebookId"], NOTEBOOK);
        assert_eq!(group["memberCount"], 2, "a repeated id counts once");
        let expected = pseudonyms(&app, &["student-1", "student-2"]);
        assert_eq!(group["members"], json!(expected));
        assert_eq!(members_in_db(&app, &group["id"]).await, expected);
        let rows = student_group::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id.to_string(), group["id"].as_str().unwrap());
        assert_eq!(rows[0].name, "Team A");
    }

    async fn notebook_groups_lists_the_groups_by_name_with_their_members_and_counts(backend) {
        let (app, token) = ready_app(backend).await;
        let other = other_teacher(&app).await;
        let b = create(&app, &token, "beta", &["student-3"]).await;
        let a = create(&app, &token, "alpha", &["student-2", "student-1"]).await;
        let empty = create(&app, &token, "gamma", &[]).await;
        let variables =
            json!({ "nb": OTHER_NOTEBOOK, "name": "elsewhere", "users": ["student-1"] });
        app.graphql_as(&other, CREATE, variables).await.data();
        let response = app.graphql_as(&token, LIST, json!({ "nb": NOTEBOOK })).await;
        assert_no_raw_ids(&response.body);
        let groups = response.data()["notebookGroups"].as_array().unwrap().clone();
        let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["alpha", "beta", "gamma"], "only this notebook's groups, by name");
        assert_eq!(groups[0]["id"], a["id"]);
        assert_eq!(groups[0]["notebookId"], NOTEBOOK);
        assert_eq!(groups[0]["memberCount"], 2);
        assert_eq!(groups[0]["members"], json!(pseudonyms(&app, &["student-1", "student-2"])));
        assert_eq!(groups[1]["id"], b["id"]);
        assert_eq!(groups[1]["members"], json!(pseudonyms(&app, &["student-3"])));
        assert_eq!(groups[2]["id"], empty["id"]);
        assert_eq!(groups[2]["memberCount"], 0);
        assert_eq!(groups[2]["members"], json!([]));
    }

    async fn set_group_members_replaces_the_members_entirely(backend) {
        let (app, token) = ready_app(backend).await;
        let group = create(&app, &token, "team", &["student-1", "student-2"]).await;
        let untouched = create(&app, &token, "other", &["student-1"]).await;
        let users = ["student-3", "student-2", "student-3"];
        let variables = json!({ "id": group["id"], "users": users });
        let response = app.graphql_as(&token, SET_MEMBERS, variables).await;
        assert_no_raw_ids(&response.body);
        let updated = &response.data()["setGroupMembers"];
        let expected = pseudonyms(&app, &["student-2", "student-3"]);
        assert_eq!(updated["id"], group["id"]);
        assert_eq!(updated["name"], "team");
        assert_eq!(updated["memberCount"], 2);
        assert_eq!(updated["members"], json!(expected));
        assert_eq!(members_in_db(&app, &group["id"]).await, expected);
        assert_eq!(members_in_db(&app, &untouched["id"]).await, pseudonyms(&app, &["student-1"]));
        let variables = json!({ "id": group["id"], "users": [] });
        let emptied = app.graphql_as(&token, SET_MEMBERS, variables).await;
        assert_eq!(emptied.data()["setGroupMembers"]["memberCount"], 0);
        assert!(members_in_db(&app, &group["id"]).await.is_empty());
    }

    async fn rename_group_changes_the_name_and_keeps_the_id_and_members(backend) {
        let (app, token) = ready_app(backend).await;
        let group = create(&app, &token, "old name", &["student-1"]).await;
        let variables = json!({ "id": group["id"], "name": " new name " });
        let response = app.graphql_as(&token, RENAME, variables).await;
        let renamed = &response.data()["renameGroup"];
        assert_eq!(renamed["id"], group["id"]);
        assert_eq!(renamed["name"], "new name");
        assert_eq!(renamed["members"], json!(pseudonyms(&app, &["student-1"])));
        assert_eq!(group_names_in_db(&app).await, ["new name"]);
        let variables = json!({ "id": group["id"], "name": "new name" });
        let same = app.graphql_as(&token, RENAME, variables).await;
        let kept = &same.data()["renameGroup"]["name"];
        assert_eq!(kept, "new name", "keeping its own name is no conflict");
        let listed = list(&app, &token, NOTEBOOK).await;
        assert_eq!(listed[0]["name"], "new name");
    }

    async fn delete_group_removes_the_group_and_its_memberships_only(backend) {
        let (app, token) = ready_app(backend).await;
        let doomed = create(&app, &token, "doomed", &["student-1", "student-2"]).await;
        let kept = create(&app, &token, "kept", &["student-1"]).await;
        let response = app.graphql_as(&token, DELETE, json!({ "id": doomed["id"] })).await;
        assert_eq!(response.data()["deleteGroup"], doomed["id"]);
        assert_eq!(group_names_in_db(&app).await, ["kept"]);
        assert!(members_in_db(&app, &doomed["id"]).await.is_empty());
        assert_eq!(members_in_db(&app, &kept["id"]).await.len(), 1);
        // Gone: to a teacher an unknown group is FORBIDDEN, as an unknown notebook is.
        let again = app.graphql_as(&token, DELETE, json!({ "id": doomed["id"] })).await;
        assert_eq!(again.error_code(), "FORBIDDEN");
    }

    async fn every_mutation_writes_one_audit_record_with_pseudonyms_and_never_raw_ids(backend) {
        let (app, token) = ready_app(backend).await;
        let group = create(&app, &token, "team", &["student-1"]).await;
        let variables = json!({ "id": group["id"], "users": ["student-2"] });
        app.graphql_as(&token, SET_MEMBERS, variables).await.data();
        let variables = json!({ "id": group["id"], "name": "renamed" });
        app.graphql_as(&token, RENAME, variables).await.data();
        let roster = json!({
            "nb": NOTEBOOK, "groups": [{ "name": "roster", "userIds": ["student-3"] }],
        });
        app.graphql_as(&token, IMPORT, roster).await.data();
        app.graphql_as(&token, DELETE, json!({ "id": group["id"] })).await.data();
        let rows = audit_log::Entity::find()
            .order_by_asc(audit_log::Column::Id)
            .all(&app.state.db)
            .await
            .unwrap();
        let actions: Vec<&str> = rows.iter().map(|row| row.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "create_group",
                "set_group_members",
                "rename_group",
                "import_group_roster",
                "delete_group",
            ]
        );
        let teacher = &app.pseudonym("teacher");
        let teacher = api::services::users::get_by_username_hash(&app.state.db, teacher)
            .await
            .unwrap();
        for row in &rows {
            assert_eq!(row.actor_id, Some(teacher.id), "{}", row.action);
            assert_eq!(row.details["notebook"], NOTEBOOK, "{}", row.action);
            assert_no_raw_ids(&row.details);
        }
        assert_eq!(rows[0].details["members"], json!([app.pseudonym("student-1")]));
        assert_eq!(rows[1].details["members"], json!([app.pseudonym("student-2")]));
        assert_eq!(rows[2].details["to"], "renamed");
        assert_eq!(rows[3].details["groups"][0]["memberCount"], 1);
    }

    async fn every_teacher_field_without_a_token_is_unauthenticated_and_changes_nothing(backend) {
        let (app, token) = ready_app(backend).await;
        let group = create(&app, &token, "team", &["student-1"]).await;
        let before = counts(&app).await;
        for (label, query, variables) in teacher_fields(group["id"].as_str().unwrap()) {
            let response = app.graphql(query, variables).await;
            assert_eq!(response.error_code(), "UNAUTHENTICATED", "{label}");
        }
        // The token is checked before the group is looked up, so ids cannot be probed.
        let unknown = app.graphql(DELETE, json!({ "id": "987654" })).await;
        assert_eq!(unknown.error_code(), "UNAUTHENTICATED");
        assert_eq!(counts(&app).await, before);
        assert_eq!(members_in_db(&app, &group["id"]).await, pseudonyms(&app, &["student-1"]));
    }

    async fn a_teacher_of_another_notebook_is_forbidden_on_every_teacher_field(backend) {
        let (app, token) = ready_app(backend).await;
        let other = other_teacher(&app).await;
        let group = create(&app, &token, "team", &["student-1"]).await;
        let before = counts(&app).await;
        for (label, query, variables) in teacher_fields(group["id"].as_str().unwrap()) {
            let response = app.graphql_as(&other, query, variables).await;
            assert_eq!(response.error_code(), "FORBIDDEN", "{label}");
            assert_eq!(response.body["data"], Value::Null, "{label}");
        }
        assert_eq!(counts(&app).await, before);
        assert_eq!(group_names_in_db(&app).await, ["team"]);
        assert_eq!(members_in_db(&app, &group["id"]).await, pseudonyms(&app, &["student-1"]));
    }

    async fn an_unknown_group_is_forbidden_to_teachers_and_not_found_for_admins(backend) {
        let (app, token) = ready_app(backend).await;
        let admin = app.user_token("admin", Role::Admin).await;
        // A teacher cannot tell a group of another class from no group at all.
        for (viewer, code) in [(&token, "FORBIDDEN"), (&admin, "NOT_FOUND")] {
            for id in ["987654", "not-a-number"] {
                let set = app.graphql_as(viewer, SET_MEMBERS, json!({ "id": id, "users": [] })).await;
                assert_eq!(set.error_code(), code, "setGroupMembers {id}");
                let rename = app.graphql_as(viewer, RENAME, json!({ "id": id, "name": "x" })).await;
                assert_eq!(rename.error_code(), code, "renameGroup {id}");
                let delete = app.graphql_as(viewer, DELETE, json!({ "id": id })).await;
                assert_eq!(delete.error_code(), code, "deleteGroup {id}");
            }
        }
        assert_eq!(counts(&app).await, (0, 0, 0));
    }

    async fn an_admin_naming_an_unknown_notebook_gets_not_found(backend) {
        let (app, _) = ready_app(backend).await;
        let admin = app.user_token("admin", Role::Admin).await;
        let missing = "nb-missing";
        let created = app
            .graphql_as(&admin, CREATE, json!({ "nb": missing, "name": "x", "users": [] }))
            .await;
        assert_eq!(created.error_code(), "NOT_FOUND");
        let variables = json!({ "nb": missing, "groups": [{ "name": "x", "userIds": [] }] });
        let import = app.graphql_as(&admin, IMPORT, variables).await;
        assert_eq!(import.error_code(), "NOT_FOUND");
        let listed = app.graphql_as(&admin, LIST, json!({ "nb": missing })).await;
        assert_eq!(listed.error_code(), "NOT_FOUND");
        let mine = app.graphql(MY_GROUPS, json!({ "nb": missing, "user": "student-1" })).await;
        assert_eq!(mine.error_code(), "NOT_FOUND");
        let mates = app.graphql(MY_TEAMMATES, json!({ "nb": missing, "user": "student-1" })).await;
        assert_eq!(mates.error_code(), "NOT_FOUND");
        assert_eq!(counts(&app).await, (0, 0, 0));
        // An admin may manage any notebook's groups without a grant.
        let variables = json!({ "nb": OTHER_NOTEBOOK, "name": "by admin", "users": [] });
        let response = app.graphql_as(&admin, CREATE, variables).await;
        assert_eq!(response.data()["createGroup"]["name"], "by admin");
    }

    async fn a_duplicate_name_in_a_notebook_is_a_conflict_on_create_and_rename(backend) {
        let (app, token) = ready_app(backend).await;
        let admin = app.user_token("admin", Role::Admin).await;
        create(&app, &token, "team", &["student-1"]).await;
        let other = create(&app, &token, "other", &["student-2"]).await;
        let before = counts(&app).await;
        let variables = json!({ "nb": NOTEBOOK, "name": " team ", "users": ["student-3"] });
        let duplicate = app.graphql_as(&token, CREATE, variables).await;
        assert_eq!(duplicate.error_code(), "CONFLICT");
        let variables = json!({ "id": other["id"], "name": "team" });
        let rename = app.graphql_as(&token, RENAME, variables).await;
        assert_eq!(rename.error_code(), "CONFLICT");
        assert_eq!(counts(&app).await, before, "nothing stored, no audit record");
        assert_eq!(group_names_in_db(&app).await, ["other", "team"]);
        // The same name in another notebook is another group.
        let variables = json!({ "nb": OTHER_NOTEBOOK, "name": "team", "users": [] });
        app.graphql_as(&admin, CREATE, variables).await.data();
    }

    async fn out_of_bounds_input_is_bad_user_input_and_stores_nothing(backend) {
        let (app, token) = ready_app(backend).await;
        let group = create(&app, &token, "team", &["student-1"]).await;
        let before = counts(&app).await;
        let long_name = "n".repeat(129);
        let long_id = "s".repeat(257);
        let too_many: Vec<String> = (0..5001).map(|i| format!("student-{i}")).collect();
        let cases = [
            (CREATE, json!({ "nb": NOTEBOOK, "name": "", "users": [] })),
            (CREATE, json!({ "nb": NOTEBOOK, "name": "   ", "users": [] })),
            (CREATE, json!({ "nb": NOTEBOOK, "name": long_name, "users": [] })),
            (CREATE, json!({ "nb": NOTEBOOK, "name": "x", "users": [""] })),
            (CREATE, json!({ "nb": NOTEBOOK, "name": "x", "users": [long_id] })),
            (CREATE, json!({ "nb": NOTEBOOK, "name": "x", "users": too_many })),
            (SET_MEMBERS, json!({ "id": group["id"], "users": too_many })),
            (SET_MEMBERS, json!({ "id": group["id"], "users": [""] })),
            (RENAME, json!({ "id": group["id"], "name": " " })),
            (RENAME, json!({ "id": group["id"], "name": long_name })),
            (IMPORT, json!({ "nb": NOTEBOOK, "groups": [{ "name": "", "userIds": [] }] })),
            (IMPORT, json!({ "nb": NOTEBOOK, "groups": [{ "name": "x", "userIds": too_many }] })),
            (MY_GROUPS, json!({ "nb": NOTEBOOK, "user": "" })),
            (MY_TEAMMATES, json!({ "nb": NOTEBOOK, "user": long_id })),
        ];
        for (index, (query, variables)) in cases.into_iter().enumerate() {
            let response = app.graphql_as(&token, query, variables).await;
            assert_eq!(response.error_code(), "BAD_USER_INPUT", "case {index}");
        }
        let roster: Vec<Value> = (0..1001)
            .map(|i| json!({ "name": format!("g{i}"), "userIds": [] }))
            .collect();
        let variables = json!({ "nb": NOTEBOOK, "groups": roster });
        let response = app.graphql_as(&token, IMPORT, variables).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "1001 groups");
        assert_eq!(counts(&app).await, before);
        assert_eq!(group_names_in_db(&app).await, ["team"]);
        // The limits themselves are accepted.
        let at_limit: Vec<String> = too_many[..5000].to_vec();
        let variables = json!({ "nb": NOTEBOOK, "name": "n".repeat(128), "users": at_limit });
        let created = app.graphql_as(&token, CREATE, variables).await;
        assert_eq!(created.data()["createGroup"]["memberCount"], 5000);
        let variables = json!({ "id": group["id"], "users": ["s".repeat(256)] });
        app.graphql_as(&token, SET_MEMBERS, variables).await.data();
    }

    async fn a_roster_of_fifty_groups_of_twenty_students_is_imported_in_one_request(backend) {
        let (app, token) = ready_app(backend).await;
        let roster: Vec<Value> = (0..50)
            .map(|g| {
                let users: Vec<String> = (0..20).map(|s| format!("student-{g}-{s}")).collect();
                json!({ "name": format!("group-{g:02}"), "userIds": users })
            })
            .collect();
        let started = Instant::now();
        let variables = json!({ "nb": NOTEBOOK, "groups": roster });
        let response = app.graphql_as(&token, IMPORT, variables).await;
        let elapsed = started.elapsed();
        eprintln!("roster import of 50 groups x 20 students on {backend:?}: {elapsed:?}");
        assert_no_raw_ids(&response.body);
        let imported = response.data()["importGroupRoster"].as_array().unwrap().clone();
        assert_eq!(imported.len(), 50);
        assert_eq!(imported[7]["name"], "group-07", "in roster order");
        assert!(imported.iter().all(|g| g["memberCount"] == 20));
        assert_eq!(counts(&app).await, (50, 1000, 1));
        let listed = list(&app, &token, NOTEBOOK).await;
        assert_eq!(listed.len(), 50);
        for (g, group) in listed.iter().enumerate() {
            assert_eq!(group["name"], format!("group-{g:02}"));
            assert_eq!(group["memberCount"], 20);
            let raw: Vec<String> = (0..20).map(|s| format!("student-{g}-{s}")).collect();
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            assert_eq!(group["members"], json!(pseudonyms(&app, &raw)));
        }
        assert!(elapsed.as_secs() < 10, "the import took {elapsed:?}");
    }

    async fn a_roster_replaces_the_members_of_named_groups_and_keeps_the_others(backend) {
        let (app, token) = ready_app(backend).await;
        let a = create(&app, &token, "A", &["student-1", "student-2"]).await;
        let b = create(&app, &token, "B", &["student-3"]).await;
        let roster = json!([
            { "name": " A ", "userIds": ["student-2", "student-4", "student-4"] },
            { "name": "C", "userIds": ["student-5"] },
        ]);
        let variables = json!({ "nb": NOTEBOOK, "groups": roster });
        let response = app.graphql_as(&token, IMPORT, variables).await;
        let imported = response.data()["importGroupRoster"].as_array().unwrap().clone();
        assert_eq!(imported[0]["id"], a["id"], "an existing group keeps its id");
        assert_eq!(imported[0]["members"], json!(pseudonyms(&app, &["student-2", "student-4"])));
        assert_eq!(imported[1]["name"], "C");
        let expected = pseudonyms(&app, &["student-2", "student-4"]);
        assert_eq!(members_in_db(&app, &a["id"]).await, expected);
        assert_eq!(members_in_db(&app, &b["id"]).await, pseudonyms(&app, &["student-3"]));
        assert_eq!(group_names_in_db(&app).await, ["A", "B", "C"]);
    }

    async fn with_replace_existing_the_groups_absent_from_the_roster_are_deleted(backend) {
        let (app, token) = ready_app(backend).await;
        let a = create(&app, &token, "A", &["student-1"]).await;
        let b = create(&app, &token, "B", &["student-2"]).await;
        let roster = json!([
            { "name": "B", "userIds": ["student-3"] },
            { "name": "C", "userIds": [] },
        ]);
        let variables = json!({ "nb": NOTEBOOK, "groups": roster, "replace": true });
        let response = app.graphql_as(&token, IMPORT, variables).await;
        assert_eq!(response.data()["importGroupRoster"][0]["id"], b["id"]);
        assert_eq!(group_names_in_db(&app).await, ["B", "C"]);
        assert!(members_in_db(&app, &a["id"]).await.is_empty());
        assert_eq!(members_in_db(&app, &b["id"]).await, pseudonyms(&app, &["student-3"]));
        let listed = list(&app, &token, NOTEBOOK).await;
        let names: Vec<Value> = listed.iter().map(|g| g["name"].clone()).collect();
        assert_eq!(names, [json!("B"), json!("C")]);
        let audit = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("import_group_roster"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let a_id: i64 = a["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(audit.details["deleted"], json!([a_id]));
        // An empty roster with replaceExisting clears the notebook.
        let variables = json!({ "nb": NOTEBOOK, "groups": [], "replace": true });
        app.graphql_as(&token, IMPORT, variables).await.data();
        assert_eq!(counts(&app).await.0, 0);
    }

    async fn a_roster_naming_a_group_twice_is_refused_and_stores_nothing(backend) {
        let (app, token) = ready_app(backend).await;
        let existing = create(&app, &token, "A", &["student-1"]).await;
        let before = counts(&app).await;
        let roster = json!([
            { "name": "A", "userIds": ["student-2"] },
            { "name": "B", "userIds": ["student-3"] },
            { "name": " B", "userIds": ["student-4"] },
        ]);
        let variables = json!({ "nb": NOTEBOOK, "groups": roster, "replace": true });
        let response = app.graphql_as(&token, IMPORT, variables).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        assert_eq!(counts(&app).await, before);
        assert_eq!(group_names_in_db(&app).await, ["A"]);
        assert_eq!(members_in_db(&app, &existing["id"]).await, pseudonyms(&app, &["student-1"]));
    }

    async fn students_see_their_groups_and_teammates_from_every_group_but_not_themselves(backend) {
        let (app, token) = ready_app(backend).await;
        let other = other_teacher(&app).await;
        let g1 = ["student-alice", "student-bob", "student-carol"];
        let g1 = create(&app, &token, "g1", &g1).await;
        let g2 = ["student-dave", "student-alice", "student-bob"];
        let g2 = create(&app, &token, "g2", &g2).await;
        create(&app, &token, "g3", &["student-eve"]).await;
        let users = ["student-alice", "student-frank"];
        let variables = json!({ "nb": OTHER_NOTEBOOK, "name": "g4", "users": users });
        app.graphql_as(&other, CREATE, variables).await.data();

        let alice = json!({ "nb": NOTEBOOK, "user": "student-alice" });
        let response = app.graphql(MY_GROUPS, alice.clone()).await;
        assert_eq!(
            response.data()["myGroups"],
            json!([{ "id": g1["id"], "name": "g1" }, { "id": g2["id"], "name": "g2" }])
        );
        let response = app.graphql(MY_TEAMMATES, alice).await;
        assert_no_raw_ids(&response.body);
        let expected = pseudonyms(&app, &["student-bob", "student-carol", "student-dave"]);
        assert_eq!(response.data()["myTeammates"], json!(expected));

        let eve = json!({ "nb": NOTEBOOK, "user": "student-eve" });
        assert_eq!(app.graphql(MY_TEAMMATES, eve).await.data()["myTeammates"], json!([]));
        let nobody = json!({ "nb": NOTEBOOK, "user": "student-nobody" });
        assert_eq!(app.graphql(MY_GROUPS, nobody.clone()).await.data()["myGroups"], json!([]));
        assert_eq!(app.graphql(MY_TEAMMATES, nobody).await.data()["myTeammates"], json!([]));
        let elsewhere = json!({ "nb": OTHER_NOTEBOOK, "user": "student-alice" });
        let response = app.graphql(MY_TEAMMATES, elsewhere).await;
        assert_eq!(response.data()["myTeammates"], json!(pseudonyms(&app, &["student-frank"])));
    }
    async fn concurrent_member_replacements_all_succeed_and_leave_one_whole_set(backend) {
        let (app, token) = ready_app(backend).await;
        let group = create(&app, &token, "team", &["student-0"]).await;
        let sets: Vec<Vec<String>> = (0..8)
            .map(|i| (i..i + 10).map(|s| format!("student-{s}")).collect())
            .collect();
        let requests = sets.iter().map(|users| {
            app.graphql_as(&token, SET_MEMBERS, json!({ "id": group["id"], "users": users }))
        });
        for response in futures::future::join_all(requests).await {
            assert_eq!(response.data()["setGroupMembers"]["memberCount"], 10);
        }
        let stored = members_in_db(&app, &group["id"]).await;
        let whole_sets: Vec<Vec<String>> = sets
            .iter()
            .map(|set| pseudonyms(&app, &set.iter().map(String::as_str).collect::<Vec<_>>()))
            .collect();
        assert!(whole_sets.contains(&stored), "a mix of replacements was stored: {stored:?}");
    }
}
