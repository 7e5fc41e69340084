//! The shared context ([`Ctx`]): what every service needs from the running platform.
//!
//! Ground floor: knows nothing of HTTP, pages or any feature. Services take `&Ctx`; the
//! HTTP layer hands it to handlers as request data. Must never hold per-request state.

use std::sync::Arc;

use sqlx::PgPool;

use crate::audit::{self, AuditEvent};
use crate::auth::authz::Authz;
use crate::auth::ratelimit::Limits;
use crate::auth::sms::{SimulatedSms, SmsSender};
use crate::clock::Clock;
use crate::config::SecuritySettings;
use crate::keys::Keys;
use crate::storage::ObjectStore;
use crate::wechatpay::{self, WechatPay, WechatPaySettings};

/// The shared context every service call gets: database, clock, keys, storage, the
/// outside parties' clients and the authorisation policy. Built once at start.
pub struct Ctx {
    /// Pool of the NOINHERIT app login role: reads a tenant only inside a `TenantTx`.
    pub db_app: PgPool,
    pub clock: Arc<dyn Clock>,
    pub storage: Arc<dyn ObjectStore>,
    pub base_domain: String,
    pub keys: Keys,
    /// Read-only after start: shared without a lock.
    pub authz: Arc<Authz>,
    pub limits: Arc<Limits>,
    pub sms: Arc<dyn SmsSender>,
    pub security: SecuritySettings,
    /// WeChat Pay: the client talking to the embedded simulator by default, to the real
    /// platform after [`Ctx::with_wechatpay`] with a `live` configuration.
    pub wechatpay: Arc<dyn WechatPay>,
    /// The WeChat Pay simulator served under `/sim/wxpay`; `None` in live mode (the routes
    /// are then not mounted).
    pub wxpay_sim: Option<Arc<wechatpay::Simulator>>,
    /// WeChat web OAuth (the parent's openid): the simulator unless live.
    pub wx_oauth: crate::wechatpay::config::OAuthConfig,
    /// Where browsers reach this server (`http.public_url`); `None`: the address it is
    /// bound to. Every absolute URL the server builds starts here, never with a request's
    /// `Host` header.
    pub public_url: Option<String>,
    /// The city supervision push: keys, client and (simulator mode) the receiver.
    pub supervision: Arc<crate::supervision::runtime::Supervision>,
    /// Messages to parents and staff: settings and the WeChat client.
    pub notify: Arc<crate::notify::runtime::Notifier>,
    /// What this process's outbox worker delivered (for `/metrics`).
    pub outbox: Arc<crate::outbox::settings::WorkerCounters>,
    /// Where this server reaches itself, known once it is bound.
    local_base: std::sync::OnceLock<String>,
}

impl Ctx {
    /// The state with the built-in simulators (SMS, WeChat Pay) as outside parties.
    pub async fn new(
        db_app: PgPool,
        clock: Arc<dyn Clock>,
        storage: Arc<dyn ObjectStore>,
        base_domain: String,
        keys: Keys,
        security: SecuritySettings,
    ) -> anyhow::Result<Self> {
        let wxpay = wechatpay::build(&WechatPaySettings::default(), db_app.clone(), clock.clone())?;
        let supervision = Arc::new(crate::supervision::runtime::Supervision::build(
            &Default::default(),
            &keys,
        )?);
        Ok(Self {
            wechatpay: wxpay.client,
            wxpay_sim: wxpay.simulator,
            wx_oauth: crate::wechatpay::config::OAuthConfig {
                app_secret: None,
                live: false,
            },
            sms: Arc::new(SimulatedSms {
                pool: db_app.clone(),
                keys: keys.pii.clone(),
            }),
            limits: Arc::new(Limits::new(&security)),
            authz: Arc::new(Authz::embedded().await?),
            db_app,
            clock,
            storage,
            base_domain,
            keys,
            security,
            public_url: None,
            outbox: Default::default(),
            notify: Arc::new(crate::notify::runtime::Notifier::build(&Default::default())?),
            supervision,
            local_base: std::sync::OnceLock::new(),
        })
    }

    /// Sets the address browsers reach this server at (`https://kh.example.cn`).
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_string());
        self
    }

    /// The origin for absolute URLs handed to browsers (redirects, WeChat's `redirect_uri`).
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => self.local_base(),
        }
    }

    /// Where this server reaches itself (for calls to its own simulators).
    pub fn local_base(&self) -> String {
        self.local_base
            .get()
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1".into())
    }

    /// Records where this server reaches itself, once it is bound (later calls are no-ops).
    pub fn set_local_base(&self, base: String) {
        let _ = self.local_base.set(base);
    }

    /// Appends an audit record in its own transaction. Failing to audit is logged loudly
    /// but does not change the answer already decided (the denial or failure stands).
    pub async fn audit_event(&self, ev: AuditEvent) {
        let now = self.clock.now();
        if let Err(e) = audit::append_standalone(&self.db_app, &self.keys.audit, &ev, now).await {
            tracing::error!(error = %e, action = %ev.action, "audit append failed");
        }
    }

    /// Whether `uri` is a page of this platform: same scheme, host and port as the
    /// configured public address (where WeChat may send a browser back to).
    pub fn is_our_page(&self, uri: &str) -> bool {
        let (Ok(u), Ok(ours)) = (url::Url::parse(uri), url::Url::parse(&self.public_base())) else {
            return false;
        };
        (u.scheme() == "https" || u.scheme() == "http")
            && u.origin() == ours.origin()
            && u.username().is_empty()
            && u.password().is_none()
    }

    /// Whether browsers reach this server over HTTPS as configured.
    pub fn public_is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// Replaces the supervision push's wiring with the one `settings` describe (`live`
    /// drops the simulator). Fails on a configuration that must not start.
    pub fn with_supervision(
        mut self,
        settings: &crate::supervision::model::SupervisionSettings,
    ) -> anyhow::Result<Self> {
        self.supervision = Arc::new(crate::supervision::runtime::Supervision::build(
            settings, &self.keys,
        )?);
        Ok(self)
    }

    /// Replaces the notify service's settings (templates, rate limits, timeouts).
    pub fn with_notify(
        mut self,
        settings: &crate::notify::model::NotifySettings,
    ) -> anyhow::Result<Self> {
        self.notify = Arc::new(crate::notify::runtime::Notifier::build(settings)?);
        Ok(self)
    }

    /// Replaces the WeChat Pay wiring with the one `settings` describe (`live` drops the
    /// simulator). Fails on a configuration that must not start.
    pub fn with_wechatpay(mut self, settings: &WechatPaySettings) -> anyhow::Result<Self> {
        let wxpay = wechatpay::build(settings, self.db_app.clone(), self.clock.clone())?;
        self.wechatpay = wxpay.client;
        self.wxpay_sim = wxpay.simulator;
        self.wx_oauth = crate::wechatpay::config::OAuthConfig {
            app_secret: settings.app_secret.clone(),
            live: settings.mode == wechatpay::WechatPayMode::Live,
        };
        Ok(self)
    }
}
