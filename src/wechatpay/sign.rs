//! Signing, the merchant's side: the `Authorization` header of every request
//! (`WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`
//! over `METHOD\nURL\ntimestamp\nnonce\nbody\n`), the JSAPI page's `paySign`, and the
//! platform's response signature the simulator produces. All SHA256withRSA (PKCS#1 v1.5),
//! base64.
//!
//! Also parses an `Authorization` header (the simulator checks requests with it). Must never
//! sign anything but the exact bytes that are sent.

use base64::Engine;
use rand::Rng;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::Sha256;

use super::model::JsapiPayParams;

/// The only signature scheme of APIv3.
pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// `METHOD\nURL\ntimestamp\nnonce\nbody\n`; `url` is the absolute path with the query, as
/// sent (`/v3/pay/transactions/out-trade-no/X?mchid=1230000109`); `body` is empty for GET.
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!("{method}\n{url}\n{timestamp}\n{nonce}\n").into_bytes();
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// `timestamp\nnonce\nbody\n`: what the platform signs on responses and callbacks.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!("{timestamp}\n{nonce}\n").into_bytes();
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// SHA256withRSA, base64.
pub fn sign(key: &SigningKey<Sha256>, message: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.sign(message).to_bytes())
}

/// A request nonce: 32 upper-case letters and digits.
pub fn new_nonce() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

/// The merchant's signing identity.
#[derive(Clone)]
pub struct MerchantSigner {
    pub mchid: String,
    /// Serial of the merchant's API certificate.
    pub serial_no: String,
    key: SigningKey<Sha256>,
}

impl std::fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantSigner")
            .field("mchid", &self.mchid)
            .field("serial_no", &self.serial_no)
            .finish_non_exhaustive()
    }
}

impl MerchantSigner {
    pub fn new(mchid: &str, serial_no: &str, key: RsaPrivateKey) -> Self {
        Self {
            mchid: mchid.into(),
            serial_no: serial_no.into(),
            key: SigningKey::new(key),
        }
    }

    pub fn sign(&self, message: &[u8]) -> String {
        sign(&self.key, message)
    }

    /// The `Authorization` header value for one request.
    pub fn authorization(
        &self,
        method: &str,
        url: &str,
        timestamp: i64,
        nonce: &str,
        body: &[u8],
    ) -> String {
        Authorization {
            mchid: self.mchid.clone(),
            nonce_str: nonce.into(),
            signature: self.sign(&request_message(
                method,
                url,
                &timestamp.to_string(),
                nonce,
                body,
            )),
            timestamp: timestamp.to_string(),
            serial_no: self.serial_no.clone(),
        }
        .to_header()
    }

    /// The parameters of `getBrandWCPayRequest`; `paySign` over
    /// `appId\ntimeStamp\nnonceStr\npackage\n`.
    pub fn jsapi_pay_params(
        &self,
        appid: &str,
        prepay_id: &str,
        timestamp: i64,
        nonce: &str,
    ) -> JsapiPayParams {
        let package = format!("prepay_id={prepay_id}");
        let message = format!("{appid}\n{timestamp}\n{nonce}\n{package}\n");
        JsapiPayParams {
            app_id: appid.into(),
            time_stamp: timestamp.to_string(),
            nonce_str: nonce.into(),
            package,
            sign_type: "RSA".into(),
            pay_sign: self.sign(message.as_bytes()),
        }
    }
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub signature: String,
    pub timestamp: String,
    pub serial_no: String,
}

impl Authorization {
    pub fn to_header(&self) -> String {
        format!(
            "{SCHEMA} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }

    /// Parses `WECHATPAY2-SHA256-RSA2048 k="v",...` (any order of the five parameters,
    /// optional spaces after commas). `None` when the scheme differs or a parameter is
    /// missing.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim().strip_prefix(SCHEMA)?;
        if !rest.starts_with(' ') {
            return None;
        }
        let mut fields: [Option<String>; 5] = Default::default();
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            let v = v.trim().strip_prefix('"')?.strip_suffix('"')?.to_string();
            let slot = match k.trim() {
                "mchid" => 0,
                "nonce_str" => 1,
                "signature" => 2,
                "timestamp" => 3,
                "serial_no" => 4,
                _ => continue,
            };
            fields[slot] = Some(v);
        }
        let [mchid, nonce_str, signature, timestamp, serial_no] = fields;
        Some(Self {
            mchid: mchid?,
            nonce_str: nonce_str?,
            signature: signature?,
            timestamp: timestamp?,
            serial_no: serial_no?,
        })
    }
}

/// The platform's signing identity (the simulator's).
#[derive(Clone)]
pub struct PlatformSigner {
    key: SigningKey<Sha256>,
}

impl PlatformSigner {
    pub fn new(key: RsaPrivateKey) -> Self {
        Self {
            key: SigningKey::new(key),
        }
    }

    /// `Wechatpay-Signature` for a response or callback body.
    pub fn sign_response(&self, timestamp: i64, nonce: &str, body: &[u8]) -> String {
        sign(
            &self.key,
            &response_message(&timestamp.to_string(), nonce, body),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_message_is_five_lines_each_ending_in_a_newline() {
        let m = request_message(
            "POST",
            "/v3/pay/transactions/jsapi",
            "1554208460",
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            b"{\"a\":1}",
        );
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"a\":1}\n"
        );
        let get = request_message("GET", "/v3/certificates", "1", "N", b"");
        assert_eq!(get, b"GET\n/v3/certificates\n1\nN\n\n");
        assert_eq!(response_message("1", "N", b"{}"), b"1\nN\n{}\n");
    }

    #[test]
    fn an_authorization_header_parses_back_in_any_order() {
        let a = Authorization {
            mchid: "1900009191".into(),
            nonce_str: "593BEC0C930BF1AFEB40B4A08C8FB242".into(),
            signature: "uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XmUgx9HEP4CQxjt2hzAn6jaCCDa7l3P1mPqNvbl+rYr1aHbWpKFQ==".into(),
            timestamp: "1554208460".into(),
            serial_no: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".into(),
        };
        assert_eq!(Authorization::parse(&a.to_header()), Some(a.clone()));
        let shuffled = format!(
            "WECHATPAY2-SHA256-RSA2048 serial_no=\"{}\", timestamp=\"{}\", mchid=\"{}\", signature=\"{}\", nonce_str=\"{}\"",
            a.serial_no, a.timestamp, a.mchid, a.signature, a.nonce_str
        );
        assert_eq!(Authorization::parse(&shuffled), Some(a));
        assert_eq!(Authorization::parse("Bearer x"), None);
        assert_eq!(
            Authorization::parse("WECHATPAY2-SHA256-RSA2048 mchid=\"1\""),
            None
        );
    }

    #[test]
    fn nonces_are_32_upper_case_alphanumerics_and_differ() {
        let a = new_nonce();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_ne!(a, new_nonce());
    }
}
