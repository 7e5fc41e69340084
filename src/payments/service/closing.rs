//! Ending or resuming unpaid orders: the parent cancels one or pays it again (the same
//! way, or through the other channel, which replaces it), and the one way to close an order
//! at WeChat that the sweeper ([`super::sweep`]) uses too.
//!
//! One way to close an order for all of them ([`close_at_wechat`] then
//! `repo::mark_closed`): WeChat first, so nobody can pay an order we call closed; an order
//! WeChat reports paid is settled instead. Must never call WeChat inside a database
//! transaction.

use serde_json::json;

use super::order::{create_order, prepay, views};
use super::settle::settle_by_query;
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::ids::OrderId;
use crate::kernel::tx::TenantTx;
use crate::payments::error::PaymentsError;
use crate::payments::model::Subjects;
use crate::payments::model::{NewOrder, OrderStatus, OrderView, PayChannel};
use crate::payments::repo::{self, OrderRow};
use crate::wechatpay::WechatPayError;

/// What asking WeChat to close an unpaid order came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AtWechat {
    /// Nobody can pay it any more (closed there, or never created there).
    Closed,
    /// It was paid meanwhile and is settled now.
    Paid,
    /// WeChat could not be reached or refused: nothing changed, try again later.
    Failed,
}

/// Closes `o` at WeChat (so nobody can pay it); an order found paid is settled instead.
pub(super) async fn close_at_wechat(st: &Ctx, o: &OrderRow) -> AtWechat {
    if settle_by_query(st, o).await {
        return AtWechat::Paid;
    }
    match st.wechatpay.close(&o.out_trade_no).await {
        Ok(()) => AtWechat::Closed,
        // Never created at WeChat (the prepay call failed): nothing to close there.
        Err(WechatPayError::Api { code, .. })
            if code == "ORDER_NOT_EXIST" || code == "RESOURCE_NOT_EXISTS" =>
        {
            AtWechat::Closed
        }
        Err(WechatPayError::Api { code, .. }) if code == "ORDERPAID" => {
            settle_by_query(st, o).await;
            AtWechat::Paid
        }
        Err(e) => {
            tracing::warn!(error = %e, order = o.id.0, "closing an order at WeChat failed");
            AtWechat::Failed
        }
    }
}

/// The refusal to pay or cancel an order that is not open any more (never `Created`).
fn not_open(o: &OrderRow) -> PaymentsError {
    match o.status {
        OrderStatus::Paid => PaymentsError::OrderAlreadyPaid { order_id: o.id },
        _ => PaymentsError::OrderClosed { order_id: o.id },
    }
}

/// The caller's own order at this school (platform privileges on entry and exit).
async fn own_order(
    tx: &mut TenantTx,
    auth: &AuthContext,
    order_id: OrderId,
) -> Result<OrderRow, PaymentsError> {
    let tenant = tx.tenant().id;
    // The same answer for "no such order" and "not yours": ids do not leak.
    repo::order(tx.conn(), order_id)
        .await?
        .filter(|o| o.tenant_id == tenant && o.account_id == auth.account_id)
        .ok_or(PaymentsError::OrderNotFound { order_id })
}

/// The parent pays an order opened before (R-P06): the payment parameters again when it is
/// paid the same way; through the other channel (opened in WeChat, now in a phone browser,
/// or the other way round) the old order is closed at WeChat and a new one opened for the
/// same enrollments.
pub async fn pay_order(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    order_id: OrderId,
    channel: PayChannel,
    client_ip: Option<String>,
) -> Result<OrderView, PaymentsError> {
    tx.leave_role().await?;
    let order = own_order(&mut tx, auth, order_id).await?;
    if order.status != OrderStatus::Created {
        return Err(not_open(&order));
    }
    if order.expires_at <= st.clock.now() {
        return Err(PaymentsError::OrderHoldExpired { order_id: order.id });
    }
    if order.channel == channel {
        tx.commit().await?;
        return prepay(st, order, client_ip).await;
    }
    let lines = repo::lines_of(tx.conn(), &[order.id]).await?;
    tx.enter_role().await?;
    let req = NewOrder {
        enrollment_ids: lines
            .iter()
            .filter_map(|l| l.enrollment_id)
            .map(|e| e.0)
            .collect(),
        meal_order_ids: lines.iter().filter_map(|l| l.meal_order_id).collect(),
        channel,
        idempotency_key: uuid::Uuid::now_v7().simple().to_string(),
    };
    // `create_order` finds this open order for the same enrollments and closes it first.
    create_order(st, auth, tx, req, client_ip).await
}

