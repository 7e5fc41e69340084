//! AEAD_AES_256_GCM with the merchant's APIv3 key: how WeChat Pay encrypts callback
//! resources and downloaded platform certificates.
//!
//! The key is the 32-byte APIv3 key string itself (not base64), the nonce a 12-byte string,
//! the ciphertext base64 of ciphertext || 16-byte tag. Must never log the key or a
//! plaintext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::Rng;

use super::error::WechatPayError;
use super::model::EncryptedResource;

pub const ALGORITHM: &str = "AEAD_AES_256_GCM";

/// The merchant's APIv3 key: exactly 32 bytes. `Debug` never shows it.
#[derive(Clone)]
pub struct ApiV3Key(String);

impl std::fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

impl ApiV3Key {
    pub fn parse(key: &str) -> Result<Self, WechatPayError> {
        if key.len() != 32 {
            return Err(WechatPayError::KeyInvalid(format!(
                "APIv3 key must be 32 bytes, got {}",
                key.len()
            )));
        }
        Ok(Self(key.to_string()))
    }

    /// A fresh random key of 32 letters and digits (the simulator's merchants).
    pub fn generate() -> Self {
        Self(random_alnum(32))
    }

    /// The key itself, for handing it to a merchant (the simulator) or an SDK (tests).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn cipher(&self) -> Result<Aes256Gcm, WechatPayError> {
        Aes256Gcm::new_from_slice(self.0.as_bytes())
            .map_err(|_| WechatPayError::KeyInvalid("APIv3 key must be 32 bytes".into()))
    }
}

/// Random letters and digits (resource nonces, keys).
pub fn random_alnum(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn nonce_bytes(nonce: &str) -> Result<&Nonce<aes_gcm::aead::consts::U12>, WechatPayError> {
    if nonce.len() != 12 {
        return Err(WechatPayError::DecryptFailed("nonce must be 12 bytes"));
    }
    Ok(Nonce::from_slice(nonce.as_bytes()))
}

/// Encrypts `plaintext`; returns base64(ciphertext || tag).
pub fn encrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, WechatPayError> {
    let sealed = key
        .cipher()?
        .encrypt(
            nonce_bytes(nonce)?,
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| WechatPayError::DecryptFailed("encryption failed"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Decrypts base64(ciphertext || tag); any tampering (ciphertext, nonce, associated data,
/// key) fails authentication.
pub fn decrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, WechatPayError> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(ciphertext_b64.trim())
        .map_err(|_| WechatPayError::DecryptFailed("ciphertext is not base64"))?;
    key.cipher()?
        .decrypt(
            nonce_bytes(nonce)?,
            Payload {
                msg: &sealed,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| WechatPayError::DecryptFailed("authentication failed"))
}

/// Decrypts a callback `resource` after checking its algorithm.
pub fn decrypt_resource(
    key: &ApiV3Key,
    resource: &EncryptedResource,
) -> Result<Vec<u8>, WechatPayError> {
    if resource.algorithm != ALGORITHM {
        return Err(WechatPayError::AlgorithmUnsupported(
            resource.algorithm.clone(),
        ));
    }
    decrypt(
        key,
        &resource.nonce,
        &resource.associated_data,
        &resource.ciphertext,
    )
}

/// Encrypts a resource the way the platform does (the simulator's callbacks).
pub fn encrypt_resource(
    key: &ApiV3Key,
    original_type: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<EncryptedResource, WechatPayError> {
    let nonce = random_alnum(12);
    Ok(EncryptedResource {
        algorithm: ALGORITHM.into(),
        ciphertext: encrypt(key, &nonce, associated_data, plaintext)?,
        associated_data: associated_data.into(),
        nonce,
        original_type: original_type.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiV3Key {
        ApiV3Key::parse("0123456789abcdefghijklmnopqrstuv").unwrap()
    }

    #[test]
    fn a_resource_decrypts_to_what_was_encrypted() {
        let r = encrypt_resource(&key(), "transaction", "transaction", b"{\"a\":1}").unwrap();
        assert_eq!(r.algorithm, "AEAD_AES_256_GCM");
        assert_eq!(r.nonce.len(), 12);
        assert_eq!(decrypt_resource(&key(), &r).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn known_answer_matches_an_independent_aes_gcm() {
        // Produced with Python's `cryptography` AESGCM (what the wechatpayv3 SDK uses):
        // AESGCM(b"0123456789abcdefghijklmnopqrstuv").encrypt(b"abcdefghijkl", b"hello", b"transaction")
        let ct = encrypt(&key(), "abcdefghijkl", "transaction", b"hello").unwrap();
        assert_eq!(ct, "rwWCkPp57vB3ufDYEvdefc2mvnea");
    }

    #[test]
    fn tampering_with_anything_fails_authentication() {
        let r = encrypt_resource(&key(), "refund", "refund", b"secret").unwrap();
        let mut bad_ct = r.clone();
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&r.ciphertext)
            .unwrap();
        raw[0] ^= 1;
        bad_ct.ciphertext = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(matches!(
            decrypt_resource(&key(), &bad_ct),
            Err(WechatPayError::DecryptFailed(_))
        ));
        let mut bad_ad = r.clone();
        bad_ad.associated_data = "transaction".into();
        assert!(decrypt_resource(&key(), &bad_ad).is_err());
        let mut bad_nonce = r.clone();
        bad_nonce.nonce = "AAAAAAAAAAAA".into();
        assert!(decrypt_resource(&key(), &bad_nonce).is_err());
        let other = ApiV3Key::parse("vutsrqponmlkjihgfedcba9876543210").unwrap();
        assert!(decrypt_resource(&other, &r).is_err());
        let mut bad_alg = r;
        bad_alg.algorithm = "AEAD_SM4_GCM".into();
        assert!(matches!(
            decrypt_resource(&key(), &bad_alg),
            Err(WechatPayError::AlgorithmUnsupported(_))
        ));
    }

    #[test]
    fn the_key_must_be_32_bytes_and_is_never_printed() {
        assert!(ApiV3Key::parse("short").is_err());
        assert_eq!(format!("{:?}", key()), "ApiV3Key(<redacted>)");
    }
}
