//! A seeded random class and a plain reference for the per-cell aggregates: every event of
//! the window is scanned, as DOMAIN.md states the rules, with no rollup in sight.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

pub const NB: &str = "nb-rollups";
const CELLS: [Option<&str>; 7] = [
    Some("c1"),
    Some("c2"),
    Some("c3"),
    Some("c4"),
    Some("c5"),
    Some("md"),
    None,
];
pub const STUDENTS: usize = 16;

#[derive(Clone, Debug)]
pub enum Kind {
    Execution {
        ok: bool,
    },
    Focus {
        on: bool,
        duration: Option<f64>,
    },
    /// A markdown cell render.
    Markdown,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub student: usize,
    pub cell: Option<&'static str>,
    pub time: DateTime<Utc>,
    pub kind: Kind,
    pub event_id: Option<String>,
}

pub fn base() -> DateTime<Utc> {
    "2026-01-05T00:00:00Z".parse().unwrap()
}

/// A time in the class's fifty days: on an hour or a day boundary, a whole second, or any
/// microsecond, so buckets' edges and ties are exercised.
pub fn random_time(rng: &mut StdRng) -> DateTime<Utc> {
    let span = 50 * 86_400i64;
    match rng.random_range(0..4) {
        0 => base() + TimeDelta::hours(rng.random_range(0..span / 3600)),
        1 => base() + TimeDelta::days(rng.random_range(0..50)),
        2 => base() + TimeDelta::seconds(rng.random_range(0..span)),
        _ => base() + TimeDelta::microseconds(rng.random_range(0..span * 1_000_000)),
    }
}

pub fn random_class(seed: u64) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = Vec::new();
    for student in 0..STUDENTS {
        for n in 0..rng.random_range(10..70) {
            let kind = match rng.random_range(0..4) {
                0 => Kind::Execution {
                    ok: rng.random_bool(0.7),
                },
                1 => Kind::Focus {
                    on: true,
                    duration: None,
                },
                2 => Kind::Markdown,
                _ => Kind::Focus {
                    on: false,
                    duration: match rng.random_range(0..6) {
                        0 => None,
                        1 => Some(5000.0),
                        2 => Some(rng.random_range(5000.001..9000.0)),
                        // A few seconds: many durations share a whole second.
                        3 => Some(f64::from(rng.random_range(0..4_000u32)) / 1000.0),
                        _ => Some(f64::from(rng.random_range(0..4_000_000u32)) / 1000.0),
                    },
                },
            };
            let keyed = rng.random_bool(0.5);
            events.push(Event {
                student,
                cell: CELLS[rng.random_range(0..CELLS.len())],
                time: random_time(&mut rng),
                kind,
                event_id: keyed.then(|| format!("00000000-0000-4000-8000-{:04}{:08}", student, n)),
            });
        }
    }
    events
}

pub fn raw(student: usize) -> String {
    format!("rollup-student-{student}")
}

pub fn input(event: &Event) -> Value {
    let time = event
        .time
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut fields = json!({ "notebookId": NB, "userId": raw(event.student),
        "cellId": "copy", "origCellId": event.cell });
    if let Some(id) = &event.event_id {
        fields["eventId"] = json!(id);
    }
    match event.kind {
        Kind::Execution { ok } => {
            fields["tStart"] = json!(time);
            fields["tFinish"] = json!(time);
            fields["status"] = json!(if ok { "OK" } else { "ERROR" });
            fields["cellInput"] = json!("x");
            fields["cellOutputModel"] = json!([]);
            fields["cellOutputLength"] = json!(0);
            fields["languageMimetype"] = json!("text/x-python");
            json!({ "codeExecution": fields })
        }
        Kind::Focus { on, duration } => {
            fields["clickType"] = json!(if on { "ON" } else { "OFF" });
            fields["time"] = json!(time);
            fields["clickDuration"] = json!(duration);
            json!({ "cellFocus": fields })
        }
        Kind::Markdown => {
            fields["time"] = json!(time);
            fields["cellContent"] = json!("# A heading");
            json!({ "markdownExecution": fields })
        }
    }
}

pub struct Window {
    pub after: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub students: Option<BTreeSet<usize>>,
}

impl Window {
    fn holds(&self, event: &Event) -> bool {
        self.after.is_none_or(|after| event.time > after)
            && self.until.is_none_or(|until| event.time <= until)
            && self
                .students
                .as_ref()
                .is_none_or(|s| s.contains(&event.student))
    }
}

