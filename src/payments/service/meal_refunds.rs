//! The school's meal refund batch (R-T13, R-S08): in one action, every paid order day due
//! back (an approved stop's, or one the canteen no longer serves) is given back through
//! WeChat, one refund per original payment of exactly the price of those days, reserved in
//! the escrow ledger under the refund's number and sent by the outbox after commit.
//!
//! Meals says which days are due (`meals::paid::refund_due`, which also refuses a second
//! batch while one runs) and records which refund gave each back; a day is given back once
//! at most (its key in `meal_refund_days`, written in the same transaction as the ledger's
//! reservation), so a batch run twice, or two at once, never refunds a day twice. Must never
//! give back a day the day close released (the ledger's day keys are checked) or more than
//! a line's unreleased part.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;

use super::money;
use super::refund::{reserve_lines, unreleased};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::ids::OrderId;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, Money};
use crate::meals::error::MealError;
use crate::meals::model::{MealRefundBatchView, NewRefundBatch};
use crate::meals::paid::{self, DueDay, RefundedDay};
use crate::payments::error::PaymentsError;
use crate::payments::repo::{self, LineRow};

/// The days of one line a refund gives back, and their sum.
struct Part<'a> {
    line: LineRow,
    amount: Money,
    days: Vec<&'a DueDay>,
}

/// The reason WeChat shows the parent (at most 80 characters).
fn reason_of(parts: &[Part<'_>]) -> &'static str {
    let days = parts.iter().flat_map(|p| p.days.iter());
    let (mut stopped, mut unserved) = (false, false);
    for d in days {
        if d.stop_id.is_some() {
            stopped = true;
        } else {
            unserved = true;
        }
    }
    match (stopped, unserved) {
        (true, true) => "停餐及学校停供退款",
        (false, true) => "学校停供退款",
        _ => "停餐退款",
    }
}

/// Runs a refund batch for the period (or every period): see the module.
pub async fn refund_meal_batch(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    req: NewRefundBatch,
) -> Result<MealRefundBatchView, PaymentsError> {
    let due = paid::refund_due(&mut tx, req.period_start).await?;
    let now = st.clock.now();
    let batch = paid::open_batch(tx.conn(), req.period_start, auth.account_id, now).await?;
    let tenant_id = tx.tenant().id;
    let mut by_order: BTreeMap<i64, Vec<&DueDay>> = BTreeMap::new();
    for d in &due {
        by_order.entry(d.meal_order_id).or_default().push(d);
    }
    let ids: Vec<i64> = by_order.keys().copied().collect();

    tx.leave_role().await?;
    let lines = repo::paid_lines_of_meals(tx.conn(), tenant_id, &ids).await?;
    let line_ids: Vec<_> = lines.iter().map(|l| l.id).collect();
    let released: HashSet<_> = ledger::released_days(tx.conn(), &line_ids)
        .await?
        .into_iter()
        .collect();
    // One refund per payment: the parts of its lines, in line order.
    let mut payments: BTreeMap<OrderId, Vec<Part<'_>>> = BTreeMap::new();
    for line in lines {
        let Some(days) = line.meal_order_id.and_then(|m| by_order.get(&m)) else {
            continue;
        };
        let mut left = unreleased(tx.conn(), &line).await?;
        let mut part = Part {
            line: line.clone(),
            amount: Money::ZERO,
            days: Vec::new(),
        };
        for d in days {
            if released.contains(&(line.id, format!("day:{}", d.day))) {
                continue;
            }
            let price = money(d.price)?;
            if price > left {
                break;
            }
            left = left.saturating_sub(price);
            part.amount = part.amount.checked_add(price).unwrap_or(part.amount);
            part.days.push(d);
        }
        if !part.days.is_empty() {
            payments.entry(line.order_id).or_default().push(part);
        }
    }
    let mut given = Vec::new();
    let mut refunds = 0i32;
    for parts in payments.values() {
        let lines: Vec<(&LineRow, Money)> = parts.iter().map(|p| (&p.line, p.amount)).collect();
        let reason = reason_of(parts);
        let id = reserve_lines(
            tx.conn(),
            st,
            &lines,
            reason,
            "meal",
            None,
            Some(auth.account_id),
        )
        .await?;
        refunds += 1;
        for p in parts {
            for d in &p.days {
                given.push(RefundedDay {
                    meal_order_id: d.meal_order_id,
                    day: d.day,
                    stop_id: d.stop_id,
                    refund_id: id,
                    amount: d.price,
                });
            }
        }
    }
    tx.enter_role().await?;
    // The batch lock keeps two batches apart; the days' key is the last word if one ever
    // got past it.
    paid::record_refunds(tx.conn(), batch, &given, refunds)
        .await
        .map_err(|e| match crate::error::violated_constraint(&e) {
            Some(_) => PaymentsError::from(MealError::RefundBatchRunning),
            None => e.into(),
        })?;
    let view = paid::batch(tx.conn(), batch)
        .await?
        .ok_or_else(|| PaymentsError::Vanished(format!("meal refund batch {batch}")))?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "meals.refund_batch",
            format!("meal_refund_batch:{batch}"),
            Outcome::Success,
        )
        .details(json!({
            "period_start": req.period_start,
            "refunds": refunds,
            "days": given.len(),
            "amount": view.amount,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}
