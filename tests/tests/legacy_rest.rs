//! The old REST routes the deployed extensions call (`/jwt/*`, `/dashboard/{id}/*`,
//! `/dashboard_interaction/add`, `/notebook/*`), on the hand-computed class of the dashboards
//! tests: the old shapes (the field names and types the extensions read), our guards in the
//! old error shapes, and the corrected numbers.

#[path = "dashboards/class.rs"]
#[expect(dead_code, reason = "shared fixture; these tests use part of it")]
mod class;

use api::auth::{Role, TokenType};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

use class::{Class, NB, class};

/// A legacy call's status, JSON body and headers.
struct Reply {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("legacy request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        body,
        headers,
    }
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    call(app, reqwest::Method::GET, path, token, None).await
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Reply {
    call(app, reqwest::Method::POST, path, token, Some(body)).await
}

/// A dashboard route of the class notebook with the dashboard's query string.
fn dash(route: &str, query: &str) -> String {
    format!("/dashboard/{NB}/{route}?{query}")
}

const HISTORY: &str = "displayRealTime=false";
const WINDOW: &str = "displayRealTime=true&t1=2024-03-05T10:00:00.000Z&t2=2024-03-05T10:30:00.000Z";

fn selected(names: &[&str]) -> String {
    let json = serde_json::to_string(names).unwrap();
    let encoded: String = json
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("displayRealTime=false&selectedGroups={encoded}")
}

fn counts(cell: &str, executions: i64, ok: i64, clicks: i64) -> Value {
    json!({ "cell": cell, "cell_click_pct": clicks, "code_exec_pct": executions,
            "code_exec_ok_pct": ok })
}

async fn teacher_id(class: &Class) -> i64 {
    let hash = class.app.pseudonym("teacher");
    api::services::users::get_by_username_hash(&class.app.state.db, &hash)
        .await
        .unwrap()
        .id
}

backend_tests! {
    async fn login_refresh_and_check_answer_the_old_shapes(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let login = post(app, "/jwt/login", None,
            json!({ "username": "teacher", "password": "password-of-test-user" })).await;
        assert_eq!(login.status, 200, "{}", login.body);
        assert_eq!(login.body["auth_notebooks"], json!([NB]));
        let access = login.body["access_token"].as_str().unwrap().to_owned();
        let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

        let check = get(app, "/jwt/check", Some(&access)).await;
        assert_eq!((check.status, check.body), (200, json!({ "auth_notebooks": [NB] })));
        let refreshed = post(app, "/jwt/refresh", Some(&refresh), Value::Null).await;
        assert_eq!(refreshed.status, 200);
        let new_access = refreshed.body["access_token"].as_str().unwrap();
        assert_eq!(get(app, "/jwt/check", Some(new_access)).await.status, 200);
        // Each kind of token only where it belongs (422, as Flask-JWT-Extended).
        assert_eq!(post(app, "/jwt/refresh", Some(&access), Value::Null).await.status, 422);
        assert_eq!(get(app, "/jwt/check", Some(&refresh)).await.status, 422);

        let wrong = post(app, "/jwt/login", None,
            json!({ "username": "teacher", "password": "nope" })).await;
        assert_eq!((wrong.status, wrong.body), (401, json!({ "error": "Invalid username or password" })));
        let missing = post(app, "/jwt/login", None, json!({ "password": "x" })).await;
        assert_eq!((missing.status, missing.body), (400, json!({ "error": "Username is missing" })));
        let missing = post(app, "/jwt/login", None, json!({ "username": "teacher" })).await;
        assert_eq!((missing.status, missing.body), (400, json!({ "error": "Password is missing" })));
        let garbage = call(app, reqwest::Method::POST, "/jwt/login", None, None).await;
        assert_eq!(garbage.status, 400);
        assert!(garbage.body["error"].is_string());
    }

    async fn token_failures_are_the_old_401_and_422_bodies(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let past = chrono::Utc::now() - chrono::Duration::minutes(10);
        let id = teacher_id(&class).await;
        let expired = app.state.accounts.jwt.issue_expiring_at(id, TokenType::Access, past).unwrap().token;
        let expired_refresh = app.state.accounts.jwt.issue_expiring_at(id, TokenType::Refresh, past).unwrap().token;
        for path in ["/jwt/check".to_owned(), dash("check", ""), dash("user_code_execution", HISTORY)] {
            let reply = get(app, &path, Some(&expired)).await;
            assert_eq!((reply.status, reply.body), (401, json!({ "status": "expired_token" })), "{path}");
            let reply = get(app, &path, None).await;
            assert_eq!(reply.status, 401, "{path}");
            assert!(reply.body["msg"].is_string(), "{path}: {}", reply.body);
            assert!(reply.body.get("status").is_none(), "{path}");
            for token in ["null", "not.a.token"] {
                let reply = get(app, &path, Some(token)).await;
                assert_eq!(reply.status, 422, "{path} {token}");
                assert!(reply.body["msg"].is_string(), "{path}");
            }
        }
        let reply = post(app, "/jwt/refresh", Some(&expired_refresh), Value::Null).await;
        assert_eq!((reply.status, reply.body), (401, json!({ "status": "expired_token" })));
        let reply = post(app, "/jwt/refresh", None, Value::Null).await;
        assert_eq!(reply.status, 401);
        assert!(reply.body["msg"].is_string());
    }

    async fn signup_follows_signup_enabled_and_serves_its_form(backend) {
        let app = TestApp::spawn(backend).await;
        let body = json!({ "username": "newbie", "password": "long-enough-password" });
        let refused = post(&app, "/jwt/signup", None, body.clone()).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body["error"].is_string());
        let page = get(&app, "/jwt/signup", None).await;
        assert_eq!(page.status, 200);
        assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(page.body.as_str().unwrap().contains("fetch(\"/jwt/signup\""));

        let app = TestApp::spawn_with(backend, |config| config.signup_enabled = true).await;
        let created = post(&app, "/jwt/signup", None, body.clone()).await;
        assert_eq!((created.status, created.body),
            (201, json!({ "message": "User newbie created successfully" })));
        let again = post(&app, "/jwt/signup", None, body).await;
        assert_eq!((again.status, again.body), (400, json!({ "error": "User already exists" })));
        let login = post(&app, "/jwt/login", None,
            json!({ "username": "newbie", "password": "long-enough-password" })).await;
        assert_eq!(login.body["auth_notebooks"], json!([]));
    }

