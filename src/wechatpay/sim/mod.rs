//! The WeChat Pay APIv3 simulator served by this binary under `/sim/wxpay` (the embedded
//! default when no merchant is configured; a `live` configuration never mounts it).
//!
//! Protocol-true where a merchant can see it: it checks each request's `Authorization`
//! exactly like the real service (401 `SIGN_ERROR`), signs every answer and callback with
//! its own platform key (public-key id or certificate serial), encrypts callback resources
//! with the merchant's APIv3 key, keeps its own merchant ledger in PostgreSQL and applies
//! the platform's business rules (duplicate `out_trade_no`, `ORDERPAID`, `NOT_ENOUGH` ...).
//! Callbacks go out with the real retry schedule. It shares no code path with the client
//! beyond the protocol primitives (signing, AEAD, models).
//!
//! Parts: `keys` (its key material), `repo` (SQL), `service` (the rules), `deliver`
//! (callbacks and refund completion, [`Simulator::deliver_due`]), `api` (HTTP routes and the
//! cashier page), `control` (fault injection), `local` (the [`WechatPay`](super::WechatPay)
//! the app uses in simulator mode). Must never be reachable in a `live` configuration.

pub mod api;
pub mod cashier;
pub mod control;
pub mod deliver;
pub mod keys;
pub mod local;
pub mod repo;
pub mod service;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

use super::config::SimSettings;
use super::error::WechatPayError;
use super::nonce::PgNonceStore;
use crate::clock::Clock;
pub use api::routes;
pub use control::{ControlRequest, Faults, SignWith};
pub use deliver::{run, DeliveryReport, RETRY_SCHEDULE_SECS};
pub use keys::{MerchantCredentials, MerchantMaterial, PlatformMaterial, TrustMode};
pub use local::SimulatedWechatPay;
pub use repo::Inbox;

use keys::{MerchantIdentity, PlatformIdentity};

/// A business or protocol error the simulator answers with `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl SimError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn sign_error(message: impl Into<String>) -> Self {
        Self::new(401, "SIGN_ERROR", message)
    }

    pub fn param(message: impl Into<String>) -> Self {
        Self::new(400, "PARAM_ERROR", message)
    }

    /// Logged with its cause; answered as the platform's generic 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "wechatpay simulator internal error");
        Self::new(500, "SYSTEM_ERROR", "系统错误")
    }
}

impl From<sqlx::Error> for SimError {
    fn from(e: sqlx::Error) -> Self {
        SimError::internal(e)
    }
}

impl From<WechatPayError> for SimError {
    fn from(e: WechatPayError) -> Self {
        SimError::internal(e)
    }
}

/// An answer before signing.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Self, SimError> {
        Ok(Self {
            status,
            body: serde_json::to_vec(value).map_err(SimError::internal)?,
        })
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: Vec::new(),
        }
    }
}

pub struct Simulator {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    settings: SimSettings,
    faults: Mutex<Faults>,
    nonces: PgNonceStore,
    http: reqwest::Client,
    /// `http://host:port` of this server, known once it is bound.
    local_base: OnceLock<String>,
    platform: tokio::sync::OnceCell<Arc<PlatformIdentity>>,
    merchants: Mutex<HashMap<String, Arc<MerchantIdentity>>>,
}

/// The answer of `/sim/wxpay/control`.
#[derive(Debug, Clone, Serialize)]
pub struct ControlAnswer {
    pub faults: Faults,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryReport>,
}

