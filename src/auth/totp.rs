//! TOTP second factor (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), with a ±1 step
//! window and replay protection by remembering the last accepted step.

use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;

/// A fresh 160-bit secret.
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut s = vec![0u8; 20];
    rand::thread_rng().fill_bytes(&mut s);
    s
}

pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI authenticator apps scan.
pub fn otpauth_uri(secret: &[u8], account_label: &str) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("课后服务:{account_label}").as_bytes())
            .collect();
    format!(
        "otpauth://totp/{label}?secret={}&issuer=%E8%AF%BE%E5%90%8E%E6%9C%8D%E5%8A%A1&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret)
    )
}

/// RFC 4226 HOTP value for a counter.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    bin % 10u32.pow(DIGITS)
}

pub fn code_at(secret: &[u8], unix_secs: i64) -> String {
    let step = unix_secs.div_euclid(STEP_SECS);
    format!(
        "{:0width$}",
        hotp(secret, step as u64),
        width = DIGITS as usize
    )
}

/// The step `code` matches within ±1 step of `unix_secs`, if any, and only if it is later
/// than `last_step` (a code is accepted once).
pub fn verify(secret: &[u8], code: &str, unix_secs: i64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix_secs.div_euclid(STEP_SECS);
    for step in [now - 1, now, now + 1] {
        if step < 0 || last_step.is_some_and(|l| step <= l) {
            continue;
        }
        let expected = format!(
            "{:0width$}",
            hotp(secret, step as u64),
            width = DIGITS as usize
        );
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into() {
            return Some(step);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, 8 digits truncated to our 6 (the last six digits).
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, expected8) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(code_at(secret, t), expected8[2..], "t = {t}");
        }
    }

    #[test]
    fn accepts_a_neighbouring_step_once_and_rejects_replays() {
        let secret = b"12345678901234567890";
        let now = 1_700_000_000;
        let code = code_at(secret, now - 30);
        let step = verify(secret, &code, now, None).unwrap();
        assert_eq!(verify(secret, &code, now, Some(step)), None, "replay");
        assert_eq!(
            verify(secret, &code_at(secret, now - 90), now, None),
            None,
            "too old"
        );
        assert_eq!(verify(secret, "12345", now, None), None);
        assert_eq!(verify(secret, "abcdef", now, None), None);
    }
}
