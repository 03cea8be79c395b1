//! `focusDurationsPerCell` pages large enough to be read on two PostgreSQL connections at
//! once (pages that may hold 20 000 durations or more): the same pages and totals as one read
//! would give, from one snapshot. On SQLite, which reads them on one connection, the same
//! answers.

use api::auth::Role;
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const NB: &str = "nb-duration-pages";
const RECORD: &str = "mutation($e: [EventInput!]!) { recordEvents(events: $e) { acceptedCount } }";

/// A kept (or, over 5 000 s, not kept) duration of `cell` by `student`, `second`s into the class.
fn off(student: &str, cell: &str, seconds: f64, second: usize) -> Value {
    json!({ "cellFocus": { "notebookId": NB, "userId": student, "cellId": cell, "origCellId": cell,
        "clickType": "OFF", "clickDuration": seconds,
        "time": format!("2026-11-24T{:02}:{:02}:{:02}Z", 8 + second / 3600, second / 60 % 60, second % 60) } })
}

backend_tests! {
    async fn full_pages_read_in_parts_have_their_durations_and_totals(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        // Twelve cells of 1 700 kept durations each (c07 1 750), every cell also with a
        // duration over 5 000 s, which is not kept: pages of 10 at offset 1 690 may hold
        // 12 × 1 700 durations, so they are read in parts, and the first part's four full
        // pages have every cell's total summed while the rest is read.
        let cells: Vec<String> = (1..=12).map(|n| format!("c{n:02}")).collect();
        let kept = |cell: &str| if cell == "c07" { 1750 } else { 1700 };
        let duration = |cell: usize, n: usize| (cell * 7 + n * 13) as f64 % 4999.0 + 0.5;
        let mut events = Vec::new();
        for (index, cell) in cells.iter().enumerate() {
            for n in 0..kept(cell) {
                events.push(off("s1", cell, duration(index, n), n));
            }
            events.push(off("s1", cell, 5000.5, 3000));
        }
        for (batch, chunk) in events.chunks(1000).enumerate() {
            let mut chunk = chunk.to_vec();
            // A student per batch, under the ingest rate limit of each.
            for event in &mut chunk {
                event["cellFocus"]["userId"] = json!(format!("s{batch}"));
            }
            let recorded = app.graphql(RECORD, json!({ "e": chunk })).await;
            assert_eq!(recorded.data()["recordEvents"]["acceptedCount"], chunk.len());
        }
        let query = r#"query($nb: ID!) { notebook(id: $nb) {
            focusDurationsPerCell(limit: 10, offset: 1690) { cellId durations totalCount } } }"#;
        let got = app.graphql_as(&token, query, json!({ "nb": NB })).await;
        let expected: Vec<Value> = cells.iter().enumerate().map(|(index, cell)| {
            let page: Vec<f64> = (1690..1700).map(|n| duration(index, n)).collect();
            json!({ "cellId": cell, "durations": page, "totalCount": kept(cell) })
        }).collect();
        assert_eq!(got.data()["notebook"]["focusDurationsPerCell"], json!(expected));
    }

    async fn pages_read_while_events_arrive_all_come_from_one_snapshot(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        // Each batch gives every cell one more duration in one transaction, so any one
        // snapshot holds as many durations for each cell. Pages of 10 000 from four cells are
        // read in halves on two PostgreSQL connections: a half that saw a later snapshot than
        // the other would hold more.
        let cells = ["c1", "c2", "c3", "c4"];
        // A student per ten batches, under the ingest rate limit of each.
        let batch = |n: usize| -> Value {
            cells.iter().map(|cell| json!({ "cellFocus": { "notebookId": NB, "userId": format!("s{}", n % 10),
                "cellId": cell, "origCellId": cell, "clickType": "OFF", "clickDuration": n as f64,
                "time": format!("2026-11-24T10:{:02}:{:02}Z", n / 60, n % 60) } })).collect()
        };
        const BATCHES: usize = 120;
                let writer = async {
            for n in 0..BATCHES {
                let recorded = app.graphql(RECORD, json!({ "e": batch(n) })).await;
                assert_eq!(recorded.data()["recordEvents"]["acceptedCount"], cells.len());
            }
        };
        let query = r#"query($nb: ID!) { notebook(id: $nb) {
            focusDurationsPerCell(limit: 10000) { cellId durations } } }"#;
        let reader = async {
            let mut lengths_seen = std::collections::BTreeSet::new();
            loop {
                let got = app.graphql_as(&token, query, json!({ "nb": NB })).await;
                let pages = got.data()["notebook"]["focusDurationsPerCell"].clone();
                let lengths: Vec<usize> = pages.as_array().unwrap().iter()
                    .map(|page| page["durations"].as_array().unwrap().len())
                    .collect();
                let length = lengths.first().copied().unwrap_or(0);
                if length > 0 {
                    assert_eq!(lengths, vec![length; cells.len()], "one snapshot: {pages}");
                }
                lengths_seen.insert(length);
                if length == BATCHES {
                    return lengths_seen;
                }
            }
        };
        let ((), lengths_seen) = tokio::join!(writer, reader);
        assert!(lengths_seen.len() > 10, "the reads overlapped the writes: {lengths_seen:?}");
    }

}
