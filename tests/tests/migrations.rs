//! Migrations that change data: run on a database holding rows of the previous schema, they
//! must keep every row and turn it into what the new schema means. Each test also migrates back
//! down and up again.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tests::{Backend, TempDatabase};

/// Migrations before "event keys" (number 8).
const BEFORE_EVENT_KEYS: u32 = 7;
/// Migrations before the progress rollups' covering key (number 20).
const BEFORE_COVERING_PROGRESS_KEY: u32 = 19;
/// Migrations before the index of kept durations by student (number 21).
const BEFORE_KEPT_BY_STUDENT: u32 = 20;

/// How many migrations `Migrator::down` undoes to leave the first `before` applied.
fn steps_back_to(before: u32) -> u32 {
    u32::try_from(Migrator::migrations().len()).unwrap() - before
}

/// PostgreSQL's definition of index `name`, if it exists.
async fn index_definition(db: &DatabaseConnection, name: &str) -> Option<String> {
    let sql = format!("SELECT pg_get_indexdef(to_regclass('{name}')) AS definition");
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one_raw(statement).await.unwrap()?;
    row.try_get("", "definition").unwrap()
}

async fn database(
    backend: Backend,
) -> (DatabaseConnection, Option<TempDatabase>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("migrations-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (url, temp) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.join("m.sqlite").display()),
            None,
        ),
        Backend::Postgres => {
            let admin = std::env::var("TEST_DATABASE_URL").unwrap();
            let temp = TempDatabase::create(&admin, "migrations").await.unwrap();
            (temp.url.clone(), Some(temp))
        }
    };
    (Database::connect(&url).await.unwrap(), temp, dir)
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<(String, Option<String>)> {
    let statement = Statement::from_string(db.get_database_backend(), sql.to_owned());
    db.query_all_raw(statement)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            // `user_id` is char(64): PostgreSQL pads it.
            let user: String = row.try_get("", "user_id").unwrap();
            (
                user.trim_end().to_owned(),
                row.try_get("", "orig_cell_id").unwrap(),
            )
        })
        .collect()
}

