//! The national-crypto (国密) primitives of the city supervision push: SM2withSM3
//! signatures over the canonical string of an envelope, SM4-CBC for personal fields, SM3
//! digests, and the canonical string itself.
//!
//! Everything here wraps the RustCrypto crates (`sm2`, `sm3`, `sm4`, `cbc`); no primitive is
//! written by hand. Checked against the independent Python `gmssl` in
//! `tests/api/supervision_crypto.rs`.
//!
//! Must never: print a secret (the `Debug` impls redact), panic on input from outside
//! (malformed keys, signatures and ciphertexts are errors or `false`), or sign anything but
//! the exact bytes it is given.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::Value;
use sm2::dsa::signature::{RandomizedSigner, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::{NonZeroScalar, Scalar, SecretKey};
use sm3::{Digest, Sm3};

/// GM/T 0009 default distinguishing identifier, used for every SM2 signature.
pub const DEFAULT_USER_ID: &str = "1234567812345678";

/// The key of the envelope field that carries the signature and is not itself signed.
const SIGN_DATA_KEY: &str = "signData";

/// SM4 block (and IV) length in bytes.
const SM4_BLOCK: usize = 16;

/// Attempts at a hedged SM2 signature before giving up. One attempt fails only when the
/// nonce happens to give r = 0, r + k = n or s = 0 (about 2^-256 each), or when the OS random
/// source errors; sixteen in a row mean the machine's randomness is broken.
const SIGN_ATTEMPTS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("密钥格式无效")]
    BadKey,
    #[error("签名格式无效")]
    BadSignature,
    #[error("密文无效")]
    BadCiphertext,
}

/// An SM2 private key, bound to [`DEFAULT_USER_ID`].
pub struct SmSigner {
    key: SigningKey,
}

impl SmSigner {
    pub fn generate() -> Self {
        loop {
            let secret = SecretKey::random(&mut OsRng);
            if let Some(signer) = Self::from_scalar(secret.to_nonzero_scalar()) {
                return signer;
            }
        }
    }

    /// 64 hex characters (either case), the big-endian private scalar d, 1 ≤ d ≤ n − 2.
    pub fn from_secret_hex(hex: &str) -> Result<Self, CryptoError> {
        if hex.len() != 64 {
            return Err(CryptoError::BadKey);
        }
        let bytes = hex::decode(hex).map_err(|_| CryptoError::BadKey)?;
        let scalar = NonZeroScalar::try_from(bytes.as_slice()).map_err(|_| CryptoError::BadKey)?;
        Self::from_scalar(scalar).ok_or(CryptoError::BadKey)
    }

    /// SM2 signs with (1 + d)^-1, so d = n − 1 is a valid scalar that can never sign:
    /// refused here rather than failing at every `sign`.
    fn from_scalar(scalar: NonZeroScalar) -> Option<Self> {
        let d_plus_1: Scalar = *scalar + Scalar::ONE;
        if bool::from(d_plus_1.is_zero()) {
            return None;
        }
        SigningKey::from_nonzero_scalar(DEFAULT_USER_ID, scalar)
            .ok()
            .map(|key| Self { key })
    }

    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// Uncompressed point `04 || x || y`, 130 lowercase hex characters.
    pub fn public_hex(&self) -> String {
        public_hex_of(self.key.verifying_key())
    }

    pub fn verifier(&self) -> SmVerifier {
        SmVerifier {
            key: self.key.verifying_key().clone(),
        }
    }

    /// SM2withSM3 (with Z computed from DEFAULT_USER_ID) over `msg`; base64 (standard,
    /// padded) of r||s (64 bytes, not DER).
    ///
    /// The nonce is hedged: RFC 6979 from the key and message, mixed with fresh OS
    /// randomness, so neither a bad RNG nor a repeated message leaks the key. Returns an
    /// empty string (which never verifies) only if the OS random source keeps failing.
    pub fn sign(&self, msg: &[u8]) -> String {
        for _ in 0..SIGN_ATTEMPTS {
            if let Ok(sig) = self.key.try_sign_with_rng(&mut OsRng, msg) {
                return B64.encode(sig.to_bytes());
            }
        }
        tracing::error!(
            attempts = SIGN_ATTEMPTS,
            "SM2 signing failed repeatedly; the OS random source is broken"
        );
        String::new()
    }
}

