//! Verification, our side of what the platform sends: responses and callbacks carry
//! `Wechatpay-Timestamp`, `Wechatpay-Nonce`, `Wechatpay-Signature`, `Wechatpay-Serial`
//! over `timestamp\nnonce\nbody\n` of the RAW body bytes.
//!
//! A message is accepted only when, in this order: all headers are there; the signature is
//! not the platform's `WECHATPAY/SIGNTEST/` probe; the serial names a known key; the
//! timestamp is within ±5 minutes of the injected clock; the signature verifies; and the
//! nonce was not used before. Each failure is its own [`WechatPayError`] variant. The nonce
//! is recorded only after the signature verifies, so forged messages cannot burn nonces.
//! Must never parse a body before it has been verified.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use poem::http::HeaderMap;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use sha2::Sha256;

use super::error::WechatPayError;
use super::keys::PlatformKeys;
use super::nonce::{NonceStore, MAX_NONCE_LEN};
use super::sign::{response_message, SCHEMA};
use crate::clock::Clock;

/// How far a timestamp may be from the clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;

/// The platform's probe: signatures starting with this must be rejected.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";

pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";

/// The four signature headers of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

fn header(headers: &HeaderMap, name: &'static str) -> Result<String, WechatPayError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or(WechatPayError::HeaderMissing(name))
}

impl SignedHeaders {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, WechatPayError> {
        if let Ok(kind) = header(headers, HEADER_SIGNATURE_TYPE) {
            if kind != SCHEMA {
                return Err(WechatPayError::AlgorithmUnsupported(kind));
            }
        }
        let nonce = header(headers, HEADER_NONCE)?;
        if nonce.len() > MAX_NONCE_LEN {
            return Err(WechatPayError::HeaderMissing(HEADER_NONCE));
        }
        Ok(Self {
            timestamp: header(headers, HEADER_TIMESTAMP)?,
            nonce,
            signature: header(headers, HEADER_SIGNATURE)?,
            serial: header(headers, HEADER_SERIAL)?,
        })
    }

    /// True when at least the signature header is present (error answers may lack it).
    pub fn present(headers: &HeaderMap) -> bool {
        headers.contains_key(HEADER_SIGNATURE)
    }
}

/// Rejects a Unix-seconds timestamp further than [`MAX_SKEW_SECS`] from `now`.
pub fn check_timestamp(timestamp: &str, now: DateTime<Utc>) -> Result<i64, WechatPayError> {
    let stale = |skew_secs| WechatPayError::TimestampStale {
        timestamp: timestamp.chars().take(20).collect(),
        skew_secs,
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| stale(i64::MAX))?;
    let skew = ts.saturating_sub(now.timestamp());
    if skew.saturating_abs() > MAX_SKEW_SECS {
        return Err(stale(skew));
    }
    Ok(ts)
}

/// SHA256withRSA check of a base64 signature.
pub fn verify_signature(
    key: &VerifyingKey<Sha256>,
    message: &[u8],
    signature_b64: &str,
) -> Result<(), WechatPayError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| WechatPayError::SignatureInvalid)?;
    let sig = Signature::try_from(raw.as_slice()).map_err(|_| WechatPayError::SignatureInvalid)?;
    key.verify(message, &sig)
        .map_err(|_| WechatPayError::SignatureInvalid)
}

/// Checks responses and callbacks from the platform.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<PlatformKeys>,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceStore>,
    scope: String,
}

impl Verifier {
    pub fn new(
        keys: PlatformKeys,
        clock: Arc<dyn Clock>,
        nonces: Arc<dyn NonceStore>,
        scope: &str,
    ) -> Self {
        Self {
            keys: Arc::new(keys),
            clock,
            nonces,
            scope: scope.to_string(),
        }
    }

    pub fn keys(&self) -> &PlatformKeys {
        &self.keys
    }

