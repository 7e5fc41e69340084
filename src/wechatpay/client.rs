//! The client: the [`WechatPay`] trait the payments domain programs against, and
//! [`ApiV3Client`], its one implementation, speaking APIv3 over HTTPS with `reqwest` to the
//! real platform or (same code, other base URL) to the embedded simulator.
//!
//! Every request is signed; every response is verified (signature, serial, timestamp,
//! nonce) before its body is parsed; 4xx/5xx bodies become [`WechatPayError::Api`] with the
//! platform's `code`. Must never retry a request that moves money on its own: the domain
//! decides, using its idempotent `out_trade_no` / `out_refund_no`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poem::http::HeaderMap;
use reqwest::Method;
use rsa::RsaPrivateKey;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::aead::{self, ApiV3Key};
use super::error::WechatPayError;
use super::keys::PlatformKeys;
use super::model::*;
use super::nonce::NonceStore;
use super::sign::{new_nonce, MerchantSigner};
use super::verify::{SignedHeaders, Verifier, HEADER_SERIAL};
use crate::clock::Clock;

/// WeChat Pay as the payments domain sees it.
#[async_trait]
pub trait WechatPay: Send + Sync {
    /// 商户号 this client acts for.
    fn mchid(&self) -> &str;

    /// The AppID orders are created under (a JSAPI payer's openid belongs to it).
    fn appid(&self) -> &str;

    /// `POST /v3/pay/transactions/jsapi`; also signs the page's `getBrandWCPayRequest`
    /// parameters.
    async fn create_jsapi(&self, order: &NewJsapiOrder) -> Result<JsapiPrepay, WechatPayError>;

    /// `POST /v3/pay/transactions/h5`; the `h5_url` to send the browser to.
    async fn create_h5(&self, order: &NewH5Order) -> Result<String, WechatPayError>;

    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`
    async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, WechatPayError>;

    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` (204).
    async fn close(&self, out_trade_no: &str) -> Result<(), WechatPayError>;

    /// `POST /v3/refund/domestic/refunds`
    async fn refund(&self, refund: &NewRefund) -> Result<Refund, WechatPayError>;

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`
    async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, WechatPayError>;

    /// Verifies a callback (headers and the RAW body as received) and decrypts its
    /// resource. Answer 200/204 only after the result is stored; anything else makes the
    /// platform retry.
    async fn verify_callback(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<Notification, WechatPayError>;

    /// Simulator only: the simulated cashier page for a prepay id, where a JSAPI page would
    /// call `WeixinJSBridge` (which exists only inside WeChat). `None` against the real
    /// platform.
    fn cashier_url(&self, _prepay_id: &str) -> Option<String> {
        None
    }
}

/// Everything [`ApiV3Client`] needs.
pub struct ApiV3Config {
    /// `https://api.mch.weixin.qq.com`, or `http://host:port/sim/wxpay`.
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    pub merchant_serial: String,
    pub merchant_key: RsaPrivateKey,
    pub apiv3_key: ApiV3Key,
    pub platform_keys: PlatformKeys,
    /// Default `notify_url` of orders and refunds.
    pub notify_url: String,
    pub timeout: Duration,
    /// Simulator only: base of the cashier page (`…/sim/wxpay/cashier`).
    pub cashier_url: Option<String>,
}

