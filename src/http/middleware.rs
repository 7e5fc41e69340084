//! Request middleware: a request id on every response and every log line, errors brought
//! into the one JSON shape, and tenant resolution.

use std::sync::Arc;
use std::time::Instant;

use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::http::{HeaderValue, StatusCode, Uri};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::AppState;
use crate::error::{error_response, ErrorBody};
use crate::tenancy::resolve::{indicated_code, resolve, CurrentTenant};

const REQUEST_ID: &str = "x-request-id";

fn acceptable_request_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub async fn request_id_and_errors<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let id = req
        .header(REQUEST_ID)
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        tenant = tracing::field::Empty,
    );
    let started = Instant::now();
    let declared_len = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let mut resp = async move {
        if declared_len.is_some_and(|n| n > super::MAX_BODY_BYTES) {
            return normalise_error(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        match ep.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => normalise_error(e),
        }
    }
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request completed"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(resp)
}

fn normalise_error(e: poem::Error) -> Response {
    let body = |code: &str, message: &str, details: serde_json::Value| ErrorBody {
        code: code.into(),
        message: message.into(),
        details,
    };
    if e.is::<NotFoundError>() {
        return error_response(
            StatusCode::NOT_FOUND,
            &body("ROUTE_NOT_FOUND", "请求的地址不存在", serde_json::json!({})),
        );
    }
    if e.is::<MethodNotAllowedError>() {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &body(
                "METHOD_NOT_ALLOWED",
                "不支持该请求方法",
                serde_json::json!({}),
            ),
        );
    }
    let status = e.status();
    let reason = e.to_string();
    let resp = e.into_response();
    let is_json = resp
        .content_type()
        .map(|c| c.starts_with("application/json"))
        .unwrap_or(false);
    if is_json {
        return resp;
    }
    // The security scheme's own refusal (no or malformed Authorization header).
    if status == StatusCode::UNAUTHORIZED {
        return error_response(
            status,
            &body("UNAUTHENTICATED", "请先登录", serde_json::json!({})),
        );
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return error_response(
            status,
            &body(
                "PAYLOAD_TOO_LARGE",
                "请求内容过大",
                serde_json::json!({ "max_bytes": super::MAX_BODY_BYTES }),
            ),
        );
    }
    if status.is_server_error() {
        tracing::error!(error = %reason, "unhandled error");
        return error_response(
            status,
            &body(
                "INTERNAL",
                "服务器内部错误，请稍后重试",
                serde_json::json!({}),
            ),
        );
    }
    error_response(
        status,
        &body(
            "BAD_REQUEST",
            "请求有误，请检查后重试",
            serde_json::json!({ "reason": reason }),
        ),
    )
}

pub async fn resolve_tenant<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    state: Arc<AppState>,
) -> poem::Result<Response> {
    let host = req
        .header("host")
        .map(str::to_owned)
        .or_else(|| req.uri().host().map(str::to_owned));
    let header = req.header("x-tenant").map(str::to_owned);
    let (code, rewritten) = match indicated_code(
        req.uri().path(),
        header.as_deref(),
        host.as_deref(),
        &state.base_domain,
    ) {
        Ok(found) => found,
        Err(e) => return Ok(error_response(e.status, &e.body)),
    };
    if let Some(path) = rewritten {
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        match pq.parse::<Uri>() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => {
                return Ok(error_response(
                    StatusCode::BAD_REQUEST,
                    &ErrorBody {
                        code: "BAD_REQUEST".into(),
                        message: "请求地址格式错误".into(),
                        details: serde_json::json!({}),
                    },
                ))
            }
        }
    }
    let current = match code {
        None => CurrentTenant(None),
        Some(code) => match resolve(&state.db_app, &code).await {
            Ok(t) => {
                tracing::Span::current().record("tenant", t.code.as_str());
                CurrentTenant(Some(t))
            }
            Err(e) => return Ok(error_response(e.status, &e.body)),
        },
    };
    req.extensions_mut().insert(current);
    ep.call(req).await.map(IntoResponse::into_response)
}
