//! Object storage for notebook files. `object_store` is the seam: a local directory by default,
//! any S3-compatible store when `S3_BUCKET` is set, memory in unit tests.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem,
    memory::InMemory, path::Path as ObjectPath, prefix::PrefixStore,
};

use crate::{
    config::{Config, S3Config},
    error::{AppError, AppResult},
};

#[derive(Clone)]
pub struct NotebookStorage {
    store: Arc<dyn ObjectStore>,
    /// Where the files are, for messages: `s3://bucket/prefix`, a directory, or `memory`.
    location: Arc<str>,
}

/// The location only: the stores' own `Debug` shows their configuration, credentials
/// included.
impl std::fmt::Debug for NotebookStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotebookStorage({})", self.location)
    }
}

impl NotebookStorage {
    /// The store the configuration names: S3 when `S3_BUCKET` is set, else `STORAGE_DIR`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.s3.bucket {
            Some(bucket) => Self::s3(bucket, &config.s3),
            None => Self::local(&config.storage_dir()),
        }
    }

    fn s3(bucket: &str, s3: &S3Config) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_allow_http(s3.allow_http);
        if !s3.region.is_empty() {
            builder = builder.with_region(&s3.region);
        }
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(key), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(key.expose())
                .with_secret_access_key(secret.expose());
        }
        let store = builder.build().context("configuring the S3 store")?;
        let store: Arc<dyn ObjectStore> = if s3.prefix.is_empty() {
            Arc::new(store)
        } else {
            Arc::new(PrefixStore::new(store, s3.prefix.as_str()))
        };
        Ok(Self {
            store,
            location: format!("s3://{bucket}/{}", s3.prefix).into(),
        })
    }

    /// An existing store to read from: `s3://bucket[/prefix]`, reached with the S3 settings'
    /// endpoint, region and credentials, or else a directory, which must exist.
    pub fn open(location: &str, s3: &S3Config) -> anyhow::Result<Self> {
        let Some(path) = location.strip_prefix("s3://") else {
            let dir = Path::new(location);
            anyhow::ensure!(dir.is_dir(), "{location} is not a directory");
            return Ok(Self {
                store: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
                location: location.into(),
            });
        };
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        anyhow::ensure!(!bucket.is_empty(), "{location} names no bucket");
        let s3 = S3Config {
            prefix: prefix.trim_matches('/').to_owned(),
            ..s3.clone()
        };
        Self::s3(bucket, &s3)
    }

    /// Files under `dir`, created if missing.
    pub fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
            location: dir.display().to_string().into(),
        })
    }

    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(InMemory::new()),
            location: "memory".into(),
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> AppResult<()> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(AppError::internal)?;
        Ok(())
    }

    /// Removes an object nobody points at (an upload whose registration failed). Best effort:
    /// an orphan file costs disk space, never correctness.
    pub async fn delete_orphan(&self, key: &str) {
        if let Err(error) = self.store.delete(&ObjectPath::from(key)).await {
            tracing::warn!(%error, storage.key = key, "could not delete an orphaned notebook file");
        }
    }

    /// The stored bytes, or `NOT_FOUND` when the object is missing.
    pub async fn get(&self, key: &str) -> AppResult<Vec<u8>> {
        let result = match self.store.get(&ObjectPath::from(key)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(AppError::not_found("notebook file not found"));
            }
            Err(other) => return Err(AppError::internal(other)),
        };
        let bytes = result.bytes().await.map_err(AppError::internal)?;
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_names_the_bucket_and_no_credential() -> anyhow::Result<()> {
        let s3 = S3Config {
            endpoint: Some("http://127.0.0.1:9".into()),
            access_key_id: Some(crate::config::Secret::new("AKIDEXAMPLE")),
            secret_access_key: Some(crate::config::Secret::new("wJalrXUtnFEMI")),
            ..S3Config::default()
        };
        let storage = NotebookStorage::open("s3://old-bucket/prefix", &s3)?;
        let shown = format!("{storage:?}");
        assert!(shown.contains("s3://old-bucket/prefix"), "{shown}");
        assert!(
            !shown.contains("AKIDEXAMPLE") && !shown.contains("wJalrXUtnFEMI"),
            "{shown}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn stored_bytes_come_back_and_missing_keys_are_not_found() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("storage-test-{}", uuid::Uuid::new_v4()));
        let storage = NotebookStorage::local(&dir)?;
        storage.put("nb/1.zip", b"zip bytes".to_vec()).await?;
        assert_eq!(storage.get("nb/1.zip").await?, b"zip bytes");
        let missing = storage.get("nb/2.zip").await;
        assert!(matches!(missing, Err(AppError::NotFound(_))));
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }
}
