//! The one error type of the WeChat Pay boundary: every way a signature check, a
//! decryption, a call or a key can fail, each with a stable code and a Chinese message.
//!
//! Must never carry key material or decrypted resources in a message.

use serde_json::Value;

use crate::error::{DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum WechatPayError {
    /// A `Wechatpay-*` header (or the `Authorization` header) is absent or unusable.
    #[error("header {0} is missing or malformed")]
    HeaderMissing(&'static str),
    /// The platform's probe: a signature starting with `WECHATPAY/SIGNTEST/` must fail.
    #[error("signature is a WECHATPAY/SIGNTEST/ probe")]
    SigntestProbe,
    #[error("unknown platform key serial {0}")]
    SerialUnknown(String),
    #[error("timestamp {timestamp} is {skew_secs} s away from now (limit 300 s)")]
    TimestampStale { timestamp: String, skew_secs: i64 },
    #[error("nonce was already used")]
    NonceReplayed,
    #[error("signature does not verify")]
    SignatureInvalid,
    #[error("cannot decrypt the resource: {0}")]
    DecryptFailed(&'static str),
    #[error("unsupported algorithm {0}")]
    AlgorithmUnsupported(String),
    #[error("invalid key material: {0}")]
    KeyInvalid(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// WeChat Pay (or the simulator) answered a 4xx/5xx with `{code, message}`.
    #[error("WeChat Pay answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("malformed message from WeChat Pay: {0}")]
    Malformed(String),
    #[error("WeChat Pay unreachable: {0}")]
    Transport(String),
    #[error("WeChat Pay client not ready: {0}")]
    NotReady(String),
    #[error("storage error: {0}")]
    Storage(String),
}

impl WechatPayError {
    /// The code WeChat Pay answered (`ORDERPAID`, `NOT_ENOUGH` ...), for API errors.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            WechatPayError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for the failures of signature verification (a callback answered 401).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            WechatPayError::HeaderMissing(_)
                | WechatPayError::SigntestProbe
                | WechatPayError::SerialUnknown(_)
                | WechatPayError::TimestampStale { .. }
                | WechatPayError::NonceReplayed
                | WechatPayError::SignatureInvalid
        )
    }
}

impl From<sqlx::Error> for WechatPayError {
    fn from(e: sqlx::Error) -> Self {
        WechatPayError::Storage(e.to_string())
    }
}

impl DomainError for WechatPayError {
    fn kind(&self) -> ErrorKind {
        match self {
            e if e.is_verification_failure() => ErrorKind::Unauthorized,
            WechatPayError::DecryptFailed(_) | WechatPayError::AlgorithmUnsupported(_) => {
                ErrorKind::BadRequest
            }
            WechatPayError::InvalidInput(_) => ErrorKind::Unprocessable,
            WechatPayError::Api { status, .. } if *status < 500 => ErrorKind::Unprocessable,
            WechatPayError::Api { .. } | WechatPayError::Transport(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            WechatPayError::HeaderMissing(_) => "WXPAY_HEADER_MISSING",
            WechatPayError::SigntestProbe => "WXPAY_SIGNTEST_PROBE",
            WechatPayError::SerialUnknown(_) => "WXPAY_SERIAL_UNKNOWN",
            WechatPayError::TimestampStale { .. } => "WXPAY_TIMESTAMP_STALE",
            WechatPayError::NonceReplayed => "WXPAY_NONCE_REPLAYED",
            WechatPayError::SignatureInvalid => "WXPAY_SIGNATURE_INVALID",
            WechatPayError::DecryptFailed(_) => "WXPAY_DECRYPT_FAILED",
            WechatPayError::AlgorithmUnsupported(_) => "WXPAY_ALGORITHM_UNSUPPORTED",
            WechatPayError::KeyInvalid(_) => "WXPAY_KEY_INVALID",
            WechatPayError::InvalidInput(_) => "WXPAY_INVALID_INPUT",
            WechatPayError::Api { .. } => "WXPAY_API_ERROR",
            WechatPayError::Malformed(_) => "WXPAY_RESPONSE_MALFORMED",
            WechatPayError::Transport(_) => "WXPAY_UNAVAILABLE",
            WechatPayError::NotReady(_) => "WXPAY_NOT_READY",
            WechatPayError::Storage(_) => "WXPAY_STORAGE",
        }
    }

    fn user_message(&self) -> String {
        match self {
            WechatPayError::HeaderMissing(h) => format!("微信支付签名头 {h} 缺失或格式错误"),
            WechatPayError::SigntestProbe => "微信支付签名探测请求，已按要求拒绝".into(),
            WechatPayError::SerialUnknown(s) => format!("未知的微信支付平台证书或公钥序列号 {s}"),
            WechatPayError::TimestampStale { .. } => {
                "微信支付签名时间戳与当前时间相差超过 5 分钟".into()
            }
            WechatPayError::NonceReplayed => "微信支付签名随机串已使用过，疑似重放".into(),
            WechatPayError::SignatureInvalid => "微信支付签名验证失败".into(),
            WechatPayError::DecryptFailed(_) => "微信支付通知解密失败".into(),
            WechatPayError::AlgorithmUnsupported(a) => format!("不支持的微信支付算法 {a}"),
            WechatPayError::KeyInvalid(_) => "微信支付密钥配置有误".into(),
            WechatPayError::InvalidInput(m) => format!("微信支付请求参数有误：{m}"),
            WechatPayError::Api { message, .. } => format!("微信支付返回错误：{message}"),
            WechatPayError::Malformed(_) => "微信支付返回的数据格式有误".into(),
            WechatPayError::Transport(_) => "暂时无法连接微信支付，请稍后重试".into(),
            WechatPayError::NotReady(_) => "微信支付尚未就绪，请稍后重试".into(),
            WechatPayError::Storage(_) => "服务器内部错误，请稍后重试".into(),
        }
    }

    fn details(&self) -> Value {
        match self {
            WechatPayError::Api {
                status,
                code,
                message,
            } => serde_json::json!({
                "wechatpay_status": status,
                "wechatpay_code": code,
                "wechatpay_message": message,
            }),
            _ => Value::Object(Default::default()),
        }
    }
}
