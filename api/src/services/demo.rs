//! `api demo-class`: a realistic synthetic class in the configured database, so a newcomer sees
//! every dashboard answer with data, and the benchmark has a class to query.
//!
//! The notebook is uploaded like a teacher's (so it has a cell order and a download), students
//! are split into groups (a few in two), and the events are spread over weekly two-hour
//! sessions, the last one ending now: a dashboard window over the last session sees the same
//! rows whatever the number of sessions, which is what the benchmark's "cost follows the
//! window" check needs.

mod simulate;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use serde_json::json;

use super::{
    groups::{RosterGroup, import_roster},
    ingest::{self, EventRows, EventTransaction},
    notebooks::{self, NotebookUpload},
};
use crate::{
    error::{AppError, AppResult},
    pseudonym::Pseudonymizer,
    storage::NotebookStorage,
};

/// Events written per transaction.
const EVENTS_PER_COMMIT: usize = 20_000;
/// Students per group.
const GROUP_SIZE: usize = 10;
pub const SESSION_LENGTH_MINUTES: i64 = 120;

#[derive(Debug, Clone)]
pub struct DemoClass {
    pub notebook_id: String,
    pub students: usize,
    pub cells: usize,
    pub events: usize,
    /// Weekly sessions the events are spread over; the last one ends at `end`.
    pub sessions: usize,
    pub end: DateTime<Utc>,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub notebook_row_id: i64,
    pub events: usize,
    /// Events added to the rollups.
    pub applied: u64,
    pub groups: usize,
    /// Start of the last session: a dashboard window from here to `end` sees one session.
    pub last_session_start: DateTime<Utc>,
}

/// Raw id of student `index` (pseudonymized like any student's id before it is stored).
pub fn student_raw_id(index: usize) -> String {
    format!("demo-student-{index:04}")
}

/// Loads `class`, adds it to the rollups and refreshes the planner's statistics.
pub async fn load(
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    pseudonyms: &Pseudonymizer,
    class: &DemoClass,
    mut progress: impl FnMut(usize),
) -> AppResult<DemoSummary> {
    check(class)?;
    if notebooks::find_by_public_id(db, &class.notebook_id)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(format!(
            "notebook {} exists already; choose another --notebook-id",
            class.notebook_id
        )));
    }
    let cells: Vec<(String, bool)> = (1..=class.cells)
        .map(|n| (format!("cell-{n:03}"), n % 4 != 1))
        .collect();
    let notebook_row_id = upload_notebook(db, storage, class, &cells).await?;
    let students: Vec<String> = (0..class.students)
        .map(|index| pseudonyms.pseudonymize(&student_raw_id(index)))
        .collect();
    let groups = roster(pseudonyms, class.students);
    import_roster(db, None, &class.notebook_id, &groups, false).await?;
    let mut rng = StdRng::seed_from_u64(class.seed);
    let mut rows = EventRows::default();
    let mut written = 0;
    let per_walk = (class.events / (class.sessions * class.students)).max(4);
    let step = Duration::minutes(SESSION_LENGTH_MINUTES) / per_walk as i32;
    for session in 0..class.sessions {
        let start = session_start(class, session);
        let push_cell = &cells[(session * 7 + 2) % cells.len()].0;
        let update_id = format!("update-session-{session}");
        for student in &students {
            let walk = simulate::Walk {
                notebook_id: notebook_row_id,
                student,
                cells: &cells,
                start: start + Duration::seconds(rng.random_range(0..600)),
                step,
                events: per_walk,
                push: Some((&update_id, push_cell, start + Duration::minutes(30))),
            };
            written += walk.run(&mut rng, &mut rows);
            if rows.len() >= EVENTS_PER_COMMIT {
                commit(db, std::mem::take(&mut rows)).await?;
                progress(written);
            }
        }
    }
    commit(db, rows).await?;
    progress(written);
    // The dashboards are exact without it, and fast with it: the class arrives summarised.
    let applied = ingest::apply_all_rollups(db).await?;
    settle(db).await?;
    Ok(DemoSummary {
        notebook_row_id,
        events: written,
        applied,
        groups: groups.len(),
        last_session_start: session_start(class, class.sessions - 1),
    })
}

/// A bulk load leaves the planner's statistics behind until autovacuum comes round; refresh
/// them now (events and rollups) so the first dashboards already get the plans of a settled
/// database. PostgreSQL's vacuum also marks the loaded pages all-visible, as autovacuum would
/// soon after, so indexes that cover a read are read alone.
async fn settle(db: &DatabaseConnection) -> AppResult<()> {
    let statement = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM (ANALYZE)",
        _ => "ANALYZE",
    };
    db.execute_unprepared(statement).await?;
    Ok(())
}

fn check(class: &DemoClass) -> AppResult<()> {
    if class.students == 0 || class.cells == 0 || class.sessions == 0 {
        return Err(AppError::bad_input(
            "students, cells and sessions must be at least 1",
        ));
    }
    Ok(())
}

fn session_start(class: &DemoClass, session: usize) -> DateTime<Utc> {
    let weeks_before_last = (class.sessions - 1 - session) as i64;
    class.end - Duration::weeks(weeks_before_last) - Duration::minutes(SESSION_LENGTH_MINUTES)
}

/// Groups of ten in student order; every tenth student also joins the next group, so some
/// students are in two groups as in real classes.
fn roster(pseudonyms: &Pseudonymizer, students: usize) -> Vec<RosterGroup> {
    let count = students.div_ceil(GROUP_SIZE);
    (0..count)
        .map(|group| {
            let mut members: std::collections::BTreeSet<String> = (group * GROUP_SIZE
                ..((group + 1) * GROUP_SIZE).min(students))
                .map(|index| pseudonyms.pseudonymize(&student_raw_id(index)))
                .collect();
            if group > 0 {
                members.insert(pseudonyms.pseudonymize(&student_raw_id(group * GROUP_SIZE - 1)));
            }
            RosterGroup {
                name: format!("Group {:02}", group + 1),
                members,
            }
        })
        .collect()
}

async fn upload_notebook(
    db: &DatabaseConnection,
    storage: &NotebookStorage,
    class: &DemoClass,
    cells: &[(String, bool)],
) -> AppResult<i64> {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .map(|(id, is_code)| match is_code {
            true => json!({ "cell_type": "code", "id": id, "metadata": {}, "execution_count": null,
                            "outputs": [], "source": format!("# {id}\nresult = solve()") }),
            false => json!({ "cell_type": "markdown", "id": id, "metadata": {},
                             "source": format!("## {id}\nRead this first.") }),
        })
        .collect();
    let notebook = json!({
        "nbformat": 4, "nbformat_minor": 5, "cells": cells,
        "metadata": { "unianalytics_notebook_id": class.notebook_id,
                      "kernelspec": { "name": "python3", "display_name": "Python 3", "language": "python" } },
    });
    let bytes = notebook.to_string().into_bytes();
    let upload = NotebookUpload {
        bytes: &bytes,
        file_name: "demo-class.ipynb",
        name: Some("Demo class"),
        uploader: None,
    };
    Ok(notebooks::upload(db, storage, upload).await?.notebook.id)
}

/// Writes `rows` through the ingest store, as the writer would: whatever it does for each
/// stored event happens for the demo class too.
async fn commit(db: &DatabaseConnection, rows: EventRows) -> AppResult<()> {
    let mut txn = EventTransaction::begin(db).await?;
    txn.insert(&rows).await?;
    txn.commit().await?;
    Ok(())
}