pub struct ApiV3Client {
    base_url: String,
    mchid: String,
    appid: String,
    notify_url: String,
    cashier_url: Option<String>,
    signer: MerchantSigner,
    apiv3_key: ApiV3Key,
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

/// A response whose signature has been verified.
struct Verified {
    status: u16,
    body: bytes::Bytes,
}

const USER_AGENT: &str = concat!(
    "afterschool/",
    env!("CARGO_PKG_VERSION"),
    " (wechatpay-apiv3)"
);

impl ApiV3Client {
    pub fn new(
        cfg: ApiV3Config,
        clock: Arc<dyn Clock>,
        nonces: Arc<dyn NonceStore>,
    ) -> Result<Self, WechatPayError> {
        if cfg.platform_keys.is_empty() {
            return Err(WechatPayError::KeyInvalid(
                "no platform public key or certificate".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WechatPayError::Transport(e.to_string()))?;
        Ok(Self {
            base_url: cfg.base_url.trim_end_matches('/').to_string(),
            signer: MerchantSigner::new(&cfg.mchid, &cfg.merchant_serial, cfg.merchant_key),
            verifier: Verifier::new(cfg.platform_keys, clock.clone(), nonces, "platform"),
            mchid: cfg.mchid,
            appid: cfg.appid,
            notify_url: cfg.notify_url,
            cashier_url: cfg.cashier_url,
            apiv3_key: cfg.apiv3_key,
            clock,
            http,
        })
    }

    pub fn notify_url(&self) -> &str {
        &self.notify_url
    }

    /// The signed parameters of `getBrandWCPayRequest` for a prepay id, fresh timestamp and
    /// nonce.
    pub fn jsapi_pay_params(&self, prepay_id: &str) -> JsapiPayParams {
        self.signer.jsapi_pay_params(
            &self.appid,
            prepay_id,
            self.clock.now().timestamp(),
            &new_nonce(),
        )
    }

    /// Sends one signed request; verifies the answer. `url` is the path and query below the
    /// base URL, which is also what is signed.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Verified, WechatPayError> {
        let body = body.unwrap_or_default();
        let ts = self.clock.now().timestamp();
        let nonce = new_nonce();
        let auth = self
            .signer
            .authorization(method.as_str(), url, ts, &nonce, &body);
        let mut req = self
            .http
            .request(method.clone(), format!("{}{url}", self.base_url))
            .header("Authorization", auth)
            .header("Accept", "application/json");
        if let Some(serial) = self.verifier.keys().preferred_serial() {
            req = req.header(HEADER_SERIAL, serial);
        }
        if method != Method::GET {
            req = req.header("Content-Type", "application/json").body(body);
        }
        let resp = req.send().await.map_err(|e| {
            WechatPayError::Transport(if e.is_timeout() {
                "timeout".to_string()
            } else {
                e.to_string()
            })
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| WechatPayError::Transport(e.to_string()))?;
        let success = (200..300).contains(&status);
        // Success must be signed. An error answer may come unsigned from a gateway in front
        // of the platform; it can only make us fail, never believe a payment happened.
        if success || SignedHeaders::present(&headers) {
            self.verifier.verify(&headers, &body).await?;
        }
        if !success {
            let parsed: Option<ErrorResponse> = serde_json::from_slice(&body).ok();
            let (code, message) = match parsed {
                Some(e) => (e.code, e.message),
                None => (
                    format!("HTTP_{status}"),
                    String::from_utf8_lossy(&body).chars().take(200).collect(),
                ),
            };
            tracing::warn!(status, %code, %message, url, "wechatpay error answer");
            return Err(WechatPayError::Api {
                status,
                code,
                message,
            });
        }
        Ok(Verified { status, body })
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<T, WechatPayError> {
        let raw = match body {
            Some(b) => Some(
                serde_json::to_vec(b).map_err(|e| WechatPayError::InvalidInput(e.to_string()))?,
            ),
            None => None,
        };
        let v = self.send(method, url, raw).await?;
        serde_json::from_slice(&v.body)
            .map_err(|e| WechatPayError::Malformed(format!("{url} answered {}: {e}", v.status)))
    }

    /// `GET /v3/certificates`: the platform certificates, decrypted (PEM), for
    /// platform-certificate mode. The answer is verified with the keys already known.
    pub async fn download_certificates(&self) -> Result<Vec<String>, WechatPayError> {
        let list: CertificateList = self
            .call::<(), _>(Method::GET, "/v3/certificates", None)
            .await?;
        let mut pems = Vec::new();
        for c in list.data {
            let e = c.encrypt_certificate;
            if e.algorithm != aead::ALGORITHM {
                return Err(WechatPayError::AlgorithmUnsupported(e.algorithm));
            }
            let pem = aead::decrypt(&self.apiv3_key, &e.nonce, &e.associated_data, &e.ciphertext)?;
            pems.push(
                String::from_utf8(pem)
                    .map_err(|_| WechatPayError::Malformed("certificate is not UTF-8".into()))?,
            );
        }
        Ok(pems)
    }

    fn expire(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<WxTime> {
        t.map(WxTime::from_utc)
    }
}

fn check_out_trade_no(no: &str) -> Result<(), WechatPayError> {
    if valid_out_trade_no(no) {
        Ok(())
    } else {
        Err(WechatPayError::InvalidInput(
            "out_trade_no 须为 6 至 32 位字母、数字或 _-|*".into(),
        ))
    }
}

#[async_trait]
impl WechatPay for ApiV3Client {
    fn mchid(&self) -> &str {
        &self.mchid
    }

    fn appid(&self) -> &str {
        &self.appid
    }

    async fn create_jsapi(&self, order: &NewJsapiOrder) -> Result<JsapiPrepay, WechatPayError> {
        check_order_input(
            &order.description,
            &order.out_trade_no,
            order.total_fen,
            order.attach.as_deref(),
        )?;
        if order.openid.trim().is_empty() {
            return Err(WechatPayError::InvalidInput("openid 不能为空".into()));
        }
        let req = JsapiPrepayRequest {
            appid: self.appid.clone(),
            mchid: self.mchid.clone(),
            description: order.description.clone(),
            out_trade_no: order.out_trade_no.clone(),
            time_expire: Self::expire(order.time_expire),
            attach: order.attach.clone(),
            notify_url: order
                .notify_url
                .clone()
                .unwrap_or_else(|| self.notify_url.clone()),
            amount: Amount {
                total: order.total_fen,
                currency: CNY.into(),
            },
            payer: Payer {
                openid: order.openid.clone(),
            },
        };
        let r: PrepayResponse = self
            .call(Method::POST, "/v3/pay/transactions/jsapi", Some(&req))
            .await?;
        let pay_params = self.jsapi_pay_params(&r.prepay_id);
        Ok(JsapiPrepay {
            prepay_id: r.prepay_id,
            pay_params,
        })
    }

    async fn create_h5(&self, order: &NewH5Order) -> Result<String, WechatPayError> {
        check_order_input(
            &order.description,
            &order.out_trade_no,
            order.total_fen,
            order.attach.as_deref(),
        )?;
        let req = H5PrepayRequest {
            appid: self.appid.clone(),
            mchid: self.mchid.clone(),
            description: order.description.clone(),
            out_trade_no: order.out_trade_no.clone(),
            time_expire: Self::expire(order.time_expire),
            attach: order.attach.clone(),
            notify_url: order
                .notify_url
                .clone()
                .unwrap_or_else(|| self.notify_url.clone()),
            amount: Amount {
                total: order.total_fen,
                currency: CNY.into(),
            },
            scene_info: SceneInfo {
                payer_client_ip: order.payer_client_ip.clone(),
                device_id: None,
                h5_info: Some(H5Info {
                    kind: order.h5_type.clone(),
                    app_name: None,
                    app_url: None,
                }),
            },
        };
        let r: H5PrepayResponse = self
            .call(Method::POST, "/v3/pay/transactions/h5", Some(&req))
            .await?;
        Ok(r.h5_url)
    }

    async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, WechatPayError> {
        check_out_trade_no(out_trade_no)?;
        let url = format!(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={}",
            self.mchid
        );
        let t: Transaction = self.call::<(), _>(Method::GET, &url, None).await?;
        if t.out_trade_no != out_trade_no || t.mchid != self.mchid {
            return Err(WechatPayError::Malformed(
                "the answer names another order".into(),
            ));
        }
        Ok(t)
    }

    async fn close(&self, out_trade_no: &str) -> Result<(), WechatPayError> {
        check_out_trade_no(out_trade_no)?;
        let url = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let body = serde_json::to_vec(&CloseRequest {
            mchid: self.mchid.clone(),
        })
        .map_err(|e| WechatPayError::InvalidInput(e.to_string()))?;
        let v = self.send(Method::POST, &url, Some(body)).await?;
        if v.status != 204 && v.status != 200 {
            return Err(WechatPayError::Malformed(format!(
                "close answered {}",
                v.status
            )));
        }
        Ok(())
    }

    async fn refund(&self, refund: &NewRefund) -> Result<Refund, WechatPayError> {
        check_out_trade_no(&refund.out_trade_no)?;
        if !valid_out_refund_no(&refund.out_refund_no) {
            return Err(WechatPayError::InvalidInput(
                "out_refund_no 须为 1 至 64 位字母、数字或 _-|*@".into(),
            ));
        }
        if refund.refund_fen <= 0 || refund.refund_fen > refund.total_fen {
            return Err(WechatPayError::InvalidInput(
                "退款金额须大于 0 且不超过订单金额".into(),
            ));
        }
        let req = RefundRequest {
            transaction_id: None,
            out_trade_no: Some(refund.out_trade_no.clone()),
            out_refund_no: refund.out_refund_no.clone(),
            reason: refund.reason.clone(),
            notify_url: Some(
                refund
                    .notify_url
                    .clone()
                    .unwrap_or_else(|| self.notify_url.clone()),
            ),
            funds_account: None,
            amount: RefundRequestAmount {
                refund: refund.refund_fen,
                total: refund.total_fen,
                currency: CNY.into(),
            },
        };
        self.call(Method::POST, "/v3/refund/domestic/refunds", Some(&req))
            .await
    }

    async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, WechatPayError> {
        if !valid_out_refund_no(out_refund_no) {
            return Err(WechatPayError::InvalidInput(
                "out_refund_no 须为 1 至 64 位字母、数字或 _-|*@".into(),
            ));
        }
        let url = format!("/v3/refund/domestic/refunds/{out_refund_no}");
        self.call::<(), _>(Method::GET, &url, None).await
    }

    async fn verify_callback(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<Notification, WechatPayError> {
        self.verifier.verify(headers, raw_body).await?;
        decode_notification(&self.apiv3_key, &self.mchid, raw_body)
    }

    fn cashier_url(&self, prepay_id: &str) -> Option<String> {
        self.cashier_url
            .as_ref()
            .map(|base| format!("{base}?prepay_id={prepay_id}"))
    }
}

/// Decrypts and types a verified callback body.
pub fn decode_notification(
    key: &ApiV3Key,
    mchid: &str,
    raw_body: &[u8],
) -> Result<Notification, WechatPayError> {
    let env: NotificationEnvelope = serde_json::from_slice(raw_body)
        .map_err(|e| WechatPayError::Malformed(format!("callback envelope: {e}")))?;
    if env.resource_type != RESOURCE_TYPE_ENCRYPTED {
        return Err(WechatPayError::Malformed(format!(
            "resource_type {}",
            env.resource_type
        )));
    }
    let event_type = EventType::parse(&env.event_type)
        .ok_or_else(|| WechatPayError::Malformed(format!("event_type {}", env.event_type)))?;
    let plain = aead::decrypt_resource(key, &env.resource)?;
    let bad = |e: serde_json::Error| WechatPayError::Malformed(format!("callback resource: {e}"));
    let resource = match event_type {
        EventType::TransactionSuccess => {
            let t: Transaction = serde_json::from_slice(&plain).map_err(bad)?;
            if t.mchid != mchid {
                return Err(WechatPayError::Malformed(
                    "callback for another merchant".into(),
                ));
            }
            NotificationResource::Transaction(t)
        }
        _ => {
            let r: RefundNotice = serde_json::from_slice(&plain).map_err(bad)?;
            if r.mchid != mchid {
                return Err(WechatPayError::Malformed(
                    "callback for another merchant".into(),
                ));
            }
            NotificationResource::Refund(r)
        }
    };
    Ok(Notification {
        id: env.id,
        create_time: env.create_time,
        event_type,
        summary: env.summary,
        resource,
    })
}
