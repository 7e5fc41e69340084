//! The wire models of WeChat Pay APIv3, with WeChat's exact field names, and the inputs
//! the [`WechatPay`](super::WechatPay) trait takes.
//!
//! Amounts are integer fen (分) here: the domain converts from its yuan `Decimal` at this
//! boundary and never sends a float. Times are RFC 3339 with an offset
//! (`2026-10-12T10:00:00+08:00`), as WeChat writes them. Owns shapes and the format rules
//! of identifiers; must never hold behaviour that talks to anything.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::WechatPayError;
use crate::clock::cst;

// ---------------------------------------------------------------------------------------
// Times

/// A WeChat Pay time: `yyyy-MM-DDTHH:mm:ss+TIMEZONE`, always written in China Standard Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WxTime(pub DateTime<FixedOffset>);

impl WxTime {
    pub fn from_utc(t: DateTime<Utc>) -> Self {
        Self(t.with_timezone(&cst()))
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }

    pub fn parse(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s).ok().map(Self)
    }
}

impl std::fmt::Display for WxTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%:z"))
    }
}

impl Serialize for WxTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WxTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        WxTime::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad time {s}")))
    }
}

// ---------------------------------------------------------------------------------------
// Identifiers

/// `out_trade_no`: 6 to 32 characters of letters, digits, `_`, `-`, `|`, `*`.
pub fn valid_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

/// `out_refund_no`: 1 to 64 characters of letters, digits, `_`, `-`, `|`, `*`, `@`.
pub fn valid_out_refund_no(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
}

pub const CNY: &str = "CNY";

fn cny() -> String {
    CNY.into()
}

// ---------------------------------------------------------------------------------------
// Orders

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// 订单总金额，单位为分
    pub total: i64,
    #[serde(default = "cny")]
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

/// `POST /v3/pay/transactions/jsapi`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsapiPrepayRequest {
    pub appid: String,
    pub mchid: String,
    pub description: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<WxTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    pub notify_url: String,
    pub amount: Amount,
    pub payer: Payer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5Info {
    /// 场景类型: `iOS`, `Android`, `Wap`
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneInfo {
    pub payer_client_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h5_info: Option<H5Info>,
}

/// `POST /v3/pay/transactions/h5`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5PrepayRequest {
    pub appid: String,
    pub mchid: String,
    pub description: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<WxTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    pub notify_url: String,
    pub amount: Amount,
    pub scene_info: SceneInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepayResponse {
    pub prepay_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5PrepayResponse {
    pub h5_url: String,
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    pub mchid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TradeState {
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "REFUND")]
    Refund,
    #[serde(rename = "NOTPAY")]
    NotPay,
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "REVOKED")]
    Revoked,
    #[serde(rename = "USERPAYING")]
    UserPaying,
    #[serde(rename = "PAYERROR")]
    PayError,
}

impl TradeState {
    pub fn as_str(&self) -> &'static str {
        match self {
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::NotPay => "NOTPAY",
            TradeState::Closed => "CLOSED",
            TradeState::Revoked => "REVOKED",
            TradeState::UserPaying => "USERPAYING",
            TradeState::PayError => "PAYERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// `trade_state_desc` as the platform words it.
    pub fn description(&self) -> &'static str {
        match self {
            TradeState::Success => "支付成功",
            TradeState::Refund => "转入退款",
            TradeState::NotPay => "未支付",
            TradeState::Closed => "已关闭",
            TradeState::Revoked => "已撤销",
            TradeState::UserPaying => "用户支付中",
            TradeState::PayError => "支付失败",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TradeType {
    #[serde(rename = "JSAPI")]
    Jsapi,
    #[serde(rename = "NATIVE")]
    Native,
    #[serde(rename = "APP")]
    App,
    #[serde(rename = "MICROPAY")]
    Micropay,
    /// H5
    #[serde(rename = "MWEB")]
    Mweb,
    #[serde(rename = "FACEPAY")]
    Facepay,
}

impl TradeType {
    pub fn as_str(&self) -> &'static str {
        match self {
            TradeType::Jsapi => "JSAPI",
            TradeType::Native => "NATIVE",
            TradeType::App => "APP",
            TradeType::Micropay => "MICROPAY",
            TradeType::Mweb => "MWEB",
            TradeType::Facepay => "FACEPAY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TransactionAmount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TransactionPayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

/// An order as `GET /v3/pay/transactions/out-trade-no/{no}` answers it, and the resource of
/// a `TRANSACTION.SUCCESS` callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<TradeType>,
    pub trade_state: TradeState,
    #[serde(default)]
    pub trade_state_desc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<WxTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<TransactionPayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
}

// ---------------------------------------------------------------------------------------
// Refunds

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequestAmount {
    pub refund: i64,
    pub total: i64,
    #[serde(default = "cny")]
    pub currency: String,
}

/// `POST /v3/refund/domestic/refunds`: names the order by `transaction_id` or
/// `out_trade_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    pub out_refund_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    pub amount: RefundRequestAmount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundStatus {
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "PROCESSING")]
    Processing,
    #[serde(rename = "ABNORMAL")]
    Abnormal,
}

impl RefundStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "CLOSED",
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Abnormal => "ABNORMAL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// The status as the merchant platform words it.
    pub fn description(&self) -> &'static str {
        match self {
            RefundStatus::Success => "退款成功",
            RefundStatus::Closed => "退款关闭",
            RefundStatus::Processing => "退款处理中",
            RefundStatus::Abnormal => "退款异常",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
    pub settlement_refund: i64,
    pub settlement_total: i64,
    pub discount_refund: i64,
    #[serde(default = "cny")]
    pub currency: String,
}

/// A refund as `POST /v3/refund/domestic/refunds` and
/// `GET /v3/refund/domestic/refunds/{out_refund_no}` answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub channel: String,
    pub user_received_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<WxTime>,
    pub create_time: WxTime,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    pub amount: RefundAmount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNoticeAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
}

