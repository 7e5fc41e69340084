//! Object storage for documents and pictures — issue #2 item 8 (object storage); tender R-A02
//! (institutions upload their licences) and R-P01 (activity pictures).
//!
//! Both backends are exercised for real: the local one against a temporary directory, the S3
//! one against a moto server (a real S3-compatible HTTP API) started by the test.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use afterschool::storage::{
    build_store, sniff, ContentKind, LocalStore, ObjectKey, ObjectStore, S3Settings, S3Store,
    StorageBackendKind, StorageError, StorageSettings, UploadPolicy,
};
use bytes::Bytes;

use crate::fixtures::PNG_1X1;
use crate::helpers::free_port;

// Start of a JFIF JPEG (SOI + APP0 segment), as written by phone cameras and scanners.
const JPEG_HEADER: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

const PDF_MINI: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn key(tenant: &str, category: &str, name: &str) -> ObjectKey {
    ObjectKey::new(tenant, category, name).expect("valid test key")
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StorageError>) {
    match result {
        Err(StorageError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// put/get/exists/delete/NotFound semantics every backend must share.
async fn assert_round_trip(store: &dyn ObjectStore, tenant: &str) {
    let photo = key(tenant, "pictures", "class-photo.png");
    let licence = key(tenant, "licences", "business-licence.pdf");

    assert!(!store.exists(&photo).await.expect("exists before put"));
    assert_not_found(store.get(&photo).await);

    store
        .put(&photo, Bytes::from_static(PNG_1X1), "image/png")
        .await
        .expect("put png");
    store
        .put(&licence, Bytes::from_static(PDF_MINI), "application/pdf")
        .await
        .expect("put pdf");
    assert!(store.exists(&photo).await.expect("exists after put"));

    let got = store.get(&photo).await.expect("get png");
    assert_eq!(got.body.as_ref(), PNG_1X1);
    assert_eq!(got.content_type, "image/png");
    let got = store.get(&licence).await.expect("get pdf");
    assert_eq!(got.body.as_ref(), PDF_MINI);
    assert_eq!(got.content_type, "application/pdf");

    // Overwrite replaces both body and content type.
    store
        .put(&photo, Bytes::from_static(JPEG_HEADER), "image/jpeg")
        .await
        .expect("overwrite");
    let got = store.get(&photo).await.expect("get overwritten");
    assert_eq!(got.body.as_ref(), JPEG_HEADER);
    assert_eq!(got.content_type, "image/jpeg");

    store.delete(&photo).await.expect("delete");
    assert!(!store.exists(&photo).await.expect("exists after delete"));
    assert_not_found(store.get(&photo).await);
    // Deleting again must succeed so that retried deletions are harmless.
    store.delete(&photo).await.expect("delete missing key");
    // The other object is untouched.
    assert!(store.exists(&licence).await.expect("licence still exists"));
}

// -----------------------------------------------------------------------------------------
// Local backend
// -----------------------------------------------------------------------------------------

#[tokio::test]
async fn local_backend_round_trips_objects_and_preserves_content_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("objects"));
    assert_round_trip(&store, "school-a").await;

    // What was stored outlives the store: a new one over the same folder (the server
    // restarted) reads back the same bytes and content type, and keeps a deleted key, a key
    // never written and the same name under another tenant NotFound.
    let reopened = LocalStore::new(dir.path().join("objects"));
    let licence = key("school-a", "licences", "business-licence.pdf");
    let got = reopened.get(&licence).await.expect("get after reopening");
    assert_eq!(got.body.as_ref(), PDF_MINI);
    assert_eq!(got.content_type, "application/pdf");
    assert!(reopened
        .exists(&licence)
        .await
        .expect("exists after reopening"));
    assert_not_found(
        reopened
            .get(&key("school-a", "pictures", "class-photo.png"))
            .await,
    );
    assert_not_found(
        reopened
            .get(&key("school-a", "licences", "never-written.pdf"))
            .await,
    );
    assert_not_found(
        reopened
            .get(&key("school-b", "licences", "business-licence.pdf"))
            .await,
    );
}

#[tokio::test]
async fn local_backend_stores_objects_under_the_tenant_directory_without_leftovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().to_path_buf());
    let k = key("a", "pictures", "p.png");
    store
        .put(&k, Bytes::from_static(PNG_1X1), "image/png")
        .await
        .expect("put");

    let on_disk = std::fs::read(dir.path().join("a").join("pictures").join("p.png"))
        .expect("object stored at <root>/<tenant>/<category>/<name>");
    assert_eq!(on_disk, PNG_1X1);

    // Only the object and its sidecar remain: no temp files from the atomic write.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("a").join("pictures"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "unexpected files: {names:?}");
    assert!(names.contains(&"p.png".to_owned()));
}