tests::backend_tests! {
    async fn event_keys_keep_every_row_make_unmapped_cells_null_and_key_ids_per_student(backend) {
        let (db, _temp, dir) = database(backend).await;
        Migrator::up(&db, Some(BEFORE_EVENT_KEYS)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO notebooks (public_id, name, uploaded_at) VALUES ('nb', 'nb', '2026-11-01T00:00:00Z')",
        )
        .await
        .unwrap();
        let insert = |user: &str, orig: &str, id: &str| {
            format!(
                "INSERT INTO cell_focus_events (event_id, user_id, notebook_id, cell_id, orig_cell_id, \
                 click_type, time) SELECT {id}, '{user}', id, 'c', '{orig}', 'ON', \
                 '2026-11-01T10:00:00Z' FROM notebooks"
            )
        };
        db.execute_unprepared(&insert("alice", "o1", "NULL")).await.unwrap();
        db.execute_unprepared(&insert("bob", "", "NULL")).await.unwrap();

        Migrator::up(&db, None).await.unwrap();
        let sql = "SELECT user_id, orig_cell_id FROM cell_focus_events ORDER BY user_id";
        let expected = vec![("alice".to_owned(), Some("o1".to_owned())), ("bob".to_owned(), None)];
        assert_eq!(rows(&db, sql).await, expected);
        // The same event id from two students is two events now; from one student it is one.
        let same_id = "'7d444840-9dc0-11d1-b245-5ffdce74fad2'";
        let typed = match backend {
            Backend::Postgres => format!("{same_id}::uuid"),
            Backend::Sqlite => format!("X'{}'", "7d4448409dc011d1b2455ffdce74fad2"),
        };
        db.execute_unprepared(&insert("carol", "o1", &typed)).await.unwrap();
        db.execute_unprepared(&insert("dave", "o1", &typed)).await.unwrap();
        assert!(db.execute_unprepared(&insert("dave", "o1", &typed)).await.is_err());

        // Down and up again: nothing lost either way.
        db.execute_unprepared("DELETE FROM cell_focus_events WHERE user_id = 'dave'").await.unwrap();
        Migrator::down(&db, Some(1)).await.unwrap();
        assert_eq!(rows(&db, sql).await.len(), 3);
        Migrator::up(&db, None).await.unwrap();
        assert_eq!(rows(&db, sql).await[1], ("bob".to_owned(), None));
        db.close().await.ok();
        std::fs::remove_dir_all(dir).ok();
    }

    async fn the_progress_rollups_key_keeps_every_row_and_on_postgres_covers_the_moves(backend) {
        let (db, _temp, dir) = database(backend).await;
        Migrator::up(&db, Some(BEFORE_COVERING_PROGRESS_KEY)).await.unwrap();
        let insert = |minute: i64, user: &str| {
            format!(
                "INSERT INTO progress_rollups (notebook_id, minute, user_id, orig_cell_id, \
                 latest_time, latest_id, previous_cell, previous_time) VALUES (1, {minute}, \
                 '{user}', 'o2', '2026-11-01T10:01:30Z', 9, 'o1', '2026-11-01T10:00:10Z')"
            )
        };
        db.execute_unprepared(&insert(60, "alice")).await.unwrap();
        db.execute_unprepared(&insert(60, "bob")).await.unwrap();

        Migrator::up(&db, None).await.unwrap();
        let sql = "SELECT user_id, previous_cell AS orig_cell_id FROM progress_rollups \
                   ORDER BY user_id";
        let kept = vec![
            ("alice".to_owned(), Some("o1".to_owned())),
            ("bob".to_owned(), Some("o1".to_owned())),
        ];
        assert_eq!(rows(&db, sql).await, kept);
        // Still the key: one row per (notebook, minute, student).
        assert!(db.execute_unprepared(&insert(60, "alice")).await.is_err());
        db.execute_unprepared(&insert(120, "alice")).await.unwrap();
        if backend == Backend::Postgres {
            let definition = Statement::from_string(
                db.get_database_backend(),
                "SELECT pg_get_indexdef(conindid) AS definition FROM pg_constraint \
                 WHERE conname = 'progress_rollups_pkey'",
            );
            let row = db.query_one_raw(definition).await.unwrap().unwrap();
            let definition: String = row.try_get("", "definition").unwrap();
            assert!(
                definition.ends_with(
                    "(notebook_id, minute, user_id) INCLUDE (orig_cell_id, previous_cell, previous_time)"
                ),
                "{definition}"
            );
        }

        let back = steps_back_to(BEFORE_COVERING_PROGRESS_KEY);
        Migrator::down(&db, Some(back)).await.unwrap();
        assert_eq!(rows(&db, sql).await.len(), 3);
        assert!(db.execute_unprepared(&insert(120, "alice")).await.is_err());
        Migrator::up(&db, None).await.unwrap();
        assert_eq!(rows(&db, sql).await.len(), 3);
        db.close().await.ok();
        std::fs::remove_dir_all(dir).ok();
    }

    async fn postgres_gets_an_index_of_kept_durations_by_student_and_sqlite_none(backend) {
        let (db, _temp, dir) = database(backend).await;
        Migrator::up(&db, Some(BEFORE_KEPT_BY_STUDENT)).await.unwrap();
        let notebook = "INSERT INTO notebooks (public_id, name, uploaded_at) \
                        VALUES ('nb', 'nb', '2026-11-01T00:00:00Z')";
        db.execute_unprepared(notebook).await.unwrap();
        let focus = "INSERT INTO cell_focus_events (user_id, notebook_id, cell_id, orig_cell_id, \
                     click_type, time, click_duration) SELECT 'alice', id, 'c', 'o', 'OFF', \
                     '2026-11-01T10:00:00Z', 2.5 FROM notebooks";
        db.execute_unprepared(focus).await.unwrap();

        Migrator::up(&db, None).await.unwrap();
        let name = migration::KEPT_DURATIONS_BY_STUDENT;
        if backend == Backend::Postgres {
            let definition = index_definition(&db, name).await.unwrap_or_default();
            assert!(
                definition.ends_with(
                    "(notebook_id, user_id, \"time\") INCLUDE (orig_cell_id, click_duration) \
                     WHERE (((click_type)::text = 'OFF'::text) AND (click_duration IS NOT NULL) \
                     AND (click_duration <= (5000)::double precision))"
                ),
                "{definition}"
            );
            Migrator::down(&db, Some(steps_back_to(BEFORE_KEPT_BY_STUDENT)))
                .await
                .unwrap();
            assert_eq!(index_definition(&db, name).await, None);
            Migrator::up(&db, None).await.unwrap();
        } else {
            let sql = format!("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = '{name}'");
            let statement = Statement::from_string(db.get_database_backend(), sql);
            let row = db.query_one_raw(statement).await.unwrap().unwrap();
            assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0);
        }
        assert_eq!(rows(&db, "SELECT user_id, orig_cell_id FROM cell_focus_events").await,
            vec![("alice".to_owned(), Some("o".to_owned()))]);
        db.close().await.ok();
        std::fs::remove_dir_all(dir).ok();
    }
}
