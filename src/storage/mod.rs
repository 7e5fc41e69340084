//! Object storage for uploaded documents and pictures (licences, activity photos, ...).
//!
//! This module owns: the [`ObjectStore`] abstraction and its two backends (local directory and
//! S3-compatible services such as MinIO, Aliyun OSS, Tencent COS), the shape of object keys
//! ([`ObjectKey`]), content sniffing and the upload policy ([`UploadPolicy`]), and the storage
//! settings.
//!
//! It must never: build a key that is not prefixed by the tenant code or that could escape the
//! storage root (every key goes through [`ObjectKey::new`]), trust a client-declared content
//! type without sniffing the bytes, read credentials from the process environment or AWS
//! profile files (only from [`StorageSettings`]), or log/serialize the S3 secret key.

mod local;
mod s3;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use local::LocalStore;
pub use s3::S3Store;

/// One stored object as returned by [`ObjectStore::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub body: Bytes,
    pub content_type: String,
}

/// A blob store keyed by [`ObjectKey`]. Implementations must be safe to share between tasks.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores `body` under `key`, replacing any previous object.
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError>;

    /// Fetches the object; a missing key is [`StorageError::NotFound`].
    async fn get(&self, key: &ObjectKey) -> Result<StoredObject, StorageError>;

    /// Removes the object. Deleting a missing key succeeds so that retries are idempotent.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError>;
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

const MAX_SEGMENT_LEN: usize = 128;

/// `"<tenant_code>/<category>/<name>"`, validated so that it is always under the tenant's prefix
/// and can be used verbatim as a relative file path or an S3 key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    key: String,
    tenant_len: usize,
    category_len: usize,
}

impl ObjectKey {
    pub fn new(tenant_code: &str, category: &str, name: &str) -> Result<ObjectKey, StorageError> {
        validate_segment("tenant", tenant_code)?;
        validate_segment("category", category)?;
        validate_segment("name", name)?;
        Ok(ObjectKey {
            key: format!("{tenant_code}/{category}/{name}"),
            tenant_len: tenant_code.len(),
            category_len: category.len(),
        })
    }

    /// Server-chosen name (`<uuid v7>.<ext>`): never derived from the client's file name, and
    /// v7 keeps keys roughly time-ordered, which makes listings and lifecycle rules easier.
    pub fn generate(
        tenant_code: &str,
        category: &str,
        kind: ContentKind,
    ) -> Result<ObjectKey, StorageError> {
        let name = format!("{}.{}", uuid::Uuid::now_v7(), kind.extension());
        ObjectKey::new(tenant_code, category, &name)
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn tenant(&self) -> &str {
        &self.key[..self.tenant_len]
    }

    pub fn category(&self) -> &str {
        let start = self.tenant_len + 1;
        &self.key[start..start + self.category_len]
    }

    pub fn name(&self) -> &str {
        &self.key[self.tenant_len + self.category_len + 2..]
    }

    /// A key stored in a tenant's row, read back; `Err` says why it is not one of
    /// `tenant_code`'s keys (a malformed key or one outside its prefix is never served).
    pub fn stored(tenant_code: &str, stored: &str) -> Result<ObjectKey, String> {
        let mut parts = stored.splitn(3, '/');
        let (Some(t), Some(c), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("malformed picture key {stored}"));
        };
        if t != tenant_code {
            return Err(format!("picture key {stored} outside tenant {tenant_code}"));
        }
        ObjectKey::new(t, c, n).map_err(|e| e.to_string())
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.key
    }
}