    async fn the_dashboard_check_is_success_then_no_user_permission_then_not_found(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let reply = get(app, &dash("check", ""), Some(&class.token)).await;
        assert_eq!((reply.status, reply.body), (200, json!({ "status": "success" })));
        let reply = get(app, &dash("check", ""), Some(&class.other_token)).await;
        assert_eq!((reply.status, reply.body), (403, json!({ "status": "no_user_permission" })));
        // Unknown notebooks: forbidden to teachers (no probing), not found for admins.
        let reply = get(app, "/dashboard/nope/check", Some(&class.token)).await;
        assert_eq!(reply.body, json!({ "status": "no_user_permission" }));
        let admin = app.user_token("admin", Role::Admin).await;
        let reply = get(app, "/dashboard/nope/check", Some(&admin)).await;
        assert_eq!((reply.status, reply.body), (404, json!({ "status": "not_found" })));
        assert_eq!(get(app, &dash("check", ""), Some(&admin)).await.status, 200);
        for route in ["user_code_execution", "user_cell_time", "user_cell_duration_time", "toc",
                      "connectedstudents", "getgroups", "pending_updates_stats", "cell/c1",
                      "download_csv"] {
            let reply = get(app, &dash(route, HISTORY), Some(&class.other_token)).await;
            assert_eq!((reply.status, reply.body), (403, json!({ "status": "no_user_permission" })),
                "{route}");
        }
    }

