//! The simulated platform's rules: request authentication, orders, closing, refunds, the
//! certificate download and the cashier's payment, each in one transaction.
//!
//! Mirrors the real platform where a merchant can observe it: same parameters → same
//! `prepay_id`, other parameters under the same `out_trade_no` → 400 `INVALID_REQUEST`,
//! closing a paid order → 400 `ORDERPAID`, refunding more than is left → 400 `NOT_ENOUGH`,
//! unknown orders → 404 `ORDER_NOT_EXIST` (query, close) or `RESOURCE_NOT_EXISTS` (refund).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::keys::MerchantIdentity;
use super::repo::{self, NewNotification, NewOrder, NewRefundRow, OrderKey, OrderRow};
use super::{Reply, SimError, Simulator};
use crate::wechatpay::aead;
use crate::wechatpay::model::*;
use crate::wechatpay::nonce::NonceStore;
use crate::wechatpay::sign::{request_message, Authorization};
use crate::wechatpay::verify::{check_timestamp, verify_signature};

/// Nonce scope of merchant requests.
const REQUEST_SCOPE: &str = "sim-merchant";

fn digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn cst_stamp(now: DateTime<Utc>) -> String {
    now.with_timezone(&crate::clock::cst())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    serde_json::from_slice(body).map_err(|e| SimError::param(format!("请求参数格式错误：{e}")))
}

fn check_notify_url(url: &str) -> Result<(), SimError> {
    match url::Url::parse(url) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.query().is_none() => Ok(()),
        _ => Err(SimError::param(
            "notify_url 须为不带查询串的 http(s) 绝对地址",
        )),
    }
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Outcome of the cashier's button.
#[derive(Debug, Clone)]
pub enum PayOutcome {
    Paid(OrderRow),
    AlreadyPaid(OrderRow),
    Closed(OrderRow),
    Expired(OrderRow),
    Unknown,
}