/// The parent cancels an unpaid order: closed at WeChat first, then here. The places stay
/// held until their time runs out, so the parent may still pay them with a new order or
/// give them up.
pub async fn cancel_order(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    order_id: OrderId,
) -> Result<OrderView, PaymentsError> {
    tx.leave_role().await?;
    let order = own_order(&mut tx, auth, order_id).await?;
    tx.enter_role().await?;
    tx.commit().await?;
    if order.status != OrderStatus::Created {
        return Err(not_open(&order));
    }
    match close_at_wechat(st, &order).await {
        AtWechat::Closed => {}
        AtWechat::Paid => return Err(PaymentsError::PaidBeforeCancel { order_id: order.id }),
        AtWechat::Failed => return Err(PaymentsError::CloseUnavailable { order_id: order.id }),
    }
    let now = st.clock.now();
    let mut conn = st.db_app.acquire().await?;
    repo::mark_closed(&mut conn, order.id, "家长取消支付", now).await?;
    st.audit_event(
        AuditEvent::new(
            "payment.order.cancel",
            format!("order:{}", order.id),
            Outcome::Success,
        )
        .tenant(order.tenant_id)
        .details(json!({ "out_trade_no": order.out_trade_no })),
    )
    .await;
    let row = repo::order(&mut conn, order.id)
        .await?
        .ok_or_else(|| PaymentsError::Vanished(format!("closed order {}", order.id)))?;
    views(&mut conn, vec![row], now)
        .await?
        .pop()
        .ok_or_else(|| PaymentsError::Vanished(format!("view of order {}", order.id)))
}

/// An open order for exactly `subjects` that `create_order` met: the caller's own in the
/// same channel is paid again; in the other channel it is closed so a new one can open;
/// anything else is refused with where to find it.
pub(super) async fn open_order_met(
    auth: &AuthContext,
    conn: &mut sqlx::PgConnection,
    order_id: OrderId,
    subjects: &Subjects,
    channel: PayChannel,
) -> Result<Met, PaymentsError> {
    let exists = PaymentsError::OrderExists { order_id };
    let Some(order) = repo::order(conn, order_id).await? else {
        return Err(exists);
    };
    let theirs = repo::subjects_of(&repo::lines_of(conn, &[order.id]).await?);
    if order.status != OrderStatus::Created
        || order.account_id != auth.account_id
        || theirs != *subjects
    {
        return Err(exists);
    }
    if order.channel == channel {
        return Ok(Met::Resume(Box::new(order)));
    }
    Ok(Met::Replace(Box::new(order)))
}

/// What to do with an open order for the same enrollments.
pub(super) enum Met {
    /// Pay it again (after the transaction commits).
    Resume(Box<OrderRow>),
    /// Close it at WeChat (after the transaction commits) and open a new one.
    Replace(Box<OrderRow>),
}

/// Closes an order replaced by one in the other channel. `Err` when it cannot close (paid
/// meanwhile, or WeChat unreachable).
pub(super) async fn close_replaced(st: &Ctx, o: &OrderRow) -> Result<(), PaymentsError> {
    match close_at_wechat(st, o).await {
        AtWechat::Closed => {
            let mut conn = st.db_app.acquire().await?;
            repo::mark_closed(&mut conn, o.id, "已改用其他方式支付", st.clock.now()).await?;
            Ok(())
        }
        AtWechat::Paid => Err(PaymentsError::PaidBeforeReplace { order_id: o.id }),
        AtWechat::Failed => Err(PaymentsError::CloseUnavailable { order_id: o.id }),
    }
}