impl fmt::Debug for SmSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmSigner")
            .field("public", &self.public_hex())
            .finish_non_exhaustive()
    }
}

/// An SM2 public key, bound to [`DEFAULT_USER_ID`].
#[derive(Clone)]
pub struct SmVerifier {
    key: VerifyingKey,
}

impl SmVerifier {
    /// 130 hex characters with the `04` prefix, or the 128 of `x || y` without it.
    /// The point must lie on the curve.
    pub fn from_public_hex(hex: &str) -> Result<Self, CryptoError> {
        let sec1 = match hex.len() {
            130 if hex.starts_with("04") => hex::decode(hex),
            128 => hex::decode(format!("04{hex}")),
            _ => return Err(CryptoError::BadKey),
        }
        .map_err(|_| CryptoError::BadKey)?;
        VerifyingKey::from_sec1_bytes(DEFAULT_USER_ID, &sec1)
            .map(|key| Self { key })
            .map_err(|_| CryptoError::BadKey)
    }

    pub fn public_hex(&self) -> String {
        public_hex_of(&self.key)
    }

    /// `false` for any malformed input (not base64, not 64 bytes, r or s outside [1, n−1]).
    pub fn verify(&self, msg: &[u8], signature_b64: &str) -> bool {
        let Ok(bytes) = B64.decode(signature_b64) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify(msg, &sig).is_ok()
    }
}

impl fmt::Debug for SmVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SmVerifier")
            .field(&self.public_hex())
            .finish()
    }
}

fn public_hex_of(key: &VerifyingKey) -> String {
    hex::encode(key.to_encoded_point(false).as_bytes())
}

/// An SM4 key (128 bits).
#[derive(Clone)]
pub struct Sm4Key([u8; 16]);

type Sm4CbcEnc = cbc::Encryptor<sm4::Sm4>;
type Sm4CbcDec = cbc::Decryptor<sm4::Sm4>;

impl Sm4Key {
    /// 32 hex characters (either case).
    pub fn from_hex(hex: &str) -> Result<Self, CryptoError> {
        let mut key = [0u8; 16];
        hex::decode_to_slice(hex, &mut key).map_err(|_| CryptoError::BadKey)?;
        Ok(Self(key))
    }

    pub fn generate() -> Self {
        let mut key = [0u8; 16];
        OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// SM4-CBC, PKCS#7 padding, random 16-byte IV; base64 of iv || ciphertext.
    pub fn encrypt(&self, plain: &str) -> String {
        let mut iv = [0u8; SM4_BLOCK];
        OsRng.fill_bytes(&mut iv);
        self.encrypt_with_iv(plain, &iv)
    }

    fn encrypt_with_iv(&self, plain: &str, iv: &[u8; SM4_BLOCK]) -> String {
        let ct = Sm4CbcEnc::new(&self.0.into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
        let mut out = Vec::with_capacity(SM4_BLOCK + ct.len());
        out.extend_from_slice(iv);
        out.extend_from_slice(&ct);
        B64.encode(out)
    }

    /// The inverse of [`Sm4Key::encrypt`]. CBC carries no integrity check: a wrong key or a
    /// tampered ciphertext is caught only when the padding or the UTF-8 is invalid, so the
    /// caller relies on the envelope's signature for integrity.
    pub fn decrypt(&self, b64: &str) -> Result<String, CryptoError> {
        let data = B64.decode(b64).map_err(|_| CryptoError::BadCiphertext)?;
        if data.len() < 2 * SM4_BLOCK || data.len() % SM4_BLOCK != 0 {
            return Err(CryptoError::BadCiphertext);
        }
        let (iv, ct) = data.split_at(SM4_BLOCK);
        let mut iv_block = [0u8; SM4_BLOCK];
        iv_block.copy_from_slice(iv);
        let plain = Sm4CbcDec::new(&self.0.into(), &iv_block.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(|_| CryptoError::BadCiphertext)?;
        String::from_utf8(plain).map_err(|_| CryptoError::BadCiphertext)
    }
}

impl fmt::Debug for Sm4Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4Key(<redacted>)")
    }
}

/// SM3 digest, lowercase hex.
pub fn sm3_hex(data: &[u8]) -> String {
    hex::encode(Sm3::digest(data))
}

/// The canonical string that is signed: the top-level keys of the JSON object `envelope`
/// except "signData", sorted by byte order, joined as `k=v` with `&`; a string value is
/// written as is (no quotes), a number/bool as its JSON text, an object or array as
/// canonical JSON (object keys sorted recursively, no whitespace, serde_json's string
/// escaping, non-ASCII kept as UTF-8). Null values and empty strings are left out.
/// Non-object input gives "".
pub fn canonical_string(envelope: &Value) -> String {
    let Value::Object(map) = envelope else {
        return String::new();
    };
    let mut fields: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, v)| k.as_str() != SIGN_DATA_KEY && !is_left_out(v))
        .collect();
    fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        match v {
            Value::String(s) => out.push_str(s),
            other => crate::kernel::json::write_canonical(other, &mut out),
        }
    }
    out
}