#[tokio::test]
async fn local_backend_reports_missing_keys_as_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The root does not even exist yet: reads must still be NotFound, not a backend error.
    let store = LocalStore::new(dir.path().join("never-created"));
    let k = key("a", "licences", "missing.pdf");
    assert_not_found(store.get(&k).await);
    assert!(!store.exists(&k).await.expect("exists"));
    store
        .delete(&k)
        .await
        .expect("deleting a missing key is ok");
}

#[tokio::test]
async fn build_store_creates_the_local_root_and_returns_a_working_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("var").join("objects");
    let settings = StorageSettings {
        local_dir: root.clone(),
        ..StorageSettings::default()
    };
    let store = build_store(&settings).await.expect("build local store");
    assert!(root.is_dir());
    assert_round_trip(store.as_ref(), "b").await;
}

// -----------------------------------------------------------------------------------------
// Keys
// -----------------------------------------------------------------------------------------

#[test]
fn object_key_rejects_path_traversal_and_malformed_segments() {
    let bad_names = [
        "..",
        ".",
        "a..b",
        "../etc",
        "a/b",
        "/etc",
        "",
        "Upper.png",
        ".hidden",
        "-dash",
        "a b",
        "a\\b",
        "a\0b",
        "照片.png",
    ];
    for name in bad_names {
        let err = ObjectKey::new("school-a", "pictures", name)
            .expect_err(&format!("name {name:?} must be rejected"));
        assert_eq!(err.code(), "STORAGE_INVALID_KEY", "{name:?}");
        assert!(err.is_client_error());
    }
    for tenant in ["", "..", "/", "/abs", "A", "a/b", "x..y"] {
        assert!(
            ObjectKey::new(tenant, "pictures", "p.png").is_err(),
            "tenant {tenant:?} must be rejected"
        );
        assert!(
            ObjectKey::new("a", tenant, "p.png").is_err(),
            "category {tenant:?} must be rejected"
        );
    }
    let too_long = "a".repeat(129);
    assert!(ObjectKey::new("a", "b", &too_long).is_err());
    assert!(ObjectKey::new("a", "b", &"a".repeat(128)).is_ok());
}

#[test]
fn object_keys_carry_the_tenant_prefix() {
    let k = ObjectKey::new("school-a", "licences", "licence_2024.v1.pdf").expect("valid");
    assert_eq!(k.as_str(), "school-a/licences/licence_2024.v1.pdf");
    assert_eq!(k.tenant(), "school-a");
    assert_eq!(k.category(), "licences");
    assert_eq!(k.name(), "licence_2024.v1.pdf");

    let generated = ObjectKey::generate("b", "pictures", ContentKind::Png).expect("generated");
    assert!(generated.as_str().starts_with("b/pictures/"));
    assert_eq!(generated.tenant(), "b");
    let name = generated.name();
    let (stem, ext) = name.rsplit_once('.').expect("extension");
    assert_eq!(ext, "png");
    let id = uuid::Uuid::parse_str(stem).expect("uuid name");
    assert_eq!(id.get_version_num(), 7);
    assert_ne!(
        generated,
        ObjectKey::generate("b", "pictures", ContentKind::Png).expect("second")
    );
}

// -----------------------------------------------------------------------------------------
// Upload policy
// -----------------------------------------------------------------------------------------

