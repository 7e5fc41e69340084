//! Types of the escrow ledger: ids, account codes, journal kinds, a line's running state and
//! the figures the queries answer. No SQL and no rules here.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Money;

pub use crate::kernel::ids::{JournalId, LineId, OrderId, TenantId};

/// A ledger account. Stored as a text code:
///
/// | code | meaning | normal side |
/// | --- | --- | --- |
/// | `wxpay:clearing` | money WeChat Pay holds for us before it settles to the bank | debit |
/// | `bank:escrow` | the escrow account at the custodian bank | debit |
/// | `held:<tenant_id>` | paid for a line of that tenant, not yet released (entries carry the line) | credit |
/// | `payable:<tenant_id>` | released, owed to that school or agency | credit |
/// | `refund:clearing` | refund reserved from a line, not yet returned (entries carry the line) | credit |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    WxpayClearing,
    BankEscrow,
    Held(TenantId),
    Payable(TenantId),
    RefundClearing,
}

impl Account {
    pub fn code(&self) -> String {
        match self {
            Account::WxpayClearing => "wxpay:clearing".to_owned(),
            Account::BankEscrow => "bank:escrow".to_owned(),
            Account::Held(t) => format!("held:{t}"),
            Account::Payable(t) => format!("payable:{t}"),
            Account::RefundClearing => "refund:clearing".to_owned(),
        }
    }

    pub fn parse(code: &str) -> Option<Account> {
        let tenant = |s: &str| {
            (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok().map(TenantId))
                .flatten()
        };
        match code {
            "wxpay:clearing" => Some(Account::WxpayClearing),
            "bank:escrow" => Some(Account::BankEscrow),
            "refund:clearing" => Some(Account::RefundClearing),
            _ => {
                if let Some(t) = code.strip_prefix("held:") {
                    tenant(t).map(Account::Held)
                } else if let Some(t) = code.strip_prefix("payable:") {
                    tenant(t).map(Account::Payable)
                } else {
                    None
                }
            }
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// What a journal records; with its reference (and line) the key of idempotency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalKind {
    /// A WeChat Pay transaction: reference = `transaction_id`.
    Payment,
    /// A release by amount: reference chosen by the caller.
    Release,
    /// A release per delivered lesson (一课一消): reference = the lesson key.
    ReleaseLesson,
    /// A release per served custody day: reference = the day key.
    ReleaseDay,
    /// A refund reserved from a line: reference = `out_refund_no`.
    RefundReserve,
    /// A reserved refund returned through WeChat Pay: reference = `out_refund_no`.
    RefundSettle,
    /// A reserved refund given up (CLOSED / ABNORMAL): reference = `out_refund_no`.
    RefundCancel,
    /// WeChat Pay's settlement arriving at the escrow account: reference = bank reference.
    BankSettlement,
    /// Money sent from the escrow account back to WeChat Pay to fund refunds.
    BankRefundFunding,
    /// A transfer from the escrow account to a school or agency: reference = bank reference.
    Payout,
}

impl JournalKind {
    pub const ALL: [JournalKind; 10] = [
        JournalKind::Payment,
        JournalKind::Release,
        JournalKind::ReleaseLesson,
        JournalKind::ReleaseDay,
        JournalKind::RefundReserve,
        JournalKind::RefundSettle,
        JournalKind::RefundCancel,
        JournalKind::BankSettlement,
        JournalKind::BankRefundFunding,
        JournalKind::Payout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JournalKind::Payment => "payment",
            JournalKind::Release => "release",
            JournalKind::ReleaseLesson => "release_lesson",
            JournalKind::ReleaseDay => "release_day",
            JournalKind::RefundReserve => "refund_reserve",
            JournalKind::RefundSettle => "refund_settle",
            JournalKind::RefundCancel => "refund_cancel",
            JournalKind::BankSettlement => "bank_settlement",
            JournalKind::BankRefundFunding => "bank_refund_funding",
            JournalKind::Payout => "payout",
        }
    }

    pub fn parse(s: &str) -> Option<JournalKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Releases of every rule (by amount, per lesson, per day).
    pub fn is_release(self) -> bool {
        matches!(
            self,
            JournalKind::Release | JournalKind::ReleaseLesson | JournalKind::ReleaseDay
        )
    }
}

impl fmt::Display for JournalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Debit,
    Credit,
}

