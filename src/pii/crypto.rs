//! Encryption at rest (AES-256-GCM) and blind indexes (HMAC-SHA256) for personal data.
//!
//! Blob format, version 1: `[1u8][key id u16 BE][nonce 12][ciphertext || tag 16]`. The key id
//! travels with the blob so that rotation (add a key, make it active) never needs a bulk
//! re-encryption before old rows can still be read.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::error::{CryptoFailure, PiiError};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 2 + NONCE_LEN;

/// Identifies an encryption key inside stored blobs; never reuse an id for different bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u16);

/// AEAD keys by id (one of them active for new data) plus a separate key for blind indexes.
#[derive(Clone)]
pub struct Keyring {
    active: KeyId,
    // Kept apart from the map so encryption has no "active key missing" path.
    active_cipher: Aes256Gcm,
    ciphers: BTreeMap<u16, Aes256Gcm>,
    hash: HmacSha256,
}

/// HMAC keyed with a 32-byte key, built without a fallible constructor: HMAC zero-pads keys
/// shorter than the hash block (RFC 2104), so padding to the 64-byte block ourselves yields
/// the identical MAC while going through the infallible fixed-size `Mac::new`.
fn hmac_for(key: &[u8; 32]) -> HmacSha256 {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <HmacSha256 as Mac>::new(&block.into())
}

impl Keyring {
    /// Key ids must be distinct, keys non-zero, and the hash key must differ from every AEAD key
    /// (one key for two algorithms weakens both); `active` must be among `keys`.
    pub fn new(
        active: KeyId,
        keys: Vec<(KeyId, [u8; 32])>,
        hash_key: [u8; 32],
    ) -> Result<Keyring, PiiError> {
        // An all-zero key almost always means an unset config value, not a random draw.
        if hash_key == [0u8; 32] {
            return Err(PiiError::BadKey("哈希密钥不能全为零".into()));
        }
        let mut ciphers = BTreeMap::new();
        for (id, key) in &keys {
            if *key == [0u8; 32] {
                return Err(PiiError::BadKey(format!("密钥 {} 不能全为零", id.0)));
            }
            if *key == hash_key {
                return Err(PiiError::BadKey(format!(
                    "密钥 {} 与哈希密钥相同，必须使用不同的密钥",
                    id.0
                )));
            }
            let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
            if ciphers.insert(id.0, cipher).is_some() {
                return Err(PiiError::BadKey(format!("密钥编号 {} 重复", id.0)));
            }
        }
        let active_cipher = ciphers
            .get(&active.0)
            .cloned()
            .ok_or_else(|| PiiError::BadKey(format!("当前密钥编号 {} 不在密钥列表中", active.0)))?;
        Ok(Keyring {
            active,
            active_cipher,
            ciphers,
            hash: hmac_for(&hash_key),
        })
    }

    /// Fresh random keys (one AEAD key, id 1) for development and tests: data encrypted with
    /// it is unreadable after the process exits.
    pub fn generate() -> Keyring {
        let mut rng = rand::thread_rng();
        let mut key = [0u8; 32];
        let mut hash_key = [0u8; 32];
        rng.fill_bytes(&mut key);
        rng.fill_bytes(&mut hash_key);
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        let mut ciphers = BTreeMap::new();
        ciphers.insert(1, cipher.clone());
        Keyring {
            active: KeyId(1),
            active_cipher: cipher,
            ciphers,
            hash: hmac_for(&hash_key),
        }
    }

    /// Keys as standard base64 (surrounding whitespace ignored), as they come from config.
    pub fn from_base64(
        active_id: u16,
        keys: &[(u16, String)],
        hash_key_b64: &str,
    ) -> Result<Keyring, PiiError> {
        let decoded = keys
            .iter()
            .map(|(id, b64)| Ok((KeyId(*id), decode_key(b64, &format!("密钥 {id}"))?)))
            .collect::<Result<Vec<_>, PiiError>>()?;
        let hash_key = decode_key(hash_key_b64, "哈希密钥")?;
        Keyring::new(KeyId(active_id), decoded, hash_key)
    }

    pub fn active_key_id(&self) -> KeyId {
        self.active
    }

