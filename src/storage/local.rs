//! Directory-backed [`ObjectStore`] for development, tests and single-server installations.
//!
//! Layout: `<root>/<tenant>/<category>/<name>` holds the bytes and the hidden sidecar
//! `<root>/<tenant>/<category>/.<name>.meta` holds the content type. Key segments can never
//! start with '.', so neither sidecars nor temp files can collide with a real object.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::{ObjectKey, ObjectStore, StorageError, StoredObject};

/// Served when a sidecar is missing (e.g. files copied in by hand).
const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Built segment by segment rather than with `join(key.as_str())` so the path never depends
    /// on '/' being the platform separator.
    fn dir_of(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.tenant()).join(key.category())
    }

    fn data_path(&self, key: &ObjectKey) -> PathBuf {
        self.dir_of(key).join(key.name())
    }

    fn meta_path(&self, key: &ObjectKey) -> PathBuf {
        self.dir_of(key).join(format!(".{}.meta", key.name()))
    }
}

fn backend(action: &str, path: &Path, err: io::Error) -> StorageError {
    StorageError::Backend(format!("{action} {}: {err}", path.display()))
}

/// Writes to a temp file in the target directory (same filesystem, so the rename is atomic)
/// and renames it over `target`: readers see either the old or the new content, never a torn
/// file.
async fn write_atomically(target: &Path, contents: &[u8]) -> Result<(), StorageError> {
    let dir = target
        .parent()
        .ok_or_else(|| StorageError::Backend(format!("{} has no parent", target.display())))?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}",
        uuid::Uuid::new_v4().simple()
    ));

    let result = async {
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| backend("create", &tmp, e))?;
        file.write_all(contents)
            .await
            .map_err(|e| backend("write", &tmp, e))?;
        // Without this a crash right after the rename can leave an empty file under the key.
        file.sync_all()
            .await
            .map_err(|e| backend("sync", &tmp, e))?;
        drop(file);
        tokio::fs::rename(&tmp, target)
            .await
            .map_err(|e| backend("rename", target, e))
    }
    .await;

    if result.is_err() {
        // Best effort: a leftover temp file is harmless (hidden, never addressable by a key).
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

async fn remove_if_present(path: &Path) -> Result<(), StorageError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(backend("remove", path, e)),
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let dir = self.dir_of(key);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| backend("create dir", &dir, e))?;
        // Sidecar first: once the new body becomes visible its content type is already there.
        write_atomically(&self.meta_path(key), content_type.as_bytes()).await?;
        write_atomically(&self.data_path(key), &body).await
    }

    async fn get(&self, key: &ObjectKey) -> Result<StoredObject, StorageError> {
        let path = self.data_path(key);
        let body = match tokio::fs::read(&path).await {
            Ok(body) => Bytes::from(body),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(key.as_str().to_owned()))
            }
            Err(e) => return Err(backend("read", &path, e)),
        };
        let meta = self.meta_path(key);
        let content_type = match tokio::fs::read_to_string(&meta).await {
            Ok(ct) if !ct.trim().is_empty() => ct.trim().to_owned(),
            Ok(_) => FALLBACK_CONTENT_TYPE.to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => FALLBACK_CONTENT_TYPE.to_owned(),
            Err(e) => return Err(backend("read", &meta, e)),
        };
        Ok(StoredObject { body, content_type })
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        // Body first, so a failure half-way never leaves a body without its content type.
        remove_if_present(&self.data_path(key)).await?;
        remove_if_present(&self.meta_path(key)).await
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError> {
        let path = self.data_path(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(backend("stat", &path, e)),
        }
    }
}
