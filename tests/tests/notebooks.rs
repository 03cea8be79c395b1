//! Notebooks: the multipart upload and what it stores (nbformat 4.5 ids, both metadata keys,
//! unknown metadata untouched, the zipped file, versions), the public download, every refusal
//! with its code and nothing stored, and ingest accepting events right after an upload.

use std::{collections::HashSet, io::Read};

use api::auth::Role;
use entity::{audit_log, notebook, notebook_version};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Backend, GraphQLResponse, TestApp, backend_tests};

const LESSON_44: &str = "lesson-nbformat-4.4.ipynb";
const TAGGED: &str = "tagged-with-mapping.ipynb";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/notebooks/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

async fn superuser_app(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    let token = app.user_token("teacher", Role::Superuser).await;
    (app, token)
}

async fn upload(app: &TestApp, token: &str, file: &str, name: Option<&str>) -> GraphQLResponse {
    app.upload_notebook(Some(token), file, fixture(file), name, true)
        .await
}

async fn notebook_rows(app: &TestApp) -> u64 {
    notebook::Entity::find().count(&app.state.db).await.unwrap()
}

/// Downloads `path` and returns (status, content-disposition, the zip's entries).
async fn download(app: &TestApp, path: &str) -> (u16, String, Vec<(String, Vec<u8>)>) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap();
    if status != 200 {
        return (status, disposition, Vec::new());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).unwrap();
        entries.push((entry.name().unwrap().into_owned(), contents));
    }
    (status, disposition, entries)
}

/// (token, file name, bytes, CSRF header sent, expected HTTP status, expected code)
type RefusedUpload<'a> = (Option<&'a str>, &'a str, Vec<u8>, bool, u16, &'a str);

fn is_valid_cell_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

