//! Errors of the escrow ledger: one variant per refusal, each with a stable code, an HTTP
//! class and a Chinese message. A refused posting has changed nothing.

use serde_json::{json, Value};

use super::model::{JournalKind, LineId};
use super::money::{Money, MoneyError};
use crate::error::{DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Zero, too large, or not a valid figure.
    #[error("invalid amount: {0}")]
    AmountInvalid(String),
    /// A malformed request (empty line list, duplicate line, bad reference, zero units).
    #[error("invalid posting: {0}")]
    Invalid(String),
    /// The line has never been paid (no running balance row).
    #[error("line {0} has no payment")]
    NotPaid(LineId),
    /// The line was already paid by another transaction.
    #[error("line {0} is already paid")]
    LineAlreadyPaid(LineId),
    /// A release or refund asks for more than the line's unreleased part.
    #[error("line {line_id}: {requested} requested, {available} unreleased")]
    ExceedsHeld {
        line_id: LineId,
        requested: Money,
        available: Money,
    },
    /// Every lesson or day of the line has been released already.
    #[error("line {line_id}: all {total} units released")]
    UnitsExhausted { line_id: LineId, total: u32 },
    /// A lesson or day release with another rule or count than the line's earlier ones.
    #[error("line {line_id}: release rule {requested} does not match {existing}")]
    ReleaseRuleMismatch {
        line_id: LineId,
        requested: String,
        existing: String,
    },
    /// Nothing of the line is left to release for this lesson or day (refunds took it).
    #[error("line {0}: nothing left to release")]
    NothingToRelease(LineId),
    /// The reference was used before with other figures: a retry must repeat the posting
    /// exactly.
    #[error("{kind} {reference} was posted before with other figures")]
    ReferenceConflict {
        kind: JournalKind,
        reference: String,
    },
    #[error("no reserved refund {0}")]
    RefundNotFound(String),
    #[error("refund {0} is already settled")]
    RefundSettled(String),
    #[error("refund {0} is already cancelled")]
    RefundCancelled(String),
    /// A settlement to the bank larger than what WeChat Pay holds for us.
    #[error("settlement of {requested} exceeds the {available} in WeChat Pay clearing")]
    ExceedsClearing { requested: Money, available: Money },
    /// A transfer out of the escrow account larger than its balance.
    #[error("{requested} exceeds the escrow balance of {available}")]
    ExceedsEscrow { requested: Money, available: Money },
    /// A payout larger than what was released to the tenant and not yet paid out.
    #[error("payout of {requested} exceeds the {available} payable")]
    ExceedsPayable { requested: Money, available: Money },
    /// Stored ledger data that this build cannot read (a bad account code or kind).
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    #[error("ledger database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<MoneyError> for LedgerError {
    fn from(e: MoneyError) -> Self {
        LedgerError::AmountInvalid(e.to_string())
    }
}

impl LedgerError {
    /// Stable machine-readable code for API responses; never rename an existing one.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::AmountInvalid(_) => "LEDGER_AMOUNT_INVALID",
            LedgerError::Invalid(_) => "LEDGER_INVALID",
            LedgerError::NotPaid(_) => "LEDGER_NOT_PAID",
            LedgerError::LineAlreadyPaid(_) => "LEDGER_LINE_ALREADY_PAID",
            LedgerError::ExceedsHeld { .. } => "LEDGER_EXCEEDS_HELD",
            LedgerError::UnitsExhausted { .. } => "LEDGER_UNITS_EXHAUSTED",
            LedgerError::ReleaseRuleMismatch { .. } => "LEDGER_RELEASE_RULE_MISMATCH",
            LedgerError::NothingToRelease(_) => "LEDGER_NOTHING_TO_RELEASE",
            LedgerError::ReferenceConflict { .. } => "LEDGER_REFERENCE_CONFLICT",
            LedgerError::RefundNotFound(_) => "LEDGER_REFUND_NOT_FOUND",
            LedgerError::RefundSettled(_) => "LEDGER_REFUND_SETTLED",
            LedgerError::RefundCancelled(_) => "LEDGER_REFUND_CANCELLED",
            LedgerError::ExceedsClearing { .. } => "LEDGER_EXCEEDS_CLEARING",
            LedgerError::ExceedsEscrow { .. } => "LEDGER_EXCEEDS_ESCROW",
            LedgerError::ExceedsPayable { .. } => "LEDGER_EXCEEDS_PAYABLE",
            LedgerError::Corrupt(_) => "LEDGER_CORRUPT",
            LedgerError::Database(_) => "LEDGER_DATABASE",
        }
    }
}

