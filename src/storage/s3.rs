//! [`ObjectStore`] on any S3-compatible service (AWS S3, MinIO, Aliyun OSS, Tencent COS, moto).
//!
//! The client is built from [`S3Settings`] only; aws-config's environment/profile loading is
//! deliberately not used so that `AWS_*` variables or `~/.aws` on a server can never redirect
//! uploads to another account.

use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_s3::Client;
use bytes::Bytes;
use secrecy::ExposeSecret;

use super::{ObjectKey, ObjectStore, S3Settings, StorageError, StoredObject};

const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    region: String,
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Result<Self, StorageError> {
        settings.validate()?;
        let credentials = Credentials::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.expose_secret().to_owned(),
            None,
            None,
            "afterschool",
        );
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .endpoint_url(settings.endpoint.clone())
            .force_path_style(settings.path_style)
            .credentials_provider(credentials)
            // Recent SDKs add CRC32 trailers by default; several S3-compatible services
            // (older MinIO, OSS, COS) reject or ignore them, so only send checksums when the
            // operation requires one.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // Bounded so a hung storage endpoint turns into an error instead of a stuck request.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        Ok(S3Store {
            client: Client::from_conf(config),
            bucket: settings.bucket.clone(),
            region: settings.region.clone(),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket when it does not exist yet. Meant for tests, demos and local MinIO;
    /// production buckets are provisioned outside the application.
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(err) if status_of(&err) == Some(404) => {}
            Err(err) => return Err(backend("head bucket", &self.bucket, err)),
        }
        let mut request = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is the one region where S3 rejects an explicit location constraint.
        if self.region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => Ok(()),
            // Lost a race with another creator of our own bucket: that is the desired state.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(err) => Err(backend("create bucket", &self.bucket, err)),
        }
    }
}

fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Some services answer a missing key with a bare 404 that the SDK cannot map to a modelled
/// error, so the status code is checked as well. A missing *bucket* is also a 404 but is a
/// misconfiguration, not a missing object, so it must surface as a backend error (HEAD
/// responses carry no error code, so there it cannot be told apart).
fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    status_of(err) == Some(404) && err.code() != Some("NoSuchBucket")
}

fn backend<E>(action: &str, target: &str, err: SdkError<E, HttpResponse>) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let err = DisplayErrorContext(err);
    tracing::warn!(action, target, error = %err, "S3 request failed");
    StorageError::Backend(format!("{action} {target}: {err}"))
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| backend("put", key.as_str(), err))?;
        Ok(())
    }

    async fn get(&self, key: &ObjectKey) -> Result<StoredObject, StorageError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(output) => output,
            Err(err)
                if is_not_found(&err)
                    || err.as_service_error().is_some_and(|e| e.is_no_such_key()) =>
            {
                return Err(StorageError::NotFound(key.as_str().to_owned()))
            }
            Err(err) => return Err(backend("get", key.as_str(), err)),
        };
        let content_type = output
            .content_type()
            .unwrap_or(FALLBACK_CONTENT_TYPE)
            .to_owned();
        let body =
            output.body.collect().await.map_err(|e| {
                StorageError::Backend(format!("read body of {}: {e}", key.as_str()))
            })?;
        Ok(StoredObject {
            body: body.into_bytes(),
            content_type,
        })
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // S3 itself answers 204 for a missing key; some compatible services answer 404.
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(backend("delete", key.as_str(), err)),
        }
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if is_not_found(&err)
                    || err.as_service_error().is_some_and(|e| e.is_not_found()) =>
            {
                Ok(false)
            }
            Err(err) => Err(backend("head", key.as_str(), err)),
        }
    }
}
