//! The old notebooks' files read from an S3 bucket (as the old backend stored them, under
//! their `s3_object_key`): uploaded once, tagged with their old id, and not read again by a
//! re-run; a broken file is a warning and its notebook is registered without it. Needs
//! `TEST_S3_ENDPOINT` (CI starts moto) besides PostgreSQL.

use std::io::Read;

use api::{config::S3Config, storage::NotebookStorage};

use super::*;

/// moto's settings, or `None` (with a message) when no S3 stand-in is configured.
fn s3_settings() -> Option<S3Config> {
    let Some(endpoint) = std::env::var("TEST_S3_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!("import_legacy bucket test skipped: TEST_S3_ENDPOINT is not set");
        return None;
    };
    Some(S3Config {
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        allow_http: true,
        access_key_id: Some(api::config::Secret::new("testing")),
        secret_access_key: Some(api::config::Secret::new("testing")),
        ..S3Config::default()
    })
}

/// The notebook inside the zip that `/notebooks/{id}/download` serves.
async fn downloaded_notebook(app: &TestApp, public_id: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/notebooks/{public_id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut contents = String::new();
    archive
        .by_index(0)
        .unwrap()
        .read_to_string(&mut contents)
        .unwrap();
    serde_json::from_str(&contents).unwrap()
}

#[tokio::test]
async fn notebook_files_come_from_the_old_bucket_under_their_object_keys() {
    if !postgres() {
        return;
    }
    let Some(s3) = s3_settings() else { return };
    let endpoint = s3.endpoint.clone().unwrap();
    let bucket = format!("old-backend-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "create bucket: {}",
        created.status()
    );
    let location = format!("s3://{bucket}/semester-1/");
    let old_files = NotebookStorage::open(&location, &s3).unwrap();
    let ipynb = json!({ "nbformat": 4, "nbformat_minor": 5, "metadata": { "kernelspec": { "name": "python3" } },
        "cells": [{ "cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Loops" }] });
    // The fixtures' `s3_object_key`s: the legacy notebook's file, and the other's, broken.
    old_files
        .put(
            &format!("notebooks/{NOTEBOOK}.ipynb"),
            ipynb.to_string().into_bytes(),
        )
        .await
        .unwrap();
    old_files
        .put(&format!("notebooks/{OTHER}.ipynb"), b"{ truncated".to_vec())
        .await
        .unwrap();

    let (app, old) = setup().await;
    let from_bucket = ImportOptions {
        notebook_files: Some(old_files),
        ..options(&[])
    };
    let report = import(&old, &app, &from_bucket).await.expect("import");
    assert_eq!(report.files_uploaded, 1);
    let broken = "notebook files that are not valid notebooks (registered without a file)";
    assert_eq!(
        report.warnings.get(broken),
        Some(&1),
        "{:?}",
        report.warnings
    );
    let stored = notebook::Entity::find().all(&app.state.db).await.unwrap();
    let with_file: Vec<&str> = stored
        .iter()
        .filter(|n| n.storage_key.is_some())
        .map(|n| n.public_id.as_str())
        .collect();
    assert_eq!(with_file, [NOTEBOOK]);
    let served = downloaded_notebook(&app, NOTEBOOK).await;
    assert_eq!(served["metadata"]["unianalytics_notebook_id"], NOTEBOOK);
    assert_eq!(served["metadata"]["kernelspec"]["name"], "python3");
    assert_eq!(served["cells"][0]["source"], "# Loops");

    let again = import(&old, &app, &from_bucket)
        .await
        .expect("second import");
    assert_eq!(
        again.files_uploaded, 0,
        "a file already stored is not uploaded again"
    );
    let missing = NotebookStorage::open("s3:///no-bucket", &s3);
    assert!(missing.is_err(), "a location without a bucket is refused");
    old.database.drop_database().await.ok();
}
