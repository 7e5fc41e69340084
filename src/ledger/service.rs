//! Postings and queries of the escrow ledger: each posting is one journal, validated by
//! `rules` before anything is written, stored by `repo`, atomic and idempotent.
//!
//! Every function takes `&mut PgConnection` and works inside `conn.begin()`: a transaction
//! of its own on a bare connection, a savepoint inside the caller's transaction. A refused
//! posting therefore changes nothing and leaves the caller's transaction usable, and the
//! deferred balance check runs when the outermost transaction commits. Callers run at READ
//! COMMITTED (PostgreSQL's default): a retry racing the first attempt waits for it and then
//! reads its journal.
//!
//! Concurrency: every posting on a line locks the line's running balance (`for update`)
//! before it reads it, so postings on one line serialise; postings that draw on an account
//! balance (settlement, payout, refund funding) or close a refund take an advisory lock on
//! the account or the refund number. Never read a balance to decide a posting without the
//! lock that guards it.

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection};

use super::error::LedgerError;
use super::model::{
    Account, AccountBalance, BalanceReport, EntryDraft, EscrowMovement, Journal, JournalId,
    JournalKind, LineId, LineState, LineStatement, OrderId, Posting, ReleaseUnit, StatementTotals,
    TenantId, TenantStatement,
};
use super::money::Money;
use super::repo::{self, JournalHead, NewJournal};
use super::rules::{self, Outcome};

/// What identifies and describes a journal about to be written.
struct Meta<'a> {
    kind: JournalKind,
    reference: &'a str,
    at: DateTime<Utc>,
    memo: &'a str,
}

fn replay(j: JournalHead) -> Posting {
    Posting {
        journal_id: j.id,
        kind: j.kind,
        reference: j.reference,
        amount: j.amount,
        replayed: true,
    }
}

fn conflict(kind: JournalKind, reference: &str) -> LedgerError {
    LedgerError::ReferenceConflict {
        kind,
        reference: reference.to_owned(),
    }
}

fn taken_under_lock(kind: JournalKind, reference: &str) -> LedgerError {
    LedgerError::Corrupt(format!(
        "journal key {kind} {reference} appeared while its lock was held"
    ))
}

/// Records a WeChat Pay transaction: per line Dr `wxpay:clearing` / Cr `held:<tenant>`, and
/// creates the lines' running balances.
///
/// Idempotent on `transaction_id`: a retry with the same lines answers the first journal
/// (`replayed`) and posts nothing; one with other lines or amounts is refused with
/// `LEDGER_REFERENCE_CONFLICT`. A line already paid by another transaction is refused with
/// `LEDGER_LINE_ALREADY_PAID`.
pub async fn record_payment(
    conn: &mut PgConnection,
    order_id: OrderId,
    tenant_id: TenantId,
    transaction_id: &str,
    at: DateTime<Utc>,
    lines: &[(LineId, Money)],
) -> Result<Posting, LedgerError> {
    rules::validate_reference(transaction_id)?;
    let plan = rules::payment(tenant_id, order_id, lines)?;
    let kind = JournalKind::Payment;
    let mut tx = conn.begin().await?;

    let same_payment = |tx_lines: Vec<(LineId, Money)>, j: &JournalHead| {
        let mut wanted: Vec<(LineId, Money)> =
            plan.lines.iter().map(|l| (l.line_id, l.paid)).collect();
        wanted.sort();
        j.order_id == Some(order_id) && j.tenant_id == Some(tenant_id) && tx_lines == wanted
    };

    if let Some(j) = repo::find_journal(&mut tx, kind, transaction_id, None).await? {
        let posted = repo::payment_lines(&mut tx, j.id).await?;
        return if same_payment(posted, &j) {
            Ok(replay(j))
        } else {
            Err(conflict(kind, transaction_id))
        };
    }
    let ids: Vec<LineId> = plan.lines.iter().map(|l| l.line_id).collect();
    if let Some(&paid) = repo::existing_lines(&mut tx, &ids).await?.first() {
        return Err(LedgerError::LineAlreadyPaid(paid));
    }
    let journal = NewJournal {
        kind,
        at,
        order_id: Some(order_id),
        line_id: None,
        tenant_id: Some(tenant_id),
        reference: transaction_id,
        amount: plan.total,
        memo: "微信支付入账",
    };
    let Some(id) = repo::insert_journal(&mut tx, &journal).await? else {
        // A concurrent attempt with the same transaction id committed first.
        let j = repo::find_journal(&mut tx, kind, transaction_id, None)
            .await?
            .ok_or_else(|| taken_under_lock(kind, transaction_id))?;
        let posted = repo::payment_lines(&mut tx, j.id).await?;
        return if same_payment(posted, &j) {
            Ok(replay(j))
        } else {
            Err(conflict(kind, transaction_id))
        };
    };
    if repo::insert_lines(&mut tx, &plan.lines, at).await? != plan.lines.len() {
        // Another transaction paid one of the lines meanwhile; dropping `tx` undoes ours.
        let paid = repo::existing_lines(&mut tx, &ids).await?;
        let first = paid.first().or(ids.first()).copied().unwrap_or(LineId(0));
        return Err(LedgerError::LineAlreadyPaid(first));
    }
    repo::insert_entries(&mut tx, id, &plan.entries).await?;
    tx.commit().await?;
    Ok(Posting {
        journal_id: id,
        kind,
        reference: transaction_id.to_owned(),
        amount: plan.total,
        replayed: false,
    })
}