    async fn code_execution_counts_keep_never_focused_cells_under_every_filter(backend) {
        let class = class(backend).await;
        let ask = |query: String| {
            let app = &class.app;
            let token = class.token.clone();
            async move {
                get(app, &dash("user_code_execution", &query), Some(&token)).await.body
            }
        };
        // (cell, executions, ok, focus events ON+OFF): c5 executed but never focused stays.
        assert_eq!(ask(HISTORY.into()).await, json!([counts("c1", 4, 3, 8), counts("c2", 4, 3, 7),
            counts("c3", 1, 1, 3), counts("c4", 1, 1, 2), counts("c5", 1, 1, 0),
            counts("m1", 0, 0, 2), counts("x9", 1, 1, 0)]));
        // t2 set: real time ignored; s4 falls out of the window.
        assert_eq!(ask(WINDOW.into()).await, json!([counts("c1", 3, 2, 6), counts("c2", 3, 2, 6),
            counts("c3", 1, 1, 3), counts("c4", 1, 1, 2), counts("c5", 1, 1, 0),
            counts("m1", 0, 0, 2), counts("x9", 1, 1, 0)]));
        assert_eq!(ask(selected(&["A"])).await, json!([counts("c1", 2, 2, 6), counts("c2", 3, 2, 6),
            counts("c3", 1, 1, 1), counts("c5", 1, 1, 0)]));
        // Real time (the default): s1 and s3 are connected.
        assert_eq!(ask("displayRealTime=true".into()).await, json!([counts("c1", 2, 1, 2),
            counts("c2", 2, 1, 4), counts("c3", 1, 1, 3), counts("c4", 1, 1, 2),
            counts("m1", 0, 0, 2), counts("x9", 1, 1, 0)]));
        // A group name the notebook does not have matches nobody, as on the old server.
        assert_eq!(ask(selected(&["nope"])).await, json!([]));
        let bad = get(&class.app, &dash("user_code_execution", "t1=yesterday"), Some(&class.token)).await;
        assert_eq!(bad.status, 400);
        assert!(bad.body["error"].is_string());
    }

    async fn time_per_cell_is_the_corrected_average_in_the_old_shapes(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let duration = |cell: &str, average: f64, users: i64|
            json!({ "average_duration": average, "cell": cell, "user_count": users });
        let reply = get(app, &dash("user_cell_duration_time", HISTORY), Some(&class.token)).await;
        assert_eq!(reply.body, json!({ "durations": [duration("c1", 70.0, 3), duration("c2", 45.0, 1),
            duration("c3", 40.0, 1), duration("c4", 5000.0, 1), duration("m1", 20.0, 1)],
            "total_user_count": 4 }));
        let reply = get(app, &dash("user_cell_duration_time", &selected(&["A"])), Some(&class.token)).await;
        assert_eq!(reply.body, json!({ "durations": [duration("c1", 60.0, 2), duration("c2", 45.0, 1)],
            "total_user_count": 2 }));
        let reply = get(app, &dash("user_cell_time", HISTORY), Some(&class.token)).await;
        assert_eq!(reply.body, json!([
            { "cell": "c1", "durations": [90.0, 60.0, 30.0, 90.0] },
            { "cell": "c2", "durations": [60.0, 30.0] }, { "cell": "c3", "durations": [40.0] },
            { "cell": "c4", "durations": [5000.0] }, { "cell": "m1", "durations": [20.0] }]));
    }

    async fn toc_connected_students_and_group_names_answer_the_old_shapes(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let reply = get(app, &dash("toc", HISTORY), Some(&class.token)).await;
        assert_eq!(reply.body, json!({ "status": "success",
            "data": { "location_count": { "c1": 1, "c2": 1, "c3": 1, "c4": 1 } } }));
        let reply = get(app, &dash("toc", "displayRealTime=true"), Some(&class.token)).await;
        assert_eq!(reply.body["data"]["location_count"], json!({ "c3": 1, "c4": 1 }));
        let reply = get(app, &dash("connectedstudents", ""), Some(&class.token)).await;
        assert_eq!(reply.body, json!(class.sorted(&["s1", "s3"])));
        let reply = get(app, &dash("connectedstudents", &selected(&["B"])), Some(&class.token)).await;
        assert_eq!(reply.body, json!([class.p("s3")]));
        let reply = get(app, &dash("getgroups", ""), Some(&class.token)).await;
        assert_eq!(reply.body, json!(["A", "B"]));
    }