/// `codeExecutionsPerCell` as the reference computes it.
pub fn executions_per_cell(events: &[Event], window: &Window) -> Value {
    let mut cells: BTreeMap<&str, [i64; 4]> = BTreeMap::new();
    // Markdown executions count in no cell's activity.
    let activity = |e: &&Event| !matches!(e.kind, Kind::Markdown) && window.holds(e);
    for event in events.iter().filter(activity) {
        let counts = cells.entry(event.cell.unwrap_or("")).or_default();
        match event.kind {
            Kind::Execution { ok } => {
                counts[0] += 1;
                counts[1] += i64::from(ok);
            }
            Kind::Focus { on, .. } => {
                counts[2] += 1;
                counts[3] += i64::from(on);
            }
            Kind::Markdown => {}
        }
    }
    Value::Array(cells.into_iter().map(|(cell, c)| json!({ "cellId": cell,
        "executionCount": c[0], "okExecutionCount": c[1], "focusCount": c[2], "focusOnCount": c[3] })).collect())
}

/// `studentLocations` as the reference computes it: each student's latest `ON` focus in the
/// window, ties to the later-recorded (events are recorded in the order of `events`).
pub fn student_locations(events: &[Event], window: &Window) -> Value {
    let mut latest: BTreeMap<usize, (DateTime<Utc>, usize, &str)> = BTreeMap::new();
    for (order, event) in events.iter().enumerate().filter(|(_, e)| window.holds(e)) {
        if let Kind::Focus { on: true, .. } = event.kind {
            let candidate = (event.time, order, event.cell.unwrap_or(""));
            let entry = latest.entry(event.student).or_insert(candidate);
            if (candidate.0, candidate.1) > (entry.0, entry.1) {
                *entry = candidate;
            }
        }
    }
    let mut cells: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, cell) in latest.values() {
        *cells.entry(cell).or_default() += 1;
    }
    Value::Array(
        cells
            .into_iter()
            .map(|(cell, n)| json!({ "cellId": cell, "studentCount": n }))
            .collect(),
    )
}

