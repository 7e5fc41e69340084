//! The pure core of the escrow ledger: given a line's state (or an account's balance) and an
//! operation, the entries to post and the state after, or the refusal.
//!
//! Owns every rule about amounts: what may be released or refunded (only the unreleased
//! part), how a lesson's or day's share is computed (exact to the fen), which accounts each
//! posting debits and credits. Must never touch the database, the clock or anything else
//! outside its arguments, so the properties in the tests below cover the whole arithmetic.

use super::error::LedgerError;
use super::model::{Account, EntryDraft, LineId, LineState, OrderId, ReleaseUnit, Side, TenantId};
use super::money::Money;

/// Upper bound on lines in one payment (one WeChat Pay transaction).
pub const MAX_LINES_PER_PAYMENT: usize = 200;
/// Upper bound on a journal reference (`transaction_id`, `out_refund_no`, keys).
pub const MAX_REFERENCE_LEN: usize = 128;
/// Upper bound on lessons or days of one line.
pub const MAX_UNITS: u32 = 10_000;

/// What a posting on one line does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub amount: Money,
    pub entries: Vec<EntryDraft>,
    pub after: LineState,
}

/// What a payment posts: the entries and the new lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPlan {
    pub total: Money,
    pub entries: Vec<EntryDraft>,
    pub lines: Vec<LineState>,
}

fn overflow() -> LedgerError {
    LedgerError::AmountInvalid("amount above the limit of totals".into())
}

fn positive(amount: Money) -> Result<(), LedgerError> {
    if amount.is_zero() {
        return Err(LedgerError::AmountInvalid(
            "amount must be above zero".into(),
        ));
    }
    Ok(())
}

fn held_of(state: &LineState) -> Result<Money, LedgerError> {
    state.checked_held().ok_or_else(|| {
        LedgerError::Corrupt(format!(
            "line {} takes out more than was paid",
            state.line_id
        ))
    })
}

fn add(a: Money, b: Money) -> Result<Money, LedgerError> {
    a.checked_add(b).ok_or_else(overflow)
}

/// A reference (transaction id, refund number, lesson or day key, bank reference): 1 to
/// [`MAX_REFERENCE_LEN`] characters, no control characters.
pub fn validate_reference(reference: &str) -> Result<(), LedgerError> {
    let n = reference.chars().count();
    if n == 0 || n > MAX_REFERENCE_LEN || reference.chars().any(char::is_control) {
        return Err(LedgerError::Invalid(format!(
            "reference must be 1 to {MAX_REFERENCE_LEN} printable characters"
        )));
    }
    Ok(())
}

