//! The refusals of the notify service's endpoints.

use serde_json::{json, Value};

use crate::kernel::error::{DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("unknown message kind {kind}")]
    KindUnknown { kind: String },
    #[error("template {template_id} is not one of ours")]
    TemplateUnknown { template_id: String },
    #[error("the subscription answer does not belong to this session")]
    StateMismatch,
    #[error("the subscription answer names another WeChat user")]
    OpenidMismatch,
    #[error("redirect_uri is not a page of this platform")]
    RedirectInvalid { expected_origin: String },
    #[error("unknown subscription action {action}")]
    ActionInvalid { action: String },
    #[error("WeChat messages are not configured")]
    WechatUnavailable,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl DomainError for NotifyError {
    fn kind(&self) -> ErrorKind {
        match self {
            NotifyError::KindUnknown { .. } => ErrorKind::NotFound,
            NotifyError::TemplateUnknown { .. }
            | NotifyError::RedirectInvalid { .. }
            | NotifyError::ActionInvalid { .. } => ErrorKind::Unprocessable,
            NotifyError::StateMismatch => ErrorKind::Forbidden,
            NotifyError::OpenidMismatch | NotifyError::WechatUnavailable => ErrorKind::Conflict,
            NotifyError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            NotifyError::KindUnknown { .. } => "NOTIFY_KIND_UNKNOWN",
            NotifyError::TemplateUnknown { .. } => "NOTIFY_TEMPLATE_UNKNOWN",
            NotifyError::StateMismatch => "NOTIFY_STATE_MISMATCH",
            NotifyError::OpenidMismatch => "NOTIFY_OPENID_MISMATCH",
            NotifyError::RedirectInvalid { .. } => "NOTIFY_REDIRECT_INVALID",
            NotifyError::ActionInvalid { .. } => "NOTIFY_ACTION_INVALID",
            NotifyError::WechatUnavailable => "NOTIFY_WECHAT_UNAVAILABLE",
            NotifyError::Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        match self {
            NotifyError::KindUnknown { .. } => "没有这种消息提醒".into(),
            NotifyError::TemplateUnknown { .. } => {
                "订阅的消息模板不属于本平台，请重新开启提醒".into()
            }
            NotifyError::StateMismatch => "订阅结果已过期或不属于当前登录，请重新开启提醒".into(),
            NotifyError::OpenidMismatch => {
                "订阅所用的微信号与本账号绑定的微信号不一致，请用绑定的微信打开".into()
            }
            NotifyError::RedirectInvalid { .. } => "返回地址不是本平台的页面".into(),
            NotifyError::ActionInvalid { .. } => "订阅结果无法识别，请重新开启提醒".into(),
            NotifyError::WechatUnavailable => "微信消息提醒暂未开通，消息将以短信发送".into(),
            NotifyError::Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        match self {
            NotifyError::KindUnknown { kind } => json!({ "kind": kind }),
            NotifyError::TemplateUnknown { template_id } => json!({ "template_id": template_id }),
            NotifyError::RedirectInvalid { expected_origin } => {
                json!({ "expected_origin": expected_origin })
            }
            NotifyError::ActionInvalid { action } => json!({ "action": action }),
            _ => Value::Object(Default::default()),
        }
    }
}
