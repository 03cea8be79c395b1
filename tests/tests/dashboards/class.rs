//! The hand-computed class: 4 students, cells c1–c5 (+ markdown m1, + x9 outside the notebook's
//! order), two groups sharing s2, s4 active only before the window, s1 and s3 connected.
//! Every event is listed here with a label the expectations in `dashboards.rs` refer to.
//! All times are on 2024-03-05 (UTC).
//!
//! Code executions (label student cell status tFinish input outputLength):
//!   E1 s1 c1 ok 10:00:30 "a = 1" 0        E7 s2 c5 ok 10:04:10 "plot()" 120 (c5 never focused)
//!   E2 s1 c2 error 10:02:50 "b = 1/0" 40  E8 s3 c1 error 10:02:05 "a == 1" 30
//!   E3 s1 c2 ok 10:02:50 "b = 1" 3        E9 s3 x9 ok 10:03:30 "scratch" 0 (x9 not in the order)
//!      (same tFinish as E2, recorded after it: E3 is s1's latest c2 attempt)
//!   E4 s1 c3 ok 10:05:00 "print(a + b)" 2 E10 s3 c4 ok 10:30:00 "df.head()" 300 (= until of W)
//!   E5 s2 c1 ok 10:01:40 "a=1" 0          E11 s4 c1 ok 09:30:00 "a = 4" 0
//!   E6 s2 c2 ok 10:03:20 "b = 2 # ok" 12  E12 s4 c2 ok 09:31:00 "b = 4" 7
//! Cell focus (label student type cell time duration):
//!   s1: F1 ON c1 10:00:20, F2 OFF c1 10:01:20 60, F3 ON c2 10:02:00, F4 OFF c2 10:03:00 60,
//!       F5 ON c2 10:03:10, F6 OFF c2 10:04:10 30, F7 ON c3 10:04:30
//!   s2: F8 ON c1 10:01:30, F9 OFF c1 10:02:00 30, F10 ON c2 10:03:00,
//!       F11 OFF c2 10:20:00 6000 (outlier), F12 ON c1 10:21:00, F13 OFF c1 10:22:00 90
//!   s3: F14 ON m1 10:07:00, F15 OFF m1 10:07:20 20, F16 ON c3 10:10:00, F17 OFF c3 10:10:40 40,
//!       F18 ON c4 10:29:00, F19 OFF c4 10:29:50 5000 (kept: only > 5000 is an outlier)
//!   s4: F20 ON c1 09:28:00, F21 OFF c1 09:29:30 90, F22 ON c2 09:31:00
//! Notebook focus: N1 s1 ON 10:00:00 (exactly `after` of W: outside), N2 s4 OFF 09:40:00 600.
//! Markdown: M1 s2 m1 10:06:00. Alteration: A1 s1 ADD 10:08:00.
//! Pending-update interactions (teacher unless said):
//!   P1 s1 UPDATE_NOW c2 u1 10:10:00     P6 s1 APPLY_SINGLE c2 u2 10:18:00
//!   P2 s2 UPDATE_LATER c2 u1 10:10:30   P7 s2 UPDATE_ALL (no cell, no update) 10:19:00
//!   P3 s3 UPDATE_NOW c2 u2 10:15:00     P8 s2 UPDATE_LATER c2 u2 10:19:30
//!   P4 s2 UPDATE_LATER c2 u2 10:15:20   P9 s3 UPDATE_NOW c3 t1 10:20:00 (teammate share)
//!   P5 s1 UPDATE_LATER c2 u2 10:16:00   P10 s4 UPDATE_NOW c1 u0 09:35:00
//! Recorded pushes: R1 c2 u2 10:14:00 (before its first answer P3), R2 c4 u3 10:25:00 (never
//! answered); u1 and u0 have no recorded push (as imported data): their first answer dates them.
//! Groups: gA = {s1, s2}, gB = {s2, s3}. Connected: s1 (two tabs), s3.

use std::collections::HashMap;

use api::{
    auth::Role,
    broker::presence::{Connection, PresenceRole},
};
use serde_json::{Value, json};
use tests::{Backend, TestApp};

pub const NB: &str = "nb-dash";
pub const OTHER: &str = "nb-other";
pub const DAY: &str = "2024-03-05";

/// `HH:MM:SS` of the class day as the API writes times.
pub fn ts(time: &str) -> String {
    format!("{DAY}T{time}+00:00")
}

pub struct Class {
    pub app: TestApp,
    /// The teacher (a superuser who uploaded the notebook).
    pub token: String,
    /// A teacher of another notebook only.
    pub other_token: String,
    pub group_a: String,
    pub group_b: String,
    pseudonyms: HashMap<String, String>,
}