    /// Encrypts under the active key with a fresh random nonce. `aad` names the column (e.g.
    /// `b"platform.accounts.phone"`) so a blob copied into another column fails to decrypt.
    ///
    /// # Panics
    /// Only if `plaintext` or `aad` exceeds AES-GCM's 64 GiB limit, the single failure
    /// `aes-gcm` reports; no request body or personal-data field comes near it.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        // thread_rng is a CSPRNG reseeded from the OS; random 96-bit nonces are safe for far
        // more messages per key than personal-data columns will ever hold.
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        #[allow(clippy::expect_used)]
        let sealed = self
            .active_cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM fails only for inputs over 64 GiB");
        let mut blob = Vec::with_capacity(HEADER_LEN + sealed.len());
        blob.push(VERSION);
        blob.extend_from_slice(&self.active.0.to_be_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        blob
    }

    /// Decrypts with the key named in the blob, whichever key is active now.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, PiiError> {
        let fail = |f| PiiError::Crypto(f);
        if blob.len() < HEADER_LEN + TAG_LEN {
            return Err(fail(CryptoFailure::ShortBlob));
        }
        let (header, sealed) = blob.split_at(HEADER_LEN);
        let (version, rest) = header.split_at(1);
        let (id_bytes, nonce_bytes) = rest.split_at(2);
        if version[0] != VERSION {
            return Err(fail(CryptoFailure::BadVersion(version[0])));
        }
        let id = u16::from_be_bytes([id_bytes[0], id_bytes[1]]);
        let cipher = self
            .ciphers
            .get(&id)
            .ok_or(fail(CryptoFailure::UnknownKey(id)))?;
        let nonce: [u8; NONCE_LEN] = nonce_bytes
            .try_into()
            .map_err(|_| fail(CryptoFailure::ShortBlob))?;
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad })
            .map_err(|_| fail(CryptoFailure::Tag))
    }

    pub fn encrypt_str(&self, plaintext: &str, aad: &[u8]) -> Vec<u8> {
        self.encrypt(plaintext.as_bytes(), aad)
    }

    pub fn decrypt_str(&self, blob: &[u8], aad: &[u8]) -> Result<String, PiiError> {
        String::from_utf8(self.decrypt(blob, aad)?)
            .map_err(|_| PiiError::Crypto(CryptoFailure::NotUtf8))
    }

    /// HMAC-SHA256(hash key, `domain` || 0x00 || `value`): a deterministic lookup key for
    /// exact matches (e.g. find an account by phone) that, unlike a plain hash, cannot be
    /// reversed by enumerating the small phone/ID space without the key. `domain` separates
    /// uses (e.g. `"phone"`, `"id_number"`) so equal values in different columns don't
    /// correlate; it must not contain NUL. Pass normalised values (`Phone::as_str`).
    pub fn blind_index(&self, domain: &str, value: &str) -> Vec<u8> {
        let mut mac = self.hash.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0u8]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

