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

use crate::storage::StorageSettings;

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// Requests for `<code>.<base_domain>` are routed to tenant `<code>`.
    pub base_domain: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            base_domain: "afterschool.localhost".into(),
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
        Ok(settings)
    }
}