/// Writes a posting on one locked line.
async fn write_line_posting(
    tx: &mut PgConnection,
    state: &LineState,
    meta: &Meta<'_>,
    out: Outcome,
) -> Result<Posting, LedgerError> {
    let Meta {
        kind,
        reference,
        at,
        memo,
    } = *meta;
    let journal = NewJournal {
        kind,
        at,
        order_id: Some(state.order_id),
        line_id: Some(state.line_id),
        tenant_id: Some(state.tenant_id),
        reference,
        amount: out.amount,
        memo,
    };
    let id = repo::insert_journal(tx, &journal)
        .await?
        .ok_or_else(|| taken_under_lock(kind, reference))?;
    repo::insert_entries(tx, id, &out.entries).await?;
    repo::update_line(tx, &out.after, at).await?;
    Ok(Posting {
        journal_id: id,
        kind,
        reference: reference.to_owned(),
        amount: out.amount,
        replayed: false,
    })
}

/// A posting on one line keyed by (kind, reference, line): lock the line, answer an earlier
/// journal with the same key, else apply `rule` and write.
async fn post_on_line(
    conn: &mut PgConnection,
    line_id: LineId,
    meta: Meta<'_>,
    expected_amount: Option<Money>,
    rule: impl FnOnce(&LineState) -> Result<Outcome, LedgerError>,
) -> Result<Posting, LedgerError> {
    let (kind, reference) = (meta.kind, meta.reference);
    rules::validate_reference(reference)?;
    let mut tx = conn.begin().await?;
    let state = repo::lock_line(&mut tx, line_id)
        .await?
        .ok_or(LedgerError::NotPaid(line_id))?;
    if let Some(j) = repo::find_journal(&mut tx, kind, reference, Some(line_id)).await? {
        if expected_amount.is_some_and(|a| a != j.amount) {
            return Err(conflict(kind, reference));
        }
        return Ok(replay(j));
    }
    let out = rule(&state)?;
    let posting = write_line_posting(&mut tx, &state, &meta, out).await?;
    tx.commit().await?;
    Ok(posting)
}

/// Releases `amount` of a line to its payee: Dr `held:<tenant>` / Cr `payable:<tenant>`,
/// only up to the unreleased part (`LEDGER_EXCEEDS_HELD`). Idempotent per (line,
/// reference).
pub async fn release(
    conn: &mut PgConnection,
    line_id: LineId,
    amount: Money,
    reference: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    post_on_line(
        conn,
        line_id,
        Meta {
            kind: JournalKind::Release,
            reference,
            at,
            memo: "结算给机构",
        },
        Some(amount),
        |s| rules::release(s, amount),
    )
    .await
}

