//! A plain reference for the progress series, as DOMAIN.md states the rule: for every minute,
//! for every student, scan every execution. Shared by the dashboards' and the rollups' tests.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

/// A recorded code execution: student, finish time, original cell. Listed in the order they
/// were recorded: among equal finish times the later-recorded one is the latest.
pub type Run<'a> = (usize, DateTime<Utc>, Option<&'a str>);

fn floor_minute(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(time.timestamp().div_euclid(60) * 60, 0).unwrap()
}

/// Python's `statistics.quantiles(data, n=4, method='exclusive')` (3.13: one value → itself).
fn quantiles_exclusive(data: &[f64]) -> Vec<f64> {
    let (ld, n) = (data.len() as i64, 4i64);
    if ld == 1 {
        return vec![data[0]; 3];
    }
    let m = ld + 1;
    (1..n)
        .map(|i| {
            let j = (i * m / n).clamp(1, ld - 1);
            let delta = i * m - j * n;
            let (low, high) = (data[(j - 1) as usize], data[j as usize]);
            (low * (n - delta) as f64 + high * delta as f64) / n as f64
        })
        .collect()
}

fn median(data: &[f64]) -> f64 {
    let n = data.len();
    if n % 2 == 1 {
        data[n / 2]
    } else {
        (data[n / 2 - 1] + data[n / 2]) / 2.0
    }
}

/// `executionProgress(start, end, cellOrder: order)` over `runs`, as the API answers it.
pub fn progress_reference(
    runs: &[Run<'_>],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    order: &[&str],
) -> Vec<Value> {
    let mut students: Vec<usize> = runs.iter().map(|run| run.0).collect();
    students.sort_unstable();
    students.dedup();
    let mut points = Vec::new();
    let mut minute = floor_minute(start);
    while minute <= floor_minute(end) {
        let mut values = Vec::new();
        for &student in &students {
            let latest = runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.0 == student && r.2.is_some_and(|c| order.contains(&c)))
                .filter(|(_, r)| r.1 > start && r.1 <= end)
                .filter(|(_, r)| r.1 < minute + TimeDelta::minutes(1))
                .max_by_key(|(index, r)| (r.1, *index));
            if let Some((_, r)) = latest {
                let position = order.iter().position(|cell| Some(*cell) == r.2).unwrap();
                values.push(position as f64 + 1.0);
            }
        }
        if !values.is_empty() {
            values.sort_by(f64::total_cmp);
            let quartiles = quantiles_exclusive(&values);
            points.push(json!({
                "minute": minute.to_rfc3339(),
                "mean": values.iter().sum::<f64>() / values.len() as f64,
                "median": median(&values), "firstQuartile": quartiles[0],
                "thirdQuartile": quartiles[2], "studentCount": values.len(),
            }));
        }
        minute += TimeDelta::minutes(1);
    }
    points
}

/// Equal JSON, numbers within a relative 1e-9.
pub fn close(got: &Value, expected: &Value) -> bool {
    match (got, expected) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            _ => a == b,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| close(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| close(v, w)))
        }
        _ => got == expected,
    }
}