/// `^[a-z0-9][a-z0-9_.-]{0,127}$`, and no `..` anywhere. The first-character rule already
/// excludes `.`, `..`, hidden files and absolute paths; `..` is checked separately because
/// some S3-compatible gateways normalise it inside a segment.
fn validate_segment(what: &str, segment: &str) -> Result<(), StorageError> {
    let invalid = |reason: &str| {
        Err(StorageError::InvalidKey(format!(
            "{what} segment {segment:?} {reason}"
        )))
    };
    let bytes = segment.as_bytes();
    let Some(first) = bytes.first() else {
        return invalid("is empty");
    };
    if bytes.len() > MAX_SEGMENT_LEN {
        return invalid("is longer than 128 characters");
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return invalid("must start with a lowercase letter or a digit");
    }
    let allowed =
        |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-');
    if !bytes.iter().all(allowed) {
        return invalid("may only contain a-z, 0-9, '_', '.', '-'");
    }
    if segment == "." || segment == ".." || segment.contains("..") {
        return invalid("must not contain '..'");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Content kinds and the upload policy
// ---------------------------------------------------------------------------------------------

/// The only kinds of files the platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentKind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Pdf,
}

impl ContentKind {
    pub const ALL: [ContentKind; 5] = [
        ContentKind::Jpeg,
        ContentKind::Png,
        ContentKind::Gif,
        ContentKind::Webp,
        ContentKind::Pdf,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            ContentKind::Jpeg => "image/jpeg",
            ContentKind::Png => "image/png",
            ContentKind::Gif => "image/gif",
            ContentKind::Webp => "image/webp",
            ContentKind::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ContentKind::Jpeg => "jpg",
            ContentKind::Png => "png",
            ContentKind::Gif => "gif",
            ContentKind::Webp => "webp",
            ContentKind::Pdf => "pdf",
        }
    }

    /// Whether a declared (already parameter-stripped, lowercased) MIME type names this kind.
    /// `image/jpg` and `image/pjpeg` are still sent by some older mobile browsers.
    fn matches_mime(self, declared: &str) -> bool {
        declared == self.mime()
            || (self == ContentKind::Jpeg && matches!(declared, "image/jpg" | "image/pjpeg"))
    }
}

/// Detects the kind from magic bytes; the file name and declared type are never trusted.
pub fn sniff(bytes: &[u8]) -> Option<ContentKind> {
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ContentKind::Jpeg)
    } else if bytes.starts_with(PNG) {
        Some(ContentKind::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ContentKind::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ContentKind::Webp)
    } else if bytes.starts_with(b"%PDF-") {
        Some(ContentKind::Pdf)
    } else {
        None
    }
}

/// What an upload endpoint accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    pub max_bytes: usize,
    pub allowed: Vec<ContentKind>,
}

impl UploadPolicy {
    /// JPEG, PNG or WebP pictures of at most `max_bytes`.
    pub fn pictures(max_bytes: usize) -> UploadPolicy {
        UploadPolicy {
            max_bytes,
            allowed: vec![ContentKind::Jpeg, ContentKind::Png, ContentKind::Webp],
        }
    }

    /// [`Self::check`] for a browser's upload: a client that declares no type (or the
    /// generic `application/octet-stream`) is judged by the bytes alone; a declared type
    /// must match them.
    pub fn check_upload(
        &self,
        body: &[u8],
        declared: Option<&str>,
    ) -> Result<ContentKind, StorageError> {
        let declared = match declared.map(str::trim) {
            Some(d) if !d.is_empty() && !d.starts_with("application/octet-stream") => d,
            _ => sniff(body).map(ContentKind::mime).unwrap_or_default(),
        };
        self.check(body, declared)
    }

    pub fn images_and_pdf(max_bytes: usize) -> UploadPolicy {
        UploadPolicy {
            max_bytes,
            allowed: ContentKind::ALL.to_vec(),
        }
    }

    /// Returns the sniffed kind, which callers should use (not the declared type) for the
    /// object key extension and the stored content type.
    pub fn check(
        &self,
        body: &[u8],
        declared_content_type: &str,
    ) -> Result<ContentKind, StorageError> {
        if body.is_empty() {
            return Err(StorageError::Empty);
        }
        if body.len() > self.max_bytes {
            return Err(StorageError::TooLarge {
                max_bytes: self.max_bytes,
                actual: body.len(),
            });
        }
        let kind = sniff(body)
            .filter(|kind| self.allowed.contains(kind))
            .ok_or(StorageError::UnsupportedContent)?;
        let declared = declared_content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !kind.matches_mime(&declared) {
            return Err(StorageError::ContentTypeMismatch {
                declared,
                detected: kind.mime().to_owned(),
            });
        }
        Ok(kind)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid object key: {0}")]
    InvalidKey(String),
    #[error("upload too large: {actual} bytes > {max_bytes} bytes")]
    TooLarge { max_bytes: usize, actual: usize },
    #[error("upload is empty")]
    Empty,
    #[error("unsupported upload content")]
    UnsupportedContent,
    #[error("declared content type {declared} does not match detected {detected}")]
    ContentTypeMismatch { declared: String, detected: String },
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("storage configuration error: {0}")]
    Config(String),
}