/// The resource of a `REFUND.SUCCESS` / `REFUND.ABNORMAL` / `REFUND.CLOSED` callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    pub mchid: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub refund_id: String,
    pub out_refund_no: String,
    pub refund_status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<WxTime>,
    pub user_received_account: String,
    pub amount: RefundNoticeAmount,
}

// ---------------------------------------------------------------------------------------
// Callbacks

/// `resource` of a callback (and `encrypt_certificate` of the certificate download).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    #[serde(default)]
    pub original_type: String,
}

/// The callback body exactly as posted to `notify_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationEnvelope {
    pub id: String,
    pub create_time: WxTime,
    pub event_type: String,
    pub resource_type: String,
    pub resource: EncryptedResource,
    #[serde(default)]
    pub summary: String,
}

pub const RESOURCE_TYPE_ENCRYPTED: &str = "encrypt-resource";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "TRANSACTION.SUCCESS")]
    TransactionSuccess,
    #[serde(rename = "REFUND.SUCCESS")]
    RefundSuccess,
    #[serde(rename = "REFUND.ABNORMAL")]
    RefundAbnormal,
    #[serde(rename = "REFUND.CLOSED")]
    RefundClosed,
}

impl EventType {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::TransactionSuccess => "TRANSACTION.SUCCESS",
            EventType::RefundSuccess => "REFUND.SUCCESS",
            EventType::RefundAbnormal => "REFUND.ABNORMAL",
            EventType::RefundClosed => "REFUND.CLOSED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// `summary` as the platform words it.
    pub fn summary(&self) -> &'static str {
        match self {
            EventType::TransactionSuccess => "支付成功",
            EventType::RefundSuccess => "退款成功",
            EventType::RefundAbnormal => "退款异常",
            EventType::RefundClosed => "退款关闭",
        }
    }

    /// `original_type` and `associated_data` of the resource.
    pub fn original_type(&self) -> &'static str {
        match self {
            EventType::TransactionSuccess => "transaction",
            _ => "refund",
        }
    }

    pub fn for_refund(status: RefundStatus) -> Option<Self> {
        match status {
            RefundStatus::Success => Some(EventType::RefundSuccess),
            RefundStatus::Abnormal => Some(EventType::RefundAbnormal),
            RefundStatus::Closed => Some(EventType::RefundClosed),
            RefundStatus::Processing => None,
        }
    }
}

/// A decrypted resource, typed by the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NotificationResource {
    Transaction(Transaction),
    Refund(RefundNotice),
}

/// A callback whose signature was verified and whose resource was decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// The platform's notification id: the same on every retry and duplicate, so handlers
    /// key their exactly-once processing on it (or on the transaction / refund id).
    pub id: String,
    pub create_time: WxTime,
    pub event_type: EventType,
    pub summary: String,
    pub resource: NotificationResource,
}

/// What a callback receiver answers on failure (the platform then retries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAck {
    pub code: String,
    pub message: String,
}

