//! The courses' refusals: one constructor per kind of refusal, each with its stable code
//! and Chinese message, shared by the validation path and the service.

use crate::error::{ApiError, ErrorKind};
use crate::storage::StorageError;
use serde_json::{json, Value};

pub(super) fn unprocessable(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::Unprocessable, code, message, details)
}

pub(super) fn conflict(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::Conflict, code, message, details)
}

pub(super) fn course_not_found(id: i64) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "COURSE_NOT_FOUND",
        "找不到该课程",
        json!({ "id": id }),
    )
}

pub(super) fn schedule_invalid(message: impl Into<String>, details: Value) -> ApiError {
    unprocessable("SCHEDULE_INVALID", message, details)
}

pub(super) fn reg_window_invalid(message: impl Into<String>, details: Value) -> ApiError {
    unprocessable("REG_WINDOW_INVALID", message, details)
}

pub(super) fn series_invalid(message: impl Into<String>, parent_code: &str) -> ApiError {
    unprocessable(
        "SERIES_INVALID",
        message,
        json!({ "field": "parent_code", "value": parent_code }),
    )
}

pub(super) fn code_taken(code: &str) -> ApiError {
    conflict(
        "COURSE_CODE_TAKEN",
        format!("课程代码“{code}”已被使用"),
        json!({ "code": code }),
    )
}

/// `e` as `err` when it is a unique violation (SQLSTATE 23505), else a logged 500.
pub(super) fn unique_or_internal(e: sqlx::Error, err: impl FnOnce() -> ApiError) -> ApiError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => err(),
        _ => ApiError::internal(e),
    }
}

/// The store's refusals as the user sees them. A key the server built itself that the
/// store calls invalid is our bug, not the user's.
pub(super) fn storage_error(e: StorageError) -> ApiError {
    match &e {
        StorageError::UnsupportedContent => unprocessable(
            e.code(),
            "只能上传 JPEG、PNG 或 WebP 格式的图片",
            json!({ "allowed": ["image/jpeg", "image/png", "image/webp"] }),
        ),
        StorageError::TooLarge { max_bytes, .. } => unprocessable(
            e.code(),
            e.user_message(),
            json!({ "max_bytes": max_bytes }),
        ),
        StorageError::Empty | StorageError::ContentTypeMismatch { .. } => {
            unprocessable(e.code(), e.user_message(), json!({}))
        }
        StorageError::NotFound(_) => picture_not_found(),
        StorageError::Backend(_) => {
            tracing::error!(error = %e, "object store failed");
            ApiError::new(
                ErrorKind::Unavailable,
                e.code(),
                e.user_message(),
                json!({}),
            )
        }
        StorageError::InvalidKey(_) | StorageError::Config(_) => ApiError::internal(e),
    }
}

pub(super) fn picture_not_found() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "PICTURE_NOT_FOUND",
        "找不到该图片",
        json!({}),
    )
}