fn decode_key(b64: &str, what: &str) -> Result<[u8; 32], PiiError> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| PiiError::BadKey(format!("{what} 不是有效的 base64")))?;
    let len = bytes.len();
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| PiiError::BadKey(format!("{what} 长度应为32字节，实际为{len}字节")))
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active.0)
            .field("key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .field("hash_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"platform.accounts.phone";

    fn key(b: u8) -> [u8; 32] {
        let mut k = [b; 32];
        k[0] = 0xA5; // avoid accidental equality with another test key's pattern
        k
    }

    fn ring(active: u16, ids: &[u16], hash: u8) -> Keyring {
        let keys = ids.iter().map(|i| (KeyId(*i), key(*i as u8))).collect();
        Keyring::new(KeyId(active), keys, key(hash)).unwrap()
    }

    #[test]
    fn round_trip_and_blob_layout() {
        let kr = Keyring::generate();
        let blob = kr.encrypt(b"13812345678", AAD);
        assert_eq!(blob[0], 1);
        assert_eq!(&blob[1..3], &[0, 1]);
        assert_eq!(blob.len(), 1 + 2 + 12 + 11 + 16);
        assert_eq!(kr.decrypt(&blob, AAD).unwrap(), b"13812345678");
        assert!(!blob.windows(11).any(|w| w == b"13812345678"));

        let s = kr.encrypt_str("张三 11010519491231002X", AAD);
        assert_eq!(kr.decrypt_str(&s, AAD).unwrap(), "张三 11010519491231002X");
        let empty = kr.encrypt(b"", AAD);
        assert_eq!(kr.decrypt(&empty, AAD).unwrap(), b"");
    }

    #[test]
    fn nonces_are_fresh() {
        let kr = Keyring::generate();
        let a = kr.encrypt(b"same", AAD);
        let b = kr.encrypt(b"same", AAD);
        assert_ne!(a[3..15], b[3..15]);
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_aad_fails() {
        let kr = Keyring::generate();
        let blob = kr.encrypt(b"13812345678", AAD);
        let err = kr
            .decrypt(&blob, b"platform.accounts.id_number")
            .unwrap_err();
        assert!(matches!(err, PiiError::Crypto(CryptoFailure::Tag)));
        assert_eq!(err.to_string(), "解密失败");
        assert_eq!(err.code(), "PII_CRYPTO");
    }

    #[test]
    fn every_tampered_byte_fails() {
        let kr = ring(1, &[1], 9);
        let blob = kr.encrypt(b"13812345678", AAD);
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            assert!(
                kr.decrypt(&t, AAD).is_err(),
                "byte {i} tampered but decrypted"
            );
        }
    }

    #[test]
    fn malformed_blobs_error_without_panicking() {
        let kr = ring(1, &[1], 9);
        let blob = kr.encrypt(b"x", AAD);
        for n in 0..HEADER_LEN + TAG_LEN {
            assert!(matches!(
                kr.decrypt(&blob[..n], AAD),
                Err(PiiError::Crypto(CryptoFailure::ShortBlob))
            ));
        }
        let mut v = blob.clone();
        v[0] = 2;
        assert!(matches!(
            kr.decrypt(&v, AAD),
            Err(PiiError::Crypto(CryptoFailure::BadVersion(2)))
        ));
        let mut k = blob.clone();
        k[1..3].copy_from_slice(&7u16.to_be_bytes());
        assert!(matches!(
            kr.decrypt(&k, AAD),
            Err(PiiError::Crypto(CryptoFailure::UnknownKey(7)))
        ));
        let kr_b = Keyring::generate();
        assert!(matches!(
            kr_b.decrypt(&blob, AAD),
            Err(PiiError::Crypto(CryptoFailure::Tag))
        ));
    }

    #[test]
    fn decrypt_str_rejects_non_utf8() {
        let kr = Keyring::generate();
        let blob = kr.encrypt(&[0xff, 0xfe], AAD);
        assert!(matches!(
            kr.decrypt_str(&blob, AAD),
            Err(PiiError::Crypto(CryptoFailure::NotUtf8))
        ));
    }

    #[test]
    fn rotation_keeps_old_blobs_readable_and_new_blobs_use_new_key() {
        let before = ring(1, &[1], 9);
        let old = before.encrypt_str("13812345678", AAD);
        assert_eq!(&old[1..3], &1u16.to_be_bytes());

        let after = ring(2, &[1, 2], 9);
        assert_eq!(after.active_key_id(), KeyId(2));
        assert_eq!(after.decrypt_str(&old, AAD).unwrap(), "13812345678");
        let new = after.encrypt_str("13812345678", AAD);
        assert_eq!(&new[1..3], &2u16.to_be_bytes());
        assert_eq!(after.decrypt_str(&new, AAD).unwrap(), "13812345678");
        // Until the old key is retired everywhere, the previous config cannot read new rows.
        assert!(matches!(
            before.decrypt(&new, AAD),
            Err(PiiError::Crypto(CryptoFailure::UnknownKey(2)))
        ));
        // Blind indexes depend only on the hash key, so lookups survive AEAD rotation.
        assert_eq!(
            before.blind_index("phone", "13812345678"),
            after.blind_index("phone", "13812345678")
        );
    }

    #[test]
    fn blind_index_is_deterministic_and_separated() {
        let a = ring(1, &[1], 9);
        let x = a.blind_index("phone", "13812345678");
        assert_eq!(x.len(), 32);
        assert_eq!(x, a.blind_index("phone", "13812345678"));
        assert_ne!(x, a.blind_index("phone", "13812345679"));
        assert_ne!(x, a.blind_index("id_number", "13812345678"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(a.blind_index("ab", "c"), a.blind_index("a", "bc"));
        let other_hash_key = ring(1, &[1], 10);
        assert_ne!(x, other_hash_key.blind_index("phone", "13812345678"));
    }

    #[test]
    fn blind_index_matches_plain_hmac_sha256() {
        // Guards the zero-padding construction in `hmac_for` against the reference API.
        let hash_key = key(9);
        let mut reference = <HmacSha256 as Mac>::new_from_slice(&hash_key).unwrap();
        reference.update(b"phone\x0013812345678");
        let expected = reference.finalize().into_bytes().to_vec();
        assert_eq!(
            ring(1, &[1], 9).blind_index("phone", "13812345678"),
            expected
        );
    }

    #[test]
    fn blind_index_known_answer() {
        // RFC 4231 test case 1 (key 0x0b x 20, data "Hi There"): zero-padding a short key
        // to 32 bytes must not change the MAC, which is what `hmac_for` relies on.
        let mut k = [0u8; 32];
        k[..20].copy_from_slice(&[0x0b; 20]);
        let mut mac = hmac_for(&k);
        mac.update(b"Hi There");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn constructor_validates_keys() {
        let bad = |r: Result<Keyring, PiiError>| match r {
            Err(e @ PiiError::BadKey(_)) => {
                assert_eq!(e.code(), "PII_BAD_KEY");
                e.to_string()
            }
            other => panic!("expected BadKey, got {other:?}"),
        };
        let m = bad(Keyring::new(KeyId(2), vec![(KeyId(1), key(1))], key(9)));
        assert!(m.contains('2'), "{m}");
        bad(Keyring::new(KeyId(1), vec![], key(9)));
        bad(Keyring::new(
            KeyId(1),
            vec![(KeyId(1), key(1)), (KeyId(1), key(2))],
            key(9),
        ));
        bad(Keyring::new(KeyId(1), vec![(KeyId(1), key(1))], key(1)));
        bad(Keyring::new(KeyId(1), vec![(KeyId(1), [0; 32])], key(9)));
        bad(Keyring::new(KeyId(1), vec![(KeyId(1), key(1))], [0; 32]));
    }

    #[test]
    fn from_base64_parses_and_reports_clear_errors() {
        let k1 = STANDARD.encode(key(1));
        let k2 = STANDARD.encode(key(2));
        let h = format!("  {}\n", STANDARD.encode(key(9)));
        let kr = Keyring::from_base64(2, &[(1, k1.clone()), (2, k2)], &h).unwrap();
        assert_eq!(kr.active_key_id(), KeyId(2));
        let old = ring(1, &[1], 9).encrypt(b"v", AAD);
        assert_eq!(kr.decrypt(&old, AAD).unwrap(), b"v");

        let err = Keyring::from_base64(1, &[(1, "not base64!".into())], &h).unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
        let short = STANDARD.encode([7u8; 16]);
        let err = Keyring::from_base64(1, &[(1, short)], &h).unwrap_err();
        assert!(err.to_string().contains("32"), "{err}");
        assert!(err.to_string().contains("16"), "{err}");
        let err = Keyring::from_base64(1, &[(1, k1)], "AAAA").unwrap_err();
        assert!(err.to_string().contains("哈希密钥"), "{err}");
    }

    #[test]
    fn debug_never_shows_key_material() {
        let k1 = key(1);
        let h = key(9);
        let kr = Keyring::new(KeyId(1), vec![(KeyId(1), k1)], h).unwrap();
        let dbg = format!("{kr:?} {kr:#?}");
        for secret in [k1, h] {
            assert!(!dbg.contains(&hex::encode(secret)), "{dbg}");
            assert!(!dbg.contains(&STANDARD.encode(secret)), "{dbg}");
            assert!(!dbg.contains(&format!("{secret:?}")), "{dbg}");
            assert!(!dbg.contains(&format!("{:?}", &secret[1..8])), "{dbg}");
        }
        assert!(dbg.contains("redacted"));
    }
}
