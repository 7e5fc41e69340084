//! The [`WechatPay`] the app uses in simulator mode: the real [`ApiV3Client`], pointed at
//! this server's `/sim/wxpay` with the credentials the simulator issued to the configured
//! merchant. Built at first use, because the server's address is known only once it is
//! bound and key generation should not slow every start. No shortcut: every call goes over
//! HTTP, signed and verified.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poem::http::HeaderMap;

use super::keys::TrustMode;
use super::Simulator;
use crate::clock::Clock;
use crate::wechatpay::client::{ApiV3Client, WechatPay};
use crate::wechatpay::config::{WechatPaySettings, NOTIFY_PATH, SIM_PREFIX};
use crate::wechatpay::error::WechatPayError;
use crate::wechatpay::model::*;
use crate::wechatpay::nonce::NonceStore;

pub struct SimulatedWechatPay {
    sim: Arc<Simulator>,
    mchid: String,
    appid: String,
    base_url: Option<String>,
    notify_base_url: Option<String>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceStore>,
    client: tokio::sync::OnceCell<ApiV3Client>,
}

impl SimulatedWechatPay {
    pub fn new(
        sim: Arc<Simulator>,
        settings: &WechatPaySettings,
        clock: Arc<dyn Clock>,
        nonces: Arc<dyn NonceStore>,
    ) -> Self {
        Self {
            sim,
            mchid: settings.mchid.clone(),
            appid: settings.appid.clone(),
            base_url: settings.base_url.clone(),
            notify_base_url: settings.notify_base_url.clone(),
            timeout: Duration::from_secs(settings.timeout_secs.max(1)),
            clock,
            nonces,
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// The client, built at first use.
    pub async fn client(&self) -> Result<&ApiV3Client, WechatPayError> {
        self.client
            .get_or_try_init(|| async {
                let local = self.sim.local_base().map(str::to_owned);
                let not_ready =
                    || WechatPayError::NotReady("the server is not listening yet".into());
                let base = match (&self.base_url, &local) {
                    (Some(b), _) => b.clone(),
                    (None, Some(l)) => format!("{l}{SIM_PREFIX}"),
                    (None, None) => return Err(not_ready()),
                };
                let notify_base = self
                    .notify_base_url
                    .clone()
                    .or(local)
                    .ok_or_else(not_ready)?;
                let creds = self.sim.ensure_merchant(&self.mchid, &self.appid).await?;
                let cfg = creds.api_config(
                    &base,
                    &format!("{}{NOTIFY_PATH}", notify_base.trim_end_matches('/')),
                    self.timeout,
                    TrustMode::Both,
                )?;
                ApiV3Client::new(cfg, self.clock.clone(), self.nonces.clone())
            })
            .await
    }
}

#[async_trait]
impl WechatPay for SimulatedWechatPay {
    fn mchid(&self) -> &str {
        &self.mchid
    }

    fn appid(&self) -> &str {
        &self.appid
    }

    async fn create_jsapi(&self, order: &NewJsapiOrder) -> Result<JsapiPrepay, WechatPayError> {
        self.client().await?.create_jsapi(order).await
    }

    async fn create_h5(&self, order: &NewH5Order) -> Result<String, WechatPayError> {
        self.client().await?.create_h5(order).await
    }

    async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, WechatPayError> {
        self.client()
            .await?
            .query_by_out_trade_no(out_trade_no)
            .await
    }

    async fn close(&self, out_trade_no: &str) -> Result<(), WechatPayError> {
        self.client().await?.close(out_trade_no).await
    }

    async fn refund(&self, refund: &NewRefund) -> Result<Refund, WechatPayError> {
        self.client().await?.refund(refund).await
    }

    async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, WechatPayError> {
        self.client().await?.query_refund(out_refund_no).await
    }

    async fn verify_callback(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<Notification, WechatPayError> {
        self.client()
            .await?
            .verify_callback(headers, raw_body)
            .await
    }

    fn cashier_url(&self, prepay_id: &str) -> Option<String> {
        let base = match &self.base_url {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => format!("{}{SIM_PREFIX}", self.sim.local_base()?),
        };
        Some(format!("{base}/cashier?prepay_id={prepay_id}"))
    }
}
