//! CSV exports streamed from a database cursor: rows are read one by one, written into a
//! buffer, and handed on in chunks of ~64 KiB through a channel of a few chunks, so a 40 MB
//! export holds a few hundred KiB at most and a slow client slows the cursor down instead of
//! filling memory. A client that goes away stops the query.
//!
//! Each kind is read in (time, id) order over the (notebook, time) index; an export of several
//! kinds writes them one kind after the other.

mod rows;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    cell_alteration, cell_focus_event, code_execution, dashboard_interaction, markdown_execution,
    notebook, notebook_focus_event, pending_update_interaction,
};
use futures::TryStreamExt;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Select, TransactionTrait,
};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

pub use rows::{EventRow, InteractionRow};

use super::catalogue::EventKind;
use crate::error::{AppError, AppResult};

/// Bytes gathered before a chunk is handed to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting for a slow client before the cursor pauses.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The body of an export: CSV chunks, or an error that aborts the download midway (the status
/// line is already sent, so a truncated transfer is the only honest signal left).
pub type CsvChunks = ReceiverStream<Result<Vec<u8>, std::io::Error>>;

/// `code_execution,cell_focus` → those kinds, in the order given, without repeats.
pub fn parse_kinds(list: &str) -> AppResult<Vec<EventKind>> {
    let mut kinds = Vec::new();
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let kind = EventKind::from_word(word).ok_or_else(|| {
            let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.word()).collect();
            AppError::bad_input(format!(
                "unknown kind `{word}`; known: {}",
                known.join(", ")
            ))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Events with `after < time ≤ until` (either bound optional).
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub after: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Every event of `kinds` of one notebook in `window`, as CSV with a header line.
pub fn events_csv(
    db: DatabaseConnection,
    notebook_id: i64,
    kinds: Vec<EventKind>,
    window: Window,
) -> CsvChunks {
    let (mut sink, chunks) = CsvSink::channel();
    tokio::spawn(async move {
        let result = async {
            let txn = unbounded_read(&db).await?;
            write_events(&txn, notebook_id, &kinds, window, &mut sink).await?;
            txn.commit().await.map_err(ExportStop::from)
        }
        .await;
        sink.finish("events", result).await;
    });
    chunks
}

/// A read transaction without the statement timeout: an export of a large notebook to a slow
/// client legitimately takes longer than any request.
async fn unbounded_read(db: &DatabaseConnection) -> Result<DatabaseTransaction, ExportStop> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await?;
    }
    Ok(txn)
}

/// Every dashboard interaction in `window`, of all notebooks, as CSV with a header line.
pub fn dashboard_interactions_csv(db: DatabaseConnection, window: Window) -> CsvChunks {
    let (mut sink, chunks) = CsvSink::channel();
    tokio::spawn(async move {
        let result = async {
            let txn = unbounded_read(&db).await?;
            write_interactions(&txn, window, &mut sink).await?;
            txn.commit().await.map_err(ExportStop::from)
        }
        .await;
        sink.finish("dashboard interactions", result).await;
    });
    chunks
}

async fn write_events(
    db: &DatabaseTransaction,
    notebook_id: i64,
    kinds: &[EventKind],
    window: Window,
    sink: &mut CsvSink,
) -> Result<(), ExportStop> {
    sink.header::<EventRow>()?;
    for &kind in kinds {
        write_kind(db, notebook_id, kind, window, sink).await?;
    }
    Ok(())
}

async fn write_interactions(
    db: &DatabaseTransaction,
    window: Window,
    sink: &mut CsvSink,
) -> Result<(), ExportStop> {
    use dashboard_interaction::{Column, Entity};
    sink.header::<InteractionRow>()?;
    let public_ids: HashMap<i64, String> = notebook::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|notebook| (notebook.id, notebook.public_id))
        .collect();
    let mut query = Entity::find();
    if let Some(after) = window.after {
        query = query.filter(Column::Time.gt(after));
    }
    if let Some(until) = window.until {
        query = query.filter(Column::Time.lte(until));
    }
    let query = query.order_by_asc(Column::Time).order_by_asc(Column::Id);
    let mut rows = query.stream(db).await?;
    while let Some(row) = rows.try_next().await? {
        let notebook = row.notebook_id.and_then(|id| public_ids.get(&id).cloned());
        sink.write(&InteractionRow::new(row, notebook)).await?;
    }
    Ok(())
}

