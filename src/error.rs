//! The one HTTP error shape: `{ "code": "...", "message": "<中文>", "details": {...} }`.
//!
//! Domain errors implement [`DomainError`] (stable code, status class, Chinese message) and
//! convert into [`ApiError`]. 5xx answers never carry internals: the cause is logged with
//! the request id (from the request span) and the body says only that something failed.

use poem_openapi::{payload::Json, ApiResponse, Object};
use serde_json::Value;

pub use crate::kernel::error::{DomainError, ErrorKind, Refusal};

#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize, PartialEq)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `TENANT_SUSPENDED`.
    pub code: String,
    /// Message for the end user, in Chinese.
    pub message: String,
    /// Structured context (field names, limits); never internals.
    pub details: Value,
}

#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "bad_request_handler")]
pub enum ApiError {
    /// 请求格式错误
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// 未登录或会话失效
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// 无权访问
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// 资源不存在
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// 与现有数据冲突
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// 数据校验失败
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// 请求过于频繁
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] Option<String>,
    ),
    /// 服务器内部错误
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// 服务暂不可用
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn bad_request_handler(err: poem::Error) -> ApiError {
    ApiError::new(
        ErrorKind::BadRequest,
        "BAD_REQUEST",
        "请求参数有误，请检查后重试",
        serde_json::json!({ "reason": err.to_string() }),
    )
}

/// Every domain error answers with its own code and message; internal ones with a bare 500
/// whose cause is logged.
impl<E: DomainError> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::from_domain(&e)
    }
}

/// A database error as the user sees it. PostgreSQL refuses NUL in text (22021,
/// character_not_in_repertoire): input the request guard could not see, such as a
/// multipart text field, so the caller's fault. Anything else is ours: a logged 500.
impl DomainError for sqlx::Error {
    fn kind(&self) -> ErrorKind {
        if is_nul_refusal(self) {
            ErrorKind::BadRequest
        } else {
            ErrorKind::Internal
        }
    }
    fn code(&self) -> &'static str {
        if is_nul_refusal(self) {
            NUL_CODE
        } else {
            "INTERNAL"
        }
    }
    fn user_message(&self) -> String {
        if is_nul_refusal(self) {
            NUL_MESSAGE.into()
        } else {
            "服务器内部错误，请稍后重试".into()
        }
    }
    fn details(&self) -> Value {
        if is_nul_refusal(self) {
            serde_json::json!({ "in": "field" })
        } else {
            Value::Object(Default::default())
        }
    }
}

fn is_nul_refusal(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("22021"))
}

/// The name of the constraint a database error violated, if it is a constraint violation:
/// features map their constraint names to their own errors with it
/// (`Some("grades_code_key") => SchoolError::GradeCodeTaken`).
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().and_then(|d| d.constraint())
}

impl ApiError {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>, details: Value) -> Self {
        let body = Json(ErrorBody {
            code: code.to_string(),
            message: message.into(),
            details,
        });
        match kind {
            ErrorKind::BadRequest => ApiError::BadRequest(body),
            ErrorKind::Unauthorized => ApiError::Unauthorized(body),
            ErrorKind::Forbidden => ApiError::Forbidden(body),
            ErrorKind::NotFound => ApiError::NotFound(body),
            ErrorKind::Conflict => ApiError::Conflict(body),
            ErrorKind::Unprocessable => ApiError::Unprocessable(body),
            ErrorKind::TooManyRequests => ApiError::TooManyRequests(body, None),
            ErrorKind::Internal => ApiError::Internal(body),
            ErrorKind::Unavailable => ApiError::Unavailable(body),
        }
    }

    /// Logs `cause` (with the request id of the current span) and answers a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ErrorKind::Internal,
            "INTERNAL",
            "服务器内部错误，请稍后重试",
            Value::Object(Default::default()),
        )
    }

    pub fn from_domain(err: &dyn DomainError) -> Self {
        match err.kind() {
            ErrorKind::Internal => Self::internal(err),
            ErrorKind::TooManyRequests => ApiError::TooManyRequests(
                Json(ErrorBody {
                    code: err.code().to_string(),
                    message: err.user_message(),
                    details: err.details(),
                }),
                err.retry_after().map(|s| s.max(1).to_string()),
            ),
            kind => {
                if kind == ErrorKind::BadRequest && err.code() == NUL_CODE {
                    tracing::info!(error = %err, "text with a NUL character refused");
                }
                Self::new(kind, err.code(), err.user_message(), err.details())
            }
        }
    }

    pub fn body(&self) -> &ErrorBody {
        match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::Unprocessable(b)
            | ApiError::TooManyRequests(b, _)
            | ApiError::Internal(b)
            | ApiError::Unavailable(b) => &b.0,
        }
    }
}

/// Code of the refusal of text carrying a NUL character, wherever it was found.
pub const NUL_CODE: &str = "INPUT_NUL_CHARACTER";
const NUL_MESSAGE: &str = "输入内容含有无法识别的控制字符，请删除后重试";

/// The answer to input carrying NUL (`where_`: path, query, body or field).
pub fn nul_refused(where_: &str) -> ApiError {
    ApiError::new(
        ErrorKind::BadRequest,
        NUL_CODE,
        NUL_MESSAGE,
        serde_json::json!({ "in": where_ }),
    )
}

/// The JSON error body as a plain poem response, for errors raised outside the OpenAPI
/// service (unknown route, tenant resolution in middleware).
pub fn error_response(status: poem::http::StatusCode, body: &ErrorBody) -> poem::Response {
    let json = serde_json::to_vec(body).unwrap_or_default();
    poem::Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(json)
}
