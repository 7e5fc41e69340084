//! The simulator's key material: its platform key (one key, named both by a
//! `PUB_KEY_ID_…` and by a self-signed certificate's serial) and the merchants it knows,
//! each with an API key pair, a certificate serial and an APIv3 key, as the merchant
//! platform would issue them.
//!
//! Generated at first use and kept in `platform.wxpay_sim_platform` /
//! `platform.wxpay_sim_merchants`, so restarts and every server sign with the same keys.
//! Generation is slow (2048-bit RSA) and runs on a blocking thread; tests install
//! pre-generated material with [`install_platform`] / [`install_merchant`] instead.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rsa::pkcs1v15::VerifyingKey;
use rsa::RsaPrivateKey;
use sha2::Sha256;
use sqlx::PgPool;
use std::time::Duration as StdDuration;

use crate::wechatpay::aead::ApiV3Key;
use crate::wechatpay::client::ApiV3Config;
use crate::wechatpay::error::WechatPayError;
use crate::wechatpay::keys::{
    self, private_key_from_pem, private_key_to_pem, public_key_from_pem, public_key_to_pem,
    PlatformKeys,
};
use crate::wechatpay::sign::PlatformSigner;

fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// 20 random bytes, positive as a DER integer (first byte 0x10..=0x7F), upper-case hex:
/// how certificate serials look.
fn random_serial() -> (Vec<u8>, String) {
    let mut rng = rand::thread_rng();
    let mut bytes = [0u8; 20];
    rng.fill(&mut bytes);
    bytes[0] = 0x10 + (bytes[0] % 0x70);
    (bytes.to_vec(), hex::encode_upper(bytes))
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlatformMaterial {
    pub public_key_id: String,
    pub private_key_pem: String,
    pub public_key_pem: String,
    pub cert_serial: String,
    pub cert_pem: String,
}

impl PlatformMaterial {
    /// Material for `key`: a fresh public-key id and a certificate valid for five years
    /// from a day before `now`.
    pub fn from_key(key: &RsaPrivateKey, now: DateTime<Utc>) -> Result<Self, WechatPayError> {
        let (serial, cert_serial) = random_serial();
        let cert_pem = keys::self_signed_certificate(
            key,
            &serial,
            "Wechatpay APIv3 Simulator",
            now - Duration::days(1),
            now + Duration::days(5 * 365),
        )?;
        Ok(Self {
            public_key_id: format!("PUB_KEY_ID_01{}", random_digits(26)),
            private_key_pem: private_key_to_pem(key)?,
            public_key_pem: public_key_to_pem(&key.to_public_key())?,
            cert_serial,
            cert_pem,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MerchantMaterial {
    pub mchid: String,
    pub appid: String,
    pub name: String,
    pub serial_no: String,
    pub private_key_pem: String,
    pub public_key_pem: String,
    pub apiv3_key: String,
}

impl MerchantMaterial {
    pub fn from_key(
        mchid: &str,
        appid: &str,
        name: &str,
        key: &RsaPrivateKey,
    ) -> Result<Self, WechatPayError> {
        Ok(Self {
            mchid: mchid.into(),
            appid: appid.into(),
            name: name.into(),
            serial_no: random_serial().1,
            private_key_pem: private_key_to_pem(key)?,
            public_key_pem: public_key_to_pem(&key.to_public_key())?,
            apiv3_key: ApiV3Key::generate().expose().to_string(),
        })
    }
}

async fn generate_key() -> Result<RsaPrivateKey, WechatPayError> {
    tokio::task::spawn_blocking(keys::generate_rsa_2048)
        .await
        .map_err(|e| WechatPayError::KeyInvalid(e.to_string()))?
}

pub async fn load_platform(pool: &PgPool) -> Result<Option<PlatformMaterial>, WechatPayError> {
    Ok(sqlx::query_as(
        "select public_key_id, private_key_pem, public_key_pem, cert_serial, cert_pem
         from platform.wxpay_sim_platform where id = 1",
    )
    .fetch_optional(pool)
    .await?)
}

/// Stores `m` unless a platform key exists already (the first one stays).
pub async fn install_platform(
    pool: &PgPool,
    m: &PlatformMaterial,
    now: DateTime<Utc>,
) -> Result<(), WechatPayError> {
    sqlx::query(
        "insert into platform.wxpay_sim_platform
             (id, public_key_id, private_key_pem, public_key_pem, cert_serial, cert_pem, created_at)
         values (1, $1, $2, $3, $4, $5, $6) on conflict (id) do nothing",
    )
    .bind(&m.public_key_id)
    .bind(&m.private_key_pem)
    .bind(&m.public_key_pem)
    .bind(&m.cert_serial)
    .bind(&m.cert_pem)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// The platform key, generated and stored at first use. Two servers racing both generate;
/// the first insert wins and both use it.
pub async fn ensure_platform(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<PlatformMaterial, WechatPayError> {
    if let Some(m) = load_platform(pool).await? {
        return Ok(m);
    }
    tracing::info!("wechatpay simulator: generating its platform key (first start)");
    let key = generate_key().await?;
    install_platform(pool, &PlatformMaterial::from_key(&key, now)?, now).await?;
    load_platform(pool)
        .await?
        .ok_or_else(|| WechatPayError::Storage("platform key vanished".into()))
}

pub async fn load_merchant<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    mchid: &str,
) -> Result<Option<MerchantMaterial>, WechatPayError> {
    Ok(sqlx::query_as(
        "select mchid, appid, name, serial_no, private_key_pem, public_key_pem, apiv3_key
         from platform.wxpay_sim_merchants where mchid = $1",
    )
    .bind(mchid)
    .fetch_optional(exec)
    .await?)
}

/// Stores `m` unless the merchant exists already.
pub async fn install_merchant(
    pool: &PgPool,
    m: &MerchantMaterial,
    now: DateTime<Utc>,
) -> Result<(), WechatPayError> {
    sqlx::query(
        "insert into platform.wxpay_sim_merchants
             (mchid, appid, name, serial_no, private_key_pem, public_key_pem, apiv3_key, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (mchid) do nothing",
    )
    .bind(&m.mchid)
    .bind(&m.appid)
    .bind(&m.name)
    .bind(&m.serial_no)
    .bind(&m.private_key_pem)
    .bind(&m.public_key_pem)
    .bind(&m.apiv3_key)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// The merchant `mchid`, registered with fresh keys at first use.
pub async fn ensure_merchant(
    pool: &PgPool,
    mchid: &str,
    appid: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<MerchantMaterial, WechatPayError> {
    if let Some(m) = load_merchant(pool, mchid).await? {
        return Ok(m);
    }
    if !(1..=32).contains(&mchid.len()) || !mchid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WechatPayError::InvalidInput("mchid 须为数字".into()));
    }
    tracing::info!(
        mchid,
        "wechatpay simulator: registering merchant with fresh keys"
    );
    let key = generate_key().await?;
    install_merchant(
        pool,
        &MerchantMaterial::from_key(mchid, appid, name, &key)?,
        now,
    )
    .await?;
    load_merchant(pool, mchid)
        .await?
        .ok_or_else(|| WechatPayError::Storage("merchant vanished".into()))
}

/// The platform key, parsed, as the simulator signs with it.
pub struct PlatformIdentity {
    pub material: PlatformMaterial,
    pub signer: PlatformSigner,
}

impl PlatformIdentity {
    pub fn new(material: PlatformMaterial) -> Result<Self, WechatPayError> {
        let key = private_key_from_pem(&material.private_key_pem)?;
        Ok(Self {
            signer: PlatformSigner::new(key),
            material,
        })
    }
}

/// A merchant, parsed, as the simulator checks its requests.
pub struct MerchantIdentity {
    pub material: MerchantMaterial,
    pub verifying_key: VerifyingKey<Sha256>,
    pub apiv3_key: ApiV3Key,
}

impl MerchantIdentity {
    pub fn new(material: MerchantMaterial) -> Result<Self, WechatPayError> {
        Ok(Self {
            verifying_key: VerifyingKey::new(public_key_from_pem(&material.public_key_pem)?),
            apiv3_key: ApiV3Key::parse(&material.apiv3_key)?,
            material,
        })
    }
}

/// What a merchant needs to talk to the simulator: its own keys and the platform's public
/// key and certificate.
#[derive(Debug, Clone)]
pub struct MerchantCredentials {
    pub merchant: MerchantMaterial,
    pub platform_public_key_id: String,
    pub platform_public_key_pem: String,
    pub platform_cert_pem: String,
}

/// Which platform keys a client configured from [`MerchantCredentials`] trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustMode {
    PublicKey,
    Certificate,
    Both,
}

impl MerchantCredentials {
    pub fn new(merchant: MerchantMaterial, platform: &PlatformMaterial) -> Self {
        Self {
            merchant,
            platform_public_key_id: platform.public_key_id.clone(),
            platform_public_key_pem: platform.public_key_pem.clone(),
            platform_cert_pem: platform.cert_pem.clone(),
        }
    }

    /// An [`ApiV3Config`] for these credentials against `base_url`.
    pub fn api_config(
        &self,
        base_url: &str,
        notify_url: &str,
        timeout: StdDuration,
        trust: TrustMode,
    ) -> Result<ApiV3Config, WechatPayError> {
        let mut platform_keys = PlatformKeys::new();
        if trust != TrustMode::Certificate {
            platform_keys
                .add_public_key(&self.platform_public_key_id, &self.platform_public_key_pem)?;
        }
        if trust != TrustMode::PublicKey {
            platform_keys.add_certificate(&self.platform_cert_pem)?;
        }
        let base_url = base_url.trim_end_matches('/').to_string();
        Ok(ApiV3Config {
            cashier_url: Some(format!("{base_url}/cashier")),
            base_url,
            mchid: self.merchant.mchid.clone(),
            appid: self.merchant.appid.clone(),
            merchant_serial: self.merchant.serial_no.clone(),
            merchant_key: private_key_from_pem(&self.merchant.private_key_pem)?,
            apiv3_key: ApiV3Key::parse(&self.merchant.apiv3_key)?,
            platform_keys,
            notify_url: notify_url.into(),
            timeout,
        })
    }
}