impl Class {
    /// Pseudonym of `s1` … `s4`.
    pub fn p(&self, student: &str) -> String {
        self.pseudonyms[student].clone()
    }

    /// Pseudonyms of `students`, sorted (the order of every per-student list).
    pub fn sorted(&self, students: &[&str]) -> Vec<String> {
        let mut list: Vec<String> = students.iter().map(|s| self.p(s)).collect();
        list.sort();
        list
    }

    /// Runs `selection` on the notebook with `filter` (and extra variables), as the teacher.
    pub async fn ask(&self, selection: &str, variables: Value) -> Value {
        let response = self.ask_as(Some(&self.token), selection, variables).await;
        response.data()["notebook"].clone()
    }

    /// Declares exactly the variables given (GraphQL refuses unused ones), plus `$nb`.
    pub async fn ask_as(
        &self,
        token: Option<&str>,
        selection: &str,
        mut variables: Value,
    ) -> tests::GraphQLResponse {
        let vars = variables.as_object_mut().unwrap();
        vars.entry("nb").or_insert(json!(NB));
        let defaults = [
            ("f", Value::Null),
            ("start", json!(format!("{DAY}T10:00:00Z"))),
            ("end", json!(format!("{DAY}T10:06:00Z"))),
            ("cell", json!("c2")),
            ("sort", json!("TIME")),
            ("dir", json!("DESC")),
            ("limit", json!(50)),
            ("offset", json!(0)),
        ];
        for (name, value) in defaults {
            if selection.contains(&format!("${name}")) {
                vars.entry(name).or_insert(value);
            }
        }
        let types = [
            ("nb", "ID!"),
            ("f", "AnalyticsFilter"),
            ("order", "[String!]"),
            ("start", "DateTime!"),
            ("end", "DateTime!"),
            ("cell", "String!"),
            ("sort", "AttemptSort!"),
            ("dir", "SortDirection!"),
            ("limit", "Int!"),
            ("offset", "Int!"),
        ];
        let declared: Vec<String> = types
            .iter()
            .filter(|(name, _)| vars.contains_key(*name))
            .map(|(name, kind)| format!("${name}: {kind}"))
            .collect();
        let query = format!(
            "query({}) {{ notebook(id: $nb) {{ {selection} }} }}",
            declared.join(", ")
        );
        match token {
            Some(token) => self.app.graphql_as(token, &query, variables).await,
            None => self.app.graphql(&query, variables).await,
        }
    }

    /// The filters every aggregate is checked under, by name.
    pub fn filters(&self) -> Vec<(&'static str, Value)> {
        let at = |time: &str| json!(format!("{DAY}T{time}Z"));
        vec![
            ("F0 none", Value::Null),
            (
                "F1 window W",
                json!({ "after": at("10:00:00"), "until": at("10:30:00") }),
            ),
            ("F2 group A", json!({ "groups": [self.group_a] })),
            (
                "F3 groups A+B",
                json!({ "groups": [self.group_a, self.group_b] }),
            ),
            ("F4 live", json!({ "liveOnly": true })),
            (
                "F5 live ignored",
                json!({ "liveOnly": true, "until": at("10:30:00") }),
            ),
            (
                "F6 early window",
                json!({ "after": at("10:00:00"), "until": at("10:12:00") }),
            ),
        ]
    }
}

/// A minimal nbformat 4.5 notebook with cells c1–c5 (code) and m1 (markdown), tagged `NB`.
fn notebook_file() -> Vec<u8> {
    let code = |id: &str| {
        json!({"id": id, "cell_type": "code", "source": "", "metadata": {},
                                  "outputs": [], "execution_count": null})
    };
    let notebook = json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": { "unianalytics_notebook_id": NB },
        "cells": [code("c1"), code("c2"), code("c3"), code("c4"), code("c5"),
                  {"id": "m1", "cell_type": "markdown", "source": "# End", "metadata": {}}],
    });
    serde_json::to_vec(&notebook).unwrap()
}

