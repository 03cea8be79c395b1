//! Every field of every kind of imported row.

use api::storage::NotebookStorage;

use super::*;

#[path = "event_fields.rs"]
mod event_fields;

fn pseudonym_of(app: &TestApp, raw: &str) -> String {
    app.pseudonym(raw)
}

pub(super) async fn all<E: EntityTrait>(
    db: &DatabaseConnection,
    order: E::Column,
) -> Vec<E::Model> {
    E::find().order_by_asc(order).all(db).await.expect("rows")
}

#[tokio::test]
async fn every_field_of_every_kind_arrives_as_it_was() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    let dir = std::env::temp_dir().join(format!("legacy-notebooks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ipynb = json!({ "nbformat": 4, "nbformat_minor": 4, "metadata": {},
        "cells": [{ "cell_type": "code", "id": "c1", "metadata": {}, "source": "print(6 * 7)",
                    "outputs": [], "execution_count": null }] });
    std::fs::write(dir.join(format!("{NOTEBOOK}.ipynb")), ipynb.to_string()).unwrap();
    let with_files = ImportOptions {
        notebook_files: Some(NotebookStorage::local(&dir).unwrap()),
        ..options(&[])
    };
    let report = import(&old, &app, &with_files).await.expect("import");
    assert_eq!(report.files_uploaded, 1);
    let db = &app.state.db;
    let p = |raw: &str| pseudonym_of(&app, raw);

    let notebooks = all::<notebook::Entity>(db, notebook::Column::PublicId).await;
    let registered = utc("2024-02-01 08:30:00");
    assert_eq!(
        notebooks
            .iter()
            .map(|n| (
                n.public_id.as_str(),
                n.name.as_str(),
                n.version,
                n.uploaded_at,
                n.uploaded_by,
                n.storage_key.is_some()
            ))
            .collect::<Vec<_>>(),
        [
            (NOTEBOOK, "Week 1: loops", 1, registered, None, true),
            (OTHER, "Other", 1, registered, None, false)
        ]
    );
    let (legacy_id, other_id) = (notebooks[0].id, notebooks[1].id);
    let stored = app
        .client
        .get(app.url(&format!("/notebooks/{NOTEBOOK}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 200, "the uploaded file downloads");

    let users = all::<dashboard_user::Entity>(db, dashboard_user::Column::Id).await;
    assert_eq!(
        users
            .iter()
            .map(|u| (u.username_hash.clone(), u.password_hash.as_str(), u.role))
            .collect::<Vec<_>>(),
        [
            (p("teacher"), WERKZEUG_HASH, Role::User),
            (p("head"), WERKZEUG_HASH, Role::Superuser),
            (p("root"), WERKZEUG_HASH, Role::Admin)
        ]
    );
    let token = app.login("teacher", OLD_PASSWORD).await;
    assert!(!token.is_empty(), "the Werkzeug hash still logs in");

    let grants =
        all::<notebook_authorization::Entity>(db, notebook_authorization::Column::UserId).await;
    assert_eq!(
        grants
            .iter()
            .map(|g| (g.user_id, g.notebook_id))
            .collect::<Vec<_>>(),
        [(users[0].id, legacy_id), (users[1].id, other_id)]
    );
    let groups = all::<student_group::Entity>(db, student_group::Column::Name).await;
    assert_eq!(
        groups
            .iter()
            .map(|g| (g.notebook_id, g.name.as_str()))
            .collect::<Vec<_>>(),
        [(legacy_id, "team-a"), (other_id, "team-z")]
    );
    let mut members: Vec<(i64, String)> =
        all::<group_member::Entity>(db, group_member::Column::UserId)
            .await
            .into_iter()
            .map(|m| (m.group_id, m.user_id))
            .collect();
    members.sort();
    let mut expected = vec![
        (groups[0].id, p("student-1")),
        (groups[0].id, p("student-2")),
        (groups[1].id, p("student-9")),
    ];
    expected.sort();
    assert_eq!(members, expected);

    event_fields::check_executions(&app, legacy_id, other_id).await;
    event_fields::check_clicks_and_the_rest(&app, legacy_id).await;
    std::fs::remove_dir_all(dir).ok();
    old.database.drop_database().await.ok();
}

#[tokio::test]
async fn a_notebook_selection_imports_only_that_notebooks_rows() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    let report = import(&old, &app, &options(&[OTHER]))
        .await
        .expect("import");
    let got: Vec<(&str, u64, u64)> = report
        .tables
        .iter()
        .map(|t| (t.table, t.in_old, t.inserted))
        .collect();
    assert_eq!(
        got,
        [
            ("Notebook", 1, 1),
            ("AuthUsers", 1, 1),
            ("AuthAssociation", 1, 1),
            ("UserGroups", 1, 1),
            ("UserGroupAssociation", 1, 1),
            ("CellExecution (code)", 1, 1),
            ("CellExecution (markdown)", 0, 0),
            ("CellClickEvent", 0, 0),
            ("NotebookClickEvent", 0, 0),
            ("CellAlteration", 0, 0),
            ("PendingUpdateInteraction", 0, 0),
            ("DashboardEvent", 0, 0)
        ]
    );
    let notebooks = all::<notebook::Entity>(&app.state.db, notebook::Column::PublicId).await;
    assert_eq!(
        notebooks
            .iter()
            .map(|n| n.public_id.as_str())
            .collect::<Vec<_>>(),
        [OTHER]
    );
    old.database.drop_database().await.ok();
}
