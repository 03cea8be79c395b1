//! Dashboard analytics on a hand-computed class (tests/tests/dashboards/class.rs lists every
//! event with a label): every number of every aggregate under every filter, the guards on
//! every field, bad filters, and the progress series against a plain reference implementation
//! on a randomized class of 50 students.

#[path = "dashboards/class.rs"]
mod class;
#[path = "dashboards/reference.rs"]
mod reference;

use serde_json::{Value, json};
use tests::backend_tests;

use class::{Class, class, student_connection, ts};

/// The filters of `Class::filters`, in order: F0 none, F1 window W = (10:00, 10:30], F2 group
/// A {s1, s2}, F3 groups A+B {s1, s2, s3} (s2 once), F4 live {s1, s3}, F5 live with `until`
/// 10:30 (live ignored: = F0, every event is ≤ 10:30), F6 window (10:00, 10:12].
async fn check(class: &Class, selection: &str, field: &str, expected: [Value; 7]) {
    for ((name, filter), expected) in class.filters().into_iter().zip(expected) {
        let got = class.ask(selection, json!({ "f": filter })).await;
        assert_close!(got[field], expected, "{field} under {name}");
    }
}

fn counts(cell: &str, executions: i64, ok: i64, focus: i64, on: i64) -> Value {
    json!({ "cellId": cell, "executionCount": executions, "okExecutionCount": ok,
            "focusCount": focus, "focusOnCount": on })
}

fn time(cell: &str, average: f64, students: i64) -> Value {
    json!({ "cellId": cell, "averageDuration": average, "studentCount": students })
}

fn durations(cell: &str, list: &[f64]) -> Value {
    json!({ "cellId": cell, "durations": list })
}

fn point(minute: &str, mean: f64, median: f64, q1: f64, q3: f64, students: i64) -> Value {
    json!({ "minute": ts(&format!("{minute}:00")), "mean": mean, "median": median,
            "firstQuartile": q1, "thirdQuartile": q3, "studentCount": students })
}

fn located(cell: &str, students: i64) -> Value {
    json!({ "cellId": cell, "studentCount": students })
}

const PROGRESS: &str = "executionProgress(start: $start, end: $end, filter: $f) \
    { minute mean median firstQuartile thirdQuartile studentCount }";
const ATTEMPTS: &str = "latestAttempts(cellId: $cell, sort: $sort, direction: $dir, \
    limit: $limit, offset: $offset, filter: $f) { totalCount attempts { userId } }";

/// Every field with the variables it needs, for the guard checks.
const FIELDS: [&str; 10] = [
    "codeExecutionsPerCell { cellId }",
    "timePerCell { totalStudentCount }",
    "focusDurationsPerCell { cellId }",
    "executionProgress(start: \"2024-03-05T10:00:00Z\", end: \"2024-03-05T10:06:00Z\") { mean }",
    "latestAttempts(cellId: \"c2\") { totalCount }",
    "studentLocations { cellId }",
    "connectedStudents",
    "groups { name }",
    "pendingUpdateStats { cellId }",
    "eventCounts { totalCount }",
];