backend_tests! {
    async fn an_nbformat_4_4_notebook_is_upgraded_tagged_stored_and_downloadable(backend) {
        let (app, token) = superuser_app(backend).await;
        let response = upload(&app, &token, LESSON_44, None).await;
        let data = &response.data()["uploadNotebook"];
        let tagged = &data["taggedNotebook"];
        let id = data["notebook"]["id"].as_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok_and(|uuid| uuid.get_version_num() == 4), "{id}");
        assert_eq!(tagged["nbformat"], 4);
        assert_eq!(tagged["nbformat_minor"], 5);
        let cells = tagged["cells"].as_array().unwrap();
        let ids: Vec<&str> = cells.iter().map(|cell| cell["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 4);
        assert!(ids.iter().all(|id| is_valid_cell_id(id)), "{ids:?}");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 4, "ids are unique");
        let metadata = &tagged["metadata"];
        assert_eq!(metadata["unianalytics_notebook_id"], id.as_str());
        let identity: Vec<Value> = ids.iter().map(|id| json!([id, id])).collect();
        assert_eq!(metadata["unianalytics_cell_mapping"], Value::Array(identity));
        // Unknown notebook metadata, cell metadata and output kinds come back untouched.
        assert_eq!(metadata["course_tool"], json!({ "week": 3 }));
        assert_eq!(cells[1]["metadata"]["custom_tool"], json!({ "keep": true }));
        assert_eq!(cells[1]["outputs"][1], json!({ "output_type": "future_output_kind", "payload": { "x": 1 } }));
        assert_eq!(cells[1]["source"], "for i in range(2):\n    print(i)");

        let notebook = &data["notebook"];
        assert_eq!(data["version"], 1);
        assert_eq!(notebook["name"], "lesson-nbformat-4.4");
        let order: Vec<Value> = ids.iter().zip(["markdown", "code", "code", "raw"])
            .map(|(id, kind)| json!({ "cellId": id, "cellType": kind })).collect();
        assert_eq!(notebook["cellOrder"], Value::Array(order));
        assert_eq!(notebook["versions"][0]["uploadedBy"], app.pseudonym("teacher").as_str());
        let url = notebook["downloadUrl"].as_str().unwrap();
        assert_eq!(url, format!("/notebooks/{id}/download"));

        let (status, disposition, entries) = download(&app, url).await;
        assert_eq!(status, 200);
        assert!(disposition.contains(&format!("filename=\"lesson-nbformat-4.4_{id}.zip\"")), "{disposition}");
        assert_eq!(entries.len(), 1, "one entry: the notebook");
        assert_eq!(entries[0].0, "lesson-nbformat-4.4.ipynb");
        let stored: Value = serde_json::from_slice(&entries[0].1).unwrap();
        assert_eq!(&stored, tagged);

        let audit = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("upload_notebook"))
            .one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(audit.details["notebook"], id.as_str());
        assert_eq!(audit.details["cells"], 4);
        // The uploader is authorized for it.
        let listed = app.graphql_as(&token, "{ notebooks { id version } }", json!({})).await;
        assert_eq!(listed.data()["notebooks"], json!([{ "id": id, "version": 1 }]));
    }

    async fn an_existing_mapping_is_kept_for_cells_that_still_exist(backend) {
        let (app, token) = superuser_app(backend).await;
        let response = upload(&app, &token, TAGGED, Some("Exercises")).await;
        let data = &response.data()["uploadNotebook"];
        assert_eq!(data["notebook"]["id"], "nb-tagged-fixture");
        assert_eq!(data["notebook"]["name"], "Exercises");
        let tagged = &data["taggedNotebook"];
        let ids: Vec<&str> = tagged["cells"].as_array().unwrap().iter()
            .map(|cell| cell["id"].as_str().unwrap()).collect();
        // The repeated id "fresh" is kept once; the second cell gets a new valid id.
        assert_eq!(&ids[..3], ["intro", "copy-of-a", "fresh"]);
        assert!(is_valid_cell_id(ids[3]) && ids[3] != "fresh");
        assert_eq!(
            tagged["metadata"]["unianalytics_cell_mapping"],
            json!([["intro", "intro"], ["copy-of-a", "orig-a"], ["fresh", "fresh"], [ids[3], ids[3]]])
        );
        let order: Vec<&str> = data["notebook"]["cellOrder"].as_array().unwrap().iter()
            .map(|cell| cell["cellId"].as_str().unwrap()).collect();
        assert_eq!(order, ["intro", "orig-a", "fresh", ids[3]]);
    }

    async fn a_reupload_becomes_version_2_and_version_1_stays_downloadable(backend) {
        let (app, token) = superuser_app(backend).await;
        let first = upload(&app, &token, LESSON_44, Some("First")).await;
        let tagged = first.data()["uploadNotebook"]["taggedNotebook"].to_string();
        let id = first.data()["uploadNotebook"]["notebook"]["id"].as_str().unwrap().to_owned();
        // The teacher downloads the tagged file, edits it and uploads it again.
        let edited = tagged.replace("Loops in Python.", "Loops and ranges.");
        let second = app.upload_notebook(Some(&token), "lesson.ipynb", edited.into_bytes(), Some("Second"), true).await;
        let data = &second.data()["uploadNotebook"];
        assert_eq!(data["version"], 2);
        assert_eq!(data["notebook"]["id"], id.as_str());
        assert_eq!(data["notebook"]["version"], 2);
        let numbers: Vec<&Value> = data["notebook"]["versions"].as_array().unwrap().iter()
            .map(|version| &version["number"]).collect();
        assert_eq!(numbers, [&json!(1), &json!(2)]);
        assert_eq!(notebook_rows(&app).await, 1);

        let (_, _, latest) = download(&app, &format!("/notebooks/{id}/download")).await;
        assert!(String::from_utf8_lossy(&latest[0].1).contains("Loops and ranges."));
        let (status, disposition, old) = download(&app, &format!("/notebooks/{id}/download?version=1")).await;
        assert_eq!(status, 200);
        assert!(disposition.contains("Second_"), "the name is the notebook's current one: {disposition}");
        assert!(String::from_utf8_lossy(&old[0].1).contains("Loops in Python."));
        let (status, _, _) = download(&app, &format!("/notebooks/{id}/download?version=3")).await;
        assert_eq!(status, 404);
    }

    async fn a_superuser_cannot_replace_a_notebook_they_are_not_authorized_for(backend) {
        let (app, token) = superuser_app(backend).await;
        upload(&app, &token, TAGGED, None).await.data();
        let other = app.user_token("other-superuser", Role::Superuser).await;
        let response = upload(&app, &other, TAGGED, Some("Hijacked")).await;
        assert_eq!(response.error_code(), "FORBIDDEN");
        let stored = notebook::Entity::find().one(&app.state.db).await.unwrap().unwrap();
        assert_eq!((stored.version, stored.name.as_str()), (1, "tagged-with-mapping"));
        // An admin may.
        let admin = app.user_token("admin", Role::Admin).await;
        let response = upload(&app, &admin, TAGGED, None).await;
        assert_eq!(response.data()["uploadNotebook"]["version"], 2);
    }

    async fn uploads_are_refused_with_their_code_and_store_nothing(backend) {
        let app = TestApp::spawn_with(backend, |config| config.limits.upload_limit = 2048).await;
        let superuser = app.user_token("teacher", Role::Superuser).await;
        let plain = app.user_token("plain", Role::User).await;
        let cases: [RefusedUpload; 6] = [
            (Some(&plain), LESSON_44, fixture(LESSON_44), true, 200, "FORBIDDEN"),
            (None, LESSON_44, fixture(LESSON_44), true, 200, "UNAUTHENTICATED"),
            (Some(&superuser), "invalid-json.ipynb", fixture("invalid-json.ipynb"), true, 200, "BAD_USER_INPUT"),
            (Some(&superuser), "not-a-notebook.json", fixture("not-a-notebook.json"), true, 200, "BAD_USER_INPUT"),
            (Some(&superuser), "big.ipynb", vec![b' '; 4096], true, 413, "PAYLOAD_TOO_LARGE"),
            (Some(&superuser), LESSON_44, fixture(LESSON_44), false, 400, "BAD_USER_INPUT"),
        ];
        for (token, file, bytes, csrf, status, code) in cases {
            let response = app.upload_notebook(token, file, bytes, None, csrf).await;
            assert_eq!((response.status, response.error_code().as_str()), (status, code), "{file} {csrf}: {}", response.body);
        }
        assert_eq!(notebook_rows(&app).await, 0);
        assert_eq!(notebook_version::Entity::find().count(&app.state.db).await.unwrap(), 0);
        let files = std::fs::read_dir(app.state.config.storage_dir().join("versions"))
            .map(|dir| dir.count()).unwrap_or(0);
        assert_eq!(files, 0, "refused uploads leave no file behind");
    }

    async fn a_missing_notebook_or_stored_file_downloads_as_404(backend) {
        let (app, token) = superuser_app(backend).await;
        let response = upload(&app, &token, LESSON_44, None).await;
        let url = response.data()["uploadNotebook"]["notebook"]["downloadUrl"].as_str().unwrap().to_owned();
        let dir = app.state.config.storage_dir().join("versions");
        for file in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(file.unwrap().path()).unwrap();
        }
        for path in [url.as_str(), "/notebooks/no-such-notebook/download"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 404, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "NOT_FOUND");
        }
    }

    async fn events_for_an_uploaded_notebook_are_accepted_right_away(backend) {
        let (app, token) = superuser_app(backend).await;
        let response = upload(&app, &token, LESSON_44, None).await;
        let id = response.data()["uploadNotebook"]["notebook"]["id"].as_str().unwrap().to_owned();
        let event = json!({ "notebookId": id, "userId": "student-1", "cellId": "c", "origCellId": "c",
            "clickType": "ON", "time": "2026-11-24T10:00:00Z" });
        let response = app.graphql(
            "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }",
            json!({ "e": event })).await;
        assert_eq!(response.data()["recordCellFocus"]["acceptedCount"], 1);
    }

    async fn teachers_list_only_their_notebooks_and_anonymous_callers_none(backend) {
        let (app, token) = superuser_app(backend).await;
        upload(&app, &token, TAGGED, None).await.data();
        app.register_notebook("nb-someone-else").await;
        let mine = app.graphql_as(&token, "{ notebooks { id } }", json!({})).await;
        assert_eq!(mine.data()["notebooks"], json!([{ "id": "nb-tagged-fixture" }]));
        let admin = app.user_token("admin", Role::Admin).await;
        let all = app.graphql_as(&admin, "{ notebooks { id } }", json!({})).await;
        assert_eq!(all.data()["notebooks"], json!([{ "id": "nb-someone-else" }, { "id": "nb-tagged-fixture" }]));
        let anonymous = app.graphql("{ notebooks { id } }", json!({})).await;
        assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    }
}

