//! Sign-in and authorization errors, each with a stable code and a Chinese message.

use crate::error::{DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid phone: {0}")]
    InvalidPhone(String),
    #[error("login failed")]
    LoginFailed,
    #[error("account locked for {minutes} more minutes")]
    Locked { minutes: i64 },
    #[error("account disabled")]
    Disabled,
    #[error("second factor code required")]
    MfaCodeRequired,
    #[error("second factor code invalid")]
    MfaCodeInvalid,
    #[error("rate limited for {secs} s")]
    RateLimited { secs: u64 },
    #[error("one-time code invalid")]
    CodeInvalid,
    #[error("sms sign-in not allowed for admin accounts")]
    SmsNotAllowed,
    #[error("not signed in")]
    Unauthenticated,
    #[error("session expired")]
    SessionExpired,
    #[error("second factor not set up")]
    MfaRequired,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("weak password: {0}")]
    WeakPassword(String),
    #[error("old password wrong")]
    OldPasswordWrong,
    #[error("no role in tenant")]
    TenantAccessDenied,
    #[error("permission {obj}:{act} denied")]
    PermissionDenied { obj: String, act: String },
    #[error("role {role} does not belong to a {kind}")]
    RoleNotForTenant { role: String, kind: &'static str },
    #[error("separation of duties: {0}")]
    SeparationOfDuties(String),
    #[error("role already assigned")]
    AlreadyAssigned,
    #[error("assignment not found")]
    AssignmentNotFound,
    #[error("cannot revoke own admin role")]
    CannotRevokeOwnAdmin,
    #[error("totp already enabled")]
    TotpAlreadyEnabled,
    #[error("totp not set up")]
    TotpNotSetUp,
    #[error("consent not found")]
    ConsentNotFound,
    #[error("tenant not found: {0}")]
    TenantNotFound(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Internal(e.into())
    }
}

impl DomainError for AuthError {
    fn kind(&self) -> ErrorKind {
        use AuthError::*;
        match self {
            InvalidPhone(_)
            | WeakPassword(_)
            | OldPasswordWrong
            | RoleNotForTenant { .. }
            | InvalidInput(_) => ErrorKind::Unprocessable,
            LoginFailed | MfaCodeRequired | MfaCodeInvalid | CodeInvalid | Unauthenticated
            | SessionExpired => ErrorKind::Unauthorized,
            Locked { .. }
            | Disabled
            | SmsNotAllowed
            | MfaRequired
            | PasswordChangeRequired
            | TenantAccessDenied
            | PermissionDenied { .. } => ErrorKind::Forbidden,
            RateLimited { .. } => ErrorKind::TooManyRequests,
            SeparationOfDuties(_)
            | AlreadyAssigned
            | CannotRevokeOwnAdmin
            | TotpAlreadyEnabled
            | TotpNotSetUp => ErrorKind::Conflict,
            AssignmentNotFound | ConsentNotFound | TenantNotFound(_) => ErrorKind::NotFound,
            Internal(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        use AuthError::*;
        match self {
            InvalidPhone(_) => "INVALID_PHONE",
            LoginFailed => "LOGIN_FAILED",
            Locked { .. } => "ACCOUNT_LOCKED",
            Disabled => "ACCOUNT_DISABLED",
            MfaCodeRequired => "MFA_CODE_REQUIRED",
            MfaCodeInvalid => "MFA_CODE_INVALID",
            RateLimited { .. } => "RATE_LIMITED",
            CodeInvalid => "CODE_INVALID",
            SmsNotAllowed => "SMS_LOGIN_NOT_ALLOWED",
            Unauthenticated => "UNAUTHENTICATED",
            SessionExpired => "SESSION_EXPIRED",
            MfaRequired => "MFA_REQUIRED",
            PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
            WeakPassword(_) => "WEAK_PASSWORD",
            OldPasswordWrong => "OLD_PASSWORD_WRONG",
            TenantAccessDenied => "TENANT_ACCESS_DENIED",
            PermissionDenied { .. } => "PERMISSION_DENIED",
            RoleNotForTenant { .. } => "ROLE_NOT_FOR_TENANT",
            SeparationOfDuties(_) => "SEPARATION_OF_DUTIES",
            AlreadyAssigned => "ROLE_ALREADY_ASSIGNED",
            AssignmentNotFound => "ASSIGNMENT_NOT_FOUND",
            CannotRevokeOwnAdmin => "CANNOT_REVOKE_OWN_ADMIN",
            TotpAlreadyEnabled => "TOTP_ALREADY_ENABLED",
            TotpNotSetUp => "TOTP_NOT_SET_UP",
            ConsentNotFound => "CONSENT_NOT_FOUND",
            TenantNotFound(_) => "TENANT_NOT_FOUND",
            InvalidInput(_) => "INVALID_INPUT",
            Internal(_) => "INTERNAL",
        }
    }

    fn user_message(&self) -> String {
        use AuthError::*;
        match self {
            InvalidPhone(m) | WeakPassword(m) | InvalidInput(m) => m.clone(),
            LoginFailed => "手机号或密码错误".into(),
            Locked { minutes } => {
                format!("连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
            }
            Disabled => "账号已停用，请联系管理员".into(),
            MfaCodeRequired => "请输入身份验证器中的 6 位动态验证码".into(),
            MfaCodeInvalid => "动态验证码错误或已使用".into(),
            RateLimited { secs } => format!("操作过于频繁，请 {secs} 秒后再试"),
            CodeInvalid => "短信验证码错误或已过期".into(),
            SmsNotAllowed => "管理员账号请使用密码和动态验证码登录".into(),
            Unauthenticated => "请先登录".into(),
            SessionExpired => "登录已过期，请重新登录".into(),
            MfaRequired => "管理员账号须先启用动态验证码（双因素认证）".into(),
            PasswordChangeRequired => "密码已过期或为初始密码，请先修改密码".into(),
            OldPasswordWrong => "原密码不正确".into(),
            TenantAccessDenied => "您在该学校或机构没有任何角色，无权访问".into(),
            PermissionDenied { .. } => "您没有执行该操作的权限".into(),
            RoleNotForTenant { kind, .. } => format!("该角色不能在{kind}中分配"),
            SeparationOfDuties(m) => format!("三员分立：{m}"),
            AlreadyAssigned => "该用户已拥有此角色".into(),
            AssignmentNotFound => "找不到该角色分配".into(),
            CannotRevokeOwnAdmin => "不能撤销自己的管理员角色".into(),
            TotpAlreadyEnabled => "动态验证码已启用".into(),
            TotpNotSetUp => "请先生成动态验证码密钥".into(),
            ConsentNotFound => "找不到该授权记录或已撤回".into(),
            TenantNotFound(c) => format!("找不到代码为“{c}”的学校或机构"),
            Internal(_) => "服务器内部错误，请稍后重试".into(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            AuthError::RateLimited { secs } => serde_json::json!({ "retry_after_secs": secs }),
            AuthError::Locked { minutes } => serde_json::json!({ "locked_minutes": minutes }),
            AuthError::PermissionDenied { obj, act } => {
                serde_json::json!({ "permission": format!("{obj}:{act}") })
            }
            _ => serde_json::json!({}),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::RateLimited { secs } => Some(*secs),
            _ => None,
        }
    }
}
