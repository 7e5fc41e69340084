//! A payment WeChat confirmed, by callback or by query: settled exactly once, in one
//! database transaction, in four steps: **claim** (the callback recorded, the order locked),
//! **verify** (amount, app id and merchant are ours), **post** (the order paid, the money in
//! the escrow ledger) and **confirm** (the enrollments confirmed, a place given up meanwhile
//! refunded, the audit record, the commit). Refund callbacks are checked and applied here
//! too.
//!
//! Must never settle on anything but WeChat's word, process one callback twice, or keep a
//! callback whose figures are not ours (it is refused, audited and changes nothing).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::refund::{apply_refund_status, reserve};
use super::{money, tenant_of, yuan};
use crate::audit::{AuditEvent, Outcome};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, TenantId};
use crate::notify;
use crate::payments::error::{PaymentsError, SettleError};
use crate::payments::model::OrderStatus;
use crate::payments::repo::{self, LineRow, OrderRow};
use crate::wechatpay::{
    Notification, NotificationResource, RefundNotice, TradeState, Transaction, WechatPayError,
};

/// What settling a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The order is paid now (its enrollments confirmed, the money in the ledger).
    Paid,
    /// Seen before: nothing changed.
    Already,
}

/// Settles a successful transaction exactly once: the callback's id recorded (when it came
/// by callback), the order marked paid, the payment posted to the escrow ledger, the
/// enrollments confirmed, an audit record. The amount, app id and merchant must be ours; a
/// place given up meanwhile is refunded in full.
pub async fn settle_transaction(
    st: &Ctx,
    tr: &Transaction,
    notification_id: Option<&str>,
) -> Result<Settled, SettleError> {
    if tr.trade_state != TradeState::Success {
        return Err(SettleError::Rejected {
            code: "WXPAY_NOT_PAID",
            reason: format!("trade_state {}", tr.trade_state.as_str()),
        });
    }
    let now = st.clock.now();
    let Some((tx, order)) = claim(st, tr, notification_id, now).await? else {
        return Ok(Settled::Already);
    };
    let mut tx = verify(st, tx, tr, &order).await?;
    let paid = post(&mut tx, tr, &order, now).await?;
    confirm(st, tx, &order, paid, now).await
}

