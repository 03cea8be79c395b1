//! The query the rollup property test asks, and its check of every cell's latest attempts.

use serde_json::Value;
use tests::TestApp;

use super::class::{self, Event, Window};

const CELLS_QUERY: &str = r#"query($nb: ID!, $f: AnalyticsFilter) { notebook(id: $nb) {
    codeExecutionsPerCell(filter: $f) { cellId executionCount okExecutionCount focusCount focusOnCount }
    timePerCell(filter: $f) { totalStudentCount cells { cellId averageDuration studentCount } }
    studentLocations(filter: $f) { cellId studentCount }
    focusDurationsPerCell(filter: $f, limit: 3, offset: 2) { cellId durations totalCount }
    focusDurationSummary(filter: $f) { cellId count min firstQuartile median thirdQuartile max
        mean histogram { from to count } }
    eventCounts(filter: $f) { totalCount firstEventAt lastEventAt
        kinds { kind count firstEventAt lastEventAt } } } }"#;

/// `latestAttempts` of every cell of the class in `data` (aliased `cell0`, `cell1`, … in
/// [`class::cell_ids`] order), against the reference. Listed by pseudonym: the page's order is
/// the statement's `ORDER BY`, which the rollups do not touch.
pub fn assert_latest_attempts(app: &TestApp, (data, events): (&Value, &[Event]), window: &Window) {
    let pseudonym = |student: usize| app.pseudonym(&class::raw(student));
    for (index, cell) in class::cell_ids().enumerate() {
        let mut page = data[format!("cell{index}")].clone();
        if let Some(attempts) = page["attempts"].as_array_mut() {
            attempts.sort_by_key(|attempt| attempt["userId"].as_str().map(str::to_owned));
        }
        let expected = class::latest_attempts(events, window, cell, pseudonym);
        let (after, until) = (window.after, window.until);
        assert_eq!(page, expected, "{cell:?} after {after:?} until {until:?}");
    }
}

/// The aggregates the property test compares, with every cell's latest attempts.
pub fn cells_query() -> String {
    let attempts: String = class::cell_ids()
        .enumerate()
        .map(|(index, cell)| {
            format!(
                "cell{index}: latestAttempts(cellId: {cell:?}, limit: 100, filter: $f) \
                 {{ totalCount attempts {{ userId tFinish status }} }} "
            )
        })
        .collect();
    CELLS_QUERY.replacen("eventCounts", &format!("{attempts}eventCounts"), 1)
}
