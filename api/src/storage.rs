//! Object storage for notebook files. `object_store` is the seam: a local directory by default,
//! memory in tests, and S3-compatible stores can be plugged in by the notebooks issue without
//! touching callers.

use std::{path::Path, sync::Arc};

use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, local::LocalFileSystem, memory::InMemory,
    path::Path as ObjectPath,
};

use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct NotebookStorage {
    store: Arc<dyn ObjectStore>,
}

impl NotebookStorage {
    /// Files under `dir`, created if missing.
    pub fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
        })
    }

    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(InMemory::new()),
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> AppResult<()> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(AppError::internal)?;
        Ok(())
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
