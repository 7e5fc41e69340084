//! The HMAC key of the chain. Held by the application only: someone with write access to
//! the database but not the key cannot forge a record that verifies.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

use super::AuditError;

/// A 32-byte HMAC-SHA256 key. `Debug` never prints the bytes.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl AuditKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key from the operating system's generator (for set-up and tests).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads a key written as standard base64 (44 characters); surrounding whitespace is
    /// ignored so a key pasted into a config file or secret store with a newline still works.
    pub fn from_base64(text: &str) -> Result<Self, AuditError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| AuditError::BadKey("不是有效的 base64".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| AuditError::BadKey("长度应为 32 字节".into()))?;
        Ok(Self(bytes))
    }

    /// The key as standard base64, for writing a generated key to the secret store.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_key_bytes() {
        let key = AuditKey::new([0xab; 32]);
        let shown = format!("{key:?}");
        assert_eq!(shown, "AuditKey(<redacted>)");
        assert!(!shown.contains("ab") && !shown.contains("171"));
    }

    #[test]
    fn base64_round_trips_and_rejects_wrong_lengths() {
        let key = AuditKey::generate();
        let back = AuditKey::from_base64(&format!("{}\n", key.to_base64())).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert!(matches!(
            AuditKey::from_base64(&STANDARD.encode([1u8; 16])),
            Err(AuditError::BadKey(_))
        ));
        assert!(matches!(
            AuditKey::from_base64("not base64!"),
            Err(AuditError::BadKey(_))
        ));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(AuditKey::generate().bytes(), AuditKey::generate().bytes());
    }
}