/// Releases the share of one delivered lesson (一课一消): `paid / lessons_total` rounded
/// down to the fen, the last lesson taking the remainder (see [`rules::release_unit`]).
/// Idempotent per (line, lesson key): the same lesson never releases twice.
pub async fn release_lesson(
    conn: &mut PgConnection,
    line_id: LineId,
    lessons_total: u32,
    lesson_key: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    post_on_line(
        conn,
        line_id,
        Meta {
            kind: JournalKind::ReleaseLesson,
            reference: lesson_key,
            at,
            memo: "按课时结算（一课一消）",
        },
        None,
        |s| rules::release_unit(s, ReleaseUnit::Lesson, lessons_total),
    )
    .await
}

/// Releases the share of one served custody day, as [`release_lesson`] per day.
pub async fn release_day(
    conn: &mut PgConnection,
    line_id: LineId,
    days_total: u32,
    day_key: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    post_on_line(
        conn,
        line_id,
        Meta {
            kind: JournalKind::ReleaseDay,
            reference: day_key,
            at,
            memo: "按服务天数结算",
        },
        None,
        |s| rules::release_unit(s, ReleaseUnit::Day, days_total),
    )
    .await
}

fn refund_lock(out_refund_no: &str) -> String {
    format!("refund:{out_refund_no}")
}

/// Reserves `amount` of a line for refund `out_refund_no`: Dr `held:<tenant>` / Cr
/// `refund:clearing`, only up to the unreleased part. A refund may reserve on several lines
/// of one order (one call per line). Idempotent per (line, refund number); refused once the
/// refund is settled or cancelled.
pub async fn reserve_refund(
    conn: &mut PgConnection,
    line_id: LineId,
    amount: Money,
    out_refund_no: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    rules::validate_reference(out_refund_no)?;
    let kind = JournalKind::RefundReserve;
    let mut tx = conn.begin().await?;
    // Refund first, then line: the same order as settle and cancel take their locks.
    repo::advisory_lock(&mut tx, &refund_lock(out_refund_no)).await?;
    let state = repo::lock_line(&mut tx, line_id)
        .await?
        .ok_or(LedgerError::NotPaid(line_id))?;
    // An exact retry is answered even after the refund closed; anything else on a closed
    // refund is refused as such, and a changed amount on an open one as a conflict.
    let earlier = repo::find_journal(&mut tx, kind, out_refund_no, Some(line_id)).await?;
    if let Some(j) = earlier.as_ref().filter(|j| j.amount == amount) {
        return Ok(replay(j.clone()));
    }
    if repo::find_journal(&mut tx, JournalKind::RefundSettle, out_refund_no, None)
        .await?
        .is_some()
    {
        return Err(LedgerError::RefundSettled(out_refund_no.to_owned()));
    }
    if repo::find_journal(&mut tx, JournalKind::RefundCancel, out_refund_no, None)
        .await?
        .is_some()
    {
        return Err(LedgerError::RefundCancelled(out_refund_no.to_owned()));
    }
    if earlier.is_some() {
        return Err(conflict(kind, out_refund_no));
    }
    // A refund number belongs to one order (one WeChat Pay transaction).
    let others = repo::refund_reservations(&mut tx, out_refund_no).await?;
    if others.iter().any(|(_, order, _)| *order != state.order_id) {
        return Err(conflict(kind, out_refund_no));
    }
    let out = rules::reserve_refund(&state, amount)?;
    let meta = Meta {
        kind,
        reference: out_refund_no,
        at,
        memo: "预留退款",
    };
    let posting = write_line_posting(&mut tx, &state, &meta, out).await?;
    tx.commit().await?;
    Ok(posting)
}

/// Settles refund `out_refund_no` (WeChat Pay reported SUCCESS): for every line it
/// reserved, Dr `refund:clearing` / Cr `wxpay:clearing`. Idempotent; refused after a
/// cancellation.
pub async fn settle_refund(
    conn: &mut PgConnection,
    out_refund_no: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    close_refund(conn, out_refund_no, at, true).await
}

/// Gives up refund `out_refund_no` (CLOSED / ABNORMAL): for every line it reserved, Dr
/// `refund:clearing` / Cr `held:<tenant>`, so the money is unreleased again. Idempotent;
/// refused after a settlement.
pub async fn cancel_refund(
    conn: &mut PgConnection,
    out_refund_no: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    close_refund(conn, out_refund_no, at, false).await
}

