//! Errors of the bank simulator and of reconciliation, each with a stable code and a
//! Chinese message.

use serde_json::{json, Value};

use crate::error::{DomainError, ErrorKind};
use crate::ledger::{LedgerError, MoneyError};

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// A malformed instruction (account number, reference, counterparty, zero amount).
    #[error("invalid bank instruction: {0}")]
    Invalid(String),
    /// The reference was booked before with another amount.
    #[error("bank reference {0} was booked before with another amount")]
    ReferenceConflict(String),
    #[error("no statement line {0}")]
    LineNotFound(i64),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("bank data is corrupt: {0}")]
    Corrupt(String),
    #[error("bank database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl BankError {
    /// Stable machine-readable code; never rename an existing one. Ledger and money errors
    /// keep their own codes.
    pub fn code(&self) -> &'static str {
        match self {
            BankError::Invalid(_) => "BANK_INVALID",
            BankError::ReferenceConflict(_) => "BANK_REFERENCE_CONFLICT",
            BankError::LineNotFound(_) => "BANK_LINE_NOT_FOUND",
            BankError::Money(e) => e.code(),
            BankError::Ledger(e) => e.code(),
            BankError::Corrupt(_) => "BANK_CORRUPT",
            BankError::Database(_) => "BANK_DATABASE",
        }
    }
}

impl DomainError for BankError {
    fn kind(&self) -> ErrorKind {
        match self {
            BankError::Invalid(_) => ErrorKind::Unprocessable,
            BankError::ReferenceConflict(_) => ErrorKind::Conflict,
            BankError::LineNotFound(_) => ErrorKind::NotFound,
            BankError::Money(e) => DomainError::kind(e),
            BankError::Ledger(e) => DomainError::kind(e),
            BankError::Corrupt(_) | BankError::Database(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        BankError::code(self)
    }

    fn user_message(&self) -> String {
        match self {
            BankError::Invalid(_) => "银行指令无效".into(),
            BankError::ReferenceConflict(_) => "该银行流水号已以不同金额入账".into(),
            BankError::LineNotFound(_) => "未找到该银行流水".into(),
            BankError::Money(e) => e.user_message(),
            BankError::Ledger(e) => e.user_message(),
            BankError::Corrupt(_) | BankError::Database(_) => "服务器内部错误，请稍后重试".into(),
        }
    }

    fn details(&self) -> Value {
        match self {
            BankError::ReferenceConflict(r) => json!({ "reference": r }),
            BankError::LineNotFound(id) => json!({ "id": id }),
            BankError::Ledger(e) => e.details(),
            _ => Value::Object(Default::default()),
        }
    }
}
