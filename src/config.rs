//! Layered configuration: built-in defaults, then an optional TOML file, then
//! `AFTERSCHOOL__SECTION__KEY` environment variables (and plain `DATABASE_URL`).
//!
//! Owns the shape of the settings and their validation. Must never log a secret: secrets
//! are `SecretString` and `Debug` prints them redacted.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::outbox::settings::OutboxSettings;
use crate::storage::StorageSettings;
use crate::supervision::model::SupervisionSettings;
use crate::wechatpay::WechatPaySettings;

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub log: LogSettings,
    pub security: SecuritySettings,
    pub wechatpay: WechatPaySettings,
    pub outbox: OutboxSettings,
    pub supervision: SupervisionSettings,
    pub notify: crate::notify::model::NotifySettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// Requests for `<code>.<base_domain>` are routed to tenant `<code>`.
    pub base_domain: String,
    /// The address browsers reach the platform at (`https://kh.example.cn`, behind the load
    /// balancer); unset: `http://<host>:<port>`. Absolute URLs are built from it, never from
    /// a request's `Host` header, and an `https` address marks session cookies `Secure`.
    pub public_url: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            base_domain: "afterschool.localhost".into(),
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Owner/administrator connection (migrations, provisioning). `None` starts the
    /// embedded private cluster under `data_dir`.
    #[serde(skip_serializing)]
    pub url: Option<SecretString>,
    /// Password of the request-serving login role. `None`: a fresh random one is set at
    /// every start, which is right for one process and wrong for a fleet.
    #[serde(skip_serializing)]
    pub app_password: Option<SecretString>,
    pub data_dir: PathBuf,
    pub max_connections: u32,
    /// Connections are recycled so per-connection catalog caches (one entry per table
    /// touched across hundreds of tenant schemas) stay bounded.
    pub max_lifetime_secs: u64,
    pub idle_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            app_password: None,
            data_dir: PathBuf::from("var/pg"),
            max_connections: 32,
            max_lifetime_secs: 1800,
            idle_timeout_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `tracing` env-filter directive.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info,sqlx=warn".into(),
        }
    }
}

impl Settings {
    /// Loads defaults, then `file` (if given; a missing explicit file is an error), then
    /// the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("配置文件不存在: {}", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("AFTERSCHOOL__").split("__"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.trim().is_empty() {
                fig = fig.merge(Serialized::default("database.url", url));
            }
        }
        let settings: Settings = fig.extract()?;
        settings
            .storage
            .validate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        settings
            .wechatpay
            .validate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(settings)
    }
}

/// Keys and sign-in policy. Keys are base64 of 32 random bytes; when none are configured
/// (demo, development) they are generated once into `keys_file` (mode 0600).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySettings {
    /// AEAD keys for personal data, by id; the active one encrypts, all decrypt (rotation).
    #[serde(skip_serializing)]
    pub data_keys: Vec<DataKey>,
    pub active_key_id: u16,
    /// Key of the keyed hashes used to look personal data up (phone → account).
    #[serde(skip_serializing)]
    pub hash_key: Option<SecretString>,
    /// Key of the audit trail's MAC chain.
    #[serde(skip_serializing)]
    pub audit_key: Option<SecretString>,
    pub keys_file: PathBuf,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub password_max_age_days: i64,
    pub lockout_threshold: i32,
    pub lockout_minutes: i64,
    pub login_per_ip_per_minute: u32,
    pub login_per_account_per_minute: u32,
    pub sms_per_ip_per_minute: u32,
    /// Version of the personal-data rules guardians consent to.
    pub terms_version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataKey {
    pub id: u16,
    pub key: SecretString,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            data_keys: Vec::new(),
            active_key_id: 1,
            hash_key: None,
            audit_key: None,
            keys_file: PathBuf::from("var/keys.json"),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            password_max_age_days: 90,
            lockout_threshold: 5,
            lockout_minutes: 15,
            login_per_ip_per_minute: 30,
            login_per_account_per_minute: 10,
            sms_per_ip_per_minute: 10,
            terms_version: "2026-09".into(),
        }
    }
}