impl Simulator {
    /// Checks a merchant request's `Authorization` the way the platform does. `url` is the
    /// path and query below `/sim/wxpay`, as the merchant signed it.
    pub(crate) async fn authenticate(
        &self,
        method: &str,
        url: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Arc<MerchantIdentity>, SimError> {
        let header =
            authorization.ok_or_else(|| SimError::sign_error("缺少 Authorization 请求头"))?;
        let auth = Authorization::parse(header).ok_or_else(|| {
            SimError::sign_error("Authorization 格式错误，应为 WECHATPAY2-SHA256-RSA2048 ...")
        })?;
        let merchant = self
            .merchant(&auth.mchid)
            .await?
            .ok_or_else(|| SimError::sign_error("商户号不存在或未开通 APIv3"))?;
        if auth.serial_no != merchant.material.serial_no {
            return Err(SimError::sign_error("商户证书序列号有误"));
        }
        let now = self.clock.now();
        check_timestamp(&auth.timestamp, now)
            .map_err(|_| SimError::sign_error("请求时间戳与系统时间相差超过 5 分钟"))?;
        let message = request_message(method, url, &auth.timestamp, &auth.nonce_str, body);
        verify_signature(&merchant.verifying_key, &message, &auth.signature)
            .map_err(|_| SimError::sign_error("签名错误，请检查签名串与私钥"))?;
        if auth.nonce_str.len() > crate::wechatpay::nonce::MAX_NONCE_LEN
            || !self
                .nonces
                .first_use(REQUEST_SCOPE, &auth.nonce_str, now)
                .await?
        {
            return Err(SimError::sign_error("请求随机串重复，疑似重放"));
        }
        Ok(merchant)
    }

    pub(crate) async fn create_order(
        &self,
        merchant: &MerchantIdentity,
        trade_type: TradeType,
        body: &[u8],
    ) -> Result<Reply, SimError> {
        // Parsed into the typed request, then compared as a value: key order and spacing
        // of a repeated request do not matter, its parameters do.
        let (common, payer_openid, request) = match trade_type {
            TradeType::Jsapi => {
                let r: JsapiPrepayRequest = parse_body(body)?;
                if r.payer.openid.trim().is_empty() {
                    return Err(SimError::param("payer.openid 不能为空"));
                }
                let v = serde_json::to_value(&r).map_err(SimError::internal)?;
                let openid = Some(r.payer.openid.clone());
                (
                    (
                        r.appid,
                        r.mchid,
                        r.description,
                        r.out_trade_no,
                        r.time_expire,
                        r.attach,
                        r.notify_url,
                        r.amount,
                    ),
                    openid,
                    v,
                )
            }
            _ => {
                let r: H5PrepayRequest = parse_body(body)?;
                if r.scene_info
                    .payer_client_ip
                    .parse::<std::net::IpAddr>()
                    .is_err()
                {
                    return Err(SimError::param("scene_info.payer_client_ip 须为 IP 地址"));
                }
                if r.scene_info.h5_info.is_none() {
                    return Err(SimError::param("scene_info.h5_info 不能为空"));
                }
                let v = serde_json::to_value(&r).map_err(SimError::internal)?;
                (
                    (
                        r.appid,
                        r.mchid,
                        r.description,
                        r.out_trade_no,
                        r.time_expire,
                        r.attach,
                        r.notify_url,
                        r.amount,
                    ),
                    None,
                    v,
                )
            }
        };
        let (appid, mchid, description, out_trade_no, time_expire, attach, notify_url, amount) =
            common;
        if mchid != merchant.material.mchid {
            return Err(SimError::new(
                400,
                "INVALID_REQUEST",
                "请求中的商户号与签名的商户号不一致",
            ));
        }
        if appid != merchant.material.appid {
            return Err(SimError::new(
                400,
                "APPID_MCHID_NOT_MATCH",
                "appid 和 mchid 不匹配",
            ));
        }
        check_order_input(&description, &out_trade_no, amount.total, attach.as_deref())
            .map_err(|e| SimError::param(e.to_string().replace("invalid input: ", "")))?;
        if amount.currency != CNY {
            return Err(SimError::param("amount.currency 只支持 CNY"));
        }
        check_notify_url(&notify_url)?;
        let now = self.clock.now();
        let prepay_id = format!(
            "wx{}{}",
            cst_stamp(now),
            hex::encode(rand::thread_rng().gen::<[u8; 10]>())
        );
        let mut tx = self.pool.begin().await?;
        repo::insert_order(
            &mut tx,
            &NewOrder {
                mchid: &mchid,
                out_trade_no: &out_trade_no,
                appid: &appid,
                trade_type,
                prepay_id: &prepay_id,
                request: &request,
                description: &description,
                attach: attach.as_deref(),
                notify_url: &notify_url,
                total: amount.total,
                currency: &amount.currency,
                payer_openid: payer_openid.as_deref(),
                time_expire: time_expire.map(|t| t.utc()),
                now,
            },
        )
        .await?;
        let order = repo::find_order(
            &mut tx,
            Some(&mchid),
            OrderKey::OutTradeNo(&out_trade_no),
            false,
        )
        .await?
        .ok_or_else(|| SimError::internal("order vanished"))?;
        tx.commit().await?;
        if order.request != request || order.trade_type != trade_type.as_str() {
            return Err(SimError::new(
                400,
                "INVALID_REQUEST",
                "201 商户订单号重复：同一 out_trade_no 的订单参数不一致",
            ));
        }
        match order.state() {
            TradeState::Success | TradeState::Refund => {
                return Err(SimError::new(400, "ORDERPAID", "该订单已支付"))
            }
            TradeState::Closed => return Err(SimError::new(400, "ORDER_CLOSED", "该订单已关闭")),
            _ => {}
        }
        match trade_type {
            TradeType::Jsapi => Reply::json(
                200,
                &PrepayResponse {
                    prepay_id: order.prepay_id,
                },
            ),
            _ => {
                let base = self.local_base().unwrap_or_default();
                Reply::json(
                    200,
                    &H5PrepayResponse {
                        h5_url: format!("{base}/sim/wxpay/cashier?prepay_id={}", order.prepay_id),
                    },
                )
            }
        }
    }

    pub(crate) async fn query_order(
        &self,
        merchant: &MerchantIdentity,
        key: OrderKey<'_>,
        query: Option<&str>,
    ) -> Result<Reply, SimError> {
        match query_param(query, "mchid") {
            None => return Err(SimError::param("缺少参数 mchid")),
            Some(m) if m != merchant.material.mchid => {
                return Err(SimError::new(
                    400,
                    "INVALID_REQUEST",
                    "请求中的商户号与签名的商户号不一致",
                ))
            }
            Some(_) => {}
        }
        let mut conn = self.pool.acquire().await?;
        let order = repo::find_order(&mut conn, Some(&merchant.material.mchid), key, false)
            .await?
            .ok_or_else(|| SimError::new(404, "ORDER_NOT_EXIST", "订单不存在"))?;
        Reply::json(200, &order.to_transaction())
    }

    pub(crate) async fn close_order(
        &self,
        merchant: &MerchantIdentity,
        out_trade_no: &str,
        body: &[u8],
    ) -> Result<Reply, SimError> {
        let req: CloseRequest = parse_body(body)?;
        if req.mchid != merchant.material.mchid {
            return Err(SimError::new(
                400,
                "INVALID_REQUEST",
                "请求中的商户号与签名的商户号不一致",
            ));
        }
        let mut tx = self.pool.begin().await?;
        let order = repo::find_order(
            &mut tx,
            Some(&merchant.material.mchid),
            OrderKey::OutTradeNo(out_trade_no),
            true,
        )
        .await?
        .ok_or_else(|| SimError::new(404, "ORDER_NOT_EXIST", "订单不存在"))?;
        if order.is_paid() {
            return Err(SimError::new(400, "ORDERPAID", "订单已支付，不能关闭"));
        }
        if order.state() != TradeState::Closed {
            repo::set_order_state(&mut tx, order.id, TradeState::Closed, self.clock.now()).await?;
        }
        tx.commit().await?;
        Ok(Reply::no_content())
    }

    pub(crate) async fn create_refund(
        &self,
        merchant: &MerchantIdentity,
        body: &[u8],
    ) -> Result<Reply, SimError> {
        let req: RefundRequest = parse_body(body)?;
        if !valid_out_refund_no(&req.out_refund_no) {
            return Err(SimError::param(
                "out_refund_no 须为 1 至 64 位字母、数字或 _-|*@",
            ));
        }
        if req.amount.refund <= 0 || req.amount.total <= 0 {
            return Err(SimError::param("退款金额和原订单金额须大于 0"));
        }
        if req.amount.currency != CNY {
            return Err(SimError::param("amount.currency 只支持 CNY"));
        }
        if let Some(url) = &req.notify_url {
            check_notify_url(url)?;
        }
        let key = match (&req.transaction_id, &req.out_trade_no) {
            (Some(id), _) => OrderKey::TransactionId(id),
            (None, Some(no)) => OrderKey::OutTradeNo(no),
            (None, None) => return Err(SimError::param("transaction_id 与 out_trade_no 须填其一")),
        };
        let request = serde_json::to_value(&req).map_err(SimError::internal)?;
        let mchid = merchant.material.mchid.clone();
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        // The order row lock serialises refunds of one order: two concurrent requests
        // cannot both take the last of the money.
        let order = repo::find_order(&mut tx, Some(&mchid), key, true)
            .await?
            .ok_or_else(|| SimError::new(404, "RESOURCE_NOT_EXISTS", "订单不存在"))?;
        if let Some(existing) = repo::find_refund(&mut tx, &mchid, &req.out_refund_no).await? {
            // A retry may differ in what is not money (reason, notify_url), never in money
            // or order.
            if existing.order_id != order.id {
                return Err(SimError::new(
                    400,
                    "INVALID_REQUEST",
                    "退款单号已用于其他订单",
                ));
            }
            if existing.refund != req.amount.refund || existing.total != req.amount.total {
                return Err(SimError::new(
                    400,
                    "INVALID_REQUEST",
                    "退款单号重复：同一 out_refund_no 的退款金额不一致",
                ));
            }
            return Reply::json(200, &existing.to_refund());
        }
        if !order.is_paid() {
            return Err(SimError::new(
                404,
                "RESOURCE_NOT_EXISTS",
                "订单未支付，不存在可退款的交易",
            ));
        }
        if req.amount.total != order.total {
            return Err(SimError::param("amount.total 与原订单金额不一致"));
        }
        let available = order.total - repo::refunded_total(&mut tx, order.id).await?;
        if req.amount.refund > available {
            return Err(SimError::new(
                400,
                "NOT_ENOUGH",
                format!("可退金额不足：剩余可退 {available} 分"),
            ));
        }
        let outcome = self
            .with_faults(|f| f.take_refund_outcome())
            .unwrap_or(RefundStatus::Success);
        let refund_id = format!("50{}", digits(27));
        repo::insert_refund(
            &mut tx,
            &NewRefundRow {
                mchid: &mchid,
                out_refund_no: &req.out_refund_no,
                refund_id: &refund_id,
                order_id: order.id,
                request: &request,
                reason: req.reason.as_deref(),
                notify_url: req.notify_url.as_deref(),
                refund: req.amount.refund,
                total: req.amount.total,
                currency: &req.amount.currency,
                outcome,
                complete_at: now + self.refund_delay(),
                now,
            },
        )
        .await?;
        if order.state() == TradeState::Success {
            repo::set_order_state(&mut tx, order.id, TradeState::Refund, now).await?;
        }
        let row = repo::find_refund(&mut tx, &mchid, &req.out_refund_no)
            .await?
            .ok_or_else(|| SimError::internal("refund vanished"))?;
        tx.commit().await?;
        Reply::json(200, &row.to_refund())
    }

    pub(crate) async fn query_refund(
        &self,
        merchant: &MerchantIdentity,
        out_refund_no: &str,
    ) -> Result<Reply, SimError> {
        let mut conn = self.pool.acquire().await?;
        let row = repo::find_refund(&mut conn, &merchant.material.mchid, out_refund_no)
            .await?
            .ok_or_else(|| SimError::new(404, "RESOURCE_NOT_EXISTS", "退款单不存在"))?;
        Reply::json(200, &row.to_refund())
    }

    /// `GET /v3/certificates`: the platform certificate, encrypted for this merchant.
    pub(crate) async fn certificates(
        &self,
        merchant: &MerchantIdentity,
    ) -> Result<Reply, SimError> {
        let platform = self.platform().await?;
        let cert = crate::wechatpay::keys::parse_certificate_pem(&platform.material.cert_pem)?;
        let nonce = aead::random_alnum(12);
        let ciphertext = aead::encrypt(
            &merchant.apiv3_key,
            &nonce,
            "certificate",
            platform.material.cert_pem.as_bytes(),
        )?;
        Reply::json(
            200,
            &CertificateList {
                data: vec![CertificateEntry {
                    serial_no: cert.serial_no,
                    effective_time: WxTime::from_utc(cert.not_before),
                    expire_time: WxTime::from_utc(cert.not_after),
                    encrypt_certificate: EncryptedCertificate {
                        algorithm: aead::ALGORITHM.into(),
                        nonce,
                        associated_data: "certificate".into(),
                        ciphertext,
                    },
                }],
            },
        )
    }

    /// An order by prepay id, for the cashier page.
    pub async fn order_by_prepay_id(&self, prepay_id: &str) -> Result<Option<OrderRow>, SimError> {
        let mut conn = self.pool.acquire().await?;
        Ok(repo::find_order(&mut conn, None, OrderKey::PrepayId(prepay_id), false).await?)
    }

    /// The cashier's 确认支付: marks the order paid and queues the `TRANSACTION.SUCCESS`
    /// callback (delivered by [`Simulator::deliver_due`]).
    pub async fn pay(&self, prepay_id: &str) -> Result<PayOutcome, SimError> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let Some(order) =
            repo::find_order(&mut tx, None, OrderKey::PrepayId(prepay_id), true).await?
        else {
            return Ok(PayOutcome::Unknown);
        };
        match order.state() {
            TradeState::Success | TradeState::Refund => return Ok(PayOutcome::AlreadyPaid(order)),
            TradeState::Closed | TradeState::Revoked => return Ok(PayOutcome::Closed(order)),
            _ => {}
        }
        if order.time_expire.is_some_and(|t| t < now) {
            return Ok(PayOutcome::Expired(order));
        }
        let merchant = self
            .merchant_via(&mut *tx, &order.mchid)
            .await?
            .ok_or_else(|| SimError::internal("order of an unknown merchant"))?;
        let transaction_id = format!("4200{}{}", &cst_stamp(now)[..8], digits(16));
        // H5 payers have no openid towards this appid until they pay; derive a stable one.
        let openid = order.payer_openid.clone().unwrap_or_else(|| {
            let h = Sha256::digest(order.prepay_id.as_bytes());
            format!("o{}", &hex::encode(h)[..27])
        });
        let paid = repo::mark_paid(&mut tx, order.id, &transaction_id, &openid, now).await?;
        let plain = serde_json::to_vec(&paid.to_transaction()).map_err(SimError::internal)?;
        self.queue_notification(
            &mut tx,
            &merchant,
            EventType::TransactionSuccess,
            &paid.notify_url,
            &plain,
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(out_trade_no = %paid.out_trade_no, "wechatpay simulator: order paid");
        Ok(PayOutcome::Paid(paid))
    }

    /// Queues a callback: the envelope with its resource encrypted for the merchant.
    pub(crate) async fn queue_notification(
        &self,
        conn: &mut sqlx::PgConnection,
        merchant: &MerchantIdentity,
        event: EventType,
        url: &str,
        plaintext: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SimError> {
        let kind = event.original_type();
        let envelope = NotificationEnvelope {
            id: uuid::Uuid::new_v4().to_string(),
            create_time: WxTime::from_utc(now),
            event_type: event.as_str().into(),
            resource_type: RESOURCE_TYPE_ENCRYPTED.into(),
            resource: aead::encrypt_resource(&merchant.apiv3_key, kind, kind, plaintext)?,
            summary: event.summary().into(),
        };
        let body = serde_json::to_string(&envelope).map_err(SimError::internal)?;
        let copies = self.with_faults(|f| f.copies()).unwrap_or(1);
        repo::insert_notification(
            conn,
            &NewNotification {
                notify_id: &envelope.id,
                mchid: &merchant.material.mchid,
                event_type: event,
                url,
                body: &body,
                copies,
                now,
            },
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_found_by_name() {
        assert_eq!(query_param(Some("a=1&mchid=19"), "mchid"), Some("19"));
        assert_eq!(query_param(Some("mchidx=1"), "mchid"), None);
        assert_eq!(query_param(None, "mchid"), None);
    }

    #[test]
    fn notify_urls_must_be_absolute_without_query() {
        assert!(check_notify_url("https://pay.example.cn/notify").is_ok());
        assert!(check_notify_url("http://127.0.0.1:9/notify").is_ok());
        assert!(check_notify_url("https://pay.example.cn/notify?x=1").is_err());
        assert!(check_notify_url("/notify").is_err());
    }
}
