//! WeChat Pay APIv3 (微信支付), protocol-true (issue #6, items 2 and 3).
//!
//! - `sign` / `verify` / `aead` / `keys` / `nonce`: the protocol core: request signatures,
//!   response and callback verification with replay protection, AEAD_AES_256_GCM
//!   resources, keys in public-key and platform-certificate mode;
//! - `model`: WeChat's wire models, amounts in integer fen;
//! - `client`: the [`WechatPay`] trait the payments domain builds on, and [`ApiV3Client`];
//! - `config`: the `[wechatpay]` settings (`simulator` by default, or `live`);
//! - `sim`: the simulator this binary serves under `/sim/wxpay`.
//!
//! Owns the boundary to WeChat Pay only: nothing here knows orders of the platform, the
//! ledger or tenants. Must never trust an unverified message, log a key, or let a `live`
//! configuration reach the simulator.

pub mod aead;
pub mod client;
pub mod config;
pub mod error;
pub mod keys;
pub mod model;
pub mod nonce;
pub mod sign;
pub mod sim;
pub mod sim_user;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::PgPool;

pub use aead::ApiV3Key;
pub use client::{ApiV3Client, ApiV3Config, WechatPay};
pub use config::{WechatPayMode, WechatPaySettings, NOTIFY_PATH};
pub use error::WechatPayError;
pub use keys::PlatformKeys;
pub use model::{
    EventType, JsapiPayParams, JsapiPrepay, NewH5Order, NewJsapiOrder, NewRefund, Notification,
    NotificationResource, Refund, RefundNotice, RefundStatus, TradeState, Transaction,
};
pub use nonce::{MemoryNonceStore, NonceStore, PgNonceStore};
pub use sim::Simulator;

use crate::clock::Clock;

/// Privileges the app login role needs on this module's tables, for the role bootstrap to
/// run as the owner after migrations (`{app}` is replaced with the quoted role). Tenant
/// roles get nothing: payments code runs as the app role.
pub const APP_GRANTS: &str = "\
grant select, insert, update, delete on platform.wxpay_nonces to {app};
grant select, insert on platform.wxpay_sim_platform, platform.wxpay_sim_merchants to {app};
grant select, insert, update on platform.wxpay_sim_orders, platform.wxpay_sim_refunds, \
platform.wxpay_sim_notifications to {app};
grant usage on sequence platform.wxpay_sim_orders_id_seq, platform.wxpay_sim_refunds_id_seq, \
platform.wxpay_sim_notifications_id_seq to {app};
";

/// What the app holds: the client, and the simulator when it is the one being talked to.
pub struct Wiring {
    pub client: Arc<dyn WechatPay>,
    pub simulator: Option<Arc<Simulator>>,
}

/// Builds the client (and in simulator mode the simulator) from settings. Replay
/// protection is kept in PostgreSQL (`pool`, the app role's pool).
pub fn build(
    settings: &WechatPaySettings,
    pool: PgPool,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Wiring> {
    settings.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let nonces: Arc<dyn NonceStore> = Arc::new(PgNonceStore::new(pool.clone()));
    match settings.mode {
        WechatPayMode::Simulator => {
            let sim = Arc::new(Simulator::new(pool, clock.clone(), settings.sim.clone())?);
            let client = sim::SimulatedWechatPay::new(sim.clone(), settings, clock, nonces);
            Ok(Wiring {
                client: Arc::new(client),
                simulator: Some(sim),
            })
        }
        WechatPayMode::Live => {
            let client = ApiV3Client::new(live_config(settings)?, clock, nonces)?;
            tracing::info!(mchid = %settings.mchid, "wechatpay: live mode");
            Ok(Wiring {
                client: Arc::new(client),
                simulator: None,
            })
        }
    }
}

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("无法读取{what} {}: {e}", path.display()))
}

/// The live client's configuration; `validate` has checked that every part is there.
fn live_config(s: &WechatPaySettings) -> anyhow::Result<ApiV3Config> {
    let missing = |k: &str| anyhow::anyhow!("wechatpay 实盘模式缺少配置: {k}");
    let key_file = s
        .merchant_key_file
        .as_ref()
        .ok_or_else(|| missing("merchant_key_file"))?;
    let merchant_key = keys::private_key_from_pem(&read(key_file, "商户私钥")?)?;
    let apiv3_key = ApiV3Key::parse(
        s.apiv3_key
            .as_ref()
            .ok_or_else(|| missing("apiv3_key"))?
            .expose_secret(),
    )?;
    let mut platform_keys = PlatformKeys::new();
    if let (Some(id), Some(file)) = (&s.platform_public_key_id, &s.platform_public_key_file) {
        platform_keys.add_public_key(id, &read(file, "微信支付公钥")?)?;
    }
    for f in &s.platform_cert_files {
        platform_keys.add_certificate(&read(f, "微信支付平台证书")?)?;
    }
    let notify_base = s
        .notify_base_url
        .as_deref()
        .ok_or_else(|| missing("notify_base_url"))?;
    Ok(ApiV3Config {
        base_url: s
            .base_url
            .clone()
            .unwrap_or_else(|| config::LIVE_BASE_URL.to_string()),
        mchid: s.mchid.clone(),
        appid: s.appid.clone(),
        merchant_serial: s
            .merchant_serial
            .clone()
            .ok_or_else(|| missing("merchant_serial"))?,
        merchant_key,
        apiv3_key,
        platform_keys,
        notify_url: format!("{}{NOTIFY_PATH}", notify_base.trim_end_matches('/')),
        timeout: Duration::from_secs(s.timeout_secs.max(1)),
        cashier_url: None,
    })
}