async fn close_refund(
    conn: &mut PgConnection,
    out_refund_no: &str,
    at: DateTime<Utc>,
    settle: bool,
) -> Result<Posting, LedgerError> {
    rules::validate_reference(out_refund_no)?;
    let (kind, other) = if settle {
        (JournalKind::RefundSettle, JournalKind::RefundCancel)
    } else {
        (JournalKind::RefundCancel, JournalKind::RefundSettle)
    };
    let mut tx = conn.begin().await?;
    repo::advisory_lock(&mut tx, &refund_lock(out_refund_no)).await?;
    if let Some(j) = repo::find_journal(&mut tx, kind, out_refund_no, None).await? {
        return Ok(replay(j));
    }
    if repo::find_journal(&mut tx, other, out_refund_no, None)
        .await?
        .is_some()
    {
        return Err(if settle {
            LedgerError::RefundCancelled(out_refund_no.to_owned())
        } else {
            LedgerError::RefundSettled(out_refund_no.to_owned())
        });
    }
    let reservations = repo::refund_reservations(&mut tx, out_refund_no).await?;
    if reservations.is_empty() {
        return Err(LedgerError::RefundNotFound(out_refund_no.to_owned()));
    }
    let ids: Vec<LineId> = reservations.iter().map(|(l, _, _)| *l).collect();
    let states = repo::lock_lines(&mut tx, &ids).await?;
    let mut entries: Vec<EntryDraft> = Vec::with_capacity(reservations.len() * 2);
    let mut after = Vec::with_capacity(reservations.len());
    let mut total = Money::ZERO;
    for (line_id, _, amount) in &reservations {
        let state = states
            .iter()
            .find(|s| s.line_id == *line_id)
            .ok_or_else(|| LedgerError::Corrupt(format!("refund names unknown line {line_id}")))?;
        let out = if settle {
            rules::settle_refund(state, *amount)?
        } else {
            rules::cancel_refund(state, *amount)?
        };
        total = total
            .checked_add(out.amount)
            .ok_or_else(|| LedgerError::AmountInvalid("refund above the limit".into()))?;
        entries.extend(out.entries);
        after.push(out.after);
    }
    let first = states
        .first()
        .ok_or_else(|| LedgerError::Corrupt(format!("refund {out_refund_no} has no lines")))?;
    let journal = NewJournal {
        kind,
        at,
        order_id: Some(first.order_id),
        line_id: None,
        tenant_id: Some(first.tenant_id),
        reference: out_refund_no,
        amount: total,
        memo: if settle {
            "退款已原路退回"
        } else {
            "退款关闭，资金回到存管"
        },
    };
    let id = repo::insert_journal(&mut tx, &journal)
        .await?
        .ok_or_else(|| taken_under_lock(kind, out_refund_no))?;
    repo::insert_entries(&mut tx, id, &entries).await?;
    for s in &after {
        repo::update_line(&mut tx, s, at).await?;
    }
    tx.commit().await?;
    Ok(Posting {
        journal_id: id,
        kind,
        reference: out_refund_no.to_owned(),
        amount: total,
        replayed: false,
    })
}