impl StorageError {
    /// Stable machine-readable code for API responses; never rename an existing one.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::InvalidKey(_) => "STORAGE_INVALID_KEY",
            StorageError::TooLarge { .. } => "UPLOAD_TOO_LARGE",
            StorageError::Empty => "UPLOAD_EMPTY",
            StorageError::UnsupportedContent => "UPLOAD_UNSUPPORTED_TYPE",
            StorageError::ContentTypeMismatch { .. } => "UPLOAD_TYPE_MISMATCH",
            StorageError::NotFound(_) => "OBJECT_NOT_FOUND",
            StorageError::Backend(_) => "STORAGE_BACKEND",
            StorageError::Config(_) => "STORAGE_CONFIG",
        }
    }

    /// Message safe to show to end users: backend and config details stay in the logs.
    pub fn user_message(&self) -> String {
        match self {
            StorageError::InvalidKey(_) => "文件名或存储路径不合法".to_owned(),
            StorageError::TooLarge { max_bytes, .. } => {
                format!("文件过大，最大允许 {}", human_size(*max_bytes))
            }
            StorageError::Empty => "文件内容为空，请重新选择文件".to_owned(),
            StorageError::UnsupportedContent => {
                "不支持的文件类型，请上传 JPEG、PNG、GIF、WebP 图片或 PDF 文件".to_owned()
            }
            StorageError::ContentTypeMismatch { declared, detected } => {
                format!("文件内容与声明的类型不符（声明为 {declared}，实际为 {detected}）")
            }
            StorageError::NotFound(_) => "文件不存在或已被删除".to_owned(),
            StorageError::Backend(_) => "文件存储服务暂时不可用，请稍后重试".to_owned(),
            StorageError::Config(_) => "文件存储配置错误，请联系管理员".to_owned(),
        }
    }

    /// True when the request itself is at fault (4xx), false for server-side failures (5xx).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, StorageError::Backend(_) | StorageError::Config(_))
    }

    /// What a feature that takes pictures (JPEG, PNG or WebP) tells the user.
    pub fn picture_message(&self) -> String {
        match self {
            StorageError::NotFound(_) => "找不到该图片".into(),
            StorageError::UnsupportedContent => "只能上传 JPEG、PNG 或 WebP 格式的图片".into(),
            StorageError::InvalidKey(_) | StorageError::Config(_) => {
                "服务器内部错误，请稍后重试".into()
            }
            e => e.user_message(),
        }
    }

    /// The status class a feature answers this with.
    pub fn kind(&self) -> crate::kernel::error::ErrorKind {
        use crate::kernel::error::ErrorKind;
        match self {
            StorageError::NotFound(_) => ErrorKind::NotFound,
            StorageError::Backend(_) => ErrorKind::Unavailable,
            StorageError::InvalidKey(_) | StorageError::Config(_) => ErrorKind::Internal,
            _ => ErrorKind::Unprocessable,
        }
    }
}

/// "5 MB", "1.5 MB", "500 KB", "100 字节" (binary units, as the limit is configured in MiB).
fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB / 10 {
        if bytes.is_multiple_of(MIB) {
            format!("{} MB", bytes / MIB)
        } else {
            // Lossy conversion is fine: this is for display only.
            format!("{:.1} MB", bytes as f64 / MIB as f64)
        }
    } else if bytes >= KIB {
        format!("{} KB", bytes / KIB)
    } else {
        format!("{bytes} 字节")
    }
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackendKind {
    #[default]
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    pub backend: StorageBackendKind,
    pub local_dir: PathBuf,
    pub max_upload_bytes: usize,
    pub s3: Option<S3Settings>,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            backend: StorageBackendKind::Local,
            local_dir: PathBuf::from("var/objects"),
            max_upload_bytes: 10 * 1024 * 1024,
            s3: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// e.g. `http://127.0.0.1:9000` (MinIO), `https://oss-cn-guangzhou.aliyuncs.com`,
    /// `https://cos.ap-guangzhou.myqcloud.com`.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    /// Never serialized, so dumping the effective configuration cannot leak it.
    #[serde(skip_serializing)]
    pub secret_access_key: SecretString,
    /// Most non-AWS services and local MinIO need path-style addressing; Aliyun OSS requires
    /// virtual-hosted style, so it must set this to `false`.
    #[serde(default = "default_true")]
    pub path_style: bool,
}