backend_tests! {
    async fn code_executions_per_cell_count_every_cell_even_never_focused_or_never_executed(backend) {
        let class = class(backend).await;
        // (cell, executions, ok, focus events ON+OFF, ON): c5 is executed but never focused,
        // m1 focused but never executed, x9 outside the notebook's order.
        let f0 = json!([counts("c1", 4, 3, 8, 4), counts("c2", 4, 3, 7, 4), counts("c3", 1, 1, 3, 2),
            counts("c4", 1, 1, 2, 1), counts("c5", 1, 1, 0, 0), counts("m1", 0, 0, 2, 1),
            counts("x9", 1, 1, 0, 0)]);
        // Without s4 (E11, E12, F20–F22), and s2 counted once although in both groups.
        let f1 = json!([counts("c1", 3, 2, 6, 3), counts("c2", 3, 2, 6, 3), counts("c3", 1, 1, 3, 2),
            counts("c4", 1, 1, 2, 1), counts("c5", 1, 1, 0, 0), counts("m1", 0, 0, 2, 1),
            counts("x9", 1, 1, 0, 0)]);
        // s1, s2: c1 E1 E5 / F1 F2 F8 F9 F12 F13; c2 E2 E3 E6 / F3–F6 F10 F11; c3 E4 / F7.
        let f2 = json!([counts("c1", 2, 2, 6, 3), counts("c2", 3, 2, 6, 3), counts("c3", 1, 1, 1, 1),
            counts("c5", 1, 1, 0, 0)]);
        // s1, s3: c1 E1 E8 / F1 F2; c2 E2 E3 / F3–F6; c3 E4 / F7 F16 F17; c4 E10 / F18 F19.
        let f4 = json!([counts("c1", 2, 1, 2, 1), counts("c2", 2, 1, 4, 2), counts("c3", 1, 1, 3, 2),
            counts("c4", 1, 1, 2, 1), counts("m1", 0, 0, 2, 1), counts("x9", 1, 1, 0, 0)]);
        // (10:00, 10:12]: E10, F11–F13, F18, F19 and s4 fall out; c4 has nothing left.
        let f6 = json!([counts("c1", 3, 2, 4, 2), counts("c2", 3, 2, 5, 3), counts("c3", 1, 1, 3, 2),
            counts("c5", 1, 1, 0, 0), counts("m1", 0, 0, 2, 1), counts("x9", 1, 1, 0, 0)]);
        let selection = "codeExecutionsPerCell(filter: $f) \
            { cellId executionCount okExecutionCount focusCount focusOnCount }";
        check(&class, selection, "codeExecutionsPerCell",
            [f0.clone(), f1.clone(), f2, f1, f4, f0, f6]).await;
    }

    async fn time_per_cell_averages_each_students_average_and_drops_durations_over_5000_s(backend) {
        let class = class(backend).await;
        // Kept OFF durations: s1 c1 60, c2 60 30; s2 c1 30 90 (c2 6000 dropped); s3 m1 20,
        // c3 40, c4 5000 (kept); s4 c1 90. c1 under F0: mean(60, mean(30, 90), 90) = 70.
        let time_of = |total: i64, cells: Vec<Value>| json!({ "totalStudentCount": total, "cells": cells });
        let f0 = time_of(4, vec![time("c1", 70.0, 3), time("c2", 45.0, 1), time("c3", 40.0, 1),
            time("c4", 5000.0, 1), time("m1", 20.0, 1)]);
        let f1 = time_of(3, vec![time("c1", 60.0, 2), time("c2", 45.0, 1), time("c3", 40.0, 1),
            time("c4", 5000.0, 1), time("m1", 20.0, 1)]);
        let f2 = time_of(2, vec![time("c1", 60.0, 2), time("c2", 45.0, 1)]);
        let f4 = time_of(2, vec![time("c1", 60.0, 1), time("c2", 45.0, 1), time("c3", 40.0, 1),
            time("c4", 5000.0, 1), time("m1", 20.0, 1)]);
        // (10:00, 10:12]: s2's c1 90 (10:22) and s3's c4 5000 (10:29:50) fall out.
        let f6 = time_of(3, vec![time("c1", 45.0, 2), time("c2", 45.0, 1), time("c3", 40.0, 1),
            time("m1", 20.0, 1)]);
        let selection = "timePerCell(filter: $f) { totalStudentCount \
            cells { cellId averageDuration studentCount } }";
        check(&class, selection, "timePerCell", [f0.clone(), f1.clone(), f2, f1, f4, f0, f6]).await;

        // The raw lists, by event time: c1 under F0 is s4 09:29:30, s1 10:01:20, s2 10:02:00, 10:22.
        let f0 = json!([durations("c1", &[90.0, 60.0, 30.0, 90.0]), durations("c2", &[60.0, 30.0]),
            durations("c3", &[40.0]), durations("c4", &[5000.0]), durations("m1", &[20.0])]);
        let f1 = json!([durations("c1", &[60.0, 30.0, 90.0]), durations("c2", &[60.0, 30.0]),
            durations("c3", &[40.0]), durations("c4", &[5000.0]), durations("m1", &[20.0])]);
        let f2 = json!([durations("c1", &[60.0, 30.0, 90.0]), durations("c2", &[60.0, 30.0])]);
        let f4 = json!([durations("c1", &[60.0]), durations("c2", &[60.0, 30.0]),
            durations("c3", &[40.0]), durations("c4", &[5000.0]), durations("m1", &[20.0])]);
        let f6 = json!([durations("c1", &[60.0, 30.0]), durations("c2", &[60.0, 30.0]),
            durations("c3", &[40.0]), durations("m1", &[20.0])]);
        let selection = "focusDurationsPerCell(filter: $f) { cellId durations }";
        check(&class, selection, "focusDurationsPerCell",
            [f0.clone(), f1.clone(), f2, f1, f4, f0, f6]).await;
    }

    async fn the_progress_series_has_the_hand_computed_points_under_every_filter(backend) {
        let class = class(backend).await;
        // Default order c1..c5, m1 (positions 1..6); x9 (E9) is ignored. Window 10:00–10:06:
        // 10:00 s1=1 alone; 10:01 s1=1 s2=1; 10:02 s1=2 (E3) s2=1 s3=1; 10:03 s2=2 (E6);
        // 10:04 s2=5 (E7); 10:05 s1=3 (E4); 10:06 unchanged. s4 has nothing in the window.
        let all = json!([
            point("10:00", 1.0, 1.0, 1.0, 1.0, 1),
            point("10:01", 1.0, 1.0, 1.0, 1.0, 2),
            point("10:02", 4.0 / 3.0, 1.0, 1.0, 2.0, 3),
            point("10:03", 5.0 / 3.0, 2.0, 1.0, 2.0, 3),
            point("10:04", 8.0 / 3.0, 2.0, 1.0, 5.0, 3),
            point("10:05", 3.0, 3.0, 1.0, 5.0, 3),
            point("10:06", 3.0, 3.0, 1.0, 5.0, 3),
        ]);
        // Two values [a, b]: exclusive quartiles extrapolate, q1 = (5a − b)/4, q3 = (5b − a)/4.
        let group_a = json!([
            point("10:00", 1.0, 1.0, 1.0, 1.0, 1),
            point("10:01", 1.0, 1.0, 1.0, 1.0, 2),
            point("10:02", 1.5, 1.5, 0.75, 2.25, 2),
            point("10:03", 2.0, 2.0, 2.0, 2.0, 2),
            point("10:04", 3.5, 3.5, 1.25, 5.75, 2),
            point("10:05", 4.0, 4.0, 2.5, 5.5, 2),
            point("10:06", 4.0, 4.0, 2.5, 5.5, 2),
        ]);
        let live = json!([
            point("10:00", 1.0, 1.0, 1.0, 1.0, 1),
            point("10:01", 1.0, 1.0, 1.0, 1.0, 1),
            point("10:02", 1.5, 1.5, 0.75, 2.25, 2),
            point("10:03", 1.5, 1.5, 0.75, 2.25, 2),
            point("10:04", 1.5, 1.5, 0.75, 2.25, 2),
            point("10:05", 2.0, 2.0, 0.5, 3.5, 2),
            point("10:06", 2.0, 2.0, 0.5, 3.5, 2),
        ]);
        check(&class, PROGRESS, "executionProgress",
            [all.clone(), all.clone(), group_a, all.clone(), live, all.clone(), all]).await;

        // An explicit order with a repeat: c5 = 1, c2 = 2, c1 = 3; c3 and c4 ignored.
        let selection = "executionProgress(start: $start, end: $end, cellOrder: $order) \
            { minute mean median firstQuartile thirdQuartile studentCount }";
        let got = class.ask(selection, json!({ "order": ["c5", "c2", "c1", "c2"],
            "start": "2024-03-05T10:00:00Z", "end": "2024-03-05T10:06:00Z" })).await;
        assert_close!(got["executionProgress"], json!([
            point("10:00", 3.0, 3.0, 3.0, 3.0, 1),
            point("10:01", 3.0, 3.0, 3.0, 3.0, 2),
            point("10:02", 8.0 / 3.0, 3.0, 2.0, 3.0, 3),
            point("10:03", 7.0 / 3.0, 2.0, 2.0, 3.0, 3),
            point("10:04", 2.0, 2.0, 1.0, 3.0, 3),
            point("10:05", 2.0, 2.0, 1.0, 3.0, 3),
            point("10:06", 2.0, 2.0, 1.0, 3.0, 3),
        ]), "explicit order");

        // Only executions after `start` count: E1, E5, E8 (before 10:02:30) are left out.
        let got = class.ask(PROGRESS, json!({ "f": null,
            "start": "2024-03-05T10:02:30Z", "end": "2024-03-05T10:04:30Z" })).await;
        assert_close!(got["executionProgress"], json!([
            point("10:02", 2.0, 2.0, 2.0, 2.0, 1),
            point("10:03", 2.0, 2.0, 2.0, 2.0, 2),
            point("10:04", 3.5, 3.5, 1.25, 5.75, 2),
        ]), "window from 10:02:30");

        // 24 h is the longest series; reversed or future windows are refused.
        let day = class.ask(PROGRESS, json!({ "f": null,
            "start": "2024-03-05T00:00:00Z", "end": "2024-03-05T23:59:59Z" })).await;
        assert_eq!(day["executionProgress"].as_array().unwrap().len(), 870, "09:30 to 23:59");
        for (start, end) in [("2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z"),
                             ("2024-03-05T10:06:00Z", "2024-03-05T10:00:00Z"),
                             ("2999-01-01T00:00:00Z", "2999-01-01T01:00:00Z")] {
            let response = class.ask_as(Some(&class.token), PROGRESS,
                json!({ "f": null, "start": start, "end": end })).await;
            assert_eq!(response.error_code(), "BAD_USER_INPUT", "{start} – {end}");
        }
    }

    async fn latest_attempts_keep_each_students_latest_execution_sorted_and_paged(backend) {
        let class = class(backend).await;
        let (s1, s2, s4) = (class.p("s1"), class.p("s2"), class.p("s4"));
        let page = |total: i64, users: &[&String]| json!({ "totalCount": total,
            "attempts": users.iter().map(|u| json!({ "userId": u })).collect::<Vec<_>>() });
        // c2 latest: s1 E3 (tie with E2 won by the later-recorded; 10:02:50, input 5, output
        // 3), s2 E6 (10:03:20, 10, 12), s4 E12 (09:31, 5, 7).
        let f0 = page(3, &[&s2, &s1, &s4]);
        let window = page(2, &[&s2, &s1]);
        check(&class, ATTEMPTS, "latestAttempts", [f0.clone(), window.clone(), window.clone(),
            window.clone(), page(1, &[&s1]), f0, window]).await;

        let (low, high) = if s1 < s4 { (&s1, &s4) } else { (&s4, &s1) };
        let cases = [
            ("TIME", "ASC", 50, 0, page(3, &[&s4, &s1, &s2])),
            ("INPUT_LENGTH", "ASC", 50, 0, page(3, &[low, high, &s2])),
            ("INPUT_LENGTH", "DESC", 50, 0, page(3, &[&s2, low, high])),
            ("OUTPUT_LENGTH", "DESC", 50, 0, page(3, &[&s2, &s4, &s1])),
            ("OUTPUT_LENGTH", "ASC", 50, 0, page(3, &[&s1, &s4, &s2])),
            ("TIME", "DESC", 1, 1, page(3, &[&s1])),
            ("TIME", "DESC", 2, 3, page(3, &[])),
            ("TIME", "DESC", 0, 0, page(3, &[])),
        ];
        for (sort, dir, limit, offset, expected) in cases {
            let got = class.ask(ATTEMPTS, json!({ "f": null, "cell": "c2", "sort": sort,
                "dir": dir, "limit": limit, "offset": offset })).await;
            assert_eq!(got["latestAttempts"], expected, "{sort} {dir} {limit} {offset}");
        }

        let got = class.ask("latestAttempts(cellId: $cell, limit: $limit, offset: $offset) { attempts { \
            userId cellId origCellId status input inputLength output outputLength \
            languageMimetype tStart tFinish } }",
            json!({ "cell": "c2", "limit": 1, "offset": 1 })).await;
        assert_eq!(got["latestAttempts"]["attempts"], json!([{ "userId": s1, "cellId": "copy-c2",
            "origCellId": "c2", "status": "OK", "input": "b = 1", "inputLength": 5,
            "output": [{"output_type": "stream", "name": "stdout", "text": "b = 1"}],
            "outputLength": 3, "languageMimetype": "text/x-python",
            "tStart": ts("10:02:49"), "tFinish": ts("10:02:50") }]));

        // c1 by time: s3 E8 10:02:05, s2 E5 10:01:40, s1 E1 10:00:30, s4 E11 09:30.
        let got = class.ask(ATTEMPTS, json!({ "f": null, "cell": "c1" })).await;
        let (s3, s2, s1, s4) = (class.p("s3"), class.p("s2"), class.p("s1"), class.p("s4"));
        assert_eq!(got["latestAttempts"], page(4, &[&s3, &s2, &s1, &s4]));

        for (limit, offset) in [(-1, 0), (0, -1), (1001, 0)] {
            let response = class.ask_as(Some(&class.token), ATTEMPTS,
                json!({ "f": null, "limit": limit, "offset": offset, "cell": "c2" })).await;
            assert_eq!(response.error_code(), "BAD_USER_INPUT", "{limit} {offset}");
        }
    }

    async fn student_locations_count_each_students_latest_on_focus_in_the_window(backend) {
        let class = class(backend).await;
        // Latest ON: s1 F7 c3 10:04:30, s2 F12 c1 10:21, s3 F18 c4 10:29, s4 F22 c2 09:31.
        // Until 10:12: s2 F10 c2 10:03, s3 F16 c3 10:10.
        let f0 = json!([located("c1", 1), located("c2", 1), located("c3", 1), located("c4", 1)]);
        let f1 = json!([located("c1", 1), located("c3", 1), located("c4", 1)]);
        let f2 = json!([located("c1", 1), located("c3", 1)]);
        let f4 = json!([located("c3", 1), located("c4", 1)]);
        let f6 = json!([located("c2", 1), located("c3", 2)]);
        check(&class, "studentLocations(filter: $f) { cellId studentCount }", "studentLocations",
            [f0.clone(), f1.clone(), f2, f1, f4, f0, f6]).await;
    }

    async fn connected_students_follow_presence_by_connection_and_the_group_filter(backend) {
        let class = class(backend).await;
        let selection = "connectedStudents(filter: $f)";
        let (group_a, group_b) = (class.group_a.clone(), class.group_b.clone());
        let ask = |filter: Value| class.ask(selection, json!({ "f": filter }));
        assert_eq!(ask(Value::Null).await["connectedStudents"], json!(class.sorted(&["s1", "s3"])));
        assert_eq!(ask(json!({ "groups": [group_a] })).await["connectedStudents"], json!([class.p("s1")]));
        assert_eq!(ask(json!({ "groups": [group_b] })).await["connectedStudents"], json!([class.p("s3")]));
        assert_eq!(ask(json!({ "after": "2024-03-05T10:00:00Z" })).await["connectedStudents"],
            json!(class.sorted(&["s1", "s3"])));

        // s1 has two tabs: closing one keeps them connected, closing both does not; the live
        // filter of the aggregates follows at once (nothing cached).
        let presence = &class.app.state.presence;
        presence.leave(&student_connection(&class.app, "s1", "tab-1")).await.unwrap();
        assert_eq!(ask(Value::Null).await["connectedStudents"], json!(class.sorted(&["s1", "s3"])));
        presence.leave(&student_connection(&class.app, "s1", "tab-2")).await.unwrap();
        assert_eq!(ask(Value::Null).await["connectedStudents"], json!([class.p("s3")]));
        let got = class.ask("codeExecutionsPerCell(filter: $f) \
            { cellId executionCount okExecutionCount focusCount focusOnCount }",
            json!({ "f": { "liveOnly": true } })).await;
        assert_eq!(got["codeExecutionsPerCell"], json!([counts("c1", 1, 0, 0, 0),
            counts("c3", 0, 0, 2, 1), counts("c4", 1, 1, 2, 1), counts("m1", 0, 0, 2, 1),
            counts("x9", 1, 1, 0, 0)]));
    }

    async fn the_notebooks_groups_come_with_their_members_and_the_group_filter(backend) {
        let class = class(backend).await;
        let selection = "groups(filter: $f) { id name memberCount members }";
        let a = json!({ "id": class.group_a, "name": "A", "memberCount": 2,
            "members": class.sorted(&["s1", "s2"]) });
        let b = json!({ "id": class.group_b, "name": "B", "memberCount": 2,
            "members": class.sorted(&["s2", "s3"]) });
        let got = class.ask(selection, json!({ "f": null })).await;
        assert_eq!(got["groups"], json!([a, b]));
        let got = class.ask(selection, json!({ "f": { "groups": [class.group_b] } })).await;
        assert_eq!(got["groups"], json!([b]));
    }

    async fn pending_update_stats_use_the_latest_push_per_cell_and_the_filtered_answers(backend) {
        let class = class(backend).await;
        let update = |cell: &str, id: &str, pushed: &str, now: i64, later: i64, postponed: Vec<Value>| {
            json!({ "cellId": cell, "updateId": id, "pushedAt": ts(pushed), "updateNowCount": now,
                    "updateLaterCount": later, "postponed": postponed })
        };
        let s1 = json!({ "userId": class.p("s1"), "postponedAt": ts("10:16:00"),
            "laterActions": [{ "action": "APPLY_SINGLE", "time": ts("10:18:00") }] });
        let s2 = json!({ "userId": class.p("s2"), "postponedAt": ts("10:15:20"),
            "laterActions": [{ "action": "UPDATE_ALL", "time": ts("10:19:00") },
                             { "action": "UPDATE_LATER", "time": ts("10:19:30") }] });
        let both = if class.p("s1") < class.p("s2") { vec![s1.clone(), s2] } else { vec![s2, s1.clone()] };
        // c2: u2 (pushed 10:14, recorded; its first answer is 10:15) replaces u1 (unrecorded,
        // first answered 10:10); c4: u3 pushed 10:25, never answered; c3's t1 is a teammate
        // share; c1's u0 (unrecorded) is dated by s4's answer, before the window. The push is
        // found whatever the student filter; the answers are filtered.
        let c2 = |now, later, postponed| update("c2", "u2", "10:14:00", now, later, postponed);
        let c1 = |now| update("c1", "u0", "09:35:00", now, 0, vec![]);
        let c4 = update("c4", "u3", "10:25:00", 0, 0, vec![]);
        let f0 = json!([c1(1), c2(1, 2, both.clone()), c4]);
        let f1 = json!([c2(1, 2, both.clone()), c4]);
        let f2 = json!([c1(0), c2(0, 2, both.clone()), c4]);
        let f3 = json!([c1(0), c2(1, 2, both), c4]);
        let f4 = json!([c1(0), c2(1, 1, vec![s1]), c4]);
        // (10:00, 10:12]: u2's and u3's pushes are later; u1 (10:10) is the latest.
        let f6 = json!([update("c2", "u1", "10:10:00", 1, 1, vec![json!({ "userId": class.p("s2"),
            "postponedAt": ts("10:10:30"), "laterActions": [] })])]);
        let selection = "pendingUpdateStats(filter: $f) { cellId updateId pushedAt updateNowCount \
            updateLaterCount postponed { userId postponedAt laterActions { action time } } }";
        check(&class, selection, "pendingUpdateStats", [f0.clone(), f1, f2, f3, f4, f0, f6]).await;
    }

    async fn event_counts_give_each_kind_with_its_first_and_last_time(backend) {
        let class = class(backend).await;
        let kind = |name: &str, count: i64, first: Option<&str>, last: Option<&str>| json!({
            "kind": name, "count": count, "firstEventAt": first.map(ts), "lastEventAt": last.map(ts) });
        let all = |total: i64, first: &str, last: &str, kinds: [Value; 6]| json!({
            "totalCount": total, "firstEventAt": ts(first), "lastEventAt": ts(last), "kinds": kinds });
        let md = kind("MARKDOWN_EXECUTION", 1, Some("10:06:00"), Some("10:06:00"));
        let alteration = kind("CELL_ALTERATION", 1, Some("10:08:00"), Some("10:08:00"));
        let f0 = all(48, "09:28:00", "10:30:00", [
            kind("CODE_EXECUTION", 12, Some("09:30:00"), Some("10:30:00")), md.clone(),
            kind("CELL_FOCUS", 22, Some("09:28:00"), Some("10:29:50")),
            kind("NOTEBOOK_FOCUS", 2, Some("09:40:00"), Some("10:00:00")), alteration.clone(),
            kind("PENDING_UPDATE_INTERACTION", 10, Some("09:35:00"), Some("10:20:00"))]);
        // N1 at exactly 10:00:00 is outside `after` = 10:00 (exclusive); E10 at 10:30 inside.
        let f1 = all(40, "10:00:20", "10:30:00", [
            kind("CODE_EXECUTION", 10, Some("10:00:30"), Some("10:30:00")), md.clone(),
            kind("CELL_FOCUS", 19, Some("10:00:20"), Some("10:29:50")),
            kind("NOTEBOOK_FOCUS", 0, None, None), alteration.clone(),
            kind("PENDING_UPDATE_INTERACTION", 9, Some("10:10:00"), Some("10:20:00"))]);
        let n1 = kind("NOTEBOOK_FOCUS", 1, Some("10:00:00"), Some("10:00:00"));
        let f2 = all(30, "10:00:00", "10:22:00", [
            kind("CODE_EXECUTION", 7, Some("10:00:30"), Some("10:05:00")), md.clone(),
            kind("CELL_FOCUS", 13, Some("10:00:20"), Some("10:22:00")), n1.clone(), alteration.clone(),
            kind("PENDING_UPDATE_INTERACTION", 7, Some("10:10:00"), Some("10:19:30"))]);
        let f3 = all(41, "10:00:00", "10:30:00", [
            kind("CODE_EXECUTION", 10, Some("10:00:30"), Some("10:30:00")), md.clone(),
            kind("CELL_FOCUS", 19, Some("10:00:20"), Some("10:29:50")), n1.clone(), alteration.clone(),
            kind("PENDING_UPDATE_INTERACTION", 9, Some("10:10:00"), Some("10:20:00"))]);
        let f4 = all(27, "10:00:00", "10:30:00", [
            kind("CODE_EXECUTION", 7, Some("10:00:30"), Some("10:30:00")),
            kind("MARKDOWN_EXECUTION", 0, None, None),
            kind("CELL_FOCUS", 13, Some("10:00:20"), Some("10:29:50")), n1, alteration.clone(),
            kind("PENDING_UPDATE_INTERACTION", 5, Some("10:10:00"), Some("10:20:00"))]);
        let f6 = all(27, "10:00:20", "10:10:40", [
            kind("CODE_EXECUTION", 9, Some("10:00:30"), Some("10:05:00")), md,
            kind("CELL_FOCUS", 14, Some("10:00:20"), Some("10:10:40")),
            kind("NOTEBOOK_FOCUS", 0, None, None), alteration,
            kind("PENDING_UPDATE_INTERACTION", 2, Some("10:10:00"), Some("10:10:30"))]);
        let selection = "eventCounts(filter: $f) { totalCount firstEventAt lastEventAt \
            kinds { kind count firstEventAt lastEventAt } }";
        check(&class, selection, "eventCounts", [f0.clone(), f1, f2, f3, f4, f0, f6]).await;
    }

    async fn every_field_is_unauthenticated_without_a_token_and_forbidden_to_another_teacher(backend) {
        let class = class(backend).await;
        for field in FIELDS {
            let response = class.ask_as(None, field, json!({})).await;
            assert_eq!(response.error_code(), "UNAUTHENTICATED", "{field}");
            let response = class.ask_as(Some(&class.other_token), field, json!({})).await;
            assert_eq!(response.error_code(), "FORBIDDEN", "{field}");
            let response = class.ask_as(Some(&class.token), field, json!({})).await;
            assert!(response.errors().is_empty(), "{field}: {}", response.body);
        }
        // Through the viewer's own notebook list the fields answer only for their notebooks.
        let response = class.app.graphql_as(&class.other_token,
            "{ notebooks { id eventCounts { totalCount } } }", json!({})).await;
        assert_eq!(response.data()["notebooks"], json!([{ "id": class::OTHER,
            "eventCounts": { "totalCount": 0 } }]));
    }

    async fn a_filter_with_a_foreign_or_unknown_group_or_a_reversed_window_is_bad_user_input(backend) {
        let class = class(backend).await;
        let foreign = class.app.graphql_as(&class.other_token,
            r#"mutation { createGroup(notebookId: "nb-other", name: "X", userIds: []) { id } }"#,
            json!({})).await;
        let foreign = foreign.data()["createGroup"]["id"].clone();
        let filters = [
            json!({ "groups": [class.group_a, foreign] }),
            json!({ "groups": ["999999"] }),
            json!({ "groups": ["not-a-number"] }),
            json!({ "after": "2024-03-05T10:30:00Z", "until": "2024-03-05T10:00:00Z" }),
            json!({ "after": "2024-03-05T10:30:00Z", "until": "2024-03-05T10:30:00Z" }),
        ];
        for filter in filters {
            for field in ["codeExecutionsPerCell(filter: $f) { cellId }",
                          "pendingUpdateStats(filter: $f) { cellId }",
                          "connectedStudents(filter: $f)"] {
                let response = class.ask_as(Some(&class.token), field, json!({ "f": filter })).await;
                assert_eq!(response.error_code(), "BAD_USER_INPUT", "{field} {filter}");
            }
        }
    }

    async fn the_progress_series_equals_a_plain_reference_on_a_randomized_class_of_50(backend) {
        reference::randomized_class_matches(backend).await;
    }
}
