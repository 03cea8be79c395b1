//! An interrupted import resumes: stopped after a number of batches (in process), and killed
//! for real with SIGKILL (the `api import-legacy` process).

use std::{process::Stdio, time::Duration};

use tokio::process::Command;

use super::*;

#[tokio::test]
async fn an_import_stopped_between_batches_finishes_on_the_next_run_without_duplicates() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    let stopping = ImportOptions {
        batch_size: 1,
        stop_after_batches: Some(8),
        ..options(&[])
    };
    let error = import(&old, &app, &stopping).await.expect_err("stops");
    assert!(
        format!("{error:#}").contains("stopped after 8 batches"),
        "{error:#}"
    );
    // One row per batch: both notebooks, the three users, both authorizations, one group.
    assert_eq!(
        counts(&app.state.db).await,
        [2, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    );

    let finished = import(&old, &app, &options(&[])).await.expect("resume");
    let inserted: u64 = finished.tables.iter().map(|t| t.inserted).sum();
    let total: u64 = finished.tables.iter().map(|t| t.present).sum();
    assert_eq!((inserted, total), (18, 26));
    assert_eq!(
        counts(&app.state.db).await,
        [2, 3, 2, 2, 3, 4, 1, 3, 1, 1, 2, 2]
    );
    old.database.drop_database().await.ok();
}

fn import_command(app: &TestApp, old: &OldDb, data_dir: &std::path::Path, batch: &str) -> Command {
    let mut command = Command::new(tests::api_binary());
    command
        .args([
            "import-legacy",
            "--from",
            &old.database.url,
            "--batch-size",
            batch,
        ])
        .env("DATABASE_URL", app.state.config.database_url())
        .env("DATA_DIR", data_dir)
        .env("JWT_SECRET", "test-jwt-secret")
        .env("SECRET_SALT", tests::TEST_SALT)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn code_rows(db: &DatabaseConnection) -> i64 {
    let sql = "SELECT COUNT(*) AS n FROM code_executions";
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap();
    row.unwrap().try_get("", "n").unwrap()
}

#[tokio::test]
async fn a_killed_import_process_resumes_and_inserts_nothing_twice() {
    if !postgres() {
        return;
    }
    let (app, old) = setup().await;
    // 2000 more executions, so that one-row batches take a few seconds.
    old.exec(
        r#"INSERT INTO "Event" (id, notebook_id, user_id, event_type)
                SELECT 1000 + n, 'nb-legacy', $1, 'CellExecution' FROM generate_series(1, 2000) n"#,
        vec![app.pseudonym("student-1").into()],
    )
    .await;
    old.exec(r#"INSERT INTO "CellExecution" (id, cell_id, orig_cell_id, t_start, cell_input, cell_type,
                t_finish, status, cell_output_length, language_mimetype)
                SELECT 1000 + n, 'c1', 'c1', TIMESTAMP '2024-03-05 12:00:00' + n * INTERVAL '1 second',
                       'x', 'CodeExecution', TIMESTAMP '2024-03-05 12:00:01' + n * INTERVAL '1 second',
                       'ok', 1, 'text/x-python'
                FROM generate_series(1, 2000) n"#, vec![]).await;
    let data_dir = std::env::temp_dir().join(format!("legacy-import-{}", uuid::Uuid::new_v4()));
    let mut child = import_command(&app, &old, &data_dir, "1")
        .spawn()
        .expect("start api import-legacy");
    let landed = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let rows = code_rows(&app.state.db).await;
            if rows >= 100 {
                return rows;
            }
            if child.try_wait().expect("child status").is_some() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stderr)
                        .await
                        .ok();
                }
                panic!("the import exited before it was killed: {stderr}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("executions start landing");
    child.kill().await.expect("SIGKILL the import");
    // A COMMIT sent just before the kill may still be finishing on the server.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_kill = code_rows(&app.state.db).await;
    eprintln!("killed the import with {after_kill} of 2004 executions imported");
    assert!(
        landed <= after_kill && after_kill < 2004,
        "killed midway: {after_kill} of 2004"
    );

    // Larger batches this time: more rows than one INSERT statement takes.
    let output = import_command(&app, &old, &data_dir, "1500")
        .output()
        .await
        .expect("rerun");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(code_rows(&app.state.db).await, 2004);
    let line = stdout
        .lines()
        .find(|line| line.starts_with("CellExecution (code)"))
        .expect("report line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    assert_eq!(
        numbers,
        [2004, 2004, 2004 - after_kill as u64, after_kill as u64],
        "{stdout}"
    );
    std::fs::remove_dir_all(data_dir).ok();
    old.database.drop_database().await.ok();
}