/// A posting on account balances only (bank side), keyed by (kind, bank reference), under
/// the advisory lock of the account it draws on.
async fn post_on_accounts(
    conn: &mut PgConnection,
    meta: Meta<'_>,
    lock: &Account,
    tenant_id: Option<TenantId>,
    amount: Money,
    plan: BankPlan,
) -> Result<Posting, LedgerError> {
    let Meta {
        kind,
        reference,
        at,
        memo,
    } = meta;
    rules::validate_reference(reference)?;
    let mut tx = conn.begin().await?;
    repo::advisory_lock(&mut tx, &format!("account:{}", lock.code())).await?;
    if let Some(j) = repo::find_journal(&mut tx, kind, reference, None).await? {
        if j.amount != amount || j.tenant_id != tenant_id {
            return Err(conflict(kind, reference));
        }
        return Ok(replay(j));
    }
    let inflow = matches!(plan, BankPlan::Settle(_));
    let entries = plan.entries(&mut tx).await?;
    let journal = NewJournal {
        kind,
        at,
        order_id: None,
        line_id: None,
        tenant_id,
        reference,
        amount,
        memo,
    };
    let id = repo::insert_journal(&mut tx, &journal)
        .await?
        .ok_or_else(|| taken_under_lock(kind, reference))?;
    repo::insert_entries(&mut tx, id, &entries).await?;
    // F5 (R-X02's fund flow, R-X01): every movement of the escrow account is pushed to the
    // city's supervision platform, in this transaction.
    let record = crate::supervision::model::Record::new(
        crate::supervision::model::FieldSet::F5,
        crate::supervision::model::Op::Upsert,
        format!("J{}", id.0),
    )
    .with("amount", amount.to_string())
    .with("direction", if inflow { "收入" } else { "支出" })
    .with("content", memo)
    .with("reference", reference)
    .with("occurredAt", crate::supervision::protocol::timestamp(at));
    crate::supervision::push::record_without_personal(&mut tx, tenant_id.map(|t| t.0), record)
        .await?;
    tx.commit().await?;
    Ok(Posting {
        journal_id: id,
        kind,
        reference: reference.to_owned(),
        amount,
        replayed: false,
    })
}

/// Reads the balances a bank posting draws on (under its lock) and asks `rules`.
enum BankPlan {
    Settle(Money),
    FundRefunds(Money),
    Payout(TenantId, Money),
}

impl BankPlan {
    async fn entries(self, conn: &mut PgConnection) -> Result<Vec<EntryDraft>, LedgerError> {
        match self {
            BankPlan::Settle(amount) => {
                let clearing = repo::account_balance(conn, &Account::WxpayClearing).await?;
                rules::settle_to_bank(amount, clearing.debit_balance())
            }
            BankPlan::FundRefunds(amount) => {
                let escrow = repo::account_balance(conn, &Account::BankEscrow).await?;
                rules::fund_refunds(amount, escrow.debit_balance())
            }
            BankPlan::Payout(tenant, amount) => {
                let payable = repo::account_balance(conn, &Account::Payable(tenant)).await?;
                let escrow = repo::account_balance(conn, &Account::BankEscrow).await?;
                rules::payout(
                    tenant,
                    amount,
                    payable.credit_balance(),
                    escrow.debit_balance(),
                )
            }
        }
    }
}

/// WeChat Pay's settlement arriving at the escrow account: Dr `bank:escrow` / Cr
/// `wxpay:clearing`, at most what WeChat Pay holds for us (`LEDGER_EXCEEDS_CLEARING`).
/// `tenant` when the settlement is for one tenant's sub-merchant, else `None`.
/// Idempotent on `bank_reference`.
pub async fn settle_to_bank(
    conn: &mut PgConnection,
    tenant: Option<TenantId>,
    bank_reference: &str,
    amount: Money,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    post_on_accounts(
        conn,
        Meta {
            kind: JournalKind::BankSettlement,
            reference: bank_reference,
            at,
            memo: escrow_memo(JournalKind::BankSettlement),
        },
        &Account::WxpayClearing,
        tenant,
        amount,
        BankPlan::Settle(amount),
    )
    .await
}

/// Money sent from the escrow account back to WeChat Pay to fund refunds of money already
/// settled to the bank: Dr `wxpay:clearing` / Cr `bank:escrow`, at most the escrow balance.
/// Idempotent on `bank_reference`.
pub async fn fund_refunds(
    conn: &mut PgConnection,
    bank_reference: &str,
    amount: Money,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    post_on_accounts(
        conn,
        Meta {
            kind: JournalKind::BankRefundFunding,
            reference: bank_reference,
            at,
            memo: escrow_memo(JournalKind::BankRefundFunding),
        },
        &Account::BankEscrow,
        None,
        amount,
        BankPlan::FundRefunds(amount),
    )
    .await
}