    async fn cell_attempts_are_the_latest_per_student_with_stable_ids_and_array_outputs(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let reply = get(app, &dash("cell/c2", HISTORY), Some(&class.token)).await;
        let list = reply.body.as_array().unwrap().clone();
        let users: Vec<&Value> = list.iter().map(|a| &a["user_id"]).collect();
        assert_eq!(users, [&json!(class.p("s2")), &json!(class.p("s1")), &json!(class.p("s4"))]);
        assert_eq!(list[1]["cell_input"], "b = 1", "s1's latest is E3 (tie on tFinish)");
        assert_eq!(list[1]["t_finish"], "2024-03-05T10:02:50.000000Z");
        assert_eq!(list[1]["cell_type"], "CodeExecution");
        assert_eq!(list[1]["status"], "ok");
        assert_eq!(list[1]["language_mimetype"], "text/x-python");
        assert_eq!(list[1]["cell_output_length"], 3);
        assert_eq!(list[1]["cell_output_model"],
            json!([{"output_type": "stream", "name": "stdout", "text": "b = 1"}]));
        let ids: Vec<i64> = list.iter().map(|a| a["exec_id"].as_i64().unwrap()).collect();
        // Pages of one (the dashboard's limit/offset) give the same ids, each once.
        let mut paged = Vec::new();
        for offset in 0..4 {
            let reply = get(app, &dash("cell/c2", &format!("{HISTORY}&limit=1&offset={offset}")),
                Some(&class.token)).await;
            paged.extend(reply.body.as_array().unwrap().iter().map(|a| a["exec_id"].as_i64().unwrap()));
        }
        assert_eq!(paged, ids);
        let reply = get(app, &dash("cell/c2", &format!("{HISTORY}&sortBy=outputAsc")), Some(&class.token)).await;
        let users: Vec<Value> = reply.body.as_array().unwrap().iter().map(|a| a["user_id"].clone()).collect();
        assert_eq!(users, [json!(class.p("s1")), json!(class.p("s4")), json!(class.p("s2"))]);
        let reply = get(app, &dash("cell/c2", WINDOW), Some(&class.token)).await;
        assert_eq!(reply.body.as_array().unwrap().len(), 2, "s4 is before the window");
        let bad = get(app, &dash("cell/c2", "limit=-1"), Some(&class.token)).await;
        assert_eq!(bad.status, 400);

        // A markdown cell lists its renders: M1 s2 m1 10:06.
        let reply = get(app, &dash("cell/m1", HISTORY), Some(&class.token)).await;
        let list = reply.body.as_array().unwrap();
        assert_eq!(list.len(), 1, "{}", reply.body);
        assert!(list[0]["exec_id"].is_i64());
        assert_eq!(list[0]["user_id"], class.p("s2"));
        assert_eq!(list[0]["cell_type"], "MarkdownExecution");
        assert_eq!(list[0]["cell_input"], "# End");
        assert_eq!(list[0]["t_finish"], "2024-03-05T10:06:00.000000Z");
        let reply = get(app, &dash("cell/m1", "displayRealTime=true"), Some(&class.token)).await;
        assert_eq!(reply.body, json!([]), "s2 is not connected");
    }

