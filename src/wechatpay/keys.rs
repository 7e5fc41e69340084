//! RSA key material of both parties: the merchant's private key (signs requests and the
//! JSAPI page parameters) and the platform's public keys, by serial, in either mode the
//! platform offers:
//! - **public-key mode**: serial `PUB_KEY_ID_…` names one RSA public key (PEM);
//! - **platform-certificate mode**: the serial of an X.509 certificate names the key inside
//!   it, valid only within the certificate's validity.
//!
//! Also generates keys and self-signed certificates, which only the simulator and tests
//! need. Must never log or print a private key.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::{DecodePem, Encode, EncodePem};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use super::error::WechatPayError;

fn key_err(what: &str) -> impl Fn(String) -> WechatPayError + '_ {
    move |e| WechatPayError::KeyInvalid(format!("{what}: {e}"))
}

/// Reads a private key in PKCS#8 (`BEGIN PRIVATE KEY`, what the merchant platform issues)
/// or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM.
pub fn private_key_from_pem(pem: &str) -> Result<RsaPrivateKey, WechatPayError> {
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return RsaPrivateKey::from_pkcs1_pem(pem)
            .map_err(|e| key_err("merchant private key")(e.to_string()));
    }
    RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| key_err("merchant private key")(e.to_string()))
}

/// Reads a public key in SPKI (`BEGIN PUBLIC KEY`, what the platform issues) or PKCS#1 PEM.
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, WechatPayError> {
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PUBLIC KEY") {
        return RsaPublicKey::from_pkcs1_pem(pem)
            .map_err(|e| key_err("platform public key")(e.to_string()));
    }
    RsaPublicKey::from_public_key_pem(pem)
        .map_err(|e| key_err("platform public key")(e.to_string()))
}

pub fn private_key_to_pem(key: &RsaPrivateKey) -> Result<String, WechatPayError> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| key_err("encode private key")(e.to_string()))
}

pub fn public_key_to_pem(key: &RsaPublicKey) -> Result<String, WechatPayError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| key_err("encode public key")(e.to_string()))
}

/// A fresh 2048-bit key. Slow (seconds in a debug build): run it off the async threads.
pub fn generate_rsa_2048() -> Result<RsaPrivateKey, WechatPayError> {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
        .map_err(|e| key_err("generate key")(e.to_string()))
}

/// A platform certificate, parsed.
#[derive(Debug, Clone)]
pub struct PlatformCertificate {
    /// Upper-case hex of the serial number, as `Wechatpay-Serial` carries it.
    pub serial_no: String,
    pub public_key: RsaPublicKey,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

fn to_chrono(t: &Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default()
}

fn to_x509_time(t: DateTime<Utc>) -> Result<Time, WechatPayError> {
    let secs = u64::try_from(t.timestamp())
        .map_err(|_| WechatPayError::KeyInvalid("certificate time before 1970".into()))?;
    Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .map_err(|e| key_err("certificate time")(e.to_string()))
}

pub fn parse_certificate_pem(pem: &str) -> Result<PlatformCertificate, WechatPayError> {
    let cert = Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|e| key_err("platform certificate")(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let spki_der = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| key_err("platform certificate key")(e.to_string()))?;
    let public_key = RsaPublicKey::from_public_key_der(&spki_der)
        .map_err(|e| key_err("platform certificate key")(e.to_string()))?;
    Ok(PlatformCertificate {
        serial_no: hex::encode_upper(tbs.serial_number.as_bytes()),
        public_key,
        not_before: to_chrono(&tbs.validity.not_before),
        not_after: to_chrono(&tbs.validity.not_after),
    })
}

/// A self-signed certificate for `key` (the simulator's platform certificate).
/// `serial` is big-endian and must be positive (first byte below 0x80, not zero).
pub fn self_signed_certificate(
    key: &RsaPrivateKey,
    serial: &[u8],
    common_name: &str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<String, WechatPayError> {
    let serial = SerialNumber::new(serial).map_err(|e| key_err("serial")(e.to_string()))?;
    let validity = Validity {
        not_before: to_x509_time(not_before)?,
        not_after: to_x509_time(not_after)?,
    };
    let cn: String = common_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " -_.".contains(*c))
        .collect();
    let subject = Name::from_str(&format!(
        "CN={cn},OU=Tenpay.com CA Center (simulated),O=Tenpay.com,C=CN"
    ))
    .map_err(|e| key_err("subject")(e.to_string()))?;
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| key_err("public key")(e.to_string()))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes())
        .map_err(|e| key_err("public key")(e.to_string()))?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &signer)
        .map_err(|e| key_err("certificate")(e.to_string()))?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| key_err("certificate")(e.to_string()))?;
    cert.to_pem(LineEnding::LF)
        .map_err(|e| key_err("certificate")(e.to_string()))
}

#[derive(Debug, Clone)]
struct PlatformKey {
    key: VerifyingKey<Sha256>,
    /// Certificate mode only: the validity window.
    valid: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The platform's public keys by serial: what responses and callbacks are checked against.
#[derive(Debug, Clone, Default)]
pub struct PlatformKeys {
    by_serial: HashMap<String, PlatformKey>,
    /// The serial sent in our requests' `Wechatpay-Serial` header.
    preferred: Option<String>,
}

impl PlatformKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// Public-key mode: `id` is the `PUB_KEY_ID_…` of the key.
    pub fn add_public_key(&mut self, id: &str, pem: &str) -> Result<(), WechatPayError> {
        let key = public_key_from_pem(pem)?;
        self.by_serial.insert(
            id.to_string(),
            PlatformKey {
                key: VerifyingKey::new(key),
                valid: None,
            },
        );
        self.preferred.get_or_insert_with(|| id.to_string());
        Ok(())
    }

    /// Platform-certificate mode: the key of the certificate, by its serial. Returns the
    /// serial.
    pub fn add_certificate(&mut self, pem: &str) -> Result<String, WechatPayError> {
        let cert = parse_certificate_pem(pem)?;
        self.by_serial.insert(
            cert.serial_no.clone(),
            PlatformKey {
                key: VerifyingKey::new(cert.public_key),
                valid: Some((cert.not_before, cert.not_after)),
            },
        );
        self.preferred.get_or_insert_with(|| cert.serial_no.clone());
        Ok(cert.serial_no)
    }

    /// The key for `serial`, if known and (for certificates) valid at `now`.
    pub fn get(&self, serial: &str, now: DateTime<Utc>) -> Option<&VerifyingKey<Sha256>> {
        let k = self.by_serial.get(serial)?;
        match k.valid {
            Some((from, to)) if now < from || now > to => None,
            _ => Some(&k.key),
        }
    }

    pub fn preferred_serial(&self) -> Option<&str> {
        self.preferred.as_deref()
    }

    pub fn is_empty(&self) -> bool {
        self.by_serial.is_empty()
    }
}
