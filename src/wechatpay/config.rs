//! The `[wechatpay]` settings: `simulator` (the embedded default; the simulator served by
//! this binary under `/sim/wxpay` holds the keys) or `live` (the real platform, keys from
//! files and the environment).
//!
//! Owns validation: a `live` configuration that still points at a simulator, lacks a key or
//! would receive callbacks over plain HTTP refuses to start. Must never log a secret: the
//! APIv3 key is a `SecretString` and is never serialised.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Where callbacks are posted, below `notify_base_url` (served by the payments domain).
pub const NOTIFY_PATH: &str = "/api/v1/payments/wechatpay/notify";

pub const LIVE_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// Path prefix of the simulator on our own server.
pub const SIM_PREFIX: &str = "/sim/wxpay";

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum WechatPayMode {
    #[default]
    Simulator,
    Live,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatPaySettings {
    pub mode: WechatPayMode,
    /// API gateway. Live: `https://api.mch.weixin.qq.com` when unset. Simulator: this
    /// server's `/sim/wxpay` when unset.
    pub base_url: Option<String>,
    /// 商户号
    pub mchid: String,
    /// 公众号 / 小程序 AppID
    pub appid: String,
    /// The AppSecret of `appid`, for the web OAuth that yields a parent's openid (live).
    #[serde(skip_serializing)]
    pub app_secret: Option<SecretString>,
    /// Serial of the merchant API certificate (live).
    pub merchant_serial: Option<String>,
    /// PEM of the merchant API private key `apiclient_key.pem` (live).
    pub merchant_key_file: Option<PathBuf>,
    /// The 32-byte APIv3 key (live).
    #[serde(skip_serializing)]
    pub apiv3_key: Option<SecretString>,
    /// Public-key mode: `PUB_KEY_ID_…` and the PEM file of the WeChat Pay public key.
    pub platform_public_key_id: Option<String>,
    pub platform_public_key_file: Option<PathBuf>,
    /// Platform-certificate mode: PEM files of the platform certificates.
    pub platform_cert_files: Vec<PathBuf>,
    /// Public base URL callbacks are sent to (`https://pay.example.cn`); [`NOTIFY_PATH`] is
    /// appended. Simulator: this server when unset.
    pub notify_base_url: Option<String>,
    pub timeout_secs: u64,
    pub sim: SimSettings,
}

impl Default for WechatPaySettings {
    fn default() -> Self {
        Self {
            mode: WechatPayMode::Simulator,
            base_url: None,
            mchid: "1900000109".into(),
            appid: "wx8888888888888888".into(),
            app_secret: None,
            merchant_serial: None,
            merchant_key_file: None,
            apiv3_key: None,
            platform_public_key_id: None,
            platform_public_key_file: None,
            platform_cert_files: Vec::new(),
            notify_base_url: None,
            timeout_secs: 10,
            sim: SimSettings::default(),
        }
    }
}

/// Behaviour of the embedded simulator.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    /// Seconds from a refund request until it completes (and its callback is sent).
    pub refund_delay_secs: i64,
    /// How long a callback receiver has to answer before the attempt counts as failed.
    pub delivery_timeout_secs: u64,
    /// How often the background task delivers due callbacks and completes refunds.
    pub tick_millis: u64,
    /// Name shown on the simulated cashier.
    pub merchant_name: String,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            refund_delay_secs: 5,
            delivery_timeout_secs: 5,
            tick_millis: 1000,
            merchant_name: "石岐街道校内课后服务平台".into(),
        }
    }
}

fn looks_like_simulator(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    u.path().starts_with(SIM_PREFIX)
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
}

impl WechatPaySettings {
    /// Refuses configurations that must not start.
    pub fn validate(&self) -> Result<(), String> {
        if self.mode == WechatPayMode::Simulator {
            return Ok(());
        }
        let base = self.base_url.as_deref().unwrap_or(LIVE_BASE_URL);
        if looks_like_simulator(base) {
            return Err(format!(
                "wechatpay.mode = \"live\" 但 wechatpay.base_url 指向模拟器（{base}）；\
                 生产配置不得使用模拟器"
            ));
        }
        if !base.starts_with("https://") {
            return Err("wechatpay.base_url 必须是 https 地址".into());
        }
        let mut missing = Vec::new();
        if self.mchid.trim().is_empty() {
            missing.push("wechatpay.mchid");
        }
        if self.appid.trim().is_empty() {
            missing.push("wechatpay.appid");
        }
        if self.app_secret.is_none() {
            missing.push("wechatpay.app_secret");
        }
        if self.merchant_serial.is_none() {
            missing.push("wechatpay.merchant_serial");
        }
        if self.merchant_key_file.is_none() {
            missing.push("wechatpay.merchant_key_file");
        }
        if self.apiv3_key.is_none() {
            missing.push("wechatpay.apiv3_key");
        }
        if self.notify_base_url.is_none() {
            missing.push("wechatpay.notify_base_url");
        }
        if !missing.is_empty() {
            return Err(format!(
                "wechatpay 实盘模式缺少配置: {}",
                missing.join(", ")
            ));
        }
        let public_key = (
            self.platform_public_key_id.is_some(),
            self.platform_public_key_file.is_some(),
        );
        if public_key.0 != public_key.1 {
            return Err(
                "wechatpay.platform_public_key_id 与 platform_public_key_file 须同时配置".into(),
            );
        }
        if !public_key.0 && self.platform_cert_files.is_empty() {
            return Err(
                "wechatpay 实盘模式须配置微信支付公钥（platform_public_key_id/_file）\
                 或平台证书（platform_cert_files）"
                    .into(),
            );
        }
        let notify = self.notify_base_url.as_deref().unwrap_or_default();
        if !notify.starts_with("https://") {
            return Err(
                "wechatpay.notify_base_url 必须是 https 地址（微信支付只回调 https）".into(),
            );
        }
        if looks_like_simulator(notify) {
            return Err(format!(
                "wechatpay.notify_base_url 指向本机（{notify}），微信支付无法回调"
            ));
        }
        Ok(())
    }
}

