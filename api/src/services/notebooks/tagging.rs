//! Turning an uploaded `.ipynb` into the tagged notebook students receive: upgraded to nbformat
//! 4.5 (every cell has a valid, unique id), with `unianalytics_notebook_id` and
//! `unianalytics_cell_mapping` in its metadata.
//!
//! This works on `serde_json::Value` rather than the `nbformat` crate's types: that crate (3.0)
//! drops outputs it cannot type (printing them to stderr) and every cell field it does not know,
//! while a teacher's notebook must come back exactly as uploaded apart from our tags. Keys are
//! written sorted with a one-space indent, as Jupyter itself writes notebooks.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{
    error::{AppError, AppResult},
    services::identity::{MAX_CELL_ID_LEN, MAX_NOTEBOOK_ID_LEN},
};

pub const NOTEBOOK_ID_KEY: &str = "unianalytics_notebook_id";
pub const CELL_MAPPING_KEY: &str = "unianalytics_cell_mapping";

/// A cell of the teacher's notebook, as the dashboards order them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookCell {
    /// The original cell id (`orig_cell_id` in students' events).
    pub cell_id: String,
    /// `code`, `markdown` or `raw`.
    pub cell_type: String,
}

#[derive(Debug, Clone)]
pub struct TaggedNotebook {
    /// `unianalytics_notebook_id`: kept from the upload, or a fresh uuid4.
    pub public_id: String,
    /// Whether the upload already carried a notebook id (a re-upload or an old server's file).
    pub was_tagged: bool,
    pub cells: Vec<NotebookCell>,
    pub json: Value,
}

impl TaggedNotebook {
    /// The notebook file as Jupyter writes it.
    pub fn to_ipynb(&self) -> AppResult<Vec<u8>> {
        let mut buffer = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
        self.json
            .serialize(&mut serializer)
            .map_err(AppError::internal)?;
        buffer.push(b'\n');
        Ok(buffer)
    }
}

/// Parses, checks, upgrades and tags an uploaded notebook.
pub fn tag(bytes: &[u8]) -> AppResult<TaggedNotebook> {
    let mut json: Value = serde_json::from_slice(bytes)
        .map_err(|error| AppError::bad_input(format!("the file is not valid JSON ({error})")))?;
    let notebook = json
        .as_object_mut()
        .ok_or_else(|| not_a_notebook("the JSON is not an object"))?;
    check_version(notebook)?;
    let (public_id, was_tagged) = notebook_id(notebook)?;
    let cells = notebook
        .get_mut("cells")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| not_a_notebook("it has no `cells` list"))?;
    check_cells(cells)?;
    assign_cell_ids(cells);
    let ids: Vec<(String, String)> = cells.iter().map(cell_id_and_type).collect();
    notebook.insert("nbformat_minor".into(), Value::from(5));
    let metadata = notebook
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| not_a_notebook("it has no `metadata` object"))?;
    let cells = tag_metadata(metadata, &public_id, ids);
    Ok(TaggedNotebook {
        public_id,
        was_tagged,
        cells,
        json,
    })
}

fn not_a_notebook(why: &str) -> AppError {
    AppError::bad_input(format!("the file is not a Jupyter notebook: {why}"))
}

fn check_version(notebook: &Map<String, Value>) -> AppResult<()> {
    let major = notebook.get("nbformat").and_then(Value::as_i64);
    let minor = notebook.get("nbformat_minor").and_then(Value::as_i64);
    match (major, minor) {
        (Some(4), Some(0..=5)) => Ok(()),
        (Some(major), Some(minor)) => Err(AppError::bad_input(format!(
            "nbformat {major}.{minor} is not supported: save the notebook with Jupyter \
             (nbformat 4) and upload it again"
        ))),
        _ => Err(not_a_notebook(
            "`nbformat` and `nbformat_minor` are missing",
        )),
    }
}

fn notebook_id(notebook: &Map<String, Value>) -> AppResult<(String, bool)> {
    let existing = notebook
        .get("metadata")
        .and_then(|metadata| metadata.get(NOTEBOOK_ID_KEY));
    match existing {
        None | Some(Value::Null) => Ok((uuid::Uuid::new_v4().to_string(), false)),
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= MAX_NOTEBOOK_ID_LEN => {
            Ok((id.clone(), true))
        }
        Some(_) => Err(AppError::bad_input(format!(
            "metadata.{NOTEBOOK_ID_KEY} must be a non-empty string of at most {MAX_NOTEBOOK_ID_LEN} bytes"
        ))),
    }
}

fn check_cells(cells: &[Value]) -> AppResult<()> {
    for (index, cell) in cells.iter().enumerate() {
        let cell_type = cell.get("cell_type").and_then(Value::as_str);
        if !matches!(cell_type, Some("code" | "markdown" | "raw")) {
            return Err(not_a_notebook(&format!(
                "cell {index} has no `cell_type` code, markdown or raw"
            )));
        }
        let source = cell.get("source");
        let source_ok = match source {
            Some(Value::String(_)) => true,
            Some(Value::Array(lines)) => lines.iter().all(Value::is_string),
            _ => false,
        };
        if !source_ok {
            return Err(not_a_notebook(&format!(
                "cell {index} has no text `source`"
            )));
        }
    }
    Ok(())
}

