//! The focus-duration summary per cell, computed on the server, equals what a dashboard would
//! compute from the raw durations (`focusDurationsPerCell`): count, extremes, exclusive
//! quartiles, mean and the fixed-edge histogram, on both backends.

use api::{
    auth::Role,
    broker::presence::{Connection, PresenceRole},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};

const NB: &str = "nb-distributions";
const EDGES: [f64; 12] = [
    0.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 5000.0,
];

async fn off(app: &TestApp, student: &str, cell: &str, seconds: f64, n: usize) {
    let event = json!({ "notebookId": NB, "userId": student, "cellId": cell, "origCellId": cell,
        "clickType": "OFF", "clickDuration": seconds, "time": format!("2026-11-24T10:{:02}:00Z", n % 60) });
    let mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }";
    app.graphql(mutation, json!({ "e": event })).await.data();
}

/// Python's `statistics.quantiles(data, n=4)` (exclusive), written from its source: the
/// position `i (n + 1) / 4` is clamped to the ranks 1 to n - 1 and its fraction is kept, so two
/// values extrapolate.
fn quartiles(sorted: &[f64]) -> (f64, f64, f64) {
    let n = sorted.len();
    if n == 1 {
        return (sorted[0], sorted[0], sorted[0]);
    }
    let m = n as f64 + 1.0;
    let at = |p: f64| {
        let low = (p * m).floor().clamp(1.0, (n - 1) as f64);
        let fraction = p * m - low;
        sorted[low as usize - 1] + fraction * (sorted[low as usize] - sorted[low as usize - 1])
    };
    (at(0.25), at(0.5), at(0.75))
}

fn expected(cell: &str, raw: &[f64]) -> Value {
    let mut sorted = raw.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (q1, median, q3) = quartiles(&sorted);
    let mean = (raw.iter().sum::<f64>() / raw.len() as f64 * 1e6).round() / 1e6;
    let histogram: Vec<Value> = EDGES
        .windows(2)
        .enumerate()
        .map(|(i, edge)| {
            let last = i == EDGES.len() - 2;
            let count = raw
                .iter()
                .filter(|d| **d >= edge[0] && (**d < edge[1] || last && **d <= edge[1]))
                .count();
            json!({ "from": edge[0], "to": edge[1], "count": count })
        })
        .collect();
    json!({ "cellId": cell, "count": raw.len(), "min": sorted[0], "firstQuartile": q1, "median": median,
        "thirdQuartile": q3, "max": sorted[sorted.len() - 1], "mean": mean, "histogram": histogram })
}

/// The notebook's summaries, and what `expected` computes from its raw durations.
async fn summary_and_oracle(app: &TestApp, token: &str) -> (Value, Vec<Value>) {
    let query = r#"query($nb: ID!) { notebook(id: $nb) {
        focusDurationsPerCell(limit: 10000) { cellId durations }
        focusDurationSummary { cellId count min firstQuartile median thirdQuartile max mean
            histogram { from to count } } } }"#;
    let answer = app.graphql_as(token, query, json!({ "nb": NB })).await;
    let notebook = answer.data()["notebook"].clone();
    let oracle: Vec<Value> = notebook["focusDurationsPerCell"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            let raw: Vec<f64> = cell["durations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_f64().unwrap())
                .collect();
            expected(cell["cellId"].as_str().unwrap(), &raw)
        })
        .collect();
    (notebook, oracle)
}