pub async fn class(backend: Backend) -> Class {
    let app = TestApp::spawn(backend).await;
    let token = app.user_token("teacher", Role::Superuser).await;
    let uploaded = app
        .upload_notebook(Some(&token), "class.ipynb", notebook_file(), None, true)
        .await;
    assert_eq!(uploaded.data()["uploadNotebook"]["notebook"]["id"], NB);
    app.register_notebook(OTHER).await;
    let other_token = app.user_token("other-teacher", Role::User).await;
    app.authorize("other-teacher", OTHER).await;
    let pseudonyms = ["s1", "s2", "s3", "s4"]
        .iter()
        .map(|s| (s.to_string(), app.pseudonym(&raw(s))))
        .collect();
    let group_a = create_group(&app, &token, "A", &["s1", "s2"]).await;
    let group_b = create_group(&app, &token, "B", &["s2", "s3"]).await;
    record(&app, first_events()).await;
    // Recorded after E2 with the same tFinish: the tie goes to the later-recorded E3.
    record(
        &app,
        vec![exec("E3", "s1", "c2", "OK", "10:02:50", "b = 1", 3)],
    )
    .await;
    record_push(&app, "c2", "u2", "10:14:00").await;
    record_push(&app, "c4", "u3", "10:25:00").await;
    for (user, tab) in [("s1", "tab-1"), ("s1", "tab-2"), ("s3", "tab-1")] {
        let connection = student_connection(&app, user, tab);
        app.state.presence.join(&connection).await.unwrap();
    }
    Class {
        app,
        token,
        other_token,
        group_a,
        group_b,
        pseudonyms,
    }
}