/// A payment: per line, Dr `wxpay:clearing` / Cr `held:<tenant>`, both carrying the line.
pub fn payment(
    tenant_id: TenantId,
    order_id: OrderId,
    lines: &[(LineId, Money)],
) -> Result<PaymentPlan, LedgerError> {
    if lines.is_empty() || lines.len() > MAX_LINES_PER_PAYMENT {
        return Err(LedgerError::Invalid(format!(
            "a payment has 1 to {MAX_LINES_PER_PAYMENT} lines"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut total = Money::ZERO;
    let mut entries = Vec::with_capacity(lines.len() * 2);
    let mut states = Vec::with_capacity(lines.len());
    for &(line_id, amount) in lines {
        if !seen.insert(line_id) {
            return Err(LedgerError::Invalid(format!(
                "line {line_id} appears twice"
            )));
        }
        positive(amount)?;
        if amount > Money::max() {
            return Err(LedgerError::AmountInvalid(format!(
                "line {line_id} is above the single-amount limit"
            )));
        }
        total = add(total, amount)?;
        entries.push(EntryDraft::debit(
            Account::WxpayClearing,
            Some(line_id),
            amount,
        ));
        entries.push(EntryDraft::credit(
            Account::Held(tenant_id),
            Some(line_id),
            amount,
        ));
        states.push(LineState::paid(line_id, tenant_id, order_id, amount));
    }
    Ok(PaymentPlan {
        total,
        entries,
        lines: states,
    })
}

fn exceeds_held(state: &LineState, requested: Money, available: Money) -> LedgerError {
    LedgerError::ExceedsHeld {
        line_id: state.line_id,
        requested,
        available,
    }
}

/// A release by amount: Dr `held:<tenant>` / Cr `payable:<tenant>`, only up to the
/// unreleased part.
pub fn release(state: &LineState, amount: Money) -> Result<Outcome, LedgerError> {
    positive(amount)?;
    let held = held_of(state)?;
    if amount > held {
        return Err(exceeds_held(state, amount, held));
    }
    let mut after = state.clone();
    after.released = add(state.released, amount)?;
    Ok(Outcome {
        amount,
        entries: release_entries(state, amount),
        after,
    })
}

fn release_entries(state: &LineState, amount: Money) -> Vec<EntryDraft> {
    let line = Some(state.line_id);
    vec![
        EntryDraft::debit(Account::Held(state.tenant_id), line, amount),
        EntryDraft::credit(Account::Payable(state.tenant_id), line, amount),
    ]
}

/// The share of unit `index` (1-based) of `total`: `paid / total` rounded down to the fen,
/// and for the last unit whatever remains, so the shares add up to `paid` exactly.
pub fn unit_share(paid: Money, total: u32, index: u32) -> Money {
    if total == 0 || index == 0 || index > total {
        return Money::ZERO;
    }
    let paid_fen = paid.to_fen();
    let share = paid_fen / i64::from(total);
    let fen = if index == total {
        paid_fen - share * i64::from(total - 1)
    } else {
        share
    };
    // 0 <= fen <= paid_fen, so this never fails.
    Money::total_from_fen(fen).unwrap_or(Money::ZERO)
}

/// The release for the next delivered lesson or served day of `total` (一课一消).
///
/// Unit `k` is due [`unit_share`]`(paid, total, k)`. When refunds have taken part of the
/// line, the release is capped at what is still unreleased (never more than held), and a
/// unit with nothing left is refused with `LEDGER_NOTHING_TO_RELEASE`. A line keeps the
/// rule and count of its first unit release; another is refused.
pub fn release_unit(
    state: &LineState,
    unit: ReleaseUnit,
    total: u32,
) -> Result<Outcome, LedgerError> {
    if total == 0 || total > MAX_UNITS {
        return Err(LedgerError::Invalid(format!(
            "a line has 1 to {MAX_UNITS} lessons or days"
        )));
    }
    let mismatch = |existing: String| LedgerError::ReleaseRuleMismatch {
        line_id: state.line_id,
        requested: format!("{} x{total}", unit.as_str()),
        existing,
    };
    if let Some(u) = state.release_unit {
        if u != unit {
            return Err(mismatch(u.as_str().to_owned()));
        }
    }
    if let Some(t) = state.units_total {
        if t != total {
            return Err(mismatch(format!("{} x{t}", unit.as_str())));
        }
    }
    let index = state.units_released + 1;
    if index > total {
        return Err(LedgerError::UnitsExhausted {
            line_id: state.line_id,
            total,
        });
    }
    let held = held_of(state)?;
    let amount = unit_share(state.paid, total, index).min(held);
    if amount.is_zero() {
        return Err(LedgerError::NothingToRelease(state.line_id));
    }
    let mut after = state.clone();
    after.released = add(state.released, amount)?;
    after.release_unit = Some(unit);
    after.units_total = Some(total);
    after.units_released = index;
    Ok(Outcome {
        amount,
        entries: release_entries(state, amount),
        after,
    })
}

/// A refund reserved from a line: Dr `held:<tenant>` / Cr `refund:clearing`, only up to the
/// unreleased part.
pub fn reserve_refund(state: &LineState, amount: Money) -> Result<Outcome, LedgerError> {
    positive(amount)?;
    let held = held_of(state)?;
    if amount > held {
        return Err(exceeds_held(state, amount, held));
    }
    let line = Some(state.line_id);
    let mut after = state.clone();
    after.refund_reserved = add(state.refund_reserved, amount)?;
    Ok(Outcome {
        amount,
        entries: vec![
            EntryDraft::debit(Account::Held(state.tenant_id), line, amount),
            EntryDraft::credit(Account::RefundClearing, line, amount),
        ],
        after,
    })
}

fn take_reserved(state: &LineState, amount: Money) -> Result<Money, LedgerError> {
    positive(amount)?;
    state.refund_reserved.checked_sub(amount).ok_or_else(|| {
        LedgerError::Corrupt(format!(
            "line {} has {} reserved, a refund names {amount}",
            state.line_id, state.refund_reserved
        ))
    })
}

/// A reserved refund returned through WeChat Pay: Dr `refund:clearing` / Cr
/// `wxpay:clearing`. `amount` is what the refund reserved on this line.
pub fn settle_refund(state: &LineState, amount: Money) -> Result<Outcome, LedgerError> {
    let reserved = take_reserved(state, amount)?;
    let line = Some(state.line_id);
    let mut after = state.clone();
    after.refund_reserved = reserved;
    after.refunded = add(state.refunded, amount)?;
    Ok(Outcome {
        amount,
        entries: vec![
            EntryDraft::debit(Account::RefundClearing, line, amount),
            EntryDraft::credit(Account::WxpayClearing, line, amount),
        ],
        after,
    })
}

/// A reserved refund given up (CLOSED / ABNORMAL): Dr `refund:clearing` / Cr
/// `held:<tenant>`; the money is unreleased again.
pub fn cancel_refund(state: &LineState, amount: Money) -> Result<Outcome, LedgerError> {
    let reserved = take_reserved(state, amount)?;
    let line = Some(state.line_id);
    let mut after = state.clone();
    after.refund_reserved = reserved;
    Ok(Outcome {
        amount,
        entries: vec![
            EntryDraft::debit(Account::RefundClearing, line, amount),
            EntryDraft::credit(Account::Held(state.tenant_id), line, amount),
        ],
        after,
    })
}

/// WeChat Pay's settlement arriving at the escrow account: Dr `bank:escrow` / Cr
/// `wxpay:clearing`, at most what WeChat Pay holds for us (`clearing`, the debit balance of
/// `wxpay:clearing`).
pub fn settle_to_bank(amount: Money, clearing: Money) -> Result<Vec<EntryDraft>, LedgerError> {
    positive(amount)?;
    if amount > clearing {
        return Err(LedgerError::ExceedsClearing {
            requested: amount,
            available: clearing,
        });
    }
    Ok(vec![
        EntryDraft::debit(Account::BankEscrow, None, amount),
        EntryDraft::credit(Account::WxpayClearing, None, amount),
    ])
}

/// Money sent from the escrow account back to WeChat Pay to fund refunds of money already
/// settled: Dr `wxpay:clearing` / Cr `bank:escrow`, at most the escrow balance.
pub fn fund_refunds(amount: Money, escrow: Money) -> Result<Vec<EntryDraft>, LedgerError> {
    positive(amount)?;
    if amount > escrow {
        return Err(LedgerError::ExceedsEscrow {
            requested: amount,
            available: escrow,
        });
    }
    Ok(vec![
        EntryDraft::debit(Account::WxpayClearing, None, amount),
        EntryDraft::credit(Account::BankEscrow, None, amount),
    ])
}

/// A transfer to a school or agency: Dr `payable:<tenant>` / Cr `bank:escrow`, at most what
/// was released to it and not yet paid out, and at most the escrow balance.
pub fn payout(
    tenant_id: TenantId,
    amount: Money,
    payable: Money,
    escrow: Money,
) -> Result<Vec<EntryDraft>, LedgerError> {
    positive(amount)?;
    if amount > payable {
        return Err(LedgerError::ExceedsPayable {
            requested: amount,
            available: payable,
        });
    }
    if amount > escrow {
        return Err(LedgerError::ExceedsEscrow {
            requested: amount,
            available: escrow,
        });
    }
    Ok(vec![
        EntryDraft::debit(Account::Payable(tenant_id), None, amount),
        EntryDraft::credit(Account::BankEscrow, None, amount),
    ])
}

/// Sums of the debit and credit sides, `None` above the limit of totals.
pub fn sides(entries: &[EntryDraft]) -> Option<(Money, Money)> {
    let side =
        |s: Side| Money::checked_sum(entries.iter().filter(|e| e.side == s).map(|e| e.amount));
    Some((side(Side::Debit)?, side(Side::Credit)?))
}

/// At least one debit and one credit, every amount above zero, both sides equal.
pub fn is_balanced(entries: &[EntryDraft]) -> bool {
    let has = |s: Side| entries.iter().any(|e| e.side == s);
    has(Side::Debit)
        && has(Side::Credit)
        && entries.iter().all(|e| !e.amount.is_zero())
        && matches!(sides(entries), Some((d, c)) if d == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn line(paid: &str) -> LineState {
        LineState::paid(LineId(1), TenantId(7), OrderId(3), m(paid))
    }

    #[test]
    fn payment_credits_held_per_line_and_balances() {
        let plan = payment(
            TenantId(7),
            OrderId(3),
            &[(LineId(1), m("100.00")), (LineId(2), m("50.50"))],
        )
        .unwrap();
        assert_eq!(plan.total, m("150.50"));
        assert!(is_balanced(&plan.entries));
        assert_eq!(plan.entries.len(), 4);
        assert_eq!(
            plan.entries[1],
            EntryDraft::credit(Account::Held(TenantId(7)), Some(LineId(1)), m("100.00"))
        );
        assert_eq!(plan.lines[1].paid, m("50.50"));
    }

    #[test]
    fn payment_refuses_empty_duplicate_zero_and_absurd_lines() {
        let t = TenantId(1);
        let o = OrderId(1);
        assert_eq!(payment(t, o, &[]).unwrap_err().code(), "LEDGER_INVALID");
        assert_eq!(
            payment(t, o, &[(LineId(1), m("1")), (LineId(1), m("2"))])
                .unwrap_err()
                .code(),
            "LEDGER_INVALID"
        );
        assert_eq!(
            payment(t, o, &[(LineId(1), Money::ZERO)])
                .unwrap_err()
                .code(),
            "LEDGER_AMOUNT_INVALID"
        );
        let big = Money::total_from_fen(Money::MAX_FEN + 1).unwrap();
        assert_eq!(
            payment(t, o, &[(LineId(1), big)]).unwrap_err().code(),
            "LEDGER_AMOUNT_INVALID"
        );
    }

    #[test]
    fn release_moves_held_to_payable_only_up_to_the_unreleased_part() {
        let s = line("100.00");
        let out = release(&s, m("40.00")).unwrap();
        assert!(is_balanced(&out.entries));
        assert_eq!(out.after.released, m("40.00"));
        assert_eq!(out.after.held(), m("60.00"));
        let err = release(&out.after, m("60.01")).unwrap_err();
        assert_eq!(err.code(), "LEDGER_EXCEEDS_HELD");
        assert_eq!(
            release(&s, Money::ZERO).unwrap_err().code(),
            "LEDGER_AMOUNT_INVALID"
        );
    }

    #[test]
    fn three_lessons_of_100_release_33_33_33_33_33_34() {
        let mut s = line("100.00");
        let mut got = vec![];
        for _ in 0..3 {
            let out = release_unit(&s, ReleaseUnit::Lesson, 3).unwrap();
            got.push(out.amount.to_string());
            s = out.after;
        }
        assert_eq!(got, ["33.33", "33.33", "33.34"]);
        assert_eq!(s.released, m("100.00"));
        assert_eq!(
            release_unit(&s, ReleaseUnit::Lesson, 3).unwrap_err().code(),
            "LEDGER_UNITS_EXHAUSTED"
        );
    }

    #[test]
    fn unit_release_keeps_the_first_rule_and_count() {
        let s = release_unit(&line("90.00"), ReleaseUnit::Day, 9)
            .unwrap()
            .after;
        assert_eq!(s.released, m("10.00"));
        for (unit, total) in [(ReleaseUnit::Lesson, 9), (ReleaseUnit::Day, 10)] {
            assert_eq!(
                release_unit(&s, unit, total).unwrap_err().code(),
                "LEDGER_RELEASE_RULE_MISMATCH"
            );
        }
        assert_eq!(
            release_unit(&s, ReleaseUnit::Day, 0).unwrap_err().code(),
            "LEDGER_INVALID"
        );
    }

    #[test]
    fn unit_release_after_a_refund_is_capped_at_what_is_left() {
        // 4 lessons of 25; after the first, 60 is refunded: 15 are left for 3 lessons.
        let s = release_unit(&line("100.00"), ReleaseUnit::Lesson, 4)
            .unwrap()
            .after;
        let s = reserve_refund(&s, m("60.00")).unwrap().after;
        let out = release_unit(&s, ReleaseUnit::Lesson, 4).unwrap();
        assert_eq!(out.amount, m("15.00"));
        assert_eq!(
            release_unit(&out.after, ReleaseUnit::Lesson, 4)
                .unwrap_err()
                .code(),
            "LEDGER_NOTHING_TO_RELEASE"
        );
    }

    #[test]
    fn refunds_reserve_then_settle_or_cancel() {
        let s = release(&line("100.00"), m("30.00")).unwrap().after;
        assert_eq!(
            reserve_refund(&s, m("70.01")).unwrap_err().code(),
            "LEDGER_EXCEEDS_HELD"
        );
        let r = reserve_refund(&s, m("70.00")).unwrap();
        assert!(is_balanced(&r.entries));
        assert_eq!(r.after.held(), Money::ZERO);
        let settled = settle_refund(&r.after, m("70.00")).unwrap();
        assert_eq!(settled.after.refunded, m("70.00"));
        assert_eq!(settled.after.refund_reserved, Money::ZERO);
        let cancelled = cancel_refund(&r.after, m("70.00")).unwrap();
        assert_eq!(cancelled.after.held(), m("70.00"));
        assert_eq!(
            settle_refund(&s, m("1.00")).unwrap_err().code(),
            "LEDGER_CORRUPT"
        );
    }

    #[test]
    fn bank_postings_respect_the_balances_they_draw_on() {
        assert!(is_balanced(&settle_to_bank(m("10"), m("10")).unwrap()));
        assert_eq!(
            settle_to_bank(m("10.01"), m("10")).unwrap_err().code(),
            "LEDGER_EXCEEDS_CLEARING"
        );
        assert_eq!(
            payout(TenantId(1), m("5"), m("4"), m("100"))
                .unwrap_err()
                .code(),
            "LEDGER_EXCEEDS_PAYABLE"
        );
        assert_eq!(
            payout(TenantId(1), m("5"), m("5"), m("4.99"))
                .unwrap_err()
                .code(),
            "LEDGER_EXCEEDS_ESCROW"
        );
        assert!(is_balanced(
            &payout(TenantId(1), m("5"), m("5"), m("5")).unwrap()
        ));
        assert_eq!(
            fund_refunds(m("1"), Money::ZERO).unwrap_err().code(),
            "LEDGER_EXCEEDS_ESCROW"
        );
    }

    #[test]
    fn references_are_bounded_and_printable() {
        assert!(validate_reference("4200001234202610120000000001").is_ok());
        assert!(validate_reference("lesson:2026-10-12:数学").is_ok());
        assert!(validate_reference("").is_err());
        assert!(validate_reference("a\nb").is_err());
        assert!(validate_reference(&"x".repeat(129)).is_err());
    }

    mod properties {
        //! Any sequence of operations, including ones that must be refused, keeps the books
        //! balanced and every line whole.

        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::super::*;

        #[derive(Debug, Clone)]
        enum Amount {
            /// A figure in fen, possibly zero or above every limit.
            Fen(i64),
            /// Per mille of the line's paid amount, up to 120 %: lands on the boundaries.
            OfPaid(u16),
        }

        #[derive(Debug, Clone)]
        enum Op {
            Pay {
                line: u8,
                tenant: u8,
                amount: Amount,
            },
            Release {
                line: u8,
                amount: Amount,
            },
            ReleaseUnit {
                line: u8,
                day: bool,
                total: u8,
            },
            Reserve {
                line: u8,
                refund: u8,
                amount: Amount,
            },
            Settle {
                refund: u8,
            },
            Cancel {
                refund: u8,
            },
            SettleToBank {
                amount: Amount,
            },
            Payout {
                tenant: u8,
                amount: Amount,
            },
        }

        fn amount() -> impl Strategy<Value = Amount> {
            prop_oneof![
                (0i64..=50_000).prop_map(Amount::Fen),
                (0i64..=200_000_000).prop_map(Amount::Fen),
                (0u16..=1200).prop_map(Amount::OfPaid),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => (0u8..6, 0u8..2, amount()).prop_map(|(line, tenant, amount)| Op::Pay { line, tenant, amount }),
                2 => (0u8..6, amount()).prop_map(|(line, amount)| Op::Release { line, amount }),
                2 => (0u8..6, any::<bool>(), 0u8..5).prop_map(|(line, day, total)| Op::ReleaseUnit { line, day, total }),
                3 => (0u8..6, 0u8..8, amount()).prop_map(|(line, refund, amount)| Op::Reserve { line, refund, amount }),
                1 => (0u8..8).prop_map(|refund| Op::Settle { refund }),
                1 => (0u8..8).prop_map(|refund| Op::Cancel { refund }),
                1 => amount().prop_map(|amount| Op::SettleToBank { amount }),
                1 => (0u8..2, amount()).prop_map(|(tenant, amount)| Op::Payout { tenant, amount }),
            ]
        }

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum RefundState {
            Reserved,
            Settled,
            Cancelled,
        }

        /// An in-memory ledger driven only by the rules, as the repository drives them.
        #[derive(Debug, Clone, Default, PartialEq)]
        struct Book {
            lines: BTreeMap<LineId, LineState>,
            refunds: BTreeMap<u8, (LineId, Money, RefundState)>,
            /// Net credit in fen per account and line (`None` for entries without a line).
            nets: BTreeMap<(Account, Option<LineId>), i64>,
            journals: usize,
            paid_in: i64,
            paid_out: i64,
        }

        impl Book {
            fn net_credit(&self, account: Account) -> i64 {
                self.nets
                    .iter()
                    .filter(|((a, _), _)| *a == account)
                    .map(|(_, v)| v)
                    .sum()
            }

            fn line_net(&self, account: Account, line: LineId) -> i64 {
                self.nets.get(&(account, Some(line))).copied().unwrap_or(0)
            }

            fn money(&self, a: &Amount, line: Option<LineId>) -> Option<Money> {
                match a {
                    Amount::Fen(f) => Money::from_fen(*f).ok(),
                    Amount::OfPaid(pm) => {
                        let paid = line
                            .and_then(|l| self.lines.get(&l))
                            .map(|s| s.paid.to_fen())
                            .unwrap_or(10_000);
                        Money::from_fen(paid * i64::from(*pm) / 1000).ok()
                    }
                }
            }

            fn post(&mut self, entries: &[EntryDraft]) {
                assert!(is_balanced(entries), "unbalanced journal {entries:?}");
                for e in entries {
                    let fen = e.amount.to_fen();
                    let v = self.nets.entry((e.account, e.line_id)).or_default();
                    match e.side {
                        Side::Debit => *v -= fen,
                        Side::Credit => *v += fen,
                    }
                }
                self.journals += 1;
            }

            fn on_line(&mut self, out: Outcome) {
                self.post(&out.entries);
                self.lines.insert(out.after.line_id, out.after);
            }

            /// Applies `op`; `false` when it was refused.
            fn apply(&mut self, op: &Op) -> bool {
                let line_of = |l: u8| LineId(i64::from(l));
                match op {
                    Op::Pay {
                        line,
                        tenant,
                        amount,
                    } => {
                        let id = line_of(*line);
                        if self.lines.contains_key(&id) {
                            return false; // LEDGER_LINE_ALREADY_PAID in the service
                        }
                        let Some(a) = self.money(amount, None) else {
                            return false;
                        };
                        match payment(TenantId(i64::from(*tenant)), OrderId(1), &[(id, a)]) {
                            Ok(plan) => {
                                self.post(&plan.entries);
                                self.paid_in += plan.total.to_fen();
                                for s in plan.lines {
                                    self.lines.insert(s.line_id, s);
                                }
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    Op::Release { line, amount } => {
                        let id = line_of(*line);
                        let (Some(s), Some(a)) =
                            (self.lines.get(&id), self.money(amount, Some(id)))
                        else {
                            return false;
                        };
                        match release(s, a) {
                            Ok(out) => {
                                self.on_line(out);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    Op::ReleaseUnit { line, day, total } => {
                        let Some(s) = self.lines.get(&line_of(*line)) else {
                            return false;
                        };
                        let unit = if *day {
                            ReleaseUnit::Day
                        } else {
                            ReleaseUnit::Lesson
                        };
                        match release_unit(s, unit, u32::from(*total)) {
                            Ok(out) => {
                                self.on_line(out);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    Op::Reserve {
                        line,
                        refund,
                        amount,
                    } => {
                        let id = line_of(*line);
                        if self.refunds.contains_key(refund) {
                            return false; // a replay or a conflict in the service
                        }
                        let (Some(s), Some(a)) =
                            (self.lines.get(&id), self.money(amount, Some(id)))
                        else {
                            return false;
                        };
                        match reserve_refund(s, a) {
                            Ok(out) => {
                                self.refunds
                                    .insert(*refund, (id, out.amount, RefundState::Reserved));
                                self.on_line(out);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    Op::Settle { refund } | Op::Cancel { refund } => {
                        let Some(&(id, a, RefundState::Reserved)) = self.refunds.get(refund) else {
                            return false;
                        };
                        let Some(s) = self.lines.get(&id) else {
                            return false;
                        };
                        let settle = matches!(op, Op::Settle { .. });
                        let res = if settle {
                            settle_refund(s, a)
                        } else {
                            cancel_refund(s, a)
                        };
                        match res {
                            Ok(out) => {
                                let st = if settle {
                                    RefundState::Settled
                                } else {
                                    RefundState::Cancelled
                                };
                                self.refunds.insert(*refund, (id, a, st));
                                self.on_line(out);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    Op::SettleToBank { amount } => {
                        let Some(a) = self.money(amount, None) else {
                            return false;
                        };
                        let clearing = Money::total_from_fen(
                            (-self.net_credit(Account::WxpayClearing)).max(0),
                        );
                        let Ok(clearing) = clearing else { return false };
                        match settle_to_bank(a, clearing) {
                            Ok(e) => {
                                self.post(&e);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    Op::Payout { tenant, amount } => {
                        let t = TenantId(i64::from(*tenant));
                        let Some(a) = self.money(amount, None) else {
                            return false;
                        };
                        let payable =
                            Money::total_from_fen(self.net_credit(Account::Payable(t)).max(0));
                        let escrow =
                            Money::total_from_fen((-self.net_credit(Account::BankEscrow)).max(0));
                        let (Ok(payable), Ok(escrow)) = (payable, escrow) else {
                            return false;
                        };
                        match payout(t, a, payable, escrow) {
                            Ok(e) => {
                                self.post(&e);
                                self.paid_out += a.to_fen();
                                true
                            }
                            Err(_) => false,
                        }
                    }
                }
            }

            fn check(&self) {
                let (mut released, mut reserved, mut refunded, mut held) = (0i64, 0i64, 0i64, 0i64);
                for (id, s) in &self.lines {
                    let h = s.checked_held().expect("held never negative");
                    assert_eq!(
                        s.paid.to_fen(),
                        s.released.to_fen()
                            + s.refund_reserved.to_fen()
                            + s.refunded.to_fen()
                            + h.to_fen(),
                        "line {id}: paid = released + reserved + refunded + held"
                    );
                    assert_eq!(
                        self.line_net(Account::Held(s.tenant_id), *id),
                        h.to_fen(),
                        "held entries of {id}"
                    );
                    assert_eq!(
                        self.line_net(Account::RefundClearing, *id),
                        s.refund_reserved.to_fen()
                    );
                    assert_eq!(
                        self.line_net(Account::Payable(s.tenant_id), *id),
                        s.released.to_fen()
                    );
                    if let Some(total) = s.units_total {
                        assert!(s.units_released <= total);
                    }
                    released += s.released.to_fen();
                    reserved += s.refund_reserved.to_fen();
                    refunded += s.refunded.to_fen();
                    held += h.to_fen();
                }
                // Money paid in is released, refunded, or still held (or reserved).
                assert_eq!(self.paid_in, released + refunded + held + reserved);
                let payable: i64 = (0..2)
                    .map(|t| self.net_credit(Account::Payable(TenantId(t))))
                    .sum();
                assert_eq!(payable, released - self.paid_out);
                assert!(payable >= 0);
                let held_accounts: i64 = (0..2)
                    .map(|t| self.net_credit(Account::Held(TenantId(t))))
                    .sum();
                assert_eq!(held_accounts, held);
                assert_eq!(self.net_credit(Account::RefundClearing), reserved);
                assert!(
                    self.net_credit(Account::BankEscrow) <= 0,
                    "escrow never overdrawn"
                );
                // Double entry: all accounts together are always zero.
                assert_eq!(self.nets.values().sum::<i64>(), 0);
            }
        }

        /// The property is not vacuous: over generated sequences every kind of operation
        /// is both applied and refused.
        #[test]
        fn generated_sequences_exercise_every_operation_both_ways() {
            use proptest::strategy::ValueTree;
            use proptest::test_runner::TestRunner;
            let mut runner = TestRunner::deterministic();
            let mut seen: BTreeMap<(String, bool), usize> = BTreeMap::new();
            for _ in 0..300 {
                let ops = proptest::collection::vec(op(), 1..80)
                    .new_tree(&mut runner)
                    .unwrap()
                    .current();
                let mut book = Book::default();
                for op in &ops {
                    let name = format!("{op:?}");
                    let name = name.split([' ', '{']).next().unwrap_or("").to_owned();
                    *seen.entry((name, book.apply(op))).or_default() += 1;
                }
            }
            for name in [
                "Pay",
                "Release",
                "ReleaseUnit",
                "Reserve",
                "Settle",
                "Cancel",
                "SettleToBank",
                "Payout",
            ] {
                for applied in [true, false] {
                    assert!(
                        seen.get(&(name.to_owned(), applied)).copied().unwrap_or(0) > 0,
                        "{name} applied={applied} never happened: {seen:?}"
                    );
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            #[test]
            fn any_sequence_keeps_the_books_balanced_and_lines_whole(ops in proptest::collection::vec(op(), 1..80)) {
                let mut book = Book::default();
                for op in &ops {
                    let before = book.clone();
                    let applied = book.apply(op);
                    if !applied {
                        prop_assert_eq!(&book, &before, "a refused operation changed nothing");
                    }
                    book.check();
                }
            }

            #[test]
            fn unit_shares_add_up_to_paid_exactly(paid in 1i64..=Money::MAX_FEN, total in 1u32..=400) {
                let paid = Money::from_fen(paid).unwrap();
                let shares: Vec<Money> = (1..=total).map(|i| unit_share(paid, total, i)).collect();
                prop_assert_eq!(Money::checked_sum(shares.iter().copied()), Some(paid));
                // All but the last are equal, and the last carries less than `total` fen extra.
                let first = shares[0];
                prop_assert!(shares[..shares.len() - 1].iter().all(|s| *s == first));
                let extra = shares[shares.len() - 1].to_fen() - first.to_fen();
                prop_assert!((0..i64::from(total)).contains(&extra));
            }

            #[test]
            fn money_parse_display_round_trips(fen in 0i64..=Money::MAX_FEN) {
                let m = Money::from_fen(fen).unwrap();
                prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
                prop_assert_eq!(m.to_fen(), fen);
            }
        }
    }
}