/// One entry to post: an amount on one side of one account, with the line it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDraft {
    pub account: Account,
    pub line_id: Option<LineId>,
    pub side: Side,
    pub amount: Money,
}

impl EntryDraft {
    pub fn debit(account: Account, line_id: Option<LineId>, amount: Money) -> Self {
        Self {
            account,
            line_id,
            side: Side::Debit,
            amount,
        }
    }

    pub fn credit(account: Account, line_id: Option<LineId>, amount: Money) -> Self {
        Self {
            account,
            line_id,
            side: Side::Credit,
            amount,
        }
    }
}

/// How a line's money is released over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseUnit {
    /// Agency courses: per delivered lesson (一课一消).
    Lesson,
    /// Custody: per served day.
    Day,
}

impl ReleaseUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseUnit::Lesson => "lesson",
            ReleaseUnit::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<ReleaseUnit> {
        match s {
            "lesson" => Some(ReleaseUnit::Lesson),
            "day" => Some(ReleaseUnit::Day),
            _ => None,
        }
    }

    pub fn journal_kind(self) -> JournalKind {
        match self {
            ReleaseUnit::Lesson => JournalKind::ReleaseLesson,
            ReleaseUnit::Day => JournalKind::ReleaseDay,
        }
    }
}

/// The running balance of one order line (`platform.ledger_lines`).
///
/// Always `paid = released + refund_reserved + refunded + held`, where `held` (the
/// unreleased part, what `held:<tenant>` holds for this line) is derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineState {
    pub line_id: LineId,
    pub tenant_id: TenantId,
    pub order_id: OrderId,
    pub paid: Money,
    pub released: Money,
    pub refund_reserved: Money,
    pub refunded: Money,
    /// The release rule the line follows once a lesson or day has been released.
    pub release_unit: Option<ReleaseUnit>,
    pub units_total: Option<u32>,
    pub units_released: u32,
}

impl LineState {
    /// A freshly paid line.
    pub fn paid(line_id: LineId, tenant_id: TenantId, order_id: OrderId, paid: Money) -> Self {
        Self {
            line_id,
            tenant_id,
            order_id,
            paid,
            released: Money::ZERO,
            refund_reserved: Money::ZERO,
            refunded: Money::ZERO,
            release_unit: None,
            units_total: None,
            units_released: 0,
        }
    }

    /// The unreleased part: paid, not released, not reserved for or taken by a refund.
    /// `None` only if the state is corrupt (more taken out than paid in).
    pub fn checked_held(&self) -> Option<Money> {
        self.paid
            .checked_sub(self.released)?
            .checked_sub(self.refund_reserved)?
            .checked_sub(self.refunded)
    }

    /// As [`LineState::checked_held`], zero for a corrupt state.
    pub fn held(&self) -> Money {
        self.checked_held().unwrap_or(Money::ZERO)
    }
}

/// What a posting did. A retried posting answers the journal of the first one with
/// `replayed: true` and posts nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posting {
    pub journal_id: JournalId,
    pub kind: JournalKind,
    pub reference: String,
    pub amount: Money,
    pub replayed: bool,
}

/// A stored journal with its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Journal {
    pub id: JournalId,
    pub kind: JournalKind,
    pub at: DateTime<Utc>,
    pub order_id: Option<OrderId>,
    pub line_id: Option<LineId>,
    pub tenant_id: Option<TenantId>,
    pub reference: String,
    pub amount: Money,
    pub memo: String,
    pub entries: Vec<Entry>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub account: String,
    pub line_id: Option<LineId>,
    pub debit: Money,
    pub credit: Money,
}

/// Sums of one account's entries. `net_debit` is signed: positive for a debit balance
/// (`wxpay:clearing`, `bank:escrow`), negative for a credit balance (`held:*`, `payable:*`,
/// `refund:clearing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBalance {
    pub account: String,
    pub debits: Money,
    pub credits: Money,
}

