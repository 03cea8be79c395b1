//! The old `/groups/*` routes on the hand-computed class (groups A = {s1, s2}, B = {s2, s3};
//! s1 and s3 connected): the students' lookups with raw ids and no token, as the telemetry
//! extension sends them, and the teachers' changes and reads, which now need a bearer token
//! authorized for the notebook.

#[path = "dashboards/class.rs"]
#[expect(dead_code, reason = "shared fixture; these tests use part of it")]
mod class;

use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

use class::{NB, class, student_connection};

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("legacy request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    call(app, reqwest::Method::GET, path, token, None).await
}

fn raw(student: &str) -> String {
    format!("raw-student-{student}")
}

fn student_path(student: &str, route: &str) -> String {
    format!("/groups/users/{}/{route}?notebookId={NB}", raw(student))
}

backend_tests! {
    async fn students_find_their_groups_and_teammates_by_raw_id(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let (status, body) = get(app, &student_path("s2", "groups/names"), None).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!([
            { "group_name": "A", "group_pk": format!("A-{NB}"), "notebook_id": NB },
            { "group_name": "B", "group_pk": format!("B-{NB}"), "notebook_id": NB }]));
        assert_eq!(get(app, &student_path("s4", "groups/names"), None).await, (200, json!([])));
        let (_, body) = get(app, &student_path("s2", "teammates"), None).await;
        assert_eq!(body, json!(class.sorted(&["s1", "s3"])));
        // Connected now: s1 and s3; s1's only teammate, s2, is not.
        let (_, body) = get(app, &student_path("s2", "teammates/connected"), None).await;
        assert_eq!(body, json!(class.sorted(&["s1", "s3"])));
        assert_eq!(get(app, &student_path("s1", "teammates/connected"), None).await, (200, json!([])));

        let (status, body) = get(app, &format!("/groups/users/{}/teammates", raw("s1")), None).await;
        assert_eq!(status, 400);
        assert!(body["error"].is_string());
        let (status, body) = get(app, &format!("/groups/users/{}/teammates?notebookId=nope", raw("s1")), None).await;
        assert_eq!(status, 404);
        assert!(body["error"].is_string());
    }

    async fn locations_are_shared_with_connected_teammates_and_cleared(backend) {
        let class = class(backend).await;
        let app = &class.app;
        app.state.presence.join(&student_connection(app, "s2", "tab-1")).await.unwrap();
        let update = json!({ "userId": raw("s1"), "notebookId": NB, "cellId": "c2", "cellIndex": 1 });
        let reply = call(app, reqwest::Method::POST, "/groups/location/update", None, Some(update)).await;
        assert_eq!(reply, (200, json!({ "status": "success" })));
        let path = |student: &str| format!("/groups/location/teammates?userId={}&notebookId={NB}", raw(student));
        let (status, body) = get(app, &path("s2"), None).await;
        assert_eq!(status, 200);
        let list = body.as_array().unwrap();
        assert_eq!(list.len(), 1, "{body}");
        assert_eq!(list[0]["userId"], class.p("s1"));
        assert_eq!((list[0]["cellId"].clone(), list[0]["cellIndex"].clone()), (json!("c2"), json!(1)));
        assert!(chrono::DateTime::parse_from_rfc3339(list[0]["updatedAt"].as_str().unwrap()).is_ok());
        // s3 shares no group with s1.
        assert_eq!(get(app, &path("s3"), None).await, (200, json!([])));

        let clear = format!("/groups/location/clear?userId={}&notebookId={NB}", raw("s1"));
        let reply = call(app, reqwest::Method::DELETE, &clear, None, None).await;
        assert_eq!(reply, (200, json!({ "status": "success" })));
        assert_eq!(get(app, &path("s2"), None).await, (200, json!([])));

        let missing = json!({ "userId": raw("s1"), "notebookId": NB });
        let (status, body) = call(app, reqwest::Method::POST, "/groups/location/update", None, Some(missing)).await;
        assert_eq!((status, body), (400, json!({ "error": "Missing required fields" })));
        let (status, _) = get(app, "/groups/location/teammates?notebookId=x", None).await;
        assert_eq!(status, 400);
    }

    async fn teachers_change_groups_with_a_token_authorized_for_the_notebook(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let body = json!({ "group_name": "C", "notebook_id": NB, "user_ids": [raw("s1"), raw("s4")] });
        let send = |method: reqwest::Method, path: &'static str, token: Option<String>, body: Value| {
            async move { call(app, method, path, token.as_deref(), Some(body)).await }
        };
        let teacher = Some(class.token.clone());
        let (status, reply) = send(reqwest::Method::POST, "/groups/add", None, body.clone()).await;
        assert_eq!(status, 401);
        assert!(reply["msg"].is_string());
        let reply = send(reqwest::Method::POST, "/groups/add", Some(class.other_token.clone()), body.clone()).await;
        assert_eq!(reply, (403, json!({ "status": "no_user_permission" })));
        let reply = send(reqwest::Method::POST, "/groups/add", teacher.clone(), body.clone()).await;
        assert_eq!(reply, (200, json!("Group C added")));
        let (status, reply) = send(reqwest::Method::POST, "/groups/add", teacher.clone(), body).await;
        assert_eq!(status, 409, "{reply}");
        assert!(reply["error"].is_string());

        let members = |query: &str| {
            let path = format!("/groups/getusers?notebookId={NB}&selectedGroups=%5B%22C%22%5D{query}");
            let token = class.token.clone();
            async move { get(app, &path, Some(&token)).await.1 }
        };
        assert_eq!(members("").await, json!(class.sorted(&["s1", "s4"])));
        let replaced = json!({ "group_name": "C", "notebook_id": NB, "user_ids": [raw("s3")] });
        let reply = send(reqwest::Method::PUT, "/groups/update", teacher.clone(), replaced).await;
        assert_eq!(reply, (200, json!("Group C updated")));
        assert_eq!(members("").await, json!([class.p("s3")]));

        let (_, groups) = get(app, &format!("/groups/notebook/{NB}/getgroups"), Some(&class.token)).await;
        assert_eq!(groups, json!([
            { "group_name": "A", "group_pk": format!("A-{NB}"), "user_count": 2 },
            { "group_name": "B", "group_pk": format!("B-{NB}"), "user_count": 2 },
            { "group_name": "C", "group_pk": format!("C-{NB}"), "user_count": 1 }]));
        let (status, _) = get(app, &format!("/groups/notebook/{NB}/getgroups"), Some(&class.other_token)).await;
        assert_eq!(status, 403);

        let target = json!({ "group_name": "C", "notebook_id": NB });
        let reply = send(reqwest::Method::DELETE, "/groups/delete", teacher.clone(), target.clone()).await;
        assert_eq!(reply, (200, json!("Group C deleted")));
        let reply = send(reqwest::Method::DELETE, "/groups/delete", teacher.clone(), target).await;
        assert_eq!(reply, (404, json!({ "error": "Group not found" })));
        let missing = json!({ "group_name": "Z", "notebook_id": NB, "user_ids": [] });
        let reply = send(reqwest::Method::PUT, "/groups/update", teacher, missing).await;
        assert_eq!(reply, (404, json!({ "error": "Group not found" })));

        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let audit = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.is_in(["create_group", "set_group_members", "delete_group"]))
            .all(&app.state.db).await.unwrap();
        // The fixture's two groups plus C's creation, update and deletion.
        assert_eq!(audit.len(), 5);
    }
}
