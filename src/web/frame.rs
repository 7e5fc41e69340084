//! The pages' answers: [`WebError`] (every refusal or failure, answered as a page, never
//! as JSON) and the HTML response helpers every page uses.

use maud::html;
use poem::http::{header, StatusCode};
use poem::Response;

use super::{layout, session};
use crate::auth::error::AuthError;
use crate::error::{ApiError, DomainError};

/// Why a page could not be shown. Answered as a page, never as JSON.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session ended): the sign-in page to send the browser to.
    Login(String),
    /// A form posted without this session's CSRF token or from another origin.
    Csrf,
    NotFound,
    /// A refusal or failure from the service layer, shown with its Chinese message.
    Api(ApiError),
    Internal(String),
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebError::Login(_) => write!(f, "sign-in required"),
            WebError::Csrf => write!(f, "csrf token missing or wrong"),
            WebError::NotFound => write!(f, "page not found"),
            WebError::Api(e) => write!(f, "{}", e.body().code),
            WebError::Internal(s) => write!(f, "internal: {s}"),
        }
    }
}

impl std::error::Error for WebError {}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

/// A domain error (or a database error) from a service, shown as the API would answer it.
impl<E: crate::error::DomainError> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError::Api(ApiError::from(e))
    }
}

fn status_of(e: &ApiError) -> StatusCode {
    match e {
        ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The HTTP status an API error is answered with.
pub fn api_status(e: &ApiError) -> StatusCode {
    status_of(e)
}

impl poem::error::ResponseError for WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::Login(_) => StatusCode::SEE_OTHER,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Api(e) => status_of(e),
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let (title, message, code) = match self {
            WebError::Login(to) => return session::see_other(to),
            WebError::Csrf => (
                "页面已过期",
                "页面已过期或来源不明，请返回后刷新页面再试".to_string(),
                "CSRF_REJECTED".to_string(),
            ),
            WebError::NotFound => (
                "页面不存在",
                "您访问的页面不存在".to_string(),
                "PAGE_NOT_FOUND".to_string(),
            ),
            // The account must finish its own set-up first: send it there.
            WebError::Api(e) if e.body().code == AuthError::MfaRequired.code() => {
                return session::see_other("/account/totp");
            }
            WebError::Api(e) if e.body().code == AuthError::PasswordChangeRequired.code() => {
                return session::see_other("/account/password");
            }
            WebError::Api(e) => {
                let b = e.body();
                let title = match status_of(e) {
                    StatusCode::FORBIDDEN => "无权访问",
                    StatusCode::NOT_FOUND => "内容不存在",
                    s if s.is_server_error() => "系统繁忙",
                    _ => "操作未完成",
                };
                (title, b.message.clone(), b.code.clone())
            }
            WebError::Internal(cause) => {
                tracing::error!(error = %cause, "page failed");
                (
                    "系统繁忙",
                    "服务器内部错误，请稍后重试".to_string(),
                    "INTERNAL".to_string(),
                )
            }
        };
        let body = layout::bare(
            title,
            html! {
                div.login {
                    div.brand { h1 { (title) } }
                    div.notice.error role="alert" data-code=(code) { (message) }
                    p { a href="javascript:history.back()" { "返回上一页" } " · " a href="/" { "回到首页" } }
                }
            },
        );
        html_response(self.status(), body)
    }
}

/// An HTML answer with the given status.
pub fn html_response(status: StatusCode, body: maud::Markup) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into_string())
}

/// A page: 200 with the markup.
pub fn page(body: maud::Markup) -> Result<Response, WebError> {
    Ok(html_response(StatusCode::OK, body))
}

/// Result of a page handler.
pub type PageResult = Result<Response, WebError>;
