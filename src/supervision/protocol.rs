//! The wire protocol of the push (docs/supervision-protocol.md), shared by our client and
//! our receiver simulator: the signed envelope, its checks in the receiver's order, and
//! the receiver's error codes.
//!
//! Envelope: `{appId, version, timestamp (yyyyMMddHHmmss, Beijing time), nonce, signType:
//! "SM2", encType: "SM4", data, signData}`; `signData` is SM2withSM3 (user id
//! `1234567812345678`) over [`crypto::canonical_string`] of the rest, base64 of r‖s. The
//! answer is an envelope of the same shape signed by the receiver, whose `data` holds
//! `code`, `message` and one result per record.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rand::RngCore;
use serde_json::{json, Value};

use super::crypto::{self, SmSigner, SmVerifier};

pub const VERSION: &str = "1.0";
/// A request's timestamp may be this far from the receiver's clock.
pub const WINDOW_SECS: i64 = 300;

/// The receiver's refusals of a whole request, and of single records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not JSON, or an envelope field missing or malformed (400).
    BadRequest,
    /// `appId` unknown to the receiver (401).
    AppUnknown,
    /// `signData` does not verify (401).
    SignInvalid,
    /// `timestamp` outside ±5 minutes (401).
    TimestampExpired,
    /// `nonce` seen before within the window (409).
    NonceReplayed,
    /// More records than [`super::model::MAX_BATCH`] (413).
    BatchTooLarge,
    /// A record: unknown field set or op, a required field missing (per record).
    RecordInvalid,
    /// A record: a personal field that does not decrypt (per record).
    DecryptFailed,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadRequest => "BAD_REQUEST",
            Refusal::AppUnknown => "APP_UNKNOWN",
            Refusal::SignInvalid => "SIGN_INVALID",
            Refusal::TimestampExpired => "TIMESTAMP_EXPIRED",
            Refusal::NonceReplayed => "NONCE_REPLAYED",
            Refusal::BatchTooLarge => "BATCH_TOO_LARGE",
            Refusal::RecordInvalid => "RECORD_INVALID",
            Refusal::DecryptFailed => "DECRYPT_FAILED",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::AppUnknown | Refusal::SignInvalid | Refusal::TimestampExpired => 401,
            Refusal::NonceReplayed => 409,
            Refusal::BatchTooLarge => 413,
            Refusal::RecordInvalid | Refusal::DecryptFailed => 422,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::BadRequest => "请求格式错误",
            Refusal::AppUnknown => "应用编号未登记",
            Refusal::SignInvalid => "签名验证失败",
            Refusal::TimestampExpired => "时间戳超出允许范围（±5 分钟）",
            Refusal::NonceReplayed => "随机串重复，疑似重放请求",
            Refusal::BatchTooLarge => "单次推送记录数超过上限",
            Refusal::RecordInvalid => "记录字段不完整或取值无效",
            Refusal::DecryptFailed => "加密字段无法解密",
        }
    }
}

/// Result code of an accepted record, and of one received before (same `messageId`).
pub const OK: &str = "0";
pub const DUPLICATE: &str = "DUPLICATE";

/// `yyyyMMddHHmmss` in Beijing time.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&crate::clock::cst())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 14 {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()?;
    crate::clock::cst()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

pub fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A signed envelope around `data`.
pub fn envelope(signer: &SmSigner, app_id: &str, at: DateTime<Utc>, data: Value) -> Value {
    let mut env = json!({
        "appId": app_id,
        "version": VERSION,
        "timestamp": timestamp(at),
        "nonce": nonce(),
        "signType": "SM2",
        "encType": "SM4",
        "data": data,
    });
    let sig = signer.sign(crypto::canonical_string(&env).as_bytes());
    env["signData"] = Value::String(sig);
    env
}

/// The envelope's checks in the receiver's order, except the nonce (the receiver's store
/// decides that one): fields, app id (through `key_of`), signature, timestamp window.
/// Returns the app id and `data`.
pub fn open(
    env: &Value,
    key_of: impl Fn(&str) -> Option<SmVerifier>,
    now: DateTime<Utc>,
) -> Result<(&str, &str, &Value), Refusal> {
    let text = |k: &str| env.get(k).and_then(Value::as_str);
    let (Some(app_id), Some(ts), Some(nonce), Some(sig)) = (
        text("appId"),
        text("timestamp"),
        text("nonce"),
        text("signData"),
    ) else {
        return Err(Refusal::BadRequest);
    };
    let data = env
        .get("data")
        .filter(|d| d.is_object())
        .ok_or(Refusal::BadRequest)?;
    if text("signType") != Some("SM2")
        || text("encType") != Some("SM4")
        || nonce.len() < 16
        || nonce.len() > 64
    {
        return Err(Refusal::BadRequest);
    }
    let verifier = key_of(app_id).ok_or(Refusal::AppUnknown)?;
    if !verifier.verify(crypto::canonical_string(env).as_bytes(), sig) {
        return Err(Refusal::SignInvalid);
    }
    let at = parse_timestamp(ts).ok_or(Refusal::TimestampExpired)?;
    if (now - at).num_seconds().abs() > WINDOW_SECS {
        return Err(Refusal::TimestampExpired);
    }
    Ok((app_id, nonce, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap()
    }

    #[test]
    fn an_envelope_opens_with_its_key_and_refuses_tampering_age_and_strangers() {
        let signer = SmSigner::generate();
        let v = signer.verifier();
        let env = envelope(
            &signer,
            "APP1",
            now(),
            json!({ "records": [{ "a": "课后" }] }),
        );
        let key = |id: &str| (id == "APP1").then(|| v.clone());
        let (app, _, data) = open(&env, key, now()).unwrap();
        assert_eq!(app, "APP1");
        assert_eq!(data["records"][0]["a"], "课后");

        let mut forged = env.clone();
        forged["data"]["records"][0]["a"] = json!("午托");
        assert_eq!(open(&forged, key, now()), Err(Refusal::SignInvalid));
        assert_eq!(
            open(&env, key, now() + chrono::Duration::minutes(6)),
            Err(Refusal::TimestampExpired)
        );
        let mut stranger = env.clone();
        stranger["appId"] = json!("APP2");
        assert_eq!(open(&stranger, key, now()), Err(Refusal::AppUnknown));
        let other = SmSigner::generate();
        let by_other = envelope(&other, "APP1", now(), json!({}));
        assert_eq!(open(&by_other, key, now()), Err(Refusal::SignInvalid));
        assert_eq!(
            open(&json!({ "appId": "APP1" }), key, now()),
            Err(Refusal::BadRequest)
        );
    }

    #[test]
    fn timestamps_are_beijing_time() {
        assert_eq!(timestamp(now()), "20261207110000");
        assert_eq!(parse_timestamp("20261207110000"), Some(now()));
        assert_eq!(parse_timestamp("2026120711000"), None);
    }
}