/// A transfer from the escrow account to a school or agency: Dr `payable:<tenant>` / Cr
/// `bank:escrow`, at most what was released to it and not yet paid out
/// (`LEDGER_EXCEEDS_PAYABLE`) and at most the escrow balance (`LEDGER_EXCEEDS_ESCROW`).
/// Idempotent on `bank_reference`.
pub async fn payout(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    amount: Money,
    bank_reference: &str,
    at: DateTime<Utc>,
) -> Result<Posting, LedgerError> {
    post_on_accounts(
        conn,
        Meta {
            kind: JournalKind::Payout,
            reference: bank_reference,
            at,
            memo: escrow_memo(JournalKind::Payout),
        },
        &Account::BankEscrow,
        Some(tenant_id),
        amount,
        BankPlan::Payout(tenant_id, amount),
    )
    .await
}

/// A line's running balance (`LEDGER_NOT_PAID` if it has none).
pub async fn line_balance(
    conn: &mut PgConnection,
    line_id: LineId,
) -> Result<LineState, LedgerError> {
    repo::line(conn, line_id)
        .await?
        .ok_or(LedgerError::NotPaid(line_id))
}

/// The balances of several lines (those paid), to show what each has left.
pub async fn line_balances(
    conn: &mut PgConnection,
    ids: &[LineId],
) -> Result<Vec<LineState>, LedgerError> {
    repo::lines(conn, ids).await
}

/// The day keys (`day:2026-11-03`) already released on each of the lines: a day given back
/// must not be one of them.
pub async fn released_days(
    conn: &mut PgConnection,
    ids: &[LineId],
) -> Result<Vec<(LineId, String)>, LedgerError> {
    repo::released_references(conn, JournalKind::ReleaseDay, ids).await
}

/// The sums of one account's entries.
pub async fn account_balance(
    conn: &mut PgConnection,
    account: &Account,
) -> Result<AccountBalance, LedgerError> {
    repo::account_balance(conn, account).await
}

/// A journal with its entries.
pub async fn journal(
    conn: &mut PgConnection,
    id: JournalId,
) -> Result<Option<Journal>, LedgerError> {
    repo::journal(conn, id).await
}

fn end_balance(d: rust_decimal::Decimal) -> Result<Money, LedgerError> {
    // A balance can only dip below zero at an instant if postings carry an `at` earlier than
    // the payment they draw on; the statement shows such an instant as zero.
    Ok(Money::from_decimal(d.max(rust_decimal::Decimal::ZERO))?)
}

fn plus(a: &mut Money, b: Money) -> Result<(), LedgerError> {
    *a = a
        .checked_add(b)
        .ok_or_else(|| LedgerError::Corrupt("statement total above the limit".into()))?;
    Ok(())
}