// ---------------------------------------------------------------------------------------
// Errors and certificates

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// `GET /v3/certificates`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateList {
    pub data: Vec<CertificateEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEntry {
    pub serial_no: String,
    pub effective_time: WxTime,
    pub expire_time: WxTime,
    pub encrypt_certificate: EncryptedCertificate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedCertificate {
    pub algorithm: String,
    pub nonce: String,
    pub associated_data: String,
    pub ciphertext: String,
}

// ---------------------------------------------------------------------------------------
// JSAPI page parameters

/// What the payment page hands to `WeixinJSBridge.invoke('getBrandWCPayRequest', ...)`;
/// `paySign` is SHA256withRSA over `appId\ntimeStamp\nnonceStr\npackage\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsapiPayParams {
    #[serde(rename = "appId")]
    pub app_id: String,
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// `prepay_id=...`
    pub package: String,
    /// Always `RSA`.
    #[serde(rename = "signType")]
    pub sign_type: String,
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

// ---------------------------------------------------------------------------------------
// Inputs of the trait: what the domain knows; the client adds appid, mchid, notify_url.

/// A JSAPI order (paid inside WeChat by the user `openid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJsapiOrder {
    pub description: String,
    pub out_trade_no: String,
    pub total_fen: i64,
    pub openid: String,
    pub time_expire: Option<DateTime<Utc>>,
    pub attach: Option<String>,
    /// Overrides the configured callback URL.
    pub notify_url: Option<String>,
}

/// An H5 order (paid from a mobile browser outside WeChat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewH5Order {
    pub description: String,
    pub out_trade_no: String,
    pub total_fen: i64,
    pub payer_client_ip: String,
    /// `Wap`, `iOS` or `Android`.
    pub h5_type: String,
    pub time_expire: Option<DateTime<Utc>>,
    pub attach: Option<String>,
    pub notify_url: Option<String>,
}

/// A refund of (part of) a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub reason: Option<String>,
    pub refund_fen: i64,
    /// The order's total, as WeChat checks it.
    pub total_fen: i64,
    pub notify_url: Option<String>,
}

/// A created JSAPI order: the prepay id and the signed parameters for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsapiPrepay {
    pub prepay_id: String,
    pub pay_params: JsapiPayParams,
}

pub(crate) fn check_order_input(
    description: &str,
    out_trade_no: &str,
    total_fen: i64,
    attach: Option<&str>,
) -> Result<(), WechatPayError> {
    if description.trim().is_empty() || description.chars().count() > 127 {
        return Err(WechatPayError::InvalidInput(
            "description 须为 1 至 127 个字符".into(),
        ));
    }
    if !valid_out_trade_no(out_trade_no) {
        return Err(WechatPayError::InvalidInput(
            "out_trade_no 须为 6 至 32 位字母、数字或 _-|*".into(),
        ));
    }
    if total_fen <= 0 {
        return Err(WechatPayError::InvalidInput("金额须大于 0 分".into()));
    }
    if attach.is_some_and(|a| a.is_empty() || a.chars().count() > 128) {
        return Err(WechatPayError::InvalidInput(
            "attach 须为 1 至 128 个字符".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_written_in_china_standard_time_without_fractions() {
        let t = Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0).unwrap();
        let json = serde_json::to_string(&WxTime::from_utc(t)).unwrap();
        assert_eq!(json, "\"2026-10-12T10:00:00+08:00\"");
        let back: WxTime = serde_json::from_str(&json).unwrap();
        assert_eq!(back.utc(), t);
    }

    #[test]
    fn states_use_the_platform_spelling() {
        assert_eq!(
            serde_json::to_string(&TradeState::NotPay).unwrap(),
            "\"NOTPAY\""
        );
        assert_eq!(
            TradeState::parse("USERPAYING"),
            Some(TradeState::UserPaying)
        );
        assert_eq!(TradeType::parse("MWEB"), Some(TradeType::Mweb));
        assert_eq!(
            EventType::parse("REFUND.ABNORMAL"),
            Some(EventType::RefundAbnormal)
        );
        assert_eq!(
            RefundStatus::parse("PROCESSING"),
            Some(RefundStatus::Processing)
        );
    }

    #[test]
    fn a_jsapi_request_has_the_documented_shape() {
        let r = JsapiPrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1230000109".into(),
            description: "课后服务费".into(),
            out_trade_no: "AS20261012000001".into(),
            time_expire: None,
            attach: None,
            notify_url: "https://example.com/notify".into(),
            amount: Amount {
                total: 12_000,
                currency: CNY.into(),
            },
            payer: Payer {
                openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
            },
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["amount"]["total"], 12_000);
        assert_eq!(v["payer"]["openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
        assert!(v.get("time_expire").is_none());
    }

    #[test]
    fn identifiers_follow_the_documented_alphabet() {
        assert!(valid_out_trade_no("AS-2026_10|12*"));
        assert!(!valid_out_trade_no("short"));
        assert!(!valid_out_trade_no("has space 123"));
        assert!(!valid_out_trade_no(&"x".repeat(33)));
        assert!(valid_out_refund_no("R@1"));
        assert!(!valid_out_refund_no(""));
    }
}