/// `TEST_S3_ENDPOINT`: an S3-compatible server (CI starts moto) to store notebooks in.
fn s3_endpoint() -> Option<String> {
    let endpoint = std::env::var("TEST_S3_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty());
    if endpoint.is_none() {
        eprintln!("S3 storage test skipped: TEST_S3_ENDPOINT is not set");
    }
    endpoint
}

backend_tests! {
    async fn notebooks_are_stored_in_and_downloaded_from_an_s3_bucket(backend) {
        let Some(endpoint) = s3_endpoint() else { return };
        let bucket = format!("notebooks-{}", uuid::Uuid::new_v4().simple());
        // moto accepts an unsigned bucket creation; a real store would be provisioned by ops.
        let created = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.unwrap();
        assert!(created.status().is_success(), "create bucket: {}", created.status());
        let app = TestApp::spawn_with(backend, |config| {
            config.s3.bucket = Some(bucket.clone());
            config.s3.endpoint = Some(endpoint.clone());
            config.s3.prefix = "deployment-a".into();
            config.s3.region = "us-east-1".into();
            config.s3.allow_http = true;
            config.s3.access_key_id = Some(api::config::Secret::new("testing"));
            config.s3.secret_access_key = Some(api::config::Secret::new("testing"));
        }).await;
        let token = app.user_token("teacher", Role::Superuser).await;
        let response = upload(&app, &token, LESSON_44, None).await;
        let data = &response.data()["uploadNotebook"];
        let (status, _, entries) = download(&app, data["notebook"]["downloadUrl"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        let stored: Value = serde_json::from_slice(&entries[0].1).unwrap();
        assert_eq!(&stored, &data["taggedNotebook"]);
        assert!(!app.state.config.storage_dir().join("versions").exists(), "nothing on local disk");
        let listing = reqwest::Client::new().get(format!("{endpoint}/{bucket}?list-type=2")).send().await.unwrap();
        let listing = listing.text().await.unwrap();
        assert!(listing.contains("<Key>deployment-a/versions/"), "{listing}");
    }
}
