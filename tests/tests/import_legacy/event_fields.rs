//! Every field of every kind of imported event.

use super::super::*;
use super::all;

pub async fn check_executions(app: &TestApp, legacy_id: i64, other_id: i64) {
    let db = &app.state.db;
    let outputs: Value = serde_json::from_str(PICKLE_JSON).unwrap();
    let id = |n| Some(legacy_import::event_id("CellExecution", n));
    let code = all::<code_execution::Entity>(db, code_execution::Column::TStart).await;
    let expected = [
        (
            id(1),
            legacy_id,
            app.pseudonym("student-1"),
            "s1c1",
            Some("c1"),
            utc("2024-03-05 10:00:00"),
            utc("2024-03-05 10:00:02.25"),
            ExecutionStatus::Ok,
            "print(6 * 7)",
            outputs,
            42,
            "text/x-python",
        ),
        (
            id(2),
            legacy_id,
            app.pseudonym("student-1"),
            "s1c2",
            Some("c2"),
            utc("2024-03-05 10:01:00"),
            utc("2024-03-05 10:01:01"),
            ExecutionStatus::Error,
            "1 / 0",
            json!([]),
            0,
            "text/x-python",
        ),
        (
            id(3),
            legacy_id,
            app.pseudonym("student-2"),
            "s2c1",
            Some("c1"),
            utc("2024-03-05 10:02:00"),
            utc("2024-03-05 10:02:03"),
            ExecutionStatus::Ok,
            "x = 1",
            json!([]),
            0,
            "text/x-python",
        ),
        // Undecodable pickle, `abort`, no t_finish, no length, no mimetype.
        (
            id(20),
            other_id,
            app.pseudonym("student-9"),
            "z1",
            Some("z1"),
            utc("2024-03-06 09:00:00"),
            utc("2024-03-06 09:00:00"),
            ExecutionStatus::Error,
            "while True: pass",
            json!([]),
            0,
            "",
        ),
    ];
    let got: Vec<_> = code
        .into_iter()
        .map(|c| {
            (
                c.event_id,
                c.notebook_id,
                c.user_id,
                c.cell_id,
                c.orig_cell_id,
                c.t_start,
                c.t_finish,
                c.status,
                c.cell_input,
                c.cell_output_model,
                c.cell_output_length,
                c.language_mimetype,
            )
        })
        .collect();
    let expected: Vec<_> = expected
        .into_iter()
        .map(|e| {
            (
                e.0,
                e.1,
                e.2,
                e.3.to_owned(),
                e.4.map(str::to_owned),
                e.5,
                e.6,
                e.7,
                e.8.to_owned(),
                e.9,
                e.10,
                e.11.to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    let markdown = all::<markdown_execution::Entity>(db, markdown_execution::Column::Time).await;
    assert_eq!(
        markdown
            .into_iter()
            .map(|m| (
                m.event_id,
                m.notebook_id,
                m.user_id,
                m.cell_id,
                m.orig_cell_id,
                m.time,
                m.cell_content
            ))
            .collect::<Vec<_>>(),
        [(
            id(4),
            legacy_id,
            app.pseudonym("student-2"),
            "s2m1".to_owned(),
            Some("m1".to_owned()),
            utc("2024-03-05 10:03:00"),
            "# Title".to_owned()
        )]
    );
}

pub async fn check_clicks_and_the_rest(app: &TestApp, legacy_id: i64) {
    let db = &app.state.db;
    let (s1, s2) = (app.pseudonym("student-1"), app.pseudonym("student-2"));
    let click = |n| Some(legacy_import::event_id("ClickEvent", n));
    let cells = all::<cell_focus_event::Entity>(db, cell_focus_event::Column::Time).await;
    assert_eq!(
        cells
            .into_iter()
            .map(|c| (
                c.event_id,
                c.notebook_id,
                c.user_id,
                c.cell_id,
                c.orig_cell_id,
                c.click_type,
                c.time,
                c.click_duration
            ))
            .collect::<Vec<_>>(),
        [
            (
                click(5),
                legacy_id,
                s1.clone(),
                "s1c1".to_owned(),
                Some("c1".to_owned()),
                ClickType::On,
                utc("2024-03-05 10:00:00"),
                None
            ),
            (
                click(6),
                legacy_id,
                s1.clone(),
                "s1c1".to_owned(),
                Some("c1".to_owned()),
                ClickType::Off,
                utc("2024-03-05 10:00:30"),
                Some(30.5)
            ),
            // The old "" for a missing mapping is our null.
            (
                click(7),
                legacy_id,
                s2.clone(),
                "s2x".to_owned(),
                None,
                ClickType::On,
                utc("2024-03-05 10:04:00"),
                None
            ),
        ]
    );
    let notebook_clicks =
        all::<notebook_focus_event::Entity>(db, notebook_focus_event::Column::Time).await;
    assert_eq!(
        notebook_clicks
            .into_iter()
            .map(|c| (
                c.event_id,
                c.notebook_id,
                c.user_id,
                c.click_type,
                c.time,
                c.click_duration
            ))
            .collect::<Vec<_>>(),
        [(
            click(8),
            legacy_id,
            s2.clone(),
            ClickType::Off,
            utc("2024-03-05 10:05:00"),
            Some(300.0)
        )]
    );
    let alterations = all::<cell_alteration::Entity>(db, cell_alteration::Column::Time).await;
    assert_eq!(
        alterations
            .into_iter()
            .map(|a| (
                a.event_id,
                a.notebook_id,
                a.user_id,
                a.cell_id,
                a.alteration_type,
                a.time
            ))
            .collect::<Vec<_>>(),
        [(
            Some(legacy_import::event_id("CellAlteration", 9)),
            legacy_id,
            s1.clone(),
            "s1new".to_owned(),
            AlterationType::Add,
            utc("2024-03-05 10:06:00")
        )]
    );
    let pending =
        all::<pending_update_interaction::Entity>(db, pending_update_interaction::Column::Time)
            .await;
    let pid = |n| Some(legacy_import::event_id("PendingUpdateInteraction", n));
    assert_eq!(
        pending
            .into_iter()
            .map(|p| (
                p.event_id,
                p.notebook_id,
                p.user_id,
                p.cell_id,
                p.update_id,
                p.action,
                p.sender,
                p.sender_type,
                p.time
            ))
            .collect::<Vec<_>>(),
        [
            (
                pid(1),
                legacy_id,
                s1,
                Some("c1".to_owned()),
                Some("u-1".to_owned()),
                PendingUpdateAction::UpdateLater,
                Some("f".repeat(64)),
                Some(SenderType::Teacher),
                utc("2024-03-05 10:07:00")
            ),
            (
                pid(2),
                legacy_id,
                s2,
                None,
                None,
                PendingUpdateAction::UpdateAll,
                None,
                None,
                utc("2024-03-05 10:08:00")
            ),
        ]
    );
    let dashboard =
        all::<dashboard_interaction::Entity>(db, dashboard_interaction::Column::UserId).await;
    let did = |n| Some(legacy_import::event_id("DashboardEvent", n));
    let mut got: Vec<_> = dashboard
        .into_iter()
        .map(|d| {
            (
                d.event_id,
                d.user_id,
                d.notebook_id,
                d.click_type,
                d.signal_origin,
                d.time,
            )
        })
        .collect();
    got.sort_by_key(|row| row.1.clone());
    let mut expected = vec![
        (
            did(1),
            app.pseudonym("teacher"),
            Some(legacy_id),
            ClickType::On,
            "exec-chart".to_owned(),
            utc("2024-03-05 11:00:00"),
        ),
        (
            did(3),
            app.pseudonym("head"),
            None,
            ClickType::On,
            "exec-chart".to_owned(),
            utc("2024-03-05 11:00:00"),
        ),
    ];
    expected.sort_by_key(|row| row.1.clone());
    assert_eq!(got, expected);
}