/// How this server reaches WeChat's web OAuth (the parent's openid).
#[derive(Clone)]
pub struct OAuthConfig {
    /// `None`: the simulator on this server.
    pub app_secret: Option<secrecy::SecretString>,
    pub live: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> WechatPaySettings {
        WechatPaySettings {
            mode: WechatPayMode::Live,
            merchant_serial: Some("3775B6A45ACD588826D15E583A95F5DD2D8EAC8A".into()),
            merchant_key_file: Some("/etc/afterschool/apiclient_key.pem".into()),
            apiv3_key: Some(SecretString::from("0123456789abcdefghijklmnopqrstuv")),
            app_secret: Some(SecretString::from("0123456789abcdef0123456789abcdef")),
            platform_public_key_id: Some("PUB_KEY_ID_0114232134912410000000000000".into()),
            platform_public_key_file: Some("/etc/afterschool/pub_key.pem".into()),
            notify_base_url: Some("https://pay.example.cn".into()),
            ..WechatPaySettings::default()
        }
    }

    #[test]
    fn the_simulator_is_the_default_and_needs_nothing() {
        let s = WechatPaySettings::default();
        assert_eq!(s.mode, WechatPayMode::Simulator);
        s.validate().unwrap();
    }

    #[test]
    fn a_complete_live_configuration_starts() {
        live().validate().unwrap();
    }

    #[test]
    fn live_pointing_at_a_simulator_refuses_to_start() {
        for url in [
            "http://127.0.0.1:8080/sim/wxpay",
            "https://pay.example.cn/sim/wxpay",
            "https://localhost/v3",
        ] {
            let s = WechatPaySettings {
                base_url: Some(url.into()),
                ..live()
            };
            let err = s.validate().unwrap_err();
            assert!(err.contains("模拟器"), "{url}: {err}");
        }
    }

    #[test]
    fn live_without_keys_or_with_plain_http_callbacks_refuses_to_start() {
        let s = WechatPaySettings {
            apiv3_key: None,
            ..live()
        };
        assert!(s.validate().unwrap_err().contains("apiv3_key"));
        let s = WechatPaySettings {
            app_secret: None,
            ..live()
        };
        assert!(s.validate().unwrap_err().contains("app_secret"));
        let s = WechatPaySettings {
            platform_public_key_id: None,
            platform_public_key_file: None,
            ..live()
        };
        assert!(s.validate().is_err());
        let s = WechatPaySettings {
            notify_base_url: Some("http://pay.example.cn".into()),
            ..live()
        };
        assert!(s.validate().unwrap_err().contains("https"));
    }

    #[test]
    fn a_config_file_with_live_mode_at_the_simulator_is_refused_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afterschool.toml");
        std::fs::write(
            &file,
            r#"
[wechatpay]
mode = "live"
base_url = "http://127.0.0.1:8080/sim/wxpay"
merchant_serial = "3775B6A45ACD588826D15E583A95F5DD2D8EAC8A"
merchant_key_file = "/etc/afterschool/apiclient_key.pem"
apiv3_key = "0123456789abcdefghijklmnopqrstuv"
platform_public_key_id = "PUB_KEY_ID_0114232134912410000000000000"
platform_public_key_file = "/etc/afterschool/pub_key.pem"
notify_base_url = "https://pay.example.cn"
"#,
        )
        .unwrap();
        let err = crate::config::Settings::load(Some(&file)).unwrap_err();
        assert!(err.to_string().contains("模拟器"), "{err}");
    }

    #[test]
    fn the_apiv3_key_is_never_printed() {
        let printed = format!("{:?}", live());
        assert!(!printed.contains("0123456789abcdef"));
    }
}
