//! Errors of the audit trail. Messages never contain key bytes or record contents: they end
//! up in logs, and a record's details may name personal data.

use crate::error::{DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("审计日志数据库操作失败：{0}")]
    Database(#[from] sqlx::Error),
    /// The event breaks a rule of the trail (action format, details not an object ...).
    /// A programming error in the caller, never the end user's fault.
    #[error("审计事件无效：{0}")]
    InvalidEvent(String),
    /// Key material could not be read; the message never contains key bytes.
    #[error("审计密钥配置错误：{0}")]
    BadKey(String),
    /// The stored trail is not in a shape this build understands (head row missing, a MAC
    /// of the wrong length, an unknown outcome). `verify` reports tampering in its report
    /// instead; this error means the data cannot even be read as a chain.
    #[error("审计日志数据异常：{0}")]
    Corrupt(String),
}

impl AuditError {
    /// Stable machine-readable code for API responses; never rename an existing one.
    pub fn code(&self) -> &'static str {
        match self {
            AuditError::Database(_) => "AUDIT_DATABASE",
            AuditError::InvalidEvent(_) => "AUDIT_INVALID_EVENT",
            AuditError::BadKey(_) => "AUDIT_BAD_KEY",
            AuditError::Corrupt(_) => "AUDIT_CORRUPT",
        }
    }
}

impl DomainError for AuditError {
    fn kind(&self) -> ErrorKind {
        // Every audit failure is a server fault: the user can do nothing about it, and a
        // request whose audit record cannot be written must not be reported as done.
        ErrorKind::Internal
    }

    fn code(&self) -> &'static str {
        AuditError::code(self)
    }

    fn user_message(&self) -> String {
        "服务器内部错误，请稍后重试".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_errors_are_internal_with_a_generic_user_message() {
        let e = AuditError::BadKey("长度应为 32 字节".into());
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.code(), "AUDIT_BAD_KEY");
        assert!(!e.user_message().contains("密钥"));
        assert_eq!(
            AuditError::InvalidEvent("x".into()).code(),
            "AUDIT_INVALID_EVENT"
        );
    }
}