#[test]
fn upload_policy_accepts_real_png_jpeg_gif_webp_and_pdf_bytes() {
    let policy = UploadPolicy::images_and_pdf(1024 * 1024);
    assert_eq!(
        policy.check(PNG_1X1, "image/png").ok(),
        Some(ContentKind::Png)
    );
    assert_eq!(
        policy.check(JPEG_HEADER, "image/jpeg").ok(),
        Some(ContentKind::Jpeg)
    );
    assert_eq!(
        policy
            .check(PDF_MINI, "application/pdf; charset=binary")
            .ok(),
        Some(ContentKind::Pdf)
    );
    assert_eq!(
        policy.check(b"GIF89a\x01\x00\x01\x00", "image/gif").ok(),
        Some(ContentKind::Gif)
    );
    assert_eq!(
        policy
            .check(b"RIFF\x24\x00\x00\x00WEBPVP8 ", "IMAGE/WEBP")
            .ok(),
        Some(ContentKind::Webp)
    );
    assert_eq!(sniff(b"GIF87a"), Some(ContentKind::Gif));
    assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WAVE"), None);
    for kind in ContentKind::ALL {
        assert!(!kind.mime().is_empty() && !kind.extension().is_empty());
    }
}

#[test]
fn upload_policy_refuses_html_exe_and_zip_disguised_as_png() {
    let policy = UploadPolicy::images_and_pdf(1024 * 1024);
    let disguised: [&[u8]; 4] = [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
    ];
    for body in disguised {
        let err = policy
            .check(body, "image/png")
            .expect_err("must be refused");
        assert_eq!(err.code(), "UPLOAD_UNSUPPORTED_TYPE");
        assert!(err.is_client_error());
    }

    // A sniffable kind that this policy does not allow is refused the same way.
    let photos_only = UploadPolicy {
        max_bytes: 1024,
        allowed: vec![ContentKind::Jpeg, ContentKind::Png],
    };
    let err = photos_only
        .check(PDF_MINI, "application/pdf")
        .expect_err("pdf not allowed");
    assert_eq!(err.code(), "UPLOAD_UNSUPPORTED_TYPE");
}

