//! HTTP routes of the simulator, mounted at `/sim/wxpay`:
//!
//! - the APIv3 paths, same as the real platform's below the prefix: `POST /v3/pay/transactions/jsapi`,
//!   `POST /v3/pay/transactions/h5`, `GET /v3/pay/transactions/out-trade-no/{no}?mchid=`,
//!   `GET /v3/pay/transactions/id/{transaction_id}?mchid=`,
//!   `POST /v3/pay/transactions/out-trade-no/{no}/close`, `POST /v3/refund/domestic/refunds`,
//!   `GET /v3/refund/domestic/refunds/{out_refund_no}`, `GET /v3/certificates`;
//! - `GET|POST /cashier`: the simulated payment sheet;
//! - `GET|POST /control`: fault injection ([`ControlRequest`]);
//! - `GET /inbox`: orders, refunds and callbacks, for the operator console.
//!
//! Handlers are thin: authenticate, one simulator call, sign the answer. Every `/v3` answer,
//! errors included, is signed like the platform's. Must never answer `/v3` unsigned.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use poem::http::StatusCode;
use poem::web::{Data, Form, Html, Json, Path, Query};
use poem::{get, handler, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use serde::Deserialize;

use super::cashier;
use super::control::{ControlRequest, SignWith};
use super::repo::OrderKey;
use super::service::PayOutcome;
use super::{Reply, SimError, Simulator};
use crate::wechatpay::model::{ErrorResponse, TradeState, TradeType};
use crate::wechatpay::sign::{new_nonce, SCHEMA};
use crate::wechatpay::verify::{
    HEADER_NONCE, HEADER_SERIAL, HEADER_SIGNATURE, HEADER_SIGNATURE_TYPE, HEADER_TIMESTAMP,
};

type Sim<'a> = Data<&'a Arc<Simulator>>;

/// The simulator's routes, carrying the simulator as request data.
pub fn routes(sim: Arc<Simulator>) -> impl Endpoint<Output = Response> {
    Route::new()
        .at("/v3/pay/transactions/jsapi", post(create_jsapi))
        .at("/v3/pay/transactions/h5", post(create_h5))
        .at(
            "/v3/pay/transactions/out-trade-no/:out_trade_no",
            get(query_by_out_trade_no),
        )
        .at(
            "/v3/pay/transactions/out-trade-no/:out_trade_no/close",
            post(close),
        )
        .at(
            "/v3/pay/transactions/id/:transaction_id",
            get(query_by_transaction_id),
        )
        .at("/v3/refund/domestic/refunds", post(create_refund))
        .at(
            "/v3/refund/domestic/refunds/:out_refund_no",
            get(query_refund),
        )
        .at("/v3/certificates", get(certificates))
        .at("/cashier", get(cashier_page).post(cashier_submit))
        .at("/control", get(control_state).post(control))
        .at("/inbox", get(inbox))
        .data(sim)
        .map_to_response()
}

/// One `/v3` operation.
enum Op<'a> {
    Jsapi,
    H5,
    QueryByOutTradeNo(&'a str),
    QueryByTransactionId(&'a str),
    Close(&'a str),
    Refund,
    QueryRefund(&'a str),
    Certificates,
}

impl Simulator {
    /// Faults, authentication, the operation, then the signed answer.
    async fn v3(&self, req: &Request, body: &[u8], op: Op<'_>) -> Response {
        if self.with_faults(|f| f.take_failure()).unwrap_or(false) {
            return self
                .signed(Err(SimError::new(
                    500,
                    "SYSTEM_ERROR",
                    "系统错误，请稍后重试",
                )))
                .await;
        }
        let url = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_default();
        let result = match self
            .authenticate(
                req.method().as_str(),
                &url,
                req.header("Authorization"),
                body,
            )
            .await
        {
            Err(e) => Err(e),
            Ok(m) => match op {
                Op::Jsapi => self.create_order(&m, TradeType::Jsapi, body).await,
                Op::H5 => self.create_order(&m, TradeType::Mweb, body).await,
                Op::QueryByOutTradeNo(no) => {
                    self.query_order(&m, OrderKey::OutTradeNo(no), req.uri().query())
                        .await
                }
                Op::QueryByTransactionId(id) => {
                    self.query_order(&m, OrderKey::TransactionId(id), req.uri().query())
                        .await
                }
                Op::Close(no) => self.close_order(&m, no, body).await,
                Op::Refund => self.create_refund(&m, body).await,
                Op::QueryRefund(no) => self.query_refund(&m, no).await,
                Op::Certificates => self.certificates(&m).await,
            },
        };
        let delay = self.with_faults(|f| f.delay_ms).unwrap_or(0);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.signed(result).await
    }

    /// Signs an answer with the platform key, as `Wechatpay-*` headers.
    async fn signed(&self, result: Result<Reply, SimError>) -> Response {
        let reply = match result {
            Ok(r) => r,
            Err(e) => {
                let body = serde_json::to_vec(&ErrorResponse {
                    code: e.code.into(),
                    message: e.message,
                    detail: None,
                })
                .unwrap_or_default();
                Reply {
                    status: e.status,
                    body,
                }
            }
        };
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "wechatpay simulator has no platform key");
                return Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .content_type("application/json")
                    .body(r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#);
            }
        };
        let ts = self.clock.now().timestamp();
        let nonce = new_nonce();
        let mut signature = platform.signer.sign_response(ts, &nonce, &reply.body);
        if self.with_faults(|f| f.take_corruption()).unwrap_or(false) {
            // A valid-looking signature over other bytes.
            signature = platform.signer.sign_response(ts, &nonce, b"tampered");
        }
        let serial = match self.faults().sign_with {
            SignWith::PublicKey => platform.material.public_key_id.clone(),
            SignWith::Certificate => platform.material.cert_serial.clone(),
        };
        let mut resp = Response::builder()
            .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, signature)
            .header(HEADER_SERIAL, serial)
            .header(HEADER_SIGNATURE_TYPE, SCHEMA)
            .header("Request-ID", uuid::Uuid::new_v4().simple().to_string());
        if !reply.body.is_empty() {
            resp = resp.content_type("application/json; charset=utf-8");
        }
        resp.body(reply.body)
    }
}

#[handler]
async fn create_jsapi(req: &Request, body: Bytes, Data(sim): Sim<'_>) -> Response {
    sim.v3(req, &body, Op::Jsapi).await
}

#[handler]
async fn create_h5(req: &Request, body: Bytes, Data(sim): Sim<'_>) -> Response {
    sim.v3(req, &body, Op::H5).await
}

#[handler]
async fn query_by_out_trade_no(
    req: &Request,
    Path(no): Path<String>,
    Data(sim): Sim<'_>,
) -> Response {
    sim.v3(req, b"", Op::QueryByOutTradeNo(&no)).await
}

#[handler]
async fn query_by_transaction_id(
    req: &Request,
    Path(id): Path<String>,
    Data(sim): Sim<'_>,
) -> Response {
    sim.v3(req, b"", Op::QueryByTransactionId(&id)).await
}

#[handler]
async fn close(req: &Request, Path(no): Path<String>, body: Bytes, Data(sim): Sim<'_>) -> Response {
    sim.v3(req, &body, Op::Close(&no)).await
}

#[handler]
async fn create_refund(req: &Request, body: Bytes, Data(sim): Sim<'_>) -> Response {
    sim.v3(req, &body, Op::Refund).await
}

#[handler]
async fn query_refund(req: &Request, Path(no): Path<String>, Data(sim): Sim<'_>) -> Response {
    sim.v3(req, b"", Op::QueryRefund(&no)).await
}

#[handler]
async fn certificates(req: &Request, Data(sim): Sim<'_>) -> Response {
    sim.v3(req, b"", Op::Certificates).await
}

#[derive(Debug, Deserialize)]
struct CashierQuery {
    prepay_id: String,
    redirect_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CashierForm {
    prepay_id: String,
    action: String,
    redirect_url: Option<String>,
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = Html(body).into_response();
    r.set_status(status);
    r
}

fn system_error_page() -> Response {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        cashier::notice("系统错误", "系统繁忙，请稍后重试", None),
    )
}

#[handler]
async fn cashier_page(Query(q): Query<CashierQuery>, Data(sim): Sim<'_>) -> Response {
    let order = match sim.order_by_prepay_id(&q.prepay_id).await {
        Ok(o) => o,
        Err(_) => return system_error_page(),
    };
    let Some(order) = order else {
        return html(
            StatusCode::NOT_FOUND,
            cashier::notice("订单不存在", "订单不存在或链接已失效", None),
        );
    };
    match order.state() {
        TradeState::Success | TradeState::Refund => html(
            StatusCode::OK,
            cashier::notice("支付成功", "该订单已支付", Some(&order)),
        ),
        TradeState::Closed | TradeState::Revoked => html(
            StatusCode::CONFLICT,
            cashier::notice("订单已关闭", "该订单已关闭，无法支付", Some(&order)),
        ),
        _ => {
            let name = match sim.merchant(&order.mchid).await {
                Ok(Some(m)) => m.material.name.clone(),
                _ => sim.settings().merchant_name.clone(),
            };
            html(
                StatusCode::OK,
                cashier::checkout(
                    &order,
                    &name,
                    cashier::safe_redirect(q.redirect_url.as_deref()),
                ),
            )
        }
    }
}

#[handler]
async fn cashier_submit(Form(f): Form<CashierForm>, Data(sim): Sim<'_>) -> Response {
    let back = cashier::safe_redirect(f.redirect_url.as_deref()).map(str::to_owned);
    let resp = cashier_outcome(f, sim).await;
    match back {
        None => resp,
        Some(b) => {
            let status = resp.status();
            match resp.into_body().into_string().await {
                Ok(body) => html(status, cashier::with_back_link(body, Some(&b))),
                Err(_) => system_error_page(),
            }
        }
    }
}

async fn cashier_outcome(f: CashierForm, sim: &Arc<Simulator>) -> Response {
    if f.action == "cancel" {
        // The payer closing the sheet changes nothing on the platform: the order stays
        // NOTPAY until it is paid, closed or expires.
        let order = sim.order_by_prepay_id(&f.prepay_id).await.ok().flatten();
        return html(
            StatusCode::OK,
            cashier::notice("已取消", "已取消支付", order.as_ref()),
        );
    }
    if f.action != "pay" {
        return html(
            StatusCode::BAD_REQUEST,
            cashier::notice("操作无效", "未知的操作", None),
        );
    }
    match sim.pay(&f.prepay_id).await {
        Ok(PayOutcome::Paid(order)) => {
            // First attempt right away; retries come from the background task (or a test's
            // `deliver_due`).
            let sim = sim.clone();
            tokio::spawn(async move {
                let now = sim.clock().now();
                if let Err(e) = sim.deliver_due(now).await {
                    tracing::warn!(code = e.code, message = %e.message, "wechatpay simulator delivery failed");
                }
            });
            html(
                StatusCode::OK,
                cashier::notice("支付成功", "支付成功", Some(&order)),
            )
        }
        Ok(PayOutcome::AlreadyPaid(order)) => html(
            StatusCode::OK,
            cashier::notice("支付成功", "该订单已支付", Some(&order)),
        ),
        Ok(PayOutcome::Closed(order)) => html(
            StatusCode::CONFLICT,
            cashier::notice("订单已关闭", "该订单已关闭，无法支付", Some(&order)),
        ),
        Ok(PayOutcome::Expired(order)) => html(
            StatusCode::CONFLICT,
            cashier::notice("订单已过期", "订单已超过支付截止时间", Some(&order)),
        ),
        Ok(PayOutcome::Unknown) => html(
            StatusCode::NOT_FOUND,
            cashier::notice("订单不存在", "订单不存在或链接已失效", None),
        ),
        Err(_) => system_error_page(),
    }
}

fn sim_error_json(e: SimError) -> Response {
    let body = serde_json::to_vec(&ErrorResponse {
        code: e.code.into(),
        message: e.message,
        detail: None,
    })
    .unwrap_or_default();
    Response::builder()
        .status(StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json; charset=utf-8")
        .body(body)
}

#[handler]
async fn control_state(Data(sim): Sim<'_>) -> Response {
    Json(serde_json::json!({ "faults": sim.faults() })).into_response()
}

#[handler]
async fn control(body: Bytes, Data(sim): Sim<'_>) -> Response {
    let req: ControlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return sim_error_json(SimError::param(format!("控制参数有误：{e}"))),
    };
    match sim.control(&req).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => sim_error_json(e),
    }
}

#[derive(Debug, Deserialize)]
struct InboxQuery {
    limit: Option<i64>,
}

#[handler]
async fn inbox(Query(q): Query<InboxQuery>, Data(sim): Sim<'_>) -> Response {
    match sim.inbox(q.limit.unwrap_or(100)).await {
        Ok(i) => Json(i).into_response(),
        Err(e) => sim_error_json(SimError::internal(e)),
    }
}
