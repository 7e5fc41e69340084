//! Errors of the personal-data module. Messages are fixed strings: they never echo the
//! rejected input, key bytes or plaintext, because errors end up in logs and API answers.

use crate::error::{DomainError, ErrorKind};

/// Why an encryption or decryption failed. Safe to log: it names a cause, never data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoFailure {
    /// The blob is shorter than header + tag.
    ShortBlob,
    /// The blob's format version byte is not one this build reads.
    BadVersion(u8),
    /// The blob names a key id the keyring does not hold (removed too early after rotation?).
    UnknownKey(u16),
    /// Authentication failed: wrong key, wrong associated data, or a tampered blob.
    Tag,
    /// The decrypted bytes were not UTF-8 where a string was expected.
    NotUtf8,
}

#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// The message says which rule failed, in Chinese, without repeating the number.
    #[error("{0}")]
    InvalidIdNumber(String),
    #[error("{0}")]
    InvalidPhone(String),
    /// The reason is for logs and tests; the message is the same for all of them.
    #[error("解密失败")]
    Crypto(CryptoFailure),
    /// Configuration problem with key material; the message never contains key bytes.
    #[error("密钥配置错误：{0}")]
    BadKey(String),
}

impl PiiError {
    /// Stable machine-readable code for API responses; never rename an existing one.
    pub fn code(&self) -> &'static str {
        match self {
            PiiError::InvalidIdNumber(_) => "INVALID_ID_NUMBER",
            PiiError::InvalidPhone(_) => "INVALID_PHONE",
            PiiError::Crypto(_) => "PII_CRYPTO",
            PiiError::BadKey(_) => "PII_BAD_KEY",
        }
    }

    pub(crate) fn id(msg: &str) -> Self {
        PiiError::InvalidIdNumber(msg.to_owned())
    }

    pub(crate) fn phone(msg: &str) -> Self {
        PiiError::InvalidPhone(msg.to_owned())
    }
}

impl DomainError for PiiError {
    fn kind(&self) -> ErrorKind {
        match self {
            PiiError::InvalidIdNumber(_) | PiiError::InvalidPhone(_) => ErrorKind::Unprocessable,
            // Crypto and key failures are server faults; the user can do nothing about them.
            PiiError::Crypto(_) | PiiError::BadKey(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        PiiError::code(self)
    }

    fn user_message(&self) -> String {
        match self {
            PiiError::InvalidIdNumber(m) | PiiError::InvalidPhone(m) => m.clone(),
            PiiError::Crypto(_) | PiiError::BadKey(_) => "服务器内部错误，请稍后重试".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(PiiError::id("x").code(), "INVALID_ID_NUMBER");
        assert_eq!(PiiError::phone("x").code(), "INVALID_PHONE");
        assert_eq!(PiiError::Crypto(CryptoFailure::Tag).code(), "PII_CRYPTO");
        assert_eq!(PiiError::BadKey("x".into()).code(), "PII_BAD_KEY");
    }

    #[test]
    fn crypto_errors_say_only_that_decryption_failed() {
        for f in [
            CryptoFailure::ShortBlob,
            CryptoFailure::BadVersion(9),
            CryptoFailure::UnknownKey(7),
            CryptoFailure::Tag,
            CryptoFailure::NotUtf8,
        ] {
            assert_eq!(PiiError::Crypto(f).to_string(), "解密失败");
        }
    }

    #[test]
    fn server_side_failures_map_to_internal_with_generic_message() {
        let e = PiiError::BadKey("密钥 1 长度错误".into());
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(!e.user_message().contains("密钥"));
        let e = PiiError::phone("手机号码格式不正确");
        assert_eq!(e.kind(), ErrorKind::Unprocessable);
        assert_eq!(e.user_message(), "手机号码格式不正确");
    }
}