/// A push as the live push records it.
async fn record_push(app: &TestApp, cell: &str, update: &str, time: &str) {
    use sea_orm::{ActiveModelTrait, Set};
    let notebook = api::services::notebooks::get_by_public_id(&app.state.db, NB)
        .await
        .unwrap();
    entity::pushed_update::ActiveModel {
        notebook_id: Set(notebook.id),
        update_id: Set(update.to_owned()),
        cell_id: Set(cell.to_owned()),
        sender: Set(app.pseudonym("teacher")),
        pushed_at: Set(chrono::DateTime::parse_from_rfc3339(&at(time))
            .unwrap()
            .to_utc()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

pub fn student_connection(app: &TestApp, student: &str, tab: &str) -> Connection {
    Connection {
        notebook_id: NB.to_owned(),
        role: PresenceRole::Student,
        user: app.pseudonym(&raw(student)),
        id: format!("{student}-{tab}"),
    }
}

fn raw(student: &str) -> String {
    format!("raw-student-{student}")
}

async fn create_group(app: &TestApp, token: &str, name: &str, students: &[&str]) -> String {
    let query = r#"mutation($nb: ID!, $name: String!, $users: [String!]!) {
        createGroup(notebookId: $nb, name: $name, userIds: $users) { id } }"#;
    let users: Vec<String> = students.iter().map(|s| raw(s)).collect();
    let response = app
        .graphql_as(
            token,
            query,
            json!({ "nb": NB, "name": name, "users": users }),
        )
        .await;
    response.data()["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn record(app: &TestApp, events: Vec<Value>) {
    let query = r#"mutation($events: [EventInput!]!) {
        recordEvents(events: $events) { acceptedCount } }"#;
    for chunk in events.chunks(1000) {
        let response = app.graphql(query, json!({ "events": chunk })).await;
        assert_eq!(
            response.data()["recordEvents"]["acceptedCount"],
            chunk.len()
        );
    }
}

fn at(time: &str) -> String {
    format!("{DAY}T{time}Z")
}

fn source(student: &str) -> Value {
    json!({ "notebookId": NB, "userId": raw(student) })
}

fn with(student: &str, fields: Value) -> Value {
    let mut event = source(student);
    event
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    event
}

/// A code execution finishing at `finish` (started a second earlier).
pub fn exec(
    _label: &str,
    student: &str,
    cell: &str,
    status: &str,
    finish: &str,
    input: &str,
    output_length: i32,
) -> Value {
    let finish_time = chrono::DateTime::parse_from_rfc3339(&at(finish)).unwrap();
    let start = (finish_time - chrono::TimeDelta::seconds(1)).to_rfc3339();
    json!({ "codeExecution": with(student, json!({
        "cellId": format!("copy-{cell}"), "origCellId": cell,
        "tStart": start, "tFinish": at(finish), "status": status, "cellInput": input,
        "cellOutputModel": [{"output_type": "stream", "name": "stdout", "text": input}],
        "cellOutputLength": output_length, "languageMimetype": "text/x-python" })) })
}

fn focus(student: &str, kind: &str, cell: &str, time: &str, duration: Option<f64>) -> Value {
    json!({ "cellFocus": with(student, json!({
        "cellId": format!("copy-{cell}"), "origCellId": cell, "clickType": kind,
        "time": at(time), "clickDuration": duration })) })
}

fn pending(student: &str, action: &str, cell_update: Option<(&str, &str)>, time: &str) -> Value {
    let (cell, update) = cell_update.unzip();
    let sender_type = if update == Some("t1") {
        "TEAMMATE"
    } else {
        "TEACHER"
    };
    json!({ "pendingUpdateInteraction": with(student, json!({
        "cellId": cell, "updateId": update, "action": action, "time": at(time),
        "sender": "teacher-pseudonym", "senderType": sender_type })) })
}

fn first_events() -> Vec<Value> {
    vec![
        exec("E1", "s1", "c1", "OK", "10:00:30", "a = 1", 0),
        exec("E2", "s1", "c2", "ERROR", "10:02:50", "b = 1/0", 40),
        exec("E4", "s1", "c3", "OK", "10:05:00", "print(a + b)", 2),
        exec("E5", "s2", "c1", "OK", "10:01:40", "a=1", 0),
        exec("E6", "s2", "c2", "OK", "10:03:20", "b = 2 # ok", 12),
        exec("E7", "s2", "c5", "OK", "10:04:10", "plot()", 120),
        exec("E8", "s3", "c1", "ERROR", "10:02:05", "a == 1", 30),
        exec("E9", "s3", "x9", "OK", "10:03:30", "scratch", 0),
        exec("E10", "s3", "c4", "OK", "10:30:00", "df.head()", 300),
        exec("E11", "s4", "c1", "OK", "09:30:00", "a = 4", 0),
        exec("E12", "s4", "c2", "OK", "09:31:00", "b = 4", 7),
        focus("s1", "ON", "c1", "10:00:20", None),
        focus("s1", "OFF", "c1", "10:01:20", Some(60.0)),
        focus("s1", "ON", "c2", "10:02:00", None),
        focus("s1", "OFF", "c2", "10:03:00", Some(60.0)),
        focus("s1", "ON", "c2", "10:03:10", None),
        focus("s1", "OFF", "c2", "10:04:10", Some(30.0)),
        focus("s1", "ON", "c3", "10:04:30", None),
        focus("s2", "ON", "c1", "10:01:30", None),
        focus("s2", "OFF", "c1", "10:02:00", Some(30.0)),
        focus("s2", "ON", "c2", "10:03:00", None),
        focus("s2", "OFF", "c2", "10:20:00", Some(6000.0)),
        focus("s2", "ON", "c1", "10:21:00", None),
        focus("s2", "OFF", "c1", "10:22:00", Some(90.0)),
        focus("s3", "ON", "m1", "10:07:00", None),
        focus("s3", "OFF", "m1", "10:07:20", Some(20.0)),
        focus("s3", "ON", "c3", "10:10:00", None),
        focus("s3", "OFF", "c3", "10:10:40", Some(40.0)),
        focus("s3", "ON", "c4", "10:29:00", None),
        focus("s3", "OFF", "c4", "10:29:50", Some(5000.0)),
        focus("s4", "ON", "c1", "09:28:00", None),
        focus("s4", "OFF", "c1", "09:29:30", Some(90.0)),
        focus("s4", "ON", "c2", "09:31:00", None),
        json!({ "notebookFocus": with("s1", json!({ "clickType": "ON", "time": at("10:00:00") })) }),
        json!({ "notebookFocus": with("s4", json!({
            "clickType": "OFF", "time": at("09:40:00"), "clickDuration": 600.0 })) }),
        json!({ "markdownExecution": with("s2", json!({
            "cellId": "copy-m1", "origCellId": "m1", "time": at("10:06:00"), "cellContent": "# End" })) }),
        json!({ "cellAlteration": with("s1", json!({
            "cellId": "copy-new", "alterationType": "ADD", "time": at("10:08:00") })) }),
        pending("s1", "UPDATE_NOW", Some(("c2", "u1")), "10:10:00"),
        pending("s2", "UPDATE_LATER", Some(("c2", "u1")), "10:10:30"),
        pending("s3", "UPDATE_NOW", Some(("c2", "u2")), "10:15:00"),
        pending("s2", "UPDATE_LATER", Some(("c2", "u2")), "10:15:20"),
        pending("s1", "UPDATE_LATER", Some(("c2", "u2")), "10:16:00"),
        pending("s1", "APPLY_SINGLE", Some(("c2", "u2")), "10:18:00"),
        pending("s2", "UPDATE_ALL", None, "10:19:00"),
        pending("s2", "UPDATE_LATER", Some(("c2", "u2")), "10:19:30"),
        pending("s3", "UPDATE_NOW", Some(("c3", "t1")), "10:20:00"),
        pending("s4", "UPDATE_NOW", Some(("c1", "u0")), "09:35:00"),
    ]
}

/// `assert_eq!` with [`tests::close`] numbers.
#[macro_export]
macro_rules! assert_close {
    ($got:expr, $expected:expr, $($message:tt)+) => {{
        let (got, expected) = (&$got, &$expected);
        assert!(
            tests::close(got, expected),
            "{}\n  got: {got}\n want: {expected}",
            format!($($message)+)
        );
    }};
}