    async fn execution_progress_gives_six_lists_with_naive_utc_timestamps(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let body = json!({ "time_start": "2024-03-05T10:00:00.000Z", "time_end": "2024-03-05T10:06:00.000Z",
            "cell_order": ["c1", "c2", "c3", "c4", "c5", "m1"], "selected_groups": [] });
        let reply = post(app, &dash("cell_execution_progress", ""), Some(&class.token), body.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["timestamps"], json!(["2024-03-05T10:00:00", "2024-03-05T10:01:00",
            "2024-03-05T10:02:00", "2024-03-05T10:03:00", "2024-03-05T10:04:00",
            "2024-03-05T10:05:00", "2024-03-05T10:06:00"]));
        assert_eq!(reply.body["median"], json!([1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]));
        assert_eq!(reply.body["q1"], json!([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]));
        assert_eq!(reply.body["q3"], json!([1.0, 1.0, 2.0, 2.0, 5.0, 5.0, 5.0]));
        assert_eq!(reply.body["n_users"], json!([1, 2, 3, 3, 3, 3, 3]));
        let means = reply.body["mean"].as_array().unwrap();
        assert!((means[4].as_f64().unwrap() - 8.0 / 3.0).abs() < 1e-9);
        // Groups by name: A = {s1, s2}.
        let mut grouped = body.clone();
        grouped["selected_groups"] = json!(["A"]);
        let reply = post(app, &dash("cell_execution_progress", ""), Some(&class.token), grouped).await;
        assert_eq!(reply.body["q1"], json!([1.0, 1.0, 0.75, 2.0, 1.25, 2.5, 2.5]));
        // A window not yet begun (the dashboard's default 10:00 before 10:00): empty lists.
        let future = json!({ "time_start": "2999-01-01T10:00:00.000Z",
            "time_end": "2999-01-01T12:00:00.000Z", "cell_order": [], "selected_groups": [] });
        let reply = post(app, &dash("cell_execution_progress", ""), Some(&class.token), future).await;
        assert_eq!((reply.status, reply.body), (200, json!({ "timestamps": [], "mean": [],
            "median": [], "q1": [], "q3": [], "n_users": [] })));
        let reply = post(app, &dash("cell_execution_progress", ""), Some(&class.token), json!({})).await;
        assert_eq!(reply.status, 400);
    }

    async fn pending_update_stats_date_updates_by_their_push_with_lowercase_actions(backend) {
        let class = class(backend).await;
        let reply = get(&class.app, &dash("pending_updates_stats", HISTORY), Some(&class.token)).await;
        let list = reply.body.as_array().unwrap();
        // Latest push first: c4 u3 10:25, c2 u2 10:14 (pushed before its first answer), c1 u0.
        let ids: Vec<&str> = list.iter().map(|u| u["update_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["u3", "u2", "u0"]);
        let c2 = &list[1];
        assert_eq!(c2["cell_id"], "c2");
        assert_eq!(c2["timestamp"], "2024-03-05T10:14:00");
        assert_eq!((c2["update_now"].clone(), c2["update_later"].clone()), (json!(1), json!(2)));
        let mut actions: Vec<(String, String, String)> = c2["detailed_actions"].as_array().unwrap()
            .iter().map(|a| (a["user_id"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(), a["timestamp"].as_str().unwrap().to_owned()))
            .collect();
        actions.sort();
        let mut expected = vec![
            (class.p("s1"), "apply_single".to_owned(), "2024-03-05T10:18:00".to_owned()),
            (class.p("s2"), "update_all".to_owned(), "2024-03-05T10:19:00".to_owned()),
            (class.p("s2"), "update_later".to_owned(), "2024-03-05T10:19:30".to_owned()),
        ];
        expected.sort();
        assert_eq!(actions, expected);
    }

    async fn download_csv_streams_the_events_with_an_unquoted_exposed_file_name(backend) {
        let class = class(backend).await;
        let response = class.app.client
            .get(class.app.url(&dash("download_csv",
                "t1=2024-03-05T10:00:00.000Z&t2=2024-03-05T10:30:00.000Z")))
            .bearer_auth(&class.token)
            .header("Origin", "https://hub.example")
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-disposition"], format!("attachment; filename=log_{NB}.csv"));
        assert_eq!(headers["access-control-allow-origin"], "*");
        let exposed = headers["access-control-expose-headers"].to_str().unwrap().to_lowercase();
        assert!(exposed.contains("content-disposition"), "{exposed}");
        let text = response.text().await.unwrap();
        // 40 events in (10:00, 10:30] plus the header line.
        assert_eq!(text.lines().count(), 41, "{text}");
    }

    async fn preflights_pass_without_a_token_from_any_origin(backend) {
        let app = TestApp::spawn(backend).await;
        for (path, method) in [("/jwt/login", "POST"), ("/dashboard/nb/user_code_execution", "GET"),
                               ("/groups/add", "POST"), ("/groups/update", "PUT"),
                               ("/groups/delete", "DELETE"), ("/notebook/upload", "POST")] {
            let response = app.client.request(reqwest::Method::OPTIONS, app.url(path))
                .header("Origin", "https://hub.some-university.example")
                .header("Access-Control-Request-Method", method)
                .header("Access-Control-Request-Headers", "authorization,content-type")
                .send().await.unwrap();
            assert!(response.status().is_success(), "{path}: {}", response.status());
            let headers = response.headers();
            assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
            let allowed = headers["access-control-allow-headers"].to_str().unwrap().to_lowercase();
            assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{path}");
            assert!(headers.get("access-control-allow-credentials").is_none(), "{path}");
        }
    }

    async fn dashboard_interactions_are_stored_with_the_users_pseudonym(backend) {
        let class = class(backend).await;
        let app = &class.app;
        let body = json!({ "click_type": "ON", "signal_origin": "TOC_TOOLBAR_CODE",
            "time": "2024-03-05T10:00:00.123Z", "notebook_id": NB });
        let reply = post(app, "/dashboard_interaction/add", Some(&class.token), body.clone()).await;
        assert_eq!((reply.status, reply.body), (200, json!("Dashboard Interaction OK")));
        use sea_orm::EntityTrait;
        let rows = entity::dashboard_interaction::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].user_id, app.pseudonym("teacher"));
        assert_eq!(post(app, "/dashboard_interaction/add", None, body.clone()).await.status, 401);
        let path = "/dashboard_interaction/download_csv?t1=2024-03-05T09:00:00.000Z&t2=2024-03-05T11:00:00.000Z";
        let csv = get(app, path, Some(&class.token)).await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.headers["content-disposition"], "attachment; filename=dashboard_interactions.csv");
        assert_eq!(csv.body.as_str().unwrap().lines().count(), 2, "{}", csv.body);
        assert_eq!(get(app, path, None).await.status, 401);
        assert_eq!(get(app, path, Some(&class.other_token)).await.status, 403);
        let mut long = body;
        long["signal_origin"] = json!("x".repeat(91));
        assert_eq!(post(app, "/dashboard_interaction/add", Some(&class.token), long).await.status, 400);
    }