    /// Verifies `body` (the raw bytes received) against the headers.
    pub async fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), WechatPayError> {
        let h = SignedHeaders::from_headers(headers)?;
        self.verify_parts(&h, body).await
    }

    pub async fn verify_parts(&self, h: &SignedHeaders, body: &[u8]) -> Result<(), WechatPayError> {
        if h.signature.starts_with(SIGNTEST_PREFIX) {
            return Err(WechatPayError::SigntestProbe);
        }
        let now = self.clock.now();
        let key = self
            .keys
            .get(&h.serial, now)
            .ok_or_else(|| WechatPayError::SerialUnknown(h.serial.chars().take(64).collect()))?;
        check_timestamp(&h.timestamp, now)?;
        verify_signature(
            key,
            &response_message(&h.timestamp, &h.nonce, body),
            &h.signature,
        )?;
        if !self.nonces.first_use(&self.scope, &h.nonce, now).await? {
            return Err(WechatPayError::NonceReplayed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::wechatpay::keys::{self, private_key_from_pem, public_key_to_pem};
    use crate::wechatpay::nonce::MemoryNonceStore;
    use crate::wechatpay::sign::{new_nonce, MerchantSigner, PlatformSigner};
    use chrono::TimeZone;
    use poem::http::HeaderValue;
    use rsa::RsaPrivateKey;
    use std::sync::OnceLock;

    /// One 2048-bit key per test binary, cached under `target/` across runs: generating it
    /// takes seconds in a debug build.
    fn test_key() -> RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join("wxpay-unit-test-key.pem");
            if let Ok(pem) = std::fs::read_to_string(&path) {
                if let Ok(k) = private_key_from_pem(&pem) {
                    return k;
                }
            }
            let k = keys::generate_rsa_2048().unwrap();
            let _ = std::fs::write(&path, keys::private_key_to_pem(&k).unwrap());
            k
        })
        .clone()
    }

    const ID: &str = "PUB_KEY_ID_0114232134912410000000000000";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0).unwrap()
    }

    fn verifier() -> Verifier {
        let mut keys = PlatformKeys::new();
        keys.add_public_key(ID, &public_key_to_pem(&test_key().to_public_key()).unwrap())
            .unwrap();
        Verifier::new(
            keys,
            Arc::new(FixedClock(now())),
            Arc::new(MemoryNonceStore::new()),
            "platform",
        )
    }

    fn signed(body: &[u8], ts: i64, nonce: &str, serial: &str) -> HeaderMap {
        let sig = PlatformSigner::new(test_key()).sign_response(ts, nonce, body);
        let mut h = HeaderMap::new();
        let mut put = |k: &'static str, v: &str| {
            h.insert(k, HeaderValue::from_str(v).unwrap());
        };
        put(HEADER_TIMESTAMP, &ts.to_string());
        put(HEADER_NONCE, nonce);
        put(HEADER_SIGNATURE, &sig);
        put(HEADER_SERIAL, serial);
        put(HEADER_SIGNATURE_TYPE, SCHEMA);
        h
    }

    #[tokio::test]
    async fn a_signed_body_verifies_once() {
        let v = verifier();
        let body = br#"{"prepay_id":"wx201410272009395522657a690389285100"}"#;
        let h = signed(body, now().timestamp(), &new_nonce(), ID);
        v.verify(&h, body).await.unwrap();
        assert!(matches!(
            v.verify(&h, body).await,
            Err(WechatPayError::NonceReplayed)
        ));
    }

    #[tokio::test]
    async fn a_tampered_body_is_rejected() {
        let v = verifier();
        let h = signed(b"{\"total\":100}", now().timestamp(), &new_nonce(), ID);
        assert!(matches!(
            v.verify(&h, b"{\"total\":1}").await,
            Err(WechatPayError::SignatureInvalid)
        ));
        // Whitespace is part of the signed bytes: re-serialising would break it.
        assert!(matches!(
            v.verify(&h, b"{\"total\": 100}").await,
            Err(WechatPayError::SignatureInvalid)
        ));
    }

    #[tokio::test]
    async fn a_forged_signature_does_not_burn_the_nonce() {
        let v = verifier();
        let nonce = new_nonce();
        let good = signed(b"{}", now().timestamp(), &nonce, ID);
        let mut forged = good.clone();
        forged.insert(HEADER_SIGNATURE, HeaderValue::from_static("AAAA"));
        assert!(matches!(
            v.verify(&forged, b"{}").await,
            Err(WechatPayError::SignatureInvalid)
        ));
        v.verify(&good, b"{}").await.unwrap();
    }

    #[tokio::test]
    async fn an_unknown_serial_is_rejected() {
        let v = verifier();
        let h = signed(b"{}", now().timestamp(), &new_nonce(), "PUB_KEY_ID_OTHER");
        assert!(matches!(
            v.verify(&h, b"{}").await,
            Err(WechatPayError::SerialUnknown(s)) if s == "PUB_KEY_ID_OTHER"
        ));
    }

    #[tokio::test]
    async fn timestamps_more_than_300_seconds_away_either_way_are_stale() {
        let v = verifier();
        let t = now().timestamp();
        for skew in [-301, 301] {
            let h = signed(b"{}", t + skew, &new_nonce(), ID);
            let err = v.verify(&h, b"{}").await.unwrap_err();
            assert!(
                matches!(err, WechatPayError::TimestampStale { skew_secs, .. } if skew_secs == skew),
                "{skew}: {err:?}"
            );
        }
        for skew in [-300, 300] {
            let h = signed(b"{}", t + skew, &new_nonce(), ID);
            v.verify(&h, b"{}").await.unwrap();
        }
        let mut junk = signed(b"{}", t, &new_nonce(), ID);
        junk.insert(HEADER_TIMESTAMP, HeaderValue::from_static("soon"));
        assert!(matches!(
            v.verify(&junk, b"{}").await,
            Err(WechatPayError::TimestampStale { .. })
        ));
    }

    #[tokio::test]
    async fn the_signtest_probe_is_rejected_before_anything_else() {
        let v = verifier();
        let mut h = signed(b"{}", now().timestamp(), &new_nonce(), "PUB_KEY_ID_OTHER");
        h.insert(
            HEADER_SIGNATURE,
            HeaderValue::from_static("WECHATPAY/SIGNTEST/9U3cZ0C4u4k5S8pVvJzm6Q=="),
        );
        assert!(matches!(
            v.verify(&h, b"{}").await,
            Err(WechatPayError::SigntestProbe)
        ));
    }

    #[tokio::test]
    async fn missing_headers_and_foreign_schemes_are_rejected() {
        let v = verifier();
        let mut h = signed(b"{}", now().timestamp(), &new_nonce(), ID);
        h.remove(HEADER_NONCE);
        assert!(matches!(
            v.verify(&h, b"{}").await,
            Err(WechatPayError::HeaderMissing("Wechatpay-Nonce"))
        ));
        let mut h = signed(b"{}", now().timestamp(), &new_nonce(), ID);
        h.insert(
            HEADER_SIGNATURE_TYPE,
            HeaderValue::from_static("WECHATPAY2-SM2-WITH-SM3"),
        );
        assert!(matches!(
            v.verify(&h, b"{}").await,
            Err(WechatPayError::AlgorithmUnsupported(_))
        ));
    }

    #[tokio::test]
    async fn certificate_mode_uses_the_certificate_serial_and_its_validity() {
        let key = test_key();
        let pem = keys::self_signed_certificate(
            &key,
            &[0x5F, 0x01, 0x02],
            "Wechatpay Sim",
            now() - chrono::Duration::days(1),
            now() + chrono::Duration::days(1),
        )
        .unwrap();
        let mut pk = PlatformKeys::new();
        let serial = pk.add_certificate(&pem).unwrap();
        assert_eq!(serial, "5F0102");
        let v = Verifier::new(
            pk.clone(),
            Arc::new(FixedClock(now())),
            Arc::new(MemoryNonceStore::new()),
            "platform",
        );
        let h = signed(b"{}", now().timestamp(), &new_nonce(), "5F0102");
        v.verify(&h, b"{}").await.unwrap();
        let later = now() + chrono::Duration::days(2);
        let expired = Verifier::new(
            pk,
            Arc::new(FixedClock(later)),
            Arc::new(MemoryNonceStore::new()),
            "platform",
        );
        let h = signed(b"{}", later.timestamp(), &new_nonce(), "5F0102");
        assert!(matches!(
            expired.verify(&h, b"{}").await,
            Err(WechatPayError::SerialUnknown(_))
        ));
    }

    #[test]
    fn the_merchant_signature_verifies_with_its_public_key() {
        let signer = MerchantSigner::new("1900009191", "SERIAL", test_key());
        let auth = signer.authorization("GET", "/v3/certificates", 1_554_208_460, "N", b"");
        let parsed = crate::wechatpay::sign::Authorization::parse(&auth).unwrap();
        let vk = VerifyingKey::<Sha256>::new(test_key().to_public_key());
        let msg = crate::wechatpay::sign::request_message(
            "GET",
            "/v3/certificates",
            "1554208460",
            "N",
            b"",
        );
        verify_signature(&vk, &msg, &parsed.signature).unwrap();
        assert!(verify_signature(&vk, b"other", &parsed.signature).is_err());
    }

    #[test]
    fn pkcs1_v15_signatures_are_deterministic_known_answers() {
        // PKCS#1 v1.5 has no randomness: the same key and message give the same bytes,
        // which is what lets the Python SDK check our paySign (tests/wechatpay_sdk).
        let signer = MerchantSigner::new("1900009191", "SERIAL", test_key());
        let a = signer.jsapi_pay_params("wx8888888888888888", "wx2017", 1_414_561_699, "5K8264");
        let b = signer.jsapi_pay_params("wx8888888888888888", "wx2017", 1_414_561_699, "5K8264");
        assert_eq!(a, b);
        assert_eq!(a.package, "prepay_id=wx2017");
        assert_eq!(a.sign_type, "RSA");
        let vk = VerifyingKey::<Sha256>::new(test_key().to_public_key());
        verify_signature(
            &vk,
            b"wx8888888888888888\n1414561699\n5K8264\nprepay_id=wx2017\n",
            &a.pay_sign,
        )
        .unwrap();
    }
}