fn is_left_out(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

pub use crate::kernel::json::canonical_json;

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::{BlockEncrypt, KeyInit};
    use serde_json::json;

    fn flip_signature_byte(sig_b64: &str, index: usize) -> String {
        let mut bytes = B64.decode(sig_b64).unwrap();
        bytes[index] ^= 0x01;
        B64.encode(bytes)
    }

    #[test]
    fn a_signature_verifies_with_the_signers_public_key() {
        let signer = SmSigner::generate();
        for msg in ["", "abc", "学生姓名=张三&学校=石岐中心小学"] {
            let sig = signer.sign(msg.as_bytes());
            assert_eq!(B64.decode(&sig).unwrap().len(), 64, "r||s, not DER");
            assert!(signer.verifier().verify(msg.as_bytes(), &sig), "{msg:?}");
            let from_hex = SmVerifier::from_public_hex(&signer.public_hex()).unwrap();
            assert!(from_hex.verify(msg.as_bytes(), &sig));
        }
    }

    #[test]
    fn two_signatures_of_the_same_message_differ_and_both_verify() {
        let signer = SmSigner::generate();
        let a = signer.sign(b"same");
        let b = signer.sign(b"same");
        assert_ne!(a, b, "the nonce is hedged with fresh randomness");
        assert!(signer.verifier().verify(b"same", &a));
        assert!(signer.verifier().verify(b"same", &b));
    }

    #[test]
    fn a_tampered_message_or_signature_does_not_verify() {
        let signer = SmSigner::generate();
        let verifier = signer.verifier();
        let sig = signer.sign(b"amount=4500");
        assert!(!verifier.verify(b"amount=4501", &sig));
        assert!(!verifier.verify(b"amount=4500 ", &sig));
        for index in [0, 31, 32, 63] {
            assert!(!verifier.verify(b"amount=4500", &flip_signature_byte(&sig, index)));
        }
        let other = SmSigner::generate().verifier();
        assert!(!other.verify(b"amount=4500", &sig));
    }

    #[test]
    fn malformed_signatures_are_false_not_panics() {
        let signer = SmSigner::generate();
        let verifier = signer.verifier();
        let sig = B64.decode(signer.sign(b"m")).unwrap();
        let order = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
        let r_is_n = B64.encode([hex::decode(order).unwrap(), sig[32..].to_vec()].concat());
        let cases = [
            String::new(),
            "not base64!".to_string(),
            B64.encode([0u8; 64]),
            B64.encode(&sig[..63]),
            B64.encode([sig.as_slice(), &[0]].concat()),
            B64.encode([0xffu8; 64]),
            r_is_n,
            hex::encode(&sig),
            B64.encode(&sig).trim_end_matches('=').to_string(),
        ];
        for case in &cases {
            assert!(!verifier.verify(b"m", case), "{case:?}");
        }
    }

    #[test]
    fn keys_round_trip_through_hex_and_accept_both_public_forms() {
        let signer = SmSigner::generate();
        let public = signer.public_hex();
        assert_eq!(public.len(), 130);
        assert!(public.starts_with("04"));
        assert_eq!(signer.secret_hex().len(), 64);
        let again = SmSigner::from_secret_hex(&signer.secret_hex()).unwrap();
        assert_eq!(again.public_hex(), public);
        let upper = SmSigner::from_secret_hex(&signer.secret_hex().to_uppercase()).unwrap();
        assert_eq!(upper.public_hex(), public);
        let without_prefix = SmVerifier::from_public_hex(&public[2..]).unwrap();
        assert_eq!(without_prefix.public_hex(), public);
        let sig = again.sign(b"x");
        assert!(without_prefix.verify(b"x", &sig));
    }

    #[test]
    fn malformed_keys_are_errors() {
        let order = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123";
        let n_minus_1 = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54122";
        for bad in [
            "",
            "00",
            &"0".repeat(64),
            order,
            n_minus_1,
            &"g".repeat(64),
            &"1".repeat(63),
            &"1".repeat(66),
        ] {
            assert!(
                matches!(SmSigner::from_secret_hex(bad), Err(CryptoError::BadKey)),
                "{bad:?}"
            );
        }
        let public = SmSigner::generate().public_hex();
        let mut off_curve = public.clone();
        let last = if off_curve.ends_with('0') { "1" } else { "0" };
        off_curve.replace_range(129.., last);
        for bad in [
            String::new(),
            format!("02{}", &public[2..66]),
            format!("05{}", &public[2..]),
            public[..128].to_string(),
            format!("{public}00"),
            off_curve,
            format!("04{}", "z".repeat(128)),
            format!("04{}", "0".repeat(128)),
        ] {
            assert!(
                matches!(SmVerifier::from_public_hex(&bad), Err(CryptoError::BadKey)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_does_not_show_secrets() {
        let signer = SmSigner::generate();
        let shown = format!("{signer:?}");
        assert!(!shown.contains(&signer.secret_hex()), "{shown}");
        assert!(shown.contains(&signer.public_hex()));
        let key = Sm4Key::generate();
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }

    #[test]
    fn sm4_round_trips_with_a_random_iv() {
        let key = Sm4Key::generate();
        for plain in [
            "",
            "a",
            "0123456789abcdef",
            "440105200801011234",
            "张三（石岐）",
        ] {
            let a = key.encrypt(plain);
            let b = key.encrypt(plain);
            assert_ne!(a, b, "fresh IV each time");
            let raw = B64.decode(&a).unwrap();
            assert_eq!(raw.len(), 16 + (plain.len() / 16 + 1) * 16);
            assert_eq!(key.decrypt(&a).unwrap(), plain);
            assert_eq!(key.decrypt(&b).unwrap(), plain);
        }
        let again = Sm4Key::from_hex(&key.to_hex()).unwrap();
        assert_eq!(again.decrypt(&key.encrypt("x")).unwrap(), "x");
    }

    #[test]
    fn sm4_with_the_wrong_key_fails_or_gives_other_text() {
        let key = Sm4Key::generate();
        let ct = key.encrypt("440105200801011234");
        for _ in 0..20 {
            let wrong = Sm4Key::generate();
            match wrong.decrypt(&ct) {
                Err(CryptoError::BadCiphertext) => {}
                Ok(text) => assert_ne!(text, "440105200801011234"),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
    }

    #[test]
    fn malformed_sm4_input_is_an_error() {
        let key = Sm4Key::from_hex("0123456789abcdeffedcba9876543210").unwrap();
        let good = B64.decode(key.encrypt("hello")).unwrap();
        let cases = [
            String::new(),
            "%%%".to_string(),
            B64.encode([0u8; 16]),
            B64.encode(&good[..good.len() - 1]),
            B64.encode(&good[..16]),
            B64.encode([good.as_slice(), &[1]].concat()),
        ];
        for case in &cases {
            assert!(
                matches!(key.decrypt(case), Err(CryptoError::BadCiphertext)),
                "{case:?}"
            );
        }
        // Invalid UTF-8 under valid padding: 0xff, then 15 bytes of padding 0x0f.
        let iv = [7u8; 16];
        let mut block = [0xffu8; 16];
        block[1..].fill(0x0f);
        let ct = Sm4CbcEnc::new(&key.0.into(), &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(&block);
        let forged = B64.encode([iv.as_slice(), &ct[..16]].concat());
        assert!(matches!(
            key.decrypt(&forged),
            Err(CryptoError::BadCiphertext)
        ));
        for bad in [
            "",
            "0123",
            &"0".repeat(31),
            &"0".repeat(34),
            &"x".repeat(32),
        ] {
            assert!(matches!(Sm4Key::from_hex(bad), Err(CryptoError::BadKey)));
        }
    }

    #[test]
    fn sm4_cbc_chains_the_block_cipher_from_the_iv() {
        let key = Sm4Key::from_hex("0123456789abcdeffedcba9876543210").unwrap();
        let cipher = sm4::Sm4::new_from_slice(&key.0).unwrap();
        let iv = [0x5au8; 16];
        let plain = "0123456789abcdef";
        let out = B64.decode(key.encrypt_with_iv(plain, &iv)).unwrap();
        assert_eq!(out.len(), 48, "iv, one data block, one full padding block");
        assert_eq!(&out[..16], &iv);
        let mut c1 = sm4::cipher::Block::<sm4::Sm4>::default();
        for (i, b) in c1.iter_mut().enumerate() {
            *b = plain.as_bytes()[i] ^ iv[i];
        }
        cipher.encrypt_block(&mut c1);
        assert_eq!(&out[16..32], c1.as_slice());
        let mut c2 = sm4::cipher::Block::<sm4::Sm4>::default();
        for (i, b) in c2.iter_mut().enumerate() {
            *b = 0x10 ^ c1[i];
        }
        cipher.encrypt_block(&mut c2);
        assert_eq!(&out[32..48], c2.as_slice());
    }

    #[test]
    fn sm4_block_matches_the_gbt_32907_vector() {
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
        let mut block = sm4::cipher::Block::<sm4::Sm4>::clone_from_slice(&key);
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
    }

    #[test]
    fn sm3_matches_the_gbt_32905_vectors() {
        assert_eq!(
            sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            sm3_hex("abcd".repeat(16).as_bytes()),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    #[test]
    fn the_canonical_string_sorts_keys_and_leaves_out_signdata_null_and_empty() {
        let envelope = json!({
            "timestamp": "20261012093000",
            "appId": "ZS-SQ-001",
            "signData": "c2ln",
            "remark": "",
            "memo": null,
            "count": 3,
            "amount": 45.5,
            "active": true,
            "Zeta": "upper case sorts first",
            "name": "张三 & co=1",
        });
        assert_eq!(
            canonical_string(&envelope),
            "Zeta=upper case sorts first&active=true&amount=45.5&appId=ZS-SQ-001&count=3\
             &name=张三 & co=1&timestamp=20261012093000"
        );
    }

    #[test]
    fn nested_values_are_canonical_json_sorted_at_every_depth() {
        let envelope = json!({
            "data": {"z": 1, "a": {"y": [3, {"d": null, "c": "引号\"和\\"}], "b": ""}},
            "list": [{"b": 2, "a": 1}],
            "empty": {},
        });
        assert_eq!(
            canonical_string(&envelope),
            r#"data={"a":{"b":"","y":[3,{"c":"引号\"和\\","d":null}]},"z":1}&empty={}&list=[{"a":1,"b":2}]"#
        );
        assert_eq!(
            canonical_json(&json!({"b": "\n\u{1}", "a": false})),
            r#"{"a":false,"b":"\n\u0001"}"#
        );
    }

    #[test]
    fn keys_sort_by_bytes_not_by_characters() {
        // 'é' (U+00E9, 0xC3 0xA9) sorts after 'z' by UTF-8 bytes; '_' (0x5F) after 'Z'.
        let envelope = json!({"é": "1", "z": "2", "_": "3", "Z": "4", "a1": "5", "a": "6"});
        assert_eq!(canonical_string(&envelope), "Z=4&_=3&a=6&a1=5&z=2&é=1");
    }

    #[test]
    fn non_objects_have_an_empty_canonical_string() {
        for v in [json!(null), json!("x"), json!(1), json!([{"a": 1}])] {
            assert_eq!(canonical_string(&v), "");
        }
        assert_eq!(canonical_string(&json!({"signData": "x", "n": null})), "");
    }
}
