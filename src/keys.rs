//! Key material: from configuration, or generated once into a local file for the demo and
//! development. Must never log a key.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::audit::AuditKey;
use crate::config::SecuritySettings;
use crate::pii::Keyring;

#[derive(Clone)]
pub struct Keys {
    pub pii: Arc<Keyring>,
    pub audit: Arc<AuditKey>,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    data_key_id: u16,
    data_key: String,
    hash_key: String,
    audit_key: String,
}

fn random_b64() -> String {
    let mut k = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    base64::engine::general_purpose::STANDARD.encode(k)
}

fn decode32(b64: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| anyhow::anyhow!("{what} 不是有效的 base64"))?;
    raw.try_into()
        .map_err(|_| anyhow::anyhow!("{what} 应为 32 字节"))
}

impl Keys {
    pub fn load(s: &SecuritySettings) -> anyhow::Result<Self> {
        if !s.data_keys.is_empty() {
            let hash = s
                .hash_key
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("配置了 data_keys 但缺少 security.hash_key"))?;
            let audit = s
                .audit_key
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("配置了 data_keys 但缺少 security.audit_key"))?;
            let keys: Vec<(u16, String)> = s
                .data_keys
                .iter()
                .map(|k| (k.id, k.key.expose_secret().to_string()))
                .collect();
            let pii = Keyring::from_base64(s.active_key_id, &keys, hash.expose_secret())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let audit = AuditKey::new(decode32(audit.expose_secret(), "security.audit_key")?);
            return Ok(Self {
                pii: Arc::new(pii),
                audit: Arc::new(audit),
            });
        }
        Self::from_file(&s.keys_file)
    }

    /// The development key file: created on first use, then reused so data stays readable.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let file: KeyFile = if path.exists() {
            serde_json::from_str(&std::fs::read_to_string(path)?)?
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let f = KeyFile {
                data_key_id: 1,
                data_key: random_b64(),
                hash_key: random_b64(),
                audit_key: random_b64(),
            };
            std::fs::write(path, serde_json::to_vec_pretty(&f)?)?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(path = %path.display(), "generated development keys; configure security.* keys in production");
            f
        };
        let pii = Keyring::from_base64(
            file.data_key_id,
            &[(file.data_key_id, file.data_key.clone())],
            &file.hash_key,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            pii: Arc::new(pii),
            audit: Arc::new(AuditKey::new(decode32(&file.audit_key, "audit_key")?)),
        })
    }

    /// Fresh random keys held only in memory (tests, benches).
    pub fn ephemeral() -> Self {
        Self {
            pii: Arc::new(Keyring::generate()),
            audit: Arc::new(AuditKey::generate()),
        }
    }
}