/// A tenant's figures over `[from, to)` by the journals' `at`: totals per kind and per line.
/// Lines appear when they moved in the period or still hold money at `to`.
pub async fn tenant_statement(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<TenantStatement, LedgerError> {
    let held = Account::Held(tenant_id).code();
    let payable = Account::Payable(tenant_id).code();
    let orders = repo::tenant_lines(conn, tenant_id).await?;
    let mut totals = StatementTotals::default();
    let mut lines: std::collections::BTreeMap<LineId, LineStatement> = Default::default();
    let blank = |line_id: LineId| LineStatement {
        line_id,
        order_id: orders.get(&line_id).copied().unwrap_or(OrderId(0)),
        paid: Money::ZERO,
        released: Money::ZERO,
        refunds_reserved: Money::ZERO,
        refunds_settled: Money::ZERO,
        refunds_cancelled: Money::ZERO,
        held_at_end: Money::ZERO,
    };
    for row in repo::statement_rows(conn, tenant_id, from, to).await? {
        let on_held = row.account == held;
        let on_payable = row.account == payable;
        let on_refund = row.account == Account::RefundClearing.code();
        let line = row
            .line_id
            .map(|l| lines.entry(l).or_insert_with(|| blank(l)));
        let (total, per_line, amount) = match row.kind {
            JournalKind::Payment if on_held => (&mut totals.paid, Some(0), row.credit),
            k if k.is_release() && on_held => (&mut totals.released, Some(1), row.debit),
            JournalKind::RefundReserve if on_held => {
                (&mut totals.refunds_reserved, Some(2), row.debit)
            }
            JournalKind::RefundSettle if on_refund => {
                (&mut totals.refunds_settled, Some(3), row.debit)
            }
            JournalKind::RefundCancel if on_held => {
                (&mut totals.refunds_cancelled, Some(4), row.credit)
            }
            JournalKind::Payout if on_payable => (&mut totals.paid_out, None, row.debit),
            _ => continue,
        };
        plus(total, amount)?;
        if let (Some(field), Some(l)) = (per_line, line) {
            let slot = match field {
                0 => &mut l.paid,
                1 => &mut l.released,
                2 => &mut l.refunds_reserved,
                3 => &mut l.refunds_settled,
                _ => &mut l.refunds_cancelled,
            };
            plus(slot, amount)?;
        }
    }
    // Signed sums per account: payouts carry no line, so only the account total is
    // meaningful across lines.
    let mut held_net = rust_decimal::Decimal::ZERO;
    let mut payable_net = rust_decimal::Decimal::ZERO;
    for (account, line_id, net_credit) in repo::tenant_balances_at(conn, tenant_id, to).await? {
        if account == held {
            held_net += net_credit;
            if let Some(l) = line_id {
                let amount = end_balance(net_credit)?;
                if !amount.is_zero() || lines.contains_key(&l) {
                    lines.entry(l).or_insert_with(|| blank(l)).held_at_end = amount;
                }
            }
        } else if account == payable {
            payable_net += net_credit;
        }
    }
    totals.held_at_end = end_balance(held_net)?;
    totals.payable_at_end = end_balance(payable_net)?;
    Ok(TenantStatement {
        tenant_id,
        from,
        to,
        totals,
        lines: lines.into_values().collect(),
    })
}

/// Recomputes every line's running balance from the entries (the source of truth) and
/// checks every journal balances; reports the differences. An operator job: it reads the
/// whole ledger.
pub async fn verify_balances(conn: &mut PgConnection) -> Result<BalanceReport, LedgerError> {
    let (lines_checked, differences) = repo::line_differences(conn).await?;
    let unbalanced_journals = repo::unbalanced_journals(conn).await?;
    Ok(BalanceReport {
        lines_checked,
        differences,
        unbalanced_journals,
    })
}

/// Every movement of the escrow account so far, written again for the supervision push
/// (its full re-sync): the receiver keeps one record per journal, so this is idempotent
/// there. Returns how many.
pub async fn push_escrow_history(conn: &mut PgConnection) -> Result<usize, LedgerError> {
    let from = DateTime::<Utc>::UNIX_EPOCH;
    let to = Utc::now() + chrono::Duration::days(3650);
    let moves = repo::escrow_movements(conn, from, to).await?;
    let records: Vec<_> = moves.iter().map(escrow_record).collect();
    let n = records.len();
    for r in records {
        crate::supervision::push::record_without_personal(conn, None, r).await?;
    }
    Ok(n)
}

/// What a movement of the escrow account is (the journal's memo, F5's 收支内容).
fn escrow_memo(kind: JournalKind) -> &'static str {
    match kind {
        JournalKind::BankSettlement => "微信支付结算至存管账户",
        JournalKind::BankRefundFunding => "存管账户划回微信支付用于退款",
        JournalKind::Payout => "存管账户付款给机构",
        _ => "存管账户资金变动",
    }
}

fn escrow_record(m: &EscrowMovement) -> crate::supervision::model::Record {
    crate::supervision::model::Record::new(
        crate::supervision::model::FieldSet::F5,
        crate::supervision::model::Op::Upsert,
        format!("J{}", m.journal_id.0),
    )
    .with("amount", m.amount.to_string())
    .with(
        "direction",
        if m.side == crate::ledger::Side::Debit {
            "收入"
        } else {
            "支出"
        },
    )
    .with("content", escrow_memo(m.kind))
    .with("reference", m.reference.clone())
    .with("occurredAt", crate::supervision::protocol::timestamp(m.at))
}

/// Journals that moved money on `bank:escrow` with `from <= at < to` (what the bank's
/// statement should show), for reconciliation.
pub async fn escrow_movements(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<EscrowMovement>, LedgerError> {
    repo::escrow_movements(conn, from, to).await
}