impl AccountBalance {
    pub fn net_debit(&self) -> Decimal {
        self.debits.as_decimal() - self.credits.as_decimal()
    }

    /// The debit balance of a debit-normal account, zero if it is in credit.
    pub fn debit_balance(&self) -> Money {
        self.debits.saturating_sub(self.credits)
    }

    /// The credit balance of a credit-normal account, zero if it is in debit.
    pub fn credit_balance(&self) -> Money {
        self.credits.saturating_sub(self.debits)
    }
}

/// A tenant's figures over `[from, to)`, by the journals' `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantStatement {
    pub tenant_id: TenantId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub totals: StatementTotals,
    pub lines: Vec<LineStatement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatementTotals {
    /// Paid by families for this tenant's lines.
    pub paid: Money,
    /// Released to the tenant (every rule).
    pub released: Money,
    /// Refunds reserved from held money.
    pub refunds_reserved: Money,
    /// Reserved refunds returned through WeChat Pay.
    pub refunds_settled: Money,
    /// Reserved refunds given up (the money went back to held).
    pub refunds_cancelled: Money,
    /// Transferred from the escrow account to the tenant.
    pub paid_out: Money,
    /// `held:<tenant>` at `to`.
    pub held_at_end: Money,
    /// `payable:<tenant>` at `to`.
    pub payable_at_end: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineStatement {
    pub line_id: LineId,
    pub order_id: OrderId,
    pub paid: Money,
    pub released: Money,
    pub refunds_reserved: Money,
    pub refunds_settled: Money,
    pub refunds_cancelled: Money,
    pub held_at_end: Money,
}

/// The four stored amounts of a line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LineAmounts {
    pub paid: Money,
    pub released: Money,
    pub refund_reserved: Money,
    pub refunded: Money,
}

/// A line whose running balance (or whose held entries) disagree with its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineDifference {
    pub line_id: LineId,
    /// `None`: entries name a line that has no running balance row.
    pub stored: Option<LineAmounts>,
    pub computed: LineAmounts,
    /// The held entries of the line, `credit - debit` (should be paid − released −
    /// reserved − refunded); signed so a negative one shows.
    pub held_from_entries: Decimal,
    /// Releases per lesson or day counted in journals vs the stored counter.
    pub units_stored: u32,
    pub units_from_journals: u32,
}

/// What [`super::verify_balances`] found. Clean when both lists are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BalanceReport {
    pub lines_checked: u64,
    pub differences: Vec<LineDifference>,
    /// Journals whose entries do not balance or do not add up to the journal's amount
    /// (possible only if someone disabled the triggers).
    pub unbalanced_journals: Vec<JournalId>,
}

impl BalanceReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty() && self.unbalanced_journals.is_empty()
    }
}

/// A journal that moved money on `bank:escrow`, as the bank would see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscrowMovement {
    pub journal_id: JournalId,
    pub kind: JournalKind,
    pub at: DateTime<Utc>,
    pub reference: String,
    /// `Debit` on `bank:escrow` is money coming in (a credit on the bank's statement).
    pub side: Side,
    pub amount: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_codes_round_trip() {
        for a in [
            Account::WxpayClearing,
            Account::BankEscrow,
            Account::Held(TenantId(7)),
            Account::Payable(TenantId(12345)),
            Account::RefundClearing,
        ] {
            assert_eq!(Account::parse(&a.code()), Some(a));
        }
        assert_eq!(Account::Held(TenantId(3)).code(), "held:3");
        for bad in ["held:", "held:x", "payable:-1", "bank", "held:1:2", ""] {
            assert_eq!(Account::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn journal_kinds_round_trip() {
        for k in JournalKind::ALL {
            assert_eq!(JournalKind::parse(k.as_str()), Some(k));
        }
        assert!(JournalKind::ReleaseDay.is_release());
        assert!(!JournalKind::RefundReserve.is_release());
    }
}