/// nbformat 4.5: ids match `^[a-zA-Z0-9-_]+$`, 1–64 characters, unique in the notebook.
fn is_valid_cell_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Keeps every valid id the first time it appears; missing, invalid and repeated ids get fresh
/// ones, 8 hex characters as nbformat's own validator generates them.
fn assign_cell_ids(cells: &mut [Value]) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut needs_id = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        match cell.get("id").and_then(Value::as_str) {
            Some(id) if is_valid_cell_id(id) && seen.insert(id.to_owned()) => {}
            _ => needs_id.push(index),
        }
    }
    for index in needs_id {
        let id = loop {
            let candidate = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
            if seen.insert(candidate.clone()) {
                break candidate;
            }
        };
        if let Some(cell) = cells[index].as_object_mut() {
            cell.insert("id".into(), Value::String(id));
        }
    }
}

fn cell_id_and_type(cell: &Value) -> (String, String) {
    let field = |name: &str| {
        cell.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (field("id"), field("cell_type"))
}

/// Sets the notebook id and the cell mapping: a cell keeps the original id an earlier mapping
/// gave it (a teacher's notebook derived from another one), otherwise it maps to itself.
fn tag_metadata(
    metadata: &mut Map<String, Value>,
    public_id: &str,
    cells: Vec<(String, String)>,
) -> Vec<NotebookCell> {
    let previous: HashMap<String, String> = metadata
        .get(CELL_MAPPING_KEY)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(cell), Value::String(orig)])
                if !orig.is_empty() && orig.len() <= MAX_CELL_ID_LEN =>
            {
                Some((cell.clone(), orig.clone()))
            }
            _ => None,
        })
        .collect();
    let mut mapping = Vec::with_capacity(cells.len());
    let mut ordered = Vec::with_capacity(cells.len());
    for (id, cell_type) in cells {
        let orig = previous.get(&id).cloned().unwrap_or_else(|| id.clone());
        mapping.push(Value::from(vec![id, orig.clone()]));
        ordered.push(NotebookCell {
            cell_id: orig,
            cell_type,
        });
    }
    metadata.insert(NOTEBOOK_ID_KEY.into(), Value::String(public_id.to_owned()));
    metadata.insert(CELL_MAPPING_KEY.into(), Value::Array(mapping));
    ordered
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn code(error: AppResult<TaggedNotebook>) -> &'static str {
        match error {
            Ok(_) => "ok",
            Err(error) => error.code(),
        }
    }

    fn notebook(cells: Value, metadata: Value) -> Vec<u8> {
        json!({ "nbformat": 4, "nbformat_minor": 4, "metadata": metadata, "cells": cells })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn other_formats_and_malformed_notebooks_are_bad_input() {
        let v3 = json!({ "nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [] });
        assert_eq!(code(tag(v3.to_string().as_bytes())), "BAD_USER_INPUT");
        let no_cells = json!({ "nbformat": 4, "nbformat_minor": 5, "metadata": {} });
        assert_eq!(code(tag(no_cells.to_string().as_bytes())), "BAD_USER_INPUT");
        let bad_cell = notebook(json!([{ "cell_type": "widget", "source": "" }]), json!({}));
        assert_eq!(code(tag(&bad_cell)), "BAD_USER_INPUT");
        let bad_id = notebook(json!([]), json!({ NOTEBOOK_ID_KEY: 42 }));
        assert_eq!(code(tag(&bad_id)), "BAD_USER_INPUT");
        assert_eq!(code(tag(b"[1, 2]")), "BAD_USER_INPUT");
    }

    #[test]
    fn invalid_cell_ids_are_replaced_and_valid_ones_kept() -> AppResult<()> {
        let cells = json!([
            { "cell_type": "code", "id": "has space", "source": "", "metadata": {}, "outputs": [] },
            { "cell_type": "markdown", "id": "ok_id-1", "source": ["a"], "metadata": {} },
        ]);
        let tagged = tag(&notebook(cells, json!({})))?;
        let ids: Vec<&str> = tagged.json["cells"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|cell| cell["id"].as_str())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(is_valid_cell_id(ids[0]) && ids[0].len() == 8, "{ids:?}");
        assert_eq!(ids[1], "ok_id-1");
        assert!(!tagged.was_tagged);
        Ok(())
    }

    #[test]
    fn the_file_is_written_as_jupyter_writes_it() -> AppResult<()> {
        let tagged = tag(&notebook(json!([]), json!({ "b": 1, "a": 2 })))?;
        let text = String::from_utf8(tagged.to_ipynb()?).map_err(AppError::internal)?;
        assert!(
            text.starts_with("{\n \"cells\": [],\n \"metadata\": {\n  \"a\": 2,"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        Ok(())
    }
}
