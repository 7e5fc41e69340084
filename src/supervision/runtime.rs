//! The push's running parts, built once from the settings and the data keys: what the
//! shared context holds of the supervision push. Knows nothing of the context itself.

use std::sync::Arc;

use secrecy::ExposeSecret;

use super::crypto::{Sm4Key, SmSigner, SmVerifier};
use super::model::{self, SupervisionMode, SupervisionSettings, SIM_PREFIX};
use super::sim;
use crate::keys::Keys;

/// The push's running parts: settings, our keys, the receiver's key, the HTTP client and,
/// in simulator mode, the receiver.
pub struct Supervision {
    pub settings: SupervisionSettings,
    pub signer: SmSigner,
    pub sm4: Sm4Key,
    /// Verifies the receiver's answers.
    pub receiver: SmVerifier,
    pub http: reqwest::Client,
    pub sim: Option<Arc<sim::Receiver>>,
}

/// A key derived from the data keys, for the simulator mode (stable across restarts and
/// shared by `serve` and `worker`, never used live).
fn derived(keys: &Keys, what: &str) -> Vec<u8> {
    keys.pii.blind_index("supervision.sim", what)
}

fn signer_from(bytes: &[u8]) -> SmSigner {
    SmSigner::from_secret_hex(&hex::encode(bytes)).unwrap_or_else(|_| SmSigner::generate())
}

fn loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

impl Supervision {
    pub fn build(settings: &SupervisionSettings, keys: &Keys) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()?;
        let batch = settings.batch.clamp(1, model::MAX_BATCH);
        let mut settings = settings.clone();
        settings.batch = batch;
        match settings.mode {
            SupervisionMode::Simulator => {
                let signer = match &settings.sign_key_hex {
                    Some(k) => SmSigner::from_secret_hex(k.expose_secret())
                        .map_err(|e| anyhow::anyhow!("supervision.sign_key_hex: {e}"))?,
                    None => signer_from(&derived(keys, "platform-sm2")),
                };
                let sm4 = match &settings.sm4_key_hex {
                    Some(k) => Sm4Key::from_hex(k.expose_secret())
                        .map_err(|e| anyhow::anyhow!("supervision.sm4_key_hex: {e}"))?,
                    None => Sm4Key::from_hex(&hex::encode(&derived(keys, "sm4")[..16]))
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                };
                let receiver_key = signer_from(&derived(keys, "receiver-sm2"));
                let receiver = receiver_key.verifier();
                let sim = sim::Receiver::new(
                    receiver_key,
                    settings.app_id.clone(),
                    signer.verifier(),
                    sm4.clone(),
                );
                Ok(Supervision {
                    settings,
                    signer,
                    sm4,
                    receiver,
                    http,
                    sim: Some(Arc::new(sim)),
                })
            }
            SupervisionMode::Live => {
                let endpoint = settings
                    .endpoint
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .ok_or_else(|| {
                        anyhow::anyhow!("supervision.mode = live 须配置 supervision.endpoint")
                    })?;
                let u = url::Url::parse(endpoint)
                    .map_err(|e| anyhow::anyhow!("supervision.endpoint 不是有效网址: {e}"))?;
                if u.scheme() != "https" {
                    anyhow::bail!("supervision.endpoint 须为 https 地址");
                }
                if u.host_str().is_none_or(loopback) || u.path().contains(SIM_PREFIX) {
                    anyhow::bail!(
                        "正式模式的 supervision.endpoint 不能指向模拟器或本机地址（{endpoint}）"
                    );
                }
                let need = |v: &Option<secrecy::SecretString>, name: &str| {
                    v.as_ref()
                        .map(|s| s.expose_secret().to_string())
                        .ok_or_else(|| anyhow::anyhow!("正式模式须配置 supervision.{name}"))
                };
                let signer =
                    SmSigner::from_secret_hex(&need(&settings.sign_key_hex, "sign_key_hex")?)
                        .map_err(|e| anyhow::anyhow!("supervision.sign_key_hex: {e}"))?;
                let sm4 = Sm4Key::from_hex(&need(&settings.sm4_key_hex, "sm4_key_hex")?)
                    .map_err(|e| anyhow::anyhow!("supervision.sm4_key_hex: {e}"))?;
                let receiver = SmVerifier::from_public_hex(
                    settings.receiver_public_hex.as_deref().ok_or_else(|| {
                        anyhow::anyhow!("正式模式须配置 supervision.receiver_public_hex")
                    })?,
                )
                .map_err(|e| anyhow::anyhow!("supervision.receiver_public_hex: {e}"))?;
                Ok(Supervision {
                    settings,
                    signer,
                    sm4,
                    receiver,
                    http,
                    sim: None,
                })
            }
        }
    }

    /// Where pushes go: the configured endpoint, else this server's simulator.
    pub fn endpoint(&self, local_base: &str) -> String {
        match self
            .settings
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("{local_base}{SIM_PREFIX}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(endpoint: &str) -> SupervisionSettings {
        SupervisionSettings {
            mode: SupervisionMode::Live,
            endpoint: Some(endpoint.into()),
            sign_key_hex: Some(SmSigner::generate().secret_hex().into()),
            sm4_key_hex: Some(Sm4Key::generate().to_hex().into()),
            receiver_public_hex: Some(SmSigner::generate().public_hex()),
            ..Default::default()
        }
    }

    #[test]
    fn live_mode_refuses_the_simulator_loopback_and_plain_http() {
        let keys = Keys::ephemeral();
        for bad in [
            "https://127.0.0.1:8443/api",
            "https://localhost/api",
            "https://[::1]/api",
            "https://kh.example.cn/sim/supervision",
            "http://city.example.cn/api",
        ] {
            assert!(
                Supervision::build(&live(bad), &keys).is_err(),
                "{bad} accepted"
            );
        }
        assert!(Supervision::build(&live("https://jg.zs.example.cn/api/v1"), &keys).is_ok());
        let mut no_keys = live("https://jg.zs.example.cn/api/v1");
        no_keys.sm4_key_hex = None;
        assert!(Supervision::build(&no_keys, &keys).is_err());
    }

    #[test]
    fn simulator_keys_are_stable_for_one_key_set() {
        let keys = Keys::ephemeral();
        let a = Supervision::build(&SupervisionSettings::default(), &keys).unwrap();
        let b = Supervision::build(&SupervisionSettings::default(), &keys).unwrap();
        assert_eq!(a.signer.public_hex(), b.signer.public_hex());
        assert_eq!(a.sm4.to_hex(), b.sm4.to_hex());
        assert!(a.sim.is_some());
    }
}