/// Step 1: the order's tenant, a transaction (platform privileges), the callback recorded
/// and the order locked. `None` when there is nothing to do: the callback was processed
/// before, or the order is paid already.
async fn claim(
    st: &Ctx,
    tr: &Transaction,
    notification_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<(TenantTx, OrderRow)>, SettleError> {
    let mut conn = st.db_app.acquire().await?;
    let peek = repo::tenant_of_trade(&mut conn, &tr.out_trade_no).await?;
    drop(conn);
    let Some(tenant_id) = peek else {
        return Err(PaymentsError::TradeNotYetKnown(tr.out_trade_no.clone()).into());
    };
    let tenant = tenant_of(st, tenant_id).await?;
    let mut tx = TenantTx::begin(&st.db_app, &tenant).await?;
    tx.leave_role().await?;
    if let Some(id) = notification_id {
        if !repo::claim_callback(
            tx.conn(),
            id,
            "TRANSACTION.SUCCESS",
            &tr.out_trade_no,
            "paid",
            now,
        )
        .await?
        {
            return Ok(None);
        }
    }
    let Some(order) = repo::lock_order_by_trade_no(tx.conn(), &tr.out_trade_no).await? else {
        return Err(PaymentsError::Vanished(format!("order {}", tr.out_trade_no)).into());
    };
    if order.status == OrderStatus::Paid {
        tx.commit().await?;
        return Ok(None);
    }
    Ok(Some((tx, order)))
}

/// Step 2: the amount, app id and merchant must be the order's and ours. A mismatch rolls
/// the transaction back (the callback stays unrecorded), is audited and refused.
async fn verify(
    st: &Ctx,
    tx: TenantTx,
    tr: &Transaction,
    order: &OrderRow,
) -> Result<TenantTx, SettleError> {
    let expected_fen = money(order.amount)?.to_fen();
    let got_fen = tr.amount.as_ref().and_then(|a| a.total);
    let mismatch = if got_fen != Some(expected_fen) {
        format!("amount {got_fen:?} fen, order {expected_fen} fen")
    } else if tr.appid != st.wechatpay.appid() || tr.mchid != st.wechatpay.mchid() {
        format!("appid/mchid {}/{} are not ours", tr.appid, tr.mchid)
    } else {
        return Ok(tx);
    };
    drop(tx);
    st.audit_event(
        AuditEvent::new(
            "payment.callback.rejected",
            format!("order:{}", order.id),
            Outcome::Failure,
        )
        .tenant(order.tenant_id)
        .details(json!({ "out_trade_no": order.out_trade_no, "reason": mismatch })),
    )
    .await;
    Err(SettleError::Rejected {
        code: "WXPAY_AMOUNT_MISMATCH",
        reason: mismatch,
    })
}

/// What step 3 posted.
struct Posted {
    transaction_id: String,
    lines: Vec<LineRow>,
}

/// Step 3 (platform privileges): the order marked paid and its lines' money posted to the
/// escrow ledger.
async fn post(
    tx: &mut TenantTx,
    tr: &Transaction,
    order: &OrderRow,
    now: DateTime<Utc>,
) -> Result<Posted, SettleError> {
    let transaction_id = tr
        .transaction_id
        .clone()
        .unwrap_or_else(|| format!("unknown-{}", order.out_trade_no));
    let paid_at = tr.success_time.as_ref().map(|t| t.utc()).unwrap_or(now);
    let openid = tr.payer.as_ref().and_then(|p| p.openid.clone());
    repo::mark_paid(
        tx.conn(),
        order.id,
        &transaction_id,
        openid.as_deref(),
        paid_at,
    )
    .await?;
    let lines = repo::lines_of(tx.conn(), &[order.id]).await?;
    let mut posted = Vec::with_capacity(lines.len());
    for l in &lines {
        posted.push((l.id, money(l.amount)?));
    }
    ledger::record_payment(
        tx.conn(),
        order.id,
        TenantId(order.tenant_id),
        &transaction_id,
        now,
        &posted,
    )
    .await
    .map_err(PaymentsError::from)?;
    Ok(Posted {
        transaction_id,
        lines,
    })
}

/// Step 4: the enrollments confirmed; a place given up while the parent paid (the hold ran
/// out and went to someone else) cannot be conjured back, so its money goes back in full.
/// Then the audit record and the commit; the refunds go to WeChat after it.
async fn confirm(
    st: &Ctx,
    mut tx: TenantTx,
    order: &OrderRow,
    paid: Posted,
    now: DateTime<Utc>,
) -> Result<Settled, SettleError> {
    tx.enter_role().await?;
    let lost = confirm_enrollments(&mut tx, &paid.lines, now).await?;
    let confirmed: Vec<&LineRow> = paid
        .lines
        .iter()
        .filter(|l| !lost.iter().any(|x| x.id == l.id))
        .collect();
    let ids: Vec<i64> = confirmed
        .iter()
        .filter_map(|l| l.enrollment_id)
        .map(|e| e.0)
        .collect();
    let meal_ids: Vec<i64> = confirmed.iter().filter_map(|l| l.meal_order_id).collect();
    let mut names = crate::enrollment::paid::place_names(tx.conn(), &ids).await?;
    let meal_names = crate::meals::paid::names(tx.conn(), &meal_ids).await?;
    tx.leave_role().await?;
    for l in &confirmed {
        let (source, found) = match (l.enrollment_id, l.meal_order_id) {
            (Some(e), _) => (
                format!("enrollment:{}", e.0),
                names.iter_mut().find(|(x, ..)| *x == e.0),
            ),
            (None, Some(m)) => (format!("meal_order:{m}"), None),
            (None, None) => continue,
        };
        let meal = l
            .meal_order_id
            .and_then(|m| meal_names.iter().find(|(x, ..)| *x == m));
        let Some((_, child, course)) = found.map(|f| &*f).or(meal) else {
            continue;
        };
        let m = notify::Message::new(notify::Kind::BookingConfirmed, order.account_id, source)
            .tenant(order.tenant_id)
            .field("name1", child)
            .field("thing2", course)
            .field("amount3", notify::model::amount(l.amount))
            .field("time4", notify::model::time(now));
        notify::emit(tx.conn(), &st.keys, &m).await?;
    }
    tx.enter_role().await?;
    let mut auto_refunds = Vec::new();
    if !lost.is_empty() {
        tx.leave_role().await?;
        for l in lost {
            let r = reserve(
                tx.conn(),
                st,
                l,
                money(l.amount)?,
                "名额已释放，自动全额退款",
                "auto",
                None,
                None,
            )
            .await?;
            auto_refunds.push(r);
        }
        tx.enter_role().await?;
    }
    let ev = AuditEvent::new(
        "payment.order.paid",
        format!("order:{}", order.id),
        Outcome::Success,
    )
    .tenant(order.tenant_id)
    .details(json!({
        "out_trade_no": order.out_trade_no, "transaction_id": paid.transaction_id,
        "amount": yuan(order.amount), "auto_refunds": auto_refunds,
    }));
    crate::audit::append(tx.conn(), &st.keys.audit, &ev, now)
        .await
        .map_err(PaymentsError::from)?;
    tx.commit().await?;
    Ok(Settled::Paid)
}

/// Confirms each line's enrollment or meal order (tenant role); answers the lines whose
/// place was given up.
async fn confirm_enrollments<'a>(
    tx: &mut TenantTx,
    lines: &'a [LineRow],
    now: DateTime<Utc>,
) -> Result<Vec<&'a LineRow>, sqlx::Error> {
    let mut lost = Vec::new();
    for l in lines {
        let kept = match (l.enrollment_id, l.meal_order_id) {
            (Some(e), _) => crate::enrollment::paid::confirm_paid(tx.conn(), e, now).await?,
            (None, Some(m)) => crate::meals::paid::confirm_paid(tx.conn(), m, now).await?,
            (None, None) => false,
        };
        if !kept {
            lost.push(l);
        }
    }
    Ok(lost)
}