impl DomainError for LedgerError {
    fn kind(&self) -> ErrorKind {
        match self {
            LedgerError::AmountInvalid(_) | LedgerError::Invalid(_) => ErrorKind::Unprocessable,
            LedgerError::NotPaid(_) | LedgerError::RefundNotFound(_) => ErrorKind::NotFound,
            LedgerError::Corrupt(_) | LedgerError::Database(_) => ErrorKind::Internal,
            _ => ErrorKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        LedgerError::code(self)
    }

    fn user_message(&self) -> String {
        match self {
            LedgerError::AmountInvalid(_) => "金额无效：须大于零、最多两位小数且不超过上限".into(),
            LedgerError::Invalid(_) => "记账请求无效".into(),
            LedgerError::NotPaid(_) => "该订单明细尚未付款".into(),
            LedgerError::LineAlreadyPaid(_) => "该订单明细已付款，不能重复入账".into(),
            LedgerError::ExceedsHeld {
                requested,
                available,
                ..
            } => format!("金额 {requested} 元超出该明细未结算的存管余额 {available} 元"),
            LedgerError::UnitsExhausted { total, .. } => {
                format!("该明细的 {total} 次课时/天数已全部结算")
            }
            LedgerError::ReleaseRuleMismatch { .. } => {
                "结算规则与该明细此前的规则（按课时或按天、总次数）不一致".into()
            }
            LedgerError::NothingToRelease(_) => "该明细已无可结算的存管余额".into(),
            LedgerError::ReferenceConflict { .. } => {
                "该业务单号已用不同金额记账，重试须与首次请求完全一致".into()
            }
            LedgerError::RefundNotFound(_) => "未找到该退款的预留记录".into(),
            LedgerError::RefundSettled(_) => "该退款已完成，不能再变更".into(),
            LedgerError::RefundCancelled(_) => "该退款已撤销，不能再变更".into(),
            LedgerError::ExceedsClearing {
                requested,
                available,
            } => format!("结算金额 {requested} 元超出微信支付待结算余额 {available} 元"),
            LedgerError::ExceedsEscrow {
                requested,
                available,
            } => format!("金额 {requested} 元超出存管账户余额 {available} 元"),
            LedgerError::ExceedsPayable {
                requested,
                available,
            } => format!("付款金额 {requested} 元超出应付该机构的余额 {available} 元"),
            LedgerError::Corrupt(_) | LedgerError::Database(_) => {
                "服务器内部错误，请稍后重试".into()
            }
        }
    }

    fn details(&self) -> Value {
        match self {
            LedgerError::NotPaid(l) | LedgerError::LineAlreadyPaid(l) => {
                json!({ "line_id": l })
            }
            LedgerError::NothingToRelease(l) => json!({ "line_id": l }),
            LedgerError::ExceedsHeld {
                line_id,
                requested,
                available,
            } => json!({ "line_id": line_id, "requested": requested, "available": available }),
            LedgerError::UnitsExhausted { line_id, total } => {
                json!({ "line_id": line_id, "total": total })
            }
            LedgerError::ExceedsClearing {
                requested,
                available,
            }
            | LedgerError::ExceedsEscrow {
                requested,
                available,
            }
            | LedgerError::ExceedsPayable {
                requested,
                available,
            } => json!({ "requested": requested, "available": available }),
            LedgerError::ReferenceConflict { kind, reference } => {
                json!({ "kind": kind, "reference": reference })
            }
            LedgerError::RefundNotFound(r)
            | LedgerError::RefundSettled(r)
            | LedgerError::RefundCancelled(r) => json!({ "out_refund_no": r }),
            _ => Value::Object(Default::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_errors_have_stable_codes_and_classes() {
        let e = LedgerError::ExceedsHeld {
            line_id: LineId(1),
            requested: Money::from_fen(6000).unwrap(),
            available: Money::from_fen(4000).unwrap(),
        };
        assert_eq!(e.code(), "LEDGER_EXCEEDS_HELD");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.user_message().contains("60.00"));
        assert_eq!(e.details()["available"], "40.00");
        assert_eq!(LedgerError::NotPaid(LineId(1)).code(), "LEDGER_NOT_PAID");
        assert_eq!(
            LedgerError::from(MoneyError::Negative).code(),
            "LEDGER_AMOUNT_INVALID"
        );
        assert_eq!(LedgerError::Corrupt("x".into()).kind(), ErrorKind::Internal);
    }
}