fn default_true() -> bool {
    true
}

impl StorageSettings {
    pub fn validate(&self) -> Result<(), StorageError> {
        if self.max_upload_bytes == 0 {
            return Err(StorageError::Config(
                "storage.max_upload_bytes must be greater than 0".to_owned(),
            ));
        }
        match self.backend {
            StorageBackendKind::Local => {
                if self.local_dir.as_os_str().is_empty() {
                    return Err(StorageError::Config(
                        "storage.local_dir must not be empty".to_owned(),
                    ));
                }
                Ok(())
            }
            StorageBackendKind::S3 => match &self.s3 {
                Some(s3) => s3.validate(),
                None => Err(StorageError::Config(
                    "storage.backend = \"s3\" requires a [storage.s3] section".to_owned(),
                )),
            },
        }
    }

    pub fn upload_policy(&self) -> UploadPolicy {
        UploadPolicy::images_and_pdf(self.max_upload_bytes)
    }
}

impl S3Settings {
    pub fn validate(&self) -> Result<(), StorageError> {
        let endpoint = url::Url::parse(&self.endpoint).map_err(|e| {
            StorageError::Config(format!(
                "storage.s3.endpoint {:?} is not a valid URL: {e}",
                self.endpoint
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(StorageError::Config(format!(
                "storage.s3.endpoint {:?} must be an http(s) URL with a host",
                self.endpoint
            )));
        }
        validate_bucket_name(&self.bucket)?;
        if self.region.trim().is_empty() {
            return Err(StorageError::Config(
                "storage.s3.region must not be empty".to_owned(),
            ));
        }
        if self.access_key_id.trim().is_empty() {
            return Err(StorageError::Config(
                "storage.s3.access_key_id must not be empty".to_owned(),
            ));
        }
        if self.secret_access_key.expose_secret().is_empty() {
            return Err(StorageError::Config(
                "storage.s3.secret_access_key must not be empty".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The common subset of the AWS, OSS and COS naming rules: 3–63 chars of `a-z0-9.-`, starting
/// and ending with a letter or digit.
fn validate_bucket_name(bucket: &str) -> Result<(), StorageError> {
    let bytes = bucket.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alnum(b) || matches!(b, b'.' | b'-'))
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(StorageError::Config(format!(
            "storage.s3.bucket {bucket:?} is not a valid bucket name \
             (3-63 chars of a-z, 0-9, '.', '-', starting and ending with a letter or digit)"
        )))
    }
}

/// Builds the configured backend. For the local backend the root directory is created here so
/// that a read-only or mistyped path fails at startup rather than on the first upload.
/// The S3 bucket is not created: production buckets are provisioned outside the application.
pub async fn build_store(settings: &StorageSettings) -> Result<Arc<dyn ObjectStore>, StorageError> {
    settings.validate()?;
    match settings.backend {
        StorageBackendKind::Local => {
            tokio::fs::create_dir_all(&settings.local_dir)
                .await
                .map_err(|e| {
                    StorageError::Config(format!(
                        "cannot create storage.local_dir {}: {e}",
                        settings.local_dir.display()
                    ))
                })?;
            Ok(Arc::new(LocalStore::new(settings.local_dir.clone())))
        }
        StorageBackendKind::S3 => {
            let s3 = settings
                .s3
                .as_ref()
                .ok_or_else(|| StorageError::Config("storage.s3 section is missing".to_owned()))?;
            Ok(Arc::new(S3Store::new(s3)?))
        }
    }
}