/// Asks WeChat about an unpaid order and settles it when it was paid. `true` when it is
/// paid now.
pub(super) async fn settle_by_query(st: &Ctx, o: &OrderRow) -> bool {
    match st.wechatpay.query_by_out_trade_no(&o.out_trade_no).await {
        Ok(tr) if tr.trade_state == TradeState::Success => {
            match settle_transaction(st, &tr, None).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(?e, order = o.id.0, "settling a queried payment failed");
                    false
                }
            }
        }
        Ok(_) => false,
        Err(WechatPayError::Api { code, .. })
            if code == "ORDER_NOT_EXIST" || code == "RESOURCE_NOT_EXISTS" =>
        {
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, order = o.id.0, "querying an order failed");
            false
        }
    }
}

// --- callbacks -------------------------------------------------------------------------------

/// Handles a verified, decrypted callback. `Err` makes the receiver answer an error so
/// WeChat delivers it again.
pub async fn handle_notification(st: &Ctx, n: &Notification) -> Result<(), SettleError> {
    match &n.resource {
        NotificationResource::Transaction(tr) => {
            settle_transaction(st, tr, Some(&n.id)).await.map(|_| ())
        }
        NotificationResource::Refund(RefundNotice {
            out_refund_no,
            refund_status,
            refund_id,
            amount,
            ..
        }) => {
            check_refund_amount(st, out_refund_no, amount.refund).await?;
            apply_refund_status(
                st,
                out_refund_no,
                *refund_status,
                Some(refund_id),
                Some(&n.id),
            )
            .await
            .map_err(SettleError::from)
        }
    }
}

/// A refund callback must name our refund with our amount; anything else is refused and
/// audited, and changes nothing.
async fn check_refund_amount(
    st: &Ctx,
    out_refund_no: &str,
    refund_fen: i64,
) -> Result<(), SettleError> {
    let mut conn = st.db_app.acquire().await?;
    let ours = repo::refund_by_no(&mut conn, out_refund_no).await?;
    drop(conn);
    let Some(ours) = ours else {
        return Err(PaymentsError::RefundNotYetKnown(out_refund_no.to_string()).into());
    };
    let expected = money(ours.amount)?.to_fen();
    if expected == refund_fen {
        return Ok(());
    }
    let reason = format!("refund {refund_fen} fen, ours {expected} fen");
    st.audit_event(
        AuditEvent::new(
            "payment.callback.rejected",
            format!("refund:{}", ours.id),
            Outcome::Failure,
        )
        .tenant(ours.tenant_id)
        .details(json!({ "out_refund_no": out_refund_no, "reason": reason })),
    )
    .await;
    Err(SettleError::Rejected {
        code: "WXPAY_AMOUNT_MISMATCH",
        reason,
    })
}