async fn write_kind(
    db: &DatabaseTransaction,
    notebook_id: i64,
    kind: EventKind,
    window: Window,
    sink: &mut CsvSink,
) -> Result<(), ExportStop> {
    macro_rules! stream {
        ($module:ident, $time:ident) => {{
            use $module::{Column, Entity};
            let query = in_window::<Entity>(Column::NotebookId, Column::$time, notebook_id, window)
                .order_by_asc(Column::Id);
            copy_rows(db, query, sink).await
        }};
    }
    match kind {
        EventKind::CodeExecution => stream!(code_execution, TFinish),
        EventKind::MarkdownExecution => stream!(markdown_execution, Time),
        EventKind::CellFocus => stream!(cell_focus_event, Time),
        EventKind::NotebookFocus => stream!(notebook_focus_event, Time),
        EventKind::CellAlteration => stream!(cell_alteration, Time),
        EventKind::PendingUpdateInteraction => stream!(pending_update_interaction, Time),
    }
}

fn in_window<E: EntityTrait>(
    notebook: E::Column,
    time: E::Column,
    notebook_id: i64,
    window: Window,
) -> Select<E> {
    let mut query = E::find().filter(notebook.eq(notebook_id));
    if let Some(after) = window.after {
        query = query.filter(time.gt(after));
    }
    if let Some(until) = window.until {
        query = query.filter(time.lte(until));
    }
    query.order_by_asc(time)
}

async fn copy_rows<E>(
    db: &DatabaseTransaction,
    query: Select<E>,
    sink: &mut CsvSink,
) -> Result<(), ExportStop>
where
    E: EntityTrait,
    E::Model: Into<EventRow> + Send + Sync,
{
    let mut rows = query.stream(db).await?;
    while let Some(model) = rows.try_next().await? {
        sink.write(&model.into()).await?;
    }
    Ok(())
}

/// Why an export stopped early.
#[derive(Debug)]
enum ExportStop {
    /// The client went away; nothing to report.
    ClientGone,
    Failed(anyhow::Error),
}

impl From<DbErr> for ExportStop {
    fn from(error: DbErr) -> Self {
        Self::Failed(error.into())
    }
}

impl From<csv::Error> for ExportStop {
    fn from(error: csv::Error) -> Self {
        Self::Failed(error.into())
    }
}

fn chunk_writer(buffer: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(buffer)
}

/// A CSV writer whose buffer is handed on whenever it passes [`CHUNK_BYTES`].
struct CsvSink {
    writer: csv::Writer<Vec<u8>>,
    sender: mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
}

impl CsvSink {
    fn channel() -> (Self, CsvChunks) {
        let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let writer = chunk_writer(Vec::new());
        (Self { writer, sender }, ReceiverStream::new(receiver))
    }

    /// Sends what is left, or aborts the body when the export failed (logged once, here).
    async fn finish(mut self, what: &str, result: Result<(), ExportStop>) {
        let failure = match result {
            Ok(()) => match self.send_buffer().await {
                Ok(()) | Err(ExportStop::ClientGone) => return,
                Err(ExportStop::Failed(error)) => error,
            },
            Err(ExportStop::ClientGone) => return,
            Err(ExportStop::Failed(error)) => error,
        };
        tracing::error!(
            error = format!("{failure:#}"),
            export = what,
            "CSV export failed midway"
        );
        let aborted = std::io::Error::other("export failed");
        let _ = self.sender.send(Err(aborted)).await;
    }

    /// The column names of `R`, written whether or not any row follows.
    fn header<R: Serialize + Default>(&mut self) -> Result<(), ExportStop> {
        let mut names = csv::Writer::from_writer(Vec::new());
        names.serialize(R::default())?;
        let text = names
            .into_inner()
            .map_err(|error| ExportStop::Failed(error.into()))?;
        let mut header = text
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or_default()
            .to_vec();
        header.push(b'\n');
        header.reserve(CHUNK_BYTES * 2);
        self.writer = chunk_writer(header);
        Ok(())
    }

    async fn write<R: Serialize>(&mut self, row: &R) -> Result<(), ExportStop> {
        self.writer.serialize(row)?;
        if self.writer.get_ref().len() >= CHUNK_BYTES {
            self.send_buffer().await?;
        }
        Ok(())
    }

    async fn send_buffer(&mut self) -> Result<(), ExportStop> {
        let full = std::mem::replace(
            &mut self.writer,
            chunk_writer(Vec::with_capacity(CHUNK_BYTES * 2)),
        );
        let chunk = full
            .into_inner()
            .map_err(|error| ExportStop::Failed(anyhow::anyhow!("{}", error.error())))?;
        self.sender
            .send(Ok(chunk))
            .await
            .map_err(|_| ExportStop::ClientGone)
    }
}
