//! The refusals and failures of payments: one variant per kind of refusal, each with a
//! stable code, an HTTP class, a Chinese message and the details a client reads
//! ([`PaymentsError`]); and why a confirmed payment or a refund callback could not be
//! processed ([`SettleError`], which the callback receiver answers WeChat with).
//!
//! The codes, statuses, messages and details are the API's contract: never rename one. Must
//! never put internals (SQL, WeChat's answers, key material) in a user message; a failure
//! of ours answers a bare 500 and is logged with its cause.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::report::MAX_DAYS;
use crate::audit::AuditError;
use crate::bank::BankError;
use crate::enrollment::error::EnrollmentError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::kernel::ids::{EnrollmentId, LineId, OrderId};
use crate::ledger::{LedgerError, MoneyError};
use crate::tabular::TabularError;
use crate::wechatpay::WechatPayError;

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    // --- an order asked for -------------------------------------------------------------
    #[error("idempotency key is not 8..64 characters of [0-9A-Za-z_-]")]
    IdempotencyKeyInvalid,
    #[error("an order takes 1..{max} distinct enrollments")]
    OrderLinesInvalid { max: usize },
    #[error("idempotency key already used for order {order_id} with other figures")]
    IdempotencyKeyReused { order_id: OrderId },
    #[error("meal order {id} is not one of the caller's children's")]
    MealOrderNotFound { id: i64 },
    #[error("meal order {id} is {status}, not held")]
    MealNotHeld {
        id: i64,
        name: String,
        status: &'static str,
    },
    #[error("meal order {id}: its hold ran out")]
    MealHoldExpired { id: i64, name: String },
    #[error("enrollment {id} is not one of the caller's children's")]
    EnrollmentNotFound { id: EnrollmentId },
    #[error("enrollment {id} ({status}): its hold ran out")]
    HoldExpired {
        id: EnrollmentId,
        course: String,
        status: String,
    },
    #[error("enrollment {id} is {status}, not held")]
    EnrollmentNotHeld {
        id: EnrollmentId,
        course: String,
        status: String,
    },
    #[error("enrollment {id} costs nothing")]
    NothingToPay { id: EnrollmentId, course: String },
    /// Two requests with one key at once: the loser meets the winner's row.
    #[error("an order with this idempotency key is being created")]
    OrderBeingCreated,
    /// Two orders for one enrollment at once: the loser meets the winner's live line.
    #[error("an enrollment of the order has a live order line already")]
    EnrollmentsTaken,
    #[error("the enrollments are in open order {order_id} of another kind or payer")]
    OrderExists { order_id: OrderId },
    #[error("order status filter {0:?} unknown")]
    OrderStatusInvalid(String),

    // --- paying, resuming, cancelling ---------------------------------------------------
    #[error("order {order_id}: the payer's openid is needed for a JSAPI payment")]
    OpenidRequired { order_id: OrderId },
    /// A prepay (or refund) call WeChat did not answer as it should; the order stays as it
    /// was, so the same request again retries. Always answered as "unavailable", whatever
    /// WeChat said: the parent can only try again.
    #[error("WeChat Pay call failed: {0}")]
    WechatPay(#[from] WechatPayError),
    /// No such order, or not the caller's: the same answer, so ids do not leak.
    #[error("order {order_id} not found for the caller")]
    OrderNotFound { order_id: OrderId },
    #[error("order {order_id} is paid already")]
    OrderAlreadyPaid { order_id: OrderId },
    #[error("order {order_id} is closed")]
    OrderClosed { order_id: OrderId },
    #[error("order {order_id}: the hold ran out")]
    OrderHoldExpired { order_id: OrderId },
    #[error("order {order_id} was paid before it could be cancelled")]
    PaidBeforeCancel { order_id: OrderId },
    #[error("order {order_id} was paid before it could be replaced")]
    PaidBeforeReplace { order_id: OrderId },
    /// WeChat could not be asked to close the order (the cause is logged where it failed).
    #[error("order {order_id} could not be closed at WeChat")]
    CloseUnavailable { order_id: OrderId },

    // --- refunds ------------------------------------------------------------------------
    #[error("refund reason must be 1..80 characters")]
    RefundReasonInvalid,
    #[error("order line {line_id} not found in this tenant")]
    OrderLineNotFound { line_id: LineId },
    #[error("refund amount invalid: {0}")]
    RefundAmountInvalid(#[source] MoneyError),
    #[error("order line {line_id} has nothing left to refund")]
    RefundNothingLeft { line_id: LineId },
    /// A refusal of the escrow ledger, answered as the ledger answers it.
    #[error(transparent)]
    Ledger(#[from] LedgerError),

    // --- day close and statement --------------------------------------------------------
    #[error("day {date} is not over")]
    DayNotOver { date: NaiveDate },
    #[error("statement period {from}..{to} is reversed or too long")]
    ReportPeriodInvalid { from: NaiveDate, to: NaiveDate },
    #[error("statement date in {field} is not YYYY-MM-DD")]
    ReportDateInvalid { field: String },

    // --- WeChat OAuth -------------------------------------------------------------------
    #[error("OAuth redirect is not a page of {expected_origin}")]
    OAuthRedirectInvalid { expected_origin: String },
    #[error("OAuth state is not this session's")]
    OAuthStateMismatch,
    #[error("WeChat OAuth unreachable: {0}")]
    OAuthUnavailable(#[source] reqwest::Error),
    #[error("WeChat OAuth refused the code: {errcode:?} {errmsg:?}")]
    OAuthCodeInvalid {
        errcode: Option<i64>,
        errmsg: Option<String>,
    },
    #[error("WeChat OAuth came back without code or state")]
    OAuthCodeMissing,

    // --- our failures (a logged 500) ----------------------------------------------------
    #[error("WeChat OAuth answer unreadable: {0}")]
    OAuthAnswerUnreadable(#[source] reqwest::Error),
    #[error("WeChat OAuth address invalid: {0}")]
    OAuthUrl(#[from] url::ParseError),
    /// The bank simulator or reconciliation failed during a day close.
    #[error("bank: {0}")]
    Bank(#[from] BankError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("statement file: {0}")]
    File(#[from] TabularError),
    #[error("stored amount is not a valid sum of money: {0}")]
    StoredAmount(#[source] MoneyError),
    #[error("date {0} out of range")]
    DateOutOfRange(NaiveDate),
    /// A row this step just wrote or locked is gone.
    #[error("{0} vanished")]
    Vanished(String),
    #[error("tenant {0} not found")]
    TenantUnknown(i64),
    /// A callback for an order we have not committed yet (or never made): WeChat retries.
    #[error("order {0} not found (yet)")]
    TradeNotYetKnown(String),
    /// A callback for a refund we have not committed yet (or never made): WeChat retries.
    #[error("refund {0} not found (yet)")]
    RefundNotYetKnown(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Another feature's refusal (enrollment's calendars and refund rules), answered
    /// exactly as its owner words it.
    #[error(transparent)]
    Upstream(Refusal),
}

/// The answer to a failure of ours; the cause is logged by the conversion into `ApiError`.
const INTERNAL: &str = "INTERNAL";
const INTERNAL_MESSAGE: &str = "服务器内部错误，请稍后重试";

impl DomainError for PaymentsError {
    fn kind(&self) -> ErrorKind {
        use PaymentsError::*;
        match self {
            IdempotencyKeyInvalid
            | OrderLinesInvalid { .. }
            | NothingToPay { .. }
            | OrderStatusInvalid(_)
            | RefundReasonInvalid
            | RefundAmountInvalid(_)
            | DayNotOver { .. }
            | ReportPeriodInvalid { .. }
            | ReportDateInvalid { .. }
            | OAuthRedirectInvalid { .. }
            | OAuthCodeInvalid { .. } => ErrorKind::Unprocessable,
            IdempotencyKeyReused { .. }
            | HoldExpired { .. }
            | EnrollmentNotHeld { .. }
            | MealNotHeld { .. }
            | MealHoldExpired { .. }
            | OrderBeingCreated
            | EnrollmentsTaken
            | OrderExists { .. }
            | OpenidRequired { .. }
            | OrderAlreadyPaid { .. }
            | OrderClosed { .. }
            | OrderHoldExpired { .. }
            | PaidBeforeCancel { .. }
            | PaidBeforeReplace { .. }
            | RefundNothingLeft { .. } => ErrorKind::Conflict,
            EnrollmentNotFound { .. }
            | MealOrderNotFound { .. }
            | OrderNotFound { .. }
            | OrderLineNotFound { .. } => ErrorKind::NotFound,
            WechatPay(_) | CloseUnavailable { .. } | OAuthUnavailable(_) => ErrorKind::Unavailable,
            OAuthStateMismatch => ErrorKind::Forbidden,
            OAuthCodeMissing => ErrorKind::BadRequest,
            Ledger(e) => e.kind(),
            Audit(e) => e.kind(),
            Db(e) => e.kind(),
            Upstream(e) => e.kind(),
            // Every other variant is a failure of ours.
            _ => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        use PaymentsError::*;
        match self {
            IdempotencyKeyInvalid => "IDEMPOTENCY_KEY_INVALID",
            OrderLinesInvalid { .. } => "ORDER_LINES_INVALID",
            IdempotencyKeyReused { .. } => "IDEMPOTENCY_KEY_REUSED",
            EnrollmentNotFound { .. } => "ENROLLMENT_NOT_FOUND",
            MealOrderNotFound { .. } => "MEAL_ORDER_NOT_FOUND",
            MealNotHeld { .. } => "MEAL_ORDER_NOT_HELD",
            HoldExpired { .. } | OrderHoldExpired { .. } | MealHoldExpired { .. } => "HOLD_EXPIRED",
            EnrollmentNotHeld { .. } => "ENROLLMENT_NOT_HELD",
            NothingToPay { .. } => "ORDER_NOTHING_TO_PAY",
            OrderBeingCreated | EnrollmentsTaken | OrderExists { .. } => "PAYMENT_ORDER_EXISTS",
            OrderStatusInvalid(_) => "ORDER_STATUS_INVALID",
            OpenidRequired { .. } => "WX_OPENID_REQUIRED",
            WechatPay(_) | CloseUnavailable { .. } => "WXPAY_UNAVAILABLE",
            OrderNotFound { .. } => "ORDER_NOT_FOUND",
            OrderAlreadyPaid { .. } | PaidBeforeCancel { .. } | PaidBeforeReplace { .. } => {
                "ORDER_ALREADY_PAID"
            }
            OrderClosed { .. } => "ORDER_CLOSED",
            RefundReasonInvalid => "REFUND_REASON_INVALID",
            OrderLineNotFound { .. } => "ORDER_LINE_NOT_FOUND",
            RefundAmountInvalid(_) => "REFUND_AMOUNT_INVALID",
            RefundNothingLeft { .. } => "REFUND_NOTHING_LEFT",
            Ledger(e) => DomainError::code(e),
            DayNotOver { .. } => "DAY_NOT_OVER",
            ReportPeriodInvalid { .. } | ReportDateInvalid { .. } => "REPORT_PERIOD_INVALID",
            OAuthRedirectInvalid { .. } => "OAUTH_REDIRECT_INVALID",
            OAuthStateMismatch => "OAUTH_STATE_MISMATCH",
            OAuthUnavailable(_) => "WX_OAUTH_UNAVAILABLE",
            OAuthCodeInvalid { .. } => "WX_OAUTH_CODE_INVALID",
            OAuthCodeMissing => "OAUTH_CODE_MISSING",
            Audit(e) => DomainError::code(e),
            Db(e) => e.code(),
            Upstream(e) => e.code(),
            _ => INTERNAL,
        }
    }

    fn user_message(&self) -> String {
        use PaymentsError::*;
        match self {
            IdempotencyKeyInvalid => "幂等键须为 8 至 64 位字母、数字、下划线或连字符".into(),
            OrderLinesInvalid { max } => format!("请选择 1 至 {max} 个不重复的报名一起支付"),
            IdempotencyKeyReused { .. } => {
                "该幂等键已用于另一笔订单，请为新的支付生成新的键".into()
            }
            EnrollmentNotFound { .. } => "找不到该报名记录".into(),
            MealOrderNotFound { .. } => "找不到该订餐记录".into(),
            MealNotHeld { name, status, .. } => format!("“{name}”当前为“{status}”，不能支付"),
            MealHoldExpired { name, .. } => format!("“{name}”的保留时间已过，请重新订餐"),
            HoldExpired { course, .. } => format!("“{course}”的名额保留已超时，请重新报名"),
            EnrollmentNotHeld { course, .. } => format!("“{course}”不在待支付状态"),
            NothingToPay { course, .. } => format!("“{course}”无需付费"),
            OrderBeingCreated => "订单正在创建中，请稍候刷新".into(),
            EnrollmentsTaken => "所选报名已有待支付或已支付的订单".into(),
            OrderExists { .. } => {
                "所选报名中有的已在另一笔订单中，请在“报名与缴费记录”中继续支付或取消该订单".into()
            }
            OrderStatusInvalid(_) => "订单状态须为 created、paid 或 closed".into(),
            OpenidRequired { .. } => "请先在微信中授权（静默授权，不获取昵称头像）后再支付".into(),
            WechatPay(_) => "微信支付暂时不可用，请稍后重试（订单已保留，重试不会重复扣款）".into(),
            CloseUnavailable { .. } => {
                "微信支付暂时不可用，请稍后重试（订单未变，重试不会重复扣款）".into()
            }
            OrderNotFound { .. } => "找不到该订单".into(),
            OrderAlreadyPaid { .. } => "该订单已支付，无需再次支付".into(),
            OrderClosed { .. } => "该订单已关闭；名额仍在保留期内的，可在首页重新支付".into(),
            OrderHoldExpired { .. } => "名额保留已超时，订单即将关闭，请重新报名".into(),
            PaidBeforeCancel { .. } => "该订单已支付成功，不能取消；如需退课请提交退课申请".into(),
            PaidBeforeReplace { .. } => "这些报名已支付成功，无需再次支付".into(),
            RefundReasonInvalid => "退款原因须为 1 至 80 个字".into(),
            OrderLineNotFound { .. } => "找不到该订单明细".into(),
            RefundAmountInvalid(_) => "退款金额须为大于 0 的金额，最多两位小数".into(),
            RefundNothingLeft { .. } => "该项已无可退金额（已结算或已退款）".into(),
            Ledger(e) => e.user_message(),
            DayNotOver { .. } => "只能对已结束的日期做日终处理".into(),
            ReportPeriodInvalid { .. } => {
                format!("统计期间须为开始日期不晚于结束日期、最长 {MAX_DAYS} 天")
            }
            ReportDateInvalid { .. } => "日期格式应为 YYYY-MM-DD，如 2026-10-01".into(),
            OAuthRedirectInvalid { .. } => "回跳地址须为本平台的页面地址".into(),
            OAuthStateMismatch => "授权已失效，请重新进入支付页面".into(),
            OAuthUnavailable(_) => "微信授权服务暂不可用，请稍后重试".into(),
            OAuthCodeInvalid { .. } => "微信授权码无效或已过期，请重新授权".into(),
            OAuthCodeMissing => "微信授权未完成，请返回重新支付".into(),
            Audit(e) => e.user_message(),
            Db(e) => e.user_message(),
            Upstream(e) => e.user_message(),
            _ => INTERNAL_MESSAGE.into(),
        }
    }

    fn details(&self) -> Value {
        use PaymentsError::*;
        match self {
            IdempotencyKeyInvalid => json!({ "field": "idempotency_key" }),
            OrderLinesInvalid { .. } => json!({ "field": "enrollment_ids" }),
            IdempotencyKeyReused { order_id }
            | OrderExists { order_id }
            | OrderNotFound { order_id }
            | OrderHoldExpired { order_id }
            | PaidBeforeCancel { order_id }
            | PaidBeforeReplace { order_id } => json!({ "order_id": order_id }),
            EnrollmentNotFound { id } | NothingToPay { id, .. } => json!({ "id": id }),
            HoldExpired { id, status, .. } | EnrollmentNotHeld { id, status, .. } => {
                json!({ "id": id, "status": status })
            }
            OrderStatusInvalid(_) => json!({ "field": "status" }),
            OpenidRequired { order_id } => {
                json!({ "order_id": order_id, "oauth_url": super::OAUTH_START_PATH })
            }
            OrderAlreadyPaid { order_id } => json!({ "order_id": order_id, "status": "paid" }),
            OrderClosed { order_id } => json!({ "order_id": order_id, "status": "closed" }),
            RefundReasonInvalid => json!({ "field": "reason" }),
            OrderLineNotFound { line_id } | RefundNothingLeft { line_id } => {
                json!({ "line_id": line_id })
            }
            RefundAmountInvalid(e) => json!({ "field": "amount", "reason": e.to_string() }),
            Ledger(e) => e.details(),
            DayNotOver { date } => json!({ "date": date }),
            ReportPeriodInvalid { from, to } => json!({ "from": from, "to": to }),
            ReportDateInvalid { field } => json!({ "field": field }),
            OAuthRedirectInvalid { expected_origin } => {
                json!({ "field": "redirect_uri", "expected_origin": expected_origin })
            }
            OAuthUnavailable(e) => json!({ "reason": e.to_string() }),
            OAuthCodeInvalid { errcode, errmsg } => json!({ "errcode": errcode, "errmsg": errmsg }),
            Audit(e) => e.details(),
            Db(e) => e.details(),
            Upstream(e) => e.details(),
            _ => json!({}),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            PaymentsError::Upstream(e) => e.retry_after(),
            _ => None,
        }
    }
}

crate::refusals_into!(PaymentsError::Upstream: EnrollmentError, crate::meals::error::MealError);

/// Why a payment WeChat confirmed (or a refund callback) was not processed.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// Not processed now, nothing kept: the callback answers an error and WeChat delivers
    /// it again (our order row may not have committed yet, or the database failed).
    #[error("not processed now, WeChat delivers again: {0}")]
    Retry(#[from] PaymentsError),
    /// Not ours or not a payment (`WXPAY_NOT_PAID`, `WXPAY_AMOUNT_MISMATCH`): refused,
    /// audited, and nothing changed.
    #[error("rejected ({code}): {reason}")]
    Rejected { code: &'static str, reason: String },
}

impl From<sqlx::Error> for SettleError {
    fn from(e: sqlx::Error) -> Self {
        SettleError::Retry(PaymentsError::Db(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_codes_classes_and_details() {
        let e = PaymentsError::OpenidRequired {
            order_id: OrderId(7),
        };
        assert_eq!(e.code(), "WX_OPENID_REQUIRED");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.details()["order_id"], 7);
        assert_eq!(e.details()["oauth_url"], super::super::OAUTH_START_PATH);
        let e = PaymentsError::OrderClosed {
            order_id: OrderId(3),
        };
        assert_eq!(e.details()["status"], "closed");
        assert_eq!(
            PaymentsError::OrderLinesInvalid { max: 10 }.user_message(),
            "请选择 1 至 10 个不重复的报名一起支付"
        );
        assert_eq!(
            PaymentsError::Vanished("order 1".into()).kind(),
            ErrorKind::Internal
        );
    }

    #[test]
    fn an_upstream_refusal_answers_as_it_came() {
        let e = PaymentsError::from(EnrollmentError::TextTooLong { field: "原因" });
        assert_eq!(e.kind(), ErrorKind::Unprocessable);
        assert_eq!(e.code(), "INVALID_FIELDS");
        assert!(e.user_message().starts_with("原因不能超过"));
        assert_eq!(e.details()["fields"][0]["field"], "原因");
        let back = crate::error::ApiError::from(e);
        assert_eq!(back.body().code, "INVALID_FIELDS");
        assert!(matches!(back, crate::error::ApiError::Unprocessable(_)));
    }
}
