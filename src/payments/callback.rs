//! The WeChat Pay callback receiver at [`crate::wechatpay::NOTIFY_PATH`]: a plain poem
//! handler (it must see the raw body the signature covers, before any JSON parsing).
//!
//! Answers 204 only once the result is stored; every other answer makes WeChat deliver the
//! callback again on its retry schedule. Rejections (bad signature, stale timestamp,
//! replayed nonce, a probe, an amount that is not the order's) are audited and change
//! nothing.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Body, Request, Response};
use serde_json::json;

use super::service::{self, SettleError};
use crate::audit::{AuditEvent, Outcome};
use crate::kernel::ctx::Ctx;

/// Larger bodies are not WeChat's.
const MAX_BODY: usize = 64 * 1024;

fn answer(status: StatusCode, message: &str) -> Response {
    let body = json!({ "code": "FAIL", "message": message }).to_string();
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body)
}

#[handler]
pub async fn notify(req: &Request, body: Body, state: Data<&Arc<Ctx>>) -> Response {
    let st: &Ctx = state.0;
    let raw = match body.into_bytes_limit(MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return answer(StatusCode::PAYLOAD_TOO_LARGE, "请求体过大"),
    };
    let n = match st.wechatpay.verify_callback(req.headers(), &raw).await {
        Ok(n) => n,
        Err(e) => {
            st.audit_event(
                AuditEvent::new(
                    "payment.callback.rejected",
                    "wechatpay:notify",
                    Outcome::Denied,
                )
                .details(json!({ "reason": e.to_string() })),
            )
            .await;
            return answer(StatusCode::UNAUTHORIZED, "签名校验失败");
        }
    };
    match service::handle_notification(st, &n).await {
        Ok(()) => Response::builder().status(StatusCode::NO_CONTENT).finish(),
        Err(SettleError::Retry(why)) => {
            tracing::warn!(notification = %n.id, %why, "callback not processed; WeChat will retry");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "暂时无法处理，请重试")
        }
        Err(SettleError::Rejected { code, reason }) => {
            tracing::warn!(notification = %n.id, code, %reason, "callback rejected");
            answer(StatusCode::BAD_REQUEST, "通知内容与订单不符")
        }
    }
}