    async fn upload_returns_the_tagged_notebook_and_download_keeps_the_old_path(backend) {
        let app = TestApp::spawn(backend).await;
        let superuser = app.user_token("teacher", Role::Superuser).await;
        let plain = app.user_token("user", Role::User).await;
        let notebook = json!({ "nbformat": 4, "nbformat_minor": 4, "metadata": {},
            "cells": [{ "cell_type": "code", "source": "1", "metadata": {}, "outputs": [],
                        "execution_count": null }] });
        let send = |token: &str| {
            let form = reqwest::multipart::Form::new()
                .text("notebook_content", notebook.to_string())
                .text("name", "lesson.ipynb");
            app.client.post(app.url("/notebook/upload")).bearer_auth(token).multipart(form).send()
        };
        let response = send(&superuser).await.unwrap();
        assert_eq!(response.status(), 200);
        let tagged: Value = response.json().await.unwrap();
        assert_eq!(tagged["nbformat_minor"], 5);
        let id = tagged["metadata"]["unianalytics_notebook_id"].as_str().unwrap().to_owned();
        let cell = tagged["cells"][0]["id"].as_str().unwrap();
        assert_eq!(tagged["metadata"]["unianalytics_cell_mapping"], json!([[cell, cell]]));
        let refused = send(&plain).await.unwrap();
        assert_eq!(refused.status(), 403);
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"].is_string());
        let garbage = app.client.post(app.url("/notebook/upload")).bearer_auth(&superuser)
            .body("not multipart").send().await.unwrap();
        assert_eq!(garbage.status(), 400);

        let download = app.client.get(app.url(&format!("/notebook/download/{id}"))).send().await.unwrap();
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers()["content-type"], "application/zip");
        let missing = get(&app, "/notebook/download/nope", None).await;
        assert_eq!(missing.status, 404);
    }
}
