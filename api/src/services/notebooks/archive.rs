//! Notebook files are stored as a zip holding the one tagged `.ipynb`, which is also what the
//! public download link serves (students unzip it into their JupyterLab, as with the old server).

use std::io::{Cursor, Read, Write};

use zip::{CompressionMethod, ZipArchive, ZipWriter, write::SimpleFileOptions};

use crate::error::{AppError, AppResult};

/// A zip with one deflated entry `entry_name` holding `contents`.
pub fn zip_one(entry_name: &str, contents: &[u8]) -> AppResult<Vec<u8>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        // Notebooks of many MiB are rare but legal; without it the writer refuses > 4 GiB only.
        .large_file(false);
    writer
        .start_file(entry_name, options)
        .map_err(AppError::internal)?;
    writer.write_all(contents).map_err(AppError::internal)?;
    let cursor = writer.finish().map_err(AppError::internal)?;
    Ok(cursor.into_inner())
}

/// The first entry of a zip, as its name and bytes (used by tools and tests to read a stored file).
pub fn unzip_one(archive: &[u8]) -> AppResult<(String, Vec<u8>)> {
    let mut archive = ZipArchive::new(Cursor::new(archive)).map_err(AppError::internal)?;
    let mut entry = archive.by_index(0).map_err(AppError::internal)?;
    let mut contents = Vec::new();
    entry
        .read_to_end(&mut contents)
        .map_err(AppError::internal)?;
    let name = entry.name().map_err(AppError::internal)?.into_owned();
    Ok((name, contents))
}

/// A file name safe in a zip entry and a `Content-Disposition` header: no path separators,
/// quotes or control characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "notebook".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: for a URL path segment or
/// an RFC 8187 `filename*` value.
pub fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zipped_notebook_unzips_to_the_same_name_and_bytes() -> AppResult<()> {
        let zipped = zip_one("lesson.ipynb", b"{\"cells\": []}")?;
        assert_eq!(
            unzip_one(&zipped)?,
            ("lesson.ipynb".to_owned(), b"{\"cells\": []}".to_vec())
        );
        Ok(())
    }

    #[test]
    fn file_names_lose_separators_quotes_and_leading_dots() {
        assert_eq!(safe_file_name("../etc/\"x\".ipynb"), "_etc__x_.ipynb");
        assert_eq!(safe_file_name("  "), "notebook");
        assert_eq!(safe_file_name("Semaine 3 — pandas"), "Semaine 3 — pandas");
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a1-b2_c.d~"), "a1-b2_c.d~");
        assert_eq!(percent_encode("x/../y z"), "x%2F..%2Fy%20z");
    }
}
