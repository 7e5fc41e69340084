//! Request middleware: a request id on every response and every log line, errors brought
//! into the one JSON shape, and tenant resolution.

use std::sync::Arc;
use std::time::Instant;

use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::http::{HeaderValue, StatusCode, Uri};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::Ctx;
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
    let api_path = api_path_of(req.uri().path());
    let original_path = req.uri().path().to_string();
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
            if is_machine_path(&original_path) {
                return normalise_error(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE));
            }
            // A console form: the refusal is a page the clerk can read.
            use poem::error::ResponseError;
            let e = crate::error::ApiError::new(
                crate::error::ErrorKind::BadRequest,
                "PAYLOAD_TOO_LARGE",
                format!(
                    "文件过大：一次上传不能超过 {} MB，请压缩或拆分后重新上传",
                    super::MAX_BODY_BYTES / (1024 * 1024)
                ),
                serde_json::json!({ "max_bytes": super::MAX_BODY_BYTES }),
            );
            let mut page = crate::web::frame::WebError::Api(e).as_response();
            page.set_status(StatusCode::PAYLOAD_TOO_LARGE);
            return page;
        }
        let mut resp = match ep.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => normalise_error(e),
        };
        // A 405 says which methods the path does take (RFC 9110 15.5.6).
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            if let Some(path) = &api_path {
                let allowed = super::conformance::Contract::ours()
                    .allowed_methods(path)
                    .join(", ");
                if let Ok(v) = HeaderValue::from_str(&allowed) {
                    resp.headers_mut().insert(poem::http::header::ALLOW, v);
                }
            }
        }
        resp
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

/// Paths answered for programs (JSON), not for people (pages).
fn is_machine_path(path: &str) -> bool {
    let path = match path.strip_prefix("/t/") {
        Some(rest) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => path,
    };
    path.starts_with("/api/")
        || path.starts_with("/sim/")
        || path.starts_with("/healthz")
        || path.starts_with("/readyz")
}

/// The path below `/api/v1` of an API request (with or without a `/t/<code>` prefix).
fn api_path_of(path: &str) -> Option<String> {
    let path = match path.strip_prefix("/t/") {
        Some(rest) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => path,
    };
    path.strip_prefix("/api/v1").map(str::to_owned)
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
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return error_response(
            status,
            &body(
                "UNSUPPORTED_MEDIA_TYPE",
                "请求内容格式不受支持，请以 JSON 提交",
                serde_json::json!({ "reason": reason }),
            ),
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
    state: Arc<Ctx>,
) -> poem::Result<Response> {
    let host = req
        .header("host")
        .map(str::to_owned)
        .or_else(|| req.uri().host().map(str::to_owned));
    let headers: Vec<String> = req
        .headers()
        .get_all("x-tenant")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let (code, rewritten) = match indicated_code(
        req.uri().path(),
        &headers,
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

/// Operating the WeChat Pay simulator (its inbox lists every order with the payer's
/// description, its control injects faults): the system administrator only, signed in by
/// bearer token or by the console's session cookie.
pub const SIM_OPERATE: crate::auth::model::Permission =
    crate::auth::model::Permission::platform("sim_wxpay_operate", "platform.simulators", "write");

/// Paths under the simulator's prefix that are the operator's, not WeChat Pay's protocol.
const SIM_OPERATOR_PATHS: &[&str] = &["/control", "/inbox"];

/// Guards the simulator's operator paths; its protocol paths (`/v3/...`, the cashier a
/// payer opens) stay as open as WeChat Pay's own.
pub async fn sim_operator_only<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    state: Arc<Ctx>,
) -> poem::Result<Response> {
    // Inside the nest the path is relative to the prefix; the original keeps it whole.
    let inner = req.uri().path().trim_end_matches('/');
    let whole = req.original_uri().path().trim_end_matches('/');
    let guarded = SIM_OPERATOR_PATHS
        .iter()
        .any(|p| inner == *p || whole == format!("{}{p}", crate::wechatpay::config::SIM_PREFIX));
    if guarded {
        if let Err(e) = operator_of(&req, &state).await {
            let status = match &e {
                crate::error::ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                crate::error::ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::FORBIDDEN,
            };
            return Ok(error_response(status, e.body()));
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

async fn operator_of(req: &Request, state: &Ctx) -> Result<(), crate::error::ApiError> {
    use crate::auth::{error::AuthError, guard, service};
    let bearer = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(token) = bearer.or_else(|| crate::web::session::cookie_token(req)) else {
        return Err(AuthError::Unauthenticated.into());
    };
    let auth = service::authenticate(state, &token, &guard::client_info(req)).await?;
    guard::authorize(state, &auth, &CurrentTenant(None), &SIM_OPERATE).await?;
    Ok(())
}

/// Refuses input carrying NUL (see [`super::input`]) for every route: JSON for the API and
/// the simulators, a page for the pages.
pub async fn reject_nul<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    if let Some(place) = super::input::nul_in(&mut req, super::MAX_BODY_BYTES).await {
        let err = super::input::nul_refused(place);
        return Ok(if is_machine_path(req.uri().path()) {
            error_response(StatusCode::BAD_REQUEST, err.body())
        } else {
            use poem::error::ResponseError;
            crate::web::frame::WebError::Api(err).as_response()
        });
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

/// Holds JSON request bodies to the document where the framework is lenient: it would
/// take `123` or `true` for a string field and store `"123"`. Refused with 400
/// `FIELD_TYPE_INVALID`, naming the field; everything else is the framework's to check.
pub async fn strings_are_strings<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    use super::conformance::{Contract, Strictness};
    let json_body = req
        .content_type()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
    if json_body {
        let contract = Contract::ours();
        let schema = contract
            .operation(req.method().as_str(), req.uri().path())
            .and_then(|op| contract.request_schema(op));
        if let Some(schema) = schema {
            let bytes = req
                .take_body()
                .into_bytes_limit(super::MAX_BODY_BYTES)
                .await
                .unwrap_or_default();
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                let wrong = contract.violations(schema, &value, Strictness::StringsAreStrings);
                if let Some(first) = wrong.first() {
                    let field = first
                        .split(':')
                        .next()
                        .unwrap_or("$")
                        .trim_start_matches("$.");
                    return Ok(error_response(
                        StatusCode::BAD_REQUEST,
                        &ErrorBody {
                            code: "FIELD_TYPE_INVALID".into(),
                            message: format!("字段“{field}”须为文本（请加引号）"),
                            details: serde_json::json!({ "field": field, "expected": "string" }),
                        },
                    ));
                }
            }
            req.set_body(poem::Body::from_bytes(bytes));
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}