/// The window's counted durations (`OFF`, at most 5000 s): record order, event, seconds.
fn kept_durations<'a>(
    events: &'a [Event],
    window: &'a Window,
) -> impl Iterator<Item = (usize, &'a Event, f64)> + 'a {
    let in_window = events.iter().enumerate().filter(|(_, e)| window.holds(e));
    in_window.filter_map(|(order, event)| match event.kind {
        Kind::Focus {
            on: false,
            duration: Some(seconds),
        } if seconds <= 5000.0 => Some((order, event, seconds)),
        _ => None,
    })
}

/// `timePerCell` as the reference computes it (means rounded to the microsecond).
pub fn time_per_cell(events: &[Event], window: &Window) -> Value {
    let mut durations: BTreeMap<&str, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for (_, event, seconds) in kept_durations(events, window) {
        let cell = durations.entry(event.cell.unwrap_or("")).or_default();
        cell.entry(event.student).or_default().push(seconds);
    }
    let students: BTreeSet<usize> = durations.values().flat_map(|s| s.keys().copied()).collect();
    let cells: Vec<Value> = durations.iter().map(|(cell, per_student)| {
        let means: Vec<f64> = per_student.values().map(|d| d.iter().sum::<f64>() / d.len() as f64).collect();
        let average = means.iter().sum::<f64>() / means.len() as f64;
        json!({ "cellId": cell, "averageDuration": round_micro(average), "studentCount": means.len() })
    }).collect();
    json!({ "totalStudentCount": students.len(), "cells": cells })
}

/// Histogram edges of `focusDurationSummary`, in seconds.
const EDGES: [f64; 12] = [
    0.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 5000.0,
];

/// `focusDurationSummary` as the reference computes it: per cell, its kept durations sorted,
/// quartiles as Python's `statistics.quantiles(n=4)` (exclusive) and `statistics.median`.
pub fn duration_summary(events: &[Event], window: &Window) -> Value {
    let mut cells: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (_, event, seconds) in kept_durations(events, window) {
        cells
            .entry(event.cell.unwrap_or(""))
            .or_default()
            .push(seconds);
    }
    let summaries = cells.into_iter().map(|(cell, mut sorted)| {
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n % 2 {
            1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        let quartile = |i: usize| match n {
            1 => sorted[0],
            _ => {
                // Below the second rank or past the last but one, `delta` extrapolates.
                let j = (i * (n + 1) / 4).clamp(1, n - 1);
                let delta = (i * (n + 1)) as f64 - (j * 4) as f64;
                (sorted[j - 1] * (4.0 - delta) + sorted[j] * delta) / 4.0
            }
        };
        let histogram: Vec<Value> = EDGES
            .windows(2)
            .enumerate()
            .map(|(i, edge)| {
                let last = i == EDGES.len() - 2;
                let count = sorted
                    .iter()
                    .filter(|d| **d >= edge[0] && (**d < edge[1] || last && **d <= edge[1]))
                    .count();
                json!({ "from": edge[0], "to": edge[1], "count": count })
            })
            .collect();
        json!({ "cellId": cell, "count": n, "min": sorted[0], "firstQuartile": quartile(1),
            "median": median, "thirdQuartile": quartile(3), "max": sorted[n - 1],
            "mean": round_micro(sorted.iter().sum::<f64>() / n as f64), "histogram": histogram })
    });
    Value::Array(summaries.collect())
}

/// `focusDurationsPerCell(limit, offset)` as the reference computes it: per cell, its kept
/// durations by time, ties in record order, that page of them, and how many there are; a cell
/// whose page is empty is left out.
pub fn duration_pages(events: &[Event], window: &Window, (limit, offset): (usize, usize)) -> Value {
    /// A duration with its time and record order.
    type Timed = (DateTime<Utc>, usize, f64);
    let mut cells: BTreeMap<&str, Vec<Timed>> = BTreeMap::new();
    for (order, event, seconds) in kept_durations(events, window) {
        let cell = cells.entry(event.cell.unwrap_or("")).or_default();
        cell.push((event.time, order, seconds));
    }
    let pages = cells.into_iter().filter_map(|(cell, mut durations)| {
        durations.sort_by_key(|d| (d.0, d.1));
        let page: Vec<f64> = durations
            .iter()
            .skip(offset)
            .take(limit)
            .map(|d| d.2)
            .collect();
        (!page.is_empty()).then(|| {
            json!({ "cellId": cell, "durations": page,
            "totalCount": durations.len() })
        })
    });
    Value::Array(pages.collect())
}

/// The schema's rounding: to the microsecond, a mean within a thousandth of a microsecond of
/// the half rounded up (sums of floats differ in their last bits between orders).
fn round_micro(value: f64) -> f64 {
    let micros = value * 1e6;
    let floor = micros.floor();
    match (micros - floor - 0.5).abs() < 1e-3 {
        true => (floor + 1.0) / 1e6,
        false => micros.round() / 1e6,
    }
}

/// `eventCounts` as the reference computes it: the class has code executions, cell focus
/// events and markdown executions only, so the other kinds count none.
pub fn event_counts(events: &[Event], window: &Window) -> Value {
    type Kinds = BTreeMap<&'static str, (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>;
    let mut kinds: Kinds = BTreeMap::new();
    for event in events.iter().filter(|e| window.holds(e)) {
        let kind = match event.kind {
            Kind::Execution { .. } => "CODE_EXECUTION",
            Kind::Focus { .. } => "CELL_FOCUS",
            Kind::Markdown => "MARKDOWN_EXECUTION",
        };
        let (count, first, last) = kinds.entry(kind).or_default();
        *count += 1;
        *first = Some(first.map_or(event.time, |t| t.min(event.time)));
        *last = Some(last.map_or(event.time, |t| t.max(event.time)));
    }
    let text = |time: Option<DateTime<Utc>>| json!(time.map(|t| t.to_rfc3339()));
    let order = [
        "CODE_EXECUTION",
        "MARKDOWN_EXECUTION",
        "CELL_FOCUS",
        "NOTEBOOK_FOCUS",
        "CELL_ALTERATION",
        "PENDING_UPDATE_INTERACTION",
    ];
    let listed: Vec<Value> = order.iter().map(|kind| {
        let (count, first, last) = kinds.get(kind).copied().unwrap_or_default();
        json!({ "kind": kind, "count": count, "firstEventAt": text(first), "lastEventAt": text(last) })
    }).collect();
    json!({
        "totalCount": kinds.values().map(|k| k.0).sum::<i64>(),
        "firstEventAt": text(kinds.values().filter_map(|k| k.1).min()),
        "lastEventAt": text(kinds.values().filter_map(|k| k.2).max()),
        "kinds": listed,
    })
}

/// The original cells a class's events name, as the dashboards list them (`""`: unmapped).
pub fn cell_ids() -> impl Iterator<Item = &'static str> {
    CELLS.iter().map(|cell| cell.unwrap_or(""))
}

/// `latestAttempts` of original cell `cell` as the reference computes it: each student's
/// latest execution of it in the window (by finish time, ties to the later-recorded), listed
/// by pseudonym.
pub fn latest_attempts(
    events: &[Event],
    window: &Window,
    cell: &str,
    pseudonym: impl Fn(usize) -> String,
) -> Value {
    let mut latest: BTreeMap<String, (DateTime<Utc>, usize, bool)> = BTreeMap::new();
    for (order, event) in events.iter().enumerate().filter(|(_, e)| window.holds(e)) {
        if let Kind::Execution { ok } = event.kind
            && event.cell.unwrap_or("") == cell
        {
            let candidate = (event.time, order, ok);
            let entry = latest.entry(pseudonym(event.student)).or_insert(candidate);
            if (candidate.0, candidate.1) > (entry.0, entry.1) {
                *entry = candidate;
            }
        }
    }
    let attempts: Vec<Value> = latest
        .iter()
        .map(|(user, (time, _, ok))| {
            let status = if *ok { "OK" } else { "ERROR" };
            json!({ "userId": user, "tFinish": time.to_rfc3339(), "status": status })
        })
        .collect();
    json!({ "totalCount": attempts.len(), "attempts": attempts })
}