impl Simulator {
    pub fn new(
        pool: PgPool,
        clock: Arc<dyn Clock>,
        settings: SimSettings,
    ) -> Result<Self, WechatPayError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.delivery_timeout_secs.max(1)))
            .user_agent("Mozilla/4.0")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WechatPayError::Transport(e.to_string()))?;
        Ok(Self {
            nonces: PgNonceStore::new(pool.clone()),
            pool,
            clock,
            settings,
            faults: Mutex::new(Faults::default()),
            http,
            local_base: OnceLock::new(),
            platform: tokio::sync::OnceCell::new(),
            merchants: Mutex::new(HashMap::new()),
        })
    }

    /// Tells the simulator where this server listens (`http://127.0.0.1:8080`); the first
    /// call wins.
    pub fn set_local_base(&self, base: String) {
        let _ = self.local_base.set(base);
    }

    pub fn local_base(&self) -> Option<&str> {
        self.local_base.get().map(String::as_str)
    }

    pub fn settings(&self) -> &SimSettings {
        &self.settings
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn faults(&self) -> Faults {
        self.faults.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Changes the fault settings in place (tests).
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        if let Ok(mut f) = self.faults.lock() {
            change(&mut f);
        }
    }

    fn with_faults<T>(&self, f: impl FnOnce(&mut Faults) -> T) -> Option<T> {
        self.faults.lock().ok().map(|mut g| f(&mut g))
    }

    /// Applies a control request; runs the delivery when asked.
    pub async fn control(&self, req: &ControlRequest) -> Result<ControlAnswer, SimError> {
        self.with_faults(|f| req.apply(f))
            .unwrap_or(Ok(()))
            .map_err(SimError::param)?;
        let delivery = if req.deliver_due == Some(true) {
            Some(self.deliver_due(self.clock.now()).await?)
        } else {
            None
        };
        Ok(ControlAnswer {
            faults: self.faults(),
            delivery,
        })
    }

    pub(crate) async fn platform(&self) -> Result<Arc<PlatformIdentity>, WechatPayError> {
        self.platform
            .get_or_try_init(|| async {
                let m = keys::ensure_platform(&self.pool, self.clock.now()).await?;
                Ok::<_, WechatPayError>(Arc::new(PlatformIdentity::new(m)?))
            })
            .await
            .cloned()
    }

    /// A registered merchant, parsed (cached: merchant keys never change).
    pub(crate) async fn merchant(
        &self,
        mchid: &str,
    ) -> Result<Option<Arc<MerchantIdentity>>, WechatPayError> {
        self.merchant_via(&self.pool, mchid).await
    }

    /// As [`Simulator::merchant`], reading through `exec`: inside a transaction, so it never
    /// waits for a second connection from the pool.
    pub(crate) async fn merchant_via<'e>(
        &self,
        exec: impl sqlx::PgExecutor<'e>,
        mchid: &str,
    ) -> Result<Option<Arc<MerchantIdentity>>, WechatPayError> {
        if let Some(m) = self
            .merchants
            .lock()
            .ok()
            .and_then(|m| m.get(mchid).cloned())
        {
            return Ok(Some(m));
        }
        let Some(material) = keys::load_merchant(exec, mchid).await? else {
            return Ok(None);
        };
        let m = Arc::new(MerchantIdentity::new(material)?);
        if let Ok(mut cache) = self.merchants.lock() {
            cache.insert(mchid.to_string(), m.clone());
        }
        Ok(Some(m))
    }

    /// Registers `mchid` (fresh keys) unless known, and returns what the merchant needs to
    /// call the simulator.
    pub async fn ensure_merchant(
        &self,
        mchid: &str,
        appid: &str,
    ) -> Result<MerchantCredentials, WechatPayError> {
        let platform = self.platform().await?;
        let m = keys::ensure_merchant(
            &self.pool,
            mchid,
            appid,
            &self.settings.merchant_name,
            self.clock.now(),
        )
        .await?;
        Ok(MerchantCredentials::new(m, &platform.material))
    }

    /// What the operator console shows: the newest orders, refunds and callbacks.
    pub async fn inbox(&self, limit: i64) -> Result<Inbox, WechatPayError> {
        Ok(repo::inbox(&self.pool, limit.clamp(1, 500)).await?)
    }

    /// Deletes expired request nonces (run by the background task).
    pub async fn prune_nonces(&self) -> Result<u64, WechatPayError> {
        self.nonces.prune(self.clock.now()).await
    }

    fn refund_delay(&self) -> chrono::Duration {
        let secs = self
            .with_faults(|f| f.refund_delay_secs)
            .flatten()
            .unwrap_or(self.settings.refund_delay_secs);
        chrono::Duration::seconds(secs.max(0))
    }
}
