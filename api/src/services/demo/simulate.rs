//! The behaviour of a synthetic class, student by student: a session is a walk through the
//! notebook's cells in order (sometimes staying, sometimes going back), each visit a focus ON,
//! executions or a render, and a focus OFF with its duration; now and then a notebook focus
//! change, a cell added or removed, or an answer to a pushed update. Deterministic for a seed.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{AlterationType, ClickType, ExecutionStatus, PendingUpdateAction, SenderType};
use rand::{Rng, rngs::StdRng};
use serde_json::json;

use crate::services::ingest::{
    CellAlteration, CellFocus, CodeExecution, Event, EventRows, EventSource, MarkdownExecution,
    NotebookFocus, PendingUpdateInteraction,
};

/// One student's walk through one session.
pub struct Walk<'a> {
    pub notebook_id: i64,
    pub student: &'a str,
    pub cells: &'a [(String, bool)],
    pub start: DateTime<Utc>,
    /// Average time between two events of this student.
    pub step: Duration,
    pub events: usize,
    /// The update the teacher pushed this session, if any: (update id, cell, push time).
    pub push: Option<(&'a str, &'a str, DateTime<Utc>)>,
}

impl Walk<'_> {
    /// Appends about `self.events` events to `rows` and returns how many it wrote.
    pub fn run(&self, rng: &mut StdRng, rows: &mut EventRows) -> usize {
        let mut time = self.start;
        let mut position = 0usize;
        let mut written = self.notebook_focus(rows, ClickType::On, time, None);
        let mut answered = false;
        while written < self.events {
            let (cell, is_code) = &self.cells[position];
            let visit_start = time;
            written += self.focus(rows, cell, ClickType::On, time, None);
            time += self.jitter(rng);
            written += if *is_code {
                self.executions(rng, rows, cell, &mut time)
            } else {
                self.render(rows, cell, time)
            };
            time += self.jitter(rng);
            let mut seconds = (time - visit_start).num_milliseconds() as f64 / 1000.0;
            if rng.random_ratio(1, 200) {
                // A tab left open over a break: the outliers the dashboards leave out.
                seconds += rng.random_range(5_000.0..9_000.0);
            }
            written += self.focus(rows, cell, ClickType::Off, time, Some(seconds));
            written += self.extras(rng, rows, &mut time, cell, &mut answered);
            position = next_position(rng, position, self.cells.len());
        }
        written + self.notebook_focus(rows, ClickType::Off, time, Some(600.0))
    }

    /// Adds one event of this student; returns 1 (the count of events written).
    fn push(&self, rows: &mut EventRows, event: impl Into<Event>) -> usize {
        rows.push(self.notebook_id, self.student.to_owned(), event.into());
        1
    }

    fn jitter(&self, rng: &mut StdRng) -> Duration {
        let step = self.step.num_milliseconds().max(2);
        Duration::milliseconds(rng.random_range(step / 2..step * 3 / 2))
    }

    fn executions(
        &self,
        rng: &mut StdRng,
        rows: &mut EventRows,
        cell: &str,
        time: &mut DateTime<Utc>,
    ) -> usize {
        let attempts = rng.random_range(1..=3);
        for attempt in 0..attempts {
            let ok = attempt + 1 == attempts || rng.random_ratio(3, 4);
            let t_start = *time;
            let t_finish = t_start + Duration::milliseconds(rng.random_range(50..3_000));
            let input = format!(
                "# {cell}, attempt {}\nresult = solve({attempt})",
                attempt + 1
            );
            let output = if ok {
                json!([{ "output_type": "stream", "name": "stdout", "text": format!("{attempt}\n") }])
            } else {
                json!([{ "output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": [] }])
            };
            self.push(
                rows,
                CodeExecution {
                    source: EventSource::resolved(None),
                    cell_id: cell.to_owned(),
                    orig_cell_id: Some(cell.to_owned()),
                    t_start,
                    t_finish,
                    status: if ok {
                        ExecutionStatus::Ok
                    } else {
                        ExecutionStatus::Error
                    },
                    cell_output_length: output.to_string().len() as i64,
                    cell_input: input,
                    cell_output_model: output.into(),
                    language_mimetype: "text/x-python".into(),
                },
            );
            *time = t_finish + Duration::seconds(1);
        }
        attempts
    }

    fn render(&self, rows: &mut EventRows, cell: &str, time: DateTime<Utc>) -> usize {
        let render = MarkdownExecution {
            source: EventSource::resolved(None),
            cell_id: cell.to_owned(),
            orig_cell_id: Some(cell.to_owned()),
            time,
            cell_content: format!("## {cell}\nRead this first."),
        };
        self.push(rows, render)
    }

    fn focus(
        &self,
        rows: &mut EventRows,
        cell: &str,
        click_type: ClickType,
        time: DateTime<Utc>,
        duration: Option<f64>,
    ) -> usize {
        let focus = CellFocus {
            source: EventSource::resolved(None),
            cell_id: cell.to_owned(),
            orig_cell_id: Some(cell.to_owned()),
            click_type,
            time,
            click_duration: duration,
        };
        self.push(rows, focus)
    }

    fn notebook_focus(
        &self,
        rows: &mut EventRows,
        click_type: ClickType,
        time: DateTime<Utc>,
        duration: Option<f64>,
    ) -> usize {
        let focus = NotebookFocus {
            source: EventSource::resolved(None),
            click_type,
            time,
            click_duration: duration,
        };
        self.push(rows, focus)
    }

    /// Occasional events: a cell added or removed, and the answer to this session's push.
    fn extras(
        &self,
        rng: &mut StdRng,
        rows: &mut EventRows,
        time: &mut DateTime<Utc>,
        cell: &str,
        answered: &mut bool,
    ) -> usize {
        let mut written = 0;
        if rng.random_ratio(1, 50) {
            let kind = if rng.random_bool(0.7) {
                AlterationType::Add
            } else {
                AlterationType::Remove
            };
            let alteration = CellAlteration {
                source: EventSource::resolved(None),
                cell_id: format!("{cell}-copy"),
                alteration_type: kind,
                time: *time,
            };
            written += self.push(rows, alteration);
        }
        if let Some((update_id, update_cell, pushed_at)) = self.push
            && !*answered
            && *time > pushed_at
        {
            *answered = true;
            let action = if rng.random_bool(0.6) {
                PendingUpdateAction::UpdateNow
            } else {
                PendingUpdateAction::UpdateLater
            };
            let answer = PendingUpdateInteraction {
                source: EventSource::resolved(None),
                cell_id: Some(update_cell.to_owned()),
                update_id: Some(update_id.to_owned()),
                action,
                sender: Some("demo-teacher".into()),
                sender_type: Some(SenderType::Teacher),
                time: *time + Duration::seconds(5),
            };
            written += self.push(rows, answer);
        }
        written
    }
}

/// Mostly forward, sometimes staying on a cell, now and then back to an earlier one.
fn next_position(rng: &mut StdRng, position: usize, cells: usize) -> usize {
    match rng.random_range(0..10) {
        0..=6 => (position + 1).min(cells - 1),
        7 | 8 => position,
        _ => position.saturating_sub(rng.random_range(1..=3)),
    }
}