backend_tests! {
    async fn the_duration_summary_equals_the_one_computed_from_the_raw_durations(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        let c1 = [1.0, 2.0, 3.0, 4.0, 5.0, 100.0, 2.5, 4999.0, 5000.0];
        for (n, seconds) in c1.iter().enumerate() {
            off(&app, &format!("s{}", n % 3), "c1", *seconds, n).await;
        }
        off(&app, "s1", "c2", 7.25, 20).await;
        off(&app, "s1", "c2", 6000.0, 21).await; // an outlier: not counted
        // Outliers in the tenth of the limit (5000.0 to 5000.1): not counted either.
        off(&app, "s2", "c1", 5000.05, 22).await;
        off(&app, "s0", "c1", 5000.000000000001, 23).await;
        let (notebook, oracle) = summary_and_oracle(&app, &token).await;
        assert_eq!(notebook["focusDurationSummary"], json!(oracle));
        // The hand-checked numbers of c1: 1, 2, 2.5, 3, 4, 5, 100, 4999, 5000.
        let c1 = &notebook["focusDurationSummary"][0];
        assert_eq!((c1["count"].clone(), c1["median"].clone()), (json!(9), json!(4.0)));
        assert_eq!((c1["firstQuartile"].clone(), c1["thirdQuartile"].clone()), (json!(2.25), json!(2549.5)));
        assert_eq!(c1["histogram"][0]["count"], 5);
        assert_eq!(c1["histogram"][10]["count"], 2, "4999 and 5000 in the last bucket");
        assert_eq!(c1["max"], 5000.0);
        assert_eq!(notebook["focusDurationSummary"][1]["count"], 1);
    }

    async fn the_summary_of_many_durations_sharing_whole_seconds_equals_the_raw_ones(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        // Per cell a different count (odd, even, tiny), most durations in a few whole seconds
        // (so ranks fall inside seconds shared by many), some on the histogram's edges. The
        // unmapped cell ("", events without an original cell id) is read on its own path.
        let mut rng = StdRng::seed_from_u64(7);
        let mut events = Vec::new();
        for (cell, count) in [("c1", 301), ("c2", 120), ("c3", 2), ("c4", 1), ("", 151)] {
            let orig_cell = (!cell.is_empty()).then_some(cell);
            for n in 0..count {
                let seconds = match rng.random_range(0..4) {
                    0 => EDGES[rng.random_range(0..EDGES.len())],
                    1 => f64::from(rng.random_range(0..5_000_000u32)) / 1000.0,
                    _ => f64::from(rng.random_range(3_000..9_000u32)) / 1000.0,
                };
                events.push(json!({ "cellFocus": { "notebookId": NB, "userId": format!("s{}", n % 7),
                    "cellId": "copied-cell", "origCellId": orig_cell, "clickType": "OFF", "clickDuration": seconds,
                    "time": format!("2026-11-24T10:{:02}:{:02}Z", n / 60 % 60, n % 60) } }));
            }
        }
        let mutation = "mutation($events: [EventInput!]!) { recordEvents(events: $events) { acceptedCount } }";
        app.graphql(mutation, json!({ "events": events })).await.data();
        let (notebook, oracle) = summary_and_oracle(&app, &token).await;
        assert_eq!(oracle.len(), 5);
        assert_eq!(oracle[0]["cellId"], "");
        let summaries = notebook["focusDurationSummary"].as_array().unwrap();
        assert_eq!(summaries.len(), 5);
        for (summary, expected) in summaries.iter().zip(&oracle) {
            // The oracle interpolates a quartile by another (equal) formula than Python's,
            // which the server follows: the two may differ in the last bit.
            for (key, value) in expected.as_object().unwrap() {
                match (summary[key].as_f64(), value.as_f64()) {
                    (Some(got), Some(want)) => assert!(
                        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                        "{key} of {}: {got} against {want}", expected["cellId"]
                    ),
                    _ => assert_eq!(&summary[key], value, "{key} of {}", expected["cellId"]),
                }
            }
        }
    }

    async fn raw_durations_come_in_bounded_pages_per_cell_with_their_total(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        for n in 0..7 {
            off(&app, "s1", "c1", f64::from(n as u32) + 0.5, n).await;
        }
        off(&app, "s2", "c2", 9.0, 30).await;
        let query = r#"query($nb: ID!, $limit: Int!, $offset: Int!) { notebook(id: $nb) {
            focusDurationsPerCell(limit: $limit, offset: $offset) { cellId durations totalCount } } }"#;
        let page = app.graphql_as(&token, query, json!({ "nb": NB, "limit": 3, "offset": 2 })).await;
        assert_eq!(page.data()["notebook"]["focusDurationsPerCell"], json!([
            { "cellId": "c1", "durations": [2.5, 3.5, 4.5], "totalCount": 7 }
        ]), "c2 has no third value: its page is empty");
        let last = app.graphql_as(&token, query, json!({ "nb": NB, "limit": 5, "offset": 4 })).await;
        assert_eq!(last.data()["notebook"]["focusDurationsPerCell"], json!([
            { "cellId": "c1", "durations": [4.5, 5.5, 6.5], "totalCount": 7 }
        ]), "a page shorter than asked ends its cell, whose total it gives");
        let first = app.graphql_as(&token, query, json!({ "nb": NB, "limit": 1, "offset": 0 })).await;
        assert_eq!(first.data()["notebook"]["focusDurationsPerCell"][1], json!(
            { "cellId": "c2", "durations": [9.0], "totalCount": 1 }
        ));
        for (limit, offset) in [(0, 0), (10_001, 0), (5, -1)] {
            let refused = app.graphql_as(&token, query, json!({ "nb": NB, "limit": limit, "offset": offset })).await;
            assert_eq!(refused.error_code(), "BAD_USER_INPUT", "limit {limit}, offset {offset}");
        }
    }

    async fn a_page_for_groups_holds_their_members_durations_in_event_order(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        for (n, student) in ["s1", "s2", "s3", "s1", "s2", "s3"].into_iter().enumerate() {
            off(&app, student, "c1", n as f64 + 1.5, n).await;
        }
        let group = |name: &str, users: &[&str]| {
            let mutation = r#"mutation($nb: ID!, $name: String!, $users: [String!]!) {
                createGroup(notebookId: $nb, name: $name, userIds: $users) { id } }"#;
            let variables = json!({ "nb": NB, "name": name, "users": users });
            let (app, token) = (&app, &token);
            async move {
                let created = app.graphql_as(token, mutation, variables).await;
                created.data()["createGroup"]["id"].as_str().unwrap().to_owned()
            }
        };
        // s2 is in both groups, s3 in neither.
        let (first, second) = (group("g1", &["s1", "s2"]).await, group("g2", &["s2"]).await);
        let query = r#"query($nb: ID!, $groups: [ID!], $limit: Int!, $offset: Int!) {
            notebook(id: $nb) { focusDurationsPerCell(filter: { groups: $groups },
                limit: $limit, offset: $offset) { cellId durations totalCount } } }"#;
        let page = |groups: Value, limit: i64, offset: i64| {
            let variables = json!({ "nb": NB, "groups": groups, "limit": limit, "offset": offset });
            let (app, token) = (&app, &token);
            async move {
                let page = app.graphql_as(token, query, variables).await;
                page.data()["notebook"]["focusDurationsPerCell"].clone()
            }
        };
        assert_eq!(page(json!([first, second]), 3, 1).await, json!([
            { "cellId": "c1", "durations": [2.5, 4.5, 5.5], "totalCount": 4 }
        ]), "s1's and s2's durations, s2's once");
        assert_eq!(page(json!([second]), 1, 1).await, json!([
            { "cellId": "c1", "durations": [5.5], "totalCount": 2 }
        ]), "a full page: its total counted for the group");

        // Connected now: s1 and s3; of the first group, s1 alone.
        for student in ["s1", "s3"] {
            let connection = Connection {
                notebook_id: NB.to_owned(),
                role: PresenceRole::Student,
                user: app.pseudonym(student),
                id: format!("{student}-tab"),
            };
            app.state.presence.join(&connection).await.unwrap();
        }
        let live = r#"query($nb: ID!, $groups: [ID!]) { notebook(id: $nb) {
            focusDurationsPerCell(filter: { groups: $groups, liveOnly: true }) {
                cellId durations totalCount } } }"#;
        let got = app.graphql_as(&token, live, json!({ "nb": NB, "groups": [first] })).await;
        assert_eq!(got.data()["notebook"]["focusDurationsPerCell"], json!([
            { "cellId": "c1", "durations": [1.5, 4.5], "totalCount": 2 }
        ]), "the first group's members who are connected");
    }

    async fn raw_durations_come_back_to_the_last_bit(backend) {
        let app = TestApp::spawn(backend).await;
        app.register_notebook(NB).await;
        let token = app.user_token("admin", Role::Admin).await;
        // Doubles whose shortest text needs 16 or 17 significant digits, which a 15-digit
        // rendering (SQLite's JSON functions) would round.
        let exact = [0.1 + 0.2, 1.0 / 3.0, 4999.999999999999, 1e-7 / 3.0, 2f64.sqrt(), 5000.0];
        for (n, seconds) in exact.iter().enumerate() {
            off(&app, "s1", "c1", *seconds, n).await;
        }
        let query = r#"query($nb: ID!) { notebook(id: $nb) {
            focusDurationsPerCell { cellId durations } } }"#;
        let pages = app.graphql_as(&token, query, json!({ "nb": NB })).await;
        let durations: Vec<f64> = pages.data()["notebook"]["focusDurationsPerCell"][0]["durations"]
            .as_array()
            .expect("the durations of c1")
            .iter()
            .map(|value| value.as_f64().expect("a number"))
            .collect();
        let bits = |values: &[f64]| values.iter().map(|value| value.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&durations), bits(&exact), "{durations:?}");
    }
}