#[test]
fn upload_policy_refuses_png_bytes_declared_as_pdf() {
    let policy = UploadPolicy::images_and_pdf(1024 * 1024);
    let err = policy
        .check(PNG_1X1, "application/pdf")
        .expect_err("mismatch");
    assert_eq!(err.code(), "UPLOAD_TYPE_MISMATCH");
    match &err {
        StorageError::ContentTypeMismatch { declared, detected } => {
            assert_eq!(declared, "application/pdf");
            assert_eq!(detected, "image/png");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.user_message().contains("不符"));
}

#[test]
fn upload_policy_refuses_oversize_and_empty_uploads() {
    let policy = UploadPolicy::images_and_pdf(5 * 1024 * 1024);
    let mut big = PNG_1X1.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let err = policy.check(&big, "image/png").expect_err("too large");
    assert_eq!(err.code(), "UPLOAD_TOO_LARGE");
    assert_eq!(err.user_message(), "文件过大，最大允许 5 MB");
    assert!(err.is_client_error());

    // Exactly at the limit is fine.
    big.truncate(5 * 1024 * 1024);
    assert!(policy.check(&big, "image/png").is_ok());

    let err = policy.check(&[], "image/png").expect_err("empty");
    assert_eq!(err.code(), "UPLOAD_EMPTY");
    assert!(!err.user_message().is_empty());
}

#[test]
fn storage_error_codes_are_stable_and_server_errors_hide_details() {
    let backend = StorageError::Backend("connect to 10.0.0.5:9000 refused".to_owned());
    assert_eq!(backend.code(), "STORAGE_BACKEND");
    assert!(!backend.is_client_error());
    assert!(!backend.user_message().contains("10.0.0.5"));
    let config = StorageError::Config("bad".to_owned());
    assert_eq!(config.code(), "STORAGE_CONFIG");
    assert!(!config.is_client_error());
    let missing = StorageError::NotFound("a/b/c".to_owned());
    assert_eq!(missing.code(), "OBJECT_NOT_FOUND");
    assert!(missing.is_client_error());
}

// -----------------------------------------------------------------------------------------
// Settings
// -----------------------------------------------------------------------------------------

fn s3_settings(endpoint: &str, bucket: &str) -> S3Settings {
    S3Settings {
        endpoint: endpoint.to_owned(),
        region: "us-east-1".to_owned(),
        bucket: bucket.to_owned(),
        access_key_id: "testing".to_owned(),
        secret_access_key: "testing-secret".to_owned().into(),
        path_style: true,
    }
}

#[test]
fn storage_settings_default_to_local_and_validate_the_s3_section() {
    let defaults = StorageSettings::default();
    assert_eq!(defaults.backend, StorageBackendKind::Local);
    assert_eq!(defaults.local_dir, PathBuf::from("var/objects"));
    assert_eq!(defaults.max_upload_bytes, 10 * 1024 * 1024);
    defaults.validate().expect("defaults are valid");

    let parsed: StorageSettings = toml::from_str(
        r#"
        backend = "s3"
        [s3]
        endpoint = "https://oss-cn-guangzhou.aliyuncs.com"
        region = "cn-guangzhou"
        bucket = "afterschool-docs"
        access_key_id = "AK"
        secret_access_key = "super-secret-value"
        "#,
    )
    .expect("parse");
    assert_eq!(parsed.backend, StorageBackendKind::S3);
    parsed.validate().expect("valid s3 settings");
    let s3 = parsed.s3.as_ref().expect("s3 section");
    assert!(s3.path_style, "path_style defaults to true");
    // The secret must never appear in logs or in a dumped configuration.
    assert!(!format!("{parsed:?}").contains("super-secret-value"));
    let dumped = toml::to_string(&parsed).expect("serialize");
    assert!(!dumped.contains("super-secret-value"), "{dumped}");

    assert!(toml::from_str::<StorageSettings>("bakend = \"s3\"").is_err());

    let missing_section = StorageSettings {
        backend: StorageBackendKind::S3,
        ..StorageSettings::default()
    };
    assert_eq!(
        missing_section.validate().expect_err("needs s3").code(),
        "STORAGE_CONFIG"
    );
    for (endpoint, bucket) in [
        ("not a url", "docs"),
        ("ftp://example.com", "docs"),
        ("http://127.0.0.1:9000", ""),
        ("http://127.0.0.1:9000", "Docs_Bucket"),
        ("http://127.0.0.1:9000", "-docs"),
    ] {
        let settings = StorageSettings {
            backend: StorageBackendKind::S3,
            s3: Some(s3_settings(endpoint, bucket)),
            ..StorageSettings::default()
        };
        assert!(
            settings.validate().is_err(),
            "{endpoint:?} / {bucket:?} must be rejected"
        );
    }
}

// -----------------------------------------------------------------------------------------
// S3 backend against a real S3-compatible server (moto)
// -----------------------------------------------------------------------------------------

/// A moto server child process; killed on drop so a failing assertion never leaks it.
struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl MotoServer {
    async fn start() -> MotoServer {
        let probe = Command::new("python3")
            .args(["-c", "import moto.server"])
            .output();
        match probe {
            Err(e) => panic!(
                "cannot run python3 ({e}); the S3 storage tests need a real S3-compatible \
                 server: install Python 3 and `pip install 'moto[server]'`"
            ),
            Ok(out) if !out.status.success() => panic!(
                "`python3 -c 'import moto.server'` failed; the S3 storage tests need it: \
                 `pip install 'moto[server]'`\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Ok(_) => {}
        }

        let port = free_port();
        let log_dir = tempfile::tempdir().expect("tempdir for moto log");
        let log_path = log_dir.path().join("moto.log");
        let log = std::fs::File::create(&log_path).expect("moto log file");
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn python3 -m moto.server");
        // Constructed before waiting so that Drop kills it if the wait below panics.
        let mut server = MotoServer {
            child,
            port,
            log_path,
            _log_dir: log_dir,
        };
        server.wait_until_ready(Duration::from_secs(20)).await;
        server
    }

    async fn wait_until_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll moto") {
                panic!("moto server exited early ({status}):\n{}", self.log());
            }
            if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
                .await
                .is_ok()
            {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "moto server did not listen on port {} within {limit:?}:\n{}",
                    self.port,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SDK client independent of `S3Store`, to observe what was really written to the bucket.
fn raw_client(settings: &S3Settings) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(settings.region.clone()))
        .endpoint_url(settings.endpoint.clone())
        .force_path_style(true)
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn list_keys(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list objects");
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn s3_backend_round_trips_objects_against_a_real_s3_server() {
    let moto = MotoServer::start().await;
    let settings = s3_settings(&moto.endpoint(), "afterschool-test");
    let store = S3Store::new(&settings).expect("S3Store::new");
    assert_eq!(store.bucket(), "afterschool-test");

    store.ensure_bucket().await.expect("create bucket");
    // Idempotent: a second call finds the existing bucket.
    store.ensure_bucket().await.expect("bucket already there");

    assert_round_trip(&store, "a").await;

    // Content type comes back exactly as stored, parameters included.
    let report = key("a", "licences", "report.pdf");
    store
        .put(
            &report,
            Bytes::from_static(PDF_MINI),
            "application/pdf; qs=0.001",
        )
        .await
        .expect("put with parameters");
    let got = store.get(&report).await.expect("get");
    assert_eq!(got.content_type, "application/pdf; qs=0.001");
    assert_eq!(got.body.as_ref(), PDF_MINI);

    // The same store also works behind the trait object the application uses.
    let dyn_settings = StorageSettings {
        backend: StorageBackendKind::S3,
        s3: Some(settings.clone()),
        ..StorageSettings::default()
    };
    let dyn_store = build_store(&dyn_settings).await.expect("build s3 store");
    assert!(dyn_store
        .exists(&report)
        .await
        .expect("exists via build_store"));

    drop(moto);
}

#[tokio::test]
async fn s3_backend_keeps_each_tenant_under_its_own_prefix() {
    let moto = MotoServer::start().await;
    // A non-us-east-1 region exercises the LocationConstraint branch of ensure_bucket.
    let settings = S3Settings {
        region: "eu-west-1".to_owned(),
        ..s3_settings(&moto.endpoint(), "tenant-prefix-test")
    };
    let store = S3Store::new(&settings).expect("S3Store::new");
    store.ensure_bucket().await.expect("create bucket");

    let a = ObjectKey::generate("a", "pictures", ContentKind::Png).expect("key a");
    let b = ObjectKey::generate("b", "pictures", ContentKind::Png).expect("key b");
    store
        .put(&a, Bytes::from_static(PNG_1X1), "image/png")
        .await
        .expect("put a");
    store
        .put(&b, Bytes::from_static(PNG_1X1), "image/png")
        .await
        .expect("put b");

    let raw = raw_client(&settings);
    assert_eq!(
        list_keys(&raw, store.bucket(), "a/").await,
        vec![a.as_str().to_owned()]
    );
    assert_eq!(
        list_keys(&raw, store.bucket(), "b/").await,
        vec![b.as_str().to_owned()]
    );
    let head = raw
        .head_object()
        .bucket(store.bucket())
        .key(format!("a/pictures/{}", a.name()))
        .send()
        .await
        .expect("object of tenant a is stored under the a/ prefix");
    assert_eq!(head.content_type(), Some("image/png"));

    // A missing bucket is a backend failure, not a silently missing object.
    let wrong_bucket = S3Store::new(&S3Settings {
        bucket: "no-such-bucket".to_owned(),
        ..settings.clone()
    })
    .expect("S3Store::new");
    match wrong_bucket.get(&a).await {
        Err(StorageError::Backend(_)) => {}
        other => panic!("expected a backend error for a missing bucket, got {other:?}"),
    }

    drop(moto);
}
